#pragma once

#include "actors/interfaces.hpp"

#include <caf/timespan.hpp>

#include <cstddef>

namespace crdt {

/// State of the applier: where stamps come from, where batches go, and
/// how many of them the writer has not answered yet.
struct applier_state {
  clock_actor clock;
  writer_actor writer;
  /// Told how many messages each local commit queued.
  queue_actor queue;
  /// Batches accepted and not yet answered by the writer. Every batch of
  /// the node reaches the writer through this actor, so the count is
  /// exact without sharing anything with the writer.
  size_t in_flight = 0;
  /// At this many batches in flight, local writes are refused
  /// (ec::overloaded); received ones are still taken.
  size_t max_in_flight = 0;
  static inline const char* name = "applier";
};

/// The applier waits for the clock and the writer without a timer of its
/// own: every write starts at an edge (HTTP session, hub, sync round) that
/// carries a finite timeout, and a timer per internal hop would cost a
/// round trip through CAF's clock thread for every write.
constexpr auto applier_timeout = caf::infinite;

/// Turns changes into stamped message batches for the writer.
applier_actor::behavior_type
applier(applier_actor::stateful_pointer<applier_state> self, clock_actor clock,
        writer_actor writer, queue_actor queue, size_t max_in_flight);

} // namespace crdt
