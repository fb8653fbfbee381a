#pragma once

#include "actors/hub_transport.hpp"
#include "actors/interfaces.hpp"
#include "config/settings.hpp"
#include "protocol/merkle.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace crdt {

/// Which protocol the hub at the endpoint speaks.
enum class hub_protocol {
  /// Not known yet: the next call asks for the bounded exchange, in a form
  /// a hub of the crdt-example-app format also answers.
  unknown,
  /// The bounded exchange (protocol 2).
  exchange,
  /// Only the crdt-example-app format: whole tries each round.
  legacy,
};

/// Where this node stands in a hub's message stream.
struct stream_cursor {
  /// The hub's node id ("" before the first answer).
  std::string hub;
  /// The sequence number of the hub's last message received.
  uint64_t seq = 0;
};

/// Parses a cursor as stored ("<hub> <seq>"); an empty one for bad text.
stream_cursor parse_cursor(const std::string& text);

/// Renders a cursor for storage.
std::string to_string(const stream_cursor& c);

/// State of the sync scheduler: its settings, collaborators, timer, the
/// protocol and cursor of the hub, and the call in flight.
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
  /// The hub's protocol, learned from its first answer.
  hub_protocol protocol = hub_protocol::unknown;
  /// The hub at this endpoint answered in the crdt-example-app format
  /// before (sync_legacy_hub_key names it): the first call then carries
  /// the whole trie, so that such a hub answers what differs, not the
  /// whole history that a one-node trie would make it send.
  bool legacy_hint = false;
  /// The endpoint the call in flight went to.
  std::string called;
  /// The stream cursor (stored with the messages it covers).
  stream_cursor cursor;
  /// The hub's trie from its last answer in this round, while draining a
  /// long outbox (crdt-example-app format only, see sync_legacy.cpp).
  std::optional<merkle_trie> hub_trie;
  /// Consecutive failed rounds (drives the back-off).
  int failures = 0;
  /// The round in progress, then the outcome of the last one.
  sync_status round;
  sync_status last;
  /// Calls made in a row in this round only to push local writes that
  /// came during it.
  uint32_t chased = 0;
  /// When the progress of a long catch-up was last logged.
  std::chrono::steady_clock::time_point progress_logged;
  static inline const char* name = "sync";
};

/// Delay before the next round after `failures` failed ones in a row:
/// exponential from the timer period, capped, with jitter in [50%, 100%].
int64_t backoff_ms(const sync_config& cfg, int failures, double jitter);

/// The sync scheduler: rounds every timer period while sync is enabled.
sync_actor::behavior_type sync(sync_actor::stateful_pointer<sync_state> self,
                               sync_state init);

} // namespace crdt
