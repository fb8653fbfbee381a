#pragma once

#include <optional>
#include <string>

namespace crdt {

/// Host, port and path of an `http://host[:port][/base]` URL.
struct endpoint_parts {
  /// A name or address; an IPv6 address without its brackets.
  std::string host;
  std::string port = "80";
  /// The base path without a trailing slash ("" for none).
  std::string base;
};

/// Splits an http:// URL: a host of letters, digits, '.' and '-' (not
/// starting with '.' or '-') or a bracketed IPv6 address, an optional port
/// of 1-65535, an optional path; no spaces, user info, query or fragment.
/// `std::nullopt` for anything else.
std::optional<endpoint_parts> parse_endpoint(const std::string& url);

} // namespace crdt
