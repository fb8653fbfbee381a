#include "http/router.hpp"

#include "protocol/json_guard.hpp"

namespace crdt {

namespace {

// Literal segments must match; ":name" captures one non-empty segment.
bool matches(std::string_view pattern, const std::vector<std::string>& segments,
             std::map<std::string, std::string>* params) {
  size_t i = 0;
  size_t pos = 1; // after the leading '/'
  while (pos <= pattern.size()) {
    auto end = pattern.find('/', pos);
    if (end == std::string_view::npos)
      end = pattern.size();
    auto part = pattern.substr(pos, end - pos);
    if (i >= segments.size())
      return false;
    const auto& seg = segments[i++];
    if (!part.empty() && part[0] == ':') {
      if (seg.empty())
        return false;
      if (params)
        (*params)[std::string{part.substr(1)}] = seg;
    } else if (part != seg) {
      return false;
    }
    pos = end + 1;
  }
  return i == segments.size();
}

int hex(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::optional<std::string> decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size())
        return std::nullopt;
      int hi = hex(s[i + 1]);
      int lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  // Names and values end up in answers and in the log: text only.
  if (!valid_utf8(out) || out.find('\0') != std::string::npos)
    return std::nullopt;
  return out;
}

} // namespace

std::optional<target> parse_target(std::string_view raw) {
  if (raw.empty() || raw[0] != '/')
    return std::nullopt;
  target t;
  auto q = raw.find('?');
  auto path = raw.substr(0, q);
  size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos)
      end = path.size();
    auto seg = decode(path.substr(start, end - start), false);
    if (!seg)
      return std::nullopt;
    t.segments.push_back(std::move(*seg));
    start = end + 1;
  }
  // A trailing slash ("/store/contacts/") names the same resource.
  if (!t.segments.empty() && t.segments.back().empty())
    t.segments.pop_back();
  if (q != std::string_view::npos) {
    auto query = raw.substr(q + 1);
    size_t pos = 0;
    while (pos <= query.size()) {
      auto end = query.find('&', pos);
      if (end == std::string_view::npos)
        end = query.size();
      auto part = query.substr(pos, end - pos);
      if (!part.empty()) {
        auto eq = part.find('=');
        auto k = decode(part.substr(0, eq), true);
        auto v = decode(eq == std::string_view::npos ? std::string_view{}
                                                     : part.substr(eq + 1),
                        true);
        if (!k || !v)
          return std::nullopt;
        t.query.emplace_back(std::move(*k), std::move(*v));
      }
      pos = end + 1;
    }
  }
  return t;
}

route_match match_route(const std::vector<route>& table,
                        std::string_view method,
                        const std::vector<std::string>& segments) {
  route_match result;
  for (const auto& r : table) {
    if (!matches(r.path, segments, nullptr))
      continue;
    if (method == r.method) {
      matches(r.path, segments, &result.params);
      result.row = &r;
      result.status = 200;
      result.allow.clear();
      return result;
    }
    if (result.allow.find(r.method) == std::string::npos)
      result.allow
          += (result.allow.empty() ? "" : ", ") + std::string{r.method};
  }
  result.status = result.allow.empty() ? 404 : 405;
  return result;
}

} // namespace crdt
