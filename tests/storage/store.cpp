// The write and read sides of the SQLite store: opening and migrating,
// committing message batches (log, LWW cells, tables, trie, clock, outbox),
// rebuilding tables from the log, and rendering records for the API.

#include "storage/read_store.hpp"
#include "storage/write_store.hpp"

#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

using namespace crdt;

namespace {

const char* people_v1 = R"({"type":"object","properties":{
  "name":{"type":"string"}}})";
const char* people_v2 = R"({"type":"object","properties":{
  "name":{"type":"string"},"age":{"type":"integer"}}})";
const char* people_bad = R"({"type":"object","properties":{
  "name":{"type":"string"},"age":{"type":"string"}}})";
const char* pets_v1 = R"({"type":"object","properties":{
  "kind":{"type":"string"},"legs":{"type":"integer"}}})";
const char* items_schema = R"({"type":"object","properties":{
  "name":{"type":"string"},"qty":{"type":"integer"},"price":{"type":"number"},
  "active":{"type":"boolean"},"tags":{"type":"array"},
  "meta":{"type":"object"},"note":{"type":["string","null"]}}})";

const char* row = "01JAR2HPE7JJS1HYQZ7FYK0S4D";
const char* row_a = "01JAR2HPE7JJS1HYQZ7FYK0S4A";
const char* row_b = "01JAR2HPE7JJS1HYQZ7FYK0S4B";
const char* row_c = "01JAR2HPE7JJS1HYQZ7FYK0S4C";

constexpr int64_t t0 = 1764000000000; // 2025-11-24T16:00:00.000Z

struct fixture {
  fixture() {
    dir = std::filesystem::temp_directory_path()
          / ("store-tests-" + random_node_id());
    // Below a folder that does not exist yet: open() creates parents.
    opts.path = (dir / "sub" / "db.sqlite").string();
    opts.synchronous = "NORMAL";
  }

  ~fixture() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  schema_set
  schemas(std::initializer_list<std::pair<const char*, const char*>> xs) {
    schema_set out;
    for (auto [name, text] : xs) {
      auto t = table_schema::parse(name, text);
      if (!t)
        BOOST_FAIL(describe(t.error()));
      out.emplace(name, *t);
    }
    return out;
  }

  std::unique_ptr<write_store> open(const schema_set& s) {
    auto w = write_store::open(opts, s);
    if (!w)
      BOOST_FAIL(describe(w.error()));
    return std::move(*w);
  }

  std::unique_ptr<read_store> reader(const schema_set& s) {
    auto r = read_store::open(opts.path, s);
    if (!r)
      BOOST_FAIL(describe(r.error()));
    return std::move(*r);
  }

  static message msg(int64_t millis, const std::string& table,
                     const std::string& id, const std::string& col, value v,
                     const std::string& node = "aaaaaaaaaaaaaaaa",
                     uint32_t counter = 0) {
    return {to_string(timestamp{millis, counter, node}), table, id, col,
            std::move(v)};
  }

  static commit_summary commit(write_store& w, std::vector<message> msgs,
                               bool enqueue = false) {
    write_batch b;
    b.messages = std::move(msgs);
    b.enqueue = enqueue;
    auto res = w.commit({&b});
    if (!res)
      BOOST_FAIL(describe(res.error()));
    return std::move(*res);
  }

  static int64_t count(write_store& w, const std::string& sql) {
    auto s = w.db().prepare_once(sql);
    if (!s)
      BOOST_FAIL(describe(s.error()));
    if (s->step() != SQLITE_ROW)
      BOOST_FAIL("no row from: " + sql);
    return s->column_int(0);
  }

  // One cell of a user table as stored; `present` tells whether the row
  // exists.
  static value cell(write_store& w, const std::string& table,
                    const std::string& id, const std::string& col,
                    bool* present = nullptr) {
    auto s = w.db().prepare_once("SELECT \"" + col + "\" FROM \"" + table
                                 + "\" WHERE id = ?1");
    if (!s)
      BOOST_FAIL(describe(s.error()));
    s->bind(1, std::string_view{id});
    bool found = s->step() == SQLITE_ROW;
    if (present)
      *present = found;
    return found ? s->column_value(0) : value{};
  }

  static std::vector<std::string> columns(write_store& w,
                                          const std::string& table) {
    auto s = w.db().prepare_once("PRAGMA table_info(\"" + table + "\")");
    if (!s)
      BOOST_FAIL(describe(s.error()));
    std::vector<std::string> out;
    while (s->step() == SQLITE_ROW)
      out.emplace_back(s->column_text(1));
    return out;
  }

  static std::string dump(write_store& w, const schema_set& s) {
    auto d = dump_tables(w.db(), s);
    if (!d)
      BOOST_FAIL(describe(d.error()));
    return *d;
  }

