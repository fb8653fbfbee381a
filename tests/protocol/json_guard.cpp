#include "protocol/json_guard.hpp"

#include "protocol/sync.hpp"

#include <boost/test/unit_test.hpp>

#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>

#include <random>
#include <string>

using namespace crdt;

namespace {

struct discard {
  using Ch = char;
  void Put(char) {
  }
};

// The decoder alone over the whole text: what valid_utf8 did before its
// ASCII fast path, the reference it must agree with.
bool reference_utf8(const std::string& text) {
  discard out;
  rapidjson::MemoryStream ms{text.data(), text.size()};
  while (ms.Tell() < text.size())
    if (!rapidjson::UTF8<>::Validate(ms, out))
      return false;
  return true;
}

} // namespace

BOOST_AUTO_TEST_SUITE(json_guard_tests)

BOOST_AUTO_TEST_CASE(utf8_is_checked_wherever_the_first_high_byte_falls) {
  // A two-byte character, a lone continuation byte, a truncated sequence,
  // an overlong form and a surrogate, after every ASCII prefix length
  // around the eight-byte steps of the fast path.
  const std::string good = "\xc3\xa9", bad[] = {"\x80", "\xc3", "\xc0\xaf",
                                                 "\xed\xa0\x80", "\xf4\x90\x80\x80"};
  for (size_t prefix = 0; prefix < 20; ++prefix) {
    std::string head(prefix, 'a');
    BOOST_CHECK(valid_utf8(head));
    BOOST_CHECK(valid_utf8(head + good));
    BOOST_CHECK(valid_utf8(head + good + "tail"));
    for (const auto& b : bad) {
      BOOST_CHECK_MESSAGE(!valid_utf8(head + b), "prefix " << prefix);
      BOOST_CHECK_MESSAGE(!valid_utf8(head + good + b + "tail"),
                          "prefix " << prefix);
    }
  }
}

BOOST_AUTO_TEST_CASE(utf8_fast_path_agrees_with_the_decoder_on_random_text) {
  std::mt19937 rng{20261206};
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    auto pieces = rng() % 6;
    for (unsigned p = 0; p < pieces; ++p) {
      if (rng() % 2)
        text += std::string(rng() % 24, static_cast<char>('a' + rng() % 26));
      else
        for (auto n = rng() % 4 + 1; n > 0; --n)
          text.push_back(static_cast<char>(rng() % 256));
    }
    BOOST_CHECK_EQUAL(valid_utf8(text), reference_utf8(text));
  }
}

BOOST_AUTO_TEST_CASE(a_sync_body_with_bytes_that_are_not_utf8_is_refused) {
  // Raw invalid bytes (the parse no longer validates them itself) and an
  // escaped lone surrogate, in a value and in a member name.
  const std::string rest = "\"client_id\":\"0123456789abcdef\","
                           "\"messages\":[],\"merkle\":{}}";
  BOOST_REQUIRE(parse_sync_request("{\"group_id\":\"gr\xc3\xa9\"," + rest));
  BOOST_REQUIRE(parse_sync_request("{\"x\xc3\xa9\":1,\"group_id\":\"g\"," + rest));
  for (std::string bad : {std::string{"\"v\xff\""}, std::string{"\"\\udc00\""}}) {
    BOOST_CHECK(!parse_sync_request("{\"group_id\":" + bad + "," + rest));
    BOOST_CHECK(!parse_sync_request("{" + bad + ":1,\"group_id\":\"g\"," + rest));
  }
}

BOOST_AUTO_TEST_SUITE_END()
