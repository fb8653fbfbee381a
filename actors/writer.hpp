#pragma once

#include "actors/interfaces.hpp"
#include "storage/store.hpp"

#include <atomic>
#include <memory>
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
  /// Batches accepted but not yet committed, shared with the applier for
  /// back pressure.
  std::shared_ptr<std::atomic<size_t>> load;
  static inline const char* name = "writer";
};

/// The single writer. Commits everything that waits in its mailbox in one
/// transaction, then sends the trie deltas to the clock.
writer_actor::behavior_type writer(writer_actor::stateful_pointer<writer_state> self,
                                   std::shared_ptr<std::unique_ptr<write_store>> store,
                                   std::shared_ptr<std::atomic<size_t>> load,
                                   clock_actor clock);

} // namespace crdt