  std::filesystem::path dir;
  store_options opts;
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

value text(const char* s) {
  return value{std::string{s}};
}

value integer(int64_t i) {
  return value{i};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(store_tests, fixture)

// -- open ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(open_creates_the_internal_tables_and_a_node_id) {
  auto w = open(schemas({{"people", people_v1}}));
  BOOST_CHECK(std::filesystem::exists(opts.path));
  std::set<std::string> tables;
  auto s = w->db().prepare_once(
    "SELECT name FROM sqlite_master WHERE type = 'table'");
  BOOST_REQUIRE(s);
  while (s->step() == SQLITE_ROW)
    tables.emplace(s->column_text(0));
  for (const char* t : {"crdt_messages", "crdt_cells", "crdt_merkle",
                        "crdt_clock", "crdt_outbox", "crdt_schema",
                        "crdt_hub_messages", "crdt_hub_merkle", "config_sync",
                        "people"})
    BOOST_CHECK_MESSAGE(tables.count(t) == 1, "missing table " << t);
  BOOST_CHECK((columns(*w, "people")
               == std::vector<std::string>{"id", "tombstone", "organization_id",
                                           "created_by", "updated_by",
                                           "created_at", "updated_at",
                                           "name"}));
  // 16 lower-case hex digits, stored in crdt_clock.
  const auto& node = w->node_id();
  BOOST_CHECK_EQUAL(node.size(), 16u);
  BOOST_CHECK_MESSAGE(node.find_first_not_of("0123456789abcdef")
                        == std::string::npos,
                      node);
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_clock"), 1);
  // A fresh clock reads as the epoch with this node's id.
  auto clock = parse_timestamp(w->clock());
  BOOST_REQUIRE(clock);
  BOOST_CHECK_EQUAL(clock->millis, 0);
  BOOST_CHECK_EQUAL(clock->node, node);
  // Nothing stored yet.
  BOOST_CHECK_EQUAL(w->load_merkle()->hash(), 0u);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 0u);
}

BOOST_AUTO_TEST_CASE(node_id_and_clock_persist_across_reopen) {
  auto s = schemas({{"people", people_v1}});
  std::string node, clock;
  {
    auto w = open(s);
    node = w->node_id();
    write_batch b;
    b.messages.push_back(msg(t0, "people", row, "name", text("a"), node));
    b.clock = b.messages[0].timestamp;
    BOOST_REQUIRE(w->commit({&b}));
    clock = b.clock;
    BOOST_CHECK_EQUAL(w->clock(), clock);
    // An older clock in a later batch does not move the persisted one back.
    write_batch older;
    older.messages.push_back(
      msg(t0 - 5000, "people", row, "name", text("b"), node));
    older.clock = older.messages[0].timestamp;
    BOOST_REQUIRE(w->commit({&older}));
    BOOST_CHECK_EQUAL(w->clock(), clock);
  }
  {
    auto w = open(s);
    BOOST_CHECK_EQUAL(w->node_id(), node);
    BOOST_CHECK_EQUAL(w->clock(), clock);
  }
  // Another file is another node.
  auto other = opts;
  other.path = (dir / "other.sqlite").string();
  auto w2 = write_store::open(other, s);
  BOOST_REQUIRE(w2);
  BOOST_CHECK_NE((*w2)->node_id(), node);
}

// -- commit -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_batch_is_logged_and_applied) {
  auto w = open(schemas({{"people", people_v2}}));
  write_batch b1, b2;
  b1.messages = {msg(t0, "people", row_a, "name", text("Ada")),
                 msg(t0 + 1, "people", row_a, "age", integer(36))};
  b2.messages = {msg(t0 + 2, "people", row_b, "name", text("Bob")),
                 msg(t0 + 3, "people", row_b, "tombstone", integer(0)),
                 msg(t0 + 4, "people", row_b, "age", value{})};
  auto res = w->commit({&b1, &b2});
  BOOST_REQUIRE(res);
  BOOST_CHECK_EQUAL(res->stored, 5u);
  BOOST_CHECK((res->stored_per_batch == std::vector<size_t>{2, 3}));
  BOOST_CHECK_EQUAL(res->enqueued, 0u);
  BOOST_CHECK(!res->deltas.empty());
  BOOST_CHECK(res->group_deltas.empty());
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages"), 5);
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_cells"), 5);
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM people"), 2);
  BOOST_CHECK(cell(*w, "people", row_a, "name") == text("Ada"));
  BOOST_CHECK(cell(*w, "people", row_a, "age") == integer(36));
  BOOST_CHECK(cell(*w, "people", row_b, "name") == text("Bob"));
  BOOST_CHECK(cell(*w, "people", row_b, "tombstone") == integer(0));
  BOOST_CHECK(cell(*w, "people", row_b, "age") == value{});
  // The log row keeps every part of the message.
  auto s = w->db().prepare_once(
    "SELECT ts, dataset, row_id, col, value FROM crdt_messages "
    "WHERE row_id = ?1 ORDER BY ts");
  BOOST_REQUIRE(s);
  s->bind(1, std::string_view{row_a});
  BOOST_REQUIRE_EQUAL(s->step(), SQLITE_ROW);
  BOOST_CHECK_EQUAL(s->column_text(0), b1.messages[0].timestamp);
  BOOST_CHECK_EQUAL(s->column_text(1), "people");
  BOOST_CHECK_EQUAL(s->column_text(2), row_a);
  BOOST_CHECK_EQUAL(s->column_text(3), "name");
  BOOST_CHECK(s->column_value(4) == text("Ada"));
}

