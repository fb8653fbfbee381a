#include "actors/queue.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>

namespace crdt {

queue_actor::behavior_type
queue(queue_actor::stateful_pointer<queue_state> self, uint64_t pending,
      uint64_t acked, reader_actor reader, writer_actor writer) {
  self->state.pending = static_cast<int64_t>(pending);
  self->state.acked = acked;
  self->state.reader = std::move(reader);
  self->state.writer = std::move(writer);
  constexpr auto timeout = std::chrono::seconds(30);
  return {
      [=](enqueue_atom, uint64_t n) {
        self->state.pending += static_cast<int64_t>(n);
      },
      [=](status_atom) {
        return static_cast<uint64_t>(std::max<int64_t>(self->state.pending, 0));
      },
      [=](outbox_atom, uint32_t n,
          uint64_t max_bytes) -> caf::result<outbox_page> {
        return self->delegate(self->state.reader, outbox_atom::value,
                              self->state.acked, n, max_bytes);
      },
      [=](unsent_atom, uint64_t through,
          uint64_t limit) -> caf::result<uint32_t> {
        return self->delegate(self->state.reader, unsent_atom::value,
                              self->state.acked, through, limit);
      },
      [=](ack_atom, outbox_ack ack) -> caf::result<uint64_t> {
        // A page read before an earlier acknowledgement landed covers
        // nothing new.
        if (ack.through <= self->state.acked)
          return static_cast<uint64_t>(std::max<int64_t>(self->state.pending, 0));
        auto rp = self->make_response_promise<uint64_t>();
        self->request(self->state.writer, timeout, ack_atom::value,
                      ack.through)
            .then(
                [=](uint64_t through) mutable {
                  auto& st = self->state;
                  if (through > st.acked) {
                    st.acked = through;
                    st.pending -= static_cast<int64_t>(ack.count);
                  }
                  rp.deliver(
                      static_cast<uint64_t>(std::max<int64_t>(st.pending, 0)));
                },
                [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
  };
}

} // namespace crdt
