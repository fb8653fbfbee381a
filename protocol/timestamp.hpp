#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crdt {

/// The largest HLC counter value (four hex digits).
constexpr uint32_t max_counter = 0xFFFF;

/// Length of a timestamp on the wire.
constexpr size_t timestamp_size = 46;

/// A hybrid logical clock reading: wall time, logical counter and node id.
/// Its wire form `YYYY-MM-DDTHH:MM:SS.sssZ-CCCC-NNNNNNNNNNNNNNNN` sorts as
/// the timestamps do.
struct timestamp {
  /// Milliseconds since the Unix epoch (UTC).
  int64_t millis = 0;
  /// Logical counter within one millisecond.
  uint32_t counter = 0;
  /// The 16-character id of the node that made the stamp.
  std::string node = "0000000000000000";

  friend bool operator==(const timestamp& x, const timestamp& y) {
    return x.millis == y.millis && x.counter == y.counter && x.node == y.node;
  }
};

/// Parses the 46-character wire form; `std::nullopt` on any deviation.
std::optional<timestamp> parse_timestamp(std::string_view text);

/// Renders the wire form. Requires a year between 0 and 9999.
std::string to_string(const timestamp& ts);

/// Renders milliseconds since the epoch as ISO-8601 UTC with milliseconds,
/// e.g. `2024-10-21T08:01:02.345Z`.
std::string iso8601(int64_t millis);

/// The ISO-8601 time of a wire timestamp (the epoch for a malformed one).
std::string iso8601_of(const std::string& wire);

/// True when `node` is a valid node id: 16 characters of [0-9A-Za-z].
bool valid_node_id(std::string_view node);

/// Returns a fresh random node id of 16 lower-case hex digits.
std::string random_node_id();

/// The state of a hybrid logical clock, see SPEC section 6.
struct hlc {
  /// The last timestamp this clock issued or observed.
  timestamp last;
  /// How far (ms) the clock may run ahead of physical time.
  int64_t max_drift = 60000;
};

/// Advances the clock for a local event at physical time `now` and returns
/// the new timestamp. Leaves the clock untouched on error (drift, overflow).
caf::expected<timestamp> send(hlc& clock, int64_t now);

/// Merges a remote timestamp at physical time `now`. Leaves the clock
/// untouched on error (drift of the message or of the result, overflow).
caf::error recv(hlc& clock, const timestamp& remote, int64_t now);

/// Milliseconds since the epoch from the system clock.
int64_t wall_clock_ms();

} // namespace crdt
