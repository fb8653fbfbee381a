// The LWW property: one random set of messages (concurrent writers,
// duplicates, deletes, a field the schema does not know) committed to fresh
// stores in random orders and random batchings gives identical tables,
// identical merkle roots, and the values of a simple model.

#include "protocol/merkle.hpp"
#include "protocol/timestamp.hpp"
#include "storage/store.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

using namespace crdt;

namespace {

struct fixture {
  fixture() {
    dir = std::filesystem::temp_directory_path()
          / ("lww-" + random_node_id());
    std::filesystem::create_directories(dir);
    for (auto [name, text] :
         {std::pair{"contacts", R"({"type":"object","properties":{
            "first_name":{"type":"string"},"age":{"type":"integer"}}})"},
          std::pair{"notes", R"({"type":"object","properties":{
            "body":{"type":["string","null"]},"stars":{"type":"number"}}})"}})
      schemas.emplace(name, *table_schema::parse(name, text));
  }

  ~fixture() {
    std::filesystem::remove_all(dir);
  }

  std::unique_ptr<write_store> fresh() {
    store_options opts;
    opts.path = (dir / ("s" + std::to_string(n++) + ".sqlite")).string();
    opts.synchronous = "NORMAL";
    auto s = write_store::open(opts, schemas);
    BOOST_REQUIRE(s);
    return std::move(*s);
  }

  std::filesystem::path dir;
  schema_set schemas;
  int n = 0;
};

// Random messages from three writers with their own clocks.
std::vector<message> random_messages(std::mt19937& rng) {
  std::vector<hlc> writers(3);
  for (auto& w : writers)
    w.last.node = random_node_id();
  const std::vector<std::string> rows{"01JAR2HPE7JJS1HYQZ7FYK0S4A",
                                      "01JAR2HPE7JJS1HYQZ7FYK0S4B",
                                      "01JAR2HPE7JJS1HYQZ7FYK0S4C",
                                      "01JAR2HPE7JJS1HYQZ7FYK0S4D"};
  std::uniform_int_distribution<int> pick{0, 99};
  std::vector<message> out;
  int64_t now = 1764000000000;
  int count = 20 + pick(rng);
  for (int i = 0; i < count; ++i) {
    auto& w = writers[static_cast<size_t>(pick(rng) % 3)];
    // Writers' clocks drift a little apart; many writes share a millisecond.
    now += pick(rng) < 60 ? 0 : pick(rng) % 5;
    auto ts = send(w, now + (pick(rng) % 3));
    BOOST_REQUIRE(ts);
    message m;
    m.timestamp = to_string(*ts);
    m.row = rows[static_cast<size_t>(pick(rng)) % rows.size()];
    int what = pick(rng);
    if (what < 45) {
      m.dataset = "contacts";
      if (what < 25) {
        m.column = "first_name";
        m.val = value{"n" + std::to_string(pick(rng) % 7)};
      } else {
        m.column = "age";
        m.val = value{int64_t{pick(rng)}};
      }
    } else if (what < 85) {
      m.dataset = "notes";
      if (what < 65) {
        m.column = "body";
        m.val = pick(rng) < 20 ? value{} : value{"b" + std::to_string(pick(rng))};
      } else {
        m.column = "stars";
        m.val = value{pick(rng) / 10.0};
      }
    } else if (what < 95) {
      m.dataset = pick(rng) < 50 ? "contacts" : "notes";
      m.column = "tombstone";
      m.val = value{int64_t{pick(rng) % 2}};
    } else {
      m.dataset = "contacts";
      m.column = "shoe_size"; // unknown to the schema: logged, not applied
      m.val = value{int64_t{42}};
    }
    out.push_back(std::move(m));
  }
  // Exact duplicates, as a retried sync would deliver them.
  auto dups = out.size() / 5;
  for (size_t i = 0; i < dups; ++i)
    out.push_back(out[rng() % out.size()]);
  return out;
}

// The model: per (table, row, column) the value of the greatest timestamp.
std::map<std::tuple<std::string, std::string, std::string>, value>
model(const std::vector<message>& msgs) {
  std::map<std::tuple<std::string, std::string, std::string>,
           std::pair<std::string, value>>
    best;
  for (const auto& m : msgs) {
    auto key = std::make_tuple(m.dataset, m.row, m.column);
    auto it = best.find(key);
    if (it == best.end() || m.timestamp > it->second.first)
      best[key] = {m.timestamp, m.val};
  }
  std::map<std::tuple<std::string, std::string, std::string>, value> out;
  for (auto& [k, v] : best)
    out[k] = v.second;
  return out;
}

