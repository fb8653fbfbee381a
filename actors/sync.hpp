#pragma once

#include "actors/interfaces.hpp"
#include "protocol/merkle.hpp"
#include "protocol/schema.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace crdt {

/// The sync client's settings; the first four change at runtime through
/// config_sync.
struct sync_config {
  bool enabled = false;
  /// Base URL of the hub, e.g. http://127.0.0.1:3061.
  std::string endpoint;
  /// Period between rounds.
  int64_t timer_ms = 30000;
  /// Cap of the back-off after failed rounds.
  int64_t backoff_max_ms = 5000;
  /// This node's group and id.
  std::string group;
  std::string node_id;
  /// Messages per call when draining the outbox (about 700 KB of JSON,
  /// under the hub's default 1 MiB body limit).
  uint32_t batch = 4000;
  /// Bound on the recursive reconciliation of one round.
  int max_depth = 32;
};

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

/// Applies a config_sync change to the settings; false when the key is not
/// a sync setting or the value is invalid.
bool apply_setting(sync_config& cfg, const std::string& key,
                   const std::string& value);

/// Delay before the next round after `failures` failed ones in a row:
/// exponential from the timer period, capped, with jitter in [50%, 100%].
int64_t backoff_ms(const sync_config& cfg, int failures, double jitter);

/// The sync scheduler (SPEC section 7, node side).
sync_actor::behavior_type sync(sync_actor::stateful_pointer<sync_state> self,
                               sync_state init);

} // namespace crdt
