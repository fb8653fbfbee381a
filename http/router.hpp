#pragma once

// Routing as pure functions: a request target split into segments and
// query parameters, matched against a table of routes.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crdt {

/// Who may call a route; the session checks it before the handler runs.
enum class access_level {
  /// Anyone, without a token.
  anyone,
  /// Another node: the group's X-Sync-Secret, or, without one configured,
  /// a caller on this machine.
  peer,
  /// Any account with a valid bearer token.
  member,
  /// An admin of its organization.
  admin,
  /// An admin of the default organization: who operates the node.
  node_admin,
  /// An operator (as node_admin), or whoever holds METRICS_TOKEN: a
  /// scraper that needs no account.
  metrics_reader,
};

struct request_context;

/// Answers one routed request (see http/handlers.hpp).
using route_handler = void (*)(const request_context&);

/// One row of the route table.
struct route {
  const char* method;
  /// Literal segments and `:name` captures, e.g. `/store/:table/:id`.
  const char* path;
  access_level who;
  route_handler handler;
};

/// A request target split into decoded path segments and query parameters.
struct target {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;
};

/// Splits and percent-decodes a request target; `std::nullopt` for a target
/// that is not an origin-form path or has bad escapes.
std::optional<target> parse_target(std::string_view raw);

/// The result of routing: the matching row with its captured parameters,
/// or the HTTP status to answer (404 no such path, 405 wrong method) and,
/// for 405, the allowed methods.
struct route_match {
  const route* row = nullptr;
  std::map<std::string, std::string> params;
  unsigned status = 200;
  std::string allow;
};

/// Finds the row of `table` for a method and path.
route_match match_route(const std::vector<route>& table,
                        std::string_view method,
                        const std::vector<std::string>& segments);

} // namespace crdt
