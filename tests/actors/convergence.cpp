// Randomized convergence of the real sync code: three nodes and a hub, each
// with its own SQLite file and the full actor pipeline, on CAF's
// deterministic test scheduler. The transport between nodes and hub is an
// in-process stand-in that can duplicate requests and lose answers.

#include "tests/actors/sync_fixture.hpp"

#include "protocol/schema_defs.hpp"

using namespace crdt;
using namespace crdt::test;

BOOST_FIXTURE_TEST_SUITE(convergence_tests, sync_fixture)

BOOST_AUTO_TEST_CASE(nodes_converge_whatever_the_order_duplicates_and_losses) {
  size_t total_rows = 0;
  for (unsigned seed = 1; seed <= 100; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937 rng{seed};
      auto [hub_ptr, transport, peers] = make_group(rng, 0.2, 0.2);
      auto& hub = *hub_ptr;
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
      heal(*transport, peers);
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

namespace {

// Defines table `table` with one field of `type` on node `n` (through the
// applier, like POST /schema); a refusal (the node already knows the field
// with another type) is fine.
void define(sync_fixture& f, const node& n, const std::string& table,
            const std::string& field, const std::string& type) {
  auto t = table_schema::parse(
      table, R"({"properties":{")" + field + R"(":{"type":")" + type + R"("}}})");
  BOOST_REQUIRE(t);
  std::vector<message> msgs;
  auto known = n.svc().catalog->definitions();
  for (auto& d : definitions_of(**t)) {
    auto it = known.find(table);
    if (it == known.end() || !it->second.count(d.column))
      msgs.push_back(message{{}, schema_dataset, d.table, d.column,
                             value{d.definition}});
  }
  if (msgs.empty())
    return;
  f.sys->spawn([&, msgs](caf::event_based_actor* self) {
    self->request(n.svc().applier, caf::infinite, define_atom::value, msgs)
        .then([](const std::string&) {},
              [](caf::error& err) { BOOST_CHECK(is(err, ec::conflict)); });
  });
  f.sched->run();
}

// Every table the node serves, rendered.
std::string dump_served(const node& n, const std::string& path) {
  auto tables = n.svc().catalog->tables();
  auto r = test::open_reader(path, *tables);
  auto d = dump_tables(r->db(), *tables);
  BOOST_REQUIRE(d);
  return *d;
}

std::string conflicts_of(const node& n) {
  std::string out;
  for (const auto& c : n.svc().catalog->conflicts())
    out += c.table + "." + c.field + " " + c.winner.timestamp + " over "
           + c.loser.timestamp + "\n";
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(schema_additions_interleaved_with_data_converge) {
  size_t defined = 0, conflicts = 0, rows = 0;
  for (unsigned seed = 1; seed <= 40; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937 rng{seed};
      auto [hub_ptr, transport, peers] = make_group(rng, 0.2, 0.2);
      auto& hub = *hub_ptr;
      std::vector<node*> all = peers;
      all.push_back(&hub);
      std::vector<std::string> contact_ids;
      std::uniform_int_distribution<int> op{0, 19};
      std::uniform_int_distribution<size_t> who{0, all.size() - 1};
      std::uniform_int_distribution<int> small{0, 2};
      int next_id = 0;
      for (int step = 0; step < 60; ++step) {
        auto& n = *all[who(rng)];
        bool is_hub = &n == &hub;
        int o = op(rng);
        if (o < 4) {
          // A new table or field; the same name may be given another type
          // on another node before they sync.
          define(*this, n, "d" + std::to_string(small(rng)),
                 "f" + std::to_string(small(rng)),
                 rng() % 2 ? "integer" : "string");
        } else if (o < 12) {
          // A record in a table this node knows, with values of the types
          // this node knows.
          auto tables = n.svc().catalog->tables();
          std::vector<table_ptr> dynamic;
          for (const auto& [name, t] : *tables)
            if (name[0] == 'd' && !t->fields().empty())
              dynamic.push_back(t);
          if (dynamic.empty())
            continue;
          const auto& t = dynamic[rng() % dynamic.size()];
          record_change c;
          c.kind = record_change::create;
          c.table = t->name();
          c.id = make_ulid(1700000000000 + next_id++);
          for (const auto& fld : t->fields())
            if (rng() % 3)
              c.fields.emplace_back(fld.name,
                                    fld.type == field_type::integer
                                        ? value{int64_t(rng() % 100)}
                                        : value{"v" + std::to_string(rng() % 100)});
          if (c.fields.empty())
            c.fields.emplace_back(t->fields().front().name,
                                  t->fields().front().type == field_type::integer
                                      ? value{int64_t{1}}
                                      : value{std::string{"v"}});
          write(n, c);
        } else if (o < 15) {
          write(n, random_change(rng, contact_ids));
        } else if (!is_hub) {
          sync_now(n);
        }
      }
      heal(*transport, peers);
      auto want_defs = hub.svc().catalog->definitions();
      auto want_conflicts = conflicts_of(hub);
      auto want = dump_served(hub, path_of(hub));
      defined += want_defs.size();
      conflicts += hub.svc().catalog->conflicts().size();
      rows += static_cast<size_t>(std::count(want.begin(), want.end(), '\n'));
      for (auto* n : peers) {
        auto defs = n->svc().catalog->definitions();
        BOOST_CHECK(defs.size() == want_defs.size());
        for (const auto& [table, cols] : want_defs)
          for (const auto& [col, w] : cols) {
            BOOST_REQUIRE(defs.count(table) && defs.at(table).count(col));
            BOOST_CHECK_EQUAL(defs.at(table).at(col).definition, w.definition);
            BOOST_CHECK_EQUAL(defs.at(table).at(col).timestamp, w.timestamp);
          }
        BOOST_CHECK_EQUAL(conflicts_of(*n), want_conflicts);
        BOOST_CHECK_EQUAL(dump_served(*n, path_of(*n)), want);
        BOOST_CHECK_EQUAL(root(*n), root(hub));
      }
      clear();
    }
  }
  BOOST_TEST_MESSAGE("tables " << defined << ", conflicts " << conflicts
                               << ", rows " << rows);
  // The seeds must exercise what the test is about.
  BOOST_CHECK_GT(defined, 40u);
  BOOST_CHECK_GT(conflicts, 5u);
  BOOST_CHECK_GT(rows, 400u);
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

// The same with a node that never stops writing: every call of its rounds
// races a local write, so its outbox is never empty when a round compares
// roots. Rounds used to repair only with nothing queued, so the new hub
// never got the node's older messages (nor a hub that syncs upstream its
// members' messages, which go up only by repair).
BOOST_AUTO_TEST_CASE(a_node_that_keeps_writing_still_refills_a_fresh_hub) {
  std::mt19937 rng{3};
  auto& old_hub = make_node("old");
  auto transport = std::make_shared<fake_transport>(*sys, old_hub.svc().hub,
                                                    rng, 0.0, 0.0);
  auto& n = make_node("n", transport);
  std::vector<std::string> ids;
  auto created = [&] {
    record_change c;
    c.kind = record_change::create;
    c.table = "contacts";
    c.id = make_ulid(1700000000000 + static_cast<int64_t>(ids.size()));
    c.fields.emplace_back("first_name",
                          value{"w" + std::to_string(ids.size())});
    ids.push_back(c.id);
    return c;
  };
  for (int i = 0; i < 5; ++i)
    write(n, created());
  sync_now(n);
  BOOST_REQUIRE_EQUAL(pending(n), 0u);
  auto& hub = make_node("new");
  transport->hub = hub.svc().hub;
  transport->during = [&] { write_later(n, created()); };
  sync_now(n); // the first round's stream finds nothing to pull or push
  for (int round = 0; round < 4; ++round) {
    sync_now(n);
    auto st = status_of(n);
    BOOST_REQUIRE_MESSAGE(st.ok, st.error);
    // Pushing what came during the round, then the check: a few calls, not
    // a chase until the round's call cap.
    BOOST_CHECK_LT(st.calls, 40u);
  }
  BOOST_CHECK_GT(pending(n), 0u); // still writing when the rounds ended
  auto got = dump(hub);
  for (int i = 0; i < 5; ++i)
    BOOST_CHECK_MESSAGE(got.find("\"w" + std::to_string(i) + "\"")
                            != std::string::npos,
                        "w" << i << " never reached the new hub");
  // Once the hub has everything, a busy node's check finds the tries equal
  // but for what it wrote since its last push: no repair.
  for (int round = 0; round < 3; ++round) {
    sync_now(n);
    auto st = status_of(n);
    BOOST_REQUIRE_MESSAGE(st.ok, st.error);
    BOOST_CHECK_LE(st.calls, 5u);
  }
  transport->during = nullptr;
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
