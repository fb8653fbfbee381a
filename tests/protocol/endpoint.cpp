// Splitting the hub's URL: the one parser behind both the SYNC_ENDPOINT
// setting's check and the sync client.

#include "protocol/endpoint.hpp"

#include <boost/test/unit_test.hpp>

using namespace crdt;

BOOST_AUTO_TEST_SUITE(endpoint_tests)

BOOST_AUTO_TEST_CASE(parts_of_good_urls) {
  auto p = parse_endpoint("http://hub.example.org:3061/base/");
  BOOST_REQUIRE(p);
  BOOST_CHECK_EQUAL(p->host, "hub.example.org");
  BOOST_CHECK_EQUAL(p->port, "3061");
  BOOST_CHECK_EQUAL(p->base, "/base");
  p = parse_endpoint("http://hub");
  BOOST_REQUIRE(p);
  BOOST_CHECK_EQUAL(p->port, "80");
  BOOST_CHECK_EQUAL(p->base, "");
  // The sync client once got "[::1]:3061" as its host (and port 80).
  p = parse_endpoint("http://[::1]:3061");
  BOOST_REQUIRE(p);
  BOOST_CHECK_EQUAL(p->host, "::1");
  BOOST_CHECK_EQUAL(p->port, "3061");
}

BOOST_AUTO_TEST_CASE(bad_urls) {
  for (auto u : {"", "https://hub", "ftp://x", "127.0.0.1:3061", "http://",
                 "http://:3061", "http://hub:0", "http://hub:99999",
                 "http://hub:port", "http://hub:", "http://h ub",
                 "http://hub/x?y", "http://user@hub", "http://[::1",
                 "http://[]:1", "http://[::1]x", "http://-hub", "http://.hub"})
    BOOST_CHECK_MESSAGE(!parse_endpoint(u), u);
}

BOOST_AUTO_TEST_SUITE_END()
