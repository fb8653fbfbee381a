// Randomized convergence of the real sync code: three nodes and a hub, each
// with its own SQLite file and the full actor pipeline, on CAF's
// deterministic test scheduler. The transport between nodes and hub is an
// in-process stand-in that can duplicate requests and lose answers.

#include "app/node.hpp"
#include "protocol/error.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <caf/all.hpp>

#include "tests/support.hpp"

#include <boost/test/unit_test.hpp>

#include <random>

using namespace crdt;

namespace {

/// Delivers /sync bodies to a hub actor in-process. Each call may be sent
/// twice (a retried request) or lose its answer after the hub stored it;
/// the test may point it at another hub or calm it down at any time.
class fake_transport : public hub_transport {
public:
  fake_transport(caf::actor_system& sys, hub_actor hub, std::mt19937& rng,
                 double dup, double drop)
      : hub(std::move(hub)), dup(dup), drop(drop), sys_(sys), rng_(rng) {
    // nop
  }

  void post(const std::string&, std::string body,
            std::function<void(caf::expected<std::string>)> done) override {
    ++calls;
    std::bernoulli_distribution dup_dist{dup}, drop_dist{drop};
    bool twice = dup_dist(rng_);
    bool lose = drop_dist(rng_);
    auto target = hub;
    sys_.spawn([=](caf::event_based_actor* self) {
      if (twice)
        self->request(target, caf::infinite, sync_atom::value, body)
            .then([](const std::string&) {}, [](caf::error&) {});
      self->request(target, caf::infinite, sync_atom::value, body)
          .then(
              [=](const std::string& answer) {
                if (lose)
                  done(make_error(ec::sync_failure, "answer lost"));
                else
                  done(answer);
              },
              [=](caf::error& err) { done(err); });
    });
  }

  hub_actor hub;
  double dup;
  double drop;
  int calls = 0;

private:
  caf::actor_system& sys_;
  std::mt19937& rng_;
};

struct fixture : test::test_system {
  fixture() : dir("convergence") {
    schemas
        = test::make_schemas({{"contacts", R"({"type":"object","properties":{
          "first_name":{"type":"string"},"age":{"type":"integer"},
          "vip":{"type":"boolean"}}})"},
                              {"notes", R"({"type":"object","properties":{
          "body":{"type":["string","null"]}}})"}});
  }

  ~fixture() {
    // Stop every actor (and drop pending timers) before the system goes.
    nodes.clear();
    drain();
    sys.reset();
  }

  /// A node with its own database, built by the composition root; with
  /// `transport`, it syncs through it (rounds run only when asked).
  node& make_node(const std::string& name,
                  std::shared_ptr<hub_transport> transport = nullptr,
                  uint32_t batch = 1000) {
    node_options o;
    auto path = dir.file(name + std::to_string(counter++) + ".sqlite");
    o.store = test::test_store(path);
    o.schemas = schemas;
    o.info.group_id = "g";
    o.readers = 1;
    o.write_queue_limit = 1000000;
    o.detach = false;
    if (transport) {
      o.declared_sync = {{"SYNC_ENABLED", "true"},
                         {"SYNC_ENDPOINT", "http://hub.invalid"},
                         {"SYNC_TIMER_MS", "3600000"},
                         {"SYNC_BACKOFF_MAX_MS", "3600000"}};
      o.transport = std::move(transport);
    }
    o.sync_batch = batch;
    auto n = spawn_node(*sys, std::move(o));
    BOOST_REQUIRE_MESSAGE(n, test::why(n));
    paths.push_back(path);
    nodes.push_back(std::make_unique<node>(std::move(*n)));
    sched->run();
    return *nodes.back();
  }

  const std::string& path_of(const node& n) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].get() == &n)
        return paths[i];
    BOOST_FAIL("unknown node");
    return paths.front();
  }

  void write(const node& n, const record_change& c) {
    sys->spawn([&, c](caf::event_based_actor* self) {
      self->request(n.svc().applier, caf::infinite, write_atom::value,
                    std::vector<record_change>{c})
          .then([](const std::string&) {},
                [](caf::error& err) { BOOST_FAIL(describe(err)); });
    });
    sched->run();
  }

  void sync_now(const node& n) {
    caf::anon_send(n.svc().sync, sync_atom::value);
    sched->run();
  }

  sync_status status_of(const node& n) {
    auto s = ask<sync_status>(n.svc().sync, status_atom::value);
    BOOST_REQUIRE(s);
    return *s;
  }

  std::string dump(const node& n) {
    auto r = test::open_reader(path_of(n), schemas);
    auto d = dump_tables(r->db(), schemas);
    BOOST_REQUIRE(d);
    return *d;
  }

  /// The root of the trie the node persisted, checked against the one its
  /// clock holds.
  uint32_t root(const node& n) {
    auto r = test::open_reader(path_of(n), schemas);
    auto s
        = r->db().prepare_once("SELECT hash FROM crdt_merkle WHERE key = ''");
    BOOST_REQUIRE(s);
    auto stored = s->step() == SQLITE_ROW
                      ? static_cast<uint32_t>(s->column_int(0))
                      : 0u;
    auto st = ask<clock_status>(n.svc().clock, status_atom::value);
    BOOST_REQUIRE(st);
    BOOST_CHECK_EQUAL(static_cast<uint32_t>(st->merkle_hash), stored);
    return stored;
  }

  /// Stops every node of the test so far.
  void clear() {
    nodes.clear();
    paths.clear();
    drain();
  }

  test::temp_dir dir;
  schema_set schemas;
  int counter = 0;
  std::vector<std::unique_ptr<node>> nodes;
  std::vector<std::string> paths;
};

record_change random_change(std::mt19937& rng, std::vector<std::string>& ids) {
  std::uniform_int_distribution<int> pick{0, 9};
  record_change c;
  int what = ids.empty() ? 0 : pick(rng);
  if (what < 4) {
    c.kind = record_change::create;
    c.id = make_ulid(1700000000000 + static_cast<int64_t>(ids.size()));
    ids.push_back(c.id);
  } else {
    c.kind = what < 8 ? record_change::update : record_change::remove;
    c.id = ids[std::uniform_int_distribution<size_t>{0, ids.size() - 1}(rng)];
  }
  bool note = c.id.back() < 'M';
  c.table = note ? "notes" : "contacts";
  if (c.kind != record_change::remove) {
    if (note) {
      c.fields.emplace_back(
          "body",
          pick(rng) < 2 ? value{} : value{"b" + std::to_string(pick(rng))});
    } else {
      c.fields.emplace_back("first_name",
                            value{"n" + std::to_string(pick(rng))});
      if (pick(rng) < 5)
        c.fields.emplace_back("age", value{int64_t{pick(rng)}});
      if (pick(rng) < 5)
        c.fields.emplace_back("vip", value{int64_t{pick(rng) % 2}});
    }
  }
  return c;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(convergence_tests, fixture)

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
