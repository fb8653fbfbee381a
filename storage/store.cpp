#include "storage/store.hpp"

#include "protocol/error.hpp"
#include "protocol/json_guard.hpp"
#include "protocol/murmur3.hpp"
#include "protocol/timestamp.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <sys/stat.h>

#include <cerrno>
#include <unordered_map>

namespace crdt {

namespace {

constexpr const char* internal_ddl = R"sql(
CREATE TABLE IF NOT EXISTS crdt_messages(
  ts TEXT PRIMARY KEY, dataset TEXT NOT NULL, row_id TEXT NOT NULL,
  col TEXT NOT NULL, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_cells(
  dataset TEXT NOT NULL, row_id TEXT NOT NULL, col TEXT NOT NULL,
  ts TEXT NOT NULL, PRIMARY KEY(dataset, row_id, col)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_merkle(
  key TEXT PRIMARY KEY, hash INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_clock(
  id INTEGER PRIMARY KEY CHECK (id = 0), node TEXT NOT NULL, ts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS crdt_outbox(ts TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_schema(
  dataset TEXT NOT NULL, col TEXT NOT NULL, type TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY(dataset, col)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_hub_messages(
  group_id TEXT NOT NULL, ts TEXT NOT NULL, dataset TEXT NOT NULL,
  row_id TEXT NOT NULL, col TEXT NOT NULL, value,
  PRIMARY KEY(group_id, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_hub_merkle(
  group_id TEXT NOT NULL, key TEXT NOT NULL, hash INTEGER NOT NULL,
  PRIMARY KEY(group_id, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS config_sync(
  key TEXT PRIMARY KEY, value TEXT, type TEXT NOT NULL DEFAULT 'string');
CREATE TABLE IF NOT EXISTS crdt_local(
  key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
)sql";

constexpr const char* insert_message_sql
  = "INSERT INTO crdt_messages(ts, dataset, row_id, col, value) "
    "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";

// The LWW decision: a cell takes a message with a greater timestamp, or,
// for the creation facts, a smaller one (see creation_fields()).
const std::string& upsert_cell_sql() {
  static const std::string sql = [] {
    std::string in;
    for (const auto& f : creation_fields())
      in += (in.empty() ? "'" : ", '") + f + "'";
    return "INSERT INTO crdt_cells(dataset, row_id, col, ts) "
           "VALUES(?1, ?2, ?3, ?4) "
           "ON CONFLICT(dataset, row_id, col) DO UPDATE SET ts = excluded.ts "
           "WHERE CASE WHEN excluded.col IN ("
           + in
           + ") THEN excluded.ts < crdt_cells.ts "
             "ELSE excluded.ts > crdt_cells.ts END";
  }();
  return sql;
}

constexpr const char* insert_outbox_sql
  = "INSERT OR IGNORE INTO crdt_outbox(ts) VALUES(?1)";

constexpr const char* insert_hub_message_sql
  = "INSERT INTO crdt_hub_messages(group_id, ts, dataset, row_id, col, value) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING";

constexpr const char* upsert_hub_merkle_sql
  = "INSERT INTO crdt_hub_merkle(group_id, key, hash) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(group_id, key) DO UPDATE SET "
    "hash = (hash | excluded.hash) - (hash & excluded.hash)";

// SQLite has no XOR operator: a ^ b == (a | b) - (a & b).
constexpr const char* upsert_merkle_sql
  = "INSERT INTO crdt_merkle(key, hash) VALUES(?1, ?2) "
    "ON CONFLICT(key) DO UPDATE SET "
    "hash = (hash | excluded.hash) - (hash & excluded.hash)";

// Columns a message can set, after `id`, in every user table.
const std::vector<std::string>& system_columns() {
  static const std::vector<std::string> cols{
    "tombstone", "organization_id", "created_by",
    "updated_by", "created_at",     "updated_at"};
  return cols;
}

caf::error make_parents(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos;
       pos = path.find('/', pos + 1)) {
    auto dir = path.substr(0, pos);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      return make_error(ec::storage_failure, "cannot create folder " + dir);
  }
  return caf::none;
}

caf::error step_done(sql::connection& db, sql::statement& s,
                     const char* what) {
  auto rc = s.step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return db.fail(what);
  return caf::none;
}

caf::error apply_pragmas(sql::connection& db, const store_options& opts) {
  auto sync = opts.synchronous == "NORMAL" ? "NORMAL" : "FULL";
  return db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous="
                 + std::string{sync} + "; PRAGMA busy_timeout=10000;"
                 + " PRAGMA cache_size=-" + std::to_string(opts.cache_kib)
                 + "; PRAGMA temp_store=MEMORY;");
}

} // namespace

// -- write_store --------------------------------------------------------------

caf::expected<std::unique_ptr<write_store>>
write_store::open(const store_options& opts, const schema_set& schemas) {
  if (auto err = make_parents(opts.path))
    return err;
  auto db = sql::connection::open(opts.path, SQLITE_OPEN_READWRITE
                                               | SQLITE_OPEN_CREATE);
  if (!db)
    return db.error();
  auto result = std::unique_ptr<write_store>(new write_store);
  result->db_ = std::move(*db);
  auto& c = *result->db_;
  if (auto err = apply_pragmas(c, opts))
    return err;
  if (auto err = c.exec(internal_ddl))
    return err;
  // Databases from before crdt_schema.active: add the column (every field
  // recorded then was in that start's schema).
  {
    auto cols = c.prepare_once("PRAGMA table_info(crdt_schema)");
    if (!cols)
      return cols.error();
    bool has_active = false;
    while (cols->step() == SQLITE_ROW)
      has_active = has_active || cols->column_text(1) == "active";
    if (!has_active)
      if (auto err = c.exec("ALTER TABLE crdt_schema ADD COLUMN active "
                            "INTEGER NOT NULL DEFAULT 1"))
        return err;
  }
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
    if (auto err = step_done(c, *ins, "cannot persist the node id"))
      return err;
  }
  std::vector<std::string> replay;
  if (auto err = result->migrate(schemas, replay))
    return err;
  for (auto& t : replay)
    if (auto err = result->rebuild(t))
      return err;
  return result;
}

caf::error write_store::migrate(const schema_set& schemas,
                                std::vector<std::string>& replay) {
  auto& c = *db_;
  // crdt_schema remembers each field's type (immutable) and whether the
  // previous start's schema had it (`active`): a field or table that comes
  // back after being left out must catch up on what arrived meanwhile.
  auto known = c.prepare_once(
    "SELECT col, type, active FROM crdt_schema WHERE dataset = ?1");
  auto remember = c.prepare_once(
    "INSERT INTO crdt_schema(dataset, col, type, active) "
    "VALUES(?1, ?2, ?3, 1) ON CONFLICT(dataset, col) DO UPDATE SET active = 1");
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
  for (const auto& [name, table] : schemas) {
    // Types are immutable: compare with what earlier starts recorded.
    const auto& recorded = before[name];
    bool returning = false;
    for (const auto& f : table->fields()) {
      auto it = recorded.find(f.name);
      if (it != recorded.end() && !it->second.second)
        returning = true;
      if (it != recorded.end() && it->second.first != to_string(f.type))
        return make_error(ec::schema_conflict,
                          "schema conflict: table '" + name + "' field '"
                            + f.name + "' was " + it->second.first
                            + " and is now " + to_string(f.type)
                            + "; field types cannot change (give the group "
                              "a new GROUP_ID for an incompatible schema)");
    }
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
        if (auto err = c.exec("ALTER TABLE " + sql::quote(name)
                              + " ADD COLUMN " + sql::quote(f.name) + " "
                              + sql_type(f.type)))
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
    // Messages that arrived before the table or field existed apply now.
    if (changed) {
      has_messages->bind(1, std::string_view{name});
      if (has_messages->step() == SQLITE_ROW)
        replay.push_back(name);
      has_messages->reset();
    }
    // Logins look accounts up by email.
    if (name == "crdt_accounts")
      if (auto err = c.exec("CREATE INDEX IF NOT EXISTS crdt_accounts_email "
                            "ON crdt_accounts(email)"))
        return err;
    layout l;
    l.schema = table;
    l.columns = system_columns();
    for (const auto& f : table->fields())
      l.columns.push_back(f.name);
    for (size_t i = 0; i < l.columns.size(); ++i)
      l.index.emplace(l.columns[i], i);
    tables_.emplace(name, std::move(l));
  }
  return tx.commit();
}

caf::expected<merkle_trie> write_store::load_merkle() {
  auto s = db_->prepare_once("SELECT key, hash FROM crdt_merkle");
  if (!s)
    return s.error();
  merkle_trie trie;
  while (s->step() == SQLITE_ROW)
    trie.set_node(s->column_text(0), static_cast<uint32_t>(s->column_int(1)));
  return trie;
}

caf::expected<std::map<std::string, merkle_trie>>
write_store::load_hub_merkles() {
  auto s = db_->prepare_once("SELECT group_id, key, hash FROM crdt_hub_merkle");
  if (!s)
    return s.error();
  std::map<std::string, merkle_trie> out;
  while (s->step() == SQLITE_ROW)
    out[std::string{s->column_text(0)}].set_node(
      s->column_text(1), static_cast<uint32_t>(s->column_int(2)));
  return out;
}

caf::expected<size_t>
write_store::ack_outbox(const std::vector<std::string>& stamps) {
  sql::transaction tx{*db_};
  if (auto err = tx.begin())
    return err;
  auto del = db_->prepare("DELETE FROM crdt_outbox WHERE ts = ?1");
  if (!del)
    return del.error();
  size_t removed = 0;
  for (const auto& ts : stamps) {
    sql::reset_guard guard{**del};
    (*del)->bind(1, std::string_view{ts});
    if ((*del)->step() != SQLITE_DONE)
      return db_->fail("cannot acknowledge outbox entries");
    removed += static_cast<size_t>(db_->changes());
  }
  if (auto err = tx.commit())
    return err;
  return removed;
}

caf::expected<std::string>
write_store::local_secret(const std::string& key, const std::string& fallback) {
  auto put = db_->prepare_once(
    "INSERT INTO crdt_local(key, value) VALUES(?1, ?2) "
    "ON CONFLICT(key) DO NOTHING");
  if (!put)
    return put.error();
  put->bind(1, std::string_view{key});
  put->bind(2, std::string_view{fallback});
  if (put->step() != SQLITE_DONE)
    return db_->fail("cannot store a local secret");
  auto get = db_->prepare_once("SELECT value FROM crdt_local WHERE key = ?1");
  if (!get)
    return get.error();
  get->bind(1, std::string_view{key});
  if (get->step() != SQLITE_ROW)
    return db_->fail("cannot read a local secret");
  return std::string{get->column_text(0)};
}

caf::expected<std::map<std::string, std::string>> write_store::load_config() {
  auto s = db_->prepare_once("SELECT key, value FROM config_sync");
  if (!s)
    return s.error();
  std::map<std::string, std::string> out;
  while (s->step() == SQLITE_ROW)
    out.emplace(std::string{s->column_text(0)}, std::string{s->column_text(1)});
  return out;
}

caf::error write_store::set_config(const std::string& key,
                                   const std::string& value,
                                   const std::string& type) {
  auto s = db_->prepare("INSERT INTO config_sync(key, value, type) "
                        "VALUES(?1, ?2, ?3) ON CONFLICT(key) DO UPDATE SET "
                        "value = excluded.value, type = excluded.type");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, std::string_view{key});
  (*s)->bind(2, std::string_view{value});
  (*s)->bind(3, std::string_view{type});
  if ((*s)->step() != SQLITE_DONE)
    return db_->fail("cannot write config_sync");
  return caf::none;
}

caf::expected<size_t> write_store::outbox_size() {
  auto s = db_->prepare_once("SELECT count(*) FROM crdt_outbox");
  if (!s)
    return s.error();
  if (s->step() != SQLITE_ROW)
    return db_->fail("cannot count the outbox");
  return static_cast<size_t>(s->column_int(0));
}

caf::error write_store::apply_lww(const message& m) {
  auto cell = db_->prepare(upsert_cell_sql());
  if (!cell)
    return cell.error();
  auto& s = **cell;
  sql::reset_guard guard{s};
  s.bind(1, std::string_view{m.dataset});
  s.bind(2, std::string_view{m.row});
  s.bind(3, std::string_view{m.column});
  s.bind(4, std::string_view{m.timestamp});
  if (s.step() != SQLITE_DONE)
    return db_->fail("cannot update a cell");
  if (db_->changes() == 0)
    return caf::none; // an older message: kept in the log, cell unchanged
  auto t = tables_.find(m.dataset);
  if (t == tables_.end())
    return caf::none; // unknown table: applied when the schema gains it
  auto col = t->second.index.find(m.column);
  if (col == t->second.index.end())
    return caf::none; // unknown field: likewise
  auto key = std::make_pair(m.dataset, m.row);
  auto it = pending_index_.find(key);
  if (it == pending_index_.end()) {
    it = pending_index_.emplace(std::move(key), pending_.size()).first;
    pending_.push_back(
      {&t->second, m.row,
       std::vector<std::optional<value>>(t->second.columns.size())});
  }
  pending_[it->second].cells[col->second] = m.val;
  return caf::none;
}

caf::error write_store::flush_rows() {
  std::string sql;
  for (auto& row : pending_) {
    const auto& l = *row.table;
    sql = "INSERT INTO " + sql::quote(l.schema->name()) + "(id";
    std::string values = "?1";
    std::string updates;
    int n = 1;
    for (size_t i = 0; i < row.cells.size(); ++i) {
      if (!row.cells[i])
        continue;
      auto q = sql::quote(l.columns[i]);
      sql += ", " + q;
      values += ", ?" + std::to_string(++n);
      updates += (updates.empty() ? "" : ", ") + q + " = excluded." + q;
    }
    sql += ") VALUES(" + values + ") ON CONFLICT(id) DO UPDATE SET "
           + updates;
    auto stmt = db_->prepare(sql);
    if (!stmt)
      return stmt.error();
    auto& s = **stmt;
    sql::reset_guard guard{s};
    s.bind(1, std::string_view{row.id});
    n = 1;
    for (auto& cell : row.cells)
      if (cell)
        s.bind(++n, *cell);
    if (s.step() != SQLITE_DONE)
      return db_->fail("cannot write a record");
  }
  pending_.clear();
  pending_index_.clear();
  return caf::none;
}

caf::expected<commit_summary>
write_store::commit(const std::vector<const write_batch*>& batches) {
  pending_.clear();
  pending_index_.clear();
  sql::transaction tx{*db_};
  if (auto err = tx.begin())
    return err;
  auto ins = db_->prepare(insert_message_sql);
  auto hub = db_->prepare(insert_hub_message_sql);
  auto out = db_->prepare(insert_outbox_sql);
  auto mrk = db_->prepare(upsert_merkle_sql);
  auto hub_mrk = db_->prepare(upsert_hub_merkle_sql);
  if (!ins || !hub || !out || !mrk || !hub_mrk)
    return db_->fail("cannot prepare the commit");
  commit_summary summary;
  // XOR per leaf key first; prefixes are expanded once at the end. The
  // empty group name stands for this node's own group.
  std::map<std::string, std::unordered_map<std::string, uint32_t>> leaves;
  std::string clock = clock_;
  for (const auto* batch : batches) {
    if (batch->clock > clock)
      clock = batch->clock;
    auto stored_before = summary.stored;
    for (const auto& m : batch->messages) {
      auto ts = parse_timestamp(m.timestamp);
      if (!ts)
        return make_error(ec::bad_timestamp, "bad timestamp " + m.timestamp);
      // A group relayed as a hub goes to the hub log (group id first) and
      // its own trie, and no further; this node's group also reaches the
      // cells, the tables and the outbox.
      bool relayed = !batch->group.empty();
      {
        auto& s = relayed ? **hub : **ins;
        sql::reset_guard guard{s};
        int i = 0;
        if (relayed)
          s.bind(++i, std::string_view{batch->group});
        s.bind(++i, std::string_view{m.timestamp});
        s.bind(++i, std::string_view{m.dataset});
        s.bind(++i, std::string_view{m.row});
        s.bind(++i, std::string_view{m.column});
        s.bind(++i, m.val);
        if (s.step() != SQLITE_DONE)
          return db_->fail("cannot append to the message log");
      }
      if (db_->changes() == 0)
        continue; // a duplicate: already stored, changes nothing
      ++summary.stored;
      leaves[batch->group][merkle_key(ts->millis)] ^= murmur3_32(m.timestamp);
      if (relayed)
        continue;
      if (batch->enqueue) {
        auto& s = **out;
        sql::reset_guard guard{s};
        s.bind(1, std::string_view{m.timestamp});
        if (s.step() != SQLITE_DONE)
          return db_->fail("cannot queue a message");
        ++summary.enqueued;
      }
      if (auto err = apply_lww(m))
        return err;
    }
    summary.stored_per_batch.push_back(summary.stored - stored_before);
  }
  if (auto err = flush_rows())
    return err;
  for (const auto& [group, group_leaves] : leaves) {
    std::map<std::string, uint32_t> nodes;
    for (const auto& [key, hash] : group_leaves)
      for (size_t len = 0; len <= key.size(); ++len)
        nodes[key.substr(0, len)] ^= hash;
    auto& deltas = group.empty() ? summary.deltas
                                 : summary.group_deltas[group];
    auto& s = group.empty() ? **mrk : **hub_mrk;
    for (const auto& [key, hash] : nodes) {
      sql::reset_guard guard{s};
      int i = 0;
      if (!group.empty())
        s.bind(++i, std::string_view{group});
      s.bind(++i, std::string_view{key});
      s.bind(++i, static_cast<int64_t>(hash));
      if (s.step() != SQLITE_DONE)
        return db_->fail("cannot update the merkle trie");
      deltas.emplace_back(key, hash);
    }
  }
  if (clock != clock_) {
    auto s = db_->prepare("UPDATE crdt_clock SET ts = ?1 WHERE id = 0");
    if (!s)
      return s.error();
    sql::reset_guard guard{**s};
    (*s)->bind(1, std::string_view{clock});
    if ((*s)->step() != SQLITE_DONE)
      return db_->fail("cannot persist the clock");
  }
  if (auto err = tx.commit())
    return err;
  clock_ = std::move(clock);
  return summary;
}

caf::error write_store::rebuild(const std::string& only_table) {
  pending_.clear();
  pending_index_.clear();
  sql::transaction tx{*db_};
  if (auto err = tx.begin())
    return err;
  for (const auto& [name, l] : tables_) {
    if (!only_table.empty() && name != only_table)
      continue;
    if (auto err = db_->exec("DELETE FROM " + sql::quote(name)))
      return err;
  }
  std::string scan = "SELECT ts, dataset, row_id, col, value "
                     "FROM crdt_messages ";
  if (only_table.empty()) {
    if (auto err = db_->exec("DELETE FROM crdt_cells"))
      return err;
  } else {
    auto del = db_->prepare_once("DELETE FROM crdt_cells WHERE dataset = ?1");
    if (!del)
      return del.error();
    del->bind(1, std::string_view{only_table});
    if (del->step() != SQLITE_DONE)
      return db_->fail("cannot reset cells");
    scan += "WHERE dataset = ?1 ";
  }
  scan += "ORDER BY ts";
  auto s = db_->prepare_once(scan);
  if (!s)
    return s.error();
  if (!only_table.empty())
    s->bind(1, std::string_view{only_table});
  size_t n = 0;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) {
    message m{std::string{s->column_text(0)}, std::string{s->column_text(1)},
              std::string{s->column_text(2)}, std::string{s->column_text(3)},
              s->column_value(4)};
    if (auto err = apply_lww(m))
      return err;
    if (++n % 10000 == 0)
      if (auto err = flush_rows())
        return err;
  }
  if (rc != SQLITE_DONE)
    return db_->fail("cannot scan the message log");
  if (auto err = flush_rows())
    return err;
  return tx.commit();
}

// -- rendering ----------------------------------------------------------------

namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_generic(json_writer& w, const sql::statement& s, int i) {
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

// Renders one column in its schema type; values that do not fit (possible
// only for messages from peers with another schema) are rendered as stored.
void write_field(json_writer& w, const sql::statement& s, int i,
                 const field* f) {
  auto type = s.column_type(i);
  if (!f || type == SQLITE_NULL) {
    write_generic(w, s, i);
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
        if (!d.HasParseError()
            && (f->type == field_type::object ? d.IsObject() : d.IsArray())) {
          d.Accept(w);
          return;
        }
      }
      break;
    default:
      break;
  }
  write_generic(w, s, i);
}

struct selection {
  std::string columns_sql;
  std::vector<std::string> names;
  std::vector<const field*> fields;
};

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
    for (const auto& c : system_columns())
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

} // namespace

caf::expected<std::unique_ptr<read_store>>
read_store::open(const std::string& path, const schema_set& schemas) {
  auto db = sql::connection::open(path, SQLITE_OPEN_READONLY);
  if (!db)
    return db.error();
  auto result = std::unique_ptr<read_store>(new read_store);
  result->db_ = std::move(*db);
  result->schemas_ = schemas;
  if (auto err = result->db_->exec(
        "PRAGMA busy_timeout=10000; PRAGMA query_only=1;"))
    return err;
  return result;
}

caf::expected<std::string> read_store::get(const std::string& table,
                                           const std::string& id,
                                           const std::string& org) {
  auto t = schemas_.find(table);
  if (t == schemas_.end())
    return make_error(ec::unknown_table, "unknown table " + table);
  auto sel = select_columns(*t->second, {});
  auto s = db_->prepare("SELECT " + sel.columns_sql + " FROM "
                        + sql::quote(table)
                        + " WHERE id = ?1 AND tombstone IS NOT 1"
                          " AND (?2 = '' OR organization_id = ?2)");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, std::string_view{id});
  (*s)->bind(2, std::string_view{org});
  auto rc = (*s)->step();
  if (rc == SQLITE_DONE)
    return make_error(ec::not_found, "record not found");
  if (rc != SQLITE_ROW)
    return db_->fail("cannot read a record");
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  write_row(w, **s, sel);
  return std::string{buf.GetString(), buf.GetSize()};
}

caf::expected<std::pair<size_t, std::string>>
read_store::list(const std::string& table, const list_query& q,
                 const std::string& org) {
  auto t = schemas_.find(table);
  if (t == schemas_.end())
    return make_error(ec::unknown_table, "unknown table " + table);
  auto sel = select_columns(*t->second, q.pluck);
  std::string sql = "SELECT " + sel.columns_sql + " FROM " + sql::quote(table)
                    + " WHERE tombstone IS NOT 1"
                      " AND (?3 = '' OR organization_id = ?3) ORDER BY ";
  const char* dir = q.descending ? " DESC" : "";
  if (!q.order.empty())
    sql += sql::quote(q.order) + dir + ", ";
  sql += std::string{"id"} + dir + " LIMIT ?1 OFFSET ?2";
  auto s = db_->prepare(sql);
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, q.limit ? *q.limit : int64_t{-1});
  (*s)->bind(2, q.offset);
  (*s)->bind(3, std::string_view{org});
  rapidjson::StringBuffer buf;
  size_t count = 0;
  int rc;
  while ((rc = (*s)->step()) == SQLITE_ROW) {
    if (count++ > 0)
      buf.Put(',');
    json_writer w{buf};
    write_row(w, **s, sel);
  }
  if (rc != SQLITE_DONE)
    return db_->fail("cannot list records");
  return std::make_pair(count, std::string{buf.GetString(), buf.GetSize()});
}

caf::expected<int> read_store::state(const std::string& table,
                                     const std::string& id,
                                     const std::string& org) {
  if (schemas_.find(table) == schemas_.end())
    return make_error(ec::unknown_table, "unknown table " + table);
  auto s = db_->prepare("SELECT tombstone IS 1, ?2 = '' OR organization_id "
                        "IS ?2 FROM "
                        + sql::quote(table) + " WHERE id = ?1");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, std::string_view{id});
  (*s)->bind(2, std::string_view{org});
  auto rc = (*s)->step();
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return db_->fail("cannot read a record");
  if ((*s)->column_int(1) == 0)
    return 3;
  return (*s)->column_int(0) ? 2 : 1;
}

namespace {

// Accounts matching `where` (which binds ?1 to `key`), oldest first.
caf::expected<std::vector<read_store::account>>
find_accounts(sql::connection& db, const char* where, const std::string& key) {
  auto s = db.prepare(std::string{"SELECT id, organization_id, email, role, "
                                  "password_hash FROM crdt_accounts WHERE "}
                      + where
                      + " AND tombstone IS NOT 1 ORDER BY created_at, id");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, std::string_view{key});
  std::vector<read_store::account> out;
  int rc;
  while ((rc = (*s)->step()) == SQLITE_ROW) {
    read_store::account a;
    a.id = std::string{(*s)->column_text(0)};
    a.organization_id = std::string{(*s)->column_text(1)};
    a.email = std::string{(*s)->column_text(2)};
    a.role = std::string{(*s)->column_text(3)};
    a.password_hash = std::string{(*s)->column_text(4)};
    out.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE)
    return db.fail("cannot read accounts");
  return out;
}

} // namespace

caf::expected<std::vector<read_store::account>>
read_store::accounts_by_email(const std::string& email) {
  return find_accounts(*db_, "email = ?1", email);
}

caf::expected<read_store::account>
read_store::account_by_id(const std::string& id) {
  auto found = find_accounts(*db_, "id = ?1", id);
  if (!found)
    return found.error();
  if (found->empty())
    return make_error(ec::not_found, "no such account");
  return std::move(found->front());
}

namespace {

caf::expected<std::vector<message>> read_messages(sql::statement& s,
                                                  sql::connection& db) {
  std::vector<message> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back({std::string{s.column_text(0)}, std::string{s.column_text(1)},
                   std::string{s.column_text(2)}, std::string{s.column_text(3)},
                   s.column_value(4)});
  if (rc != SQLITE_DONE)
    return db.fail("cannot read messages");
  return out;
}

} // namespace

caf::expected<std::vector<message>> read_store::outbox(size_t limit) {
  auto s = db_->prepare(
    "SELECT m.ts, m.dataset, m.row_id, m.col, m.value FROM crdt_outbox o "
    "JOIN crdt_messages m ON m.ts = o.ts ORDER BY o.ts LIMIT ?1");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, static_cast<int64_t>(limit));
  return read_messages(**s, *db_);
}

