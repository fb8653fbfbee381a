#include "protocol/message.hpp"

#include "protocol/error.hpp"
#include "protocol/json_guard.hpp"

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
