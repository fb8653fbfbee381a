// The bounded exchange's pure parts: the range of a trie key, comparing
// and descending tries (a randomized check that the descent finds exactly
// the minutes that differ), and the wire codec in both directions.

#include "protocol/exchange.hpp"

#include "protocol/timestamp.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <random>
#include <set>

using namespace crdt;

namespace {

constexpr int64_t minute = 60000;
constexpr int64_t t0 = 1764000000000; // 2025-11-24T16:00:00.000Z

std::string stamp(int64_t millis, uint32_t counter = 0,
                  const std::string& node = "aaaaaaaaaaaaaaaa") {
  return to_string(timestamp{millis, counter, node});
}

void add(merkle_trie& t, const std::string& ts) {
  t.insert(ts, parse_timestamp(ts)->millis);
}

bool inside(const ts_range& r, const std::string& ts) {
  return r.after < ts && ts < r.before;
}

// Runs the whole descent between `mine` and `hub` as the sync client and
// hub would, and returns the ranges it decides to exchange.
std::vector<ts_range> descend_all(const merkle_trie& mine,
                                  const merkle_trie& hub, int* calls) {
  std::vector<ts_range> ranges;
  node_hashes frontier{{"", mine.hash()}};
  while (!frontier.empty()) {
    ++*calls;
    auto d = descend(mine, compare_nodes(hub, frontier));
    ranges.insert(ranges.end(), d.ranges.begin(), d.ranges.end());
    frontier = std::move(d.next);
  }
  return ranges;
}

} // namespace

BOOST_AUTO_TEST_SUITE(exchange_tests)

BOOST_AUTO_TEST_CASE(a_key_covers_its_minutes_and_nothing_else) {
  auto key = merkle_key(t0);
  auto r = range_of_prefix(key);
  int64_t first = t0 / minute * minute;
  BOOST_CHECK(inside(r, stamp(first)));
  BOOST_CHECK(inside(r, stamp(first + minute - 1, 0xFFFF, "ffffffffffffffff")));
  BOOST_CHECK(!inside(r, stamp(first - 1, 0xFFFF, "ffffffffffffffff")));
  BOOST_CHECK(!inside(r, stamp(first + minute)));
  // A shorter key covers 3^k minutes.
  auto wide = range_of_prefix(key.substr(0, key.size() - 2));
  BOOST_CHECK(inside(wide, stamp(first)));
  int64_t start = (t0 / minute / 9 * 9) * minute;
  BOOST_CHECK(inside(wide, stamp(start)));
  BOOST_CHECK(inside(wide, stamp(start + 9 * minute - 1)));
  BOOST_CHECK(!inside(wide, stamp(start + 9 * minute)));
  // The root covers everything.
  BOOST_CHECK(inside(range_of_prefix(""), stamp(0)));
  BOOST_CHECK(inside(range_of_prefix(""), stamp(t0 + 365LL * 86400000)));
}

BOOST_AUTO_TEST_CASE(equal_tries_end_the_comparison_at_the_root) {
  merkle_trie a, b;
  for (int i = 0; i < 100; ++i) {
    add(a, stamp(t0 + i * minute));
    add(b, stamp(t0 + i * minute));
  }
  BOOST_CHECK(compare_nodes(b, {{"", a.hash()}}).empty());
  int calls = 0;
  BOOST_CHECK(descend_all(a, b, &calls).empty());
  BOOST_CHECK_EQUAL(calls, 1);
}

BOOST_AUTO_TEST_CASE(a_subtree_one_side_lacks_is_exchanged_whole) {
  merkle_trie mine, hub;
  // A year of history here, none at the hub: one call, whole subtrees.
  for (int64_t m = 0; m < 525600; m += 997)
    add(mine, stamp(t0 - m * minute));
  int calls = 0;
  auto ranges = descend_all(mine, hub, &calls);
  BOOST_CHECK_EQUAL(calls, 1);
  BOOST_CHECK_LE(ranges.size(), 3u);
  // The hub has a subtree this node lacks: also one range.
  add(hub, stamp(t0 - 5 * minute, 7, "bbbbbbbbbbbbbbbb"));
  for (int64_t m = 0; m < 525600; m += 997)
    add(hub, stamp(t0 - m * minute));
  ranges = descend_all(mine, hub, &calls);
  BOOST_REQUIRE_EQUAL(ranges.size(), 1u);
  BOOST_CHECK(inside(ranges[0], stamp(t0 - 5 * minute, 7, "bbbbbbbbbbbbbbbb")));
}

BOOST_AUTO_TEST_CASE(the_descent_finds_exactly_the_minutes_that_differ) {
  for (unsigned seed = 1; seed <= 50; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937 rng{seed};
      std::uniform_int_distribution<int64_t> when{0, 40000};
      merkle_trie mine, hub;
      std::set<std::string> only_mine, only_hub;
      for (int i = 0; i < 2000; ++i) {
        auto ts = stamp(t0 - when(rng) * minute, static_cast<uint32_t>(i));
        switch (rng() % 10) {
        case 0:
          add(mine, ts);
          only_mine.insert(ts);
          break;
        case 1:
          add(hub, ts);
          only_hub.insert(ts);
          break;
        default:
          add(mine, ts);
          add(hub, ts);
        }
      }
      int calls = 0;
      auto ranges = descend_all(mine, hub, &calls);
      // Every message one side lacks lies in a range to exchange ...
      for (const auto* set : {&only_mine, &only_hub})
        for (const auto& ts : *set) {
          bool covered = false;
          for (const auto& r : ranges)
            covered = covered || inside(r, ts);
          BOOST_CHECK_MESSAGE(covered, ts << " is in no range");
        }
      // ... and every range holds one: nothing equal is exchanged.
      for (const auto& r : ranges) {
        bool needed = false;
        for (const auto* set : {&only_mine, &only_hub})
          for (const auto& ts : *set)
            needed = needed || inside(r, ts);
        BOOST_CHECK_MESSAGE(needed, r.after << " .. " << r.before);
      }
      // A level per call: 16 at most, plus the root.
      BOOST_CHECK_LE(calls, 17);
    }
  }
}

