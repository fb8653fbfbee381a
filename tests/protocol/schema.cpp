#include "protocol/schema.hpp"

#include "protocol/error.hpp"

#include <boost/test/unit_test.hpp>

using namespace crdt;

namespace {

const char* contacts = R"({
  "type": "object",
  "properties": {
    "first_name":    { "type": "string", "maxLength": 5 },
    "middle_name":   { "type": ["string", "null"] },
    "age":           { "type": "integer", "minimum": 0 },
    "score":         { "type": "number" },
    "vip":           { "type": "boolean" },
    "tags":          { "type": "array" },
    "meta":          { "type": "object" }
  },
  "required": ["first_name"]
})";

table_ptr table() {
  auto t = table_schema::parse("contacts", contacts);
  BOOST_REQUIRE(t);
  return *t;
}

std::vector<field_error> check(const std::string& data, bool create) {
  rapidjson::Document d;
  d.Parse(data.c_str());
  return table()->validate(d, create);
}

rapidjson::Document doc(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  return d;
}

} // namespace

BOOST_AUTO_TEST_SUITE(schema_tests)

BOOST_AUTO_TEST_CASE(fields_and_types_are_read) {
  auto t = table();
  BOOST_CHECK_EQUAL(t->name(), "contacts");
  BOOST_REQUIRE_EQUAL(t->fields().size(), 7u);
  BOOST_CHECK(t->find("first_name")->type == field_type::text);
  BOOST_CHECK(!t->find("first_name")->nullable);
  BOOST_CHECK(t->find("middle_name")->nullable);
  BOOST_CHECK(t->find("age")->type == field_type::integer);
  BOOST_CHECK(t->find("score")->type == field_type::real);
  BOOST_CHECK(t->find("vip")->type == field_type::boolean);
  BOOST_CHECK(t->find("tags")->type == field_type::array);
  BOOST_CHECK(t->find("meta")->type == field_type::object);
  BOOST_CHECK(!t->find("nope"));
  BOOST_CHECK_EQUAL(sql_type(field_type::boolean), std::string{"INTEGER"});
}

BOOST_AUTO_TEST_CASE(bad_schemas_are_refused_with_the_reason) {
  auto props = [](const std::string& p) {
    return R"({"type":"object","properties":{)" + p + "}}";
  };
  struct {
    std::string name, text;
  } cases[] = {
      {"Contacts", props(R"("a":{"type":"string"})")},
      {"crdt_x", props(R"("a":{"type":"string"})")},
      {"sqlite_x", props(R"("a":{"type":"string"})")},
      {"config_sync", props(R"("a":{"type":"string"})")},
      {"t", "not json"},
      {"t", R"({"type":"object"})"},
      {"t", props(R"("tombstone":{"type":"integer"})")},
      {"t", props(R"("Bad":{"type":"string"})")},
      {"t", props(R"("a":{"type":"date"})")},
      {"t", props(R"("a":{"type":["string","integer"]})")},
      {"t", props(R"("a":{})")},
      {"t",
       R"({"type":"object","properties":{"a":{"type":"string"}},"required":["b"]})"},
  };
  for (const auto& c : cases) {
    auto t = table_schema::parse(c.name, c.text);
    BOOST_CHECK_MESSAGE(!t, c.name << ": " << c.text);
    if (!t)
      BOOST_CHECK(is(t.error(), ec::schema_conflict));
  }
}

BOOST_AUTO_TEST_CASE(x_index_marks_a_field_for_ordered_lists) {
  auto t = table_schema::parse(
      "t", R"({"properties":{"a":{"type":"string","x-index":true},
               "b":{"type":"integer"}}})");
  BOOST_REQUIRE(t);
  BOOST_CHECK((*t)->find("a")->indexed);
  BOOST_CHECK(!(*t)->find("b")->indexed);
  auto bad = table_schema::parse(
      "t", R"({"properties":{"a":{"type":"string","x-index":"yes"}}})");
  BOOST_REQUIRE(!bad);
  BOOST_CHECK(describe(bad.error()).find("x-index") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(validation_names_unknown_and_system_fields) {
  auto errors = check(R"({"first_name":"a","shoe":1,"tombstone":1})", true);
  BOOST_REQUIRE_EQUAL(errors.size(), 2u);
  BOOST_CHECK_EQUAL(errors[0].field, "shoe");
  BOOST_CHECK_EQUAL(errors[0].message, "unknown field");
  BOOST_CHECK_EQUAL(errors[1].field, "tombstone");
}

BOOST_AUTO_TEST_CASE(validation_checks_types_and_keywords) {
  BOOST_CHECK(check(R"({"first_name":"Ada","age":3,"score":1,"vip":true,
                        "tags":[],"meta":{},"middle_name":null})",
                    true)
                  .empty());
  auto e = check(R"({"first_name":5})", true);
  BOOST_REQUIRE_EQUAL(e.size(), 1u);
  BOOST_CHECK_EQUAL(e[0].field, "first_name");
  BOOST_CHECK_EQUAL(e[0].message, "expected string");
  e = check(R"({"first_name":"toolong"})", true);
  BOOST_REQUIRE_EQUAL(e.size(), 1u);
  BOOST_CHECK_EQUAL(e[0].message, "string too long");
  BOOST_CHECK(!check(R"({"first_name":"a","age":1.5})", true).empty());
  e = check(R"({"first_name":"a","age":18446744073709551615})", true);
  BOOST_REQUIRE_EQUAL(e.size(), 1u);
  BOOST_CHECK_EQUAL(e[0].message, "integer out of range");
  BOOST_CHECK(
      check(R"({"first_name":"a","age":9223372036854775807})", true).empty());
  BOOST_CHECK(!check(R"({"first_name":"a","age":-1})", true).empty());
  BOOST_CHECK(!check(R"({"first_name":null})", true).empty());
  BOOST_CHECK(!check(R"({"first_name":"a","tags":{}})", true).empty());
}

