// The write side: opening a database, committing message batches (log, LWW
// cells, tables, trie, clock, outbox).

#include "tests/storage/store_fixture.hpp"
#include "protocol/murmur3.hpp"

using namespace crdt;
using namespace crdt::test;

BOOST_FIXTURE_TEST_SUITE(write_store_tests, fixture)

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
  for (const char* t :
       {"crdt_messages", "crdt_stamps", "crdt_merkle", "crdt_clock",
        "crdt_schema", "crdt_hub_messages", "crdt_hub_merkle",
        "config_sync", "people"})
    BOOST_CHECK_MESSAGE(tables.count(t) == 1, "missing table " << t);
  BOOST_CHECK((columns(*w, "people")
               == std::vector<std::string>{
                   "id", "tombstone", "organization_id", "created_by",
                   "updated_by", "created_at", "updated_at", "name"}));
  // 16 lower-case hex digits, stored in crdt_clock.
  const auto& node = w->node_id();
  BOOST_CHECK_EQUAL(node.size(), 16u);
  BOOST_CHECK_MESSAGE(
      node.find_first_not_of("0123456789abcdef") == std::string::npos, node);
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
  other.path = dir.file("other.sqlite");
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
  // One row of field timestamps per record.
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_stamps"), 2);
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

// A reader keeps what it reads a table with per version of the table: a
// field added later (a new table in the catalog) is read at once.
BOOST_AUTO_TEST_CASE(a_read_follows_a_table_that_gains_a_field) {
  auto w = open(schemas({{"people", people_v1}}));
  write_batch b;
  b.messages.push_back(msg(t0, "people", row, "name", text("Ada")));
  BOOST_REQUIRE(w->commit({&b}));
  auto catalog
      = std::make_shared<schema_catalog>(schemas({{"people", people_v1}}));
  auto r = read_store::open(opts.path, catalog);
  BOOST_REQUIRE(r);
  auto before = (*r)->get("people", row, "");
  BOOST_REQUIRE(before);
  BOOST_CHECK_NE(before->find("\"name\":\"Ada\""), std::string::npos);
  BOOST_CHECK_EQUAL(before->find("\"age\""), std::string::npos);
  w.reset();
  w = open(schemas({{"people", people_v2}}));
  write_batch aged;
  aged.messages.push_back(msg(t0 + 1, "people", row, "age", value{int64_t{36}}));
  BOOST_REQUIRE(w->commit({&aged}));
  catalog->publish(schemas({{"people", people_v2}}), {}, {});
  auto after = (*r)->get("people", row, "");
  BOOST_REQUIRE(after);
  BOOST_CHECK_NE(after->find("\"age\":36"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(records_whose_names_share_bytes_stay_apart) {
  // Found in review: a commit kept its records under dataset + NUL + row,
  // so ("people\0x", row) and ("people", "x\0" + row) were one record,
  // and the second message set a cell of a record nobody addressed. NUL
  // bytes in names arrive escaped through /sync ("\u0000").
  auto w = open(schemas({{"people", people_v2}}));
  std::string odd_table{"people\0x", 8};
  std::string odd_row = std::string{"x", 1} + '\0' + row_a;
  write_batch b;
  b.messages = {msg(t0, odd_table, row_a, "name", text("first")),
                msg(t0 + 1, "people", odd_row, "name", text("second")),
                msg(t0 + 2, "people", row_a, "name", text("Ada"))};
  auto res = w->commit({&b});
  BOOST_REQUIRE(res);
  BOOST_CHECK_EQUAL(res->stored, 3u);
  // Three records, each with its own field timestamps; the table holds
  // its two, each with its own value.
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_stamps"), 3);
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM people"), 2);
  BOOST_CHECK(cell(*w, "people", odd_row, "name") == text("second"));
  BOOST_CHECK(cell(*w, "people", row_a, "name") == text("Ada"));
}

BOOST_AUTO_TEST_CASE(many_sets_of_written_columns_keep_every_value) {
  // Each set of columns a commit writes to a record has its own upsert
  // statement, cached up to a bound and then dropped: 600 commits of
  // distinct sets (past the bound of 256) must leave what a model says.
  auto w = open(schemas({{"items", items_schema}}));
  const std::vector<std::pair<std::string, value>> fields{
      {"name", text("n")},       {"qty", integer(1)},
      {"price", value{2.5}},     {"active", integer(1)},
      {"note", text("x")},       {"created_by", text("u")},
      {"updated_by", text("v")}, {"created_at", text("2025-01-01")},
      {"updated_at", text("2025-01-02")}, {"organization_id", text("o")}};
  std::map<std::pair<std::string, std::string>, value> model;
  std::mt19937 rng{7};
  int64_t at = t0;
  for (int i = 1; i <= 600; ++i) {
    std::string id = std::string{row}.substr(0, 20) + std::to_string(100000 + rng() % 40);
    std::vector<message> msgs;
    for (size_t f = 0; f < fields.size(); ++f)
      if (i & (1 << f)) {
        auto v = fields[f].first == "qty" ? integer(i) : fields[f].second;
        msgs.push_back(msg(++at, "items", id, fields[f].first, v));
        model[{id, fields[f].first}] = v;
      }
    commit(*w, msgs);
  }
  for (const auto& [key, v] : model)
    BOOST_CHECK_MESSAGE(cell(*w, "items", key.first, key.second) == v,
                        key.first << " " << key.second);
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
  BOOST_CHECK_EQUAL(late.stored, 1u); // kept in the log for sync ...
  BOOST_CHECK(!late.deltas.empty());  // ... and in the trie ...
  BOOST_CHECK(cell(*w, "people", row, "name")
              == text("new")); // ... not applied
  // Older first, then newer: the newer one replaces the value.
  commit(*w, {msg(t0 + 1000, "people", row, "age", integer(1))});
  commit(*w, {msg(t0 + 3000, "people", row, "age", integer(2))});
  BOOST_CHECK(cell(*w, "people", row, "age") == integer(2));
  // Same millisecond: the counter decides, then the node id.
  commit(*w, {msg(t0 + 5000, "people", row, "name", text("c1"),
                  "bbbbbbbbbbbbbbbb", 1),
              msg(t0 + 5000, "people", row, "name", text("c2"),
                  "aaaaaaaaaaaaaaaa", 2)});
  BOOST_CHECK(cell(*w, "people", row, "name") == text("c2"));
  commit(*w, {msg(t0 + 5000, "people", row, "name", text("node"),
                  "cccccccccccccccc", 2)});
  BOOST_CHECK(cell(*w, "people", row, "name") == text("node"));
  // Within one batch, order does not matter either.
  commit(*w, {msg(t0 + 9000, "people", row_a, "name", text("late")),
              msg(t0 + 8000, "people", row_a, "name", text("early"))});
  BOOST_CHECK(cell(*w, "people", row_a, "name") == text("late"));
  // Each cell is independent: a newer name does not undo the age.
  BOOST_CHECK(cell(*w, "people", row, "age") == integer(2));
  // The winning timestamp is recorded per cell.
  auto s = w->db().prepare_once(
      "SELECT stamps FROM crdt_stamps WHERE dataset = 'people' AND row_id = ?1");
  BOOST_REQUIRE(s);
  s->bind(1, std::string_view{row_a});
  BOOST_REQUIRE_EQUAL(s->step(), SQLITE_ROW);
  record_stamps stamps;
  BOOST_REQUIRE(record_stamps::decode(s->column_blob(0), stamps));
  BOOST_CHECK_EQUAL(stamps.get("name"),
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
                 == std::vector<std::string>{
                     "id", "tombstone", "organization_id", "created_by",
                     "updated_by", "created_at", "updated_at", "name"}));
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
  BOOST_CHECK_EQUAL(*w->outbox_acked(), 0u);
  // The outbox holds exactly the local ones, oldest first; the received
  // ones before them (seq 1-5) are looked at and passed over.
  auto r = reader(schemas({{"people", people_v1}}));
  auto out = r->outbox(0, 100);
  BOOST_REQUIRE(out);
  BOOST_REQUIRE_EQUAL(out->messages.size(), 7u);
  for (size_t i = 0; i < out->messages.size(); ++i)
    BOOST_CHECK(out->messages[i] == local.messages[i]);
  BOOST_CHECK_EQUAL(out->through, 12u);
  BOOST_CHECK(!out->more);
  auto three = r->outbox(0, 3);
  BOOST_REQUIRE(three);
  BOOST_CHECK_EQUAL(three->messages.size(), 3u);
  BOOST_CHECK_EQUAL(three->through, 8u);
  BOOST_CHECK(three->more);
  // A byte cap stops a page too, after at least one message.
  auto small = r->outbox(0, 100, 1);
  BOOST_REQUIRE(small);
  BOOST_CHECK_EQUAL(small->messages.size(), 1u);
  BOOST_CHECK_EQUAL(small->through, 6u);
  BOOST_CHECK(small->more);
  // A duplicate of a local message is not queued again.
  BOOST_CHECK_EQUAL(w->commit({&local})->enqueued, 0u);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 7u);
  // Acknowledging the first page moves the mark: the rest stays queued,
  // and the mark never moves back.
  BOOST_REQUIRE(!w->ack_outbox(three->through));
  BOOST_CHECK_EQUAL(*w->outbox_acked(), 8u);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 4u);
  BOOST_REQUIRE(!w->ack_outbox(2));
  BOOST_CHECK_EQUAL(*w->outbox_acked(), 8u);
  auto rest = r->outbox(8, 100);
  BOOST_REQUIRE(rest);
  BOOST_REQUIRE_EQUAL(rest->messages.size(), 4u);
  BOOST_CHECK(rest->messages[0] == local.messages[3]);
  // What the outbox holds past the mark, as trie hashes: the local
  // messages only (seq 9 - 12 here), up to a sequence number, bounded by
  // the number of log entries it may read.
  auto unsent = [&](size_t from, size_t to) {
    uint32_t h = 0;
    for (size_t i = from; i < to; ++i)
      h ^= murmur3_32(local.messages[i].timestamp);
    return h;
  };
  auto hash = r->unsent_hash(8, 12, 100);
  BOOST_REQUIRE(hash);
  BOOST_CHECK_EQUAL(*hash, unsent(3, 7));
  hash = r->unsent_hash(8, 10, 100);
  BOOST_REQUIRE(hash);
  BOOST_CHECK_EQUAL(*hash, unsent(3, 5));
  hash = r->unsent_hash(12, 12, 100);
  BOOST_REQUIRE(hash);
  BOOST_CHECK_EQUAL(*hash, 0u);
  hash = r->unsent_hash(0, 5, 100); // received ones only
  BOOST_REQUIRE(hash);
  BOOST_CHECK_EQUAL(*hash, 0u);
  // Received messages count against the limit too.
  hash = r->unsent_hash(0, 12, 12);
  BOOST_REQUIRE(hash);
  BOOST_CHECK_EQUAL(*hash, unsent(0, 7));
  hash = r->unsent_hash(0, 12, 11);
  BOOST_REQUIRE(!hash);
  BOOST_CHECK(is(hash.error(), ec::overloaded));
  // Acknowledged messages stay in the log; the mark survives a reopen.
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages"), 12);
  w.reset();
  w = open(schemas({{"people", people_v1}}));
  BOOST_CHECK_EQUAL(*w->outbox_acked(), 8u);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 4u);
}

