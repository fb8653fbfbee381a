#include "protocol/merkle.hpp"

#include "protocol/murmur3.hpp"
#include "protocol/timestamp.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <random>

using namespace crdt;

namespace {

rapidjson::Document json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  return d;
}

merkle_trie trie_of(const std::vector<std::string>& stamps) {
  merkle_trie t;
  for (const auto& s : stamps)
    t.insert(s, parse_timestamp(s)->millis);
  return t;
}

constexpr int64_t minute = 60000;

} // namespace

BOOST_AUTO_TEST_SUITE(merkle_tests)

BOOST_AUTO_TEST_CASE(keys_are_minutes_in_base_3) {
  BOOST_CHECK_EQUAL(merkle_key(0), "0");
  BOOST_CHECK_EQUAL(merkle_key(59999), "0");
  BOOST_CHECK_EQUAL(merkle_key(minute), "1");
  BOOST_CHECK_EQUAL(merkle_key(3 * minute), "10");
  BOOST_CHECK_EQUAL(merkle_key(8 * minute + 5), "22");
  // Present-day times have 16 digits.
  BOOST_CHECK_EQUAL(merkle_key(1764000000000).size(), 16u);
}

BOOST_AUTO_TEST_CASE(every_node_is_the_xor_of_the_hashes_below_it) {
  std::string a = "2026-11-25T10:00:00.000Z-0000-aaaaaaaaaaaaaaaa";
  std::string b = "2026-11-25T10:00:30.000Z-0001-aaaaaaaaaaaaaaaa";
  std::string c = "2026-11-25T11:00:00.000Z-0000-bbbbbbbbbbbbbbbb";
  auto t = trie_of({a, b, c});
  BOOST_CHECK_EQUAL(t.hash(), murmur3_32(a) ^ murmur3_32(b) ^ murmur3_32(c));
  BOOST_CHECK_EQUAL(t.signed_hash(), static_cast<int32_t>(t.hash()));
  // Inserting the same set in another order gives the same trie.
  BOOST_CHECK_EQUAL(trie_of({c, a, b}).to_json(), t.to_json());
  // a and b share a minute: a leaf holds both.
  const auto* n = &t.root();
  for (char ch : merkle_key(parse_timestamp(a)->millis))
    n = n->children[static_cast<size_t>(ch - '0')].get();
  BOOST_REQUIRE(n);
  BOOST_CHECK_EQUAL(n->hash, murmur3_32(a) ^ murmur3_32(b));
}

BOOST_AUTO_TEST_CASE(json_puts_children_first_and_hashes_as_signed_ints) {
  merkle_trie t;
  t.insert_hash("1", 0xFFFFFFFFu);
  t.insert_hash("0", 1);
  BOOST_CHECK_EQUAL(t.to_json(),
                    R"({"0":{"hash":1},"1":{"hash":-1},"hash":-2})");
  BOOST_CHECK_EQUAL(merkle_trie{}.to_json(), R"({"hash":0})");
}

BOOST_AUTO_TEST_CASE(json_round_trips_and_rejects_garbage) {
  auto t = trie_of({"2026-11-25T10:00:00.000Z-0000-aaaaaaaaaaaaaaaa",
                    "2026-01-01T00:00:00.000Z-0000-bbbbbbbbbbbbbbbb"});
  auto d = json(t.to_json());
  auto back = merkle_trie::from_json(d);
  BOOST_REQUIRE(back);
  BOOST_CHECK_EQUAL(back->to_json(), t.to_json());
  auto empty = json("{}");
  BOOST_REQUIRE(merkle_trie::from_json(empty));
  BOOST_CHECK_EQUAL(merkle_trie::from_json(empty)->hash(), 0u);
  for (const char* bad :
       {R"([])", R"({"3":{}})", R"({"hash":"x"})", R"({"hash":1.5})",
        R"({"0":5})", R"({"hash":4294967296})"})
    BOOST_CHECK_MESSAGE(!merkle_trie::from_json(json(bad)), bad);
  std::string deep = "{\"hash\":0}";
  for (int i = 0; i < 40; ++i)
    deep = "{\"0\":" + deep + "}";
  BOOST_CHECK(!merkle_trie::from_json(json(deep)));
}

BOOST_AUTO_TEST_CASE(diff_of_equal_tries_is_none) {
  auto t = trie_of({"2026-11-25T10:00:00.000Z-0000-aaaaaaaaaaaaaaaa"});
  BOOST_CHECK(!diff(t, t.clone()));
  BOOST_CHECK(!diff(merkle_trie{}, merkle_trie{}));
}

BOOST_AUTO_TEST_CASE(diff_descends_to_the_first_differing_minute) {
  std::string early = "2026-11-25T10:00:00.000Z-0000-aaaaaaaaaaaaaaaa";
  std::string late = "2026-11-25T10:05:00.000Z-0000-aaaaaaaaaaaaaaaa";
  std::string later = "2026-11-25T10:05:00.000Z-0001-bbbbbbbbbbbbbbbb";
  auto a = trie_of({early, late});
  auto b = trie_of({early, late, later});
  auto d = diff(a, b);
  BOOST_REQUIRE(d);
  // Both hold the 10:05 minute, with different hashes: that minute.
  BOOST_CHECK_EQUAL(*d, parse_timestamp(late)->millis / minute * minute);
  BOOST_CHECK(diff(b, a) == d);
}

