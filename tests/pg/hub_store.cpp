// The hub's PostgreSQL store against a real PostgreSQL 15 server (the CTest
// entry starts one: tests/pg/run.py). Every test uses groups of its own, so
// they share one database.
//
// - storing is idempotent and the stream hands every message out once,
//   across byte-capped pages and across connections (hub processes);
// - the root and the compared children agree with an in-memory trie of the
//   same messages, for random histories and random comparisons;
// - a minute's range pages finer than a minute;
// - a batch committed late with an early timestamp still reaches a node
//   that pulled the stream in between (commit order is stream order);
// - values survive the trip (NUL bytes, extreme numbers, null);
// - schema creation is safe with several processes starting at once, and a
//   schema newer than the binary is refused.

#define BOOST_TEST_MODULE crdt_store_pg
#include <boost/test/unit_test.hpp>

#include "actors/relay.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "protocol/error.hpp"
#include "protocol/exchange.hpp"
#include "protocol/merkle.hpp"
#include "protocol/timestamp.hpp"
#include "storage/hub_store.hpp"
#include "storage/pg.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <future>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

using namespace crdt;

namespace {

std::string test_url() {
  const char* url = std::getenv("CRDT_TEST_PG_URL");
  if (!url || !*url)
    BOOST_FAIL("CRDT_TEST_PG_URL is not set: run these tests through "
               "tests/pg/run.py, which starts a PostgreSQL server");
  return url;
}

std::unique_ptr<pg_hub_store> open_store(const std::string& url = test_url()) {
  auto s = pg_hub_store::open(url, 10000);
  if (!s)
    BOOST_FAIL(describe(s.error()));
  return std::move(*s);
}

// A group name no other test (or earlier run) uses.
std::string fresh_group(const std::string& what) {
  static std::mt19937_64 rng{std::random_device{}()};
  return what + "-" + std::to_string(rng());
}

// A database of its own on the test server: an administrator's connection,
// its name and its URL (drop it with the connection when done).
std::tuple<std::unique_ptr<pg::connection>, std::string, std::string>
fresh_database(const std::string& what) {
  auto admin = pg::connection::open(test_url(), 0);
  if (!admin)
    BOOST_FAIL(describe(admin.error()));
  auto name = fresh_group(what);
  for (auto& c : name)
    if (c == '-')
      c = '_';
  if (auto err = (*admin)->exec("CREATE DATABASE " + name))
    BOOST_FAIL(describe(err));
  auto url = test_url();
  url = url.substr(0, url.rfind('/') + 1) + name;
  return {std::move(*admin), name, url};
}

message msg(int64_t millis, uint32_t counter, const std::string& node,
            value v = std::string{"x"}) {
  return {to_string(timestamp{millis, counter, node}), "people",
          "row-" + std::to_string(millis % 97), "name", std::move(v)};
}

constexpr int64_t jan_2026 = 1767225600000;

// Pulls the whole stream after `cursor` in pages of `page` bytes, as node
// `client` (whose own messages are left out).
std::vector<message> pull_all(pg_hub_store& s, const std::string& group,
                              std::string& hub, uint64_t& cursor,
                              size_t page = 1 << 20,
                              const std::string& client = "cccccccccccccccc") {
  std::vector<message> out;
  for (int guard = 0;; ++guard) {
    BOOST_REQUIRE(guard < 100000);
    exchange_request req;
    req.group_id = group;
    req.client_id = client;
    req.after = cursor;
    req.hub = hub;
    auto ans = s.exchange(group, req, page);
    if (!ans)
      BOOST_FAIL(describe(ans.error()));
    hub = ans->hub;
    cursor = ans->next;
    out.insert(out.end(), ans->messages.begin(), ans->messages.end());
    if (!ans->more)
      return out;
  }
}

std::set<std::string> stamps_of(const std::vector<message>& ms) {
  std::set<std::string> out;
  for (const auto& m : ms)
    out.insert(m.timestamp);
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(pg_hub_store_tests)

BOOST_AUTO_TEST_CASE(stores_once_and_streams_every_message_once) {
  auto a = open_store();
  auto b = open_store(); // another hub process
  auto group = fresh_group("stream");
  std::vector<message> all;
  for (int i = 0; i < 3000; ++i)
    all.push_back(msg(jan_2026 + int64_t{i % 500} * 60000 + i, 0,
                      i % 2 ? "aaaaaaaaaaaaaaaa" : "bbbbbbbbbbbbbbbb"));
  std::vector<message> first(all.begin(), all.begin() + 2000);
  std::vector<message> second(all.begin() + 1000, all.end()); // 1000 again
  BOOST_CHECK_EQUAL(*a->store(group, first), 2000u);
  BOOST_CHECK_EQUAL(*b->store(group, second), 1000u);
  BOOST_CHECK_EQUAL(*a->store(group, all), 0u);
  // Pages of 4 KiB, alternating between the two connections: a cursor of
  // one hub process is valid on the other.
  std::string hub;
  uint64_t cursor = 0;
  std::vector<message> got;
  for (int guard = 0;; ++guard) {
    BOOST_REQUIRE(guard < 10000);
    exchange_request req;
    req.group_id = group;
    req.client_id = "cccccccccccccccc";
    req.after = cursor;
    req.hub = hub;
    auto ans = (guard % 2 ? *b : *a).exchange(group, req, 4096);
    BOOST_REQUIRE(ans);
    if (!hub.empty())
      BOOST_REQUIRE_EQUAL(ans->hub, hub);
    hub = ans->hub;
    BOOST_REQUIRE_GE(ans->next, cursor);
    cursor = ans->next;
    got.insert(got.end(), ans->messages.begin(), ans->messages.end());
    if (!ans->more)
      break;
  }
  BOOST_CHECK_EQUAL(got.size(), all.size());
  BOOST_CHECK(stamps_of(got) == stamps_of(all));
  // The root is that of a trie of the same messages.
  merkle_trie trie;
  for (const auto& m : all)
    trie.insert(m.timestamp, parse_timestamp(m.timestamp)->millis);
  exchange_request head;
  head.group_id = group;
  auto ans = b->exchange(group, head, 4096);
  BOOST_REQUIRE(ans);
  BOOST_CHECK_EQUAL(ans->root, trie.hash());
  // Numbers were reserved for the 1000 repeated ones too (a gap).
  BOOST_CHECK_EQUAL(ans->head, 4000u);
  // A node's own messages are not sent back to it.
  hub.clear();
  cursor = 0;
  auto mine = pull_all(*a, group, hub, cursor, 1 << 20, "aaaaaaaaaaaaaaaa");
  BOOST_CHECK_EQUAL(mine.size(), 1500u);
  for (const auto& m : mine)
    BOOST_CHECK(m.timestamp.substr(m.timestamp.size() - 16)
                == "bbbbbbbbbbbbbbbb");
}

BOOST_AUTO_TEST_CASE(compared_children_agree_with_an_in_memory_trie) {
  auto s = open_store();
  std::mt19937 rng{42};
  for (int round = 0; round < 5; ++round) {
    auto group = fresh_group("compare");
    merkle_trie trie;
    std::vector<message> ms;
    // Spread over a year of distinct minutes.
    for (int i = 0; i < 2000; ++i) {
      int64_t t = jan_2026 + int64_t(rng() % (365 * 24 * 60)) * 60000
                  + rng() % 60000;
      ms.push_back(msg(t, rng() % 3, "aaaaaaaaaaaaaaaa"));
    }
    BOOST_REQUIRE(s->store(group, ms));
    for (const auto& m : ms)
      trie.insert(m.timestamp, parse_timestamp(m.timestamp)->millis);
    for (int q = 0; q < 50; ++q) {
      node_hashes theirs;
      for (int k = 0; k < 20; ++k) {
        // A key of the trie, or a random one; its true hash, or another.
        std::string key;
        auto depth = rng() % 17;
        const merkle_trie::node* n = &trie.root();
        for (size_t d = 0; d < depth; ++d) {
          auto c = rng() % 3;
          key += static_cast<char>('0' + c);
          n = n && n->children[c] ? n->children[c].get() : nullptr;
        }
        uint32_t h = n && rng() % 2 ? n->hash : static_cast<uint32_t>(rng());
        theirs.emplace_back(key, h);
      }
      exchange_request req;
      req.group_id = group;
      req.compare = theirs;
      auto ans = s->exchange(group, req, 1 << 20);
      BOOST_REQUIRE(ans);
      auto want = compare_nodes(trie, theirs);
      BOOST_REQUIRE_EQUAL(ans->children.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        BOOST_CHECK_EQUAL(ans->children[i].key, want[i].key);
        BOOST_CHECK(ans->children[i].children == want[i].children);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_minute_is_paged_finer_than_a_minute) {
  auto s = open_store();
  auto group = fresh_group("minute");
  std::vector<message> ms;
  for (uint32_t i = 0; i < 5000; ++i)
    ms.push_back(msg(jan_2026 + 7 * 60000 + i % 60000, i / 60000 + i % 7,
                     "aaaaaaaaaaaaaaaa"));
  // Counters collide for some; make the stamps unique.
  std::map<std::string, message> unique;
  for (auto& m : ms)
    unique.emplace(m.timestamp, m);
  ms.clear();
  for (auto& [k, m] : unique)
    ms.push_back(m);
  BOOST_REQUIRE(s->store(group, ms));
  auto minute = merkle_key(jan_2026 + 7 * 60000);
  exchange_request req;
  req.group_id = group;
  req.client_id = "cccccccccccccccc";
  req.ranges = {range_of_prefix(minute)};
  std::vector<message> got;
  int calls = 0;
  while (!req.ranges.empty()) {
    BOOST_REQUIRE(++calls < 10000);
    auto ans = s->exchange(group, req, 2048);
    BOOST_REQUIRE(ans);
    BOOST_REQUIRE(!ans->messages.empty());
    got.insert(got.end(), ans->messages.begin(), ans->messages.end());
    req.ranges = ans->ranges;
  }
  BOOST_CHECK_GT(calls, 50);
  BOOST_CHECK_EQUAL(got.size(), ms.size());
  BOOST_CHECK(stamps_of(got) == stamps_of(ms));
}

// A node restored from a backup lacks messages it had sent: repair asks
// for their ranges, and gets them although they are its own (the stream
// still leaves them out).
BOOST_AUTO_TEST_CASE(ranges_carry_the_callers_own_messages) {
  auto s = open_store();
  auto group = fresh_group("own");
  std::vector<message> ms;
  for (int i = 0; i < 20; ++i)
    ms.push_back(msg(jan_2026 + 9 * 60000 + i, 0,
                     i % 2 ? "aaaaaaaaaaaaaaaa" : "bbbbbbbbbbbbbbbb"));
  BOOST_REQUIRE(s->store(group, ms));
  exchange_request req;
  req.group_id = group;
  req.client_id = "aaaaaaaaaaaaaaaa";
  req.ranges = {range_of_prefix(merkle_key(jan_2026 + 9 * 60000))};
  auto ans = s->exchange(group, req, 1 << 20);
  BOOST_REQUIRE(ans);
  BOOST_CHECK(ans->ranges.empty());
  BOOST_CHECK(stamps_of(ans->messages) == stamps_of(ms));
  std::string hub;
  uint64_t cursor = 0;
  BOOST_CHECK_EQUAL(pull_all(*s, group, hub, cursor, 1 << 20,
                             "aaaaaaaaaaaaaaaa")
                        .size(),
                    10u);
}

BOOST_AUTO_TEST_CASE(a_late_commit_with_an_early_timestamp_is_not_missed) {
  auto group = fresh_group("late");
  auto first = open_store();  // hub process 1
  auto second = open_store(); // hub process 2
  auto node = open_store();   // where a node pulls from
  // Process 1 stores a recent message and stops just before its commit.
  std::promise<void> one_locked, one_go, two_locked, two_go;
  first->before_commit = [&] {
    one_locked.set_value();
    one_go.get_future().wait();
  };
  second->before_commit = [&] {
    two_locked.set_value();
    two_go.get_future().wait();
  };
  auto late = msg(jan_2026 + 3600000, 0, "aaaaaaaaaaaaaaaa");
  auto early = msg(jan_2026, 0, "bbbbbbbbbbbbbbbb"); // an hour older
  auto t1 = std::async(std::launch::async,
                       [&] { return first->store(group, {late}); });
  one_locked.get_future().wait();
  // Process 2 stores the early one meanwhile: it waits for the group.
  auto t2 = std::async(std::launch::async,
                       [&] { return second->store(group, {early}); });
  auto two_locked_f = two_locked.get_future();
  BOOST_CHECK(two_locked_f.wait_for(std::chrono::milliseconds(300))
              == std::future_status::timeout);
  std::string hub;
  uint64_t cursor = 0;
  BOOST_CHECK(pull_all(*node, group, hub, cursor).empty());
  // Process 1 commits; process 2 now holds the group, not yet committed.
  one_go.set_value();
  BOOST_CHECK_EQUAL(*t1.get(), 1u);
  two_locked_f.wait();
  auto got = pull_all(*node, group, hub, cursor);
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_CHECK_EQUAL(got[0].timestamp, late.timestamp);
  // The early-stamped message commits last: the node's next pull from its
  // cursor still brings it.
  two_go.set_value();
  BOOST_CHECK_EQUAL(*t2.get(), 1u);
  got = pull_all(*node, group, hub, cursor);
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_CHECK_EQUAL(got[0].timestamp, early.timestamp);
  BOOST_CHECK_LT(early.timestamp, late.timestamp);
}

BOOST_AUTO_TEST_CASE(values_survive_the_trip) {
  auto s = open_store();
  auto group = fresh_group("values");
  std::vector<value> vs{value{},
                        value{int64_t{0}},
                        value{std::numeric_limits<int64_t>::min()},
                        value{std::numeric_limits<int64_t>::max()},
                        value{-0.0},
                        value{1e308},
                        value{std::string{}},
                        value{std::string{"a\0b\"\\{}", 7}},
                        value{std::string{"S:\xc3\xa9t\xc3\xa9"}}};
  std::vector<message> ms;
  for (size_t i = 0; i < vs.size(); ++i) {
    auto m = msg(jan_2026 + int64_t(i), 0, "aaaaaaaaaaaaaaaa", vs[i]);
    m.row = std::string{"r\0w", 3} + std::to_string(i);
    ms.push_back(m);
  }
  BOOST_REQUIRE(s->store(group, ms));
  std::string hub;
  uint64_t cursor = 0;
  auto got = pull_all(*s, group, hub, cursor);
  BOOST_REQUIRE_EQUAL(got.size(), ms.size());
  for (size_t i = 0; i < ms.size(); ++i)
    BOOST_CHECK(got[i] == ms[i]);
  BOOST_CHECK(std::signbit(std::get<double>(got[4].val))); // -0.0 stays
  BOOST_CHECK(!decode_value("x"));
  BOOST_CHECK(!decode_value("i123"));
}

BOOST_AUTO_TEST_CASE(legacy_clients_get_what_their_trie_lacks) {
  auto s = open_store();
  auto group = fresh_group("legacy");
  std::vector<message> ms;
  for (int i = 0; i < 300; ++i)
    ms.push_back(msg(jan_2026 + int64_t(i) * 60000, 0, "aaaaaaaaaaaaaaaa"));
  BOOST_REQUIRE(s->store(group, ms));
  merkle_trie empty;
  auto body = s->legacy(group, "cccccccccccccccc", {}, empty, 20000);
  BOOST_REQUIRE(body);
  auto ans = parse_sync_response(*body);
  BOOST_REQUIRE(ans);
  BOOST_CHECK_EQUAL(ans->messages.size(), 300u);
  // Holding the first 200, it gets the last 100 only.
  merkle_trie part;
  for (int i = 0; i < 200; ++i)
    part.insert(ms[i].timestamp, jan_2026 + int64_t(i) * 60000);
  body = s->legacy(group, "cccccccccccccccc", {}, part, 20000);
  BOOST_REQUIRE(body);
  ans = parse_sync_response(*body);
  BOOST_REQUIRE(ans);
  BOOST_CHECK_EQUAL(ans->messages.size(), 100u);
  BOOST_CHECK_EQUAL(ans->messages.front().timestamp, ms[200].timestamp);
  // With a limit, the answer still ends at the end of a minute: 50 from
  // minute 200 on, and the three others of the 50th's minute; the caller's
  // own messages are left out.
  std::vector<message> crowd;
  for (uint32_t c = 1; c <= 3; ++c)
    crowd.push_back(msg(jan_2026 + 249 * 60000, c, "bbbbbbbbbbbbbbbb"));
  crowd.push_back(msg(jan_2026 + 249 * 60000, 9, "cccccccccccccccc"));
  BOOST_REQUIRE(s->store(group, crowd));
  body = s->legacy(group, "cccccccccccccccc", {}, part, 50);
  BOOST_REQUIRE(body);
  ans = parse_sync_response(*body);
  BOOST_REQUIRE(ans);
  BOOST_CHECK_EQUAL(ans->messages.size(), 53u);
  for (const auto& m : ans->messages)
    BOOST_CHECK(m.timestamp.find("cccccccccccccccc") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(concurrent_writers_fill_the_stream_without_gaps) {
  // Four hub processes store random batches into one group while a node
  // pulls in small pages: every message arrives exactly once.
  auto group = fresh_group("stress");
  constexpr int writers = 4;
  constexpr int per_writer = 1500;
  std::vector<std::future<size_t>> done;
  for (int w = 0; w < writers; ++w)
    done.push_back(std::async(std::launch::async, [w, &group] {
      auto s = open_store();
      std::mt19937 rng(static_cast<unsigned>(w));
      std::string node(16, "def0"[w]); // not the reader's
      size_t stored = 0;
      for (int i = 0; i < per_writer;) {
        std::vector<message> batch;
        auto n = 1 + rng() % 100;
        for (size_t k = 0; k < n && i < per_writer; ++k, ++i)
          batch.push_back(msg(jan_2026 + int64_t(rng() % 100000) * 1000, i,
                              node));
        auto r = s->store(group, batch);
        BOOST_REQUIRE(r);
        stored += *r;
      }
      return stored;
    }));
  auto reader = open_store();
  std::string hub;
  uint64_t cursor = 0;
  std::vector<message> got;
  bool writing = true;
  while (writing) {
    writing = false;
    for (auto& f : done)
      writing = writing
                || f.wait_for(std::chrono::seconds(0))
                       != std::future_status::ready;
    auto page = pull_all(*reader, group, hub, cursor, 8192);
    got.insert(got.end(), page.begin(), page.end());
  }
  size_t stored = 0;
  for (auto& f : done)
    stored += f.get();
  auto rest = pull_all(*reader, group, hub, cursor);
  got.insert(got.end(), rest.begin(), rest.end());
  BOOST_CHECK_EQUAL(stored, size_t{writers * per_writer});
  BOOST_CHECK_EQUAL(got.size(), stored);
  BOOST_CHECK_EQUAL(stamps_of(got).size(), stored);
  BOOST_CHECK_EQUAL(cursor, stored); // numbers 1..n, no gap
}

BOOST_AUTO_TEST_CASE(failures_are_told_apart) {
  // A statement past the timeout: 503-worthy, the connection still usable.
  auto slow = pg::connection::open(test_url(), 100);
  BOOST_REQUIRE(slow);
  auto r = (*slow)->query("SELECT pg_sleep(1)", {});
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::timeout));
  BOOST_CHECK((*slow)->ok());
  // A connection the server ends (a restart, an administrator): unavailable,
  // and the connection is known to be broken.
  auto admin = pg::connection::open(test_url(), 0);
  BOOST_REQUIRE(admin);
  auto mine = (*slow)->query("SELECT pg_backend_pid()", {});
  BOOST_REQUIRE(mine);
  BOOST_REQUIRE(!(*admin)->exec("SELECT pg_terminate_backend("
                                + std::to_string(mine->integer(0, 0)) + ")"));
  r = (*slow)->query("SELECT 1", {});
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::unavailable));
  BOOST_CHECK(!(*slow)->ok());
  // A read-only server (a demoted primary): unavailable too, so that the
  // relay connects again.
  auto ro = pg::connection::open(test_url(), 0);
  BOOST_REQUIRE(ro);
  BOOST_REQUIRE(!(*ro)->exec("SET default_transaction_read_only = on"));
  auto w = (*ro)->query("CREATE TABLE never_made (x int)", {});
  BOOST_REQUIRE(!w);
  BOOST_CHECK(is(w.error(), ec::unavailable));
}

BOOST_AUTO_TEST_CASE(a_database_in_another_place_is_refused) {
  auto [admin, name, url] = fresh_database("place");
  BOOST_CHECK(pg_hub_store::open(url, 10000, 1, 2));
  BOOST_CHECK(pg_hub_store::open(url, 10000, 1, 2)); // the same again
  auto other = pg_hub_store::open(url, 10000, 0, 2);
  BOOST_REQUIRE(!other);
  BOOST_CHECK(describe(other.error()).find("number 2 of 2")
              != std::string::npos);
  BOOST_CHECK(!pg_hub_store::open(url, 10000, 1, 3));
  BOOST_CHECK(!admin->exec("DROP DATABASE " + name));
}

BOOST_AUTO_TEST_CASE(schema_is_created_once_and_a_newer_one_refused) {
  auto [admin, name, where] = fresh_database("db");
  const std::string url = where; // lambdas cannot capture a binding (C++17)
  // Four processes starting at once.
  std::vector<std::future<bool>> starts;
  for (int i = 0; i < 4; ++i)
    starts.push_back(std::async(std::launch::async, [&] {
      return static_cast<bool>(pg_hub_store::open(url, 10000));
    }));
  for (auto& f : starts)
    BOOST_CHECK(f.get());
  auto db = pg::connection::open(url, 0);
  BOOST_REQUIRE(db);
  auto v = (*db)->query("SELECT count(*), max(version) FROM crdt_hub_schema",
                        {});
  BOOST_REQUIRE(v);
  BOOST_CHECK_EQUAL(v->integer(0, 0), 1);
  BOOST_CHECK_EQUAL(v->integer(0, 1), hub_schema_version);
  BOOST_REQUIRE(!(*db)->exec("UPDATE crdt_hub_schema SET version = 99"));
  auto newer = pg_hub_store::open(url, 10000);
  BOOST_REQUIRE(!newer);
  BOOST_CHECK(describe(newer.error()).find("newer") != std::string::npos);
  db->reset();
  BOOST_CHECK(!admin->exec("DROP DATABASE " + name));
}

BOOST_AUTO_TEST_CASE(an_unreachable_database_is_unavailable) {
  // A port nothing listens on (the test server's, plus one, is free enough:
  // connection refused is what matters).
  auto r = pg_hub_store::open("postgresql://postgres@127.0.0.1:1/postgres",
                              1000);
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::unavailable));
}

BOOST_AUTO_TEST_CASE(a_relay_retries_a_call_on_a_new_connection_in_full) {
  // The relay actor: its connection is ended by the server (a restart, a
  // failover) between two calls; the second call is tried again on a new
  // connection, with every message it pushed.
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto health
      = std::make_shared<hub_database_health>(std::vector<std::string>{"db"});
  auto relay = sys.spawn<caf::detached>(crdt::relay, test_url(), int64_t{10000},
                                        health, size_t{0});
  caf::scoped_actor self{sys};
  auto group = fresh_group("retry");
  auto in_a_minute = [] {
    return static_cast<int64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            (std::chrono::steady_clock::now() + std::chrono::minutes(1))
                .time_since_epoch())
            .count());
  };
  auto call = [&](std::vector<message> msgs, int64_t deadline) {
    exchange_request req;
    req.group_id = group;
    req.client_id = "aaaaaaaaaaaaaaaa";
    req.messages = std::move(msgs);
    req.after = 0;
    caf::error failed;
    self->request(relay, caf::infinite, relay_atom::value, deadline, group,
                  req, uint64_t{1 << 20})
        .receive([&](std::string&) {},
                 [&](caf::error& err) { failed = std::move(err); });
    return failed;
  };
  // A call whose caller has given up is not run.
  auto late = call({msg(jan_2026 + 9, 0, "aaaaaaaaaaaaaaaa")}, 0);
  BOOST_CHECK(is(late, ec::timeout));
  BOOST_REQUIRE(!call({msg(jan_2026, 0, "aaaaaaaaaaaaaaaa")}, in_a_minute()));
  auto admin = pg::connection::open(test_url(), 0);
  BOOST_REQUIRE(admin);
  auto ended = (*admin)->query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
      "application_name = 'crdt-store' AND pid <> pg_backend_pid()",
      {});
  BOOST_REQUIRE(ended);
  BOOST_REQUIRE_GE(ended->rows(), 1);
  BOOST_REQUIRE(!call({msg(jan_2026 + 1, 0, "aaaaaaaaaaaaaaaa"),
                       msg(jan_2026 + 2, 0, "aaaaaaaaaaaaaaaa")},
                      in_a_minute()));
  auto s = open_store();
  std::string hub;
  uint64_t cursor = 0;
  BOOST_CHECK_EQUAL(pull_all(*s, group, hub, cursor).size(), 3u);
  BOOST_CHECK(health->snapshot()[0].ok);
  self->send_exit(relay, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_SUITE_END()
