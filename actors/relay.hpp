#pragma once

#include "actors/interfaces.hpp"
#include "storage/hub_store.hpp"

#include <caf/error.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace crdt {

/// State of a relay: one PostgreSQL connection of the pool, opened on the
/// first call and again after it broke.
struct relay_state {
  /// The database's libpq connection string or URI.
  std::string conninfo;
  /// The session's statement timeout (ms).
  int64_t statement_timeout_ms = 10000;
  std::unique_ptr<pg_hub_store> store;
  /// Whether the last call reached the database (a change is logged).
  bool ok = true;
  /// Where /health reads it, and this database's index there.
  std::shared_ptr<hub_database_health> health;
  size_t database = 0;
  /// The last failed connect and when: calls within a second fail fast.
  caf::error last_failure;
  std::chrono::steady_clock::time_point failed_at;
  static inline const char* name = "relay";
};

/// A relay of the hub's PostgreSQL pool; spawn it detached.
relay_actor::behavior_type relay(relay_actor::stateful_pointer<relay_state> self,
                                 std::string conninfo,
                                 int64_t statement_timeout_ms,
                                 std::shared_ptr<hub_database_health> health,
                                 size_t database);

} // namespace crdt
