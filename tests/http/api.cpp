// Request and response mapping of the REST API (SPEC section 5): the
// success and error envelopes, error codes to statuses, record bodies, list
// query parameters, and the rendering of a freshly created record.

#include "http/api.hpp"

#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"
#include "storage/read_store.hpp"
#include "storage/write_store.hpp"

#include <caf/sec.hpp>

#include <boost/test/unit_test.hpp>

#include <filesystem>

using namespace crdt;

namespace {

rapidjson::Document json(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str(), s.size());
  BOOST_REQUIRE_MESSAGE(!d.HasParseError(), "not JSON: " << s);
  return d;
}

std::string str(const rapidjson::Value& v) {
  BOOST_REQUIRE(v.IsString());
  return {v.GetString(), v.GetStringLength()};
}

const char* items_schema = R"({"type":"object","properties":{
  "name":{"type":"string"},"qty":{"type":"integer"},"price":{"type":"number"},
  "active":{"type":"boolean"},"tags":{"type":"array"},"meta":{"type":"object"},
  "note":{"type":["string","null"]}}})";

table_ptr items() {
  auto t = table_schema::parse("items", items_schema);
  if (!t)
    BOOST_FAIL(describe(t.error()));
  return *t;
}

const std::string* header(const http_reply& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name)
      return &v;
  return nullptr;
}

} // namespace

BOOST_AUTO_TEST_SUITE(api_tests)

// -- envelopes ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_success_envelope) {
  auto ok
      = ok_reply(201, "Successfully created in t", 2, R"({"a":1},{"b":"x"})");
  BOOST_CHECK_EQUAL(ok.status, 201u);
  BOOST_CHECK(ok.headers.empty());
  auto d = json(ok.body);
  BOOST_REQUIRE(d.IsObject());
  BOOST_CHECK_EQUAL(d.MemberCount(), 4u);
  BOOST_CHECK(d["success"].IsTrue());
  BOOST_CHECK_EQUAL(str(d["message"]), "Successfully created in t");
  BOOST_CHECK_EQUAL(d["count"].GetInt(), 2);
  BOOST_REQUIRE(d["data"].IsArray());
  BOOST_REQUIRE_EQUAL(d["data"].Size(), 2u);
  BOOST_CHECK_EQUAL(d["data"][0]["a"].GetInt(), 1);
  BOOST_CHECK_EQUAL(str(d["data"][1]["b"]), "x");
  // No rows: an empty array.
  auto empty = json(ok_reply(200, "m", 0, "").body);
  BOOST_CHECK_EQUAL(empty["count"].GetInt(), 0);
  BOOST_CHECK(empty["data"].IsArray());
  BOOST_CHECK_EQUAL(empty["data"].Size(), 0u);
  // The message is escaped as JSON.
  auto quoted = json(ok_reply(200, "a \"quoted\"\nline\\", 0, "").body);
  BOOST_CHECK_EQUAL(str(quoted["message"]), "a \"quoted\"\nline\\");
}

BOOST_AUTO_TEST_CASE(the_error_envelope) {
  auto err = error_reply(
      400, "Invalid Schema", "contacts",
      {{"first_name", "expected string"}, {"shoe", "unknown field"}});
  BOOST_CHECK_EQUAL(err.status, 400u);
  BOOST_CHECK(!header(err, "Retry-After"));
  auto d = json(err.body);
  BOOST_CHECK(d["success"].IsFalse());
  BOOST_CHECK_EQUAL(d["status"].GetInt(), 400);
  BOOST_CHECK_EQUAL(str(d["message"]), "Invalid Schema");
  BOOST_CHECK_EQUAL(str(d["table"]), "contacts");
  BOOST_REQUIRE(d["errors"].IsArray());
  BOOST_REQUIRE_EQUAL(d["errors"].Size(), 2u);
  BOOST_CHECK_EQUAL(str(d["errors"][0]["field"]), "first_name");
  BOOST_CHECK_EQUAL(str(d["errors"][0]["message"]), "expected string");
  BOOST_CHECK_EQUAL(str(d["errors"][1]["field"]), "shoe");
  // Without a table or errors, those members are left out.
  auto bare = json(error_reply(404, "Not Found").body);
  BOOST_CHECK_EQUAL(bare["status"].GetInt(), 404);
  BOOST_CHECK(!bare.HasMember("table"));
  BOOST_CHECK(!bare.HasMember("errors"));
  BOOST_CHECK(!bare.HasMember("data"));
}