caf::expected<std::vector<message>>
read_store::messages_since(const std::string& group, const std::string& since,
                           const std::string& exclude, size_t limit) {
  // One query shape for the first page and for the rest of its last
  // minute: timestamps in [lo, hi), up to a count (-1: all).
  auto fetch = [&](const std::string& lo, const std::string& hi,
                   int64_t count) -> caf::expected<std::vector<message>> {
    std::string where = group.empty() ? "" : "group_id = ?4 AND ";
    auto s = db_->prepare(
      std::string{"SELECT ts, dataset, row_id, col, value FROM "}
      + (group.empty() ? "crdt_messages" : "crdt_hub_messages") + " WHERE "
      + where + "ts >= ?1 AND (?2 = '' OR ts < ?2) ORDER BY ts LIMIT ?3");
    if (!s)
      return s.error();
    sql::reset_guard guard{**s};
    (*s)->bind(1, std::string_view{lo});
    (*s)->bind(2, std::string_view{hi});
    (*s)->bind(3, count);
    if (!group.empty())
      (*s)->bind(4, std::string_view{group});
    return read_messages(**s, *db_);
  };
  auto all = fetch(since, "", limit ? static_cast<int64_t>(limit) : -1);
  if (!all)
    return all;
  if (limit && all->size() == limit) {
    // Finish the last minute: "YYYY-MM-DDTHH:MM" then ';', the character
    // after ':', bounds every timestamp of that minute.
    const std::string last = all->back().timestamp; // all grows below
    auto rest = fetch(last, last.substr(0, 16) + ";", -1);
    if (!rest)
      return rest;
    for (auto& m : *rest)
      if (m.timestamp != last)
        all->push_back(std::move(m));
  }
  if (exclude.empty())
    return all;
  // Timestamps end with the author's node id: "not authored by X" is a
  // suffix test.
  std::vector<message> out;
  out.reserve(all->size());
  for (auto& m : *all)
    if (m.timestamp.size() < exclude.size()
        || m.timestamp.compare(m.timestamp.size() - exclude.size(),
                               exclude.size(), exclude)
             != 0)
      out.push_back(std::move(m));
  return out;
}

