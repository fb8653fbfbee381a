// The LWW property: one random set of messages (concurrent writers with
// their own hybrid logical clocks, creates, patches and deletes over a few
// rows of two tables, exact duplicates, messages for a field and a table the
// schema does not know) committed to fresh stores in random orders and
// random batchings gives identical tables, identical merkle roots, and the
// values of an independent model: per cell, the value of the greatest
// timestamp.

#include "protocol/error.hpp"
#include "protocol/merkle.hpp"
#include "protocol/timestamp.hpp"
#include "storage/read_store.hpp"
#include "storage/write_store.hpp"

#include "tests/support.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <tuple>

using namespace crdt;

namespace {

constexpr unsigned seeds = 200;
constexpr int stores_per_seed = 4;

const std::vector<std::string>& row_ids() {
  static const std::vector<std::string> ids{
      "01JAR2HPE7JJS1HYQZ7FYK0S4A", "01JAR2HPE7JJS1HYQZ7FYK0S4B",
      "01JAR2HPE7JJS1HYQZ7FYK0S4C", "01JAR2HPE7JJS1HYQZ7FYK0S4D",
      "01JAR2HPE7JJS1HYQZ7FYK0S4E"};
  return ids;
}

// (table, row, column)
using cell_key = std::tuple<std::string, std::string, std::string>;

struct fixture {
  fixture() : dir("lww-random") {
    schemas
        = test::make_schemas({{"contacts", R"({"type":"object","properties":{
          "first_name":{"type":"string"},"age":{"type":"integer"},
          "vip":{"type":"boolean"}}})"},
                              {"notes", R"({"type":"object","properties":{
          "body":{"type":["string","null"]},"stars":{"type":"number"}}})"}});
  }

  std::unique_ptr<write_store> fresh() {
    auto opts
        = test::test_store(dir.file("s" + std::to_string(n++) + ".sqlite"));
    opts.cache_kib = 512;
    auto s = test::open_writer(opts, schemas);
    // Durability is not under test here: skip the fsyncs of the WAL
    // checkpoints, which dominate the run time of so many small stores.
    if (auto err = s->db().exec("PRAGMA synchronous=OFF"))
      BOOST_FAIL(describe(err));
    return s;
  }

  test::temp_dir dir;
  schema_set schemas;
  int n = 0;
};

/// A writer: a node id and its own clock, which reads physical time with
/// its own skew.
struct writer {
  hlc clock;
  int64_t skew = 0;
};

/// The random messages of one seed.
struct workload {
  std::vector<message> messages; // with duplicates, in generation order
  size_t distinct = 0;
  size_t unknown_field = 0;
  size_t unknown_table = 0;
};