BOOST_AUTO_TEST_CASE(duplicates_are_ignored) {
  auto w = open(schemas({{"people", people_v1}}));
  write_batch b;
  b.messages = {msg(t0, "people", row, "name", text("x")),
                msg(t0 + 1, "people", row_a, "name", text("y"))};
  b.enqueue = true;
  auto first = w->commit({&b});
  BOOST_REQUIRE(first);
  BOOST_CHECK_EQUAL(first->stored, 2u);
  BOOST_CHECK_EQUAL(first->enqueued, 2u);
  auto root = w->load_merkle()->hash();
  BOOST_CHECK_NE(root, 0u);
  auto again = w->commit({&b});
  BOOST_REQUIRE(again);
  BOOST_CHECK_EQUAL(again->stored, 0u);
  BOOST_CHECK_EQUAL(again->enqueued, 0u);
  BOOST_CHECK(again->deltas.empty());
  BOOST_CHECK((again->stored_per_batch == std::vector<size_t>{0}));
  BOOST_CHECK_EQUAL(w->load_merkle()->hash(), root);
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages"), 2);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 2u);
  // A duplicate within one batch and across two batches of one commit.
  write_batch c1, c2;
  auto m = msg(t0 + 2, "people", row_b, "name", text("z"));
  c1.messages = {m, m};
  c2.messages = {m};
  auto mixed = w->commit({&c1, &c2});
  BOOST_REQUIRE(mixed);
  BOOST_CHECK_EQUAL(mixed->stored, 1u);
  BOOST_CHECK((mixed->stored_per_batch == std::vector<size_t>{1, 0}));
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages"), 3);
  // A message that reuses a stored timestamp is the same message: ignored,
  // even with another value.
  auto clash = m;
  clash.val = text("other");
  BOOST_CHECK_EQUAL(commit(*w, {clash}).stored, 0u);
  BOOST_CHECK(cell(*w, "people", row_b, "name") == text("z"));
}

BOOST_AUTO_TEST_CASE(the_newest_message_of_a_cell_wins) {
  auto w = open(schemas({{"people", people_v2}}));
  // Newer first, then older: the older one is logged but changes nothing.
  commit(*w, {msg(t0 + 2000, "people", row, "name", text("new"))});
  auto late = commit(*w, {msg(t0 + 1000, "people", row, "name", text("old"))});
  BOOST_CHECK_EQUAL(late.stored, 1u);   // kept in the log for sync ...
  BOOST_CHECK(!late.deltas.empty());    // ... and in the trie ...
  BOOST_CHECK(cell(*w, "people", row, "name") == text("new")); // ... not applied
  // Older first, then newer: the newer one replaces the value.
  commit(*w, {msg(t0 + 1000, "people", row, "age", integer(1))});
  commit(*w, {msg(t0 + 3000, "people", row, "age", integer(2))});
  BOOST_CHECK(cell(*w, "people", row, "age") == integer(2));
  // Same millisecond: the counter decides, then the node id.
  commit(*w, {msg(t0 + 5000, "people", row, "name", text("c1"), "bbbbbbbbbbbbbbbb", 1),
              msg(t0 + 5000, "people", row, "name", text("c2"), "aaaaaaaaaaaaaaaa", 2)});
  BOOST_CHECK(cell(*w, "people", row, "name") == text("c2"));
  commit(*w, {msg(t0 + 5000, "people", row, "name", text("node"), "cccccccccccccccc", 2)});
  BOOST_CHECK(cell(*w, "people", row, "name") == text("node"));
  // Within one batch, order does not matter either.
  commit(*w, {msg(t0 + 9000, "people", row_a, "name", text("late")),
              msg(t0 + 8000, "people", row_a, "name", text("early"))});
  BOOST_CHECK(cell(*w, "people", row_a, "name") == text("late"));
  // Each cell is independent: a newer name does not undo the age.
  BOOST_CHECK(cell(*w, "people", row, "age") == integer(2));
  // The winning timestamp is recorded per cell.
  auto s = w->db().prepare_once(
    "SELECT ts FROM crdt_cells WHERE dataset = 'people' AND row_id = ?1 "
    "AND col = 'name'");
  BOOST_REQUIRE(s);
  s->bind(1, std::string_view{row_a});
  BOOST_REQUIRE_EQUAL(s->step(), SQLITE_ROW);
  BOOST_CHECK_EQUAL(s->column_text(0),
                    to_string(timestamp{t0 + 9000, 0, "aaaaaaaaaaaaaaaa"}));
}

BOOST_AUTO_TEST_CASE(unknown_tables_and_fields_are_logged_then_replayed) {
  {
    auto w = open(schemas({{"people", people_v1}}));
    auto res = commit(*w, {msg(t0, "people", row, "name", text("Ada")),
                           msg(t0 + 1, "people", row, "age", integer(36)),
                           msg(t0 + 2, "pets", row, "kind", text("cat")),
                           msg(t0 + 3, "pets", row, "kind", text("dog")),
                           msg(t0 + 4, "pets", row, "legs", integer(4))});
    BOOST_CHECK_EQUAL(res.stored, 5u);
    BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages"), 5);
    BOOST_CHECK((columns(*w, "people")
                 == std::vector<std::string>{"id", "tombstone",
                                             "organization_id", "created_by",
                                             "updated_by", "created_at",
                                             "updated_at", "name"}));
    BOOST_CHECK(columns(*w, "pets").empty()); // no such table
    BOOST_CHECK(cell(*w, "people", row, "name") == text("Ada"));
  }
  auto s = schemas({{"people", people_v2}, {"pets", pets_v1}});
  auto w = open(s); // migration adds people.age and pets, then replays
  BOOST_CHECK(cell(*w, "people", row, "age") == integer(36));
  BOOST_CHECK(cell(*w, "people", row, "name") == text("Ada"));
  BOOST_CHECK(cell(*w, "pets", row, "kind") == text("dog"));
  BOOST_CHECK(cell(*w, "pets", row, "legs") == integer(4));
  auto r = reader(s);
  auto pet = r->get("pets", row, "");
  BOOST_REQUIRE(pet);
  BOOST_CHECK_MESSAGE(contains(*pet, "\"kind\":\"dog\""), *pet);
  // Later messages for the new table apply as usual.
  commit(*w, {msg(t0 + 10, "pets", row, "legs", integer(3))});
  BOOST_CHECK(cell(*w, "pets", row, "legs") == integer(3));
}

