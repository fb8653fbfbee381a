// Request targets: splitting, percent-decoding and routing through the
// service's route table, with 404 for unknown paths and 405 plus the Allow
// list for a known path with the wrong method.

#include "http/router.hpp"

#include "http/routes.hpp"

#include <boost/test/unit_test.hpp>

using namespace crdt;

namespace {

using strings = std::vector<std::string>;
using query = std::vector<std::pair<std::string, std::string>>;

route_match match(std::string_view method, const strings& path) {
  return match_route(routes(), method, path);
}

const char* level_name(access_level a) {
  switch (a) {
  case access_level::anyone:
    return "anyone";
  case access_level::peer:
    return "peer";
  case access_level::member:
    return "member";
  case access_level::admin:
    return "admin";
  case access_level::metrics_reader:
    return "metrics_reader";
  default:
    return "node_admin";
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(router_tests)

BOOST_AUTO_TEST_CASE(paths_split_into_segments) {
  auto t = parse_target("/store/contacts/01JAR2HPE7JJS1HYQZ7FYK0S4D");
  BOOST_REQUIRE(t);
  BOOST_CHECK((t->segments
               == strings{"store", "contacts", "01JAR2HPE7JJS1HYQZ7FYK0S4D"}));
  BOOST_CHECK(t->query.empty());
  auto health = parse_target("/health");
  BOOST_REQUIRE(health);
  BOOST_CHECK((health->segments == strings{"health"}));
  auto root = parse_target("/");
  BOOST_REQUIRE(root);
  BOOST_CHECK(root->segments.empty());
  // Empty segments inside a path are kept (and then match no route).
  auto empty = parse_target("/store//x");
  BOOST_REQUIRE(empty);
  BOOST_CHECK((empty->segments == strings{"store", "", "x"}));
}

BOOST_AUTO_TEST_CASE(a_trailing_slash_names_the_same_resource) {
  auto t = parse_target("/store/contacts/");
  BOOST_REQUIRE(t);
  BOOST_CHECK((t->segments == strings{"store", "contacts"}));
  auto q = parse_target("/store/contacts/?limit=1");
  BOOST_REQUIRE(q);
  BOOST_CHECK((q->segments == strings{"store", "contacts"}));
  BOOST_CHECK((q->query == query{{"limit", "1"}}));
  // Only one: "//" at the end leaves an empty last segment.
  auto two = parse_target("/store/contacts//");
  BOOST_REQUIRE(two);
  BOOST_CHECK((two->segments == strings{"store", "contacts", ""}));
}

BOOST_AUTO_TEST_CASE(segments_and_query_are_percent_decoded) {
  auto t = parse_target("/store/con%74acts/a%2Fb%20c+d");
  BOOST_REQUIRE(t);
  // %2F decodes inside its segment, it does not split; '+' in a path is a
  // plus.
  BOOST_CHECK((t->segments == strings{"store", "contacts", "a/b c+d"}));
  auto evil = parse_target("/store/contacts%3BDROP%20TABLE%20contacts");
  BOOST_REQUIRE(evil);
  BOOST_CHECK_EQUAL(evil->segments[1], "contacts;DROP TABLE contacts");
  // Upper- and lower-case hex digits.
  auto hex = parse_target("/%4a%4A");
  BOOST_REQUIRE(hex);
  BOOST_CHECK_EQUAL(hex->segments[0], "JJ");
}

BOOST_AUTO_TEST_CASE(query_parameters_keep_order_and_decode_plus) {
  auto t = parse_target(
      "/store/contacts?pluck=a,b&order=-x&q=a+b%21&flag&%6Bey=v%2Bw&&e=");
  BOOST_REQUIRE(t);
  BOOST_CHECK((t->segments == strings{"store", "contacts"}));
  BOOST_CHECK((t->query
               == query{{"pluck", "a,b"},
                        {"order", "-x"},
                        {"q", "a b!"},
                        {"flag", ""},
                        {"key", "v+w"},
                        {"e", ""}}));
  // Only the first '=' splits key and value.
  auto eq = parse_target("/x?a=b=c");
  BOOST_REQUIRE(eq);
  BOOST_CHECK((eq->query == query{{"a", "b=c"}}));
  // A bare '?' is an empty query.
  auto bare = parse_target("/x?");
  BOOST_REQUIRE(bare);
  BOOST_CHECK((bare->segments == strings{"x"}));
  BOOST_CHECK(bare->query.empty());
}

BOOST_AUTO_TEST_CASE(bad_targets_are_rejected) {
  for (const char* bad :
       {"", "store", "*", "http://x/store", "/a%", "/a%4", "/a%zz", "/a%g1/b",
        "/%%41", "/a?b=%g1", "/a?%=1", "/a?k=%4"})
    BOOST_CHECK_MESSAGE(!parse_target(bad), "accepted " << bad);
}

BOOST_AUTO_TEST_CASE(every_route_matches_its_pattern) {
  struct {
    const char* method;
    strings path;
    const char* want;
    const char* who;
    std::map<std::string, std::string> params;
  } cases[] = {
      {"POST",
       {"store", "contacts"},
       "/store/:table",
       "member",
       {{"table", "contacts"}}},
      {"GET",
       {"store", "contacts"},
       "/store/:table",
       "member",
       {{"table", "contacts"}}},
      {"GET",
       {"store", "contacts", "X1"},
       "/store/:table/:id",
       "member",
       {{"table", "contacts"}, {"id", "X1"}}},
      {"PATCH",
       {"store", "contacts", "X1"},
       "/store/:table/:id",
       "member",
       {{"table", "contacts"}, {"id", "X1"}}},
      {"DELETE",
       {"store", "contacts", "X1"},
       "/store/:table/:id",
       "member",
       {{"table", "contacts"}, {"id", "X1"}}},
      {"GET",
       {"config", "config_sync"},
       "/config/config_sync",
       "node_admin",
       {}},
      {"GET",
       {"config", "config_sync", "SYNC_TIMER_MS"},
       "/config/config_sync/:key",
       "node_admin",
       {{"key", "SYNC_TIMER_MS"}}},
      {"POST",
       {"store", "config", "config_sync", "GROUP_ID"},
       "/store/config/config_sync/:key",
       "node_admin",
       {{"key", "GROUP_ID"}}},
      {"POST", {"sync"}, "/sync", "peer", {}},
      {"POST", {"auth", "login"}, "/auth/login", "anyone", {}},
      {"GET", {"auth", "accounts"}, "/auth/accounts", "admin", {}},
      {"POST", {"auth", "accounts"}, "/auth/accounts", "admin", {}},
      {"DELETE",
       {"auth", "accounts", "A1"},
       "/auth/accounts/:id",
       "admin",
       {{"id", "A1"}}},
      {"POST", {"auth", "password"}, "/auth/password", "member", {}},
      {"POST",
       {"auth", "organizations"},
       "/auth/organizations",
       "node_admin",
       {}},
      {"GET", {"health"}, "/health", "anyone", {}},
      {"GET", {"metrics"}, "/metrics", "metrics_reader", {}},
      {"GET", {"console"}, "/console", "anyone", {}},
      {"GET", {"schema"}, "/schema", "member", {}},
      {"GET", {"openapi.json"}, "/openapi.json", "member", {}},
      {"GET",
       {"store", "devices", "changes"},
       "/store/:table/changes",
       "member",
       {{"table", "devices"}}},
      {"GET",
       {"schema", "devices"},
       "/schema/:table",
       "member",
       {{"table", "devices"}}},
      {"POST",
       {"schema", "devices"},
       "/schema/:table",
       "node_admin",
       {{"table", "devices"}}},
  };
  for (const auto& c : cases) {
    auto m = match(c.method, c.path);
    BOOST_TEST_CONTEXT(c.method << " /" << c.path[0]) {
      BOOST_REQUIRE(m.row);
      BOOST_CHECK_EQUAL(m.row->path, std::string{c.want});
      BOOST_CHECK_EQUAL(m.row->method, std::string{c.method});
      BOOST_CHECK_EQUAL(level_name(m.row->who), std::string{c.who});
      BOOST_CHECK(m.row->handler != nullptr);
      BOOST_CHECK_EQUAL(m.status, 200u);
      BOOST_CHECK(m.allow.empty());
      BOOST_CHECK((m.params == c.params));
    }
  }
  // Every row of the table is covered above, and no two rows share a
  // method and path.
  BOOST_CHECK_EQUAL(routes().size(), std::size(cases));
  for (const auto& r : routes()) {
    size_t same = 0;
    for (const auto& other : routes())
      same += std::string{r.method} == other.method
              && std::string{r.path} == other.path;
    BOOST_CHECK_EQUAL(same, 1u);
  }
  // A table called "config" is still an ordinary table.
  auto m = match("GET", {"store", "config"});
  BOOST_REQUIRE(m.row);
  BOOST_CHECK_EQUAL(m.row->path, std::string{"/store/:table"});
  BOOST_CHECK_EQUAL(m.params["table"], "config");
  m = match("GET", {"store", "config", "config_sync"});
  BOOST_REQUIRE(m.row);
  BOOST_CHECK_EQUAL(m.row->path, std::string{"/store/:table/:id"});
  // Methods are case-sensitive (RFC 9110).
  BOOST_CHECK(!match("get", {"health"}).row);
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404) {
  for (const strings& path :
       {strings{}, strings{"nope"}, strings{"store"},
        strings{"store", "t", "i", "x"}, strings{"store", ""},
        strings{"store", "t", ""}, strings{"health", "x"}, strings{"config"},
        strings{"config", "other"}, strings{"auth"}, strings{"Store", "t"},
        strings{"sync", "x"}}) {
    auto m = match("GET", path);
    BOOST_CHECK(!m.row);
    BOOST_CHECK_EQUAL(m.status, 404u);
    BOOST_CHECK(m.allow.empty());
    BOOST_CHECK_EQUAL(match("POST", path).status, 404u);
  }
}

BOOST_AUTO_TEST_CASE(a_wrong_method_is_405_with_the_allowed_ones) {
  struct {
    const char* method;
    strings path;
    const char* allow;
  } cases[] = {
      {"PUT", {"store", "t", "i"}, "GET, PATCH, DELETE"},
      {"POST", {"store", "t", "i"}, "GET, PATCH, DELETE"},
      {"DELETE", {"store", "t"}, "POST, GET"},
      {"PATCH", {"store", "t"}, "POST, GET"},
      {"GET", {"sync"}, "POST"},
      {"GET", {"auth", "login"}, "POST"},
      {"POST", {"health"}, "GET"},
      {"DELETE", {"config", "config_sync"}, "GET"},
      {"POST", {"config", "config_sync", "K"}, "GET"},
      {"GET", {"store", "config", "config_sync", "K"}, "POST"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.method << " /" << c.path[0] << " (" << c.path.size()
                                << " segments)") {
      auto m = match(c.method, c.path);
      BOOST_CHECK(!m.row);
      BOOST_CHECK_EQUAL(m.status, 405u);
      BOOST_CHECK_EQUAL(m.allow, c.allow);
      BOOST_CHECK(m.params.empty());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
