// The read side: records rendered for the API, lists, local settings, the
// hub's relayed groups, and the bounded cache of request-shaped SQL.

#include "tests/storage/store_fixture.hpp"

#include "protocol/murmur3.hpp"

using namespace crdt;
using namespace crdt::test;

BOOST_FIXTURE_TEST_SUITE(read_store_tests, fixture)

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
  BOOST_CHECK_EQUAL(*a,
                    std::string{"{\"id\":\""} + row_a
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

// An object value whose escapes decode to bytes that are not UTF-8 (a lone
// surrogate, as a peer may send it through /sync) is answered as its
// stored text, never as those bytes: the answer stays valid JSON.
BOOST_AUTO_TEST_CASE(an_object_that_decodes_to_no_utf8_is_rendered_as_text) {
  auto s = schemas({{"items", items_schema}});
  auto w = open(s);
  commit(*w, {msg(t0, "items", row_a, "meta", text(R"({"k":"\udc00"})")),
              msg(t0 + 1, "items", row_a, "tombstone", integer(0))});
  auto r = reader(s);
  auto a = r->get("items", row_a, "");
  BOOST_REQUIRE(a);
  BOOST_CHECK_MESSAGE(valid_utf8(*a), *a);
  BOOST_CHECK_MESSAGE(contains(*a, R"("meta":"{\"k\":\"\\udc00\"}")"), *a);
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
              msg(t0 + 5, "people", row_c, "tombstone", integer(0),
                  "bbbbbbbbbbbbbbbb")});
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

BOOST_AUTO_TEST_CASE(lists_in_an_organization_use_the_live_row_indexes) {
  constexpr const char* indexed = R"({"type":"object","properties":{
    "name":{"type":"string","x-index":true},"qty":{"type":"integer"}}})";
  auto s = schemas({{"items", indexed}});
  auto w = open(s);
  // Two organizations; one record of "a" deleted.
  commit(*w, {msg(t0, "items", row_a, "organization_id", text("a")),
              msg(t0 + 1, "items", row_a, "name", text("zeta")),
              msg(t0 + 2, "items", row_b, "organization_id", text("a")),
              msg(t0 + 3, "items", row_b, "name", text("alpha")),
              msg(t0 + 4, "items", row_c, "organization_id", text("b")),
              msg(t0 + 5, "items", row_c, "name", text("mid")),
              msg(t0 + 6, "items", row, "organization_id", text("a")),
              msg(t0 + 7, "items", row, "name", text("omega")),
              msg(t0 + 8, "items", row, "tombstone", integer(1))});
  // One index of live rows by id, one per "x-index" field.
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM sqlite_master WHERE "
                              "name IN ('crdt_live:items', "
                              "'crdt_live:items:name')"),
                    2);
  // The list's query (as read_store builds it) walks the index: no sort.
  auto plan = w->db().prepare_once(
      "EXPLAIN QUERY PLAN SELECT id, name FROM \"items\" WHERE tombstone IS "
      "NOT 1 AND organization_id = ?3 ORDER BY \"name\" DESC, id DESC LIMIT "
      "?1 OFFSET ?2");
  BOOST_REQUIRE(plan);
  std::string steps;
  while (plan->step() == SQLITE_ROW)
    steps += std::string{plan->column_text(3)} + "; ";
  BOOST_CHECK_MESSAGE(steps.find("crdt_live:items:name") != std::string::npos
                          && steps.find("TEMP B-TREE") == std::string::npos,
                      steps);
  auto r = reader(s);
  read_store::list_query q;
  q.order = "name";
  q.descending = true;
  auto got = r->list("items", q, "a");
  BOOST_REQUIRE(got);
  BOOST_CHECK_EQUAL(got->first, 2u);
  BOOST_CHECK(got->second.find(row_a) < got->second.find(row_b));
  BOOST_CHECK(got->second.find(row_c) == std::string::npos);
  q.limit = 1;
  q.offset = 1;
  got = r->list("items", q, "a");
  BOOST_REQUIRE(got);
  BOOST_CHECK_EQUAL(got->first, 1u);
  BOOST_CHECK(got->second.find(row_b) != std::string::npos);
}

