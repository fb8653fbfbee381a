// The failed-login throttle with the time passed in: free failures, the
// doubling wait and its cap, forgetting, and the bound on tracked keys.

#include "auth/throttle.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

using namespace crdt;
using namespace std::chrono_literals;

namespace {

using steady = login_throttle::clock;
using ms = login_throttle::duration;

// A point well after the steady clock's epoch.
const steady::time_point t0 = steady::time_point{} + 1000h;

login_throttle::limits defaults() {
  login_throttle::limits l;
  l.free_failures = 5;
  l.base_delay = 1s;
  l.max_delay = 15min;
  l.forget_after = 1h;
  l.max_keys = 100000;
  return l;
}

void fail(login_throttle& t, const std::string& key, int n,
          steady::time_point now) {
  for (int i = 0; i < n; ++i)
    t.failure(key, now);
}

} // namespace

BOOST_AUTO_TEST_SUITE(throttle_tests)

BOOST_AUTO_TEST_CASE(an_unknown_key_never_waits) {
  login_throttle t{defaults()};
  BOOST_CHECK(t.wait("nobody", t0) == ms::zero());
  BOOST_CHECK_EQUAL(t.size(), 0u);
  t.success("nobody");
  BOOST_CHECK_EQUAL(t.size(), 0u);
}

BOOST_AUTO_TEST_CASE(the_free_failures_cost_no_wait) {
  // Five free failures: the tries after the first four are heard at once,
  // the try after the fifth waits the base delay.
  login_throttle t{defaults()};
  for (int i = 0; i < 4; ++i) {
    t.failure("ada", t0);
    BOOST_CHECK_MESSAGE(t.wait("ada", t0) == ms::zero(),
                        "after failure " << i + 1);
  }
  BOOST_CHECK_EQUAL(t.size(), 1u);
  t.failure("ada", t0);
  BOOST_CHECK_EQUAL(t.wait("ada", t0).count(), ms{1s}.count());
}

BOOST_AUTO_TEST_CASE(the_wait_doubles_up_to_the_cap) {
  login_throttle t{defaults()};
  fail(t, "ada", 4, t0);
  ms expected = 1s;
  for (int i = 0; i < 20; ++i) {
    t.failure("ada", t0);
    auto want = std::min<ms>(expected, 15min);
    BOOST_CHECK_MESSAGE(t.wait("ada", t0) == want,
                        "failure " << i + 5 << ": " << t.wait("ada", t0).count()
                                   << " ms, want " << want.count());
    expected *= 2;
  }
  // 1, 2, 4, ..., 512 s, then the 15 minute cap.
  BOOST_CHECK(t.wait("ada", t0) == ms{15min});
}

BOOST_AUTO_TEST_CASE(the_wait_runs_down_with_time) {
  login_throttle t{defaults()};
  fail(t, "ada", 6, t0); // waits 2 s from t0
  BOOST_CHECK(t.wait("ada", t0) == ms{2s});
  BOOST_CHECK(t.wait("ada", t0 + 500ms) == ms{1500});
  BOOST_CHECK(t.wait("ada", t0 + 1999ms) == ms{1});
  BOOST_CHECK(t.wait("ada", t0 + 2s) == ms::zero());
  BOOST_CHECK(t.wait("ada", t0 + 1h) == ms::zero());
  // The wait counts from the last failure: one more at t0 + 10 s waits
  // 4 s from then.
  t.failure("ada", t0 + 10s);
  BOOST_CHECK(t.wait("ada", t0 + 10s) == ms{4s});
  BOOST_CHECK(t.wait("ada", t0 + 13s) == ms{1s});
  BOOST_CHECK(t.wait("ada", t0 + 14s) == ms::zero());
}

