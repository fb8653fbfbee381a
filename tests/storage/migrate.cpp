// Schema changes across starts, and rebuilding tables from the log.

#include "tests/storage/store_fixture.hpp"

using namespace crdt;
using namespace crdt::test;

BOOST_FIXTURE_TEST_SUITE(migrate_tests, fixture)

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
  // Tables served without definitions (open_writer) compare types only: a
  // nullable variant of the same type is not a type change. (Committed
  // definitions are immutable as a whole: tests/storage/definitions.cpp.)
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

BOOST_AUTO_TEST_CASE(a_database_from_before_seq_is_numbered_in_time_order) {
  {
    auto w = open(schemas({{"people", people_v1}}));
    // Stored out of time order, in two groups.
    commit(*w, {msg(t0 + 2, "people", row_b, "name", text("b"))});
    commit(*w, {msg(t0 + 1, "people", row_a, "name", text("a"))});
    write_batch relayed;
    relayed.group = "other";
    relayed.messages = {msg(t0 + 5, "x", "y", "z", integer(1)),
                        msg(t0 + 4, "x", "y", "z", integer(2))};
    BOOST_REQUIRE(w->commit({&relayed}));
    // Back to the layout without seq, rows kept.
    BOOST_REQUIRE(!w->db().exec(R"sql(
DROP INDEX IF EXISTS crdt_messages_seq; DROP INDEX crdt_hub_messages_seq;
CREATE TABLE m AS SELECT ts, dataset, row_id, col, value FROM crdt_messages;
DROP TABLE crdt_messages;
CREATE TABLE crdt_messages(ts TEXT PRIMARY KEY, dataset TEXT NOT NULL,
  row_id TEXT NOT NULL, col TEXT NOT NULL, value) WITHOUT ROWID;
INSERT INTO crdt_messages SELECT * FROM m; DROP TABLE m;
CREATE TABLE h AS SELECT group_id, ts, dataset, row_id, col, value
  FROM crdt_hub_messages;
DROP TABLE crdt_hub_messages;
CREATE TABLE crdt_hub_messages(group_id TEXT NOT NULL, ts TEXT NOT NULL,
  dataset TEXT NOT NULL, row_id TEXT NOT NULL, col TEXT NOT NULL, value,
  PRIMARY KEY(group_id, ts)) WITHOUT ROWID;
INSERT INTO crdt_hub_messages SELECT * FROM h; DROP TABLE h;
)sql"));
  }
  auto w = open(schemas({{"people", people_v1}}));
  // Numbered in timestamp order, own group first, and new messages after.
  auto seqs = [&](const std::string& sql) {
    std::vector<int64_t> out;
    auto s = w->db().prepare_once(sql);
    BOOST_REQUIRE(s);
    while (s->step() == SQLITE_ROW)
      out.push_back(s->column_int(0));
    return out;
  };
  BOOST_CHECK((seqs("SELECT seq FROM crdt_messages ORDER BY ts")
               == std::vector<int64_t>{1, 2}));
  BOOST_CHECK((seqs("SELECT seq FROM crdt_hub_messages ORDER BY ts")
               == std::vector<int64_t>{3, 4}));
  commit(*w, {msg(t0, "people", row_c, "name", text("c"))});
  BOOST_CHECK_EQUAL(seqs("SELECT seq FROM crdt_messages WHERE row_id = '"
                         + std::string{row_c} + "'")
                        .at(0),
                    5);
  auto heads = w->load_heads();
  BOOST_REQUIRE(heads);
  BOOST_CHECK_EQUAL((*heads)[""], 5u);
  BOOST_CHECK_EQUAL((*heads)["other"], 4u);
}

// The log was a WITHOUT ROWID table keyed by the timestamp, with a seq
// index; it is now keyed by seq. Every message keeps its seq (sync
// cursors, the outbox mark and feed positions point at them), the outbox
// keeps what was queued, and the log goes on from there.
BOOST_AUTO_TEST_CASE(a_log_keyed_by_timestamp_moves_to_seq_keys) {
  std::vector<std::pair<std::string, int64_t>> before;
  auto log_of = [](write_store& w) {
    std::vector<std::pair<std::string, int64_t>> out;
    auto s = w.db().prepare_once(
        "SELECT ts, seq FROM crdt_messages ORDER BY seq");
    BOOST_REQUIRE(s);
    while (s->step() == SQLITE_ROW)
      out.emplace_back(std::string{s->column_text(0)}, s->column_int(1));
    return out;
  };
  {
    auto w = open(schemas({{"people", people_v2}}));
    // Stored out of time order, some of them outgoing.
    commit(*w, {msg(t0 + 9, "people", row_a, "name", text("a"))}, true);
    commit(*w, {msg(t0 + 3, "people", row_b, "name", text("b")),
                msg(t0 + 4, "people", row_b, "age", integer(4))});
    commit(*w, {msg(t0 + 1, "people", row_c, "name", text("c"))}, true);
    before = log_of(*w);
    BOOST_REQUIRE_EQUAL(before.size(), 4u);
    BOOST_REQUIRE(!w->db().exec(R"sql(
CREATE TABLE m AS SELECT ts, dataset, row_id, col, value, seq, outgoing
  FROM crdt_messages;
DROP TABLE crdt_messages;
CREATE TABLE crdt_messages(
  ts TEXT PRIMARY KEY, dataset TEXT NOT NULL, row_id TEXT NOT NULL,
  col TEXT NOT NULL, value, seq INTEGER NOT NULL DEFAULT 0,
  outgoing INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
INSERT INTO crdt_messages SELECT * FROM m; DROP TABLE m;
CREATE INDEX crdt_messages_seq ON crdt_messages(seq);
)sql"));
  }
  auto w = open(schemas({{"people", people_v2}}));
  BOOST_CHECK_EQUAL(count(*w, "SELECT pk FROM pragma_table_info('crdt_messages') "
                              "WHERE name = 'seq'"),
                    1);
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM sqlite_master WHERE name = "
                              "'crdt_messages_seq'"),
                    0);
  BOOST_CHECK((log_of(*w) == before));
  BOOST_CHECK_EQUAL(*w->outbox_size(), 2u);
  BOOST_CHECK(cell(*w, "people", row_b, "age") == integer(4));
  // A timestamp already stored is still a duplicate; a new one comes next.
  commit(*w, {msg(t0 + 3, "people", row_b, "name", text("b"))});
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages"), 4);
  commit(*w, {msg(t0 + 2, "people", row_c, "age", integer(2))});
  BOOST_CHECK_EQUAL(count(*w, "SELECT max(seq) FROM crdt_messages"),
                    before.back().second + 1);
  // An older binary started in between adds its seq index back: dropped.
  BOOST_REQUIRE(!w->db().exec("CREATE INDEX crdt_messages_seq ON crdt_messages(seq)"));
  w.reset();
  w = open(schemas({{"people", people_v2}}));
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM sqlite_master WHERE name = "
                              "'crdt_messages_seq'"),
                    0);
}

