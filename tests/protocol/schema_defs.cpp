// Table definitions as messages: canonical text, compatibility, assembly.

#include "protocol/schema_defs.hpp"
#include "tests/support.hpp"

#include <boost/test/unit_test.hpp>

using namespace crdt;

namespace {

table_ptr parse(const char* name, const char* json) {
  auto t = table_schema::parse(name, json);
  BOOST_REQUIRE_MESSAGE(t, test::why(t));
  return *t;
}

message def_message(std::string table, std::string column, std::string def) {
  return message{"2026-01-01T00:00:00.000Z-0000-0000000000000001",
                 schema_dataset, std::move(table), std::move(column),
                 value{std::move(def)}};
}

def_map winners_of(const std::vector<field_def>& defs, int64_t first = 0) {
  def_map out;
  int64_t i = first;
  for (const auto& d : defs) {
    char ts[64];
    std::snprintf(ts, sizeof ts, "2026-01-01T00:00:00.%03lldZ-0000-0000000000000001",
                  static_cast<long long>(i++));
    out[d.table][d.column] = def_winner{d.definition, ts};
  }
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(schema_defs_tests)

BOOST_AUTO_TEST_CASE(equal_definitions_have_equal_text_whatever_the_key_order) {
  auto a = parse("t", R"({"properties":{"x":{"type":"string","maxLength":3}},
                          "required":["x"]})");
  auto b = parse("t", R"({"required":["x"],"type":"object",
                          "properties":{"x":{"maxLength":3,"type":"string"}}})");
  auto da = definitions_of(*a);
  auto db = definitions_of(*b);
  BOOST_REQUIRE_EQUAL(da.size(), 2u);
  BOOST_CHECK_EQUAL(da[0].column, table_marker);
  BOOST_CHECK_EQUAL(da[1].definition, db[1].definition);
  BOOST_CHECK_EQUAL(da[1].definition,
                    R"({"required":true,"schema":{"maxLength":3,"type":"string"}})");
  BOOST_CHECK_EQUAL(type_of_definition(da[1].definition), "string");
}

BOOST_AUTO_TEST_CASE(a_definition_round_trips_to_the_same_table) {
  auto t = parse("contacts", R"({"properties":{
      "first_name":{"type":"string","maxLength":200,"x-index":true},
      "age":{"type":["integer","null"],"minimum":0},
      "tags":{"type":"array"}},"required":["first_name"]})");
  auto built = assemble(winners_of(definitions_of(*t)));
  BOOST_REQUIRE_EQUAL(built.count("contacts"), 1u);
  const auto& b = *built.at("contacts");
  BOOST_REQUIRE_EQUAL(b.fields().size(), 3u);
  // Field order is the order of the definitions' timestamps.
  BOOST_CHECK_EQUAL(b.fields()[0].name, "first_name");
  BOOST_CHECK_EQUAL(b.fields()[1].name, "age");
  BOOST_CHECK(b.fields()[0].indexed);
  BOOST_CHECK(b.fields()[1].nullable);
  BOOST_CHECK(b.required("first_name"));
  BOOST_CHECK(!b.required("age"));
  // It validates like the original.
  rapidjson::Document d;
  d.Parse(R"({"first_name":"a","age":-1})");
  BOOST_CHECK(!b.validate(d, true).empty());
  d.Parse(R"({"age":3})");
  BOOST_CHECK(!b.validate(d, true).empty()); // first_name is required
  d.Parse(R"({"first_name":"a","age":3,"tags":[1]})");
  BOOST_CHECK(b.validate(d, true).empty());
}

BOOST_AUTO_TEST_CASE(another_type_is_refused_naming_the_field_and_both_types) {
  auto t = parse("t", R"({"properties":{"age":{"type":"integer"}}})");
  auto winners = winners_of(definitions_of(*t));
  auto other = parse("t", R"({"properties":{"age":{"type":"string"}}})");
  auto why = incompatibility(winners, definitions_of(*other));
  BOOST_CHECK_NE(why.find("'age'"), std::string::npos);
  BOOST_CHECK_NE(why.find("integer"), std::string::npos);
  BOOST_CHECK_NE(why.find("string"), std::string::npos);
  // Other constraints on the same type are a change too.
  auto tighter = parse("t", R"({"properties":{"age":{"type":"integer","maximum":9}}})");
  BOOST_CHECK(!incompatibility(winners, definitions_of(*tighter)).empty());
  // The same field again, and a new field beside it, are fine.
  auto more = parse("t", R"({"properties":{"age":{"type":"integer"},
                                          "name":{"type":"string"}}})");
  BOOST_CHECK(incompatibility(winners, definitions_of(*more)).empty());
  // So is a field of that name in another table.
  auto elsewhere = parse("u", R"({"properties":{"age":{"type":"string"}}})");
  BOOST_CHECK(incompatibility(winners, definitions_of(*elsewhere)).empty());
}

