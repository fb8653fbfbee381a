#include "protocol/endpoint.hpp"

#include <cctype>
#include <charconv>
#include <cstdint>

namespace crdt {

std::optional<endpoint_parts> parse_endpoint(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    return std::nullopt;
  auto rest = url.substr(scheme.size());
  for (unsigned char c : rest)
    if (c <= ' ' || c == '?' || c == '#' || c == 0x7f || c == '@')
      return std::nullopt;
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  endpoint_parts out;
  if (slash != std::string::npos)
    out.base = rest.substr(slash);
  while (!out.base.empty() && out.base.back() == '/')
    out.base.pop_back();
  std::string port_text;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos || close == 1)
      return std::nullopt;
    out.host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':')
        return std::nullopt;
      port_text = after.substr(1);
      has_port = true;
    }
    for (unsigned char c : out.host)
      if (!std::isxdigit(c) && c != ':' && c != '.')
        return std::nullopt;
  } else {
    auto colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    if (out.host.empty() || out.host.front() == '.' || out.host.front() == '-')
      return std::nullopt;
    for (unsigned char c : out.host)
      if (!std::isalnum(c) && c != '.' && c != '-')
        return std::nullopt;
  }
  if (has_port) {
    int64_t n = 0;
    auto end = port_text.data() + port_text.size();
    auto [ptr, ec] = std::from_chars(port_text.data(), end, n);
    if (port_text.empty() || ec != std::errc{} || ptr != end || n < 1
        || n > 65535)
      return std::nullopt;
    out.port = port_text;
  }
  return out;
}

} // namespace crdt
