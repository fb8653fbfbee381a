// Randomized convergence of the real sync code: three nodes and a hub, each
// with its own SQLite file and the full actor pipeline, on CAF's
// deterministic test scheduler. The transport between nodes and hub is an
// in-process stand-in that can duplicate requests and lose answers.

#include "tests/actors/sync_fixture.hpp"

using namespace crdt;
using namespace crdt::test;

BOOST_FIXTURE_TEST_SUITE(convergence_tests, sync_fixture)

BOOST_AUTO_TEST_CASE(nodes_converge_whatever_the_order_duplicates_and_losses) {
  size_t total_rows = 0;
  for (unsigned seed = 1; seed <= 100; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937 rng{seed};
      auto& hub = make_node("hub");
      auto transport = std::make_shared<fake_transport>(*sys, hub.svc().hub,
                                                        rng, 0.2, 0.2);
      std::vector<node*> peers;
      for (int i = 0; i < 3; ++i)
        // Small outbox batches so that draining takes several calls.
        peers.push_back(&make_node("n", transport, 1 + rng() % 8));
      std::vector<std::string> ids;
      std::uniform_int_distribution<int> op{0, 9};
      std::uniform_int_distribution<size_t> who{0, peers.size()};
      for (int step = 0; step < 40; ++step) {
        auto i = who(rng);
        auto& n = i == peers.size() ? hub : *peers[i];
        if (op(rng) < 7 || i == peers.size())
          write(n, random_change(rng, ids));
        else
          sync_now(n);
      }
      // Heal: no more losses; every node syncs until nothing is left.
      transport->dup = 0.0;
      transport->drop = 0.0;
      for (int pass = 0; pass < 2; ++pass)
        for (auto* n : peers)
          sync_now(*n);
      auto want = dump(hub);
      auto want_root = root(hub);
      BOOST_CHECK(!want.empty());
      total_rows
          += static_cast<size_t>(std::count(want.begin(), want.end(), '\n'));
      for (auto* n : peers) {
        BOOST_CHECK_EQUAL(dump(*n), want);
        BOOST_CHECK_EQUAL(root(*n), want_root);
        BOOST_CHECK(status_of(*n).ok);
      }
      clear();
    }
  }
  BOOST_TEST_MESSAGE("rows compared per node over all seeds: " << total_rows);
  BOOST_CHECK_GT(total_rows, 1000u);
}

BOOST_AUTO_TEST_CASE(a_fresh_hub_is_refilled_from_the_nodes_history) {
  std::mt19937 rng{7};
  auto& old_hub = make_node("old");
  // Outbox batches of 3: the refill below comes a few messages per call.
  auto transport = std::make_shared<fake_transport>(*sys, old_hub.svc().hub,
                                                    rng, 0.0, 0.0);
  std::vector<node*> peers;
  for (int i = 0; i < 3; ++i)
    peers.push_back(&make_node("n", transport, 3));
  std::vector<std::string> ids;
  for (int step = 0; step < 90; ++step)
    write(*peers[static_cast<size_t>(step) % peers.size()],
          random_change(rng, ids));
  for (int pass = 0; pass < 2; ++pass)
    for (auto* n : peers)
      sync_now(*n);
  // The hub is lost; a new, empty one takes its place. The nodes' outboxes
  // are empty, so only the reconciliation can bring the history back.
  auto& hub = make_node("new");
  transport->hub = hub.svc().hub;
  for (int pass = 0; pass < 40; ++pass)
    for (auto* n : peers)
      sync_now(*n);
  auto want = dump(*peers[0]);
  BOOST_CHECK(!want.empty());
  BOOST_CHECK_EQUAL(dump(hub), want);
  for (auto* n : peers) {
    BOOST_CHECK_EQUAL(dump(*n), want);
    BOOST_CHECK_EQUAL(root(*n), root(hub));
  }
}

BOOST_AUTO_TEST_CASE(a_lying_hub_trips_the_diff_equals_since_guard) {
  // A hub that claims a message in a minute nobody wrote in, forever.
  struct liar : hub_transport {
    void post(const std::string&, std::string,
              std::function<void(caf::expected<std::string>)> done) override {
      ++calls;
      merkle_trie trie;
      trie.insert_hash(merkle_key(1700000000000), 12345);
      done(write_sync_response({}, trie.to_json()));
    }
    int calls = 0;
  };
  auto t = std::make_shared<liar>();
  auto& a = make_node("a", t, 10);
  sync_now(a);
  auto st = status_of(a);
  BOOST_CHECK(!st.ok);
  BOOST_CHECK(st.error.find("still differ") != std::string::npos);
  // One call, one recursive call from the diff, then the guard: no loop.
  BOOST_CHECK_EQUAL(t->calls, 2);
}

BOOST_AUTO_TEST_SUITE_END()
