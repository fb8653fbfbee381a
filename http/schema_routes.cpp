// Table definitions at runtime: list and read them, and define a new table
// or new fields (admins of the default organization). Definitions are
// messages of the schema dataset and reach every node of the group.

#include "http/handlers.hpp"

#include "auth/accounts.hpp"
#include "http/openapi.hpp"
#include "protocol/schema_defs.hpp"

#include <caf/all.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace crdt {

namespace {

// {"table": name, "schema": {...}}: the table as a schema file would say it.
std::string table_row(const std::string& name,
                      const def_map::mapped_type& columns) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  return "{\"table\":" + std::string{buf.GetString(), buf.GetSize()}
         + ",\"schema\":" + table_json(columns) + "}";
}

} // namespace

void list_tables(const request_context& ctx) {
  const auto& catalog = *ctx.svc().catalog;
  auto defs = catalog.definitions();
  std::string rows;
  size_t n = 0;
  for (const auto& [name, columns] : defs) {
    if (!catalog.find(name))
      continue; // defined, but its definitions do not form a table
    rows += (rows.empty() ? "" : ",") + table_row(name, columns);
    ++n;
  }
  ctx.reply(ok_reply(200, "Tables", n, rows));
}

void get_table(const request_context& ctx) {
  const auto& name = ctx.param("table");
  auto defs = ctx.svc().catalog->definitions();
  auto it = defs.find(name);
  if (it == defs.end() || !ctx.svc().catalog->find(name)) {
    ctx.reply(error_reply(404, "Unknown table", name));
    return;
  }
  ctx.reply(ok_reply(200, "Table " + name, 1, table_row(name, it->second)));
}

void define_table(const request_context& ctx) {
  const auto& name = ctx.param("table");
  auto parsed = table_schema::parse(name, ctx.body());
  if (!parsed) {
    ctx.reply(error_reply(400, describe(parsed.error()), name));
    return;
  }
  auto defs = definitions_of(**parsed);
  auto committed = ctx.svc().catalog->definitions();
  // Checked here for a quick answer; the writer checks again inside the
  // commit, against definitions that arrived meanwhile.
  auto why = incompatibility(committed, defs);
  if (!why.empty()) {
    ctx.reply(error_reply(409, why, name));
    return;
  }
  why = over_capacity(committed, defs);
  if (!why.empty()) {
    ctx.reply(error_reply(400, why, name));
    return;
  }
  auto known = committed.find(name);
  bool new_table = known == committed.end();
  std::vector<message> fresh;
  for (auto& d : defs)
    if (new_table || known->second.find(d.column) == known->second.end())
      fresh.push_back(message{{}, schema_dataset, std::move(d.table),
                              std::move(d.column),
                              value{std::move(d.definition)}});
  // What a hub would refuse must not be committed (see check_definition).
  for (auto& m : fresh) {
    m.timestamp = "(new)";
    if (auto bad = check_definition(m); !bad.empty()) {
      ctx.reply(error_reply(400, bad, name));
      return;
    }
    m.timestamp.clear();
  }
  if (fresh.empty()) {
    ctx.reply(ok_reply(200, "Nothing new in " + name, 1,
                       table_row(name, known->second)));
    return;
  }
  std::vector<std::string> added;
  for (const auto& m : fresh)
    if (m.column != table_marker)
      added.push_back(m.column);
  ctx.self
      ->request(ctx.svc().applier, write_timeout, define_atom::value,
                std::move(fresh))
      .then(
          [=](const std::string&) {
            auto now = ctx.svc().catalog->definitions();
            auto it = now.find(name);
            auto served = ctx.svc().catalog->find(name);
            bool all = served && it != now.end();
            for (const auto& f : added)
              all = all && served->find(f);
            if (!all) {
              ctx.reply(error_reply(500, "The definition was stored but the "
                                         "table is not served as defined; "
                                         "see the log",
                                    name));
              return;
            }
            ctx.reply(ok_reply(new_table ? 201 : 200,
                               new_table ? "Defined table " + name
                                         : "Added "
                                               + std::to_string(added.size())
                                               + " fields to " + name,
                               1, table_row(name, it->second)));
          },
          [=](caf::error& err) { ctx.reply(error_reply(err, name)); });
}

void serve_openapi(const request_context& ctx) {
  const auto& catalog = *ctx.svc().catalog;
  std::vector<described_table> tables;
  for (const auto& [name, columns] : catalog.definitions())
    if (catalog.find(name))
      tables.emplace_back(name, table_json(columns));
  ctx.reply({200, openapi_document(tables), {}});
}

} // namespace crdt
