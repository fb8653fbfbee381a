#pragma once

// The composition root: one place that opens the stores, spawns every
// actor, wires them together and owns their lifetimes. The server's main
// and the actor tests both build nodes with spawn_node().

#include "actors/hub_transport.hpp"
#include "actors/interfaces.hpp"
#include "config/settings.hpp"
#include "http/services.hpp"
#include "protocol/schema.hpp"
#include "storage/write_store.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace crdt {

/// The hub's PostgreSQL store of relayed groups (HUB_DATABASE_URL).
struct hub_database_options {
  /// One libpq connection string or URI per database; empty: relayed
  /// groups stay in the SQLite file.
  std::vector<std::string> urls;
  /// Connections (relay actors) per database.
  size_t pool = 4;
  /// Statement timeout (ms).
  int64_t timeout_ms = 10000;
};

/// Everything a node is built from.
struct node_options {
  /// The database file and its durability.
  store_options store;
  /// The user's tables (the built-in accounts tables are added).
  schema_set schemas;
  /// Group, database name, default organization and secrets. An empty
  /// `token_key` means this node's own, generated on first start and kept
  /// in its database.
  node_info info;
  /// How far (ms) a timestamp may run ahead of the physical clock.
  int64_t max_drift_ms = 60000;
  /// Write batches in flight beyond which writes are refused.
  size_t write_queue_limit = 10000;
  /// Read-only connections (reader actors); at least one.
  size_t readers = 2;
  /// Lifetime of a bearer token in seconds.
  int64_t token_ttl = 3600;
  /// Sync settings given at start (flags, environment, .env): written into
  /// config_sync. A sync setting not given keeps the value an earlier run
  /// stored, or gets its default.
  std::map<std::string, std::string> declared_sync;
  /// Messages per call when draining the outbox.
  uint32_t sync_batch = 4000;
  /// The JSON size of the messages of one sync call, sent or answered.
  size_t sync_page_bytes = 512 * 1024;
  /// The change feed's limits.
  feed_settings feed;
  /// How often (seconds) a kept-alive connection or a change-feed stream
  /// checks again that the account behind its token still exists.
  int64_t account_recheck_seconds = 30;
  /// Where the hub keeps relayed groups.
  hub_database_options hub_database;
  /// How the sync client reaches the hub.
  std::shared_ptr<hub_transport> transport;
  /// Whether the actors that block (SQLite, password hashing) get threads
  /// of their own; off under CAF's deterministic test scheduler.
  bool detach = true;
  /// Whether the folder's new table definitions are committed (and sync);
  /// off, its tables are served on this node only (tests of other layers).
  bool define_schema = true;
};

/// A running node. Owns its actors: destroying (or stopping) it sends each
/// of them an exit message.
class node {
public:
  node() = default;
  node(node&&) noexcept = default;
  node& operator=(node&&) noexcept;
  node(const node&) = delete;
  node& operator=(const node&) = delete;
  ~node();

  /// The actors and facts the HTTP sessions use.
  const services& svc() const {
    return *svc_;
  }

  /// The same, shared with the sessions.
  std::shared_ptr<const services> shared() const {
    return svc_;
  }

  /// This node's id (16 hex characters).
  const std::string& id() const {
    return id_;
  }

  /// The sync settings in effect at start (after config_sync).
  const sync_config& sync_settings() const {
    return sync_;
  }

  /// Starts syncing (when enabled): the first round runs now, then one
  /// every timer period. Call it once start-up (the default organization)
  /// is complete.
  void start_sync() const;

  /// Stops every actor of the node.
  void stop();

  /// Stops every actor of the node and waits until they are gone, at most
  /// `limit`; false if some were still running then. Call it before
  /// anything their state refers to goes (the sync client's connection
  /// belongs to the HTTP io_context).
  bool stop_and_wait(caf::actor_system& sys, std::chrono::milliseconds limit);

private:
  friend caf::expected<node> spawn_node(caf::actor_system&, node_options);

  std::shared_ptr<services> svc_;
  std::string id_;
  sync_config sync_;
  std::vector<caf::actor> owned_;
};

/// Opens the database (creating and migrating it), spawns and wires the
/// clock, writer, readers, queue, applier, hub, auth and sync actors.
caf::expected<node> spawn_node(caf::actor_system& sys, node_options opts);

/// Creates the default organization and its first admin when they are
/// missing (blocks until done; for main, at start-up).
caf::expected<bootstrap_result> bootstrap(caf::actor_system& sys, const node& n,
                                          const bootstrap_request& req);

} // namespace crdt