// A cursor whose order value is too long to carry names its record, and
// the next page reads the value from there: only within the caller's
// organization (a crafted cursor naming another organization's record
// would tell, by the rows that follow it, where that record's value
// sorts), and only while it is still the value the cursor was made from.
BOOST_AUTO_TEST_CASE(a_cursor_reads_its_anchor_only_in_the_callers_organization) {
  auto s = schemas({{"items", items_schema}});
  auto w = open(s);
  auto long_name = [](char c) { return std::string(max_cursor_text + 10, c); };
  commit(*w, {msg(t0, "items", row_a, "organization_id", text("a")),
              msg(t0 + 1, "items", row_a, "name", value{long_name('m')}),
              msg(t0 + 2, "items", row_b, "organization_id", text("a")),
              msg(t0 + 3, "items", row_b, "name", value{long_name('z')}),
              msg(t0 + 4, "items", row_c, "organization_id", text("b")),
              msg(t0 + 5, "items", row_c, "name", value{long_name('c')})});
  auto r = reader(s);
  read_store::list_query q;
  q.order = "name";
  q.limit = 1;
  std::string next;
  auto first = r->list("items", q, "a", &next);
  BOOST_REQUIRE(first);
  BOOST_CHECK(first->second.find(row_a) != std::string::npos);
  auto c = decode_cursor(next);
  BOOST_REQUIRE(c);
  BOOST_CHECK(c->by_id);
  q.after = *c;
  auto second = r->list("items", q, "a");
  BOOST_REQUIRE(second);
  BOOST_CHECK(second->second.find(row_b) != std::string::npos);
  // The same cursor naming organization b's record (with the hash of its
  // value, as a guesser might have it): refused like a stale cursor.
  auto foreign_cursor = *c;
  foreign_cursor.id = row_c;
  foreign_cursor.anchor_hash = murmur3_32(long_name('c'));
  q.after = foreign_cursor;
  auto foreign = r->list("items", q, "a");
  BOOST_REQUIRE(!foreign);
  BOOST_CHECK(is(foreign.error(), ec::conflict));
  // The record the cursor stopped at changed its value: the page would
  // start elsewhere (records of unchanged value skipped or repeated), so
  // the cursor is refused and the client lists again.
  commit(*w, {msg(t0 + 6, "items", row_a, "name", value{long_name('y')})});
  q.after = *c;
  auto stale = r->list("items", q, "a");
  BOOST_REQUIRE(!stale);
  BOOST_CHECK(is(stale.error(), ec::conflict));
}

BOOST_AUTO_TEST_CASE(the_read_pool_lends_at_most_its_bound) {
  auto s = schemas({{"people", people_v1}});
  auto w = open(s);
  commit(*w, {msg(t0, "people", row_a, "name", text("Ada"))});
  read_pool pool{opts.path, w->catalog(), 2};
  {
    auto one = pool.acquire();
    auto two = pool.acquire();
    BOOST_REQUIRE(one && two);
    // Both busy: the caller is told to go elsewhere.
    BOOST_CHECK(!pool.acquire());
    BOOST_REQUIRE((*one)->get("people", row_a, ""));
  }
  // Given back on destruction, and reused (no third connection).
  auto again = pool.acquire();
  BOOST_REQUIRE(again);
  auto got = (*again)->get("people", row_a, "");
  BOOST_REQUIRE(got);
  BOOST_CHECK(got->find("Ada") != std::string::npos);
  // A pool over a file that cannot be opened lends nothing.
  read_pool broken{"/nonexistent/dir/db.sqlite", w->catalog(), 2};
  BOOST_CHECK(!broken.acquire());
  BOOST_CHECK(!broken.acquire());
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
  BOOST_CHECK_EQUAL(one->second, "{\"key\":\"SYNC_TIMER_MS\",\"value\":\"500\","
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
  BOOST_CHECK_EQUAL(to_string(*r->state("people", row, "")),
                    "absent"); // no record here
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

// -- statement caches -------------------------------------------------------

BOOST_AUTO_TEST_CASE(request_shaped_sql_is_cached_in_a_bounded_lru) {
  auto s = schemas({{"items", items_schema}});
  auto w = open(s);
  commit(*w, {msg(t0, "items", row, "name", text("x")),
              msg(t0 + 1, "items", row, "qty", integer(3))});
  auto r = reader(s);
  // Every subset of the fields as a pluck, each ordered by every field:
  // far more distinct statements than the cache keeps.
  std::vector<std::string> names{"name", "qty",  "price", "active",
                                 "tags", "meta", "note"};
  size_t queries = 0;
  for (unsigned mask = 1; mask < (1u << names.size()); ++mask)
    for (const auto& order : names) {
      read_store::list_query q;
      for (size_t i = 0; i < names.size(); ++i)
        if (mask & (1u << i))
          q.pluck.push_back(names[i]);
      q.order = order;
      auto l = r->list("items", q, "");
      BOOST_REQUIRE(l);
      BOOST_CHECK_EQUAL(l->first, 1u);
      ++queries;
      BOOST_REQUIRE_LE(r->db().cached(), sql::connection::shaped_capacity + 8);
    }
  BOOST_CHECK_GT(queries, 10 * sql::connection::shaped_capacity);
  // The most recent shapes are still cached: repeating one adds nothing.
  auto before = r->db().cached();
  read_store::list_query q;
  q.pluck = {"name"};
  q.order = "note";
  BOOST_REQUIRE(r->list("items", q, ""));
  BOOST_REQUIRE(r->list("items", q, ""));
  BOOST_CHECK_EQUAL(r->db().cached(), before);
  // Likewise the writer's upserts, shaped by the fields an update sets.
  for (unsigned mask = 1; mask < (1u << names.size()); ++mask) {
    std::vector<message> msgs;
    for (size_t i = 0; i < names.size(); ++i)
      if (mask & (1u << i))
        msgs.push_back(
            msg(t0 + 10 + mask * 10 + i, "items", row, names[i], value{}));
    commit(*w, msgs);
  }
  BOOST_CHECK_LE(w->db().cached(), sql::connection::shaped_capacity + 16);
}

BOOST_AUTO_TEST_SUITE_END()