// Commits `msgs` in random groups of random batches.
void commit_randomly(write_store& s, std::vector<message> msgs,
                     std::mt19937& rng) {
  std::shuffle(msgs.begin(), msgs.end(), rng);
  size_t pos = 0;
  while (pos < msgs.size()) {
    std::vector<write_batch> batches;
    auto groups = 1 + rng() % 4;
    for (size_t g = 0; g < groups && pos < msgs.size(); ++g) {
      write_batch b;
      auto len = 1 + rng() % 7;
      for (size_t k = 0; k < len && pos < msgs.size(); ++k)
        b.messages.push_back(msgs[pos++]);
      batches.push_back(std::move(b));
    }
    std::vector<const write_batch*> ptrs;
    for (auto& b : batches)
      ptrs.push_back(&b);
    BOOST_REQUIRE(s.commit(ptrs));
  }
}

value read_cell(write_store& s, const std::string& table,
                const std::string& row, const std::string& column,
                bool& present) {
  auto st = s.db().prepare_once("SELECT \"" + column + "\" FROM \"" + table
                                + "\" WHERE id = ?1");
  BOOST_REQUIRE(st);
  st->bind(1, std::string_view{row});
  present = st->step() == SQLITE_ROW;
  return present ? st->column_value(0) : value{};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(lww_random_tests, fixture)

BOOST_AUTO_TEST_CASE(any_order_and_batching_gives_the_same_state) {
  size_t cells_checked = 0;
  for (unsigned seed = 1; seed <= 200; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937 rng{seed};
      auto msgs = random_messages(rng);
      auto want = model(msgs);
      std::string first_dump;
      uint32_t first_root = 0;
      for (int order = 0; order < 4; ++order) {
        auto s = fresh();
        commit_randomly(*s, msgs, rng);
        auto d = dump_tables(s->db(), schemas);
        auto trie = s->load_merkle();
        BOOST_REQUIRE(d && trie);
        if (order == 0) {
          first_dump = *d;
          first_root = trie->hash();
          // The root is the XOR of every distinct timestamp's hash.
          merkle_trie expected;
          std::set<std::string> seen;
          for (const auto& m : msgs)
            if (seen.insert(m.timestamp).second)
              expected.insert(m.timestamp, parse_timestamp(m.timestamp)->millis);
          BOOST_CHECK_EQUAL(trie->to_json(), expected.to_json());
          // Every known cell holds the model's value.
          for (const auto& [key, v] : want) {
            const auto& [table, row, column] = key;
            if (column == "shoe_size")
              continue;
            bool present = false;
            auto got = read_cell(*s, table, row, column, present);
            BOOST_CHECK(present);
            BOOST_CHECK(got == v);
            ++cells_checked;
          }
          // The unknown field is in the log, not in the table.
          auto unknown = s->db().prepare_once(
            "SELECT count(*) FROM crdt_messages WHERE col = 'shoe_size'");
          BOOST_REQUIRE(unknown && unknown->step() == SQLITE_ROW);
        } else {
          BOOST_CHECK_EQUAL(*d, first_dump);
          BOOST_CHECK_EQUAL(trie->hash(), first_root);
        }
      }
    }
  }
  BOOST_CHECK_GT(cells_checked, 2000u);
}

BOOST_AUTO_TEST_CASE(rebuild_from_the_log_equals_the_live_tables) {
  for (unsigned seed = 1; seed <= 30; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937 rng{seed};
      auto s = fresh();
      commit_randomly(*s, random_messages(rng), rng);
      auto live = dump_tables(s->db(), schemas);
      BOOST_REQUIRE(live);
      BOOST_CHECK(!live->empty());
      // Wreck the materialized view, then rebuild it from the log.
      BOOST_REQUIRE(!s->db().exec("DELETE FROM contacts; UPDATE notes SET "
                                  "body = 'garbage'; DELETE FROM crdt_cells"));
      BOOST_REQUIRE(!s->rebuild());
      auto rebuilt = dump_tables(s->db(), schemas);
      BOOST_REQUIRE(rebuilt);
      BOOST_CHECK_EQUAL(*rebuilt, *live);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