BOOST_AUTO_TEST_CASE(required_applies_to_creates_only) {
  auto e = check(R"({"age":3})", true);
  BOOST_REQUIRE_EQUAL(e.size(), 1u);
  BOOST_CHECK_EQUAL(e[0].field, "first_name");
  BOOST_CHECK_EQUAL(e[0].message, "required field missing");
  BOOST_CHECK(check(R"({"age":3})", false).empty());
}

BOOST_AUTO_TEST_CASE(a_client_id_is_allowed_on_create_only) {
  BOOST_CHECK(
      check(R"({"id":"01JAR2HPE7JJS1HYQZ7FYK0S4D","first_name":"a"})", true)
          .empty());
  BOOST_CHECK(!check(R"({"id":"01JAR2HPE7JJS1HYQZ7FYK0S4D"})", false).empty());
}

BOOST_AUTO_TEST_CASE(values_become_message_values) {
  auto t = table();
  auto v = [&](const char* f, const char* json) {
    auto d = doc(json);
    return to_message_value(*t->find(f), d);
  };
  BOOST_CHECK(v("vip", "true") == value{int64_t{1}});
  BOOST_CHECK(v("vip", "false") == value{int64_t{0}});
  BOOST_CHECK(v("age", "7") == value{int64_t{7}});
  BOOST_CHECK(v("score", "7") == value{7.0});
  BOOST_CHECK(v("tags", R"([1, "a"])") == value{std::string{R"([1,"a"])"}});
  BOOST_CHECK(v("meta", R"({"k": 1})") == value{std::string{R"({"k":1})"}});
  BOOST_CHECK(v("middle_name", "null") == value{});
}

BOOST_AUTO_TEST_CASE(received_values_must_fit_their_field) {
  auto t = table();
  const auto& f = *t;
  BOOST_CHECK(value_fits(*f.find("first_name"), value{std::string{"x"}}));
  BOOST_CHECK(!value_fits(*f.find("first_name"), value{}));
  BOOST_CHECK(value_fits(*f.find("middle_name"), value{}));
  BOOST_CHECK(value_fits(*f.find("vip"), value{int64_t{1}}));
  BOOST_CHECK(!value_fits(*f.find("vip"), value{int64_t{2}}));
  BOOST_CHECK(value_fits(*f.find("age"), value{int64_t{2}}));
  BOOST_CHECK(!value_fits(*f.find("age"), value{2.5}));
  BOOST_CHECK(value_fits(*f.find("score"), value{2.5}));
  BOOST_CHECK(value_fits(*f.find("tags"), value{std::string{"[1]"}}));
  BOOST_CHECK(!value_fits(*f.find("tags"), value{std::string{"{}"}}));
  BOOST_CHECK(!value_fits(*f.find("meta"), value{std::string{"nope"}}));
  // JSON text whose strings decode to something that is not UTF-8 (lone
  // surrogates) fits like any other, so that every node applies it alike;
  // it is answered as its text (read_store_tests).
  BOOST_CHECK(value_fits(*f.find("meta"),
                         value{std::string{R"({"a":"\udc00"})"}}));
}

BOOST_AUTO_TEST_CASE(identifiers) {
  BOOST_CHECK(valid_identifier("contacts"));
  BOOST_CHECK(valid_identifier("a1_b"));
  BOOST_CHECK(!valid_identifier("1a"));
  BOOST_CHECK(!valid_identifier("a-b"));
  BOOST_CHECK(!valid_identifier(std::string(64, 'a')));
  BOOST_CHECK(valid_identifier(std::string(63, 'a')));
}

BOOST_AUTO_TEST_SUITE_END()