BOOST_AUTO_TEST_CASE(a_503_carries_retry_after) {
  auto busy = error_reply(503, "busy");
  BOOST_CHECK_EQUAL(busy.status, 503u);
  const auto* retry = header(busy, "Retry-After");
  BOOST_REQUIRE(retry);
  // delta-seconds: a non-negative integer.
  BOOST_CHECK(!retry->empty());
  BOOST_CHECK_EQUAL(retry->find_first_not_of("0123456789"), std::string::npos);
  BOOST_CHECK_EQUAL(json(busy.body)["status"].GetInt(), 503);
  auto mapped = error_reply(make_error(ec::overloaded, "queue full"));
  BOOST_CHECK(header(mapped, "Retry-After"));
  for (unsigned status : {400u, 404u, 405u, 413u, 500u})
    BOOST_CHECK(!header(error_reply(status, "x"), "Retry-After"));
}

// -- error mapping ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(errors_map_to_statuses) {
  struct {
    caf::error err;
    unsigned status;
  } cases[] = {
      {make_error(ec::not_found, "x"), 404},
      {make_error(ec::unknown_table, "x"), 404},
      {make_error(ec::bad_request, "x"), 400},
      {make_error(ec::bad_timestamp, "x"), 400},
      {make_error(ec::invalid_schema, "x"), 400},
      {make_error(ec::conflict, "x"), 409},
      {make_error(ec::overloaded, "x"), 503},
      {make_error(ec::counter_overflow, "x"), 503},
      {make_error(ec::timeout, "x"), 503},
      {caf::make_error(caf::sec::request_timeout), 503},
      {make_error(ec::storage_failure, "disk I/O error"), 500},
      {make_error(ec::schema_conflict, "x"), 500},
      {make_error(ec::sync_failure, "x"), 500},
      {caf::make_error(caf::sec::unexpected_message), 500},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(caf::to_string(c.err)) {
      auto r = error_reply(c.err, "contacts");
      BOOST_CHECK_EQUAL(r.status, c.status);
      auto d = json(r.body);
      BOOST_CHECK(d["success"].IsFalse());
      BOOST_CHECK_EQUAL(d["status"].GetUint(), c.status);
      BOOST_CHECK_EQUAL(str(d["table"]), "contacts");
      BOOST_CHECK_EQUAL(header(r, "Retry-After") != nullptr, c.status == 503);
    }
  }
  // Client errors carry the explanation.
  auto bad = json(error_reply(make_error(ec::bad_request, "Body needs a "
                                                          "'data' object"))
                      .body);
  BOOST_CHECK_EQUAL(str(bad["message"]), "Body needs a 'data' object");
  auto internal = json(
      error_reply(make_error(ec::storage_failure, "disk I/O error")).body);
  BOOST_CHECK(str(internal["message"]).find("disk I/O error")
              != std::string::npos);
}

// -- record bodies ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(record_bodies) {
  auto ok = parse_record_body(R"({"data":{"a":1,"b":"x"},"extra":true})");
  BOOST_REQUIRE(ok);
  BOOST_REQUIRE(ok->data);
  BOOST_CHECK(ok->data->IsObject());
  BOOST_CHECK_EQUAL((*ok->data)["a"].GetInt(), 1);
  BOOST_CHECK(parse_record_body(R"({"data":{}})"));
  struct {
    const char* body;
    const char* says;
  } bad[] = {
      {"", "Invalid JSON"},
      {"{not json", "Invalid JSON"},
      {R"({"data":{}} trailing)", "Invalid JSON"},
      {"[]", "JSON object"},
      {"\"data\"", "JSON object"},
      {"null", "JSON object"},
      {R"({"a":1})", "'data'"},
      {R"({"data":[1]})", "'data'"},
      {R"({"data":"x"})", "'data'"},
      {R"({"data":null})", "'data'"},
  };
  for (const auto& b : bad) {
    BOOST_TEST_CONTEXT(b.body) {
      auto r = parse_record_body(b.body);
      BOOST_REQUIRE(!r);
      BOOST_CHECK(is(r.error(), ec::bad_request));
      BOOST_CHECK_MESSAGE(describe(r.error()).find(b.says) != std::string::npos,
                          describe(r.error()));
      BOOST_CHECK_EQUAL(error_reply(r.error()).status, 400u);
    }
  }
  // Deep nesting is refused before the recursive parser sees it.
  std::string deep = "{\"data\":{\"a\":" + std::string(100000, '[')
                     + std::string(100000, ']') + "}}";
  auto r = parse_record_body(deep);
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::bad_request));
}

