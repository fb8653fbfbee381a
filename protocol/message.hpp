#pragma once

#include <caf/expected.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace crdt {

/// A message value: JSON null, an integer, a real number or a string.
/// Booleans travel as 0/1, object and array fields as their JSON text.
using value = std::variant<std::monostate, int64_t, double, std::string>;

/// One CRDT message: set `column` of record `row` in table `dataset` to
/// `val`, as of `timestamp` (the HLC wire string, unique per message).
struct message {
  std::string timestamp;
  std::string dataset;
  std::string row;
  std::string column;
  value val;

  friend bool operator==(const message& x, const message& y) {
    return x.timestamp == y.timestamp && x.dataset == y.dataset
           && x.row == y.row && x.column == y.column && x.val == y.val;
  }
};

/// Writes a value as JSON.
void write_value(rapidjson::Writer<rapidjson::StringBuffer>& out,
                 const value& v);

/// Writes a message as the wire object
/// `{"timestamp","dataset","row","column","value"}`.
void write_message(rapidjson::Writer<rapidjson::StringBuffer>& out,
                   const message& m);

/// The number of bytes write_message() produces for `m`, without writing
/// it: what a byte cap on a batch of messages counts.
size_t json_size(const message& m);

/// Reads a value from JSON; rejects booleans, objects and arrays.
caf::expected<value> read_value(const rapidjson::Value& v);

/// Reads a wire message. Checks the shape and the timestamp format, not
/// the drift or the field types (callers know the clock and the schema).
caf::expected<message> read_message(const rapidjson::Value& v);

} // namespace crdt
