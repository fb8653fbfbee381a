#include "storage/store.hpp"

#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>

using namespace crdt;

namespace {

struct fixture {
  fixture() {
    dir = std::filesystem::temp_directory_path()
          / ("store-" + random_node_id());
    opts.path = (dir / "sub" / "db.sqlite").string();
    opts.synchronous = "NORMAL";
  }

  ~fixture() {
    std::filesystem::remove_all(dir);
  }

  schema_set schemas(std::initializer_list<std::pair<const char*, const char*>> xs) {
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

  message msg(int64_t millis, const std::string& table, const std::string& row,
              const std::string& col, value v) {
    return {to_string(timestamp{millis, 0, "aaaaaaaaaaaaaaaa"}), table, row,
            col, std::move(v)};
  }

  void commit(write_store& w, std::vector<message> msgs, bool enqueue = false) {
    write_batch b;
    b.messages = std::move(msgs);
    b.enqueue = enqueue;
    BOOST_REQUIRE(w.commit({&b}));
  }

  std::filesystem::path dir;
  store_options opts;
};

const char* people_v1 = R"({"type":"object","properties":{
  "name":{"type":"string"}}})";
const char* people_v2 = R"({"type":"object","properties":{
  "name":{"type":"string"},"age":{"type":"integer"}}})";
const char* people_bad = R"({"type":"object","properties":{
  "name":{"type":"integer"}}})";
const char* row = "01JAR2HPE7JJS1HYQZ7FYK0S4D";

} // namespace

BOOST_FIXTURE_TEST_SUITE(store_tests, fixture)

BOOST_AUTO_TEST_CASE(node_id_and_clock_persist) {
  auto s = schemas({{"people", people_v1}});
  std::string node, clock;
  {
    auto w = open(s);
    node = w->node_id();
    BOOST_CHECK(valid_node_id(node));
    write_batch b;
    b.messages.push_back(msg(5000, "people", row, "name", value{"a"}));
    b.clock = b.messages[0].timestamp;
    BOOST_REQUIRE(w->commit({&b}));
    clock = b.clock;
  }
  auto w = open(s);
  BOOST_CHECK_EQUAL(w->node_id(), node);
  BOOST_CHECK_EQUAL(w->clock(), clock);
}

BOOST_AUTO_TEST_CASE(duplicates_and_older_messages_change_nothing) {
  auto w = open(schemas({{"people", people_v1}}));
  auto newer = msg(2000, "people", row, "name", value{"new"});
  auto older = msg(1000, "people", row, "name", value{"old"});
  write_batch b;
  b.messages = {newer};
  auto first = w->commit({&b});
  BOOST_REQUIRE(first);
  BOOST_CHECK_EQUAL(first->stored, 1u);
  BOOST_CHECK(!first->deltas.empty());
  auto again = w->commit({&b});
  BOOST_REQUIRE(again);
  BOOST_CHECK_EQUAL(again->stored, 0u);
  BOOST_CHECK(again->deltas.empty());
  b.messages = {older};
  auto late = w->commit({&b});
  BOOST_REQUIRE(late);
  BOOST_CHECK_EQUAL(late->stored, 1u); // kept in the log for sync...
  auto r = read_store::open(opts.path, schemas({{"people", people_v1}}));
  BOOST_REQUIRE(r);
  auto got = (*r)->get("people", row);
  BOOST_REQUIRE(got);
  BOOST_CHECK(got->find("\"name\":\"new\"") != std::string::npos); // ...not applied
}

BOOST_AUTO_TEST_CASE(the_persisted_trie_and_outbox_follow_the_log) {
  auto w = open(schemas({{"people", people_v1}}));
  std::vector<message> msgs;
  merkle_trie expected;
  for (int i = 0; i < 50; ++i) {
    msgs.push_back(msg(1764000000000 + i * 7919, "people", row, "name",
                       value{std::to_string(i)}));
    expected.insert(msgs.back().timestamp, 1764000000000 + i * 7919);
  }
  commit(*w, {msgs.begin(), msgs.begin() + 20}, true);
  commit(*w, {msgs.begin() + 20, msgs.end()}, false);
  auto t = w->load_merkle();
  BOOST_REQUIRE(t);
  BOOST_CHECK_EQUAL(t->to_json(), expected.to_json());
  BOOST_CHECK_EQUAL(*w->outbox_size(), 20u);
  auto acked = w->ack_outbox({msgs[0].timestamp, msgs[1].timestamp, "nope"});
  BOOST_REQUIRE(acked);
  BOOST_CHECK_EQUAL(*acked, 2u);
  BOOST_CHECK_EQUAL(*w->outbox_size(), 18u);
}

