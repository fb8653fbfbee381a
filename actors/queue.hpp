#pragma once

#include "actors/interfaces.hpp"

namespace crdt {

/// State of the queue: the outbox size and its mark. The outbox is the
/// messages of the log marked outgoing (the writer marks local writes in
/// the same transaction that stores them) past the acknowledged sequence
/// number; the queue reads pages through a reader and moves the mark
/// through the writer once the hub has a page.
struct queue_state {
  /// Messages queued and not yet acknowledged by the hub. Signed: the
  /// applier reports a commit's queued messages after the commit, so a
  /// sync may acknowledge them first; adding and subtracting then commute
  /// (status reports at least 0).
  int64_t pending = 0;
  /// The acknowledged sequence number.
  uint64_t acked = 0;
  reader_actor reader;
  writer_actor writer;
  static inline const char* name = "queue";
};

/// The outbox, starting with `pending` entries past mark `acked` found at
/// start-up.
queue_actor::behavior_type
queue(queue_actor::stateful_pointer<queue_state> self, uint64_t pending,
      uint64_t acked, reader_actor reader, writer_actor writer);

} // namespace crdt
