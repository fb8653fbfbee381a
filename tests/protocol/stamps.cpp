#include "protocol/stamps.hpp"

#include "protocol/schema.hpp"
#include "protocol/timestamp.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <random>
#include <string>
#include <vector>

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

// The first encoding (length-prefixed pairs) is what databases written
// before the coded one hold: it must still be read.
BOOST_AUTO_TEST_CASE(the_first_encoding_is_still_read) {
  std::string plain;
  plain += '\x04';
  plain += "name";
  plain += '\x2e';
  plain += "2025-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa";
  plain += '\x03';
  plain += "age";
  plain += '\x01';
  plain += "x";
  record_stamps back;
  BOOST_REQUIRE(record_stamps::decode(plain, back));
  BOOST_CHECK_EQUAL(back.size(), 2u);
  BOOST_CHECK_EQUAL(back.get("name"),
                    "2025-01-01T00:00:00.000Z-0000-aaaaaaaaaaaaaaaa");
  BOOST_CHECK_EQUAL(back.get("age"), "x");
  // Re-encoded, it takes the current form and reads back the same.
  record_stamps again;
  BOOST_REQUIRE(record_stamps::decode(back.encode(), again));
  BOOST_CHECK_EQUAL(again.get("name"), back.get("name"));
  BOOST_CHECK_EQUAL(again.get("age"), "x");
}

// A create's ten stamps share their time and node: coded against each
// other they take well under half of the 46 bytes each.
BOOST_AUTO_TEST_CASE(a_records_stamps_from_one_write_are_coded_small) {
  const std::vector<std::string> fields{
      "first_name", "middle_name",     "last_name",  "date_of_birth",
      "tombstone",  "organization_id", "created_by", "updated_by",
      "created_at", "updated_at"};
  record_stamps s;
  size_t names = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    timestamp ts;
    ts.millis = 1796590000000 + 383;
    ts.counter = static_cast<uint32_t>(0x64 + i);
    ts.node = "7b7818f9d4c0cbc3";
    s.offer(fields[i], to_string(ts));
    names += fields[i].size();
  }
  auto bytes = s.encode();
  BOOST_CHECK_LE(bytes.size(), names + 46 + 10 * 6 + 2);
  record_stamps back;
  BOOST_REQUIRE(record_stamps::decode(bytes, back));
  for (const auto& f : fields)
    BOOST_CHECK_EQUAL(back.get(f), s.get(f));
}

BOOST_AUTO_TEST_CASE(coded_bytes_that_do_not_fit_are_refused) {
  record_stamps out;
  // A prefix longer than the previous timestamp, a suffix past it, a
  // middle past the end.
  for (std::string bad :
       {std::string("\x00\xfe\x01" "a\x02\x00\x00", 7),
        std::string("\x00\xfe\x01" "a\x00\x00\x01" "x\x01" "b\x00\x02\x00", 13),
        std::string("\x00\xfe\x01" "a\x00\x00\x05" "xy", 9)}) {
    BOOST_CHECK(!record_stamps::decode(bad, out));
    BOOST_CHECK_EQUAL(out.size(), 0u);
  }
}

// Bytes with the coded marker are coded or corrupt: the first encoding
// never starts with a zero byte (a field name is never empty), so reading
// them the first way would only turn corruption into a cell named "".
// Before, these bytes decoded to one such cell.
BOOST_AUTO_TEST_CASE(marked_bytes_that_are_not_coded_are_not_read_the_first_way) {
  record_stamps out;
  // Coded: a field "\x05", then a prefix of 5 with nothing before it.
  // The first way: a field "", then a timestamp of 254 bytes (varint fe 01).
  auto bad = std::string("\x00\xfe\x01", 3) + std::string(254, '\x05');
  BOOST_CHECK(!record_stamps::decode(bad, out));
  BOOST_CHECK_EQUAL(out.size(), 0u);
}

// Prefix and suffix coding of strings that overlap in every way (one the
// prefix of the next, shorter, longer, empty) over a two-letter alphabet.
BOOST_AUTO_TEST_CASE(random_timestamps_round_trip) {
  std::mt19937 rng{20261206};
  for (int round = 0; round < 2000; ++round) {
    record_stamps s;
    std::vector<std::pair<std::string, std::string>> want;
    int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      std::string ts;
      for (size_t k = rng() % 6; k > 0; --k)
        ts += static_cast<char>('a' + rng() % 2);
      auto field = "f" + std::to_string(i);
      s.offer(field, ts);
      want.emplace_back(field, ts);
    }
    record_stamps back;
    BOOST_REQUIRE(record_stamps::decode(s.encode(), back));
    BOOST_REQUIRE_EQUAL(back.size(), want.size());
    for (const auto& [f, ts] : want)
      BOOST_CHECK_EQUAL(back.get(f), ts);
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
