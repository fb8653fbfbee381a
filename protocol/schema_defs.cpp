#include "protocol/schema_defs.hpp"

#include "protocol/error.hpp"
#include "protocol/json_guard.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace crdt {

namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_sorted(json_writer& w, const rapidjson::Value& v) {
  if (v.IsObject()) {
    std::vector<const rapidjson::Value::Member*> members;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it)
      members.push_back(&*it);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) {
      return std::string_view{a->name.GetString(), a->name.GetStringLength()}
             < std::string_view{b->name.GetString(), b->name.GetStringLength()};
    });
    w.StartObject();
    for (auto* m : members) {
      w.Key(m->name.GetString(), m->name.GetStringLength());
      write_sorted(w, m->value);
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    for (auto& x : v.GetArray())
      write_sorted(w, x);
    w.EndArray();
  } else {
    v.Accept(w);
  }
}

// A parsed definition: {"required": bool, "schema": object}.
struct parsed_def {
  rapidjson::Document doc;
  bool required = false;
  const rapidjson::Value* schema = nullptr;
};

std::optional<parsed_def> parse_def(std::string_view text) {
  if (!within_json_depth(text))
    return std::nullopt;
  parsed_def d;
  d.doc.Parse(text.data(), text.size());
  if (d.doc.HasParseError() || !d.doc.IsObject() || d.doc.MemberCount() != 2)
    return std::nullopt;
  auto req = d.doc.FindMember("required");
  auto sch = d.doc.FindMember("schema");
  if (req == d.doc.MemberEnd() || !req->value.IsBool()
      || sch == d.doc.MemberEnd() || !sch->value.IsObject())
    return std::nullopt;
  d.required = req->value.GetBool();
  d.schema = &sch->value;
  return d;
}

std::string json_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  v.Accept(w);
  return std::string{buf.GetString(), buf.GetSize()};
}

bool reserved_table(std::string_view name) {
  return name.rfind("crdt_", 0) == 0 || name.rfind("sqlite_", 0) == 0
         || name == "config_sync";
}

} // namespace

std::string canonical_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  write_sorted(w, v);
  return std::string{buf.GetString(), buf.GetSize()};
}

std::vector<field_def> definitions_of(const table_schema& table) {
  std::vector<field_def> out;
  out.push_back({table.name(), table_marker, "{}"});
  auto props = table.document().FindMember("properties");
  for (const auto& f : table.fields()) {
    rapidjson::Document d;
    d.SetObject();
    auto& a = d.GetAllocator();
    d.AddMember("required", table.required(f.name), a);
    rapidjson::Value schema{props->value[f.name.c_str()], a};
    d.AddMember("schema", schema, a);
    out.push_back({table.name(), f.name, canonical_json(d)});
  }
  return out;
}

std::string type_of_definition(std::string_view definition) {
  auto d = parse_def(definition);
  if (!d)
    return "?";
  auto t = d->schema->FindMember("type");
  if (t == d->schema->MemberEnd())
    return "?";
  if (t->value.IsString())
    return t->value.GetString();
  if (!t->value.IsArray())
    return "?";
  std::string main;
  bool nullable = false;
  for (auto& x : t->value.GetArray()) {
    if (!x.IsString())
      return "?";
    if (std::string_view{x.GetString()} == "null")
      nullable = true;
    else
      main = x.GetString();
  }
  return main + (nullable ? "|null" : "");
}

