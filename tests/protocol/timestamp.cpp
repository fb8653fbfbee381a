#include "protocol/timestamp.hpp"

#include "protocol/error.hpp"

#include <boost/test/unit_test.hpp>

using namespace crdt;

namespace {

const std::string node_a = "aaaaaaaaaaaaaaaa";
const std::string node_b = "bbbbbbbbbbbbbbbb";

hlc clock_at(int64_t millis, uint32_t counter, int64_t drift = 60000) {
  hlc c;
  c.last = {millis, counter, node_a};
  c.max_drift = drift;
  return c;
}

timestamp remote(int64_t millis, uint32_t counter) {
  return {millis, counter, node_b};
}

} // namespace

BOOST_AUTO_TEST_SUITE(timestamp_tests)

BOOST_AUTO_TEST_CASE(wire_form_round_trips) {
  auto ts = parse_timestamp("2024-10-21T08:01:02.345Z-00FF-0123456789abcdef");
  BOOST_REQUIRE(ts);
  BOOST_CHECK_EQUAL(ts->millis, 1729497662345);
  BOOST_CHECK_EQUAL(ts->counter, 255u);
  BOOST_CHECK_EQUAL(ts->node, "0123456789abcdef");
  BOOST_CHECK_EQUAL(to_string(*ts),
                    "2024-10-21T08:01:02.345Z-00FF-0123456789abcdef");
  BOOST_CHECK_EQUAL(to_string(timestamp{0, 0, "0000000000000000"}),
                    "1970-01-01T00:00:00.000Z-0000-0000000000000000");
  BOOST_CHECK_EQUAL(iso8601(951782400000), "2000-02-29T00:00:00.000Z");
  auto leap = parse_timestamp("2000-02-29T23:59:59.999Z-FFFF-ZZZZZZZZZZZZZZZZ");
  BOOST_REQUIRE(leap);
  BOOST_CHECK_EQUAL(leap->counter, 0xFFFFu);
}

BOOST_AUTO_TEST_CASE(malformed_timestamps_are_rejected) {
  for (const char* bad : {
           "", "yesterday",
           "2024-10-21T08:01:02.345Z-00FF-0123456789abcde",   // short node
           "2024-10-21T08:01:02.345Z-00FF-0123456789abcdef0", // long
           "2024-10-21 08:01:02.345Z-00FF-0123456789abcdef",  // no T
           "2024-10-21T08:01:02.345X-00FF-0123456789abcdef",  // no Z
           "2024-13-21T08:01:02.345Z-00FF-0123456789abcdef",  // month 13
           "2023-02-29T08:01:02.345Z-00FF-0123456789abcdef",  // not a leap year
           "2024-02-30T08:01:02.345Z-00FF-0123456789abcdef",  // Feb 30
           "2024-10-21T24:01:02.345Z-00FF-0123456789abcdef",  // hour 24
           "2024-10-21T08:60:02.345Z-00FF-0123456789abcdef",  // minute 60
           "2024-10-21T08:01:02.345Z-00ff-0123456789abcdef",  // lower-case hex
           "2024-10-21T08:01:02.345Z-00FG-0123456789abcdef",  // not hex
           "2024-10-21T08:01:02.345Z-00FF-0123456789abcde!",  // bad node char
           "2024-1x-21T08:01:02.345Z-00FF-0123456789abcdef",  // letter in date
       })
    BOOST_CHECK_MESSAGE(!parse_timestamp(bad), bad);
}

BOOST_AUTO_TEST_CASE(string_order_is_timestamp_order) {
  std::vector<timestamp> xs{
      {1000, 0, node_a}, {1000, 1, node_a},   {1000, 1, node_b},
      {1001, 0, node_a}, {60000, 15, node_a}, {1764000000000, 0xFFFF, node_a}};
  for (size_t i = 0; i + 1 < xs.size(); ++i)
    BOOST_CHECK_LT(to_string(xs[i]), to_string(xs[i + 1]));
}

BOOST_AUTO_TEST_CASE(send_takes_wall_time_when_it_is_ahead) {
  auto c = clock_at(1000, 7);
  auto ts = send(c, 2000);
  BOOST_REQUIRE(ts);
  BOOST_CHECK_EQUAL(ts->millis, 2000);
  BOOST_CHECK_EQUAL(ts->counter, 0u);
  BOOST_CHECK_EQUAL(ts->node, node_a);
  BOOST_CHECK(c.last == *ts);
}

BOOST_AUTO_TEST_CASE(send_counts_up_when_wall_time_is_not_ahead) {
  auto c = clock_at(2000, 7);
  auto ts = send(c, 2000); // same millisecond
  BOOST_REQUIRE(ts);
  BOOST_CHECK_EQUAL(ts->millis, 2000);
  BOOST_CHECK_EQUAL(ts->counter, 8u);
  ts = send(c, 1500); // wall clock went backwards
  BOOST_REQUIRE(ts);
  BOOST_CHECK_EQUAL(ts->millis, 2000);
  BOOST_CHECK_EQUAL(ts->counter, 9u);
}

