// Table definitions as replicated data (see protocol/schema_defs.hpp): the
// writer keeps the winning definition of every (table, field) in
// crdt_schema_defs and the ones that lost in crdt_schema_losers, creates
// the tables they describe, and publishes them to the catalog.

#include "storage/write_store.hpp"

#include "protocol/error.hpp"
#include "protocol/schema_defs.hpp"
#include "protocol/timestamp.hpp"
#include "storage/detail.hpp"

#include <iostream>

namespace crdt {

caf::error write_store::apply_definition(const message& m) {
  // A malformed definition (an old or hostile peer; the hub refuses them)
  // stays in the log and is ignored the same way everywhere.
  if (auto why = check_definition(m); !why.empty()) {
    std::cerr << "crdt-store: schema: ignoring " << why << std::endl;
    return caf::none;
  }
  const auto& def = std::get<std::string>(m.val);
  auto sel = db_->prepare("SELECT def, ts FROM crdt_schema_defs "
                          "WHERE tbl = ?1 AND col = ?2");
  if (!sel)
    return sel.error();
  std::optional<def_winner> old;
  {
    sql::reset_guard guard{**sel};
    (*sel)->bind(1, std::string_view{m.row});
    (*sel)->bind(2, std::string_view{m.column});
    if ((*sel)->step() == SQLITE_ROW)
      old = def_winner{std::string{(*sel)->column_text(0)},
                       std::string{(*sel)->column_text(1)}};
  }
  auto put = [&](const char* sql, const std::string& d,
                 const std::string& ts) -> caf::error {
    auto s = db_->prepare(sql);
    if (!s)
      return s.error();
    sql::reset_guard guard{**s};
    (*s)->bind(1, std::string_view{m.row});
    (*s)->bind(2, std::string_view{m.column});
    (*s)->bind(3, std::string_view{d});
    (*s)->bind(4, std::string_view{ts});
    if ((*s)->step() != SQLITE_DONE)
      return db_->fail("cannot record a table definition");
    return caf::none;
  };
  constexpr const char* win
      = "INSERT INTO crdt_schema_defs(tbl, col, def, ts) VALUES(?1, ?2, ?3, "
        "?4) ON CONFLICT(tbl, col) DO UPDATE SET def = excluded.def, "
        "ts = excluded.ts";
  constexpr const char* lose
      = "INSERT INTO crdt_schema_losers(tbl, col, def, ts) VALUES(?1, ?2, ?3, "
        "?4) ON CONFLICT(ts) DO NOTHING";
  if (!old) {
    schema_changed_ = true;
    return put(win, def, m.timestamp);
  }
  if (old->definition == def) {
    // The same definition, stamped earlier elsewhere: the earliest stamp
    // orders the field, so every node lists the fields alike.
    if (m.timestamp < old->timestamp) {
      schema_changed_ = true;
      return put(win, def, m.timestamp);
    }
    return caf::none;
  }
  schema_changed_ = true;
  if (m.timestamp < old->timestamp) {
    if (auto err = put(lose, old->definition, old->timestamp))
      return err;
    return put(win, def, m.timestamp);
  }
  return put(lose, def, m.timestamp);
}

caf::error write_store::check_definitions(const write_batch& b,
                                          caf::error& refusal) {
  std::vector<field_def> proposed;
  for (const auto& m : b.messages)
    if (m.dataset == schema_dataset)
      if (const auto* text = std::get_if<std::string>(&m.val))
        proposed.push_back({m.row, m.column, *text});
  auto winners = load_definitions();
  if (!winners)
    return winners.error();
  auto why = incompatibility(*winners, proposed);
  if (!why.empty())
    refusal = make_error(ec::conflict, why);
  return caf::none;
}

caf::expected<def_map> write_store::load_definitions() {
  auto s = db_->prepare_once("SELECT tbl, col, def, ts FROM crdt_schema_defs");
  if (!s)
    return s.error();
  def_map out;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW)
    out[std::string{s->column_text(0)}][std::string{s->column_text(1)}]
        = def_winner{std::string{s->column_text(2)},
                     std::string{s->column_text(3)}};
  if (rc != SQLITE_DONE)
    return db_->fail("cannot read the table definitions");
  return out;
}