caf::expected<std::pair<size_t, std::string>>
read_store::config(const std::string& key) {
  auto s = key.empty()
             ? db_->prepare("SELECT key, value, type FROM config_sync "
                            "ORDER BY key")
             : db_->prepare("SELECT key, value, type FROM config_sync "
                            "WHERE key = ?1");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  if (!key.empty())
    (*s)->bind(1, std::string_view{key});
  rapidjson::StringBuffer buf;
  size_t count = 0;
  int rc;
  while ((rc = (*s)->step()) == SQLITE_ROW) {
    if (count++ > 0)
      buf.Put(',');
    json_writer w{buf};
    w.StartObject();
    const char* names[] = {"key", "value", "type"};
    for (int i = 0; i < 3; ++i) {
      w.Key(names[i]);
      write_generic(w, **s, i);
    }
    w.EndObject();
  }
  if (rc != SQLITE_DONE)
    return db_->fail("cannot read config_sync");
  if (!key.empty() && count == 0)
    return make_error(ec::not_found, "no such setting");
  return std::make_pair(count, std::string{buf.GetString(), buf.GetSize()});
}

caf::expected<std::string> dump_tables(sql::connection& db,
                                       const schema_set& schemas) {
  std::string out;
  for (const auto& [name, t] : schemas) {
    auto s = db.prepare_once("SELECT * FROM " + sql::quote(name)
                             + " ORDER BY id");
    if (!s)
      return s.error();
    auto n = sqlite3_column_count(s->get());
    while (s->step() == SQLITE_ROW) {
      rapidjson::StringBuffer buf;
      json_writer w{buf};
      w.StartArray();
      for (int i = 0; i < n; ++i)
        write_generic(w, *s, i);
      w.EndArray();
      out += name + " " + buf.GetString() + "\n";
    }
  }
  return out;
}

} // namespace crdt
