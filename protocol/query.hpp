#pragma once

// List queries beyond pluck/order/limit/offset: filters on fields
// (`?where[field][op]=value`, typed by the table's schema) and cursors
// (`?after=`) that resume a list after its last row, stable while records
// are inserted and deleted. Pure functions; the SQL is built by
// read_store::list.

#include "protocol/message.hpp"
#include "protocol/schema.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crdt {

enum class filter_op { eq, ne, gt, gte, lt, lte, in, like, null };

/// The op named in `where[field][op]`; none for an unknown name.
std::optional<filter_op> parse_filter_op(std::string_view name);

/// One condition; all of a query's conditions must hold (AND).
struct filter {
  std::string field;
  filter_op op = filter_op::eq;
  /// One value, several for `in`; for `null`, one integer: 1 "is null",
  /// 0 "is not null".
  std::vector<value> values;
};

/// Largest number of values of one `in` filter, and of filters per query.
constexpr size_t max_in_values = 100;
constexpr size_t max_filters = 20;

/// A filter's value read from the query string for a field of type `t`:
/// text as is, integers and reals as numbers, booleans as `true`/`false`
/// (stored as 1/0). Answers none, with `problem` set, when it does not fit.
std::optional<value> parse_filter_value(field_type t, const std::string& text,
                                        std::string& problem);

/// Parses `where[field]` or `where[field][op]` (the key) with its value
/// for table `t`; answers none and sets `problem` for an unknown field or
/// op, a value of the wrong type, or a field that cannot be filtered
/// (objects, arrays, tombstone).
std::optional<filter> parse_filter(const table_schema& t, std::string_view key,
                                   const std::string& text,
                                   std::string& problem);

/// Where a list stopped: the order it was read in and the last row's
/// order value and id.
struct list_cursor {
  /// The order field ("" for id order) and its direction.
  std::string order;
  bool descending = false;
  /// The last row's value of the order field (monostate for NULL; unused
  /// in id order) and its id.
  value last;
  std::string id;
  /// The order value is not carried (a text longer than
  /// `max_cursor_text`, which would make the cursor too long to send
  /// back): the list reads it from the record named by `id`, and goes on
  /// only if it still hashes to `anchor_hash` (murmur3 of the text).
  bool by_id = false;
  uint32_t anchor_hash = 0;
};

/// The longest order value a cursor carries; a longer one is named by the
/// record's id instead.
constexpr size_t max_cursor_text = 256;

/// The opaque text of a cursor (hex of a small JSON array).
std::string encode_cursor(const list_cursor& c);

/// A cursor from its text; none when it is not one.
std::optional<list_cursor> decode_cursor(std::string_view text);

} // namespace crdt
