#pragma once

#include "actors/interfaces.hpp"
#include "protocol/schema.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace crdt {

/// Where a session actor sends its replies: the Beast connection (or a
/// test double). Implementations must be thread-safe.
class reply_sink {
public:
  virtual ~reply_sink() = default;
  /// Delivers the reply to request number `seq` of the connection.
  virtual void send(uint64_t seq, http_reply reply) = 0;
};

/// Facts about this node that /health and the routes report.
struct node_info {
  std::string group_id;
  std::string database;
  /// The organization created at first start; its admins may create
  /// further organizations.
  std::string default_org;
  /// When not empty, POST /sync requires it in X-Sync-Secret.
  std::string sync_secret;
  /// HMAC key that signs and checks bearer tokens.
  std::string token_key;
};

/// The actors and tables every session talks to; shared, immutable after
/// start-up (except the reader round-robin counter).
struct services {
  clock_actor clock;
  applier_actor applier;
  queue_actor queue;
  writer_actor writer;
  hub_actor hub;
  sync_actor sync;
  auth_actor auth;
  std::vector<reader_actor> readers;
  schema_set schemas;
  node_info info;
  /// Picks readers in turn.
  mutable std::atomic<size_t> next_reader{0};
  /// Requests waiting for the auth actor.
  mutable std::atomic<size_t> auth_waiting{0};

  const reader_actor& reader() const {
    return readers[next_reader.fetch_add(1, std::memory_order_relaxed)
                   % readers.size()];
  }
};

/// State of a session: its collaborators and its connection.
struct session_state {
  std::shared_ptr<const services> svc;
  std::shared_ptr<reply_sink> sink;
  /// The last token verified on this connection and what it granted:
  /// a keep-alive client sends the same one with every request.
  std::string token;
  std::shared_ptr<const principal> who;
  int64_t token_expires = 0;
  /// When the account behind `token` was last found to exist.
  int64_t token_checked = 0;
  static inline const char* name = "session";
};

/// How long a session waits for a read.
constexpr auto read_timeout = std::chrono::seconds(10);

/// How long a session waits for the auth actor (hashing is slow, and
/// logins queue behind each other).
constexpr auto auth_timeout = std::chrono::seconds(20);

/// How often (seconds) a connection re-checks that the account behind its
/// remembered token still exists.
constexpr int64_t account_recheck_seconds = 30;

/// Auth requests in flight beyond which new ones get 503 at once.
constexpr size_t max_auth_waiting = 64;

/// How long a session waits for a write (longer than the applier's own).
constexpr auto write_timeout = std::chrono::seconds(35);

/// One actor per HTTP connection: routes each request and replies through
/// `sink`. Never touches SQLite or the socket itself.
session_actor::behavior_type session(session_actor::stateful_pointer<session_state> self,
                                     std::shared_ptr<const services> svc,
                                     std::shared_ptr<reply_sink> sink);

} // namespace crdt
