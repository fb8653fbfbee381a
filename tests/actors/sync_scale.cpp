// Sync at the scale of real use, on whole nodes and CAF's deterministic
// scheduler: histories spanning thousands of distinct minutes converge
// through pages of a few messages with lost answers; a round that finds
// nothing new stays under 4 KiB after a day or a year of history; a hub
// that speaks only the crdt-example-app format is detected and used.

#include "tests/actors/sync_fixture.hpp"

using namespace crdt;
using namespace crdt::test;

namespace {

constexpr int64_t minute = 60000;
constexpr int64_t day = 1440 * minute;

// Messages of other nodes, one per chosen minute of the last `days` days,
// as a node might hold them after syncing elsewhere.
std::vector<message> history(std::mt19937& rng, int n, int64_t days) {
  std::uniform_int_distribution<int64_t> when{1, days * 1440};
  std::uniform_int_distribution<int> author{0, 5};
  std::vector<message> out;
  auto now = wall_clock_ms();
  for (int i = 0; i < n; ++i) {
    auto t = now - when(rng) * minute - static_cast<int64_t>(rng() % 60000);
    auto node = std::string(16, static_cast<char>('c' + author(rng)));
    auto id = make_ulid(t);
    out.push_back(
        {to_string(timestamp{t, static_cast<uint32_t>(i % 100), node}),
         "contacts", id, "first_name", value{"h" + std::to_string(i)}});
  }
  return out;
}

struct scale_fixture : sync_fixture {
  // Hands messages to a node as if they had arrived from elsewhere; with
  // `queued`, they also wait in its outbox (a local writer whose clock ran
  // behind).
  void receive(const node& n, std::vector<message> msgs, bool queued) {
    auto r = ask<size_t>(n.svc().applier, apply_atom::value,
                         incoming{{}, std::move(msgs), queued, {}, {}});
    BOOST_REQUIRE_MESSAGE(r, why(r));
  }

  // A hub holding 2,000 messages of the last 30 days, and a transport to
  // it.
  std::pair<node*, std::shared_ptr<fake_transport>>
  hub_with_history(std::mt19937& rng) {
    auto& hub = make_node("hub");
    receive(hub, history(rng, 2000, 30), false);
    return {&hub, std::make_shared<fake_transport>(*sys, hub.svc().hub, rng,
                                                   0.0, 0.0)};
  }

  // Stops `n`, starts it again on its database and runs one round.
  node& restart(const node& n, const std::string& path,
                std::shared_ptr<fake_transport> transport) {
    stop(n);
    auto& again = make_node_at(path, std::move(transport));
    sync_now(again);
    return again;
  }

