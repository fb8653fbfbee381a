#pragma once

#include "actors/hub_transport.hpp"
#include "actors/interfaces.hpp"
#include "config/settings.hpp"
#include "protocol/merkle.hpp"
#include "protocol/schema.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace crdt {

/// State of the sync scheduler: its settings, collaborators, timer and the
/// continuation of the call in flight.
struct sync_state {
  sync_config cfg;
  clock_actor clock;
  applier_actor applier;
  queue_actor queue;
  reader_actor reader;
  std::shared_ptr<hub_transport> transport;
  /// Timer generation: a tick from an older generation is ignored, so
  /// re-arming never leaves two timers running.
  uint64_t generation = 0;
  /// Whether a round is running.
  bool busy = false;
  /// Id of the call in flight and what to do with its answer.
  uint64_t call_id = 0;
  std::function<void(caf::expected<std::string>)> on_reply;
  /// The hub's trie from its last answer in this round, while draining a
  /// long outbox (see sync.cpp).
  std::optional<merkle_trie> hub_trie;
  /// Consecutive failed rounds (drives the back-off).
  int failures = 0;
  /// Outcome of the last round.
  sync_status last;
  static inline const char* name = "sync";
};

/// Delay before the next round after `failures` failed ones in a row:
/// exponential from the timer period, capped, with jitter in [50%, 100%].
int64_t backoff_ms(const sync_config& cfg, int failures, double jitter);

/// The sync scheduler: rounds every timer period while sync is enabled.
sync_actor::behavior_type sync(sync_actor::stateful_pointer<sync_state> self,
                               sync_state init);

} // namespace crdt
