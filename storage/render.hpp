#pragma once

// Records as the API shows them: every column rendered in its schema type
// (booleans as true/false, object and array fields as JSON).

#include "protocol/schema.hpp"
#include "storage/sqlite.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <vector>

namespace crdt {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

/// Writes column `i` of the current row as JSON by its storage class.
void write_column(json_writer& w, const sql::statement& s, int i);

/// The columns a read selects, and the fields that say how to render them.
struct selection {
  /// The quoted column list for SELECT.
  std::string columns_sql;
  /// The names the JSON object uses, in column order.
  std::vector<std::string> names;
  /// Each column's user field (null for system columns).
  std::vector<const field*> fields;
};

/// `id` plus the plucked fields, or, with no pluck, `id`, the system fields
/// a client sees and every user field.
selection select_columns(const table_schema& t,
                         const std::vector<std::string>& pluck);

/// Writes the current row of `s` (selected with `sel`) as a JSON object.
void write_row(json_writer& w, const sql::statement& s, const selection& sel);

} // namespace crdt