BOOST_AUTO_TEST_CASE(send_refuses_drift_and_leaves_the_clock) {
  auto c = clock_at(100000, 3, 60000);
  auto ts = send(c, 100000 - 60001);
  BOOST_CHECK(!ts);
  BOOST_CHECK(is(ts.error(), ec::clock_drift));
  BOOST_CHECK_EQUAL(c.last.millis, 100000);
  BOOST_CHECK_EQUAL(c.last.counter, 3u);
  BOOST_CHECK(send(c, 100000 - 60000)); // exactly the allowed drift
}

BOOST_AUTO_TEST_CASE(send_refuses_counter_overflow_and_leaves_the_clock) {
  auto c = clock_at(5000, 0xFFFF);
  auto ts = send(c, 5000);
  BOOST_CHECK(!ts);
  BOOST_CHECK(is(ts.error(), ec::counter_overflow));
  BOOST_CHECK_EQUAL(c.last.counter, 0xFFFFu);
  BOOST_CHECK(send(c, 5001)); // the next millisecond resets the counter
}

BOOST_AUTO_TEST_CASE(recv_all_three_equal_takes_max_counter_plus_one) {
  auto c = clock_at(3000, 4);
  BOOST_CHECK(!recv(c, remote(3000, 9), 3000));
  BOOST_CHECK_EQUAL(c.last.millis, 3000);
  BOOST_CHECK_EQUAL(c.last.counter, 10u);
  c = clock_at(3000, 12);
  BOOST_CHECK(!recv(c, remote(3000, 9), 3000));
  BOOST_CHECK_EQUAL(c.last.counter, 13u);
  BOOST_CHECK_EQUAL(c.last.node, node_a); // keeps its own node id
}

BOOST_AUTO_TEST_CASE(recv_local_time_wins_counts_own_counter) {
  auto c = clock_at(5000, 4);
  BOOST_CHECK(!recv(c, remote(4000, 9), 3000));
  BOOST_CHECK_EQUAL(c.last.millis, 5000);
  BOOST_CHECK_EQUAL(c.last.counter, 5u);
}

BOOST_AUTO_TEST_CASE(recv_message_time_wins_counts_its_counter) {
  auto c = clock_at(4000, 4);
  BOOST_CHECK(!recv(c, remote(5000, 9), 3000));
  BOOST_CHECK_EQUAL(c.last.millis, 5000);
  BOOST_CHECK_EQUAL(c.last.counter, 10u);
}

BOOST_AUTO_TEST_CASE(recv_wall_time_wins_resets_counter) {
  auto c = clock_at(4000, 4);
  BOOST_CHECK(!recv(c, remote(4500, 9), 6000));
  BOOST_CHECK_EQUAL(c.last.millis, 6000);
  BOOST_CHECK_EQUAL(c.last.counter, 0u);
}

BOOST_AUTO_TEST_CASE(recv_refuses_a_message_too_far_ahead) {
  auto c = clock_at(1000, 1, 60000);
  auto err = recv(c, remote(1000 + 60001, 0), 1000);
  BOOST_CHECK(is(err, ec::clock_drift));
  BOOST_CHECK_EQUAL(c.last.millis, 1000);
  BOOST_CHECK_EQUAL(c.last.counter, 1u);
}

BOOST_AUTO_TEST_CASE(recv_refuses_a_result_too_far_ahead) {
  // The local clock itself ran ahead; merging must not push it further.
  auto c = clock_at(200000, 1, 60000);
  auto err = recv(c, remote(1000, 0), 1000);
  BOOST_CHECK(is(err, ec::clock_drift));
  BOOST_CHECK_EQUAL(c.last.millis, 200000);
}

BOOST_AUTO_TEST_CASE(recv_refuses_counter_overflow) {
  auto c = clock_at(3000, 1);
  auto err = recv(c, remote(3000, 0xFFFF), 3000);
  BOOST_CHECK(is(err, ec::counter_overflow));
  BOOST_CHECK_EQUAL(c.last.counter, 1u);
}

BOOST_AUTO_TEST_CASE(recv_of_its_own_node_id_is_fine) {
  auto c = clock_at(3000, 1);
  BOOST_CHECK(!recv(c, timestamp{3000, 5, node_a}, 3000));
  BOOST_CHECK_EQUAL(c.last.counter, 6u);
}

BOOST_AUTO_TEST_CASE(node_ids) {
  auto id = random_node_id();
  BOOST_CHECK(valid_node_id(id));
  BOOST_CHECK_NE(id, random_node_id());
  BOOST_CHECK(!valid_node_id("abc"));
  BOOST_CHECK(!valid_node_id("0123456789abcde-"));
}

BOOST_AUTO_TEST_SUITE_END()
