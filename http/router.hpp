#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crdt {

/// Every endpoint the service answers.
enum class route {
  store_create,
  store_list,
  store_get,
  store_patch,
  store_delete,
  config_list,
  config_get,
  config_set,
  sync,
  login,
  accounts_list,
  accounts_create,
  organizations_create,
  account_delete,
  password_change,
  health,
};

/// A request target split into decoded path segments and query parameters.
struct target {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;
};

/// Splits and percent-decodes a request target; `std::nullopt` for a target
/// that is not an origin-form path or has bad escapes.
std::optional<target> parse_target(std::string_view raw);

/// The result of routing: a route with its captured parameters, or the
/// HTTP status to answer (404 no such path, 405 wrong method) and, for 405,
/// the allowed methods.
struct route_match {
  std::optional<route> which;
  std::map<std::string, std::string> params;
  unsigned status = 200;
  std::string allow;
};

/// Maps method and path segments to a route through a fixed table of
/// patterns such as `/store/:table/:id`.
route_match match_route(std::string_view method,
                        const std::vector<std::string>& segments);

} // namespace crdt
