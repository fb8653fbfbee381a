#include "actors/applier.hpp"

#include "protocol/error.hpp"

#include <caf/all.hpp>

namespace crdt {

applier_actor::behavior_type applier(applier_actor::stateful_pointer<applier_state> self,
                                     clock_actor clock, writer_actor writer,
                                     queue_actor queue,
                                     std::shared_ptr<std::atomic<size_t>> load,
                                     size_t max_load) {
  self->state.clock = std::move(clock);
  self->state.writer = std::move(writer);
  self->state.queue = std::move(queue);
  self->state.load = std::move(load);
  self->state.max_load = max_load;
  // Hands a batch to the writer, counting it against the bound (the writer
  // counts it off once committed).
  auto commit = [=](write_batch batch) {
    ++*self->state.load;
    return self->request(self->state.writer, applier_timeout,
                         write_atom::value, std::move(batch));
  };
  // Stamps the changes with one clock request and commits them in one
  // batch; answers the first timestamp.
  auto write = [=](std::vector<record_change> changes)
    -> caf::result<std::string> {
    if (*self->state.load >= self->state.max_load)
      return make_error(ec::overloaded, "the writer is overloaded");
    auto rp = self->make_response_promise<std::string>();
    auto n = static_cast<uint32_t>(message_count(changes));
    self->request(self->state.clock, applier_timeout, stamp_atom::value, n)
      .then(
        [=](std::vector<std::string>& stamps) mutable {
          write_batch batch;
          batch.messages = make_messages(changes, stamps);
          batch.enqueue = true;
          batch.clock = stamps.back();
          commit(std::move(batch))
            .then(
              [=](const commit_ack& ack) mutable {
                if (ack.enqueued > 0)
                  self->send(self->state.queue, enqueue_atom::value,
                             uint64_t{ack.enqueued});
                rp.deliver(stamps.front());
              },
              [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
        },
        [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
    return rp;
  };
  return {
    [=](write_atom, record_change& change) -> caf::result<std::string> {
      std::vector<record_change> one;
      one.push_back(std::move(change));
      return write(std::move(one));
    },
    [=](write_atom,
        std::vector<record_change>& changes) -> caf::result<std::string> {
      if (changes.empty())
        return make_error(ec::bad_request, "nothing to write");
      return write(std::move(changes));
    },
    [=](apply_atom, std::vector<message>& msgs) -> caf::result<size_t> {
      auto rp = self->make_response_promise<size_t>();
      std::vector<std::string> stamps;
      stamps.reserve(msgs.size());
      for (const auto& m : msgs)
        stamps.push_back(m.timestamp);
      // Every received timestamp goes through the clock before it is stored.
      self->request(self->state.clock, applier_timeout, recv_atom::value,
                    std::move(stamps))
        .then(
          [=](std::string& clock_now) mutable {
            write_batch batch;
            batch.messages = std::move(msgs);
            batch.clock = std::move(clock_now);
            commit(std::move(batch))
              .then([=](const commit_ack& ack) mutable { rp.deliver(ack.stored); },
                    [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
          },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
  };
}

} // namespace crdt