workload generate(std::mt19937& rng) {
  auto pick = [&](int n) {
    return static_cast<int>(rng() % static_cast<unsigned>(n));
  };
  std::vector<writer> writers(2 + static_cast<size_t>(pick(3)));
  for (auto& w : writers) {
    // Distinct node ids, built as wire timestamps would carry them.
    w.clock.last.node = random_node_id();
    w.skew = pick(40) - 20;
  }
  workload out;
  int64_t now = 1764000000000 + pick(100000);
  auto stamp = [&](writer& w) {
    auto ts = send(w.clock, now + w.skew);
    if (!ts)
      BOOST_FAIL(describe(ts.error()));
    auto text = to_string(*ts);
    BOOST_REQUIRE_EQUAL(text.size(), timestamp_size);
    return text;
  };
  auto add = [&](writer& w, const std::string& table, const std::string& id,
                 const std::string& col, value v) {
    out.messages.push_back({stamp(w), table, id, col, std::move(v)});
  };
  auto random_value = [&](const std::string& table, const std::string& col) {
    if (col == "first_name")
      return value{"n" + std::to_string(pick(7))};
    if (col == "age")
      return value{int64_t{pick(120)}};
    if (col == "vip")
      return value{int64_t{pick(2)}};
    if (col == "body")
      return pick(5) == 0 ? value{} : value{"b" + std::to_string(pick(50))};
    BOOST_REQUIRE_EQUAL(table, "notes");
    return value{pick(50) / 4.0};
  };
  const std::map<std::string, std::vector<std::string>> fields{
      {"contacts", {"first_name", "age", "vip"}}, {"notes", {"body", "stars"}}};
  int ops = 15 + pick(40);
  for (int i = 0; i < ops; ++i) {
    auto& w
        = writers[static_cast<size_t>(pick(static_cast<int>(writers.size())))];
    // Time moves in small steps; many writes share a millisecond or a
    // minute; now and then a jump into a later minute.
    now += pick(10) == 0 ? 30000 + pick(60000) : pick(4);
    const std::string table = pick(2) ? "contacts" : "notes";
    const auto& id = row_ids()[static_cast<size_t>(pick(5))];
    const auto& cols = fields.at(table);
    int what = pick(100);
    if (what < 30) { // create: every field, then the system fields
      for (const auto& c : cols)
        add(w, table, id, c, random_value(table, c));
      add(w, table, id, "tombstone", value{int64_t{0}});
      // Writers of different organizations may create the same id while
      // apart: the first create must keep the record.
      add(w, table, id, "organization_id",
          value{"org-" + std::to_string(pick(3))});
      add(w, table, id, "created_by", value{"acct-" + std::to_string(pick(9))});
      add(w, table, id, "created_at", value{iso8601(now)});
      add(w, table, id, "updated_at", value{iso8601(now)});
    } else if (what < 75) { // patch: one or two fields
      auto n = 1 + pick(2);
      for (int k = 0; k < n; ++k) {
        const auto& c
            = cols[static_cast<size_t>(pick(static_cast<int>(cols.size())))];
        add(w, table, id, c, random_value(table, c));
      }
      add(w, table, id, "updated_at", value{iso8601(now)});
    } else if (what < 90) { // delete
      add(w, table, id, "tombstone", value{int64_t{1}});
      add(w, table, id, "updated_at", value{iso8601(now)});
    } else if (what < 96) { // a field this node's schema lacks
      add(w, table, id, "shoe_size", value{int64_t{pick(50)}});
      ++out.unknown_field;
    } else { // a table this node's schema lacks
      add(w, "gadgets", id, "name", value{"g" + std::to_string(pick(9))});
      ++out.unknown_table;
    }
  }
  out.distinct = out.messages.size();
  // Exact duplicates, as a retried sync delivers them.
  auto dups = 1 + out.distinct / 4;
  for (size_t i = 0; i < dups; ++i)
    out.messages.push_back(out.messages[rng() % out.distinct]);
  return out;
}

/// The model: per cell, the value of the message with the greatest
/// timestamp (the smallest for the creation facts), computed without
/// SQLite.
std::map<cell_key, value> model(const std::vector<message>& msgs) {
  std::map<cell_key, const message*> best;
  for (const auto& m : msgs) {
    auto& slot = best[cell_key{m.dataset, m.row, m.column}];
    bool first_wins = is_creation_field(m.column);
    if (!slot
        || (first_wins ? m.timestamp < slot->timestamp
                       : m.timestamp > slot->timestamp))
      slot = &m;
  }
  std::map<cell_key, value> out;
  for (const auto& [k, m] : best)
    out.emplace(k, m->val);
  return out;
}

