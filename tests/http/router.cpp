#include "http/router.hpp"

#include <boost/test/unit_test.hpp>

using namespace crdt;

BOOST_AUTO_TEST_SUITE(router_tests)

BOOST_AUTO_TEST_CASE(targets_are_split_and_decoded) {
  auto t = parse_target("/store/con%74acts/01J?pluck=a,b&order=-x&q=a+b%21&flag");
  BOOST_REQUIRE(t);
  BOOST_CHECK((t->segments == std::vector<std::string>{"store", "contacts", "01J"}));
  BOOST_REQUIRE_EQUAL(t->query.size(), 4u);
  BOOST_CHECK_EQUAL(t->query[0].second, "a,b");
  BOOST_CHECK_EQUAL(t->query[1].second, "-x");
  BOOST_CHECK_EQUAL(t->query[2].second, "a b!");
  BOOST_CHECK_EQUAL(t->query[3].first, "flag");
  auto slash = parse_target("/store/contacts/");
  BOOST_REQUIRE(slash);
  BOOST_CHECK_EQUAL(slash->segments.size(), 2u);
  auto evil = parse_target("/store/contacts%3BDROP%20TABLE%20contacts");
  BOOST_REQUIRE(evil);
  BOOST_CHECK_EQUAL(evil->segments[1], "contacts;DROP TABLE contacts");
  for (const char* bad : {"", "store", "http://x/store", "/a%", "/a%4", "/a%zz",
                          "/a?b=%g1"})
    BOOST_CHECK_MESSAGE(!parse_target(bad), bad);
}

BOOST_AUTO_TEST_CASE(every_route_matches_its_pattern) {
  struct {
    const char* method;
    std::vector<std::string> path;
    route want;
  } cases[] = {
    {"POST", {"store", "t"}, route::store_create},
    {"GET", {"store", "t"}, route::store_list},
    {"GET", {"store", "t", "i"}, route::store_get},
    {"PATCH", {"store", "t", "i"}, route::store_patch},
    {"DELETE", {"store", "t", "i"}, route::store_delete},
    {"GET", {"config", "config_sync"}, route::config_list},
    {"GET", {"config", "config_sync", "K"}, route::config_get},
    {"POST", {"store", "config", "config_sync", "K"}, route::config_set},
    {"POST", {"sync"}, route::sync},
    {"POST", {"auth", "login"}, route::login},
    {"GET", {"health"}, route::health},
  };
  for (const auto& c : cases) {
    auto m = match_route(c.method, c.path);
    BOOST_REQUIRE(m.which);
    BOOST_CHECK(*m.which == c.want);
    BOOST_CHECK_EQUAL(m.status, 200u);
  }
  auto m = match_route("PATCH", {"store", "contacts", "01J"});
  BOOST_CHECK_EQUAL(m.params["table"], "contacts");
  BOOST_CHECK_EQUAL(m.params["id"], "01J");
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404_and_wrong_methods_405) {
  auto m = match_route("GET", {"nope"});
  BOOST_CHECK(!m.which);
  BOOST_CHECK_EQUAL(m.status, 404u);
  m = match_route("PUT", {"store", "t", "i"});
  BOOST_CHECK(!m.which);
  BOOST_CHECK_EQUAL(m.status, 405u);
  BOOST_CHECK_EQUAL(m.allow, "GET, PATCH, DELETE");
  m = match_route("GET", {"sync"});
  BOOST_CHECK_EQUAL(m.status, 405u);
  BOOST_CHECK_EQUAL(m.allow, "POST");
  BOOST_CHECK_EQUAL(match_route("GET", {"store", ""}).status, 404u);
}

BOOST_AUTO_TEST_SUITE_END()
