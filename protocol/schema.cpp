#include "protocol/schema.hpp"

#include "protocol/error.hpp"
#include "protocol/json_guard.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <dirent.h>
#include <fstream>
#include <sstream>

namespace crdt {

const char* to_string(field_type t) {
  switch (t) {
  case field_type::text:
    return "string";
  case field_type::integer:
    return "integer";
  case field_type::real:
    return "number";
  case field_type::boolean:
    return "boolean";
  case field_type::object:
    return "object";
  case field_type::array:
    return "array";
  }
  return "string";
}

const char* sql_type(field_type t) {
  switch (t) {
  case field_type::integer:
  case field_type::boolean:
    return "INTEGER";
  case field_type::real:
    return "REAL";
  default:
    return "TEXT";
  }
}

const std::vector<std::string>& system_fields() {
  static const std::vector<std::string> names{
      "id",         "tombstone",  "organization_id", "created_by",
      "updated_by", "created_at", "updated_at"};
  return names;
}

bool is_system_field(std::string_view name) {
  const auto& xs = system_fields();
  return std::find(xs.begin(), xs.end(), name) != xs.end();
}

const std::vector<std::string>& creation_fields() {
  static const std::vector<std::string> names{"organization_id", "created_by",
                                              "created_at"};
  return names;
}

bool is_creation_field(std::string_view name) {
  const auto& xs = creation_fields();
  return std::find(xs.begin(), xs.end(), name) != xs.end();
}

bool valid_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63 || name[0] < 'a' || name[0] > 'z')
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

namespace {

std::optional<field_type> type_from_name(std::string_view s) {
  if (s == "string")
    return field_type::text;
  if (s == "integer")
    return field_type::integer;
  if (s == "number")
    return field_type::real;
  if (s == "boolean")
    return field_type::boolean;
  if (s == "object")
    return field_type::object;
  if (s == "array")
    return field_type::array;
  return std::nullopt;
}

std::string keyword_message(std::string_view keyword, const field* f) {
  if (keyword == "type")
    return f ? std::string{"expected "} + to_string(f->type)
                   + (f->nullable ? " or null" : "")
             : "wrong type";
  if (keyword == "required")
    return "required field missing";
  if (keyword == "maxLength")
    return "string too long";
  if (keyword == "minLength")
    return "string too short";
  if (keyword == "maximum" || keyword == "exclusiveMaximum")
    return "value too large";
  if (keyword == "minimum" || keyword == "exclusiveMinimum")
    return "value too small";
  if (keyword == "enum")
    return "value not allowed";
  if (keyword == "pattern")
    return "value does not match the pattern";
  return "violates '" + std::string{keyword} + "'";
}

// RapidJSON compiles a pattern into an automaton that copies a repeated
// part once per repetition: "((a{60000}){60000})" would take minutes and
// gigabytes when the schema is built, on every node the definition reaches.
constexpr size_t max_pattern_bytes = 256;
constexpr unsigned long max_repeat = 100;
constexpr int max_counted_repeats = 2;

std::string unsafe_pattern(std::string_view p) {
  if (p.size() > max_pattern_bytes)
    return "'pattern' is longer than " + std::to_string(max_pattern_bytes)
           + " bytes";
  int counted = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
      continue;
    }
    if (p[i] != '{')
      continue;
    ++counted;
    unsigned long n = 0;
    for (size_t j = i + 1; j < p.size() && p[j] != '}'; ++j) {
      if (p[j] == ',') {
        n = 0;
        continue;
      }
      if (p[j] < '0' || p[j] > '9')
        break;
      n = std::min<unsigned long>(n * 10 + static_cast<unsigned long>(p[j] - '0'),
                                  max_repeat + 1);
      if (n > max_repeat)
        return "'pattern' repeats more than " + std::to_string(max_repeat)
               + " times";
    }
  }
  if (counted > max_counted_repeats)
    return "'pattern' has more than " + std::to_string(max_counted_repeats)
           + " counted repetitions";
  return {};
}