BOOST_AUTO_TEST_CASE(received_definitions_are_checked_like_files) {
  auto good = R"({"required":false,"schema":{"type":"string"}})";
  BOOST_CHECK(check_definition(def_message("t", "x", good)).empty());
  BOOST_CHECK(check_definition(def_message("t", table_marker, "{}")).empty());
  // Reserved or illegal names, system fields.
  BOOST_CHECK(!check_definition(def_message("crdt_accounts", "x", good)).empty());
  BOOST_CHECK(!check_definition(def_message("T", "x", good)).empty());
  BOOST_CHECK(!check_definition(def_message("t", "id", good)).empty());
  BOOST_CHECK(!check_definition(def_message("t", "X y", good)).empty());
  // Not a definition, or one the loader refuses.
  for (const char* bad :
       {"", "{}", "[]", R"({"schema":{"type":"string"}})",
        R"({"required":false,"schema":{"type":"string"},"x":1})",
        R"({"required":false,"schema":{"type":"date"}})",
        R"({"required":false,"schema":{}})",
        R"({"required":false,"schema":{"type":"string","x-index":3}})"})
    BOOST_CHECK_MESSAGE(!check_definition(def_message("t", "x", bad)).empty(),
                        bad);
  auto number = def_message("t", "x", "");
  number.val = value{int64_t{3}};
  BOOST_CHECK(!check_definition(number).empty());
  BOOST_CHECK(!check_definition(def_message("t", table_marker, "[]")).empty());
}

BOOST_AUTO_TEST_CASE(a_table_with_only_its_marker_has_no_fields) {
  def_map w;
  w["empty"][table_marker] = def_winner{"{}", "2026-01-01T00:00:00.000Z-0000-0000000000000001"};
  auto built = assemble(w);
  BOOST_REQUIRE_EQUAL(built.count("empty"), 1u);
  BOOST_CHECK(built.at("empty")->fields().empty());
}

BOOST_AUTO_TEST_CASE(top_level_constraints_are_refused_annotations_are_not) {
  BOOST_CHECK(!table_schema::parse("t", R"({"properties":{},"minProperties":1})"));
  BOOST_CHECK(!table_schema::parse("t", R"({"type":"array","properties":{}})"));
  BOOST_CHECK(table_schema::parse(
      "t", R"({"$schema":"http://json-schema.org/draft-04/schema#",
               "title":"T","description":"d","properties":{}})"));
  std::string many = R"({"properties":{)";
  for (size_t i = 0; i <= max_fields; ++i)
    many += (i ? "," : "") + std::string{"\"f"} + std::to_string(i)
            + R"(":{"type":"string"})";
  many += "}}";
  BOOST_CHECK(!table_schema::parse("t", many));
  // Found by fuzz_definition: a lone surrogate escape in a keyword made a
  // definition that a hub would refuse.
  BOOST_CHECK(!table_schema::parse(
      "t", R"({"properties":{"a":{"type":"string","x\udccc":1}}})"));
  // Found by fuzz_definition: a property given twice made two columns.
  BOOST_CHECK(!table_schema::parse(
      "t", R"({"properties":{"a":{"type":"string"},"a":{"type":"string"}}})"));
}

BOOST_AUTO_TEST_CASE(patterns_that_would_explode_are_refused) {
  BOOST_CHECK(table_schema::parse(
      "t", R"({"properties":{"code":{"type":"string","pattern":"^[A-Z]{2}[0-9]{4}$"}}})"));
  for (const char* bad :
       {R"J({"properties":{"x":{"type":"string","pattern":"((a{60000}){60000})"}}})J",
        R"J({"properties":{"x":{"type":"string","pattern":"a{1}b{2}c{3}"}}})J",
        R"J({"properties":{"x":{"type":"array","items":{"type":"string","pattern":"(a{500})"}}}})J",
        R"({"properties":{"x":{"type":"object","patternProperties":{"^a":{}}}}})"})
    BOOST_CHECK_MESSAGE(!table_schema::parse("t", bad), bad);
  std::string deep = R"({"properties":{"x":{"type":"object","default":)";
  for (int i = 0; i < 100; ++i)
    deep += "[";
  for (int i = 0; i < 100; ++i)
    deep += "]";
  deep += "}}}";
  BOOST_CHECK(!table_schema::parse("t", deep));
}

BOOST_AUTO_TEST_CASE(a_table_holds_at_most_max_fields) {
  def_map w;
  std::vector<field_def> proposed;
  for (size_t i = 0; i < max_fields + 5; ++i) {
    char ts[64];
    std::snprintf(ts, sizeof ts, "2026-01-01T00:00:%02zu.%03zuZ-0000-0000000000000001",
                  i / 1000, i % 1000);
    field_def d{"wide", "f" + std::to_string(i),
                R"({"required":false,"schema":{"type":"string"}})"};
    if (i < max_fields)
      w["wide"][d.column] = def_winner{d.definition, ts};
    else
      proposed.push_back(d);
  }
  BOOST_CHECK(!over_capacity(w, proposed).empty());
  BOOST_CHECK(over_capacity(w, {}).empty());
  // Definitions past the bound (from a peer) leave the later fields out,
  // alike everywhere, and keep the table.
  for (size_t i = 0; i < proposed.size(); ++i)
    w["wide"][proposed[i].column]
        = def_winner{proposed[i].definition, "2026-01-01T00:01:00.000Z-0000-000000000000000" + std::to_string(i)};
  auto built = assemble(w);
  BOOST_REQUIRE_EQUAL(built.count("wide"), 1u);
  BOOST_CHECK_EQUAL(built.at("wide")->fields().size(), max_fields);
  BOOST_CHECK(!built.at("wide")->find("f1002"));
}

BOOST_AUTO_TEST_SUITE_END()