BOOST_AUTO_TEST_CASE(requests_and_answers_round_trip) {
  exchange_request req;
  req.group_id = "shop";
  req.client_id = "aaaaaaaaaaaaaaaa";
  req.messages = {{stamp(t0), "contacts", "r1", "first_name", value{"Ada"}}};
  req.after = 42;
  req.hub = "bbbbbbbbbbbbbbbb";
  req.compare = {{"", 7u}, {"1020", 0xFFFFFFFFu}};
  req.ranges = {range_of_prefix("10"), {stamp(t0), range_of_prefix("").before}};
  req.page = 4096;
  auto body = write_exchange_request(req, 0x80000000u);
  auto call = parse_sync_call(body);
  BOOST_REQUIRE(call);
  BOOST_REQUIRE(std::holds_alternative<exchange_request>(*call));
  const auto& back = std::get<exchange_request>(*call);
  BOOST_CHECK_EQUAL(back.group_id, "shop");
  BOOST_CHECK(back.messages == req.messages);
  BOOST_REQUIRE(back.after);
  BOOST_CHECK_EQUAL(*back.after, 42u);
  BOOST_CHECK_EQUAL(back.hub, req.hub);
  BOOST_CHECK(back.compare == req.compare);
  BOOST_CHECK(back.ranges == req.ranges);
  BOOST_CHECK_EQUAL(back.page, 4096u);
  // A hub of the crdt-example-app format reads the same body as an
  // ordinary request with a one-node trie.
  auto legacy = parse_sync_request(body);
  BOOST_REQUIRE(legacy);
  BOOST_CHECK_EQUAL(legacy->merkle.hash(), 0x80000000u);
  exchange_answer ans;
  ans.hub = "bbbbbbbbbbbbbbbb";
  ans.root = 123456789u;
  ans.head = 99;
  ans.next = 77;
  ans.more = true;
  ans.messages = req.messages;
  ans.children = {{"12", {5u, std::nullopt, 0u}}};
  ans.ranges = {range_of_prefix("2")};
  auto got = parse_sync_answer(write_exchange_answer(ans));
  BOOST_REQUIRE(got);
  BOOST_REQUIRE(std::holds_alternative<exchange_answer>(*got));
  const auto& a = std::get<exchange_answer>(*got);
  BOOST_CHECK_EQUAL(a.hub, ans.hub);
  BOOST_CHECK_EQUAL(a.root, ans.root);
  BOOST_CHECK_EQUAL(a.head, 99u);
  BOOST_CHECK_EQUAL(a.next, 77u);
  BOOST_CHECK(a.more);
  BOOST_CHECK(a.messages == ans.messages);
  BOOST_REQUIRE_EQUAL(a.children.size(), 1u);
  BOOST_CHECK(a.children[0].children == ans.children[0].children);
  BOOST_CHECK(a.ranges == ans.ranges);
  // An answer in the crdt-example-app format is told apart.
  auto old = parse_sync_answer(write_sync_response(req.messages, "{}"));
  BOOST_REQUIRE(old);
  BOOST_CHECK(std::holds_alternative<sync_response>(*old));
  // And a crdt-example-app request stays one.
  auto plain
      = parse_sync_call(write_sync_request("g", req.client_id, {}, "{}"));
  BOOST_REQUIRE(plain);
  BOOST_CHECK(std::holds_alternative<sync_request>(*plain));
}

BOOST_AUTO_TEST_CASE(bad_calls_are_refused) {
  auto base = std::string{R"({"group_id":"g","client_id":"aaaaaaaaaaaaaaaa",)"}
              + R"("protocol":2,)";
  for (std::string bad : {
           R"("after":-1})",
           R"("after":"7"})",
           R"("compare":[["3",1]]})",
           R"("compare":[["",1,2]]})",
           R"("compare":{}})",
           R"("ranges":[["a"]]})",
           R"("ranges":[[1,2]]})",
           R"("hub":7})",
           R"("page":-5})",
       }) {
    auto r = parse_sync_call(base + bad);
    BOOST_CHECK_MESSAGE(!r, "accepted " << bad);
  }
  std::string many = base + R"("compare":[)";
  for (int i = 0; i < 5000; ++i)
    many += std::string{i ? "," : ""} + R"(["",1])";
  BOOST_CHECK(!parse_sync_call(many + "]}"));
}

BOOST_AUTO_TEST_CASE(json_size_is_what_the_writer_writes) {
  std::vector<message> msgs{
      {stamp(t0), "contacts", "r1", "first_name",
       value{"Ada \"the\" \\ \n\x01 é"}},
      {stamp(t0), "contacts", "r1", "age", value{int64_t{-42}}},
      {stamp(t0), "contacts", "r1", "score", value{}},
  };
  for (const auto& m : msgs) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w{buf};
    write_message(w, m);
    BOOST_CHECK_EQUAL(json_size(m), buf.GetSize());
  }
  // Doubles are counted at their longest.
  message d{stamp(t0), "t", "r", "c", value{0.1}};
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  write_message(w, d);
  BOOST_CHECK_GE(json_size(d), buf.GetSize());
}

BOOST_AUTO_TEST_SUITE_END()
