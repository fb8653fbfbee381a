// Table definitions replicated as messages: committed from the schema
// folder, learned from the group, applied to data that came first, and
// resolved alike everywhere when two nodes define one field differently.

#include "protocol/schema_defs.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace crdt;
using namespace crdt::test;

namespace {

// The definition messages of `json` for table `name`, stamped by `node`
// from `millis` on.
std::vector<message> defs_of(const char* name, const char* json, int64_t millis,
                             const std::string& node) {
  auto t = table_schema::parse(name, json);
  BOOST_REQUIRE_MESSAGE(t, why(t));
  std::vector<message> out;
  uint32_t counter = 0;
  for (auto& d : definitions_of(**t))
    out.push_back(message{to_string(timestamp{millis, counter++, node}),
                          schema_dataset, d.table, d.column,
                          value{d.definition}});
  return out;
}

struct second_store {
  second_store() : dir("store-tests-2"), opts(test_store(dir.file("db.sqlite"))) {}
  temp_dir dir;
  store_options opts;
};

const schema_set none;

// Opens like the server does: the folder's new definitions are committed.
std::unique_ptr<write_store> open_defining(const store_options& o,
                                           const schema_set& s) {
  auto w = write_store::open(o, s);
  BOOST_REQUIRE_MESSAGE(w, why(w));
  return std::move(*w);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(definitions_tests, fixture)

BOOST_AUTO_TEST_CASE(the_folder_is_committed_once_and_served_from_the_catalog) {
  auto files = schemas({{"people", people_v2}});
  {
    auto w = open_defining(opts, files);
    // Marker + two fields, queued for the hub like any local write.
    BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages WHERE "
                                "dataset = 'crdt_schema' AND outgoing = 1"),
                      3);
    auto tables = w->catalog()->tables();
    BOOST_REQUIRE_EQUAL(tables->count("people"), 1u);
    BOOST_CHECK_EQUAL(tables->at("people")->fields().size(), 2u);
    BOOST_CHECK_EQUAL(w->catalog()->definitions().at("people").size(), 3u);
  }
  // A restart with the same folder commits nothing new.
  auto w = open_defining(opts, files);
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages"), 3);
  // A folder without the table still serves it: it is committed.
  w.reset();
  w = open_defining(opts, none);
  BOOST_CHECK_EQUAL(w->catalog()->tables()->count("people"), 1u);
  commit(*w, {msg(t0, "people", row, "age", integer(4))});
  BOOST_CHECK(cell(*w, "people", row, "age") == integer(4));
}

BOOST_AUTO_TEST_CASE(a_changed_type_in_the_folder_is_refused_after_the_group_defined_it) {
  {
    auto w = open_defining(opts, none);
    // The group defined people.age as integer.
    commit(*w, defs_of("people", people_v2, t0, "bbbbbbbbbbbbbbbb"));
  }
  auto w = write_store::open(opts, schemas({{"people", people_bad}}));
  BOOST_REQUIRE(!w);
  BOOST_CHECK(is(w.error(), ec::schema_conflict));
  auto text = describe(w.error());
  BOOST_CHECK_MESSAGE(contains(text, "'age'") && contains(text, "integer")
                          && contains(text, "string"),
                      text);
}

BOOST_AUTO_TEST_CASE(a_local_definition_that_contradicts_the_committed_one_stores_nothing) {
  auto w = open_defining(opts, schemas({{"people", people_v2}}));
  auto before = count(*w, "SELECT count(*) FROM crdt_messages");
  write_batch b;
  b.messages = defs_of("people", people_bad, t0 + 5000, "aaaaaaaaaaaaaaaa");
  b.define = true;
  b.enqueue = true;
  auto res = w->commit({&b});
  BOOST_REQUIRE(res);
  BOOST_REQUIRE(res->refused.front());
  BOOST_CHECK(is(res->refused.front(), ec::conflict));
  BOOST_CHECK(contains(describe(res->refused.front()), "'age'"));
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages"), before);
  // A new field beside the old ones is fine, and served at once.
  write_batch more;
  more.messages = defs_of("people", R"({"properties":{"email":{"type":"string"}}})",
                          t0 + 6000, "aaaaaaaaaaaaaaaa");
  more.define = true;
  auto ok = w->commit({&more});
  BOOST_REQUIRE(ok);
  BOOST_CHECK(!ok->refused.front());
  BOOST_CHECK(w->catalog()->find("people")->find("email"));
  BOOST_CHECK_EQUAL(columns(*w, "people").back(), "email");
}

