#pragma once

#include "actors/interfaces.hpp"
#include "http/services.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace crdt {

/// Where a session actor sends its replies: the Beast connection (or a
/// test double). Implementations must be thread-safe.
class reply_sink {
public:
  virtual ~reply_sink() = default;
  /// Delivers the reply to request number `seq` of the connection.
  virtual void send(uint64_t seq, http_reply reply) = 0;
  /// Adds `bytes` to the streamed answer of request `seq` (see
  /// http_reply::stream); `last` ends it. With `notify`, the session gets a
  /// drained message once everything queued so far is written. A client
  /// too slow for its queue's bound gets an error event and is closed.
  virtual void push(uint64_t seq, std::string bytes, bool last,
                    bool notify) = 0;
};

struct watch;

/// State of a session: its collaborators, its connection and the last
/// token it verified.
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
  /// The reader the next read goes to (round robin, per connection).
  size_t next_reader = 0;
  /// The change feed this connection follows, if any (http/feed_routes).
  std::shared_ptr<watch> watching;
  /// Generations handed to watch timers so far (stale ones are ignored).
  uint64_t timers = 0;
  static inline const char* name = "session";
};

/// How long a session waits for a read.
constexpr auto read_timeout = std::chrono::seconds(10);

/// How long a session waits for the auth actor (hashing is slow, and
/// logins queue behind each other).
constexpr auto auth_timeout = std::chrono::seconds(20);

/// How long a session waits for a write it sends without the applier's
/// deadline (node settings, /sync, table definitions); record writes are
/// answered by the applier at local_write_deadline.
constexpr auto write_timeout = std::chrono::seconds(35);

/// One actor per HTTP connection: routes each request through the route
/// table (http/routes.cpp), checks who may call it, runs its handler and
/// replies through `sink`. Never touches SQLite or the socket itself.
session_actor::behavior_type
session(session_actor::stateful_pointer<session_state> self,
        std::shared_ptr<const services> svc, std::shared_ptr<reply_sink> sink);

} // namespace crdt