BOOST_AUTO_TEST_CASE(unknown_fields_and_tables_apply_once_the_schema_has_them) {
  {
    auto w = open(schemas({{"people", people_v1}}));
    commit(*w, {msg(1000, "people", row, "name", value{"Ada"}),
                msg(2000, "people", row, "age", value{int64_t{36}}),
                msg(3000, "pets", row, "kind", value{"cat"})});
  }
  auto s = schemas({{"people", people_v2},
                    {"pets", R"({"type":"object","properties":{
                       "kind":{"type":"string"}}})"}});
  auto w = open(s); // migration adds people.age and pets, then replays
  auto r = read_store::open(opts.path, s);
  BOOST_REQUIRE(r);
  auto person = (*r)->get("people", row);
  BOOST_REQUIRE(person);
  BOOST_CHECK(person->find("\"age\":36") != std::string::npos);
  auto pet = (*r)->get("pets", row);
  BOOST_REQUIRE(pet);
  BOOST_CHECK(pet->find("\"kind\":\"cat\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_changed_field_type_is_refused_with_table_and_field) {
  open(schemas({{"people", people_v1}}));
  auto w = write_store::open(opts, schemas({{"people", people_bad}}));
  BOOST_REQUIRE(!w);
  auto text = describe(w.error());
  BOOST_CHECK(text.find("people") != std::string::npos);
  BOOST_CHECK(text.find("name") != std::string::npos);
  BOOST_CHECK(text.find("string") != std::string::npos);
  BOOST_CHECK(text.find("integer") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reads_render_schema_types_and_hide_deleted_records) {
  auto s = schemas({{"items", R"({"type":"object","properties":{
    "name":{"type":"string"},"qty":{"type":"integer"},"price":{"type":"number"},
    "active":{"type":"boolean"},"tags":{"type":"array"},
    "meta":{"type":"object"}}})"}});
  auto w = open(s);
  std::string a = "01JAR2HPE7JJS1HYQZ7FYK0S4A", b = "01JAR2HPE7JJS1HYQZ7FYK0S4B";
  commit(*w, {msg(1, "items", a, "name", value{"zeta"}),
              msg(2, "items", a, "qty", value{int64_t{3}}),
              msg(3, "items", a, "price", value{2.5}),
              msg(4, "items", a, "active", value{int64_t{0}}),
              msg(5, "items", a, "tags", value{"[\"x\"]"}),
              msg(6, "items", a, "meta", value{"{\"k\":1}"}),
              msg(7, "items", b, "name", value{"alpha"}),
              msg(8, "items", b, "tombstone", value{int64_t{0}})});
  auto r = read_store::open(opts.path, s);
  BOOST_REQUIRE(r);
  auto got = (*r)->get("items", a);
  BOOST_REQUIRE(got);
  for (const char* part : {"\"qty\":3", "\"price\":2.5", "\"active\":false",
                           "\"tags\":[\"x\"]", "\"meta\":{\"k\":1}"})
    BOOST_CHECK_MESSAGE(got->find(part) != std::string::npos, *got);
  read_store::list_query q;
  q.pluck = {"name"};
  q.order = "name";
  auto listed = (*r)->list("items", q);
  BOOST_REQUIRE(listed);
  BOOST_CHECK_EQUAL(listed->first, 2u);
  BOOST_CHECK_EQUAL(listed->second, "{\"id\":\"" + b + "\",\"name\":\"alpha\"},{\"id\":\"" + a
                                      + "\",\"name\":\"zeta\"}");
  q.descending = true;
  q.limit = 1;
  listed = (*r)->list("items", q);
  BOOST_REQUIRE(listed);
  BOOST_CHECK_EQUAL(listed->second, "{\"id\":\"" + a + "\",\"name\":\"zeta\"}");
  commit(*w, {msg(9, "items", a, "tombstone", value{int64_t{1}})});
  BOOST_CHECK(is((*r)->get("items", a).error(), ec::not_found));
  BOOST_CHECK_EQUAL(*(*r)->state("items", a), 2);
  BOOST_CHECK_EQUAL(*(*r)->state("items", b), 1);
  BOOST_CHECK_EQUAL(*(*r)->state("items", "01JAR2HPE7JJS1HYQZ7FYK0S4C"), 0);
  q = {};
  BOOST_CHECK_EQUAL((*r)->list("items", q)->first, 1u);
}

BOOST_AUTO_TEST_CASE(relayed_groups_are_logged_apart_and_never_applied) {
  auto s = schemas({{"people", people_v1}});
  auto w = open(s);
  write_batch b;
  b.group = "elsewhere";
  b.messages = {msg(1000, "people", row, "name", value{"theirs"}),
                msg(2000, "people", row, "name", value{"later"})};
  auto first = w->commit({&b});
  BOOST_REQUIRE(first);
  BOOST_CHECK_EQUAL(first->stored, 2u);
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
  auto r = read_store::open(opts.path, s);
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(*(*r)->state("people", row), 0); // no record here
  auto relayed = (*r)->messages_since("elsewhere", "", "", 0);
  BOOST_REQUIRE(relayed);
  BOOST_CHECK_EQUAL(relayed->size(), 2u);
  BOOST_CHECK((*r)->messages_since("", "", "", 0)->empty());
}

BOOST_AUTO_TEST_CASE(a_limited_answer_ends_at_the_end_of_a_minute) {
  auto s = schemas({{"people", people_v1}});
  auto w = open(s);
  std::vector<message> msgs;
  // 30 messages in one minute, 5 in the next; two authors.
  for (int i = 0; i < 35; ++i) {
    timestamp ts{1764000000000 + (i < 30 ? i * 1000 : 60000 + i),
                 0, i % 2 ? "aaaaaaaaaaaaaaaa" : "bbbbbbbbbbbbbbbb"};
    msgs.push_back({to_string(ts), "people", row, "name", value{"x"}});
  }
  commit(*w, msgs);
  auto r = read_store::open(opts.path, s);
  BOOST_REQUIRE(r);
  auto since = to_string(timestamp{1764000000000, 0, "0000000000000000"});
  // A limit of 10 falls inside the first minute: the whole minute comes.
  auto got = (*r)->messages_since("", since, "", 10);
  BOOST_REQUIRE(got);
  BOOST_REQUIRE_EQUAL(got->size(), 30u);
  for (size_t i = 0; i < got->size(); ++i)
    BOOST_CHECK_EQUAL((*got)[i].timestamp, msgs[i].timestamp);
  // Without a limit everything, and an excluded author is left out.
  got = (*r)->messages_since("", since, "aaaaaaaaaaaaaaaa", 0);
  BOOST_REQUIRE(got);
  BOOST_CHECK_EQUAL(got->size(), 18u);
  for (const auto& m : *got)
    BOOST_CHECK(m.timestamp.find("aaaaaaaaaaaaaaaa") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
