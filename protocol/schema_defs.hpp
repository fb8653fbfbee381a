#pragma once

// Table definitions as replicated data.
//
// Every field of every table is one message of the reserved dataset
// `crdt_schema`: row = table name, column = field name, value = the
// field's definition as canonical JSON text,
//   {"required":<bool>,"schema":<the field's JSON Schema>}
// plus one marker message per table (column `_table`, value `{}`), so that a
// table without fields travels too. Definitions are immutable: of all the
// messages for one (table, field), the one with the *smallest* timestamp
// wins on every node, whatever order they arrive in, and the others are
// conflicts to report. Pure logic, no I/O.

#include "protocol/message.hpp"
#include "protocol/schema.hpp"

#include <caf/expected.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crdt {

/// The dataset of definition messages.
constexpr const char* schema_dataset = "crdt_schema";

/// The column of a table's marker message.
constexpr const char* table_marker = "_table";

/// One definition: a table's field (or its marker) and its canonical JSON.
struct field_def {
  std::string table;
  std::string column;
  std::string definition;
};

/// The winning definition of a (table, column) and its timestamp.
struct def_winner {
  std::string definition;
  std::string timestamp;
};

/// Every table's winning definitions: table -> column -> winner.
using def_map = std::map<std::string, std::map<std::string, def_winner>>;

/// Two definitions of one field that disagree; `winner` has the smaller
/// timestamp and is what every node uses.
struct schema_conflict {
  std::string table;
  std::string field;
  def_winner winner;
  def_winner loser;
};

/// The JSON text of `v` with object keys sorted at every level, so that
/// equal definitions have equal text.
std::string canonical_json(const rapidjson::Value& v);

/// The definitions of a parsed table: its marker, then one per field in
/// the table's field order.
std::vector<field_def> definitions_of(const table_schema& table);

/// The type a definition's field has, as JSON Schema names it (with
/// "|null" when nullable), or "?" when the text is not a definition.
std::string type_of_definition(std::string_view definition);

/// Checks a received definition message: a legal table name (not
/// reserved), the marker or a legal field name, and a value that is a
/// definition the schema loader accepts. Answers why not, or "".
std::string check_definition(const message& m);

/// Why `proposed` may not be committed over `winners`: a field that already
/// exists with another definition. The message names the table, the field
/// and both types. Empty when every proposed definition is new or the same.
std::string incompatibility(const def_map& winners,
                            const std::vector<field_def>& proposed);

/// Why `proposed` would give a table more than max_fields fields together
/// with its committed ones; empty when it does not.
std::string over_capacity(const def_map& winners,
                          const std::vector<field_def>& proposed);

/// The longest definition text a message may carry.
constexpr size_t max_definition_bytes = 16 * 1024;

/// Builds the tables the winning definitions describe. Fields are ordered
/// by the timestamp of their definition, then by name, so that every node
/// lists them alike; beyond max_fields, the later ones are left out alike
/// everywhere. A table whose definitions do not form a valid schema
/// (which check_definition keeps from happening) is left out and named in
/// `skipped`.
schema_set assemble(const def_map& winners,
                    std::vector<std::string>* skipped = nullptr);

/// The table's definition as a JSON Schema document text, the way a schema
/// file would say it (properties in field order, then required).
std::string table_json(const def_map::mapped_type& columns);

} // namespace crdt