// SPEC 6: a message for a field this node does not know "is kept in the log,
// not applied, and applied later if the schema gains that table or field".
// A field that is left out of the schema for a while and then comes back is
// such a case: the column still exists in SQLite, so migrate() sees nothing
// to add and replays nothing.
BOOST_AUTO_TEST_CASE(a_field_removed_and_restored_catches_up) {
  {
    auto w = open(schemas({{"people", people_v2}}));
    commit(*w, {msg(t0, "people", row, "name", text("Ada")),
                msg(t0 + 1, "people", row, "age", integer(36))});
  }
  {
    // Deployed without `age`: its messages are logged, not applied.
    auto w = open(schemas({{"people", people_v1}}));
    commit(*w, {msg(t0 + 100, "people", row, "age", integer(37))});
    BOOST_CHECK(cell(*w, "people", row, "age") == integer(36));
  }
  auto w = open(schemas({{"people", people_v2}}));
  BOOST_CHECK_MESSAGE(cell(*w, "people", row, "age") == integer(37),
                      "the message received while the field was unknown "
                      "was never applied");
}

BOOST_AUTO_TEST_CASE(a_table_removed_and_restored_catches_up) {
  {
    auto w = open(schemas({{"people", people_v1}, {"pets", pets_v1}}));
    commit(*w, {msg(t0, "pets", row, "kind", text("cat"))});
  }
  {
    // Deployed without `pets`: its messages are logged, not applied.
    auto w = open(schemas({{"people", people_v1}}));
    commit(*w, {msg(t0 + 100, "pets", row, "kind", text("dog")),
                msg(t0 + 101, "pets", row_a, "kind", text("owl"))});
  }
  auto w = open(schemas({{"people", people_v1}, {"pets", pets_v1}}));
  BOOST_CHECK_MESSAGE(cell(*w, "pets", row, "kind") == text("dog"),
                      "the message received while the table was unknown "
                      "was never applied");
  bool present = false;
  cell(*w, "pets", row_a, "kind", &present);
  BOOST_CHECK_MESSAGE(present, "a record created while the table was unknown "
                               "is missing");
}

BOOST_AUTO_TEST_CASE(the_persisted_trie_follows_the_log) {
  auto w = open(schemas({{"people", people_v1}}));
  std::vector<message> msgs;
  merkle_trie expected;
  for (int i = 0; i < 60; ++i) {
    // Spread over several minutes and two nodes, some in one millisecond.
    auto millis = t0 + i * 7919;
    msgs.push_back(msg(millis, "people", i % 2 ? row : row_a, "name",
                       value{std::to_string(i)},
                       i % 3 ? "aaaaaaaaaaaaaaaa" : "bbbbbbbbbbbbbbbb"));
    expected.insert(msgs.back().timestamp, millis);
  }
  // An unknown table's messages belong to the trie too.
  msgs.push_back(msg(t0 + 1, "nowhere", row, "x", integer(1)));
  expected.insert(msgs.back().timestamp, t0 + 1);
  merkle_trie from_deltas;
  auto first = commit(*w, {msgs.begin(), msgs.begin() + 25}, true);
  auto second = commit(*w, {msgs.begin() + 20, msgs.end()}, false); // overlaps
  BOOST_CHECK_EQUAL(first.stored + second.stored, msgs.size());
  for (const auto* s : {&first, &second})
    for (const auto& [key, delta] : s->deltas)
      from_deltas.xor_node(key, delta);
  auto t = w->load_merkle();
  BOOST_REQUIRE(t);
  BOOST_CHECK_EQUAL(t->hash(), expected.hash());
  BOOST_CHECK_EQUAL(t->to_json(), expected.to_json());
  BOOST_CHECK_EQUAL(from_deltas.to_json(), expected.to_json());
  // After a reopen too.
  w.reset();
  w = open(schemas({{"people", people_v1}}));
  BOOST_CHECK_EQUAL(w->load_merkle()->to_json(), expected.to_json());
}

BOOST_AUTO_TEST_CASE(only_enqueued_batches_reach_the_outbox) {
  auto w = open(schemas({{"people", people_v1}}));
  write_batch local, received;
  local.enqueue = true;
  for (int i = 0; i < 7; ++i)
    local.messages.push_back(
      msg(t0 + i, "people", row, "name", value{std::to_string(i)}));
  for (int i = 0; i < 5; ++i)
    received.messages.push_back(msg(t0 + i, "people", row, "name",
                                    value{std::to_string(i)},
                                    "bbbbbbbbbbbbbbbb"));
  auto res = w->commit({&received, &local});
  BOOST_REQUIRE(res);
  BOOST_CHECK_EQUAL(res->stored, 12u);
  BOOST_CHECK_EQUAL(res->enqueued, 7u);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 7u);
  // The outbox holds exactly the local ones, oldest first.
  auto r = reader(schemas({{"people", people_v1}}));
  auto out = r->outbox(100);
  BOOST_REQUIRE(out);
  BOOST_REQUIRE_EQUAL(out->size(), 7u);
  for (size_t i = 0; i < out->size(); ++i)
    BOOST_CHECK((*out)[i] == local.messages[i]);
  BOOST_CHECK_EQUAL(r->outbox(3)->size(), 3u);
  // A duplicate of a local message is not queued again.
  BOOST_CHECK_EQUAL(w->commit({&local})->enqueued, 0u);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 7u);
  auto acked = w->ack_outbox({local.messages[0].timestamp,
                              local.messages[1].timestamp,
                              received.messages[0].timestamp, "nope"});
  BOOST_REQUIRE(acked);
  BOOST_CHECK_EQUAL(*acked, 2u);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 5u);
  // Acknowledged messages stay in the log.
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages"), 12);
}

