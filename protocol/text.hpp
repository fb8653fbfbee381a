#pragma once

// Small text helpers shared by the parsers of settings (CORS_ORIGINS,
// TRUSTED_PROXIES).

#include <cctype>
#include <string_view>
#include <vector>

namespace crdt {

/// `s` without leading and trailing white space.
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

/// The comma-separated items of `text`, each trimmed. Empty items (as in
/// `a,,b` or a trailing comma) are kept, for the caller to refuse.
inline std::vector<std::string_view> comma_items(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find(',', pos);
    if (end == std::string_view::npos)
      end = text.size();
    out.push_back(trim(text.substr(pos, end - pos)));
    pos = end + 1;
  }
  return out;
}

} // namespace crdt