// Why a field's schema (at any depth: items, properties, ...) holds a
// keyword this service will not compile, or "".
std::string unsafe_keyword(const rapidjson::Value& v) {
  if (v.IsArray()) {
    for (auto& x : v.GetArray())
      if (auto why = unsafe_keyword(x); !why.empty())
        return why;
    return {};
  }
  if (!v.IsObject())
    return {};
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string_view k{it->name.GetString(), it->name.GetStringLength()};
    if (k == "patternProperties")
      return "'patternProperties' is not supported";
    if (k == "pattern" && it->value.IsString()) {
      auto why = unsafe_pattern(
          {it->value.GetString(), it->value.GetStringLength()});
      if (!why.empty())
        return why;
    }
    if (auto why = unsafe_keyword(it->value); !why.empty())
      return why;
  }
  return {};
}

} // namespace

caf::expected<table_ptr> table_schema::parse(const std::string& name,
                                             std::string_view json_text,
                                             bool builtin) {
  auto fail = [&](const std::string& what) {
    return make_error(ec::schema_conflict, "schema '" + name + "': " + what);
  };
  if (!valid_identifier(name)
      || (!builtin
          && (name.rfind("crdt_", 0) == 0 || name.rfind("sqlite_", 0) == 0
              || name == "config_sync")))
    return fail("table name must match ^[a-z][a-z0-9_]{0,62}$ and not be "
                "reserved (crdt_*, sqlite_*, config_sync)");
  auto result = std::make_shared<table_schema>();
  result->name_ = name;
  // Definitions come from files, admins and other nodes: bounded before
  // RapidJSON recurses into them.
  if (!within_json_depth(json_text) || !valid_utf8(json_text))
    return fail("nested more than " + std::to_string(max_json_depth)
                + " levels deep, or not UTF-8");
  auto doc = std::make_unique<rapidjson::Document>();
  doc->Parse(json_text.data(), json_text.size());
  if (doc->HasParseError())
    return fail(std::string{"invalid JSON: "}
                + rapidjson::GetParseError_En(doc->GetParseError()));
  if (!doc->IsObject())
    return fail("not a JSON object");
  // Escapes can spell what the text is not: "\udc00" alone is no UTF-8.
  if (!valid_utf8_strings(*doc))
    return fail("a string or name is not valid UTF-8 (a lone surrogate?)");
  // A table is its fields and which of them are required: that is what
  // replicates (see schema_defs.hpp). Other top-level constraints would
  // hold on one node and not on the next, so they are refused; annotations
  // are fine.
  for (auto it = doc->MemberBegin(); it != doc->MemberEnd(); ++it) {
    std::string_view k{it->name.GetString(), it->name.GetStringLength()};
    if (k == "type") {
      if (!it->value.IsString() || std::string_view{it->value.GetString()} != "object")
        return fail("'type' must be \"object\"");
    } else if (k != "properties" && k != "required" && k != "additionalProperties"
               && k != "$schema" && k != "$id" && k != "id" && k != "title"
               && k != "description" && k != "$comment") {
      return fail("top-level keyword '" + std::string{k}
                  + "' is not supported: a table is its 'properties' and "
                    "'required' (put constraints on the fields)");
    }
  }
  auto props = doc->FindMember("properties");
  if (props == doc->MemberEnd() || !props->value.IsObject())
    return fail("needs an object 'properties'");
  for (auto it = props->value.MemberBegin(); it != props->value.MemberEnd();
       ++it) {
    field f;
    f.name.assign(it->name.GetString(), it->name.GetStringLength());
    if (!valid_identifier(f.name) || is_system_field(f.name))
      return fail("field '" + f.name
                  + "' must match ^[a-z][a-z0-9_]{0,62}$ and not be a "
                    "system field");
    if (!it->value.IsObject())
      return fail("field '" + f.name + "' is not an object");
    // JSON allows a member twice; RapidJSON keeps both. A table cannot.
    if (result->index_.count(f.name))
      return fail("field '" + f.name + "' is defined twice");
    auto t = it->value.FindMember("type");
    if (t == it->value.MemberEnd())
      return fail("field '" + f.name + "' has no type");
    std::optional<field_type> ft;
    auto take = [&](const rapidjson::Value& v) -> bool {
      if (!v.IsString())
        return false;
      std::string_view s{v.GetString(), v.GetStringLength()};
      if (s == "null") {
        f.nullable = true;
        return true;
      }
      auto parsed = type_from_name(s);
      if (!parsed || ft)
        return false; // unknown type, or a union of two non-null types
      ft = parsed;
      return true;
    };
    bool ok = true;
    if (t->value.IsArray()) {
      for (auto& x : t->value.GetArray())
        ok = ok && take(x);
    } else {
      ok = take(t->value);
    }
    if (!ok || !ft)
      return fail("field '" + f.name
                  + "' needs one type of string, integer, number, boolean, "
                    "object, array (optionally with null)");
    f.type = *ft;
    if (auto why = unsafe_keyword(it->value); !why.empty())
      return fail("field '" + f.name + "': " + why);
    auto ix = it->value.FindMember("x-index");
    if (ix != it->value.MemberEnd()) {
      if (!ix->value.IsBool())
        return fail("field '" + f.name + "': 'x-index' must be true or false");
      f.indexed = ix->value.GetBool();
    }
    result->index_.emplace(f.name, result->fields_.size());
    result->fields_.push_back(std::move(f));
  }
  // SQLite allows 2,000 columns; a definition beyond what the tables can
  // hold would replicate and then fail on every node.
  if (result->fields_.size() > max_fields)
    return fail("has more than " + std::to_string(max_fields) + " fields");
  auto req = doc->FindMember("required");
  if (req != doc->MemberEnd()) {
    if (!req->value.IsArray())
      return fail("'required' must be an array");
    for (auto& r : req->value.GetArray())
      if (!r.IsString() || !result->find(r.GetString()))
        return fail("'required' names an unknown field");
  }
  // The loader enforces additionalProperties: false whatever the file says.
  auto& alloc = doc->GetAllocator();
  doc->RemoveMember("additionalProperties");
  doc->AddMember("additionalProperties", false, alloc);
  auto update = std::make_unique<rapidjson::Document>();
  update->CopyFrom(*doc, update->GetAllocator());
  update->RemoveMember("required");
  result->create_schema_ = std::make_unique<rapidjson::SchemaDocument>(*doc);
  result->update_schema_ = std::make_unique<rapidjson::SchemaDocument>(*update);
  result->create_doc_ = std::move(doc);
  result->update_doc_ = std::move(update);
  return table_ptr{std::move(result)};
}

