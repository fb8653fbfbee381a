#include "auth/throttle.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace crdt {

login_throttle::duration login_throttle::wait(const std::string& key,
                                              clock::time_point now) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.blocked_until <= now
      || now - it->second.last_failure >= limits_.forget_after)
    return duration::zero();
  return std::chrono::duration_cast<duration>(it->second.blocked_until - now);
}

void login_throttle::failure(const std::string& key, clock::time_point now) {
  if (entries_.size() >= limits_.max_keys && entries_.count(key) == 0)
    prune(now);
  auto& e = entries_[key];
  if (e.failures > 0 && now - e.last_failure >= limits_.forget_after)
    e = entry{};
  ++e.failures;
  e.last_failure = now;
  auto first_blocking = std::max(limits_.free_failures, 1u);
  if (e.failures < first_blocking)
    return;
  // From the free_failures-th failure on, each next try waits 1, 2, 4, ...
  // times the base delay, capped (the shift is bounded so it cannot
  // overflow however many failures pile up).
  auto doublings = std::min(e.failures - first_blocking, 30u);
  auto delay = limits_.base_delay * (int64_t{1} << doublings);
  e.blocked_until = now + std::min(delay, limits_.max_delay);
}

void login_throttle::success(const std::string& key) {
  entries_.erase(key);
}

std::string address_key(const std::string& address) {
  unsigned char raw[16];
  if (address.find(':') == std::string::npos
      || inet_pton(AF_INET6, address.c_str(), raw) != 1)
    return address;
  static const unsigned char mapped[12]
      = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char text[INET6_ADDRSTRLEN];
  if (std::memcmp(raw, mapped, sizeof mapped) == 0) {
    if (!inet_ntop(AF_INET, raw + 12, text, sizeof text))
      return address;
    return text;
  }
  std::memset(raw + 8, 0, 8);
  if (!inet_ntop(AF_INET6, raw, text, sizeof text))
    return address;
  return std::string{text} + "/64";
}

void login_throttle::prune(clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();)
    if (now - it->second.last_failure >= limits_.forget_after)
      it = entries_.erase(it);
    else
      ++it;
  // Still full: drop the oldest tenth so pruning is not needed per call.
  if (!entries_.empty() && entries_.size() >= limits_.max_keys) {
    std::vector<std::pair<clock::time_point, std::string>> by_age;
    by_age.reserve(entries_.size());
    for (const auto& [k, e] : entries_)
      by_age.emplace_back(e.last_failure, k);
    auto drop = std::max<size_t>(1, by_age.size() / 10);
    std::nth_element(by_age.begin(), by_age.begin() + drop, by_age.end());
    for (size_t i = 0; i < drop; ++i)
      entries_.erase(by_age[i].second);
  }
}

} // namespace crdt