BOOST_AUTO_TEST_CASE(data_that_arrives_before_its_table_is_applied_when_the_table_does) {
  auto defs = defs_of("devices", R"({"properties":{"serial":{"type":"string"},
                                     "temp":{"type":"number"}}})",
                      t0, "bbbbbbbbbbbbbbbb");
  std::vector<message> data{
      msg(t0 + 1, "devices", row_a, "serial", text("A1"), "bbbbbbbbbbbbbbbb"),
      msg(t0 + 2, "devices", row_a, "temp", value{21.5}, "bbbbbbbbbbbbbbbb"),
      msg(t0 + 3, "devices", row_a, "temp", value{22.0}, "bbbbbbbbbbbbbbbb"),
      msg(t0 + 4, "devices", row_b, "serial", text("B2"), "bbbbbbbbbbbbbbbb")};
  // Schema first.
  second_store other;
  auto first = open_defining(other.opts, none);
  commit(*first, defs);
  commit(*first, data);
  // Data first: kept in the log, no table yet.
  auto w = open_defining(opts, none);
  commit(*w, data);
  BOOST_CHECK(!w->catalog()->find("devices"));
  BOOST_CHECK(columns(*w, "devices").empty());
  commit(*w, defs);
  BOOST_REQUIRE(w->catalog()->find("devices"));
  auto tables = *w->catalog()->tables();
  BOOST_CHECK_EQUAL(dump(*w, tables), dump(*first, tables));
  BOOST_CHECK(cell(*w, "devices", row_a, "temp") == value{22.0});
  // A field that arrives after its values: the same.
  std::vector<message> late{
      msg(t0 + 10, "devices", row_a, "site", text("north"), "bbbbbbbbbbbbbbbb")};
  auto site = defs_of("devices", R"({"properties":{"site":{"type":"string"}}})",
                      t0 + 9, "bbbbbbbbbbbbbbbb");
  commit(*w, late);
  commit(*w, site);
  BOOST_CHECK(cell(*w, "devices", row_a, "site") == text("north"));
}

