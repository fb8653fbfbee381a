// The PostgreSQL hub's pure parts: how HUB_DATABASE_URL is split and shown
// in logs, where a group is placed, how values are stored.

#include <boost/test/unit_test.hpp>

#include "storage/hub_store.hpp"
#include "storage/pg.hpp"

#include <limits>
#include <vector>

using namespace crdt;

BOOST_AUTO_TEST_SUITE(pg_url_tests)

BOOST_AUTO_TEST_CASE(several_uris_or_one_connection_string) {
  using v = std::vector<std::string>;
  BOOST_CHECK(pg::split_database_urls("") == v{});
  BOOST_CHECK(pg::split_database_urls("  postgresql://a/db  ")
              == v{"postgresql://a/db"});
  BOOST_CHECK(pg::split_database_urls("postgresql://a/db\n postgres://b:5433,c/db")
              == (v{"postgresql://a/db", "postgres://b:5433,c/db"}));
  // key=value pairs hold spaces: the whole value is one database.
  BOOST_CHECK(pg::split_database_urls("host=a dbname=hub user=u ")
              == v{"host=a dbname=hub user=u"});
}

BOOST_AUTO_TEST_CASE(passwords_never_reach_the_log) {
  BOOST_CHECK_EQUAL(pg::redact_conninfo("postgresql://u:s3cr%40t@h:5432/db"),
                    "postgresql://u:***@h:5432/db");
  BOOST_CHECK_EQUAL(pg::redact_conninfo("postgresql://u@h/db"),
                    "postgresql://u@h/db");
  BOOST_CHECK_EQUAL(pg::redact_conninfo("host=h password=abc user=u"),
                    "host=h password=*** user=u");
  BOOST_CHECK_EQUAL(pg::redact_conninfo("host=h password = 'a b\\' c' user=u"),
                    "host=h password = *** user=u");
}

BOOST_AUTO_TEST_CASE(connection_strings_are_checked_without_connecting) {
  BOOST_CHECK(pg::check_conninfo("postgresql://u@127.0.0.1:5432/db").empty());
  BOOST_CHECK(pg::check_conninfo("host=h dbname=x").empty());
  BOOST_CHECK(!pg::check_conninfo("postgresql://u@h/db?nosuch=1").empty());
  BOOST_CHECK(!pg::check_conninfo("host=h nosuch=1").empty());
}

BOOST_AUTO_TEST_CASE(placement_is_stable_and_spread) {
  // Fixed forever: changing it would move every group.
  BOOST_CHECK_EQUAL(hub_placement("anything", 1), 0u);
  BOOST_CHECK_EQUAL(hub_placement("fleet", 3), 0u);
  BOOST_CHECK_EQUAL(hub_placement("fleet", 2), 1u);
  BOOST_CHECK_EQUAL(hub_placement("my_group", 3), 1u);
  BOOST_CHECK_EQUAL(hub_placement("a", 3), 2u);
  std::vector<size_t> counts(3);
  for (int i = 0; i < 30000; ++i)
    ++counts[hub_placement("group-" + std::to_string(i), 3)];
  for (auto c : counts) {
    BOOST_CHECK_GT(c, 9000u);
    BOOST_CHECK_LT(c, 11000u);
  }
}

BOOST_AUTO_TEST_CASE(values_encode_and_decode) {
  std::vector<value> vs{value{}, value{int64_t{-1}},
                        value{std::numeric_limits<int64_t>::max()},
                        value{3.25}, value{std::string{}},
                        value{std::string{"x\0y", 3}}};
  for (const auto& x : vs) {
    auto back = decode_value(encode_value(x));
    BOOST_REQUIRE(back);
    BOOST_CHECK(*back == x);
  }
  BOOST_CHECK(!decode_value(""));
  BOOST_CHECK(!decode_value("r12"));
}

BOOST_AUTO_TEST_SUITE_END()
