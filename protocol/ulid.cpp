#include "protocol/ulid.hpp"

#include <random>

namespace crdt {

namespace {

constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }()};
  return gen;
}

} // namespace

std::string make_ulid(int64_t millis, const std::array<uint8_t, 10>& bits) {
  std::string out(26, '0');
  auto t = static_cast<uint64_t>(millis) & ((uint64_t{1} << 48) - 1);
  for (int i = 9; i >= 0; --i) {
    out[static_cast<size_t>(i)] = alphabet[t & 31];
    t >>= 5;
  }
  // 80 bits, five at a time from the most significant.
  for (size_t i = 0; i < 16; ++i) {
    size_t bit = i * 5;
    unsigned hi = bits[bit / 8];
    unsigned lo = bit / 8 + 1 < bits.size() ? bits[bit / 8 + 1] : 0;
    out[10 + i] = alphabet[(((hi << 8) | lo) >> (11 - bit % 8)) & 31];
  }
  return out;
}

std::string make_ulid(int64_t millis) {
  std::array<uint8_t, 10> bits;
  auto r1 = rng()();
  auto r2 = rng()();
  for (size_t i = 0; i < 8; ++i)
    bits[i] = static_cast<uint8_t>(r1 >> (8 * i));
  bits[8] = static_cast<uint8_t>(r2);
  bits[9] = static_cast<uint8_t>(r2 >> 8);
  return make_ulid(millis, bits);
}

int64_t ulid_millis(std::string_view id) {
  if (!valid_ulid(id))
    return 0;
  int64_t out = 0;
  for (size_t i = 0; i < 10; ++i)
    out = out * 32 + (std::string_view{alphabet}.find(id[i]));
  return out;
}

bool valid_ulid(std::string_view id) {
  if (id.size() != 26 || id[0] > '7')
    return false;
  for (char c : id) {
    bool ok = false;
    for (const char* p = alphabet; *p; ++p)
      if (*p == c) {
        ok = true;
        break;
      }
    if (!ok)
      return false;
  }
  return true;
}

} // namespace crdt
