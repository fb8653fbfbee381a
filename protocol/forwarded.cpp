#include "protocol/forwarded.hpp"

#include "protocol/text.hpp"

#include <boost/asio/ip/address.hpp>

#include <cctype>
#include <charconv>
#include <cstring>

namespace crdt {

namespace {

namespace ip = boost::asio::ip;

// An address as Asio parses it, an IPv4-mapped IPv6 one as IPv4 (a
// dual-stack socket reports IPv4 peers that way).
std::optional<ip::address> parse_ip(std::string_view text) {
  boost::system::error_code ec;
  auto a = ip::make_address(std::string{text}, ec);
  if (ec)
    return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return ip::address{ip::make_address_v4(ip::v4_mapped, a.to_v6())};
  return a;
}

// An address's bytes (4 or 16, the rest zero); true for IPv4.
bool address_bytes(const ip::address& a, uint8_t (&bytes)[16]) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    std::memcpy(bytes, b.data(), b.size());
    return true;
  }
  auto b = a.to_v6().to_bytes();
  std::memcpy(bytes, b.data(), b.size());
  return false;
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 5)
    return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

// The forms X-Forwarded-For entries take: bare, `v4:port`, `[v6]`,
// `[v6]:port`.
std::optional<ip::address> parse_forwarded_ip(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    auto after = text.substr(close + 1);
    if (!after.empty()
        && (after.front() != ':' || !all_digits(after.substr(1))))
      return std::nullopt;
    // Brackets hold IPv6 text only (`[1.2.3.4]` is not a form).
    auto inner = text.substr(1, close - 1);
    if (inner.find(':') == std::string_view::npos)
      return std::nullopt;
    return parse_ip(inner);
  }
  if (auto a = parse_ip(text))
    return a;
  auto colon = text.find(':');
  if (colon != std::string_view::npos && colon == text.rfind(':')
      && all_digits(text.substr(colon + 1))) {
    auto a = parse_ip(text.substr(0, colon));
    if (a && a->is_v4())
      return a;
  }
  return std::nullopt;
}

} // namespace

bool proxy_list::add(std::string_view text) {
  text = trim(text);
  auto slash = text.find('/');
  auto a = parse_ip(text.substr(0, slash));
  if (!a)
    return false;
  net n;
  n.v4 = address_bytes(*a, n.bytes);
  unsigned width = n.v4 ? 32 : 128;
  n.prefix = width;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    unsigned p = 0;
    auto [end, ec] = std::from_chars(digits.data(),
                                     digits.data() + digits.size(), p);
    if (ec != std::errc{} || end != digits.data() + digits.size()
        || digits.empty() || p > width || p == 0)
      return false;
    n.prefix = p;
  }
  nets_.push_back(n);
  return true;
}

bool proxy_list::contains(std::string_view address) const {
  if (nets_.empty())
    return false;
  auto a = parse_ip(address);
  if (!a)
    return false;
  uint8_t bytes[16] = {};
  bool v4 = address_bytes(*a, bytes);
  for (const auto& n : nets_) {
    if (n.v4 != v4)
      continue;
    unsigned whole = n.prefix / 8;
    unsigned rest = n.prefix % 8;
    if (std::memcmp(bytes, n.bytes, whole) != 0)
      continue;
    if (rest != 0) {
      auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
      if ((bytes[whole] & mask) != (n.bytes[whole] & mask))
        continue;
    }
    return true;
  }
  return false;
}

std::optional<proxy_list> parse_trusted_proxies(std::string_view text,
                                                std::string& problem) {
  proxy_list out;
  text = trim(text);
  if (text.empty())
    return out;
  for (auto item : comma_items(text))
    if (!out.add(item)) {
      problem = "must be comma-separated IP addresses or networks such as "
                "127.0.0.1,10.0.0.0/8 (not \""
                + std::string{item.substr(0, 64)} + "\")";
      return std::nullopt;
    }
  return out;
}

std::optional<std::string> canonical_address(std::string_view text) {
  auto a = parse_forwarded_ip(text);
  if (!a)
    return std::nullopt;
  return a->to_string();
}

client_origin resolve_client(const std::string& peer,
                             std::string_view forwarded_for,
                             bool other_relay_headers,
                             const proxy_list& trusted) {
  client_origin out;
  out.address = peer;
  out.relayed = other_relay_headers || !trim(forwarded_for).empty();
  if (!out.relayed || !trusted.contains(peer))
    return out;
  // The peer is a trusted proxy: walk X-Forwarded-For from the right while
  // the hop reached is trusted too.
  auto rest = forwarded_for;
  while (trusted.contains(out.address) && !trim(rest).empty()) {
    auto comma = rest.rfind(',');
    auto item = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view{}
                                           : rest.substr(0, comma);
    auto a = canonical_address(item);
    if (!a)
      break;
    out.address = std::move(*a);
  }
  return out;
}

} // namespace crdt
