#pragma once

#include "actors/interfaces.hpp"

#include <atomic>
#include <caf/timespan.hpp>

#include <chrono>
#include <memory>

namespace crdt {

/// State of the applier: where stamps come from, where batches go, and the
/// writer's load for back pressure.
struct applier_state {
  clock_actor clock;
  writer_actor writer;
  /// Told how many messages each local commit queued.
  queue_actor queue;
  /// Batches handed to the writer and not yet committed.
  std::shared_ptr<std::atomic<size_t>> load;
  /// Above this many uncommitted batches, new writes are refused.
  size_t max_load = 0;
  static inline const char* name = "applier";
};

/// The applier waits for the clock and the writer without a timer of its
/// own: every write starts at an edge (HTTP session, hub, sync round) that
/// carries a finite timeout, and a timer per internal hop would cost a
/// round trip through CAF's clock thread for every write.
constexpr auto applier_timeout = caf::infinite;

/// Turns changes into stamped message batches for the writer.
applier_actor::behavior_type applier(applier_actor::stateful_pointer<applier_state> self,
                                     clock_actor clock, writer_actor writer,
                                     queue_actor queue,
                                     std::shared_ptr<std::atomic<size_t>> load,
                                     size_t max_load);

} // namespace crdt
