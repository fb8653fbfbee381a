#include "protocol/cors.hpp"

#include "protocol/text.hpp"

#include <algorithm>
#include <cctype>

namespace crdt {

namespace {

// scheme "://" host [":" port], lower-case scheme and host as browsers
// send them in Origin.
bool is_origin(std::string_view s) {
  auto sep = s.find("://");
  if (sep == std::string_view::npos || sep == 0)
    return false;
  for (char c : s.substr(0, sep))
    if (!(std::islower(static_cast<unsigned char>(c)) || c == '+' || c == '-'
          || c == '.'))
      return false;
  auto rest = s.substr(sep + 3);
  if (rest.empty())
    return false;
  // An IPv6 host is bracketed; the port follows its last colon.
  size_t host_end = rest.front() == '[' ? rest.find(']') : rest.rfind(':');
  if (rest.front() == '[') {
    if (host_end == std::string_view::npos)
      return false;
    ++host_end;
  }
  auto host = rest.substr(0, host_end);
  if (host.empty())
    return false;
  bool bracketed = host.front() == '[';
  for (char c : host)
    if (!(std::islower(static_cast<unsigned char>(c))
          || std::isdigit(static_cast<unsigned char>(c)) || c == '-'
          || c == '.' || (bracketed && (c == ':' || c == '[' || c == ']'))))
      return false;
  if (host_end != std::string_view::npos && host_end < rest.size()) {
    if (rest[host_end] != ':')
      return false;
    auto port = rest.substr(host_end + 1);
    if (port.empty() || port.size() > 5)
      return false;
    long n = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return false;
      n = n * 10 + (c - '0');
    }
    if (n < 1 || n > 65535)
      return false;
  }
  return true;
}

} // namespace

std::optional<std::string> cors_policy::allow(std::string_view origin) const {
  if (origin.empty())
    return std::nullopt;
  if (any)
    return std::string{"*"};
  if (std::find(origins.begin(), origins.end(), origin) != origins.end())
    return std::string{origin};
  return std::nullopt;
}

std::optional<cors_policy> parse_cors_origins(std::string_view text,
                                              std::string& problem) {
  cors_policy out;
  text = trim(text);
  if (text.empty())
    return out;
  if (text == "*") {
    out.any = true;
    return out;
  }
  for (auto one : comma_items(text)) {
    if (!is_origin(one)) {
      problem = "must be * or comma-separated origins such as "
                "https://app.example.com or http://localhost:5173 (scheme, "
                "host and port only, lower case, no path): '"
                + std::string{one} + "'";
      return std::nullopt;
    }
    // Browsers leave a scheme's default port out of Origin: listed with it,
    // the origin would never match.
    for (std::string_view dflt : {std::string_view{"https://", 8},
                                  std::string_view{"http://", 7}}) {
      auto port = dflt.size() == 8 ? std::string_view{":443"}
                                   : std::string_view{":80"};
      if (one.substr(0, dflt.size()) == dflt && one.size() > port.size()
          && one.substr(one.size() - port.size()) == port)
        one.remove_suffix(port.size());
    }
    out.origins.emplace_back(one);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>>
cors_preflight_headers(const std::string& allow_origin, bool any) {
  auto out = cors_answer_headers(allow_origin, any);
  out.emplace_back("Access-Control-Allow-Methods",
                   "GET, POST, PATCH, DELETE, OPTIONS");
  out.emplace_back("Access-Control-Allow-Headers",
                   "Authorization, Content-Type, Last-Event-ID, X-Request-Id");
  out.emplace_back("Access-Control-Max-Age", "600");
  return out;
}

std::vector<std::pair<std::string, std::string>>
cors_answer_headers(const std::string& allow_origin, bool any) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("Access-Control-Allow-Origin", allow_origin);
  out.emplace_back("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
  // A listed origin is echoed: caches must keep answers apart by origin.
  if (!any)
    out.emplace_back("Vary", "Origin");
  return out;
}

} // namespace crdt
