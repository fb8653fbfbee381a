// Records as JSON: every column in its schema type.

#include "storage/render.hpp"

#include "protocol/json_guard.hpp"
#include "storage/detail.hpp"

#include <rapidjson/document.h>

namespace crdt {

void write_column(json_writer& w, const sql::statement& s, int i) {
  switch (s.column_type(i)) {
  case SQLITE_NULL:
    w.Null();
    break;
  case SQLITE_INTEGER:
    w.Int64(s.column_int(i));
    break;
  case SQLITE_FLOAT:
    w.Double(s.column_double(i));
    break;
  default: {
    auto t = s.column_text(i);
    w.String(t.data(), static_cast<rapidjson::SizeType>(t.size()));
  }
  }
}

namespace {

// Renders one column in its schema type; values that do not fit (possible
// only for messages from peers with another schema) are rendered as stored.
void write_field(json_writer& w, const sql::statement& s, int i,
                 const field* f) {
  auto type = s.column_type(i);
  if (!f || type == SQLITE_NULL) {
    write_column(w, s, i);
    return;
  }
  switch (f->type) {
  case field_type::boolean:
    if (type == SQLITE_INTEGER) {
      w.Bool(s.column_int(i) != 0);
      return;
    }
    break;
  case field_type::object:
  case field_type::array:
    if (type == SQLITE_TEXT) {
      auto t = s.column_text(i);
      rapidjson::Document d;
      if (within_json_depth(t))
        d.Parse(t.data(), t.size());
      else
        d.SetNull(); // rendered as the stored text below
      // Text whose escapes decode to bytes that are not UTF-8 (a lone
      // surrogate such as \udc00, which a peer may send) is answered as
      // the stored text instead, so that the answer stays valid JSON.
      if (!d.HasParseError()
          && (f->type == field_type::object ? d.IsObject() : d.IsArray())
          && valid_utf8_strings(d)) {
        d.Accept(w);
        return;
      }
    }
    break;
  default:
    break;
  }
  write_column(w, s, i);
}

} // namespace

selection select_columns(const table_schema& t,
                         const std::vector<std::string>& pluck) {
  selection sel;
  auto add = [&](const std::string& name) {
    if (!sel.columns_sql.empty())
      sel.columns_sql += ", ";
    sel.columns_sql += sql::quote(name);
    sel.names.push_back(name);
    sel.fields.push_back(t.find(name));
  };
  add("id");
  if (pluck.empty()) {
    for (const auto& c : detail::message_columns())
      if (c != "tombstone")
        add(c);
    for (const auto& f : t.fields())
      add(f.name);
  } else {
    for (const auto& p : pluck)
      if (p != "id")
        add(p);
  }
  return sel;
}

void write_row(json_writer& w, const sql::statement& s, const selection& sel) {
  w.StartObject();
  for (size_t i = 0; i < sel.names.size(); ++i) {
    w.Key(sel.names[i].data(),
          static_cast<rapidjson::SizeType>(sel.names[i].size()));
    write_field(w, s, static_cast<int>(i), sel.fields[i]);
  }
  w.EndObject();
}

} // namespace crdt