BOOST_AUTO_TEST_CASE(success_starts_over) {
  login_throttle t{defaults()};
  fail(t, "ada", 8, t0);
  BOOST_CHECK(t.wait("ada", t0) > ms::zero());
  t.success("ada");
  BOOST_CHECK(t.wait("ada", t0) == ms::zero());
  BOOST_CHECK_EQUAL(t.size(), 0u);
  // Free failures again.
  fail(t, "ada", 4, t0);
  BOOST_CHECK(t.wait("ada", t0) == ms::zero());
  t.failure("ada", t0);
  BOOST_CHECK(t.wait("ada", t0) == ms{1s});
}

BOOST_AUTO_TEST_CASE(a_key_left_alone_for_forget_after_starts_over) {
  login_throttle t{defaults()};
  fail(t, "ada", 11, t0); // 64 s
  BOOST_CHECK(t.wait("ada", t0 + 59min) == ms::zero());
  // Just before forget_after the count still holds: one more failure
  // doubles again.
  t.failure("ada", t0 + 59min);
  BOOST_CHECK(t.wait("ada", t0 + 59min) == ms{128s});
  // An hour after that last failure, the key starts over: free ones.
  auto later = t0 + 59min + 1h;
  for (int i = 0; i < 4; ++i) {
    t.failure("ada", later);
    BOOST_CHECK_MESSAGE(t.wait("ada", later) == ms::zero(),
                        "failure " << i + 1 << " after forgetting");
  }
  t.failure("ada", later);
  BOOST_CHECK(t.wait("ada", later) == ms{1s});
}

BOOST_AUTO_TEST_CASE(a_wait_longer_than_forget_after_ends_with_it) {
  auto l = defaults();
  l.max_delay = 2h;
  l.forget_after = 1h;
  login_throttle t{l};
  fail(t, "ada", 30, t0);
  BOOST_CHECK(t.wait("ada", t0) == ms{2h});
  BOOST_CHECK(t.wait("ada", t0 + 59min) > ms::zero());
  BOOST_CHECK(t.wait("ada", t0 + 1h) == ms::zero());
}

BOOST_AUTO_TEST_CASE(keys_are_independent) {
  login_throttle t{defaults()};
  fail(t, "email:ada@example.org", 5, t0);
  fail(t, "email:bob@example.org", 4, t0);
  BOOST_CHECK(t.wait("email:ada@example.org", t0) == ms{1s});
  BOOST_CHECK(t.wait("email:bob@example.org", t0) == ms::zero());
  BOOST_CHECK(t.wait("addr:10.0.0.1", t0) == ms::zero());
  BOOST_CHECK_EQUAL(t.size(), 2u);
  t.success("email:bob@example.org");
  BOOST_CHECK(t.wait("email:ada@example.org", t0) == ms{1s});
  BOOST_CHECK_EQUAL(t.size(), 1u);
  t.success("email:ada@example.org");
  BOOST_CHECK_EQUAL(t.size(), 0u);
}

BOOST_AUTO_TEST_CASE(no_free_failures_means_the_first_one_waits) {
  auto l = defaults();
  l.free_failures = 0;
  l.base_delay = 250ms;
  login_throttle t{l};
  t.failure("ada", t0);
  BOOST_CHECK(t.wait("ada", t0) == ms{250});
  t.failure("ada", t0);
  BOOST_CHECK(t.wait("ada", t0) == ms{500});
}

BOOST_AUTO_TEST_CASE(a_flood_of_keys_stays_within_max_keys) {
  auto l = defaults();
  l.max_keys = 50;
  login_throttle t{l};
  size_t largest = 0;
  for (int i = 0; i < 10000; ++i) {
    t.failure("addr:" + std::to_string(i), t0 + ms{i});
    largest = std::max(largest, t.size());
    if (t.size() > l.max_keys) {
      BOOST_ERROR("size " << t.size() << " after key " << i);
      break;
    }
  }
  BOOST_CHECK_LE(largest, l.max_keys);
  BOOST_CHECK_GT(t.size(), 0u);
  // The most recent keys are kept; a key blocked just now is too.
  fail(t, "hot", 5, t0 + 20s);
  BOOST_CHECK_LE(t.size(), l.max_keys);
  BOOST_CHECK(t.wait("hot", t0 + 20s) == ms{1s});
}