BOOST_AUTO_TEST_CASE(concurrent_definitions_of_one_field_resolve_alike_in_any_order) {
  // Node x says level is an integer, node y (a moment earlier) a string;
  // each wrote values of its own type before hearing of the other.
  auto x_defs = defs_of("gauges", R"({"properties":{"level":{"type":"integer"}}})",
                        t0 + 100, "xxxxxxxxxxxxxxxx");
  auto y_defs = defs_of("gauges", R"({"properties":{"level":{"type":"string"}}})",
                        t0 + 50, "yyyyyyyyyyyyyyyy");
  std::vector<message> x_data{
      msg(t0 + 200, "gauges", row_a, "level", integer(7), "xxxxxxxxxxxxxxxx"),
      msg(t0 + 300, "gauges", row_b, "level", integer(8), "xxxxxxxxxxxxxxxx")};
  std::vector<message> y_data{
      msg(t0 + 250, "gauges", row_a, "level", text("high"), "yyyyyyyyyyyyyyyy")};
  std::vector<std::vector<std::vector<message>>> orders{
      {x_defs, x_data, y_defs, y_data},
      {y_defs, y_data, x_defs, x_data},
      {x_data, y_data, x_defs, y_defs},
      {y_data, x_defs, x_data, y_defs}};
  std::string want_dump;
  std::vector<std::string> dumps;
  for (size_t i = 0; i < orders.size(); ++i) {
    BOOST_TEST_CONTEXT("order " << i) {
      temp_dir d{"defs-order"};
      auto w = open_defining(test_store(d.file("db.sqlite")), none);
      for (auto& part : orders[i])
        commit(*w, part);
      auto t = w->catalog()->find("gauges");
      BOOST_REQUIRE(t);
      // The earlier definition wins; the later is reported, naming both.
      BOOST_CHECK(t->find("level")->type == field_type::text);
      auto conflicts = w->catalog()->conflicts();
      BOOST_REQUIRE_EQUAL(conflicts.size(), 1u);
      BOOST_CHECK_EQUAL(conflicts[0].field, "level");
      BOOST_CHECK_EQUAL(type_of_definition(conflicts[0].winner.definition),
                        "string");
      BOOST_CHECK_EQUAL(type_of_definition(conflicts[0].loser.definition),
                        "integer");
      // Values of the losing type take no part: row a keeps "high", row
      // b has no level.
      BOOST_CHECK(cell(*w, "gauges", row_a, "level") == text("high"));
      bool present = false;
      BOOST_CHECK(cell(*w, "gauges", row_b, "level", &present) == value{});
      dumps.push_back(dump(*w, *w->catalog()->tables()));
      // A rebuild from the log comes to the same.
      BOOST_REQUIRE(!w->rebuild());
      BOOST_CHECK_EQUAL(dump(*w, *w->catalog()->tables()), dumps.back());
      BOOST_CHECK_EQUAL(w->catalog()->conflicts().size(), 1u);
    }
  }
  for (const auto& d : dumps)
    BOOST_CHECK_EQUAL(d, dumps.front());
}

BOOST_AUTO_TEST_CASE(the_conflicts_reported_do_not_depend_on_the_arrival_order) {
  // a and b say the same (integer), c says string and is the earliest.
  // Arriving a, b, c: b matches the winner of the moment; arriving c, a, b:
  // both lose on arrival. Either way both are conflicts.
  auto def_of = [](const char* type, int64_t millis, const char* node) {
    return defs_of("meters",
                   (std::string{R"({"properties":{"reading":{"type":")"} + type
                    + R"("}}})").c_str(),
                   millis, node);
  };
  auto a = def_of("integer", t0 + 20, "aaaaaaaaaaaaaaaa");
  auto b = def_of("integer", t0 + 30, "bbbbbbbbbbbbbbbb");
  auto c = def_of("string", t0 + 10, "cccccccccccccccc");
  std::vector<std::string> reports;
  for (auto order : {std::vector{a, b, c}, std::vector{c, a, b},
                     std::vector{b, c, a}}) {
    temp_dir d{"defs-report"};
    auto w = open_defining(test_store(d.file("db.sqlite")), none);
    for (auto& part : order)
      commit(*w, part);
    std::string report;
    for (const auto& x : w->catalog()->conflicts())
      report += x.field + " " + x.winner.timestamp + " " + x.loser.timestamp + "\n";
    reports.push_back(report);
    BOOST_CHECK_EQUAL(w->catalog()->conflicts().size(), 2u);
  }
  BOOST_CHECK_EQUAL(reports[0], reports[1]);
  BOOST_CHECK_EQUAL(reports[0], reports[2]);
}