caf::expected<std::vector<schema_conflict>>
write_store::load_conflicts(const def_map& winners) {
  auto s = db_->prepare_once(
      "SELECT tbl, col, def, ts FROM crdt_schema_losers ORDER BY ts");
  if (!s)
    return s.error();
  std::vector<schema_conflict> out;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) {
    schema_conflict c;
    c.table = std::string{s->column_text(0)};
    c.field = std::string{s->column_text(1)};
    c.loser = {std::string{s->column_text(2)}, std::string{s->column_text(3)}};
    auto t = winners.find(c.table);
    if (t == winners.end())
      continue;
    auto w = t->second.find(c.field);
    // A loser whose text an even earlier definition repeats agrees again.
    if (w == t->second.end() || w->second.definition == c.loser.definition)
      continue;
    c.winner = w->second;
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE)
    return db_->fail("cannot read the schema conflicts");
  return out;
}

caf::error write_store::refresh_schema() {
  schema_changed_ = false;
  auto winners = load_definitions();
  if (!winners)
    return winners.error();
  std::vector<std::string> skipped;
  auto tables = assemble(*winners, &skipped);
  for (const auto& why : skipped)
    std::cerr << "crdt-store: schema: leaving out table " << why << std::endl;
  for (const auto& [name, t] : builtin_)
    tables.emplace(name, t); // a committed definition goes first
  std::vector<std::string> replay;
  if (auto err = migrate(tables, replay))
    return err;
  for (const auto& t : replay)
    if (auto err = rebuild(t))
      return err;
  auto conflicts = load_conflicts(*winners);
  if (!conflicts)
    return conflicts.error();
  for (const auto& c : *conflicts) {
    if (!logged_conflicts_.insert(c.loser.timestamp).second)
      continue;
    std::cerr << "crdt-store: schema: conflicting definitions of " << c.table
              << "." << c.field << ": " << type_of_definition(c.winner.definition)
              << " (" << c.winner.timestamp << ") wins over "
              << type_of_definition(c.loser.definition) << " ("
              << c.loser.timestamp << "), on every node" << std::endl;
  }
  catalog_->publish(std::move(tables), std::move(*winners),
                    std::move(*conflicts));
  return caf::none;
}

caf::error write_store::define_files(const schema_set& schemas, bool define) {
  auto winners = load_definitions();
  if (!winners)
    return winners.error();
  // Types recorded by starts before definitions replicated.
  auto recorded
      = db_->prepare_once("SELECT type FROM crdt_schema WHERE dataset = ?1 "
                          "AND col = ?2");
  if (!recorded)
    return recorded.error();
  std::vector<field_def> fresh;
  for (const auto& [name, table] : schemas) {
    if (name.rfind("crdt_", 0) == 0 || !define)
      builtin_.emplace(name, table);
    if (name.rfind("crdt_", 0) == 0)
      continue;
    auto defs = definitions_of(*table);
    auto why = incompatibility(*winners, defs);
    if (!why.empty())
      return make_error(ec::schema_conflict,
                        "schema conflict: the schema folder's " + why);
    for (const auto& f : table->fields()) {
      recorded->bind(1, std::string_view{name});
      recorded->bind(2, std::string_view{f.name});
      std::string was;
      if (recorded->step() == SQLITE_ROW)
        was = std::string{recorded->column_text(0)};
      recorded->reset();
      if (!was.empty() && was != to_string(f.type))
        return make_error(ec::schema_conflict,
                          "schema conflict: table '" + name + "' field '"
                              + f.name + "' was " + was + " and is now "
                              + to_string(f.type)
                              + "; field types cannot change (give the group "
                                "a new GROUP_ID for an incompatible schema)");
    }
    for (auto& d : defs) {
      auto t = winners->find(d.table);
      if (t == winners->end() || t->second.find(d.column) == t->second.end())
        fresh.push_back(std::move(d));
    }
  }
  if (fresh.empty() || !define)
    return caf::none;
  auto last = parse_timestamp(clock_);
  if (!last)
    return make_error(ec::storage_failure, "the persisted clock is corrupt");
  hlc clock{*last, std::numeric_limits<int64_t>::max() / 2};
  write_batch batch;
  batch.enqueue = true;
  batch.define = true;
  for (auto& d : fresh) {
    auto ts = send(clock, wall_clock_ms());
    if (!ts)
      return ts.error();
    batch.messages.push_back(message{to_string(*ts), schema_dataset,
                                     std::move(d.table), std::move(d.column),
                                     value{std::move(d.definition)}});
  }
  batch.clock = batch.messages.back().timestamp;
  auto summary = commit({&batch});
  if (!summary)
    return summary.error();
  if (summary->refused.front())
    return make_error(ec::schema_conflict,
                      "schema conflict: " + describe(summary->refused.front()));
  std::cout << "crdt-store: schema: committed " << fresh.size()
            << " new definitions from the schema folder" << std::endl;
  return caf::none;
}

} // namespace crdt