/// Commits `msgs` in a random order as random batches, grouped into random
/// commit calls.
void commit_randomly(write_store& s, std::vector<message> msgs,
                     std::mt19937& rng) {
  std::shuffle(msgs.begin(), msgs.end(), rng);
  auto max_batch = 1 + rng() % 12;
  auto max_group = 1 + rng() % 5;
  size_t pos = 0;
  while (pos < msgs.size()) {
    std::vector<write_batch> batches(1 + rng() % max_group);
    for (auto& b : batches) {
      auto len = rng() % (max_batch + 1); // empty batches too
      for (size_t k = 0; k < len && pos < msgs.size(); ++k)
        b.messages.push_back(msgs[pos++]);
      b.enqueue = rng() % 2 == 0;
    }
    std::vector<const write_batch*> ptrs;
    for (auto& b : batches)
      ptrs.push_back(&b);
    auto res = s.commit(ptrs);
    if (!res)
      BOOST_FAIL(describe(res.error()));
  }
}

/// Every row of every user table as column -> value, keyed by (table, id).
std::map<std::pair<std::string, std::string>, std::map<std::string, value>>
read_tables(write_store& s, const schema_set& schemas) {
  std::map<std::pair<std::string, std::string>, std::map<std::string, value>>
      out;
  for (const auto& [name, t] : schemas) {
    auto st = s.db().prepare_once("SELECT * FROM \"" + name + "\"");
    if (!st)
      BOOST_FAIL(describe(st.error()));
    auto n = sqlite3_column_count(st->get());
    while (st->step() == SQLITE_ROW) {
      std::map<std::string, value> row;
      for (int i = 1; i < n; ++i)
        row.emplace(sqlite3_column_name(st->get(), i), st->column_value(i));
      out.emplace(std::make_pair(name, std::string{st->column_text(0)}),
                  std::move(row));
    }
  }
  return out;
}

std::string show(const value& v) {
  switch (v.index()) {
  case 0:
    return "null";
  case 1:
    return std::to_string(std::get<int64_t>(v));
  case 2:
    return std::to_string(std::get<double>(v));
  default:
    return '"' + std::get<std::string>(v) + '"';
  }
}

/// Checks a store's tables against the model: exactly the rows that some
/// message of a known column touched, each column holding the model's
/// value or NULL when no message set it.
size_t check_model(write_store& s, const schema_set& schemas,
                   const std::map<cell_key, value>& want) {
  auto got = read_tables(s, schemas);
  std::map<std::pair<std::string, std::string>, std::map<std::string, value>>
      expected;
  for (const auto& [key, v] : want) {
    const auto& [table, id, col] = key;
    auto t = schemas.find(table);
    if (t == schemas.end())
      continue; // unknown table: logged only
    if (!is_system_field(col) && !t->second->find(col))
      continue; // unknown field: logged only
    expected[{table, id}][col] = v;
  }
  BOOST_CHECK_EQUAL(got.size(), expected.size());
  size_t cells = 0;
  for (const auto& [row, cols] : got) {
    auto e = expected.find(row);
    BOOST_CHECK_MESSAGE(e != expected.end(),
                        "unexpected row " << row.first << "/" << row.second);
    if (e == expected.end())
      continue;
    for (const auto& [col, v] : cols) {
      auto it = e->second.find(col);
      const value& w = it == e->second.end() ? value{} : it->second;
      BOOST_CHECK_MESSAGE(v == w, row.first << "/" << row.second << "." << col
                                            << " is " << show(v)
                                            << ", expected " << show(w));
      ++cells;
    }
  }
  return cells;
}

