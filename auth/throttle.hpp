#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace crdt {

/// Slows down password guessing: counts failed logins per key (an email or
/// a client address) and, past a number of free failures, makes the key
/// wait before its next try, doubling the wait with every further failure.
/// Pure bookkeeping with the time passed in, so tests control the clock.
class login_throttle {
public:
  using clock = std::chrono::steady_clock;
  using duration = std::chrono::milliseconds;

  struct limits {
    /// Failures that cost nothing; the try after the last of them (and
    /// every try after a further failure) waits.
    unsigned free_failures = 5;
    /// The first wait; each further failure doubles it.
    duration base_delay = std::chrono::seconds(1);
    /// The longest wait.
    duration max_delay = std::chrono::minutes(15);
    /// A key whose last failure is this old starts over.
    duration forget_after = std::chrono::hours(1);
    /// Keys kept at most; beyond it the forgotten ones are dropped first,
    /// then the least recently failed ones.
    size_t max_keys = 100000;
  };

  login_throttle() = default;
  explicit login_throttle(limits lim) : limits_(lim) {}

  /// How long `key` must still wait before a try is heard (zero: now).
  duration wait(const std::string& key, clock::time_point now) const;

  /// Records a failed try of `key`.
  void failure(const std::string& key, clock::time_point now);

  /// Forgets the failures of `key` (after a successful login).
  void success(const std::string& key);

  /// Number of keys tracked.
  size_t size() const {
    return entries_.size();
  }

private:
  struct entry {
    unsigned failures = 0;
    clock::time_point last_failure;
    clock::time_point blocked_until;
  };

  void prune(clock::time_point now);

  limits limits_;
  std::unordered_map<std::string, entry> entries_;
};

/// The key a client address is throttled under: an IPv4 address as it is,
/// an IPv6 address by its /64 prefix (one host usually holds a whole /64
/// and could otherwise rotate through it), an IPv4-mapped IPv6 address as
/// the IPv4 address. Anything unparsable is used as given.
std::string address_key(const std::string& address);

} // namespace crdt
