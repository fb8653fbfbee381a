#pragma once

#include "actors/interfaces.hpp"

namespace crdt {

/// State of the queue: the outbox size. The outbox rows themselves are
/// written by the writer in the same transaction as their messages.
struct queue_state {
  /// Messages queued and not yet acknowledged by the hub.
  uint64_t pending = 0;
  static inline const char* name = "queue";
};

/// The outbox, starting with `pending` entries found at start-up.
queue_actor::behavior_type queue(queue_actor::stateful_pointer<queue_state> self,
                                 uint64_t pending);

} // namespace crdt
