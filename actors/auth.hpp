#pragma once

#include "actors/interfaces.hpp"
#include "auth/throttle.hpp"
#include "storage/read_store.hpp"

#include <memory>
#include <string>

namespace crdt {

/// State of the auth actor: its own read connection for account look-ups,
/// the token settings and the failed-login throttles.
struct auth_state {
  std::unique_ptr<read_store> store;
  /// Writes the default organization and admin at start-up.
  applier_actor applier;
  /// HMAC key of the bearer tokens.
  std::string token_key;
  /// Group written into tokens (and required back).
  std::string group;
  /// This node's id.
  std::string node_id;
  /// Token lifetime in seconds.
  int64_t token_ttl = 3600;
  /// Failed logins per email and per client address.
  login_throttle by_email{login_throttle::limits{}};
  login_throttle by_address{[] {
    login_throttle::limits l;
    l.free_failures = 20; // offices and NATs share one address
    return l;
  }()};
  /// A hash to check unknown emails against, so that they cost as much
  /// time as known ones (computed on first need).
  std::string decoy_hash;
  /// Requests waiting in the mailbox beyond which new ones are refused at
  /// once (ec::overloaded) instead of queueing into their timeouts.
  size_t max_waiting = 64;
  static inline const char* name = "auth";
};

/// What the auth actor starts from.
struct auth_options {
  std::string token_key;
  std::string group;
  int64_t token_ttl = 3600;
  /// This node's id, for the stamps of the founding messages.
  std::string node_id;
  /// Requests waiting beyond which new ones are refused at once.
  size_t max_waiting = 64;
};

/// Logins, token issue and account preparation. Spawn it detached.
auth_actor::behavior_type auth(auth_actor::stateful_pointer<auth_state> self,
                               std::unique_ptr<read_store> store,
                               applier_actor applier, auth_options opts);

} // namespace crdt