  // Syncs every node until all tables and roots equal the hub's.
  bool settle(const node& hub, const std::vector<node*>& peers, int passes) {
    for (int pass = 0; pass < passes; ++pass) {
      for (auto* n : peers)
        sync_now(*n);
      auto want = dump(hub);
      bool same = true;
      for (auto* n : peers)
        same = same && dump(*n) == want && root(*n) == root(hub);
      if (same)
        return true;
    }
    return false;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(sync_scale_tests, scale_fixture)

BOOST_AUTO_TEST_CASE(long_histories_converge_through_small_pages_and_losses) {
  size_t minutes_total = 0;
  for (unsigned seed = 1; seed <= 100; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937 rng{seed};
      // Pages of about ten messages: every exchange takes many calls.
      auto [hub_ptr, transport, peers] = make_group(rng, 0.1, 0.2, 1500);
      auto& hub = *hub_ptr;
      std::vector<std::string> ids;
      std::set<int64_t> minutes;
      for (int step = 0; step < 30; ++step) {
        auto who = rng() % 4;
        auto& n = who == 3 ? hub : *peers[who];
        switch (rng() % 4) {
        case 0: {
          // A stretch of history, a minute per message, up to 30 days
          // back, in the outbox or only in the log (then only the
          // comparison of the tries can find it).
          auto msgs = history(rng, 250, 30);
          for (const auto& m : msgs)
            minutes.insert(parse_timestamp(m.timestamp)->millis / minute);
          receive(n, std::move(msgs), who != 3 && rng() % 2);
          break;
        }
        case 1:
          if (who != 3) {
            sync_now(n);
            break;
          }
          [[fallthrough]];
        default:
          write(n, random_change(rng, ids));
        }
      }
      minutes_total += minutes.size();
      transport->dup = 0.0;
      transport->drop = 0.0;
      BOOST_CHECK(settle(hub, peers, 6));
      for (auto* n : peers)
        BOOST_CHECK(status_of(*n).ok);
      clear();
    }
  }
  BOOST_TEST_MESSAGE("distinct minutes of history per seed, on average: "
                     << minutes_total / 100);
  BOOST_CHECK_GT(minutes_total / 100, 1000u);
}

BOOST_AUTO_TEST_CASE(a_hub_of_the_crdt_example_app_format_is_used_as_such) {
  std::mt19937 rng{11};
  auto& hub = make_node("hub");
  auto transport
      = std::make_shared<fake_transport>(*sys, hub.svc().hub, rng, 0.0, 0.0);
  transport->legacy = true;
  std::vector<node*> peers{&make_node("a", transport),
                           &make_node("b", transport)};
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i)
    write(*peers[i % 2], random_change(rng, ids));
  receive(*peers[0], history(rng, 200, 10), false);
  BOOST_CHECK(settle(hub, peers, 10));
  for (auto* n : peers) {
    auto st = status_of(*n);
    BOOST_CHECK(st.ok);
    BOOST_CHECK_EQUAL(st.protocol, "legacy");
  }
}

// A node remembers that the hub at its endpoint speaks only the
// crdt-example-app format, and starts the next time with its whole trie.
// It used to probe at every start with a one-node trie, which such a hub
// answers with the group's whole history. It still notices a hub that has
// learned the bounded exchange since.
BOOST_AUTO_TEST_CASE(a_restarted_node_does_not_fetch_a_legacy_hubs_history_again) {
  std::mt19937 rng{13};
  auto [hub, transport] = hub_with_history(rng);
  transport->legacy = true;
  auto path = dir.file("restarted.sqlite");
  auto* n = &make_node_at(path, transport);
  BOOST_REQUIRE(settle(*hub, {n}, 5));
  BOOST_CHECK_EQUAL(status_of(*n).protocol, "legacy");
  // One new message before the restart: the tries differ at its start.
  receive(*hub, history(rng, 1, 1), false);
  n = &restart(*n, path, transport);
  auto st = status_of(*n);
  BOOST_CHECK_MESSAGE(st.ok, st.error);
  BOOST_CHECK_EQUAL(st.protocol, "legacy");
  BOOST_CHECK_LE(st.messages_received, 10u); // not the 2,001 of the group
  BOOST_CHECK_EQUAL(root(*n), root(*hub));
  // The hub now speaks the bounded exchange too.
  transport->legacy = false;
  n = &restart(*n, path, transport);
  st = status_of(*n);
  BOOST_CHECK_MESSAGE(st.ok, st.error);
  BOOST_CHECK_EQUAL(st.protocol, "exchange");
  BOOST_CHECK_EQUAL(root(*n), root(*hub));
  // And is no longer taken for the other format: the next start's round
  // sends no whole trie.
  n = &restart(*n, path, transport);
  st = status_of(*n);
  BOOST_CHECK_MESSAGE(st.ok, st.error);
  BOOST_CHECK_LT(st.bytes_sent, 4096u);
}

// A node that once found the crdt-example-app format at its endpoint (a
// balancer with one older backend) keeps its stream cursor for the hubs
// that speak the bounded exchange. The first version of the remembered
// format was stored in the cursor's place: after a restart the stream
// started over and the whole history came again.
BOOST_AUTO_TEST_CASE(a_legacy_answer_keeps_the_stream_cursor) {
  std::mt19937 rng{17};
  auto [hub, transport] = hub_with_history(rng);
  auto path = dir.file("cursor.sqlite");
  auto* n = &make_node_at(path, transport);
  BOOST_REQUIRE(settle(*hub, {n}, 5));
  BOOST_REQUIRE_EQUAL(status_of(*n).protocol, "exchange");
  transport->legacy = true;
  sync_now(*n); // fails: the other format in the middle of an exchange
  sync_now(*n); // probes: the crdt-example-app format
  BOOST_CHECK_EQUAL(status_of(*n).protocol, "legacy");
  transport->legacy = false;
  n = &restart(*n, path, transport);
  auto st = status_of(*n);
  BOOST_CHECK_MESSAGE(st.ok, st.error);
  BOOST_CHECK_EQUAL(st.protocol, "exchange");
  BOOST_CHECK_EQUAL(st.messages_received, 0u); // not the 2,000 again
  BOOST_CHECK_EQUAL(root(*n), root(*hub));
}

// The remembered format survives a hub that cannot be reached (a node that
// starts before its network is up): any failed first call used to clear
// it, and the next round's one-node probe fetched the whole history. A
// hub that refuses the whole trie (413) does clear it, so that sync goes
// on, with a one-node probe.
BOOST_AUTO_TEST_CASE(a_legacy_hint_outlives_an_unreachable_hub) {
  std::mt19937 rng{23};
  auto [hub, transport] = hub_with_history(rng);
  transport->legacy = true;
  auto path = dir.file("offline.sqlite");
  auto* n = &make_node_at(path, transport);
  BOOST_REQUIRE(settle(*hub, {n}, 5));
  receive(*hub, history(rng, 1, 1), false);
  transport->down = true;
  n = &restart(*n, path, transport);
  BOOST_CHECK(!status_of(*n).ok);
  transport->down = false;
  sync_now(*n);
  auto st = status_of(*n);
  BOOST_CHECK_MESSAGE(st.ok, st.error);
  BOOST_CHECK_LE(st.messages_received, 10u); // not the 2,001 of the group
  // Refused: the next round probes as a node that never knew the hub.
  receive(*hub, history(rng, 1, 1), false);
  transport->refuse = true;
  n = &restart(*n, path, transport);
  BOOST_CHECK(!status_of(*n).ok);
  transport->refuse = false;
  sync_now(*n);
  st = status_of(*n);
  BOOST_CHECK_MESSAGE(st.ok, st.error);
  BOOST_CHECK_LT(st.bytes_sent, 4096u); // the one-node probe and page
  BOOST_CHECK_EQUAL(root(*n), root(*hub));
}

BOOST_AUTO_TEST_CASE(a_round_that_finds_nothing_new_stays_under_4_kib) {
  // A message a minute for a day, then for a year: the same history on the
  // hub and the node, the node's cursor at the hub's head.
  for (int64_t minutes : {int64_t{1440}, int64_t{525600}}) {
    BOOST_TEST_CONTEXT(minutes << " minutes") {
      auto hub_path = dir.file("quiet-hub" + std::to_string(minutes));
      auto node_path = dir.file("quiet-node" + std::to_string(minutes));
      std::string hub_id;
      uint64_t head = 0;
      auto now = wall_clock_ms() - minute;
      for (const auto& path : {hub_path, node_path}) {
        auto ws = open_writer(test_store(path), schemas);
        if (path == hub_path)
          hub_id = ws->node_id();
        for (int64_t from = 0; from < minutes; from += 20000) {
          write_batch b;
          for (int64_t m = from; m < std::min(minutes, from + 20000); ++m) {
            auto t = now - m * minute;
            b.messages.push_back(
                {to_string(timestamp{t, 0, "cccccccccccccccc"}), "notes",
                 "n" + std::to_string(m), "body", value{}});
          }
          auto c = ws->commit({&b});
          BOOST_REQUIRE_MESSAGE(c, why(c));
        }
        auto heads = ws->load_heads();
        BOOST_REQUIRE(heads);
        head = (*heads)[""];
        if (path == node_path)
          BOOST_REQUIRE(!ws->db().exec("INSERT INTO crdt_local(key, value) "
                                       "VALUES('sync_cursor', '"
                                       + hub_id + " " + std::to_string(head)
                                       + "')"));
      }
      auto& hub = make_node_at(hub_path);
      std::mt19937 rng{1};
      auto transport = std::make_shared<fake_transport>(*sys, hub.svc().hub,
                                                        rng, 0.0, 0.0);
      auto& n = make_node_at(node_path, transport);
      sync_now(n);
      auto st = status_of(n);
      BOOST_CHECK(st.ok);
      BOOST_CHECK_EQUAL(st.protocol, "exchange");
      BOOST_CHECK_EQUAL(st.calls, 1u);
      BOOST_CHECK_LE(st.bytes_sent + st.bytes_received, 4096u);
      BOOST_CHECK_EQUAL(root(n), root(hub));
      BOOST_TEST_MESSAGE(minutes << " minutes: a round that finds nothing new "
                                 << "sent " << st.bytes_sent
                                 << " bytes and received "
                                 << st.bytes_received);
      // One new message on the hub: one call, a few hundred bytes more.
      std::vector<std::string> ids;
      write(hub, random_change(rng, ids));
      sync_now(n);
      st = status_of(n);
      BOOST_CHECK(st.ok);
      BOOST_CHECK_LE(st.calls, 2u);
      BOOST_CHECK_LE(st.bytes_sent + st.bytes_received, 8192u);
      BOOST_CHECK_EQUAL(root(n), root(hub));
      clear();
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
