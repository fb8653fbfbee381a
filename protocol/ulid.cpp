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

std::string make_ulid(int64_t millis) {
  std::string out(26, '0');
  auto t = static_cast<uint64_t>(millis) & ((uint64_t{1} << 48) - 1);
  for (int i = 9; i >= 0; --i) {
    out[static_cast<size_t>(i)] = alphabet[t & 31];
    t >>= 5;
  }
  auto r1 = rng()();
  auto r2 = rng()();
  // 80 random bits: 64 from r1, 16 from r2.
  for (size_t i = 10; i < 26; ++i) {
    out[i] = alphabet[r1 & 31];
    r1 = (r1 >> 5) | ((r2 & 31) << 59);
    r2 >>= 5;
  }
  return out;
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