// -- migration ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_new_field_adds_its_column) {
  {
    auto w = open(schemas({{"people", people_v1}}));
    commit(*w, {msg(t0, "people", row, "name", text("Ada"))});
  }
  auto w = open(schemas({{"people", people_v2}}));
  auto cols = columns(*w, "people");
  BOOST_CHECK_EQUAL(cols.back(), "age");
  BOOST_CHECK_EQUAL(cols.size(), 9u);
  auto s = w->db().prepare_once(
    "SELECT type FROM pragma_table_info('people') WHERE name = 'age'");
  BOOST_REQUIRE(s);
  BOOST_REQUIRE_EQUAL(s->step(), SQLITE_ROW);
  BOOST_CHECK_EQUAL(s->column_text(0), "INTEGER");
  // Existing data is kept; the new column starts empty and takes writes.
  BOOST_CHECK(cell(*w, "people", row, "name") == text("Ada"));
  BOOST_CHECK(cell(*w, "people", row, "age") == value{});
  commit(*w, {msg(t0 + 1, "people", row, "age", integer(5))});
  BOOST_CHECK(cell(*w, "people", row, "age") == integer(5));
  // Reopening with the same schema changes nothing.
  w.reset();
  w = open(schemas({{"people", people_v2}}));
  BOOST_CHECK_EQUAL(columns(*w, "people").size(), 9u);
  BOOST_CHECK(cell(*w, "people", row, "age") == integer(5));
}

BOOST_AUTO_TEST_CASE(a_changed_field_type_is_refused_naming_table_and_field) {
  {
    auto w = open(schemas({{"people", people_v2}}));
    commit(*w, {msg(t0, "people", row, "age", integer(5))});
  }
  auto w = write_store::open(opts, schemas({{"people", people_bad}}));
  BOOST_REQUIRE(!w);
  BOOST_CHECK(is(w.error(), ec::schema_conflict));
  auto text = describe(w.error());
  BOOST_CHECK_MESSAGE(contains(text, "'people'"), text);
  BOOST_CHECK_MESSAGE(contains(text, "'age'"), text);
  BOOST_CHECK_MESSAGE(contains(text, "integer"), text);
  BOOST_CHECK_MESSAGE(contains(text, "string"), text);
  // The refusal changed nothing: the old schema still opens.
  auto again = open(schemas({{"people", people_v2}}));
  BOOST_CHECK(cell(*again, "people", row, "age") == integer(5));
  // A nullable variant of the same type is not a type change.
  again.reset();
  open(schemas({{"people", R"({"type":"object","properties":{
    "name":{"type":["string","null"]},"age":{"type":["integer","null"]}}})"}}));
}

// A database written before crdt_schema gained its `active` column (commit
// e8c0aef) must still open: CREATE TABLE IF NOT EXISTS leaves the old
// table as it was.
BOOST_AUTO_TEST_CASE(a_database_from_before_the_active_column_still_opens) {
  {
    auto w = open(schemas({{"people", people_v2}}));
    commit(*w, {msg(t0, "people", row, "name", text("Ada")),
                msg(t0 + 1, "people", row, "age", integer(36))});
    // Back to the earlier layout of crdt_schema, rows kept.
    BOOST_REQUIRE(!w->db().exec(
      "CREATE TABLE old_schema AS SELECT dataset, col, type FROM crdt_schema;"
      "DROP TABLE crdt_schema;"
      "CREATE TABLE crdt_schema(dataset TEXT NOT NULL, col TEXT NOT NULL, "
      "type TEXT NOT NULL, PRIMARY KEY(dataset, col)) WITHOUT ROWID;"
      "INSERT INTO crdt_schema SELECT * FROM old_schema;"
      "DROP TABLE old_schema;"));
  }
  auto w = write_store::open(opts, schemas({{"people", people_v2}}));
  if (!w) // (the message must not touch w.error() when w holds a value)
    BOOST_FAIL("an existing database no longer opens: " << describe(w.error()));
  BOOST_CHECK(cell(**w, "people", row, "age") == integer(36));
  w->reset();
  // The recorded types still guard against a change.
  auto bad = write_store::open(opts, schemas({{"people", people_bad}}));
  BOOST_REQUIRE(!bad);
  BOOST_CHECK(is(bad.error(), ec::schema_conflict));
}

// -- rebuild ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rebuild_reproduces_the_live_tables) {
  auto s = schemas({{"people", people_v2}, {"pets", pets_v1}});
  auto w = open(s);
  std::mt19937 rng{20260101};
  const std::vector<std::string> ids{row, row_a, row_b, row_c};
  const std::vector<std::string> nodes{"aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb",
                                       "cccccccccccccccc"};
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::vector<message> all;
  for (int round = 0; round < 80; ++round) {
    std::vector<message> batch;
    auto n = 1 + pick(6);
    for (size_t i = 0; i < n; ++i) {
      auto millis = t0 + static_cast<int64_t>(pick(600000));
      const auto& node = nodes[pick(nodes.size())];
      const auto& id = ids[pick(ids.size())];
      bool people = pick(2) == 0;
      std::string table = people ? "people" : "pets";
      switch (pick(5)) {
        case 0: // create: tombstone 0 plus every field
          batch.push_back(msg(millis, table, id, "tombstone", integer(0), node, 0));
          batch.push_back(msg(millis, table, id, people ? "name" : "kind",
                              value{"v" + std::to_string(pick(100))}, node, 1));
          batch.push_back(msg(millis, table, id, people ? "age" : "legs",
                              integer(static_cast<int64_t>(pick(100))), node, 2));
          break;
        case 1: // delete
          batch.push_back(msg(millis, table, id, "tombstone", integer(1), node));
          break;
        default: // patch one field
          if (pick(2))
            batch.push_back(msg(millis, table, id, people ? "name" : "kind",
                                value{"p" + std::to_string(pick(100))}, node));
          else
            batch.push_back(msg(millis, table, id, people ? "age" : "legs",
                                integer(static_cast<int64_t>(pick(100))),
                                node));
      }
    }
    if (!all.empty() && pick(4) == 0)
      batch.push_back(all[pick(all.size())]); // a duplicate
    all.insert(all.end(), batch.begin(), batch.end());
    commit(*w, batch, pick(2) == 0);
  }
  auto live = dump(*w, s);
  BOOST_REQUIRE(!live.empty());
  BOOST_REQUIRE(contains(live, "people "));
  BOOST_REQUIRE(contains(live, "pets "));
  BOOST_REQUIRE(!w->rebuild());
  BOOST_CHECK_EQUAL(dump(*w, s), live);
  // Wipe a user table by hand: rebuild restores it.
  BOOST_REQUIRE(!w->db().exec("DELETE FROM people"));
  BOOST_REQUIRE(!contains(dump(*w, s), "people "));
  BOOST_REQUIRE(!w->rebuild());
  BOOST_CHECK_EQUAL(dump(*w, s), live);
  // Wipe both tables and the cell bookkeeping: rebuild restores them all.
  BOOST_REQUIRE(!w->db().exec("DELETE FROM people; UPDATE pets SET kind = "
                              "'garbage'; DELETE FROM crdt_cells"));
  BOOST_REQUIRE(!w->rebuild());
  BOOST_CHECK_EQUAL(dump(*w, s), live);
  // Rebuilding one table leaves the other alone.
  BOOST_REQUIRE(!w->db().exec("DELETE FROM pets; DELETE FROM people"));
  BOOST_REQUIRE(!w->rebuild("pets"));
  auto partial = dump(*w, s);
  BOOST_CHECK(!contains(partial, "people "));
  BOOST_CHECK(contains(partial, "pets "));
  BOOST_REQUIRE(!w->rebuild("people"));
  BOOST_CHECK_EQUAL(dump(*w, s), live);
  // Later commits after a rebuild still follow LWW: the cells are intact.
  auto before = cell(*w, "people", row, "name");
  commit(*w, {msg(t0 - 1, "people", row, "name", text("ancient"))});
  BOOST_CHECK(cell(*w, "people", row, "name") == before);
}