BOOST_AUTO_TEST_CASE(diff_stops_at_the_first_key_one_side_lacks) {
  merkle_trie a, b;
  a.insert_hash("1", 5);
  b.insert_hash("1", 5);
  b.insert_hash("2", 7);
  // Keys 1 (equal) then 2 (missing in a): stop at the root: time 0.
  BOOST_CHECK(diff(a, b) == std::optional<int64_t>{0});
  merkle_trie c, e;
  c.insert_hash("0", 1);
  e.insert_hash("2", 1);
  e.insert_hash("0", 3);
  // Key 0 differs first: descend, then nothing below: prefix "0" padded.
  BOOST_CHECK(diff(c, e) == std::optional<int64_t>{0});
  merkle_trie f, g;
  f.insert_hash("11", 1);
  g.insert_hash("11", 2);
  // Descends into 1, then 1, then pads "11" to 16 digits.
  int64_t want = 0;
  for (char ch : std::string{"1100000000000000"})
    want = want * 3 + (ch - '0');
  BOOST_CHECK(diff(f, g) == std::optional<int64_t>{want * minute});
}

BOOST_AUTO_TEST_CASE(first_difference_descends_into_a_missing_subtree) {
  // An hour of history both sides hold, and one new message on one side.
  std::vector<std::string> shared;
  for (int i = 0; i < 60; ++i)
    shared.push_back(to_string(
        timestamp{1764000000000 + i * minute, 0, "aaaaaaaaaaaaaaaa"}));
  auto a = trie_of(shared);
  auto fresh = to_string(
      timestamp{1764000000000 + 3 * 86400000, 0, "bbbbbbbbbbbbbbbb"});
  shared.push_back(fresh);
  auto b = trie_of(shared);
  auto coarse = diff(a, b);
  auto fine = first_difference(a, b);
  BOOST_REQUIRE(coarse && fine);
  int64_t fresh_minute = (1764000000000 + 3 * 86400000) / minute * minute;
  BOOST_CHECK_EQUAL(*fine, fresh_minute);
  BOOST_CHECK_LT(*coarse, *fine); // diff stops at the subtree's start
  BOOST_CHECK(first_difference(b, a) == fine);
  BOOST_CHECK(!first_difference(a, a.clone()));
}

BOOST_AUTO_TEST_CASE(first_difference_is_never_before_diff) {
  std::mt19937 rng{42};
  for (int round = 0; round < 500; ++round) {
    merkle_trie a, b;
    for (int i = 0; i < 20; ++i) {
      auto ts = to_string(timestamp{1764000000000 + int64_t(rng() % 5000000), 0,
                                    "aaaaaaaaaaaaaaaa"});
      auto millis = parse_timestamp(ts)->millis;
      if (rng() % 4)
        a.insert(ts, millis);
      if (rng() % 4)
        b.insert(ts, millis);
    }
    auto coarse = diff(a, b);
    auto fine = first_difference(a, b);
    BOOST_REQUIRE_EQUAL(bool(coarse), bool(fine));
    if (fine)
      BOOST_CHECK_LE(*coarse, *fine);
  }
}

BOOST_AUTO_TEST_CASE(set_and_xor_node_rebuild_a_persisted_trie) {
  auto t = trie_of({"2026-11-25T10:00:00.000Z-0000-aaaaaaaaaaaaaaaa",
                    "2026-11-25T10:01:00.000Z-0000-aaaaaaaaaaaaaaaa"});
  merkle_trie copy;
  std::vector<std::pair<std::string, const merkle_trie::node*>> todo{
      {"", &t.root()}};
  while (!todo.empty()) {
    auto [key, n] = todo.back();
    todo.pop_back();
    copy.set_node(key, n->hash);
    for (int i = 0; i < 3; ++i)
      if (n->children[static_cast<size_t>(i)])
        todo.emplace_back(key + char('0' + i),
                          n->children[static_cast<size_t>(i)].get());
  }
  BOOST_CHECK_EQUAL(copy.to_json(), t.to_json());
  BOOST_CHECK_EQUAL(copy.size(), t.size());
  merkle_trie x;
  x.xor_node("", 6);
  x.xor_node("", 3);
  BOOST_CHECK_EQUAL(x.hash(), 5u);
}

// path_deltas against the definition: every prefix of every leaf's key,
// root included, XORs that leaf's hash. Keys of every length (a key may be
// the prefix of another), repeated keys, random order.
BOOST_AUTO_TEST_CASE(path_deltas_xor_each_leaf_into_every_prefix_once) {
  std::mt19937 rng{20261206};
  for (int round = 0; round < 300; ++round) {
    std::vector<std::pair<std::string, uint32_t>> leaves;
    auto n = std::uniform_int_distribution<int>{0, 60}(rng);
    for (int i = 0; i < n; ++i) {
      auto len = std::uniform_int_distribution<size_t>{0, 6}(rng);
      std::string key;
      for (size_t c = 0; c < len; ++c)
        key += char('0' + std::uniform_int_distribution<int>{0, 2}(rng));
      leaves.emplace_back(key, static_cast<uint32_t>(rng()));
      if (i > 0 && rng() % 4 == 0) // the same key again
        leaves.emplace_back(leaves[rng() % leaves.size()].first,
                            static_cast<uint32_t>(rng()));
    }
    std::map<std::string, uint32_t> expected;
    for (const auto& [key, hash] : leaves)
      for (size_t len = 0; len <= key.size(); ++len)
        expected[key.substr(0, len)] ^= hash;
    auto got = path_deltas(leaves);
    std::map<std::string, uint32_t> seen;
    for (const auto& [key, hash] : got)
      BOOST_REQUIRE_MESSAGE(seen.emplace(key, hash).second,
                            "node " << key << " twice");
    BOOST_REQUIRE(seen == expected);
    BOOST_REQUIRE(std::is_sorted(got.begin(), got.end()));
  }
}

BOOST_AUTO_TEST_SUITE_END()