BOOST_AUTO_TEST_CASE(an_outbox_page_looks_at_a_bounded_part_of_the_log) {
  auto w = open(schemas({{"people", people_v1}}));
  // 10,000 received messages, then one local one.
  write_batch received, local;
  for (int i = 0; i < 10000; ++i)
    received.messages.push_back(msg(t0 + i, "people", row, "name",
                                    value{std::to_string(i)},
                                    "bbbbbbbbbbbbbbbb"));
  local.enqueue = true;
  local.messages.push_back(msg(t0 + 20000, "people", row, "name", text("mine")));
  BOOST_REQUIRE(w->commit({&received, &local}));
  auto r = reader(schemas({{"people", people_v1}}));
  // With a bound of 8,192 entries, the first page passes over that many
  // received ones and says there is more.
  auto first = r->outbox(0, 100, SIZE_MAX, 8192);
  BOOST_REQUIRE(first);
  BOOST_CHECK(first->messages.empty());
  BOOST_CHECK_EQUAL(first->through, 8192u);
  BOOST_CHECK(first->more);
  auto second = r->outbox(first->through, 100, SIZE_MAX, 8192);
  BOOST_REQUIRE(second);
  BOOST_REQUIRE_EQUAL(second->messages.size(), 1u);
  BOOST_CHECK(second->messages[0] == local.messages[0]);
  BOOST_CHECK_EQUAL(second->through, 10001u);
  BOOST_CHECK(!second->more);
  // Past the end: nothing looked at.
  auto none = r->outbox(10001, 100);
  BOOST_REQUIRE(none);
  BOOST_CHECK(none->messages.empty());
  BOOST_CHECK_EQUAL(none->through, 0u);
  BOOST_CHECK(!none->more);
  // With the default bound, one page passes over all of them.
  auto whole = r->outbox(0, 100);
  BOOST_REQUIRE(whole);
  BOOST_REQUIRE_EQUAL(whole->messages.size(), 1u);
  BOOST_CHECK_EQUAL(whole->through, 10001u);
}

BOOST_AUTO_TEST_SUITE_END()
