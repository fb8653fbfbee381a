#include "protocol/cors.hpp"

#include <boost/test/unit_test.hpp>

using namespace crdt;

BOOST_AUTO_TEST_SUITE(cors_tests)

BOOST_AUTO_TEST_CASE(origins_are_parsed_and_checked) {
  std::string problem;
  auto none = parse_cors_origins("  ", problem);
  BOOST_REQUIRE(none);
  BOOST_TEST(!none->enabled());
  BOOST_TEST(!none->allow("https://a.example"));
  auto any = parse_cors_origins("*", problem);
  BOOST_REQUIRE(any);
  BOOST_TEST(*any->allow("https://a.example") == "*");
  BOOST_TEST(!any->allow("")); // not a browser's cross-origin request
  auto some = parse_cors_origins(
      "https://app.example.com, http://localhost:5173,http://[::1]:8080",
      problem);
  BOOST_REQUIRE_MESSAGE(some, problem);
  BOOST_TEST(some->origins.size() == 3u);
  BOOST_TEST(*some->allow("http://localhost:5173") == "http://localhost:5173");
  BOOST_TEST(!some->allow("http://localhost:5174"));
  BOOST_TEST(!some->allow("https://app.example.com.evil.net"));
  // A default port as a browser would never send it: matched without.
  auto ports = parse_cors_origins(
      "https://a.example:443, http://b.example:80, http://c.example:8080, "
      "http://d.example:443",
      problem);
  BOOST_REQUIRE_MESSAGE(ports, problem);
  auto allows = [&](const char* origin) {
    auto a = ports->allow(origin);
    return a && *a == origin;
  };
  BOOST_TEST(allows("https://a.example"));
  BOOST_TEST(allows("http://b.example"));
  BOOST_TEST(allows("http://c.example:8080"));
  BOOST_TEST(!ports->allow("http://c.example"));
  BOOST_TEST(allows("http://d.example:443"));
  for (const char* bad : {"app.example.com", "https://app.example.com/",
                          "https://App.example.com", "https://a.example:99999",
                          "https://a.example,", "https://a b", "://x"}) {
    problem.clear();
    BOOST_TEST(!parse_cors_origins(bad, problem), bad);
    BOOST_TEST(!problem.empty());
  }
}

BOOST_AUTO_TEST_CASE(headers_for_any_or_listed_origins) {
  auto any = cors_answer_headers("*", true);
  BOOST_TEST(any.front().second == "*");
  for (const auto& [k, v] : any)
    BOOST_TEST(k != "Vary");
  auto listed = cors_preflight_headers("https://a.example", false);
  bool vary = false, methods = false;
  for (const auto& [k, v] : listed) {
    vary |= k == "Vary" && v == "Origin";
    methods |= k == "Access-Control-Allow-Methods"
               && v.find("PATCH") != std::string::npos;
  }
  BOOST_TEST(vary);
  BOOST_TEST(methods);
}

BOOST_AUTO_TEST_SUITE_END()
