#include "protocol/message.hpp"

#include "protocol/error.hpp"
#include "protocol/json_guard.hpp"
#include "protocol/schema.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"

#include <boost/test/unit_test.hpp>

using namespace crdt;

namespace {

std::string write(const message& m) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  write_message(w, m);
  return buf.GetString();
}

caf::expected<message> read(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  return read_message(d);
}

const std::string ts = "2026-11-25T10:00:00.000Z-0000-aaaaaaaaaaaaaaaa";

} // namespace

BOOST_AUTO_TEST_SUITE(message_tests)

BOOST_AUTO_TEST_CASE(messages_round_trip_with_every_value_kind) {
  for (const value& v : {value{}, value{int64_t{-42}}, value{2.5},
                         value{std::string{"x\"y\u00e9"}}}) {
    message m{ts, "contacts", "01JAR2HPE7JJS1HYQZ7FYK0S4D", "first_name", v};
    auto back = read(write(m));
    BOOST_REQUIRE(back);
    BOOST_CHECK(*back == m);
  }
  BOOST_CHECK_EQUAL(
      write({ts, "t", "r", "c", value{}}),
      R"({"timestamp":")" + ts
          + R"(","dataset":"t","row":"r","column":"c","value":null})");
}

BOOST_AUTO_TEST_CASE(bad_messages_are_rejected) {
  auto with = [](const std::string& value_json) {
    return R"({"timestamp":")" + ts
           + R"(","dataset":"t","row":"r","column":"c","value":)" + value_json
           + "}";
  };
  for (const char* v : {"true", "{\"a\":1}", "[1]"})
    BOOST_CHECK_MESSAGE(!read(with(v)), v);
  BOOST_CHECK(!read(
      R"({"timestamp":"nope","dataset":"t","row":"r","column":"c","value":1})"));
  BOOST_CHECK(is(
      read(
          R"({"timestamp":"nope","dataset":"t","row":"r","column":"c","value":1})")
          .error(),
      ec::bad_timestamp));
  BOOST_CHECK(!read(R"({"timestamp":")" + ts
                    + R"(","row":"r","column":"c","value":1})"));
  BOOST_CHECK(!read(R"({"timestamp":")" + ts
                    + R"(","dataset":"t","row":"r","column":"c"})"));
  BOOST_CHECK(!read(R"({"timestamp":")" + ts
                    + R"(","dataset":5,"row":"r","column":"c","value":1})"));
  BOOST_CHECK(!read("[]"));
}

BOOST_AUTO_TEST_CASE(json_nesting_is_bounded_outside_strings) {
  BOOST_CHECK(within_json_depth(R"({"a":[1,{"b":[]}]})", 4));
  BOOST_CHECK(!within_json_depth(R"({"a":[1,{"b":[]}]})", 3));
  BOOST_CHECK(within_json_depth(R"({"a":"[[[[[[\"[[["})", 1));
  BOOST_CHECK(!within_json_depth(std::string(65, '['), max_json_depth));
  BOOST_CHECK(within_json_depth(std::string(64, '['), max_json_depth));
}

BOOST_AUTO_TEST_SUITE_END()

// check_batch is what both the hub and the node run on every received
// batch before storing it; its cases are pinned here directly.
BOOST_AUTO_TEST_SUITE(check_batch_tests)

namespace {

schema_set contacts_schema() {
  auto t = table_schema::parse("contacts", R"({"type":"object","properties":{
    "age":{"type":"integer"}}})");
  BOOST_REQUIRE(t);
  schema_set set;
  set.emplace("contacts", *t);
  return set;
}

message at(int64_t millis, value v) {
  return {to_string(timestamp{millis, 0, "00000000000000aa"}), "contacts",
          "01JAR2HPE7JJS1HYQZ7FYK0A00", "age", std::move(v)};
}

} // namespace

BOOST_AUTO_TEST_CASE(drift_is_refused_for_every_group) {
  auto schemas = contacts_schema();
  int64_t now = 1764000000000;
  auto ahead = at(now + 120000, value{int64_t{3}});
  for (bool own : {true, false}) {
    auto reason = check_batch({at(now, value{int64_t{1}}), ahead}, own,
                              schemas, now, 60000);
    BOOST_CHECK_MESSAGE(!reason.empty(), "own group: " << own);
  }
  BOOST_CHECK(check_batch({at(now + 59000, value{int64_t{1}})}, false,
                          schemas, now, 60000)
                  .empty());
}

BOOST_AUTO_TEST_CASE(values_of_another_type_pass_system_columns_do_not) {
  auto schemas = contacts_schema();
  int64_t now = 1764000000000;
  // A value of another type than the field's can come from a node whose
  // definition of the field lost to an earlier one: stored, not applied
  // (write_store::apply_lww), never refused, or that node's sync would
  // stop for good.
  auto wrong = at(now, value{std::string{"not a number"}});
  BOOST_CHECK(check_batch({wrong}, true, schemas, now, 60000).empty());
  BOOST_CHECK(check_batch({wrong}, false, schemas, now, 60000).empty());
  auto tomb = at(now, value{int64_t{2}});
  tomb.column = "tombstone";
  BOOST_CHECK(!check_batch({tomb}, true, schemas, now, 60000).empty());
  // Another group's tables are not this node's to judge: relayed as is.
  BOOST_CHECK(check_batch({tomb}, false, schemas, now, 60000).empty());
}

// A malformed definition is never refused: it is stored and ignored alike
// on every node (write_store::apply_definition), since refusing it stops
// the sync of every node that holds it (see tests/actors/hub.cpp).
BOOST_AUTO_TEST_CASE(definitions_are_never_refused) {
  auto schemas = contacts_schema();
  int64_t now = 1764000000000;
  auto def = at(now, value{std::string{
                         R"({"required":false,"schema":{"type":"string"}})"}});
  def.dataset = "crdt_schema";
  def.row = "gadgets";
  def.column = "name";
  BOOST_CHECK(check_batch({def}, true, schemas, now, 60000).empty());
  auto bad = def;
  bad.val = value{std::string{R"({"required":false,"schema":{"type":"date"}})"}};
  BOOST_CHECK(check_batch({def, bad}, true, schemas, now, 60000).empty());
  BOOST_CHECK(check_batch({bad}, false, schemas, now, 60000).empty());
}

BOOST_AUTO_TEST_SUITE_END()