BOOST_AUTO_TEST_CASE(a_winner_that_only_allows_null_replays_the_field) {
  // x: level is an integer; y, earlier: an integer or null. Before y's
  // definition arrives, y's null does not fit and is skipped; after, it is
  // the newest value that fits.
  auto x_defs = defs_of("tanks", R"({"properties":{"level":{"type":"integer"}}})",
                        t0 + 100, "xxxxxxxxxxxxxxxx");
  auto y_defs = defs_of("tanks",
                        R"({"properties":{"level":{"type":["integer","null"]}}})",
                        t0 + 50, "yyyyyyyyyyyyyyyy");
  std::vector<message> data{
      msg(t0 + 150, "tanks", row_a, "level", integer(5), "xxxxxxxxxxxxxxxx"),
      msg(t0 + 200, "tanks", row_a, "level", value{}, "yyyyyyyyyyyyyyyy")};
  std::vector<std::string> dumps;
  for (auto order : {std::vector{x_defs, data, y_defs},
                     std::vector{y_defs, data, x_defs}}) {
    temp_dir d{"defs-null"};
    auto w = open_defining(test_store(d.file("db.sqlite")), none);
    for (auto& part : order)
      commit(*w, part);
    BOOST_CHECK(cell(*w, "tanks", row_a, "level") == value{});
    dumps.push_back(dump(*w, *w->catalog()->tables()));
  }
  BOOST_CHECK_EQUAL(dumps[0], dumps[1]);
}

BOOST_AUTO_TEST_CASE(a_replay_cut_short_by_a_crash_is_done_at_the_next_start) {
  {
    auto w = open_defining(opts, none);
    commit(*w, defs_of("devices", R"({"properties":{"serial":{"type":"string"}}})",
                       t0, "bbbbbbbbbbbbbbbb"));
    commit(*w, {msg(t0 + 1, "devices", row_a, "serial", text("A1"))});
    // As if the process died after a migration made new columns and before
    // the replay filled them: the mark is there, the rows are not.
    BOOST_REQUIRE(!w->db().exec("DELETE FROM devices; INSERT INTO crdt_local"
                                "(key, value) VALUES('replay:devices', '1')"));
  }
  auto w = open_defining(opts, none);
  BOOST_CHECK(cell(*w, "devices", row_a, "serial") == text("A1"));
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_local WHERE key "
                              "LIKE 'replay:%'"),
                    0);
}

BOOST_AUTO_TEST_CASE(a_folder_definition_that_lost_to_the_group_still_starts) {
  // This node committed people.age as a string from its folder; the group
  // had defined it earlier as an integer.
  auto folder = schemas({{"people", people_bad}});
  {
    auto w = open_defining(opts, folder);
    auto group = defs_of("people", people_v2, t0, "bbbbbbbbbbbbbbbb");
    commit(*w, group);
    BOOST_CHECK(w->catalog()->find("people")->find("age")->type
                == field_type::integer);
  }
  // The same folder again: the group's definition applies, no refusal.
  auto w = open_defining(opts, folder);
  BOOST_CHECK(w->catalog()->find("people")->find("age")->type
              == field_type::integer);
  BOOST_CHECK_EQUAL(w->catalog()->conflicts().size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_local_definition_a_hub_would_refuse_is_refused_here) {
  auto w = open_defining(opts, none);
  write_batch b;
  b.messages = {message{to_string(timestamp{t0, 0, "aaaaaaaaaaaaaaaa"}),
                        schema_dataset, "things", "x",
                        value{std::string{R"({"required":false,"schema":{"type":"date"}})"}}}};
  b.define = true;
  b.enqueue = true;
  auto res = w->commit({&b});
  BOOST_REQUIRE(res);
  BOOST_CHECK(is(res->refused.front(), ec::bad_request));
  BOOST_CHECK_EQUAL(count(*w, "SELECT count(*) FROM crdt_messages"), 0);
}

BOOST_AUTO_TEST_CASE(an_offline_open_commits_no_definitions) {
  { auto w = open_defining(opts, none); }
  auto w = write_store::open(opts, schemas({{"people", people_v1}}), nullptr,
                             false);
  BOOST_REQUIRE(w);
  BOOST_CHECK_EQUAL(count(**w, "SELECT count(*) FROM crdt_messages"), 0);
  // The folder's tables are still served, on this node only.
  BOOST_CHECK((*w)->catalog()->find("people"));
  BOOST_CHECK((*w)->catalog()->definitions().empty());
}

BOOST_AUTO_TEST_SUITE_END()
