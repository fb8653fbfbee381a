#pragma once

#include "actors/interfaces.hpp"
#include "protocol/catalog.hpp"
#include "storage/read_pool.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace crdt {

/// Facts about this node that /health and the routes report.
struct node_info {
  std::string group_id;
  std::string database;
  /// The organization created at first start; its admins operate the node
  /// (sync settings, new organizations).
  std::string default_org;
  /// When not empty, POST /sync requires it in X-Sync-Secret.
  std::string sync_secret;
  /// HMAC key that signs and checks bearer tokens.
  std::string token_key;
  /// When not empty, a bearer token that may read GET /metrics.
  std::string metrics_token;
};

/// How the change feed serves its subscribers.
struct feed_settings {
  /// Streams and long polls at once (503 beyond).
  size_t max_subscribers = 1000;
  /// A stream's heartbeat comment when nothing changes.
  std::chrono::milliseconds heartbeat{15000};
  /// Log positions a feed may replay; a since further back answers 409.
  uint64_t replay_limit = 10000000;
  /// The longest long poll (kept below the connections' idle timeout).
  std::chrono::milliseconds max_wait{45000};
};

/// What every HTTP session talks to: the node's actors, its tables and
/// facts. Built once by spawn_node() and never changed afterwards, so
/// sessions share it without locks.
struct services {
  clock_actor clock;
  applier_actor applier;
  queue_actor queue;
  writer_actor writer;
  hub_actor hub;
  sync_actor sync;
  auth_actor auth;
  feed_actor feed;
  std::vector<reader_actor> readers;
  /// What the hub's PostgreSQL relays last saw of their databases; null
  /// without HUB_DATABASE_URL.
  std::shared_ptr<hub_database_health> hub_database;
  /// The writer's storage status as of its last commit.
  std::shared_ptr<storage_gauge> storage;
  /// Connections for short reads made by the sessions themselves.
  std::shared_ptr<read_pool> pool;
  /// The tables served now (changes when definitions arrive).
  catalog_ptr catalog;
  node_info info;
  feed_settings feed_cfg;
  /// How often (seconds) a connection or stream checks again that the
  /// account behind its token still exists (30; tests shorten it).
  int64_t account_recheck_seconds = 30;
};

} // namespace crdt
