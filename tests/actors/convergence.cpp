// Randomized convergence of the real sync code: three nodes and a hub, each
// with its own SQLite file and the full actor pipeline, on CAF's
// deterministic test scheduler. The transport between nodes and hub is an
// in-process stand-in that can duplicate requests and lose answers.

#include "actors/applier.hpp"
#include "actors/clock.hpp"
#include "actors/hub.hpp"
#include "actors/queue.hpp"
#include "actors/reader.hpp"
#include "actors/sync.hpp"
#include "actors/writer.hpp"
#include "protocol/error.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "tests/actors/test_system.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <random>

using namespace crdt;

namespace {

/// Delivers /sync bodies to a hub actor in-process. Each call may be sent
/// twice (a retried request) or lose its answer after the hub stored it.
class fake_transport : public hub_transport {
public:
  fake_transport(caf::actor_system& sys, hub_actor hub, std::mt19937& rng,
                 double dup, double drop)
    : sys_(sys), hub_(std::move(hub)), rng_(rng), dup_(dup), drop_(drop) {
    // nop
  }

  void post(const std::string&, std::string body,
            std::function<void(caf::expected<std::string>)> done) override {
    ++calls;
    std::bernoulli_distribution dup{dup_}, drop{drop_};
    bool twice = dup(rng_);
    bool lose = drop(rng_);
    auto hub = hub_;
    sys_.spawn([=](caf::event_based_actor* self) {
      if (twice)
        self->request(hub, caf::infinite, sync_atom::value, body)
          .then([](const http_reply&) {});
      self->request(hub, caf::infinite, sync_atom::value, body)
        .then(
          [=](const http_reply& r) {
            if (lose)
              done(make_error(ec::sync_failure, "answer lost"));
            else if (r.status != 200)
              done(make_error(ec::sync_failure, r.body));
            else
              done(r.body);
          },
          [=](caf::error& err) { done(err); });
    });
  }

