// Table definitions as replicated data (see protocol/schema_defs.hpp): the
// writer keeps the winning definition of every (table, field) in
// crdt_schema_defs and every definition message in crdt_schema_history
// (the conflicts are those whose text differs from the winner's), creates
// the tables they describe, and publishes them to the catalog.

#include "storage/write_store.hpp"

#include "protocol/error.hpp"
#include "protocol/schema_defs.hpp"
#include "protocol/timestamp.hpp"
#include "storage/detail.hpp"

#include <iostream>
#include <limits>

namespace crdt {

caf::error write_store::apply_definition(const message& m) {
  // A malformed definition (from an old or foreign peer: /sync never
  // refuses one, see check_batch) stays in the log and is ignored the same
  // way everywhere.
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
  // Every definition is remembered, not only those that lose on arrival:
  // which ones lose depends on the order they came in (one that matched the
  // winner of the moment may lose to an earlier one later), and the report
  // must be the same on every node.
  constexpr const char* remember
      = "INSERT INTO crdt_schema_history(tbl, col, def, ts) VALUES(?1, ?2, ?3, "
        "?4) ON CONFLICT(ts) DO NOTHING";
  if (auto err = put(remember, def, m.timestamp))
    return err;
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
    // Another definition of a field this node already applied: which values
    // fit (type, null) may differ, so the table is rebuilt from the log.
    // Marked in this transaction, replayed after it (replay_marked).
    if (auto err = put_local(detail::replay_key(m.row), "1"))
      return err;
    return put(win, def, m.timestamp);
  }
  return caf::none; // a later, different definition: a conflict to report
}

caf::error write_store::unmark_replay(const std::string& table) {
  auto del = db_->prepare_once("DELETE FROM crdt_local WHERE key = ?1");
  if (!del)
    return del.error();
  auto key = detail::replay_key(table);
  del->bind(1, std::string_view{key});
  if (del->step() != SQLITE_DONE)
    return db_->fail("cannot clear a replay mark");
  return caf::none;
}

caf::error write_store::replay_marked() {
  std::vector<std::string> marked;
  {
    auto s = db_->prepare_once("SELECT key FROM crdt_local WHERE key >= "
                               "'replay:' AND key < 'replay;'");
    if (!s)
      return s.error();
    while (s->step() == SQLITE_ROW)
      marked.emplace_back(std::string{s->column_text(0)}.substr(7));
  }
  for (const auto& t : marked) {
    if (tables_.count(t)) {
      if (auto err = rebuild(t))
        return err;
      continue;
    }
    // Not served (its definitions were left out): nothing to rebuild.
    if (auto err = unmark_replay(t))
      return err;
  }
  return caf::none;
}

caf::error write_store::check_definitions(const write_batch& b,
                                          caf::error& refusal) {
  std::vector<field_def> proposed;
  for (const auto& m : b.messages) {
    if (m.dataset != schema_dataset)
      continue;
    // What the hub would refuse must not reach the outbox: it would stop
    // this node's sync for good.
    if (auto why = check_definition(m); !why.empty()) {
      refusal = make_error(ec::bad_request, why);
      return caf::none;
    }
    proposed.push_back({m.row, m.column, std::get<std::string>(m.val)});
  }
  auto winners = load_definitions();
  if (!winners)
    return winners.error();
  auto why = incompatibility(*winners, proposed);
  if (why.empty())
    why = over_capacity(*winners, proposed);
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
      "SELECT tbl, col, def, ts FROM crdt_schema_history ORDER BY ts");
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
    // The winner itself, and definitions that say the same, agree.
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
  if (auto err = migrate(tables))
    return err;
  if (auto err = replay_marked())
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
  auto lost = db_->prepare_once(
      "SELECT 1 FROM crdt_schema_history WHERE tbl = ?1 AND col = ?2 AND def = ?3");
  if (!recorded)
    return recorded.error();
  if (!lost)
    return lost.error();
  std::vector<field_def> fresh;
  for (const auto& [name, table] : schemas) {
    if (name.rfind("crdt_", 0) == 0 || !define)
      builtin_.emplace(name, table);
    if (name.rfind("crdt_", 0) == 0)
      continue;
    for (auto& d : definitions_of(*table)) {
      auto t = winners->find(d.table);
      bool known = t != winners->end() && t->second.count(d.column);
      if (known) {
        auto why = incompatibility(*winners, {d});
        if (why.empty())
          continue; // committed already, the same
        // This very definition was committed once and lost to an earlier
        // one of the group: the group's applies; the node still starts.
        lost->bind(1, std::string_view{d.table});
        lost->bind(2, std::string_view{d.column});
        lost->bind(3, std::string_view{d.definition});
        bool was_lost = lost->step() == SQLITE_ROW;
        lost->reset();
        if (!was_lost)
          return make_error(ec::schema_conflict,
                            "schema conflict: the schema folder's " + why);
        std::cerr << "crdt-store: schema: the folder's definition of "
                  << d.table << "." << d.column
                  << " lost to an earlier one of the group, which applies ("
                  << type_of_definition(t->second.at(d.column).definition)
                  << "); see /health" << std::endl;
        continue;
      }
      if (d.column != table_marker) {
        recorded->bind(1, std::string_view{d.table});
        recorded->bind(2, std::string_view{d.column});
        std::string was;
        if (recorded->step() == SQLITE_ROW)
          was = std::string{recorded->column_text(0)};
        recorded->reset();
        const auto* f = table->find(d.column);
        if (!was.empty() && was != to_string(f->type))
          return make_error(ec::schema_conflict,
                            "schema conflict: table '" + name + "' field '"
                                + f->name + "' was " + was + " and is now "
                                + to_string(f->type)
                                + "; field types cannot change (give the "
                                  "group a new GROUP_ID for an incompatible "
                                  "schema)");
      }
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
