#pragma once

// Requests that reach the server through a reverse proxy (nginx, Caddy,
// HAProxy, a cloud load balancer): who the client is, as the
// TRUSTED_PROXIES setting lets the server believe X-Forwarded-For. Pure
// functions; the connection (http/server.cpp) applies them to each request.
//
// Without it, every client behind a proxy shares the proxy's address: one
// guesser's failed logins throttle everybody's, the access log names only
// the proxy, and a proxy on the hub's own machine makes every caller look
// local to a hub that has no SYNC_SECRET.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crdt {

/// The addresses and networks (CIDR) whose connections may name the client
/// in X-Forwarded-For.
class proxy_list {
public:
  bool empty() const {
    return nets_.empty();
  }

  /// Whether `address` (as canonical text, see `canonical_address`) lies
  /// in one of the networks.
  bool contains(std::string_view address) const;

  /// Adds an address (`10.0.0.5`, `::1`) or a network (`10.0.0.0/8`,
  /// `fd00::/8`); false when `text` is neither, or is every address
  /// (`0.0.0.0/0`, `::/0`: any client could then name itself).
  bool add(std::string_view text);

private:
  struct net {
    bool v4 = true;
    uint8_t bytes[16] = {};
    unsigned prefix = 0;
  };
  std::vector<net> nets_;
};

/// Parses TRUSTED_PROXIES: empty (no proxy is trusted, the default), or
/// comma-separated addresses and networks. None, with `problem` set, when
/// an item is neither.
std::optional<proxy_list> parse_trusted_proxies(std::string_view text,
                                                std::string& problem);

/// An IP address in its canonical text (IPv4 dotted, IPv6 compressed; an
/// IPv4 address mapped into IPv6 as plain IPv4), from the forms found in
/// X-Forwarded-For: bare, with a port (`192.0.2.7:5123`), or bracketed
/// (`[2001:db8::1]:443`). None when `text` is not an address.
std::optional<std::string> canonical_address(std::string_view text);

/// Who sent a request, as far as the server can tell.
struct client_origin {
  /// The client's address: the connection's peer, or, when the peer is a
  /// trusted proxy, the nearest address in X-Forwarded-For that is not.
  std::string address;
  /// The request says it was relayed by a proxy (it carries
  /// X-Forwarded-For, Forwarded or X-Real-IP), trusted or not: whoever sent
  /// it, it is not known to come from the peer's machine.
  bool relayed = false;
};

/// Resolves the client of a request whose connection comes from `peer`,
/// carrying `forwarded_for` (every X-Forwarded-For line, joined by commas;
/// empty when none) and, in `other_relay_headers`, whether it has a
/// Forwarded or X-Real-IP header. The list is read from the right (the
/// entry the nearest proxy added) and followed left only while the hop it
/// stops at is trusted, so a client behind a proxy that appends what it
/// saw cannot choose its address by sending X-Forwarded-For itself; an
/// entry that is not an address ends the walk.
client_origin resolve_client(const std::string& peer,
                             std::string_view forwarded_for,
                             bool other_relay_headers,
                             const proxy_list& trusted);

} // namespace crdt