  int calls = 0;

private:
  caf::actor_system& sys_;
  hub_actor hub_;
  std::mt19937& rng_;
  double dup_;
  double drop_;
};

/// One node: its database and its actors.
struct node {
  write_store* store = nullptr;
  clock_actor clock;
  writer_actor writer;
  reader_actor reader;
  queue_actor queue;
  applier_actor applier;
  sync_actor sync;
  hub_actor hub;
};

struct fixture : test::test_system {
  fixture() {
    dir = std::filesystem::temp_directory_path()
          / ("convergence-" + random_node_id());
    std::filesystem::create_directories(dir);
    for (auto [name, text] :
         {std::pair{"contacts", R"({"type":"object","properties":{
            "first_name":{"type":"string"},"age":{"type":"integer"},
            "vip":{"type":"boolean"}}})"},
          std::pair{"notes", R"({"type":"object","properties":{
            "body":{"type":["string","null"]}}})"}})
      schemas.emplace(name, *table_schema::parse(name, text));
  }

  ~fixture() {
    // Stop every actor (and drop pending timers) before the system goes.
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched->run();
    while (sched->trigger_timeouts() > 0)
      sched->run();
    spawned.clear();
    sys.reset();
    std::filesystem::remove_all(dir);
  }

  node make_node(const std::string& name) {
    node n;
    store_options opts;
    opts.path = (dir / (name + std::to_string(counter++) + ".sqlite")).string();
    opts.synchronous = "NORMAL";
    auto ws = write_store::open(opts, schemas);
    BOOST_REQUIRE(ws);
    auto trie = (*ws)->load_merkle();
    auto groups = (*ws)->load_hub_merkles();
    auto last = parse_timestamp((*ws)->clock());
    BOOST_REQUIRE(trie && groups && last);
    auto rs = read_store::open(opts.path, schemas);
    BOOST_REQUIRE(rs);
    n.store = ws->get();
    auto load = std::make_shared<std::atomic<size_t>>(0);
    n.clock = sys->spawn(
      crdt::clock, *last, int64_t{60000},
      std::make_shared<merkle_trie>(std::move(*trie)),
      std::make_shared<std::map<std::string, merkle_trie>>(std::move(*groups)));
    n.writer = sys->spawn(
      crdt::writer, std::make_shared<std::unique_ptr<write_store>>(std::move(*ws)),
      load, n.clock);
    n.reader = sys->spawn(
      crdt::reader, std::make_shared<std::unique_ptr<read_store>>(std::move(*rs)));
    n.queue = sys->spawn(crdt::queue, uint64_t{0}, n.reader, n.writer);
    n.applier = sys->spawn(crdt::applier, n.clock, n.writer, n.queue, load,
                           size_t{1000000});
    hub_state h;
    h.clock = n.clock;
    h.applier = n.applier;
    h.writer = n.writer;
    h.readers = {n.reader};
    h.group = "g";
    h.schemas = schemas;
    h.load = load;
    n.hub = sys->spawn(crdt::hub, std::move(h));
    for (caf::actor a : {caf::actor_cast<caf::actor>(n.clock),
                         caf::actor_cast<caf::actor>(n.writer),
                         caf::actor_cast<caf::actor>(n.reader),
                         caf::actor_cast<caf::actor>(n.queue),
                         caf::actor_cast<caf::actor>(n.applier),
                         caf::actor_cast<caf::actor>(n.hub)})
      spawned.push_back(a);
    return n;
  }

  void attach_sync(node& n, std::shared_ptr<hub_transport> transport,
                   uint32_t batch) {
    sync_state s;
    s.cfg.enabled = true;
    s.cfg.endpoint = "http://hub.invalid";
    s.cfg.timer_ms = 3600000; // rounds run only when the test asks
    s.cfg.backoff_max_ms = 3600000;
    s.cfg.group = "g";
    s.cfg.node_id = n.store->node_id();
    s.cfg.batch = batch;
    s.clock = n.clock;
    s.applier = n.applier;
    s.queue = n.queue;
    s.reader = n.reader;
    s.transport = std::move(transport);
    n.sync = sys->spawn(crdt::sync, std::move(s));
    spawned.push_back(caf::actor_cast<caf::actor>(n.sync));
  }

  sync_status status_of(const node& n) {
    sync_status out;
    sys->spawn([&](caf::event_based_actor* self) {
      self->request(n.sync, caf::infinite, status_atom::value)
        .then([&](const sync_status& s) { out = s; });
    });
    sched->run();
    return out;
  }

  std::string dump(const node& n) {
    auto d = dump_tables(n.store->db(), schemas);
    BOOST_REQUIRE(d);
    return *d;
  }

  uint32_t root(const node& n) {
    auto t = n.store->load_merkle();
    BOOST_REQUIRE(t);
    return t->hash();
  }

  std::filesystem::path dir;
  schema_set schemas;
  int counter = 0;
  std::vector<caf::actor> spawned;
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
      c.fields.emplace_back("body", pick(rng) < 2 ? value{}
                                                  : value{"b" + std::to_string(pick(rng))});
    } else {
      c.fields.emplace_back("first_name", value{"n" + std::to_string(pick(rng))});
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
      auto hub = make_node("hub");
      std::vector<node> nodes;
      auto transport = std::make_shared<fake_transport>(*sys, hub.hub, rng,
                                                        0.2, 0.2);
      for (int i = 0; i < 3; ++i) {
        nodes.push_back(make_node("n"));
        // Small outbox batches so that draining takes several calls.
        attach_sync(nodes.back(), transport, 1 + rng() % 8);
      }
      sched->run();
      std::vector<std::string> ids;
      std::uniform_int_distribution<int> op{0, 9};
      std::uniform_int_distribution<size_t> who{0, nodes.size()};
      for (int step = 0; step < 40; ++step) {
        auto i = who(rng);
        auto& n = i == nodes.size() ? hub : nodes[i];
        if (op(rng) < 7 || i == nodes.size()) {
          auto c = random_change(rng, ids);
          sys->spawn([&, c](caf::event_based_actor* self) {
            self->request(n.applier, caf::infinite, write_atom::value, c)
              .then([](const std::string&) {},
                    [](caf::error& err) { BOOST_FAIL(describe(err)); });
          });
        } else {
          caf::anon_send(n.sync, sync_atom::value);
        }
        sched->run();
      }
      // Heal: no more losses; every node syncs until nothing is left.
      auto calm = std::make_shared<fake_transport>(*sys, hub.hub, rng, 0.0,
                                                   0.0);
      for (auto& n : nodes)
        attach_sync(n, calm, 1000);
      sched->run();
      for (int pass = 0; pass < 2; ++pass)
        for (auto& n : nodes) {
          caf::anon_send(n.sync, sync_atom::value);
          sched->run();
        }
      auto want = dump(hub);
      auto want_root = root(hub);
      BOOST_CHECK(!want.empty());
      total_rows += static_cast<size_t>(std::count(want.begin(), want.end(), '\n'));
      for (auto& n : nodes) {
        BOOST_CHECK_EQUAL(dump(n), want);
        BOOST_CHECK_EQUAL(root(n), want_root);
        BOOST_CHECK(status_of(n).ok);
      }
    }
  }
  BOOST_TEST_MESSAGE("rows compared per node over all seeds: " << total_rows);
  BOOST_CHECK_GT(total_rows, 1000u);
}

