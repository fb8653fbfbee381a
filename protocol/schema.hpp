#pragma once

#include "protocol/message.hpp"

#include <caf/expected.hpp>

#include <rapidjson/document.h>
#include <rapidjson/schema.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crdt {

/// The JSON Schema type of a user field and hence its SQLite storage.
enum class field_type { text, integer, real, boolean, object, array };

/// Name of a field type as JSON Schema spells it ("string", "integer", ...).
const char* to_string(field_type t);

/// SQLite column type used for a field type.
const char* sql_type(field_type t);

/// One user-defined column of a table.
struct field {
  std::string name;
  field_type type = field_type::text;
  /// Accepts JSON null (the schema's type list contains "null").
  bool nullable = false;
  /// "x-index": true: lists ordered by this field use an index.
  bool indexed = false;
};

/// One problem with a submitted record.
struct field_error {
  std::string field;
  std::string message;
};

/// Names of the system columns every table has, in column order.
const std::vector<std::string>& system_fields();

/// True for a system column name.
bool is_system_field(std::string_view name);

/// The facts of a record's creation (`organization_id`, `created_by`,
/// `created_at`). Their cells keep the value of the message with the
/// *smallest* timestamp instead of the greatest: which organization owns a
/// record is settled by its first create, so a later create of the same id
/// elsewhere (a replica that had not seen the record yet) cannot move the
/// record into another organization. Min, like max, is order-independent,
/// so replicas still converge.
const std::vector<std::string>& creation_fields();

/// True for a column in creation_fields().
bool is_creation_field(std::string_view name);

/// The most user fields a table may have.
constexpr size_t max_fields = 1000;

/// True when `name` is a legal table or field name: ^[a-z][a-z0-9_]{0,62}$.
bool valid_identifier(std::string_view name);

/// A table loaded from `schema/<name>.json`: its fields and two compiled
/// JSON Schema validators (create enforces `required`, update does not).
class table_schema {
public:
  /// Parses and checks a schema file's text for table `name`. Reserved
  /// names (crdt_*, sqlite_*, config_sync) are refused unless `builtin`
  /// (the service's own replicated tables, such as accounts).
  static caf::expected<std::shared_ptr<const table_schema>>
  parse(const std::string& name, std::string_view json_text,
        bool builtin = false);

  const std::string& name() const {
    return name_;
  }

  /// User fields in file order.
  const std::vector<field>& fields() const {
    return fields_;
  }

  /// The user field named `name`, or null.
  const field* find(std::string_view name) const;

  /// Checks `data` as a record body for a create (`required` applies) or an
  /// update. Returns every unknown or system field, or the first schema
  /// violation RapidJSON reports.
  std::vector<field_error> validate(const rapidjson::Value& data,
                                    bool create) const;

  /// The table's JSON Schema as loaded (with additionalProperties: false).
  const rapidjson::Document& document() const {
    return *create_doc_;
  }

  /// Whether `required` names the field.
  bool required(std::string_view field) const;

private:
  std::string name_;
  std::vector<field> fields_;
  std::map<std::string, size_t, std::less<>> index_;
  std::unique_ptr<rapidjson::Document> create_doc_;
  std::unique_ptr<rapidjson::Document> update_doc_;
  std::unique_ptr<rapidjson::SchemaDocument> create_schema_;
  std::unique_ptr<rapidjson::SchemaDocument> update_schema_;
};

using table_ptr = std::shared_ptr<const table_schema>;

/// Converts a validated JSON field value to its message value: booleans to
/// 0/1, objects and arrays to their JSON text, numbers of a `number` field
/// to doubles.
value to_message_value(const field& f, const rapidjson::Value& v);

/// Checks that a received message value fits a field's type (the hub's
/// validation); true for null only when the field is nullable or the
/// value is a tombstone-free system field.
bool value_fits(const field& f, const value& v);

/// All tables of a schema folder, by name.
using schema_set = std::map<std::string, table_ptr, std::less<>>;

/// Loads every `*.json` in `dir`; fails with a message naming the file.
caf::expected<schema_set> load_schema_dir(const std::string& dir);

} // namespace crdt