BOOST_AUTO_TEST_CASE(forgotten_keys_are_dropped_before_recent_ones) {
  auto l = defaults();
  l.max_keys = 10;
  login_throttle t{l};
  // Nine keys that fail at t0 and are forgotten by t0 + 1 h, and one that
  // is blocked at t0 + 1 h.
  for (int i = 0; i < 9; ++i)
    t.failure("old" + std::to_string(i), t0);
  fail(t, "blocked", 5, t0 + 1h);
  BOOST_CHECK_EQUAL(t.size(), 10u);
  // A new key makes room: the forgotten ones go, the blocked one stays.
  t.failure("new", t0 + 1h);
  BOOST_CHECK_EQUAL(t.size(), 2u);
  BOOST_CHECK(t.wait("blocked", t0 + 1h) == ms{1s});
}

BOOST_AUTO_TEST_CASE(a_tiny_max_keys_still_works) {
  auto l = defaults();
  l.max_keys = 1;
  login_throttle t{l};
  for (int i = 0; i < 100; ++i) {
    t.failure("k" + std::to_string(i), t0 + ms{i});
    BOOST_CHECK_EQUAL(t.size(), 1u);
  }
  fail(t, "last", 5, t0 + 1s);
  BOOST_CHECK(t.wait("last", t0 + 1s) == ms{1s});
}

BOOST_AUTO_TEST_CASE(thousands_of_failures_do_not_overflow) {
  login_throttle t{defaults()};
  fail(t, "ada", 100000, t0);
  BOOST_CHECK(t.wait("ada", t0) == ms{15min});
  // Without a practical cap the wait still grows, bounded and positive.
  auto l = defaults();
  l.max_delay = 24h * 365 * 100;
  login_throttle big{l};
  ms previous = ms::zero();
  for (int i = 1; i <= 100000; ++i) {
    big.failure("ada", t0);
    auto w = big.wait("ada", t0);
    if (w < previous || w < ms::zero() || w > l.max_delay) {
      BOOST_ERROR("failure " << i << ": wait " << w.count() << " ms after "
                             << previous.count() << " ms");
      break;
    }
    previous = w;
  }
  BOOST_CHECK(previous > ms{24h});
  BOOST_CHECK(previous <= l.max_delay);
}

// max_keys = 0 once made prune() index an empty vector.
BOOST_AUTO_TEST_CASE(a_zero_key_bound_is_survived) {
  auto l = defaults();
  l.max_keys = 0;
  login_throttle t{l};
  for (int i = 0; i < 50; ++i)
    t.failure("k" + std::to_string(i), t0);
  BOOST_CHECK_LE(t.size(), 1u);
}

// An IPv6 client could rotate through the /64 it holds and escape the
// per-address count.
BOOST_AUTO_TEST_CASE(addresses_are_keyed_by_host_or_ipv6_prefix) {
  BOOST_CHECK_EQUAL(address_key("192.0.2.7"), "192.0.2.7");
  BOOST_CHECK_EQUAL(address_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
                    "2001:db8:1:2::/64");
  BOOST_CHECK_EQUAL(address_key("2001:db8:1:2::1"),
                    address_key("2001:db8:1:2:ffff::9"));
  BOOST_CHECK_NE(address_key("2001:db8:1:2::1"),
                 address_key("2001:db8:1:3::1"));
  BOOST_CHECK_EQUAL(address_key("::ffff:192.0.2.7"), "192.0.2.7");
  BOOST_CHECK_EQUAL(address_key("::1"), "::/64");
  BOOST_CHECK_EQUAL(address_key(""), "");
  BOOST_CHECK_EQUAL(address_key("not:an:address"), "not:an:address");
}

BOOST_AUTO_TEST_SUITE_END()
