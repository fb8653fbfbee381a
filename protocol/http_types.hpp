#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace crdt {

/// An HTTP request as the Beast layer hands it to a session actor: only
/// what the routes need, detached from Beast's types.
struct http_request {
  /// Position of the request on its connection (responses go out in order).
  uint64_t seq = 0;
  std::string method;
  /// Path and query as sent, e.g. `/store/contacts?limit=2`.
  std::string target;
  std::string body;
  /// The `Authorization` header, if any.
  std::string authorization;
  /// The `X-Sync-Secret` header, if any (the /sync group secret).
  std::string sync_secret;
  /// Address of the client, for rate limits and logs: the connection's
  /// peer, or the client a trusted proxy named (protocol/forwarded.hpp).
  std::string peer;
  /// The connection comes from this machine (a loopback address) and the
  /// request does not say it was relayed by a proxy (X-Forwarded-For,
  /// Forwarded, X-Real-IP): what a hub without SYNC_SECRET serves /sync to.
  bool local = false;
  /// The `Last-Event-ID` header, if any (a change feed resuming).
  std::string last_event_id;
  /// The `Origin` header, if any: the request comes from a web page.
  std::string origin;
};

/// An HTTP answer to write back: status, JSON body, extra headers.
struct http_reply {
  http_reply() = default;
  http_reply(unsigned status, std::string body,
             std::vector<std::pair<std::string, std::string>> headers = {})
      : status(status), body(std::move(body)), headers(std::move(headers)) {
  }

  unsigned status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// For the metrics and the access log, filled in by the session: the
  /// pattern of the route that answered (a static string; null when none
  /// matched) and the caller's organization (empty without a token).
  const char* route = nullptr;
  std::string organization;
  /// The head of a streamed answer (the change feed): written without a
  /// length, `body` being its first bytes; the session adds more through
  /// its reply sink until it ends the stream, and the connection closes
  /// after it (no further request is read on it).
  bool stream = false;
};

} // namespace crdt
