#include "http/api.hpp"

#include "protocol/error.hpp"

#include <caf/sec.hpp>

#include <boost/test/unit_test.hpp>

using namespace crdt;

namespace {

rapidjson::Document json(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str());
  BOOST_REQUIRE(!d.HasParseError());
  return d;
}

table_ptr items() {
  return *table_schema::parse("items", R"({"type":"object","properties":{
    "name":{"type":"string"},"qty":{"type":"integer"},"price":{"type":"number"},
    "active":{"type":"boolean"},"tags":{"type":"array"},"meta":{"type":"object"},
    "note":{"type":["string","null"]}}})");
}

} // namespace

BOOST_AUTO_TEST_SUITE(api_tests)

BOOST_AUTO_TEST_CASE(envelopes) {
  auto ok = ok_reply(201, "Successfully created in t", 2, R"({"a":1},{"b":2})");
  BOOST_CHECK_EQUAL(ok.status, 201u);
  auto d = json(ok.body);
  BOOST_CHECK(d["success"].GetBool());
  BOOST_CHECK_EQUAL(d["count"].GetInt(), 2);
  BOOST_CHECK_EQUAL(d["data"].Size(), 2u);
  BOOST_CHECK_EQUAL(json(ok_reply(200, "m", 0, "").body)["data"].Size(), 0u);
  auto err = error_reply(400, "Invalid Schema", "t", {{"f", "expected string"}});
  d = json(err.body);
  BOOST_CHECK(!d["success"].GetBool());
  BOOST_CHECK_EQUAL(d["status"].GetInt(), 400);
  BOOST_CHECK_EQUAL(std::string{d["table"].GetString()}, "t");
  BOOST_CHECK_EQUAL(std::string{d["errors"][0]["field"].GetString()}, "f");
  auto busy = error_reply(503, "busy");
  BOOST_REQUIRE_EQUAL(busy.headers.size(), 1u);
  BOOST_CHECK_EQUAL(busy.headers[0].first, "Retry-After");
}

BOOST_AUTO_TEST_CASE(errors_map_to_statuses) {
  BOOST_CHECK_EQUAL(error_reply(make_error(ec::not_found, "x")).status, 404u);
  BOOST_CHECK_EQUAL(error_reply(make_error(ec::unknown_table, "x")).status, 404u);
  BOOST_CHECK_EQUAL(error_reply(make_error(ec::bad_request, "x")).status, 400u);
  BOOST_CHECK_EQUAL(error_reply(make_error(ec::conflict, "x")).status, 409u);
  BOOST_CHECK_EQUAL(error_reply(make_error(ec::overloaded, "x")).status, 503u);
  BOOST_CHECK_EQUAL(error_reply(caf::make_error(caf::sec::request_timeout)).status, 503u);
  BOOST_CHECK_EQUAL(error_reply(make_error(ec::storage_failure, "x")).status, 500u);
}

BOOST_AUTO_TEST_CASE(record_bodies) {
  BOOST_CHECK(parse_record_body(R"({"data":{"a":1}})"));
  for (const char* bad : {"{not json", "[]", R"({"a":1})", R"({"data":[1]})",
                          R"({"data":"x"})", ""})
    BOOST_CHECK_MESSAGE(!parse_record_body(bad), bad);
}

BOOST_AUTO_TEST_CASE(list_queries) {
  auto t = items();
  std::vector<field_error> errors;
  auto q = parse_list_query(*t, {{"pluck", "name,qty,name"}, {"limit", "5"},
                                 {"offset", "2"}, {"order", "-price"}},
                            errors);
  BOOST_REQUIRE(q);
  BOOST_CHECK((q->pluck == std::vector<std::string>{"name", "qty"}));
  BOOST_CHECK_EQUAL(*q->limit, 5);
  BOOST_CHECK_EQUAL(q->offset, 2);
  BOOST_CHECK_EQUAL(q->order, "price");
  BOOST_CHECK(q->descending);
  for (auto bad : std::vector<std::pair<std::string, std::string>>{
         {"pluck", "nope"}, {"limit", "-5"}, {"limit", "x"}, {"offset", "1.5"},
         {"order", "tombstone"}, {"shoe", "1"}}) {
    errors.clear();
    BOOST_CHECK_MESSAGE(!parse_list_query(*t, {bad}, errors), bad.first);
    BOOST_CHECK(!errors.empty());
  }
}

BOOST_AUTO_TEST_CASE(created_records_render_in_schema_types) {
  auto t = items();
  auto data = json(R"({"name":"w","qty":3,"price":2,"active":true,
                       "tags":["a"],"meta":{"k":1}})");
  auto c = make_change(record_change::create, *t, "01JAR2HPE7JJS1HYQZ7FYK0S4D",
                       data, {"org", "acct"});
  auto d = json(render_created(*t, c, "2026-01-01T00:00:00.000Z"));
  BOOST_CHECK_EQUAL(d["qty"].GetInt(), 3);
  BOOST_CHECK(d["price"].IsDouble());
  BOOST_CHECK(d["active"].IsTrue());
  BOOST_CHECK(d["tags"].IsArray());
  BOOST_CHECK(d["meta"].IsObject());
  BOOST_CHECK(d["note"].IsNull());
  BOOST_CHECK_EQUAL(std::string{d["organization_id"].GetString()}, "org");
  BOOST_CHECK_EQUAL(std::string{d["created_at"].GetString()},
                    "2026-01-01T00:00:00.000Z");
  BOOST_CHECK(!d.HasMember("tombstone"));
}

BOOST_AUTO_TEST_SUITE_END()
