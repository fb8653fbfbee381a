#pragma once

// Small text helpers shared by the parsers of settings (CORS_ORIGINS,
// TRUSTED_PROXIES).

#include <cctype>
#include <string_view>

namespace crdt {

/// `s` without leading and trailing white space.
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

} // namespace crdt
