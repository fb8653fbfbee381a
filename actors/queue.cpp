#include "actors/queue.hpp"

namespace crdt {

queue_actor::behavior_type queue(queue_actor::stateful_pointer<queue_state> self,
                                 uint64_t pending) {
  self->state.pending = pending;
  return {
    [=](enqueue_atom, uint64_t n) { self->state.pending += n; },
    [=](status_atom) { return self->state.pending; },
  };
}

} // namespace crdt