// -- read_store ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(get_renders_schema_types) {
  auto s = schemas({{"items", items_schema}});
  auto w = open(s);
  commit(*w, {msg(t0, "items", row_a, "name", text("zeta")),
              msg(t0 + 1, "items", row_a, "qty", integer(3)),
              msg(t0 + 2, "items", row_a, "price", value{2.5}),
              msg(t0 + 3, "items", row_a, "active", integer(1)),
              msg(t0 + 4, "items", row_a, "tags", text("[\"x\",1]")),
              msg(t0 + 5, "items", row_a, "meta", text("{\"k\":{\"n\":1}}")),
              msg(t0 + 6, "items", row_a, "note", value{}),
              msg(t0 + 7, "items", row_a, "tombstone", integer(0)),
              msg(t0 + 8, "items", row_a, "created_at",
                  text("2025-11-24T16:00:00.000Z")),
              msg(t0 + 9, "items", row_b, "active", integer(0)),
              msg(t0 + 10, "items", row_b, "price", integer(4))});
  auto r = reader(s);
  auto a = r->get("items", row_a, "");
  BOOST_REQUIRE(a);
  BOOST_CHECK_EQUAL(*a, std::string{"{\"id\":\""} + row_a
                          + "\",\"organization_id\":null,\"created_by\":null,"
                            "\"updated_by\":null,\"created_at\":"
                            "\"2025-11-24T16:00:00.000Z\",\"updated_at\":null,"
                            "\"name\":\"zeta\",\"qty\":3,\"price\":2.5,"
                            "\"active\":true,\"tags\":[\"x\",1],"
                            "\"meta\":{\"k\":{\"n\":1}},\"note\":null}");
  auto b = r->get("items", row_b, "");
  BOOST_REQUIRE(b);
  BOOST_CHECK_MESSAGE(contains(*b, "\"active\":false"), *b);
  BOOST_CHECK_MESSAGE(contains(*b, "\"price\":4.0"), *b); // a REAL column
  BOOST_CHECK_MESSAGE(contains(*b, "\"name\":null"), *b);
  BOOST_CHECK_MESSAGE(!contains(*b, "tombstone"), *b);
  // Unknown record and unknown table.
  auto none = r->get("items", row_c, "");
  BOOST_REQUIRE(!none);
  BOOST_CHECK(is(none.error(), ec::not_found));
  auto bad = r->get("nope", row_a, "");
  BOOST_REQUIRE(!bad);
  BOOST_CHECK(is(bad.error(), ec::unknown_table));
}

