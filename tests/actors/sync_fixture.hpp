#pragma once

// What the sync tests share: whole nodes built by spawn_node on CAF's
// deterministic scheduler, each with its own SQLite file, and an
// in-process transport to a hub node that can duplicate requests, lose
// answers, or pose as a hub of the crdt-example-app format.

#include "app/node.hpp"
#include "protocol/error.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <caf/all.hpp>

#include "tests/support.hpp"

#include <boost/test/unit_test.hpp>

#include <random>

namespace crdt::test {

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
    if (during)
      during();
    if (down) {
      // The hub is unreachable: the call never leaves the node.
      done(make_error(ec::sync_failure, "connection refused"));
      return;
    }
    if (refuse) {
      // The hub (or a proxy before it) refuses every request as too large.
      done(make_error(ec::bad_request, "hub answered 413: too large"));
      return;
    }
    std::bernoulli_distribution dup_dist{dup}, drop_dist{drop};
    bool twice = dup_dist(rng_);
    bool lose = drop_dist(rng_);
    auto target = hub;
    // Posing as a hub of the crdt-example-app format: the hub never sees
    // that the node asked for the bounded exchange.
    if (legacy) {
      auto at = body.find(R"("protocol":2,)");
      if (at != std::string::npos)
        body.erase(at, 13);
    }
    sent += body.size();
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
  bool legacy = false;
  /// Every call fails before reaching the hub.
  bool down = false;
  /// Every call is answered 413.
  bool refuse = false;
  /// Runs as each call is made (e.g. a local write racing the round).
  std::function<void()> during;
  int calls = 0;
  size_t sent = 0;

private:
  caf::actor_system& sys_;
  std::mt19937& rng_;
};

struct sync_fixture : test::test_system {
  sync_fixture() : dir("sync") {
    schemas
        = test::make_schemas({{"contacts", R"({"type":"object","properties":{
          "first_name":{"type":"string"},"age":{"type":"integer"},
          "vip":{"type":"boolean"}}})"},
                              {"notes", R"({"type":"object","properties":{
          "body":{"type":["string","null"]}}})"}});
  }

  ~sync_fixture() {
    // Stop every actor (and drop pending timers) before the system goes.
    nodes.clear();
    drain();
    sys.reset();
  }

  /// A node with its own database, built by the composition root; with
  /// `transport`, it syncs through it (rounds run only when asked).
  node& make_node(const std::string& name,
                  std::shared_ptr<hub_transport> transport = nullptr,
                  uint32_t batch = 1000, size_t page_bytes = 512 * 1024,
                  const std::string& group = "g") {
    return make_node_at(dir.file(name + std::to_string(counter++) + ".sqlite"),
                        std::move(transport), batch, page_bytes, group);
  }

  /// The same, on a database file the test prepared.
  /// (`group`: its GROUP_ID; a hub of another group only relays "g".)
  node& make_node_at(const std::string& path,
                     std::shared_ptr<hub_transport> transport = nullptr,
                     uint32_t batch = 1000, size_t page_bytes = 512 * 1024,
                     const std::string& group = "g") {
    node_options o;
    o.store = test::test_store(path);
    o.schemas = schemas;
    // The fixture's tables are every node's own, not definitions that sync
    // (counts of messages stay those of the records); tests that define
    // tables do it through the applier.
    o.define_schema = false;
    o.info.group_id = group;
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
    o.sync_page_bytes = page_bytes;
    auto n = spawn_node(*sys, std::move(o));
    BOOST_REQUIRE_MESSAGE(n, test::why(n));
    paths.push_back(path);
    nodes.push_back(std::make_unique<node>(std::move(*n)));
    sched->run();
    return *nodes.back();
  }

  /// A hub and three nodes that sync through one in-process transport,
  /// which duplicates requests and loses answers at the given rates. Each
  /// node drains its outbox 1 to 8 messages a call, so that draining takes
  /// several calls.
  struct lossy_group {
    node* hub = nullptr;
    std::shared_ptr<fake_transport> transport;
    std::vector<node*> peers;
  };

  lossy_group make_group(std::mt19937& rng, double dup, double drop,
                         size_t page_bytes = 512 * 1024) {
    lossy_group g;
    g.hub = &make_node("hub");
    g.transport = std::make_shared<fake_transport>(*sys, g.hub->svc().hub, rng,
                                                   dup, drop);
    for (int i = 0; i < 3; ++i)
      g.peers.push_back(&make_node("n", g.transport, 1 + rng() % 8, page_bytes));
    return g;
  }

  /// Ends the losses and duplicates, then lets every node sync twice.
  void heal(fake_transport& transport, const std::vector<node*>& peers) {
    transport.dup = 0.0;
    transport.drop = 0.0;
    for (int pass = 0; pass < 2; ++pass)
      for (auto* n : peers)
        sync_now(*n);
  }

  const std::string& path_of(const node& n) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].get() == &n)
        return paths[i];
    BOOST_FAIL("unknown node");
    return paths.front();
  }

  void write(const node& n, const record_change& c) {
    write_later(n, c);
    sched->run();
  }

  /// The same, left to happen while the scheduler runs whatever else is
  /// under way (e.g. a sync round).
  void write_later(const node& n, const record_change& c) {
    sys->spawn([&, c](caf::event_based_actor* self) {
      self->request(n.svc().applier, caf::infinite, write_atom::value,
                    std::vector<record_change>{c})
          .then([](const std::string&) {},
                [](caf::error& err) { BOOST_FAIL(describe(err)); });
    });
  }

  void sync_now(const node& n) {
    caf::anon_send(n.svc().sync, sync_atom::value);
    sched->run();
  }

  /// Messages waiting in the node's outbox.
  uint64_t pending(const node& n) {
    auto p = ask<uint64_t>(n.svc().queue, status_atom::value);
    BOOST_REQUIRE(p);
    return *p;
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

  /// Stops one node; its database stays for make_node_at().
  void stop(const node& n) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].get() == &n) {
        nodes.erase(nodes.begin() + static_cast<std::ptrdiff_t>(i));
        paths.erase(paths.begin() + static_cast<std::ptrdiff_t>(i));
        drain();
        return;
      }
    BOOST_FAIL("unknown node");
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

inline record_change random_change(std::mt19937& rng,
                                   std::vector<std::string>& ids) {
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

} // namespace crdt::test