int64_t count(write_store& s, const std::string& sql) {
  auto st = s.db().prepare_once(sql);
  if (!st || st->step() != SQLITE_ROW)
    BOOST_FAIL("cannot run " + sql);
  return st->column_int(0);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(lww_random_tests, fixture)

BOOST_AUTO_TEST_CASE(any_order_and_batching_gives_the_same_state) {
  size_t cells_checked = 0, unknown_seen = 0, deleted_seen = 0;
  for (unsigned seed = 1; seed <= seeds; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937 rng{seed};
      auto work = generate(rng);
      auto want = model(work.messages);
      // The trie every store must end with: each distinct timestamp once.
      merkle_trie expected_trie;
      std::set<std::string> seen;
      for (const auto& m : work.messages)
        if (seen.insert(m.timestamp).second)
          expected_trie.insert(m.timestamp,
                               parse_timestamp(m.timestamp)->millis);
      BOOST_REQUIRE_EQUAL(seen.size(), work.distinct);
      std::string first_dump;
      uint32_t first_root = 0;
      for (int k = 0; k < stores_per_seed; ++k) {
        BOOST_TEST_CONTEXT("store " << k) {
          auto s = fresh();
          commit_randomly(*s, work.messages, rng);
          auto dump = dump_tables(s->db(), schemas);
          auto trie = s->load_merkle();
          BOOST_REQUIRE(dump);
          BOOST_REQUIRE(trie);
          if (k == 0) {
            first_dump = *dump;
            first_root = trie->hash();
            BOOST_CHECK_EQUAL(trie->to_json(), expected_trie.to_json());
            cells_checked += check_model(*s, schemas, want);
            // Every distinct message is logged once, unknown ones included.
            BOOST_CHECK_EQUAL(count(*s, "SELECT count(*) FROM crdt_messages"),
                              static_cast<int64_t>(work.distinct));
            BOOST_CHECK_EQUAL(
                count(*s, "SELECT count(*) FROM crdt_messages "
                          "WHERE col = 'shoe_size' OR dataset = 'gadgets'"),
                static_cast<int64_t>(work.unknown_field + work.unknown_table));
            unknown_seen += work.unknown_field + work.unknown_table;
            deleted_seen += static_cast<size_t>(count(
                *s, "SELECT (SELECT count(*) FROM contacts WHERE tombstone = 1)"
                    " + (SELECT count(*) FROM notes WHERE tombstone = 1)"));
          } else {
            BOOST_CHECK_EQUAL(*dump, first_dump);
            BOOST_CHECK_EQUAL(trie->hash(), first_root);
          }
        }
      }
    }
  }
  // The workload really exercised what it claims to.
  BOOST_CHECK_GT(cells_checked, 20u * seeds);
  BOOST_CHECK_GT(unknown_seen, seeds / 2);
  BOOST_CHECK_GT(deleted_seen, seeds / 2);
}

BOOST_AUTO_TEST_CASE(the_model_itself_picks_the_greatest_timestamp) {
  // Guards the oracle: a later-in-list but older message must not win.
  auto a = to_string(timestamp{1000, 0, "aaaaaaaaaaaaaaaa"});
  auto b = to_string(timestamp{1000, 1, "0000000000000000"});
  auto c = to_string(timestamp{999, 9, "zzzzzzzzzzzzzzzz"});
  auto m = model({{a, "t", "r", "c", value{int64_t{1}}},
                  {b, "t", "r", "c", value{int64_t{2}}},
                  {c, "t", "r", "c", value{int64_t{3}}}});
  BOOST_REQUIRE_EQUAL(m.size(), 1u);
  BOOST_CHECK((m.begin()->second == value{int64_t{2}}));
}

BOOST_AUTO_TEST_CASE(rebuild_from_the_log_equals_the_live_tables) {
  for (unsigned seed = 1; seed <= 30; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937 rng{seed * 7919};
      auto s = fresh();
      auto work = generate(rng);
      commit_randomly(*s, work.messages, rng);
      auto live = dump_tables(s->db(), schemas);
      BOOST_REQUIRE(live);
      BOOST_CHECK(!live->empty());
      // Wreck the materialized view, then rebuild it from the log.
      BOOST_REQUIRE(!s->db().exec("DELETE FROM contacts; UPDATE notes SET "
                                  "body = 'garbage'; DELETE FROM crdt_stamps"));
      BOOST_REQUIRE(!s->rebuild());
      auto rebuilt = dump_tables(s->db(), schemas);
      BOOST_REQUIRE(rebuilt);
      BOOST_CHECK_EQUAL(*rebuilt, *live);
      check_model(*s, schemas, model(work.messages));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