BOOST_AUTO_TEST_CASE(deleted_records_are_gone_and_state_tells_them_apart) {
  auto s = schemas({{"people", people_v1}});
  auto w = open(s);
  commit(*w, {msg(t0, "people", row_a, "name", text("a")),
              msg(t0 + 1, "people", row_b, "name", text("b")),
              msg(t0 + 2, "people", row_b, "tombstone", integer(0))});
  auto r = reader(s);
  BOOST_CHECK_EQUAL(to_string(*r->state("people", row_a, "")), "live");
  BOOST_CHECK_EQUAL(to_string(*r->state("people", row_b, "")), "live");
  BOOST_CHECK_EQUAL(to_string(*r->state("people", row_c, "")), "absent");
  BOOST_CHECK(is(r->state("nope", row_a, "").error(), ec::unknown_table));
  commit(*w, {msg(t0 + 3, "people", row_a, "tombstone", integer(1))});
  auto gone = r->get("people", row_a, "");
  BOOST_REQUIRE(!gone);
  BOOST_CHECK(is(gone.error(), ec::not_found));
  BOOST_CHECK_EQUAL(to_string(*r->state("people", row_a, "")), "deleted");
  auto listed = r->list("people", {}, "");
  BOOST_REQUIRE(listed);
  BOOST_CHECK_EQUAL(listed->first, 1u);
  BOOST_CHECK(!contains(listed->second, row_a));
  BOOST_CHECK(contains(listed->second, row_b));
  // A delete that arrives before the record's creation still wins.
  commit(*w, {msg(t0 + 10, "people", row_c, "tombstone", integer(1))});
  commit(*w, {msg(t0 + 5, "people", row_c, "name", text("c")),
              msg(t0 + 5, "people", row_c, "tombstone", integer(0), "bbbbbbbbbbbbbbbb")});
  BOOST_CHECK_EQUAL(to_string(*r->state("people", row_c, "")), "deleted");
  BOOST_CHECK(!r->get("people", row_c, ""));
  // A newer tombstone 0 brings a record back (LWW on the tombstone cell).
  commit(*w, {msg(t0 + 20, "people", row_a, "tombstone", integer(0))});
  BOOST_CHECK_EQUAL(to_string(*r->state("people", row_a, "")), "live");
  BOOST_CHECK(r->get("people", row_a, ""));
}

BOOST_AUTO_TEST_CASE(list_honours_pluck_limit_offset_and_order) {
  auto s = schemas({{"items", items_schema}});
  auto w = open(s);
  // Names sort z, a, m; ids sort a < b < c < d.
  commit(*w, {msg(t0, "items", row_a, "name", text("zeta")),
              msg(t0 + 1, "items", row_a, "qty", integer(1)),
              msg(t0 + 2, "items", row_b, "name", text("alpha")),
              msg(t0 + 3, "items", row_b, "qty", integer(2)),
              msg(t0 + 4, "items", row_c, "name", text("mid")),
              msg(t0 + 5, "items", row_c, "qty", integer(2)),
              msg(t0 + 6, "items", row, "name", text("deleted")),
              msg(t0 + 7, "items", row, "tombstone", integer(1))});
  auto r = reader(s);
  auto ids_of = [&](const read_store::list_query& q) {
    auto got = r->list("items", q, "");
    BOOST_REQUIRE(got);
    std::vector<std::string> out;
    for (auto pos = got->second.find("\"id\":\""); pos != std::string::npos;
         pos = got->second.find("\"id\":\"", pos + 1))
      out.push_back(got->second.substr(pos + 6, 26));
    BOOST_CHECK_EQUAL(out.size(), got->first);
    return out;
  };
  using ids = std::vector<std::string>;
  read_store::list_query q;
  BOOST_CHECK((ids_of(q) == ids{row_a, row_b, row_c})); // by id
  q.order = "name";
  BOOST_CHECK((ids_of(q) == ids{row_b, row_c, row_a}));
  q.descending = true;
  BOOST_CHECK((ids_of(q) == ids{row_a, row_c, row_b}));
  // Ties broken by id, in the same direction.
  q.order = "qty";
  BOOST_CHECK((ids_of(q) == ids{row_c, row_b, row_a}));
  q.descending = false;
  BOOST_CHECK((ids_of(q) == ids{row_a, row_b, row_c}));
  q.order = "name";
  q.limit = 2;
  BOOST_CHECK((ids_of(q) == ids{row_b, row_c}));
  q.offset = 1;
  BOOST_CHECK((ids_of(q) == ids{row_c, row_a}));
  q.offset = 3;
  BOOST_CHECK(ids_of(q).empty());
  q.limit = 0;
  q.offset = 0;
  BOOST_CHECK(ids_of(q).empty());
  q.limit.reset();
  q.offset = 2;
  BOOST_CHECK((ids_of(q) == ids{row_a}));
  // Pluck returns id plus the named fields, in the order asked.
  q = {};
  q.pluck = {"qty", "name"};
  q.order = "name";
  auto plucked = r->list("items", q, "");
  BOOST_REQUIRE(plucked);
  BOOST_CHECK_EQUAL(plucked->first, 3u);
  BOOST_CHECK_EQUAL(plucked->second,
                    std::string{"{\"id\":\""} + row_b
                      + "\",\"qty\":2,\"name\":\"alpha\"},{\"id\":\"" + row_c
                      + "\",\"qty\":2,\"name\":\"mid\"},{\"id\":\"" + row_a
                      + "\",\"qty\":1,\"name\":\"zeta\"}");
  q.pluck = {"id"};
  q.limit = 1;
  plucked = r->list("items", q, "");
  BOOST_REQUIRE(plucked);
  BOOST_CHECK_EQUAL(plucked->second, std::string{"{\"id\":\""} + row_b + "\"}");
  // Unknown table.
  auto bad = r->list("nope", {}, "");
  BOOST_REQUIRE(!bad);
  BOOST_CHECK(is(bad.error(), ec::unknown_table));
}