BOOST_AUTO_TEST_CASE(a_database_with_cells_and_an_outbox_table_is_upgraded) {
  std::string live;
  {
    auto w = open(schemas({{"people", people_v2}}));
    commit(*w,
           {msg(t0, "people", row_a, "name", text("old")),
            msg(t0 + 5, "people", row_a, "name", text("new")),
            msg(t0 + 1, "people", row_a, "age", integer(3)),
            msg(t0 + 2, "people", row_b, "name", text("b"), "bbbbbbbbbbbbbbbb")},
           true);
    live = dump(*w, schemas({{"people", people_v2}}));
    // Back to the layout before crdt_stamps and the outgoing mark: cells
    // per field, queued timestamps in crdt_outbox (two of the four).
    BOOST_REQUIRE(!w->db().exec(R"sql(
DROP TABLE crdt_stamps;
CREATE TABLE crdt_cells(dataset TEXT NOT NULL, row_id TEXT NOT NULL,
  col TEXT NOT NULL, ts TEXT NOT NULL, PRIMARY KEY(dataset, row_id, col))
  WITHOUT ROWID;
INSERT INTO crdt_cells SELECT dataset, row_id, col, max(ts) FROM crdt_messages
  GROUP BY dataset, row_id, col;
CREATE TABLE crdt_outbox(ts TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO crdt_outbox SELECT ts FROM crdt_messages ORDER BY ts LIMIT 2;
DROP INDEX IF EXISTS crdt_messages_seq;
CREATE TABLE m AS SELECT ts, dataset, row_id, col, value, seq FROM crdt_messages;
DROP TABLE crdt_messages;
CREATE TABLE crdt_messages(ts TEXT PRIMARY KEY, dataset TEXT NOT NULL,
  row_id TEXT NOT NULL, col TEXT NOT NULL, value,
  seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
INSERT INTO crdt_messages SELECT * FROM m; DROP TABLE m;
)sql"));
  }
  auto s = schemas({{"people", people_v2}});
  auto w = open(s);
  // The tables are rebuilt from the log, the old ones are gone, and what
  // was queued is still queued.
  BOOST_CHECK_EQUAL(dump(*w, s), live);
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM sqlite_master WHERE name "
                              "IN ('crdt_cells', 'crdt_outbox')"),
                    0);
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_stamps"), 2);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 2u);
  // LWW still holds against the rebuilt stamps: an older name loses.
  commit(*w, {msg(t0 + 3, "people", row_a, "name", text("stale"))});
  BOOST_CHECK(cell(*w, "people", row_a, "name") == text("new"));
}

// The list indexes live in the reserved namespace: a user table named like
// another table's index must not stop the node from starting.
BOOST_AUTO_TEST_CASE(list_indexes_never_clash_with_user_tables) {
  constexpr const char* orders = R"({"type":"object","properties":{
    "b_c":{"type":"string","x-index":true}}})";
  constexpr const char* orders_b = R"({"type":"object","properties":{
    "c":{"type":"string","x-index":true}}})";
  auto s = schemas({{"orders", orders}, {"orders_live", people_v1},
                    {"orders_b", orders_b}});
  auto w = open(s);
  BOOST_REQUIRE(w);
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM sqlite_master WHERE type = "
                              "'index' AND name LIKE 'crdt_live:orders%'"),
                    5);
  w.reset();
  BOOST_CHECK(open(s)); // and again on an existing database
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
        batch.push_back(
            msg(millis, table, id, "tombstone", integer(0), node, 0));
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
                              integer(static_cast<int64_t>(pick(100))), node));
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
                              "'garbage'; DELETE FROM crdt_stamps"));
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

BOOST_AUTO_TEST_SUITE_END()