std::string check_definition(const message& m) {
  if (!valid_identifier(m.row) || reserved_table(m.row))
    return "schema message " + m.timestamp + " names no legal table";
  const auto* text = std::get_if<std::string>(&m.val);
  if (!text)
    return "schema message " + m.timestamp + " has no JSON text";
  if (text->size() > max_definition_bytes)
    return "schema message " + m.timestamp + ": a definition holds at most "
           + std::to_string(max_definition_bytes) + " bytes";
  if (m.column == table_marker) {
    if (*text != "{}")
      return "schema message " + m.timestamp + ": a table marker is {}";
    return {};
  }
  if (!valid_identifier(m.column) || is_system_field(m.column))
    return "schema message " + m.timestamp + " names no legal field";
  auto d = parse_def(*text);
  if (!d)
    return "schema message " + m.timestamp
           + ": not a definition {\"required\":..,\"schema\":{..}}";
  // Parse it the way a schema file with this one field would be parsed.
  rapidjson::Document table;
  table.SetObject();
  auto& a = table.GetAllocator();
  rapidjson::Value props{rapidjson::kObjectType};
  props.AddMember(rapidjson::Value{m.column.c_str(), a},
                  rapidjson::Value{*d->schema, a}, a);
  table.AddMember("properties", props, a);
  auto parsed = table_schema::parse(m.row, json_text(table));
  if (!parsed)
    return "schema message " + m.timestamp + ": " + describe(parsed.error());
  return {};
}

std::string incompatibility(const def_map& winners,
                            const std::vector<field_def>& proposed) {
  for (const auto& p : proposed) {
    auto t = winners.find(p.table);
    if (t == winners.end())
      continue;
    auto c = t->second.find(p.column);
    if (c == t->second.end() || c->second.definition == p.definition)
      continue;
    auto was = type_of_definition(c->second.definition);
    auto now = type_of_definition(p.definition);
    if (was != now)
      return "table '" + p.table + "' field '" + p.column + "' is " + was
             + " and cannot become " + now
             + ": field types never change (add a new field, or give the "
               "group a new GROUP_ID for an incompatible schema)";
    return "table '" + p.table + "' field '" + p.column
           + "' is already defined as " + c->second.definition
           + " and cannot become " + p.definition
           + ": field definitions never change (add a new field instead)";
  }
  return {};
}

std::string over_capacity(const def_map& winners,
                          const std::vector<field_def>& proposed) {
  std::map<std::string, std::set<std::string>> fields;
  for (const auto& p : proposed) {
    auto& cols = fields[p.table];
    if (p.column != table_marker)
      cols.insert(p.column);
  }
  for (auto& [table, cols] : fields) {
    auto t = winners.find(table);
    if (t != winners.end())
      for (const auto& [col, w] : t->second)
        if (col != table_marker)
          cols.insert(col);
  }
  for (const auto& [table, cols] : fields)
    if (cols.size() > max_fields)
      return "table '" + table + "' would have " + std::to_string(cols.size())
             + " fields; a table has at most " + std::to_string(max_fields);
  return {};
}

std::string table_json(const def_map::mapped_type& columns) {
  std::vector<std::tuple<std::string, std::string, const def_winner*>> order;
  for (const auto& [col, w] : columns)
    if (col != table_marker)
      order.emplace_back(w.timestamp, col, &w);
  std::sort(order.begin(), order.end());
  if (order.size() > max_fields)
    order.resize(max_fields);
  rapidjson::Document doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  doc.AddMember("type", "object", a);
  rapidjson::Value props{rapidjson::kObjectType};
  rapidjson::Value required{rapidjson::kArrayType};
  for (const auto& [ts, col, w] : order) {
    auto d = parse_def(w->definition);
    if (!d)
      continue;
    props.AddMember(rapidjson::Value{col.c_str(), a},
                    rapidjson::Value{*d->schema, a}, a);
    if (d->required)
      required.PushBack(rapidjson::Value{col.c_str(), a}, a);
  }
  doc.AddMember("properties", props, a);
  if (!required.Empty())
    doc.AddMember("required", required, a);
  return json_text(doc);
}

schema_set assemble(const def_map& winners, std::vector<std::string>* skipped) {
  schema_set out;
  for (const auto& [name, columns] : winners) {
    auto t = table_schema::parse(name, table_json(columns));
    if (t)
      out.emplace(name, std::move(*t));
    else if (skipped)
      skipped->push_back(name + ": " + describe(t.error()));
  }
  return out;
}

} // namespace crdt
