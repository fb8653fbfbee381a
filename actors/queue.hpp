#pragma once

#include "actors/interfaces.hpp"

namespace crdt {

/// State of the queue: the outbox size and where its rows live. The rows
/// themselves are written by the writer in the same transaction as their
/// messages; the queue reads them through a reader and removes them
/// through the writer once the hub acknowledged them.
struct queue_state {
  /// Messages queued and not yet acknowledged by the hub.
  uint64_t pending = 0;
  reader_actor reader;
  writer_actor writer;
  static inline const char* name = "queue";
};

/// The outbox, starting with `pending` entries found at start-up.
queue_actor::behavior_type
queue(queue_actor::stateful_pointer<queue_state> self, uint64_t pending,
      reader_actor reader, writer_actor writer);

} // namespace crdt
