// Opening the database: pragmas, the service's own tables, the node id and
// clock, and the user tables created or extended from the loaded schema.

#include "storage/write_store.hpp"

#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"
#include "storage/detail.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <iostream>

namespace crdt {

namespace {

constexpr const char* internal_ddl = R"sql(
CREATE TABLE IF NOT EXISTS crdt_messages(
  seq INTEGER PRIMARY KEY, ts TEXT NOT NULL UNIQUE, dataset TEXT NOT NULL,
  row_id TEXT NOT NULL, col TEXT NOT NULL, value,
  outgoing INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS crdt_stamps(
  dataset TEXT NOT NULL, row_id TEXT NOT NULL, stamps BLOB NOT NULL,
  PRIMARY KEY(dataset, row_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_merkle(
  key TEXT PRIMARY KEY, hash INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_clock(
  id INTEGER PRIMARY KEY CHECK (id = 0), node TEXT NOT NULL, ts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS crdt_schema(
  dataset TEXT NOT NULL, col TEXT NOT NULL, type TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY(dataset, col)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_hub_messages(
  group_id TEXT NOT NULL, ts TEXT NOT NULL, dataset TEXT NOT NULL,
  row_id TEXT NOT NULL, col TEXT NOT NULL, value,
  seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(group_id, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_hub_merkle(
  group_id TEXT NOT NULL, key TEXT NOT NULL, hash INTEGER NOT NULL,
  PRIMARY KEY(group_id, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS config_sync(
  key TEXT PRIMARY KEY, value TEXT, type TEXT NOT NULL DEFAULT 'string');
CREATE TABLE IF NOT EXISTS crdt_local(
  key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_schema_defs(
  tbl TEXT NOT NULL, col TEXT NOT NULL, def TEXT NOT NULL, ts TEXT NOT NULL,
  PRIMARY KEY(tbl, col)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_schema_history(
  ts TEXT PRIMARY KEY, tbl TEXT NOT NULL, col TEXT NOT NULL,
  def TEXT NOT NULL) WITHOUT ROWID;
)sql";

caf::error make_parents(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos;
       pos = path.find('/', pos + 1)) {
    auto dir = path.substr(0, pos);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      return make_error(ec::storage_failure, "cannot create folder " + dir);
  }
  return caf::none;
}

caf::error apply_pragmas(sql::connection& db, const store_options& opts) {
  auto sync = opts.synchronous == "NORMAL" ? "NORMAL" : "FULL";
  return db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous="
                 + std::string{sync} + "; PRAGMA busy_timeout=10000;"
                 + " PRAGMA cache_size=-" + std::to_string(opts.cache_kib)
                 + "; PRAGMA temp_store=MEMORY;");
}

// Where `column` is in `table`'s primary key (1 for the first column of
// it, 0 when outside it), or -1 when the table has no such column.
caf::expected<int64_t> key_position(sql::connection& c, const char* table,
                                    const char* column) {
  auto cols = c.prepare_once(std::string{"PRAGMA table_info("} + table + ")");
  if (!cols)
    return cols.error();
  while (cols->step() == SQLITE_ROW)
    if (cols->column_text(1) == column)
      return cols->column_int(5);
  return -1;
}

// Whether `table` has a column `column`.
caf::expected<bool> has_column(sql::connection& c, const char* table,
                               const char* column) {
  auto at = key_position(c, table, column);
  if (!at)
    return at.error();
  return *at >= 0;
}

// Whether the database has a table `name`.
caf::expected<bool> has_table(sql::connection& c, const char* name) {
  auto s = c.prepare_once(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  if (!s)
    return s.error();
  s->bind(1, std::string_view{name});
  return s->step() == SQLITE_ROW;
}

// Brings databases of earlier versions up to this one's internal tables;
// sets `rebuild` when the derived tables must be replayed from the log.
caf::error upgrade(sql::connection& c, bool& rebuild) {
  // crdt_schema.active: every field recorded before was in that start's
  // schema.
  auto active = has_column(c, "crdt_schema", "active");
  if (!active)
    return active.error();
  if (!*active)
    if (auto err = c.exec("ALTER TABLE crdt_schema ADD COLUMN active "
                          "INTEGER NOT NULL DEFAULT 1"))
      return err;
  // seq: the order in which messages were stored, the position a sync
  // stream resumes from. Messages stored before it existed are numbered in
  // timestamp order, this node's own group first, in one transaction.
  auto seq = has_column(c, "crdt_messages", "seq");
  if (!seq)
    return seq.error();
  if (!*seq) {
    sql::transaction tx{c};
    if (auto err = tx.begin())
      return err;
    if (auto err = c.exec(R"sql(
ALTER TABLE crdt_messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crdt_hub_messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE crdt_messages SET seq = o.n FROM (
  SELECT ts, row_number() OVER (ORDER BY ts) AS n FROM crdt_messages) AS o
WHERE o.ts = crdt_messages.ts;
UPDATE crdt_hub_messages SET seq = o.n + (SELECT count(*) FROM crdt_messages)
FROM (SELECT group_id, ts, row_number() OVER (ORDER BY group_id, ts) AS n
      FROM crdt_hub_messages) AS o
WHERE o.group_id = crdt_hub_messages.group_id AND o.ts = crdt_hub_messages.ts;
)sql"))
      return err;
    if (auto err = tx.commit())
      return err;
  }
  if (auto err = c.exec(
          "CREATE INDEX IF NOT EXISTS crdt_hub_messages_seq "
          "ON crdt_hub_messages(group_id, seq);"))
    return err;
  // The outbox was a table of queued timestamps; it is now the messages
  // marked `outgoing` past the acknowledged sequence number (crdt_local
  // outbox_acked, 0 here): what was queued stays queued.
  auto outgoing = has_column(c, "crdt_messages", "outgoing");
  if (!outgoing)
    return outgoing.error();
  if (!*outgoing) {
    sql::transaction tx{c};
    if (auto err = tx.begin())
      return err;
    if (auto err = c.exec("ALTER TABLE crdt_messages ADD COLUMN outgoing "
                          "INTEGER NOT NULL DEFAULT 0"))
      return err;
    auto old = has_table(c, "crdt_outbox");
    if (!old)
      return old.error();
    if (*old)
      if (auto err = c.exec("UPDATE crdt_messages SET outgoing = 1 WHERE ts "
                            "IN (SELECT ts FROM crdt_outbox); "
                            "DROP TABLE crdt_outbox;"))
        return err;
    if (auto err = tx.commit())
      return err;
  }
  // The log is a rowid table keyed by seq: appends fill its pages in
  // order and it needs no seq index; the timestamp is a unique key beside
  // it. Earlier versions kept it WITHOUT ROWID, keyed by the timestamp,
  // with a seq index: copied over once, in one transaction, seq kept.
  auto keyed = key_position(c, "crdt_messages", "seq");
  if (!keyed)
    return keyed.error();
  if (*keyed != 1) {
    std::cout << "crdt-store: storage: moving the message log to its "
                 "layout keyed by seq (once; a large log takes a while)"
              << std::endl;
    // Sorting by seq spills to temporary files, not to memory (a million
    // messages sort in ~150 MB).
    if (auto err = c.exec("PRAGMA temp_store=FILE"))
      return err;
    sql::transaction tx{c};
    if (auto err = tx.begin())
      return err;
    if (auto err = c.exec(R"sql(
CREATE TABLE crdt_messages_by_seq(
  seq INTEGER PRIMARY KEY, ts TEXT NOT NULL UNIQUE, dataset TEXT NOT NULL,
  row_id TEXT NOT NULL, col TEXT NOT NULL, value,
  outgoing INTEGER NOT NULL DEFAULT 0);
INSERT INTO crdt_messages_by_seq(seq, ts, dataset, row_id, col, value,
                                 outgoing)
  SELECT seq, ts, dataset, row_id, col, value, outgoing FROM crdt_messages
  ORDER BY seq;
DROP TABLE crdt_messages;
ALTER TABLE crdt_messages_by_seq RENAME TO crdt_messages;
)sql"))
      return err;
    if (auto err = tx.commit())
      return err;
    // The copy went through the write-ahead log, which would otherwise keep
    // its size (about the log's) on disk: copied into the file and emptied.
    // The old table's pages are free pages in the file, reused by writes.
    if (auto err = c.exec("PRAGMA temp_store=MEMORY; "
                          "PRAGMA wal_checkpoint(TRUNCATE);"))
      return err;
  }
  // An older binary started on this layout adds its seq index back.
  if (auto err = c.exec("DROP INDEX IF EXISTS crdt_messages_seq"))
    return err;
  // The winning timestamps were one row per field (crdt_cells); they are
  // one row per record now (crdt_stamps), rebuilt from the log once; the
  // full rebuild drops the old table in its own transaction.
  auto cells = has_table(c, "crdt_cells");
  if (!cells)
    return cells.error();
  rebuild = *cells;
  return caf::none;
}

} // namespace

caf::error write_store::load_seq() {
  auto s = db_->prepare_once(
      "SELECT max((SELECT coalesce(max(seq), 0) FROM crdt_messages), "
      "(SELECT coalesce(max(seq), 0) FROM crdt_hub_messages))");
  if (!s)
    return s.error();
  if (s->step() != SQLITE_ROW)
    return db_->fail("cannot read the last sequence number");
  next_seq_ = static_cast<uint64_t>(s->column_int(0)) + 1;
  return caf::none;
}

caf::expected<std::unique_ptr<write_store>>
write_store::open(const store_options& opts, const schema_set& schemas,
                  catalog_ptr catalog, bool define) {
  if (auto err = make_parents(opts.path))
    return err;
  auto db = sql::connection::open(opts.path,
                                  SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!db)
    return db.error();
  auto result = std::unique_ptr<write_store>(new write_store);
  result->db_ = std::move(*db);
  auto& c = *result->db_;
  if (auto err = apply_pragmas(c, opts))
    return err;
  if (opts.background_checkpoint) {
    auto ckpt = checkpointer::start(opts.path);
    if (!ckpt)
      return ckpt.error();
    result->checkpointer_ = std::move(*ckpt);
    result->checkpointer_->attach(c);
  }
  if (auto err = c.exec(internal_ddl))
    return err;
  bool rebuild_all = false;
  if (auto err = upgrade(c, rebuild_all))
    return err;
  if (auto err = result->load_seq())
    return err;
  // Node id and clock: created once, then read back on every start.
  auto sel = c.prepare_once("SELECT node, ts FROM crdt_clock WHERE id = 0");
  if (!sel)
    return sel.error();
  if (sel->step() == SQLITE_ROW) {
    result->node_id_ = std::string{sel->column_text(0)};
    result->clock_ = std::string{sel->column_text(1)};
  } else {
    result->node_id_ = random_node_id();
    timestamp zero;
    zero.node = result->node_id_;
    result->clock_ = to_string(zero);
    auto ins = c.prepare_once(
        "INSERT INTO crdt_clock(id, node, ts) VALUES(0, ?1, ?2)");
    if (!ins)
      return ins.error();
    ins->bind(1, std::string_view{result->node_id_});
    ins->bind(2, std::string_view{result->clock_});
    if (auto err = detail::step_done(c, *ins, "cannot persist the node id"))
      return err;
  }
  sel->reset(); // an unfinished read would lock the tables a rebuild drops
  result->catalog_
      = catalog ? std::move(catalog) : std::make_shared<schema_catalog>();
  // The tables come from the committed definitions, the folder's new ones
  // included, plus the built-in tables.
  if (auto err = result->define_files(schemas, define))
    return err;
  if (auto err = result->refresh_schema())
    return err;
  if (rebuild_all) {
    std::cout << "crdt-store: upgrading the database: rebuilding the tables "
                 "from the message log"
              << std::endl;
    if (auto err = result->rebuild())
      return err;
  }
  return result;
}

caf::error write_store::migrate(const schema_set& schemas) {
  auto& c = *db_;
  // crdt_schema remembers the column type each field was made with (a
  // different one means its table is made anew) and whether the previous
  // migration had it (`active`): a field or table that comes back after
  // being left out must catch up on what arrived meanwhile.
  auto known = c.prepare_once(
      "SELECT col, type, active FROM crdt_schema WHERE dataset = ?1");
  auto remember
      = c.prepare_once("INSERT INTO crdt_schema(dataset, col, type, active) "
                       "VALUES(?1, ?2, ?3, 1) ON CONFLICT(dataset, col) DO "
                       "UPDATE SET active = 1, type = excluded.type");
  auto has_messages = c.prepare_once(
      "SELECT 1 FROM crdt_messages WHERE dataset = ?1 LIMIT 1");
  for (auto* s : {&known, &remember, &has_messages})
    if (!*s)
      return s->error();
  sql::transaction tx{c};
  if (auto err = tx.begin())
    return err;
  // What the previous start had, before this start marks what it has.
  std::map<std::string, std::map<std::string, std::pair<std::string, bool>>>
      before;
  for (const auto& [name, table] : schemas) {
    known->bind(1, std::string_view{name});
    while (known->step() == SQLITE_ROW)
      before[name].emplace(std::string{known->column_text(0)},
                           std::make_pair(std::string{known->column_text(1)},
                                          known->column_int(2) != 0));
    known->reset();
  }
  if (auto err = c.exec("UPDATE crdt_schema SET active = 0"))
    return err;
  std::map<std::string, layout> layouts;
  for (const auto& [name, table] : schemas) {
    // A field whose type differs from the recorded one: define_files()
    // refuses that from the schema folder, so it is a definition that won
    // over another one of the same field, committed concurrently elsewhere.
    // The table is made anew and filled from the log, where the values of
    // the losing type do not apply (see apply_lww).
    const auto& recorded = before[name];
    bool returning = false;
    bool retype = false;
    for (const auto& f : table->fields()) {
      auto it = recorded.find(f.name);
      if (it != recorded.end() && !it->second.second)
        returning = true;
      if (it != recorded.end() && it->second.first != to_string(f.type))
        retype = true;
    }
    if (retype)
      if (auto err = c.exec("DROP TABLE IF EXISTS " + sql::quote(name)))
        return err;
    // Create the table or add the missing columns.
    std::vector<std::string> existing;
    auto info = c.prepare_once("PRAGMA table_info(" + sql::quote(name) + ")");
    if (!info)
      return info.error();
    while (info->step() == SQLITE_ROW)
      existing.emplace_back(info->column_text(1));
    bool changed = returning;
    if (existing.empty()) {
      std::string ddl = "CREATE TABLE " + sql::quote(name)
                        + "(id TEXT PRIMARY KEY, tombstone INTEGER, "
                          "organization_id TEXT, created_by TEXT, "
                          "updated_by TEXT, created_at TEXT, updated_at TEXT";
      for (const auto& f : table->fields())
        ddl += ", " + sql::quote(f.name) + " " + sql_type(f.type);
      ddl += ")";
      if (auto err = c.exec(ddl))
        return err;
      changed = true;
    } else {
      for (const auto& f : table->fields()) {
        if (std::find(existing.begin(), existing.end(), f.name)
            != existing.end())
          continue;
        if (auto err = c.exec("ALTER TABLE " + sql::quote(name) + " ADD COLUMN "
                              + sql::quote(f.name) + " " + sql_type(f.type)))
          return err;
        changed = true;
      }
    }
    for (const auto& f : table->fields()) {
      remember->bind(1, std::string_view{name});
      remember->bind(2, std::string_view{f.name});
      remember->bind(3, std::string_view{to_string(f.type)});
      auto rc = remember->step();
      remember->reset();
      if (rc != SQLITE_DONE)
        return c.fail("cannot record the schema");
    }
    // Messages that arrived before the table or field existed apply now:
    // marked here, in the transaction that made the columns, so that a
    // crash before the replay does not forget it.
    if (changed) {
      has_messages->bind(1, std::string_view{name});
      bool any = has_messages->step() == SQLITE_ROW;
      has_messages->reset();
      if (any)
        if (auto err = put_local(detail::replay_key(name), "1"))
          return err;
    }
    // Lists: the live records of an organization in id order, and in the
    // order of each field the schema marks "x-index". Partial indexes of
    // live rows, so that skipping an offset never reads the table. Named
    // in the reserved crdt_ namespace with ':' (never in a table or field
    // name), so that no user table or other index can clash with them.
    std::vector<std::string> ordered{""};
    for (const auto& f : table->fields())
      if (f.indexed)
        ordered.push_back(f.name);
    for (const auto& f : ordered) {
      auto index = sql::quote("crdt_live:" + name + (f.empty() ? "" : ":" + f));
      if (auto err = c.exec("CREATE INDEX IF NOT EXISTS " + index + " ON "
                            + sql::quote(name) + "(organization_id, "
                            + (f.empty() ? "" : sql::quote(f) + ", ")
                            + "id) WHERE tombstone IS NOT 1"))
        return err;
    }
    // Logins look accounts up by email.
    if (name == "crdt_accounts")
      if (auto err = c.exec("CREATE INDEX IF NOT EXISTS crdt_accounts_email "
                            "ON crdt_accounts(email)"))
        return err;
    layout l;
    l.schema = table;
    l.columns = detail::message_columns();
    for (const auto& f : table->fields())
      l.columns.push_back(f.name);
    for (size_t i = 0; i < l.columns.size(); ++i)
      l.index.emplace(l.columns[i], i);
    layouts[name] = std::move(l);
  }
  if (auto err = tx.commit())
    return err;
  // Served only once the tables exist: a rolled-back migration leaves the
  // layouts as they were.
  for (auto& [name, l] : layouts)
    tables_[name] = std::move(l);
  // A layout's columns may have moved: the upserts are written anew.
  upsert_sql_.clear();
  return caf::none;
}

} // namespace crdt