BOOST_AUTO_TEST_CASE(config_sync_rows_are_local_settings) {
  auto s = schemas({{"people", people_v1}});
  auto w = open(s);
  BOOST_REQUIRE(!w->set_config("SYNC_TIMER_MS", "500", "number"));
  BOOST_REQUIRE(!w->set_config("GROUP_ID", "g1", "string"));
  BOOST_REQUIRE(!w->set_config("GROUP_ID", "g2", "string"));
  auto all = w->load_config();
  BOOST_REQUIRE(all);
  BOOST_CHECK_EQUAL(all->size(), 2u);
  BOOST_CHECK_EQUAL(all->at("GROUP_ID"), "g2");
  auto r = reader(s);
  auto one = r->config("SYNC_TIMER_MS");
  BOOST_REQUIRE(one);
  BOOST_CHECK_EQUAL(one->first, 1u);
  BOOST_CHECK_EQUAL(one->second,
                    "{\"key\":\"SYNC_TIMER_MS\",\"value\":\"500\","
                    "\"type\":\"number\"}");
  BOOST_CHECK_EQUAL(r->config("")->first, 2u);
  auto none = r->config("NOPE");
  BOOST_REQUIRE(!none);
  BOOST_CHECK(is(none.error(), ec::not_found));
  // Settings are not messages: nothing logged, nothing queued.
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages"), 0);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 0u);
}

// -- hub side -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(relayed_groups_are_logged_apart_and_never_applied) {
  auto s = schemas({{"people", people_v1}});
  auto w = open(s);
  write_batch b;
  b.group = "elsewhere";
  b.enqueue = true; // ignored for a relayed group
  b.messages = {msg(t0, "people", row, "name", text("theirs")),
                msg(t0 + 1000, "people", row, "name", text("later"))};
  auto first = w->commit({&b});
  BOOST_REQUIRE(first);
  BOOST_CHECK_EQUAL(first->stored, 2u);
  BOOST_CHECK_EQUAL(first->enqueued, 0u);
  BOOST_CHECK(first->deltas.empty()); // not this node's trie
  BOOST_CHECK_EQUAL(first->group_deltas.count("elsewhere"), 1u);
  BOOST_CHECK_EQUAL(w->commit({&b})->stored, 0u); // duplicates
  merkle_trie expected;
  for (const auto& m : b.messages)
    expected.insert(m.timestamp, parse_timestamp(m.timestamp)->millis);
  auto tries = w->load_hub_merkles();
  BOOST_REQUIRE(tries);
  BOOST_CHECK_EQUAL(tries->at("elsewhere").to_json(), expected.to_json());
  BOOST_CHECK_EQUAL(w->load_merkle()->hash(), 0u);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 0u);
  auto r = reader(s);
  BOOST_CHECK_EQUAL(to_string(*r->state("people", row, "")), "absent"); // no record here
  auto relayed = r->messages_since("elsewhere", "", "", 0);
  BOOST_REQUIRE(relayed);
  BOOST_CHECK_EQUAL(relayed->size(), 2u);
  BOOST_CHECK(r->messages_since("", "", "", 0)->empty());
  BOOST_CHECK(r->messages_since("other", "", "", 0)->empty());
  // The same message in this node's own group is a different log entry.
  write_batch own;
  own.messages = b.messages;
  BOOST_CHECK_EQUAL(w->commit({&own})->stored, 2u);
  BOOST_CHECK(cell(*w, "people", row, "name") == text("later"));
}

BOOST_AUTO_TEST_CASE(a_limited_answer_ends_at_the_end_of_a_minute) {
  auto s = schemas({{"people", people_v1}});
  auto w = open(s);
  std::vector<message> msgs;
  // 30 messages in one minute, 5 in the next; two authors.
  for (int i = 0; i < 35; ++i)
    msgs.push_back(msg(t0 + (i < 30 ? i * 1000 : 60000 + i), "people", row,
                       "name", text("x"),
                       i % 2 ? "aaaaaaaaaaaaaaaa" : "bbbbbbbbbbbbbbbb"));
  commit(*w, msgs);
  auto r = reader(s);
  auto since = to_string(timestamp{t0, 0, "0000000000000000"});
  // A limit of 10 falls inside the first minute: the whole minute comes.
  auto got = r->messages_since("", since, "", 10);
  BOOST_REQUIRE(got);
  BOOST_REQUIRE_EQUAL(got->size(), 30u);
  for (size_t i = 0; i < got->size(); ++i)
    BOOST_CHECK((*got)[i] == msgs[i]);
  // Without a limit everything, and an excluded author is left out.
  got = r->messages_since("", since, "aaaaaaaaaaaaaaaa", 0);
  BOOST_REQUIRE(got);
  BOOST_CHECK_EQUAL(got->size(), 18u);
  for (const auto& m : *got)
    BOOST_CHECK(!contains(m.timestamp, "aaaaaaaaaaaaaaaa"));
  // `since` is inclusive.
  got = r->messages_since("", msgs[34].timestamp, "", 0);
  BOOST_REQUIRE(got);
  BOOST_REQUIRE_EQUAL(got->size(), 1u);
  BOOST_CHECK((*got)[0] == msgs[34]);
}

BOOST_AUTO_TEST_SUITE_END()
