#include "protocol/timestamp.hpp"

#include "protocol/error.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

namespace crdt {

namespace {

// Howard Hinnant's days_from_civil / civil_from_days: exact for the
// proleptic Gregorian calendar, no time zone database involved.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned days[]
      = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

bool digits(std::string_view s, size_t pos, size_t n, unsigned& out) {
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    out = out * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
         || (c >= 'A' && c <= 'Z');
}

} // namespace

bool valid_node_id(std::string_view node) {
  return node.size() == 16 && std::all_of(node.begin(), node.end(), alnum);
}

std::optional<timestamp> parse_timestamp(std::string_view s) {
  if (s.size() != timestamp_size)
    return std::nullopt;
  // Fixed punctuation of YYYY-MM-DDTHH:MM:SS.sssZ-CCCC-NNNNNNNNNNNNNNNN.
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':'
      || s[19] != '.' || s[23] != 'Z' || s[24] != '-' || s[29] != '-')
    return std::nullopt;
  unsigned year, month, day, hour, minute, second, milli;
  if (!digits(s, 0, 4, year) || !digits(s, 5, 2, month) || !digits(s, 8, 2, day)
      || !digits(s, 11, 2, hour) || !digits(s, 14, 2, minute)
      || !digits(s, 17, 2, second) || !digits(s, 20, 3, milli))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)
      || hour > 23 || minute > 59 || second > 59)
    return std::nullopt;
  uint32_t counter = 0;
  for (size_t i = 25; i < 29; ++i) {
    auto v = hex_digit(s[i]);
    if (v < 0)
      return std::nullopt;
    counter = counter * 16 + static_cast<uint32_t>(v);
  }
  auto node = s.substr(30);
  if (!valid_node_id(node))
    return std::nullopt;
  timestamp ts;
  ts.millis = days_from_civil(year, month, day) * 86400000
              + int64_t{hour} * 3600000 + int64_t{minute} * 60000
              + int64_t{second} * 1000 + milli;
  ts.counter = counter;
  ts.node = std::string{node};
  return ts;
}

std::string iso8601_of(const std::string& wire) {
  auto ts = parse_timestamp(wire);
  return iso8601(ts ? ts->millis : 0);
}

std::string iso8601(int64_t millis) {
  int64_t days = millis / 86400000;
  int64_t rem = millis % 86400000;
  if (rem < 0) {
    rem += 86400000;
    --days;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ",
                static_cast<long long>(y), m, d,
                static_cast<unsigned>(rem / 3600000),
                static_cast<unsigned>(rem / 60000 % 60),
                static_cast<unsigned>(rem / 1000 % 60),
                static_cast<unsigned>(rem % 1000));
  return buf;
}

std::string to_string(const timestamp& ts) {
  char counter[8];
  std::snprintf(counter, sizeof(counter), "%04X", ts.counter & 0xFFFF);
  std::string out = iso8601(ts.millis);
  out += '-';
  out += counter;
  out += '-';
  out += ts.node;
  return out;
}

std::string random_node_id() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string out(16, '0');
  for (auto& c : out)
    c = "0123456789abcdef"[hex(rd)];
  return out;
}

int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

caf::expected<timestamp> send(hlc& clock, int64_t now) {
  const auto l_old = clock.last.millis;
  const auto c_old = clock.last.counter;
  const auto l_new = std::max(l_old, now);
  const uint32_t c_new = l_new == l_old ? c_old + 1 : 0;
  if (l_new - now > clock.max_drift)
    return make_error(ec::clock_drift, "clock drift: local clock is "
                                           + std::to_string(l_new - now)
                                           + " ms ahead of physical time");
  if (c_new > max_counter)
    return make_error(ec::counter_overflow, "HLC counter overflow");
  clock.last.millis = l_new;
  clock.last.counter = c_new;
  return clock.last;
}

caf::error recv(hlc& clock, const timestamp& remote, int64_t now) {
  if (remote.millis - now > clock.max_drift)
    return make_error(ec::clock_drift, "clock drift: remote timestamp is "
                                           + std::to_string(remote.millis - now)
                                           + " ms ahead of physical time");
  const auto l_old = clock.last.millis;
  const auto c_old = clock.last.counter;
  const auto l_msg = remote.millis;
  const auto c_msg = remote.counter;
  const auto l_new = std::max({l_old, now, l_msg});
  uint32_t c_new;
  if (l_new == l_old && l_new == l_msg)
    c_new = std::max(c_old, c_msg) + 1;
  else if (l_new == l_old)
    c_new = c_old + 1;
  else if (l_new == l_msg)
    c_new = c_msg + 1;
  else
    c_new = 0;
  if (l_new - now > clock.max_drift)
    return make_error(ec::clock_drift,
                      "clock drift after merging " + to_string(remote));
  if (c_new > max_counter)
    return make_error(ec::counter_overflow, "HLC counter overflow");
  clock.last.millis = l_new;
  clock.last.counter = c_new;
  return caf::none;
}

} // namespace crdt
