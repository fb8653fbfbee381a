#include "protocol/ulid.hpp"

#include <boost/test/unit_test.hpp>

#include <set>

using namespace crdt;

BOOST_AUTO_TEST_SUITE(ulid_tests)

BOOST_AUTO_TEST_CASE(ulids_are_valid_unique_and_time_ordered) {
  std::set<std::string> seen;
  std::string previous;
  for (int64_t i = 0; i < 10000; ++i) {
    auto id = make_ulid(1729497662345 + i);
    BOOST_REQUIRE(valid_ulid(id));
    BOOST_CHECK(seen.insert(id).second);
    BOOST_CHECK_LT(previous.substr(0, 10), id.substr(0, 10));
    previous = id;
  }
  // The time part of a known instant.
  BOOST_CHECK_EQUAL(make_ulid(0).substr(0, 10), "0000000000");
  BOOST_CHECK_EQUAL(make_ulid(1469918176385).substr(0, 10), "01ARYZ6S41");
}

BOOST_AUTO_TEST_CASE(invalid_ulids_are_rejected) {
  BOOST_CHECK(valid_ulid("01JAR2HPE7JJS1HYQZ7FYK0S4D"));
  for (const char* bad :
       {"", "01JAR2HPE7JJS1HYQZ7FYK0S4", "01JAR2HPE7JJS1HYQZ7FYK0S4DD",
        "01jar2hpe7jjs1hyqz7fyk0s4d", "01JAR2HPE7JJS1HYQZ7FYK0S4I",
        "01JAR2HPE7JJS1HYQZ7FYK0S4L", "01JAR2HPE7JJS1HYQZ7FYK0S4O",
        "01JAR2HPE7JJS1HYQZ7FYK0S4U", "81JAR2HPE7JJS1HYQZ7FYK0S4D"})
    BOOST_CHECK_MESSAGE(!valid_ulid(bad), bad);
}

BOOST_AUTO_TEST_SUITE_END()