bool table_schema::required(std::string_view field) const {
  auto req = create_doc_->FindMember("required");
  if (req == create_doc_->MemberEnd())
    return false;
  for (auto& r : req->value.GetArray())
    if (std::string_view{r.GetString(), r.GetStringLength()} == field)
      return true;
  return false;
}

const field* table_schema::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &fields_[it->second];
}

std::vector<field_error> table_schema::validate(const rapidjson::Value& data,
                                                bool create) const {
  std::vector<field_error> errors;
  if (!data.IsObject()) {
    errors.push_back({"data", "must be an object"});
    return errors;
  }
  for (auto it = data.MemberBegin(); it != data.MemberEnd(); ++it) {
    std::string key{it->name.GetString(), it->name.GetStringLength()};
    if (key == "id" && create)
      continue; // a client may supply its own ULID on create
    if (is_system_field(key))
      errors.push_back({key, "system field cannot be set"});
    else if (!find(key))
      errors.push_back({key, "unknown field"});
  }
  if (!errors.empty())
    return errors;
  // Validate without the optional client id, which the schema does not know.
  const rapidjson::Value* target = &data;
  rapidjson::Document stripped;
  if (create && data.HasMember("id")) {
    stripped.SetObject();
    for (auto it = data.MemberBegin(); it != data.MemberEnd(); ++it)
      if (std::string_view{it->name.GetString()} != "id")
        stripped.AddMember(rapidjson::Value{it->name, stripped.GetAllocator()},
                           rapidjson::Value{it->value, stripped.GetAllocator()},
                           stripped.GetAllocator());
    target = &stripped;
  }
  rapidjson::SchemaValidator validator{create ? *create_schema_
                                              : *update_schema_};
  if (!target->Accept(validator)) {
    rapidjson::StringBuffer ptr;
    validator.GetInvalidDocumentPointer().StringifyUriFragment(ptr);
    std::string keyword = validator.GetInvalidSchemaKeyword();
    std::string where = ptr.GetString();
    // "#/first_name" -> "first_name"; required errors point at the object.
    std::string name = where.size() > 2 ? where.substr(2) : "";
    if (keyword == "required") {
      // RapidJSON 1.1 does not name the missing member; find it ourselves.
      auto req = create_doc_->FindMember("required");
      if (req != create_doc_->MemberEnd())
        for (auto& r : req->value.GetArray())
          if (!target->HasMember(r.GetString())) {
            name = r.GetString();
            break;
          }
    }
    auto slash = name.find('/');
    if (slash != std::string::npos)
      name.resize(slash);
    errors.push_back(
        {name.empty() ? "data" : name, keyword_message(keyword, find(name))});
    return errors;
  }
  // JSON Schema's "integer" also admits integers beyond 64 bits.
  for (auto it = target->MemberBegin(); it != target->MemberEnd(); ++it) {
    const auto* f = find(it->name.GetString());
    if (f && f->type == field_type::integer && it->value.IsNumber()
        && !it->value.IsInt64())
      errors.push_back({f->name, "integer out of range"});
  }
  return errors;
}