// -- list queries -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(list_queries) {
  auto t = items();
  std::vector<field_error> errors;
  auto q = parse_list_query(*t,
                            {{"pluck", "name,qty,name,created_at"},
                             {"limit", "5"},
                             {"offset", "2"},
                             {"order", "-price"}},
                            errors);
  BOOST_REQUIRE(q);
  BOOST_CHECK(errors.empty());
  BOOST_CHECK(
      (q->pluck == std::vector<std::string>{"name", "qty", "created_at"}));
  BOOST_REQUIRE(q->limit);
  BOOST_CHECK_EQUAL(*q->limit, 5);
  BOOST_CHECK_EQUAL(q->offset, 2);
  BOOST_CHECK_EQUAL(q->order, "price");
  BOOST_CHECK(q->descending);
  // Ascending order, and the defaults.
  q = parse_list_query(*t, {{"order", "name"}}, errors);
  BOOST_REQUIRE(q);
  BOOST_CHECK_EQUAL(q->order, "name");
  BOOST_CHECK(!q->descending);
  BOOST_CHECK(!q->limit);
  BOOST_CHECK_EQUAL(q->offset, 0);
  BOOST_CHECK(q->pluck.empty());
  q = parse_list_query(*t, {}, errors);
  BOOST_REQUIRE(q);
  BOOST_CHECK(q->order.empty());
  BOOST_CHECK(!q->descending);
  q = parse_list_query(*t, {{"limit", "0"}}, errors);
  BOOST_REQUIRE(q);
  BOOST_CHECK_EQUAL(*q->limit, 0);
  // order given twice: the last one, with its own direction (the first's
  // '-' once stuck to the second).
  q = parse_list_query(*t, {{"order", "-price"}, {"order", "name"}}, errors);
  BOOST_REQUIRE(q);
  BOOST_CHECK_EQUAL(q->order, "name");
  BOOST_CHECK(!q->descending);
}

BOOST_AUTO_TEST_CASE(bad_list_queries_name_the_parameter) {
  auto t = items();
  struct {
    std::pair<std::string, std::string> param;
    const char* field;
  } cases[] = {
      {{"pluck", "nope"}, "pluck"},
      {{"pluck", "name,nope"}, "pluck"},
      {{"pluck", "tombstone"}, "pluck"},
      {{"pluck", ""}, "pluck"},
      {{"limit", "-5"}, "limit"},
      {{"limit", "x"}, "limit"},
      {{"limit", ""}, "limit"},
      {{"limit", "99999999999999999999"}, "limit"},
      {{"offset", "1.5"}, "offset"},
      {{"offset", "-1"}, "offset"},
      {{"order", "nope"}, "order"},
      {{"order", "-nope"}, "order"},
      {{"order", "tombstone"}, "order"},
      {{"order", "-"}, "order"},
      {{"order", ""}, "order"},
      {{"shoe", "1"}, "shoe"},
      {{"Limit", "1"}, "Limit"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.param.first << "=" << c.param.second) {
      std::vector<field_error> errors;
      auto q = parse_list_query(*t, {c.param}, errors);
      BOOST_REQUIRE(!q);
      BOOST_CHECK(is(q.error(), ec::bad_request));
      BOOST_REQUIRE_EQUAL(errors.size(), 1u);
      BOOST_CHECK_EQUAL(errors[0].field, c.field);
      BOOST_CHECK(!errors[0].message.empty());
    }
  }
  // An unknown plucked field is named in the message.
  std::vector<field_error> errors;
  BOOST_REQUIRE(!parse_list_query(*t, {{"pluck", "name,shoe_size"}}, errors));
  BOOST_REQUIRE_EQUAL(errors.size(), 1u);
  BOOST_CHECK(errors[0].message.find("shoe_size") != std::string::npos);
  // Every problem is reported, not just the first.
  errors.clear();
  BOOST_REQUIRE(!parse_list_query(*t, {{"limit", "-1"}, {"x", "1"}}, errors));
  BOOST_CHECK_EQUAL(errors.size(), 2u);
}

