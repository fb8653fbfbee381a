#include "protocol/forwarded.hpp"

#include <boost/test/unit_test.hpp>

using namespace crdt;

namespace {

proxy_list proxies(const char* text) {
  std::string problem;
  auto list = parse_trusted_proxies(text, problem);
  BOOST_REQUIRE_MESSAGE(list, problem);
  return *list;
}

} // namespace

BOOST_AUTO_TEST_SUITE(forwarded_tests)

BOOST_AUTO_TEST_CASE(trusted_proxies_are_addresses_and_networks) {
  auto none = proxies("  ");
  BOOST_TEST(none.empty());
  BOOST_TEST(!none.contains("127.0.0.1"));

  auto some = proxies("127.0.0.1, 10.0.0.0/8,192.168.1.0/25 ,fd00::/8,::1");
  BOOST_TEST(some.contains("127.0.0.1"));
  BOOST_TEST(!some.contains("127.0.0.2"));
  BOOST_TEST(some.contains("10.200.3.4"));
  BOOST_TEST(!some.contains("11.0.0.1"));
  BOOST_TEST(some.contains("192.168.1.127"));
  BOOST_TEST(!some.contains("192.168.1.128")); // past the /25
  BOOST_TEST(some.contains("fd12:3456::1"));
  BOOST_TEST(!some.contains("fe80::1"));
  BOOST_TEST(some.contains("::1"));
  // A dual-stack socket reports IPv4 peers mapped into IPv6.
  BOOST_TEST(some.contains("::ffff:10.1.2.3"));
  BOOST_TEST(!some.contains("not an address"));
  BOOST_TEST(!some.contains(""));

  std::string problem;
  // Every address would let any client name itself: refused.
  for (const char* bad : {"10.0.0.0/33", "10.0.0.1/", "10.0.0.1/x", "proxy",
                          "10.0.0.1,,10.0.0.2", "::/129", "10.0.0.0/8 x",
                          "0.0.0.0/0", "::/0"}) {
    problem.clear();
    BOOST_TEST(!parse_trusted_proxies(bad, problem), bad);
    BOOST_TEST(!problem.empty(), bad);
  }
  BOOST_TEST(proxies("0.0.0.0/1").contains("127.0.0.1"));
  BOOST_TEST(!proxies("0.0.0.0/1").contains("203.0.113.9"));
  // Host bits set in a network: matched by the prefix.
  BOOST_TEST(proxies("10.1.2.3/8").contains("10.200.0.1"));
}

BOOST_AUTO_TEST_CASE(addresses_are_read_in_the_forms_proxies_write) {
  BOOST_TEST(*canonical_address(" 192.0.2.7 ") == "192.0.2.7");
  BOOST_TEST(*canonical_address("192.0.2.7:5123") == "192.0.2.7");
  BOOST_TEST(*canonical_address("[2001:db8::1]:443") == "2001:db8::1");
  BOOST_TEST(*canonical_address("2001:DB8:0::1") == "2001:db8::1");
  BOOST_TEST(*canonical_address("::ffff:192.0.2.7") == "192.0.2.7");
  BOOST_TEST(*canonical_address("[2001:db8::1]") == "2001:db8::1");
  for (const char* bad : {"", "unknown", "_hidden", "[2001:db8::1", "1.2.3",
                          "192.0.2.7:80:80", "a.example.com", "[::1]junk",
                          "[::1]:", "[1.2.3.4]", "1.2.3.4:abc", "1.2.3.4:",
                          "1.2.3.4:123456"})
    BOOST_TEST(!canonical_address(bad), bad);
}

BOOST_AUTO_TEST_CASE(a_request_without_relay_headers_is_its_peers) {
  auto trusted = proxies("127.0.0.1");
  auto o = resolve_client("127.0.0.1", "", false, trusted);
  BOOST_TEST(o.address == "127.0.0.1");
  BOOST_TEST(!o.relayed);
  o = resolve_client("192.0.2.7", "  ", false, proxy_list{});
  BOOST_TEST(o.address == "192.0.2.7");
  BOOST_TEST(!o.relayed);
}

BOOST_AUTO_TEST_CASE(an_untrusted_peer_cannot_choose_its_address) {
  // Nothing trusted: the header is not believed, and the request is marked
  // as relayed (whoever sent it, it was not the peer's machine alone).
  auto o = resolve_client("127.0.0.1", "198.51.100.1", false, proxy_list{});
  BOOST_TEST(o.address == "127.0.0.1");
  BOOST_TEST(o.relayed);
  // A proxy that is not in the list.
  auto trusted = proxies("10.0.0.1");
  o = resolve_client("10.0.0.2", "198.51.100.1", false, trusted);
  BOOST_TEST(o.address == "10.0.0.2");
  BOOST_TEST(o.relayed);
  // Forwarded or X-Real-IP alone say the same.
  o = resolve_client("127.0.0.1", "", true, proxy_list{});
  BOOST_TEST(o.relayed);
}

BOOST_AUTO_TEST_CASE(a_trusted_proxy_names_the_client) {
  auto trusted = proxies("127.0.0.1,10.0.0.0/8");
  auto o = resolve_client("127.0.0.1", "198.51.100.1", false, trusted);
  BOOST_TEST(o.address == "198.51.100.1");
  BOOST_TEST(o.relayed);
  // A client's own X-Forwarded-For comes first; the trusted proxy appends
  // the address it saw, and that is the one taken.
  o = resolve_client("127.0.0.1", "127.0.0.1, 6.6.6.6 , 198.51.100.1",
                     false, trusted);
  BOOST_TEST(o.address == "198.51.100.1");
  // Through a chain of trusted proxies: the first untrusted hop.
  o = resolve_client("127.0.0.1", "198.51.100.1, 10.1.1.1, 10.2.2.2", false,
                     trusted);
  BOOST_TEST(o.address == "198.51.100.1");
  // Every hop trusted: the farthest one is named.
  o = resolve_client("127.0.0.1", "10.3.3.3", false, trusted);
  BOOST_TEST(o.address == "10.3.3.3");
  // Entries with ports, IPv6, and the mapped form come out canonical.
  o = resolve_client("::ffff:127.0.0.1", "[2001:DB8::7]:5000", false, trusted);
  BOOST_TEST(o.address == "2001:db8::7");
  // The nearest entry is not an address: the client is unknown, the proxy
  // stands for it.
  o = resolve_client("127.0.0.1", "198.51.100.1, unknown", false, trusted);
  BOOST_TEST(o.address == "127.0.0.1");
  // A farther entry that is not an address ends the walk where it stands.
  o = resolve_client("127.0.0.1", "garbage, 10.1.1.1", false, trusted);
  BOOST_TEST(o.address == "10.1.1.1");
  // A trusted proxy that sends only X-Real-IP or Forwarded has not named
  // anybody in the header this server reads.
  o = resolve_client("127.0.0.1", "", true, trusted);
  BOOST_TEST(o.address == "127.0.0.1");
  // Whatever a trusted proxy names, the request was relayed: naming this
  // machine does not make a caller local (server.cpp's rule for /sync).
  for (const char* xff : {"127.0.0.1", "::1", "198.51.100.1, 127.0.0.1"}) {
    o = resolve_client("10.0.0.5", xff, false, trusted);
    BOOST_TEST(o.relayed, xff);
  }
}

BOOST_AUTO_TEST_SUITE_END()