value to_message_value(const field& f, const rapidjson::Value& v) {
  if (v.IsNull())
    return value{};
  switch (f.type) {
  case field_type::boolean:
    return value{int64_t{v.IsTrue() ? 1 : 0}};
  case field_type::integer:
    return value{v.GetInt64()};
  case field_type::real:
    return value{v.GetDouble()};
  case field_type::object:
  case field_type::array: {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w{buf};
    v.Accept(w);
    return value{std::string{buf.GetString(), buf.GetSize()}};
  }
  default:
    return value{std::string{v.GetString(), v.GetStringLength()}};
  }
}

bool value_fits(const field& f, const value& v) {
  switch (v.index()) {
  case 0:
    return f.nullable;
  case 1: {
    if (f.type == field_type::boolean) {
      auto i = std::get<int64_t>(v);
      return i == 0 || i == 1;
    }
    return f.type == field_type::integer || f.type == field_type::real;
  }
  case 2:
    return f.type == field_type::real;
  default: {
    if (f.type == field_type::text)
      return true;
    if (f.type != field_type::object && f.type != field_type::array)
      return false;
    rapidjson::Document d;
    const auto& s = std::get<std::string>(v);
    if (!within_json_depth(s))
      return false;
    d.Parse(s.data(), s.size());
    // (Text whose escapes decode to no UTF-8, such as a lone \udc00, fits:
    // refusing it now would part nodes that stored it from nodes that
    // apply the log afresh. storage/render.cpp answers it as its text.)
    return !d.HasParseError()
           && (f.type == field_type::object ? d.IsObject() : d.IsArray());
  }
  }
}

caf::expected<schema_set> load_schema_dir(const std::string& dir) {
  schema_set out;
  std::unique_ptr<DIR, int (*)(DIR*)> d{opendir(dir.c_str()), closedir};
  if (!d)
    return make_error(ec::schema_conflict,
                      "cannot open schema folder '" + dir + "'");
  std::vector<std::string> files;
  while (auto* e = readdir(d.get())) {
    std::string f = e->d_name;
    if (f.size() > 5 && f.compare(f.size() - 5, 5, ".json") == 0)
      files.push_back(f);
  }
  std::sort(files.begin(), files.end());
  for (auto& f : files) {
    std::ifstream in{dir + "/" + f};
    std::stringstream ss;
    ss << in.rdbuf();
    auto table = table_schema::parse(f.substr(0, f.size() - 5), ss.str());
    if (!table)
      return make_error(ec::schema_conflict,
                        dir + "/" + f + ": " + describe(table.error()));
    out.emplace((*table)->name(), std::move(*table));
  }
  // An empty folder is fine: the node learns its tables from the group.
  return out;
}

} // namespace crdt
