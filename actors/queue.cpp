#include "actors/queue.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace crdt {

queue_actor::behavior_type
queue(queue_actor::stateful_pointer<queue_state> self, uint64_t pending,
      reader_actor reader, writer_actor writer) {
  self->state.pending = pending;
  self->state.reader = std::move(reader);
  self->state.writer = std::move(writer);
  constexpr auto timeout = std::chrono::seconds(30);
  return {
      [=](enqueue_atom, uint64_t n) { self->state.pending += n; },
      [=](status_atom) { return self->state.pending; },
      [=](outbox_atom, uint32_t n,
          uint64_t max_bytes) -> caf::result<std::vector<message>> {
        return self->delegate(self->state.reader, outbox_atom::value, n,
                              max_bytes);
      },
      [=](ack_atom, std::vector<std::string>& stamps) -> caf::result<uint64_t> {
        auto rp = self->make_response_promise<uint64_t>();
        self->request(self->state.writer, timeout, ack_atom::value,
                      std::move(stamps))
            .then(
                [=](uint64_t removed) mutable {
                  self->state.pending -= std::min(removed, self->state.pending);
                  rp.deliver(removed);
                },
                [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
  };
}

} // namespace crdt