// -- created records ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(created_records_render_in_schema_types) {
  auto t = items();
  auto data = json(R"({"name":"w","qty":3,"price":2,"active":true,
                       "tags":["a",{"b":[]}],"meta":{"k":1}})");
  auto c = make_change(record_change::create, *t, "01JAR2HPE7JJS1HYQZ7FYK0S4D",
                       data, {"org", "acct", "member"});
  BOOST_CHECK_EQUAL(c.table, "items");
  BOOST_CHECK_EQUAL(c.fields.size(), 6u);
  auto text = render_created(*t, c, "2026-01-01T00:00:00.000Z");
  BOOST_CHECK_EQUAL(
      text,
      "{\"id\":\"01JAR2HPE7JJS1HYQZ7FYK0S4D\",\"organization_id\":\"org\","
      "\"created_by\":\"acct\",\"updated_by\":\"acct\","
      "\"created_at\":\"2026-01-01T00:00:00.000Z\","
      "\"updated_at\":\"2026-01-01T00:00:00.000Z\",\"name\":\"w\","
      "\"qty\":3,\"price\":2.0,\"active\":true,\"tags\":[\"a\",{\"b\":[]}],"
      "\"meta\":{\"k\":1},\"note\":null}");
  auto d = json(text);
  BOOST_CHECK(d["price"].IsDouble());
  BOOST_CHECK(!d.HasMember("tombstone"));
  // false, explicit null, and a principal without an account.
  auto other = json(R"({"active":false,"note":null,"name":"x"})");
  auto c2 = make_change(record_change::create, *t, "01JAR2HPE7JJS1HYQZ7FYK0S4E",
                        other, {"org", "", ""});
  auto d2 = json(render_created(*t, c2, "2026-01-01T00:00:00.000Z"));
  BOOST_CHECK(d2["active"].IsFalse());
  BOOST_CHECK(d2["note"].IsNull());
  BOOST_CHECK(d2["qty"].IsNull());
  BOOST_CHECK(d2["created_by"].IsNull());
  BOOST_CHECK(d2["updated_by"].IsNull());
  BOOST_CHECK_EQUAL(str(d2["name"]), "x");
}

// What POST answers equals what a GET of the same record answers afterwards:
// the created record, stamped and committed, read back by the reader.
BOOST_AUTO_TEST_CASE(a_created_record_renders_like_a_read) {
  auto dir = std::filesystem::temp_directory_path()
             / ("api-tests-" + random_node_id());
  struct cleanup {
    std::filesystem::path p;
    ~cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(p, ignored);
    }
  } guard{dir};
  auto t = items();
  schema_set schemas{{"items", t}};
  store_options opts;
  opts.path = (dir / "db.sqlite").string();
  opts.synchronous = "NORMAL";
  auto w = write_store::open(opts, schemas);
  BOOST_REQUIRE(w);
  auto data = json(R"({"name":"w\u00e9","qty":-3,"price":2.25,"active":true,
                       "tags":["a",1,null],"meta":{"k":{"z":[true]}},
                       "note":null})");
  auto c = make_change(record_change::create, *t, "01JAR2HPE7JJS1HYQZ7FYK0S4D",
                       data, {"org", "acct", "member"});
  std::vector<std::string> stamps;
  for (size_t i = 0; i < message_count(c); ++i)
    stamps.push_back(to_string(
        timestamp{1764000000000, static_cast<uint32_t>(i), (*w)->node_id()}));
  write_batch b;
  b.messages = make_messages(c, stamps);
  BOOST_REQUIRE((*w)->commit({&b}));
  auto r = read_store::open(opts.path, std::make_shared<schema_catalog>(schemas));
  BOOST_REQUIRE(r);
  auto got = (*r)->get("items", c.id, "");
  BOOST_REQUIRE(got);
  BOOST_CHECK_EQUAL(render_created(*t, c, iso8601(1764000000000)), *got);
}

BOOST_AUTO_TEST_CASE(loopback_addresses) {
  for (auto a : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"})
    BOOST_CHECK_MESSAGE(loopback_address(a), a);
  for (auto a : {"", "10.0.0.1", "0.0.0.0", "::", "::ffff:10.0.0.1",
                 "1127.0.0.1", "fe80::1", "localhost"})
    BOOST_CHECK_MESSAGE(!loopback_address(a), a);
}

// A hub without SYNC_SECRET once served /sync to anyone who could reach
// it: every record and password hash out, any account in.
BOOST_AUTO_TEST_CASE(sync_needs_the_secret_or_a_caller_on_this_machine) {
  // No secret: this machine only (a loopback connection whose request does
  // not say a proxy relayed it; server.cpp decides that, tests/e2e/
  // test_proxies.py covers it).
  BOOST_CHECK(sync_refusal("", "", true).empty());
  BOOST_CHECK(!sync_refusal("", "", false).empty());
  BOOST_CHECK(!sync_refusal("", "anything", false).empty());
  // A secret: from anywhere, only with it.
  BOOST_CHECK(sync_refusal("s3cret", "s3cret", false).empty());
  BOOST_CHECK(!sync_refusal("s3cret", "", true).empty());
  BOOST_CHECK(!sync_refusal("s3cret", "s3cre", false).empty());
  BOOST_CHECK(!sync_refusal("s3cret", "s3cret ", false).empty());
}

BOOST_AUTO_TEST_SUITE_END()
