#include "protocol/stamps.hpp"

#include "protocol/schema.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <random>

using namespace crdt;

BOOST_AUTO_TEST_SUITE(stamps_tests)

BOOST_AUTO_TEST_CASE(the_greater_timestamp_wins_and_equal_ones_change_nothing) {
  record_stamps s;
  BOOST_CHECK(s.get("name").empty());
  BOOST_CHECK(s.offer("name", "2025-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa"));
  BOOST_CHECK(!s.offer("name", "2024-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa"));
  BOOST_CHECK(!s.offer("name", "2025-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa"));
  BOOST_CHECK(s.offer("name", "2025-01-01T00:00:00.000Z-0001-aaaaaaaaaaaaaaaa"));
  BOOST_CHECK_EQUAL(s.get("name"),
                    "2025-01-01T00:00:00.000Z-0001-aaaaaaaaaaaaaaaa");
  // Fields are independent.
  BOOST_CHECK(s.offer("age", "2020-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa"));
  BOOST_CHECK_EQUAL(s.size(), 2u);
}

BOOST_AUTO_TEST_CASE(creation_facts_keep_the_smallest_timestamp) {
  record_stamps s;
  BOOST_CHECK(s.offer("organization_id",
                      "2025-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa"));
  BOOST_CHECK(!s.offer("organization_id",
                       "2026-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa"));
  BOOST_CHECK(s.offer("organization_id",
                      "2024-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa"));
  BOOST_CHECK_EQUAL(s.get("organization_id"),
                    "2024-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa");
}

BOOST_AUTO_TEST_CASE(an_encoding_decodes_to_the_same_stamps) {
  record_stamps s;
  s.offer("name", "2025-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa");
  // Any bytes in a field name survive, long ones too.
  s.offer(std::string("odd\0\x80\xff name", 12), "x");
  s.offer(std::string(300, 'f'), std::string(200, 't'));
  record_stamps back;
  BOOST_REQUIRE(record_stamps::decode(s.encode(), back));
  BOOST_CHECK_EQUAL(back.size(), 3u);
  BOOST_CHECK_EQUAL(back.get("name"),
                    "2025-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa");
  BOOST_CHECK_EQUAL(back.get(std::string("odd\0\x80\xff name", 12)), "x");
  BOOST_CHECK_EQUAL(back.get(std::string(300, 'f')), std::string(200, 't'));
  BOOST_CHECK(record_stamps::decode("", back));
  BOOST_CHECK_EQUAL(back.size(), 0u);
}

BOOST_AUTO_TEST_CASE(bytes_that_are_no_encoding_are_refused) {
  record_stamps out;
  out.offer("name", "x");
  // A length past the end, a field without its timestamp, a varint that
  // never ends.
  for (std::string bad : {std::string("\x05" "ab"), std::string("\x01" "a"),
                          std::string("\x80\x80\x80\x80\x80\x80", 6)}) {
    BOOST_CHECK(!record_stamps::decode(bad, out));
    BOOST_CHECK_EQUAL(out.size(), 0u);
  }
}

// Against a model: random offers, encoded and decoded at random points,
// leave every field at the max (or, for creation facts, the min) of what
// was offered, whatever the order.
BOOST_AUTO_TEST_CASE(random_offers_match_the_model) {
  std::mt19937 rng{20261202};
  const std::vector<std::string> fields{"name", "age", "organization_id",
                                        "created_at", "tombstone"};
  for (int round = 0; round < 500; ++round) {
    record_stamps s;
    std::map<std::string, std::string> model;
    int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      const auto& f = fields[rng() % fields.size()];
      auto ts = "2025-01-01T00:00:00.000Z-"
                + std::to_string(1000 + rng() % 50) + "-aaaaaaaaaaaaaaaa";
      auto it = model.find(f);
      bool should = it == model.end()
                    || (is_creation_field(f) ? ts < it->second
                                             : ts > it->second);
      if (should)
        model[f] = ts;
      BOOST_CHECK_EQUAL(s.offer(f, ts), should);
      if (rng() % 4 == 0) {
        record_stamps copy;
        BOOST_REQUIRE(record_stamps::decode(s.encode(), copy));
        s = copy;
      }
    }
    BOOST_CHECK_EQUAL(s.size(), model.size());
    for (const auto& [f, ts] : model)
      BOOST_CHECK_EQUAL(s.get(f), ts);
  }
}

BOOST_AUTO_TEST_SUITE_END()
