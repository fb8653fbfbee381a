#pragma once

// Cross-origin requests from browsers (CORS): which web origins may call
// the API, as the CORS_ORIGINS setting lists them. Pure functions; the
// connection (http/server.cpp) adds the headers.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crdt {

/// The origins allowed to call from a browser: none (the default: no CORS
/// headers at all), any (`*`), or a list.
struct cors_policy {
  bool any = false;
  std::vector<std::string> origins;

  bool enabled() const {
    return any || !origins.empty();
  }

  /// The Access-Control-Allow-Origin value for a request from `origin`,
  /// or none when that origin may not call.
  std::optional<std::string> allow(std::string_view origin) const;
};

/// Parses CORS_ORIGINS: empty, `*`, or comma-separated origins such as
/// `https://app.example.com,http://localhost:5173` (scheme, host and an
/// optional port; no path). None, with `problem` set, when malformed.
std::optional<cors_policy> parse_cors_origins(std::string_view text,
                                              std::string& problem);

/// The headers of an answer to a preflight request from an allowed origin.
std::vector<std::pair<std::string, std::string>>
cors_preflight_headers(const std::string& allow_origin, bool any);

/// The headers added to any other answer to an allowed origin.
std::vector<std::pair<std::string, std::string>>
cors_answer_headers(const std::string& allow_origin, bool any);

} // namespace crdt