BOOST_AUTO_TEST_CASE(a_fresh_hub_is_refilled_from_the_nodes_history) {
  std::mt19937 rng{7};
  auto old_hub = make_node("old");
  auto calm = std::make_shared<fake_transport>(*sys, old_hub.hub, rng, 0.0,
                                               0.0);
  std::vector<node> nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(make_node("n"));
    attach_sync(nodes.back(), calm, 1000);
  }
  sched->run();
  std::vector<std::string> ids;
  for (int step = 0; step < 90; ++step) {
    auto c = random_change(rng, ids);
    auto& n = nodes[static_cast<size_t>(step) % nodes.size()];
    sys->spawn([&, c](caf::event_based_actor* self) {
      self->request(n.applier, caf::infinite, write_atom::value, c)
        .then([](const std::string&) {},
              [](caf::error& err) { BOOST_FAIL(describe(err)); });
    });
    sched->run();
  }
  for (int pass = 0; pass < 2; ++pass)
    for (auto& n : nodes) {
      caf::anon_send(n.sync, sync_atom::value);
      sched->run();
    }
  // The hub is lost; a new, empty one takes its place. The nodes' outboxes
  // are empty, so only the reconciliation can bring the history back, a few
  // messages per call (batch 3).
  auto hub = make_node("new");
  auto fresh = std::make_shared<fake_transport>(*sys, hub.hub, rng, 0.0, 0.0);
  for (auto& n : nodes)
    attach_sync(n, fresh, 3);
  sched->run();
  for (int pass = 0; pass < 40; ++pass)
    for (auto& n : nodes) {
      caf::anon_send(n.sync, sync_atom::value);
      sched->run();
    }
  auto want = dump(nodes[0]);
  BOOST_CHECK(!want.empty());
  BOOST_CHECK_EQUAL(dump(hub), want);
  for (auto& n : nodes) {
    BOOST_CHECK_EQUAL(dump(n), want);
    BOOST_CHECK_EQUAL(root(n), root(hub));
  }
}

BOOST_AUTO_TEST_CASE(a_lying_hub_trips_the_diff_equals_since_guard) {
  auto a = make_node("a");
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
  attach_sync(a, t, 10);
  sched->run();
  caf::anon_send(a.sync, sync_atom::value);
  sched->run();
  auto st = status_of(a);
  BOOST_CHECK(!st.ok);
  BOOST_CHECK(st.error.find("still differ") != std::string::npos);
  // One call, one recursive call from the diff, then the guard: no loop.
  BOOST_CHECK_EQUAL(t->calls, 2);
}

BOOST_AUTO_TEST_SUITE_END()
