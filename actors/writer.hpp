#pragma once

#include "actors/interfaces.hpp"
#include "storage/write_store.hpp"

#include <memory>
#include <utility>
#include <vector>

namespace crdt {

/// State of the writer: the write connection and the batches collected
/// for the next group commit.
struct writer_state {
  /// The only connection that writes.
  std::unique_ptr<write_store> store;
  /// Batches waiting for the next commit, with their promises.
  std::vector<std::pair<write_batch, caf::typed_response_promise<commit_ack>>>
      pending;
  /// Whether a flush message is on its way to this actor.
  bool flush_scheduled = false;
  /// The current full-disk episode, if any (logged once when it starts and
  /// once when a commit succeeds again).
  storage_status storage;
  static inline const char* name = "writer";
};

/// The single writer. Commits everything that waits in its mailbox in one
/// transaction, checking each batch's preconditions inside it, then sends
/// the trie deltas to the clock and what changed to the feed (when one is
/// given), and publishes its storage_status to `gauge` (when given) after
/// every commit. Spawn it detached: SQLite calls block.
writer_actor::behavior_type
writer(writer_actor::stateful_pointer<writer_state> self,
       std::unique_ptr<write_store> store, clock_actor clock,
       feed_actor feed, std::shared_ptr<storage_gauge> gauge);

} // namespace crdt
