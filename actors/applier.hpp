#pragma once

#include "actors/interfaces.hpp"

#include <caf/actor_clock.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <cstddef>
#include <map>

namespace crdt {

/// A local write the applier has accepted and not answered yet.
struct waiting_write {
  caf::actor_clock::time_point deadline;
  caf::typed_response_promise<std::string> rp;
};

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
  /// How long a local write may wait for its commit before it is answered
  /// ec::timeout (it may still commit later, as with any timed-out call).
  caf::timespan deadline{};
  /// Local writes not answered yet, by acceptance order (and so by
  /// deadline: every write gets the same time).
  std::map<uint64_t, waiting_write> waiting;
  uint64_t next_write = 0;
  /// Whether a deadline check is scheduled.
  bool ticking = false;
  /// An applier that ends (shutdown, or a fault) answers the local writes
  /// still waiting: no session carries a timer of its own for them, and a
  /// promise dropped unanswered sends nothing in CAF 0.17.
  ~applier_state();
  static inline const char* name = "applier";
};

/// The applier waits for the clock and the writer without a timer per
/// request: a CAF request timeout costs two events through CAF's clock
/// thread (set and cancel), which the session's timer on every HTTP write
/// used to pay. Local
/// writes (HTTP creates, updates, deletes, definitions) are instead bounded
/// by `local_write_deadline`, checked once a second by the applier itself;
/// received batches come from an edge (hub, sync round) with a finite
/// timeout of its own.
constexpr auto applier_timeout = caf::infinite;

/// How long a local write waits for its commit before it is answered 503
/// (a stalled disk): the time the sessions used to wait for the applier.
constexpr auto local_write_deadline = std::chrono::seconds(35);

/// How often the applier looks for local writes past their deadline.
constexpr auto deadline_check_interval = std::chrono::seconds(1);

/// Turns changes into stamped message batches for the writer.
applier_actor::behavior_type
applier(applier_actor::stateful_pointer<applier_state> self, clock_actor clock,
        writer_actor writer, queue_actor queue, size_t max_in_flight,
        caf::timespan deadline);

} // namespace crdt
