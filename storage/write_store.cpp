// The write side: group commits of message batches (log, LWW cells, table
// rows, merkle trie, clock, outbox), the outbox acknowledgements, the
// local settings, and rebuilding tables from the log.

#include "storage/write_store.hpp"

#include "protocol/error.hpp"
#include "protocol/murmur3.hpp"
#include "protocol/schema_defs.hpp"
#include "protocol/stamps.hpp"
#include "protocol/timestamp.hpp"
#include "storage/detail.hpp"

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <unordered_map>

namespace crdt {

namespace {

constexpr const char* insert_message_sql
    = "INSERT INTO crdt_messages(ts, dataset, row_id, col, value, seq, "
      "outgoing) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(ts) DO NOTHING";

constexpr const char* select_stamps_sql
    = "SELECT stamps FROM crdt_stamps WHERE dataset = ?1 AND row_id = ?2";

constexpr const char* upsert_stamps_sql
    = "INSERT INTO crdt_stamps(dataset, row_id, stamps) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(dataset, row_id) DO UPDATE SET stamps = excluded.stamps";

/// The crdt_local key of the outbox's acknowledged sequence number.
constexpr const char* outbox_acked_key = "outbox_acked";

constexpr const char* insert_hub_message_sql
    = "INSERT INTO crdt_hub_messages(group_id, ts, dataset, row_id, col, "
      "value, seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING";

constexpr const char* upsert_hub_merkle_sql
    = "INSERT INTO crdt_hub_merkle(group_id, key, hash) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(group_id, key) DO UPDATE SET "
      "hash = (hash | excluded.hash) - (hash & excluded.hash)";

// SQLite has no XOR operator: a ^ b == (a | b) - (a & b).
constexpr const char* upsert_merkle_sql
    = "INSERT INTO crdt_merkle(key, hash) VALUES(?1, ?2) "
      "ON CONFLICT(key) DO UPDATE SET "
      "hash = (hash | excluded.hash) - (hash & excluded.hash)";

} // namespace

write_store::~write_store() {
  if (checkpointer_ && db_)
    checkpointer_->detach(*db_);
}

void write_store::after_commit() {
  if (checkpointer_ && db_)
    checkpointer_->run_due(*db_);
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

namespace {

// The first node of `stored` whose hash differs from the same node of
// `rebuilt` (or that `rebuilt` lacks), as "key (stored, rebuilt)"; empty
// when the tries agree node for node.
std::string first_mismatch(const merkle_trie& stored,
                           const merkle_trie& rebuilt) {
  std::string found;
  std::function<void(const merkle_trie::node&, std::string&)> walk
      = [&](const merkle_trie::node& n, std::string& key) {
          if (!found.empty())
            return;
          auto other = rebuilt.find(key);
          uint32_t want = other ? other->hash : 0;
          if (n.hash != want) {
            found = "'" + key + "' (stored " + std::to_string(n.hash)
                    + ", from the log " + std::to_string(want) + ")";
            return;
          }
          for (char c = '0'; c <= '2'; ++c)
            if (const auto& child = n.children[c - '0']) {
              key.push_back(c);
              walk(*child, key);
              key.pop_back();
            }
        };
  std::string key;
  walk(stored.root(), key);
  if (found.empty() && stored.size() < rebuilt.size())
    found = "the log has minutes the stored trie lacks";
  return found;
}

} // namespace

caf::expected<std::string> write_store::check() {
  auto integrity = db_->prepare_once("PRAGMA integrity_check");
  if (!integrity)
    return integrity.error();
  std::string verdict;
  while (integrity->step() == SQLITE_ROW)
    verdict += (verdict.empty() ? "" : "; ")
               + std::string{integrity->column_text(0)};
  if (verdict != "ok")
    return make_error(ec::storage_failure, "integrity check: " + verdict);
  // The own group's trie.
  auto stored = load_merkle();
  if (!stored)
    return stored.error();
  // Adds a logged timestamp to a rebuilt trie.
  auto add = [](merkle_trie& trie, std::string_view ts) -> caf::error {
    auto parsed = parse_timestamp(std::string{ts});
    if (!parsed)
      return make_error(ec::storage_failure,
                        "the log holds a bad timestamp: " + std::string{ts});
    trie.insert(ts, parsed->millis);
    return caf::none;
  };
  merkle_trie own;
  size_t messages = 0;
  auto log = db_->prepare_once("SELECT ts FROM crdt_messages");
  if (!log)
    return log.error();
  while (log->step() == SQLITE_ROW) {
    if (auto err = add(own, log->column_text(0)))
      return err;
    ++messages;
  }
  if (auto where = first_mismatch(*stored, own); !where.empty())
    return make_error(ec::storage_failure,
                      "the merkle trie differs from its log at " + where);
  // Relayed groups.
  auto hub_stored = load_hub_merkles();
  if (!hub_stored)
    return hub_stored.error();
  std::map<std::string, merkle_trie> hub_rebuilt;
  size_t relayed = 0;
  auto hub_log = db_->prepare_once("SELECT group_id, ts FROM crdt_hub_messages");
  if (!hub_log)
    return hub_log.error();
  while (hub_log->step() == SQLITE_ROW) {
    auto& trie = hub_rebuilt[std::string{hub_log->column_text(0)}];
    if (auto err = add(trie, hub_log->column_text(1)))
      return err;
    ++relayed;
  }
  // Groups with a stored trie but no log left compare with an empty trie.
  for (const auto& [group, trie] : *hub_stored)
    hub_rebuilt.try_emplace(group);
  for (const auto& [group, trie] : hub_rebuilt) {
    auto it = hub_stored->find(group);
    auto where = it == hub_stored->end()
                     ? (trie.hash() == 0
                            ? std::string{}
                            : std::string{"its root (no trie stored)"})
                     : first_mismatch(it->second, trie);
    if (!where.empty())
      return make_error(ec::storage_failure, "group " + group
                                                 + ": the merkle trie differs "
                                                   "from its log at "
                                                 + where);
  }
  return "integrity ok; the trie of " + std::to_string(messages)
         + " messages matches its log (root "
         + std::to_string(static_cast<int32_t>(own.hash())) + "), and those of "
         + std::to_string(hub_rebuilt.size()) + " relayed groups ("
         + std::to_string(relayed) + " messages)";
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

caf::error write_store::ack_outbox(uint64_t through) {
  auto acked = outbox_acked();
  if (!acked)
    return acked.error();
  if (through <= *acked)
    return caf::none;
  return put_local(outbox_acked_key, std::to_string(through));
}

caf::expected<uint64_t> write_store::outbox_acked() {
  auto v = local_value(outbox_acked_key);
  if (!v)
    return v.error();
  return v->empty() ? uint64_t{0} : std::stoull(*v);
}

caf::expected<std::string>
write_store::local_secret(const std::string& key, const std::string& fallback) {
  auto put
      = db_->prepare_once("INSERT INTO crdt_local(key, value) VALUES(?1, ?2) "
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

caf::expected<std::string> write_store::local_value(const std::string& key) {
  auto get = db_->prepare_once("SELECT value FROM crdt_local WHERE key = ?1");
  if (!get)
    return get.error();
  get->bind(1, std::string_view{key});
  auto rc = get->step();
  if (rc == SQLITE_DONE)
    return std::string{};
  if (rc != SQLITE_ROW)
    return db_->fail("cannot read a local value");
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

caf::error write_store::put_local(const std::string& key,
                                 const std::string& value) {
  auto s = db_->prepare("INSERT INTO crdt_local(key, value) VALUES(?1, ?2) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, std::string_view{key});
  (*s)->bind(2, std::string_view{value});
  if ((*s)->step() != SQLITE_DONE)
    return db_->fail("cannot write a local value");
  return caf::none;
}

caf::expected<std::map<std::string, uint64_t>> write_store::load_heads() {
  auto s = db_->prepare_once(
      "SELECT '', coalesce(max(seq), 0) FROM crdt_messages UNION ALL "
      "SELECT group_id, max(seq) FROM crdt_hub_messages GROUP BY group_id");
  if (!s)
    return s.error();
  std::map<std::string, uint64_t> out;
  while (s->step() == SQLITE_ROW)
    out[std::string{s->column_text(0)}]
        = static_cast<uint64_t>(s->column_int(1));
  return out;
}

caf::expected<size_t> write_store::outbox_size() {
  auto acked = outbox_acked();
  if (!acked)
    return acked.error();
  auto s = db_->prepare_once("SELECT count(*) FROM crdt_messages "
                             "WHERE seq > ?1 AND outgoing = 1");
  if (!s)
    return s.error();
  s->bind(1, static_cast<int64_t>(*acked));
  if (s->step() != SQLITE_ROW)
    return db_->fail("cannot count the outbox");
  return static_cast<size_t>(s->column_int(0));
}

namespace {

// The key of a record touched by a commit: the dataset's length first
// (big-endian, so that keys sort by dataset, then row), the dataset, the
// row id. Names may hold any byte, NUL included, and must not run into
// each other.
std::string record_key(std::string_view dataset, std::string_view row) {
  std::string key;
  key.reserve(4 + dataset.size() + row.size());
  auto size = static_cast<uint32_t>(dataset.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    key.push_back(static_cast<char>((size >> shift) & 0xff));
  key.append(dataset).append(row);
  return key;
}

// The dataset and the row id of a record_key().
std::pair<std::string_view, std::string_view>
split_record_key(std::string_view key) {
  size_t size = 0;
  for (size_t i = 0; i < 4; ++i)
    size = size << 8 | static_cast<unsigned char>(key[i]);
  return {key.substr(4, size), key.substr(4 + size)};
}

} // namespace

caf::expected<write_store::touched_map::value_type*>
write_store::touch(const std::string& dataset, const std::string& row) {
  auto [it, fresh] = touched_.try_emplace(record_key(dataset, row));
  if (!fresh)
    return &*it;
  auto sel = db_->prepare(select_stamps_sql);
  if (!sel) {
    touched_.erase(it);
    return sel.error();
  }
  auto& s = **sel;
  sql::reset_guard guard{s};
  s.bind(1, std::string_view{dataset});
  s.bind(2, std::string_view{row});
  auto rc = s.step();
  if (rc == SQLITE_ROW) {
    if (!record_stamps::decode(s.column_blob(0), it->second.stamps)) {
      touched_.erase(it);
      return make_error(ec::storage_failure,
                        "corrupt field timestamps of " + dataset + " " + row);
    }
  } else if (rc != SQLITE_DONE) {
    touched_.erase(it);
    return db_->fail("cannot read field timestamps");
  }
  return &*it;
}

caf::error write_store::apply(const message& m) {
  return m.dataset == schema_dataset ? apply_definition(m) : apply_lww(m);
}

caf::error write_store::apply_lww(const message& m) {
  auto t = tables_.find(m.dataset);
  // A value of another type than the field's never takes part: it can
  // only come from a node that held a definition which lost to an earlier
  // one of the same field (see schema_defs.hpp). Skipped alike on every
  // node, it cannot make replicas differ.
  if (t != tables_.end())
    if (const auto* f = t->second.schema->find(m.column))
      if (!value_fits(*f, m.val))
        return caf::none;
  auto entry = touch(m.dataset, m.row);
  if (!entry)
    return entry.error();
  auto& rec = (*entry)->second;
  if (!rec.stamps.offer(m.column, m.timestamp))
    return caf::none; // an older message: kept in the log, cell unchanged
  if (!rec.dirty) {
    rec.dirty = true;
    dirty_.push_back(*entry);
  }
  if (t == tables_.end())
    return caf::none; // unknown table: applied when the schema gains it
  auto col = t->second.index.find(m.column);
  if (col == t->second.index.end())
    return caf::none; // unknown field: likewise
  if (!rec.table) {
    rec.table = &t->second;
    rec.cells.resize(t->second.columns.size());
    rows_.push_back(*entry);
  }
  rec.cells[col->second] = m.val;
  return caf::none;
}

void write_store::forget_touched() {
  dirty_.clear();
  rows_.clear();
  touched_.clear();
}

caf::error write_store::flush_rows() {
  if (!dirty_.empty()) {
    auto put = db_->prepare(upsert_stamps_sql);
    if (!put)
      return put.error();
    auto& s = **put;
    // In key order: neighbouring records share B-tree pages.
    std::sort(dirty_.begin(), dirty_.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    std::string bytes;
    for (const auto* entry : dirty_) {
      auto [dataset, row] = split_record_key(entry->first);
      sql::reset_guard guard{s};
      bytes = entry->second.stamps.encode();
      s.bind(1, dataset);
      s.bind(2, row);
      s.bind_blob(3, bytes);
      if (s.step() != SQLITE_DONE)
        return db_->fail("cannot write field timestamps");
    }
  }
  std::string shape;
  for (const auto* entry : rows_) {
    const auto& rec = entry->second;
    const auto& l = *rec.table;
    // One statement per table and set of columns written.
    shape.assign(l.schema->name()).push_back('\0');
    for (const auto& cell : rec.cells)
      shape.push_back(cell ? '1' : '0');
    auto known = upsert_sql_.find(shape);
    if (known == upsert_sql_.end()) {
      std::string sql = "INSERT INTO " + sql::quote(l.schema->name()) + "(id";
      std::string values = "?1";
      std::string updates;
      int n = 1;
      for (size_t i = 0; i < rec.cells.size(); ++i) {
        if (!rec.cells[i])
          continue;
        auto q = sql::quote(l.columns[i]);
        sql += ", " + q;
        values += ", ?" + std::to_string(++n);
        updates += (updates.empty() ? "" : ", ") + q + " = excluded." + q;
      }
      sql += ") VALUES(" + values + ") ON CONFLICT(id) DO UPDATE SET "
             + updates;
      // Bounded: the sets of columns come from what peers send.
      if (upsert_sql_.size() >= upsert_sql_capacity)
        upsert_sql_.clear();
      known = upsert_sql_.emplace(shape, std::move(sql)).first;
    }
    auto stmt = db_->prepare_shaped(known->second);
    if (!stmt)
      return stmt.error();
    auto& s = **stmt;
    sql::reset_guard guard{s};
    s.bind(1, split_record_key(entry->first).second);
    int n = 1;
    for (const auto& cell : rec.cells)
      if (cell)
        s.bind(++n, *cell);
    if (s.step() != SQLITE_DONE)
      return db_->fail("cannot write a record");
  }
  forget_touched();
  return caf::none;
}

caf::error write_store::evaluate(const write_batch& b, caf::error& refusal) {
  if (b.define)
    return check_definitions(b, refusal);
  if (b.checks.empty())
    return caf::none;
  // The rows of earlier batches of this commit must be visible to checks.
  if (auto err = flush_rows())
    return err;
  for (const auto& c : b.checks) {
    if (tables_.find(c.table) == tables_.end()) {
      refusal = make_error(ec::unknown_table, "unknown table " + c.table);
      return caf::none;
    }
    bool live = c.must_be == precondition::live;
    auto st = detail::state_of(*db_, c.table, c.id,
                               live ? c.organization_id : std::string{});
    if (!st)
      return st.error();
    if (live && *st != record_state::live) {
      refusal = make_error(ec::not_found, "record not found");
      return caf::none;
    }
    if (c.must_be == precondition::absent && *st != record_state::absent) {
      refusal = make_error(ec::conflict, "A record with this id exists");
      return caf::none;
    }
  }
  return caf::none;
}

caf::expected<commit_summary>
write_store::commit(const std::vector<const write_batch*>& batches) {
  forget_touched();
  schema_changed_ = false;
  sql::transaction tx{*db_};
  if (auto err = tx.begin())
    return err;
  auto ins = db_->prepare(insert_message_sql);
  auto hub = db_->prepare(insert_hub_message_sql);
  auto mrk = db_->prepare(upsert_merkle_sql);
  auto hub_mrk = db_->prepare(upsert_hub_merkle_sql);
  if (!ins || !hub || !mrk || !hub_mrk)
    return db_->fail("cannot prepare the commit");
  commit_summary summary;
  // XOR per leaf key first; prefixes are expanded once at the end. The
  // empty group name stands for this node's own group.
  // Keyed by minute: a trie key (16 characters) is made once per minute,
  // not once per message.
  std::map<std::string, std::unordered_map<int64_t, uint32_t>> leaves;
  std::string clock = clock_;
  // The next message's place in the log; kept only if the commit is.
  uint64_t seq = next_seq_;
  for (const auto* batch : batches) {
    if (batch->clock > clock)
      clock = batch->clock;
    caf::error refusal;
    if (auto err = evaluate(*batch, refusal))
      return err;
    summary.refused.push_back(refusal);
    if (refusal) {
      summary.stored_per_batch.push_back(0);
      continue; // its precondition failed: it stores nothing
    }
    auto stored_before = summary.stored;
    auto& group_leaves = leaves[batch->group];
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
        s.bind(++i, static_cast<int64_t>(seq));
        if (!relayed)
          s.bind(++i, int64_t{batch->enqueue ? 1 : 0});
        if (s.step() != SQLITE_DONE)
          return db_->fail("cannot append to the message log");
      }
      if (db_->changes() == 0)
        continue; // a duplicate: already stored, changes nothing
      ++seq;
      ++summary.stored;
      group_leaves[ts->millis / 60000] ^= murmur3_32(m.timestamp);
      if (relayed)
        continue;
      if (batch->enqueue)
        ++summary.enqueued; // outgoing: the outbox is the log past a mark
      if (auto err = apply(m))
        return err;
    }
    if (summary.stored > stored_before)
      summary.heads[batch->group] = seq - 1;
    summary.stored_per_batch.push_back(summary.stored - stored_before);
  }
  if (auto err = flush_rows())
    return err;
  for (const auto& [group, by_minute] : leaves) {
    if (by_minute.empty())
      continue; // its batches stored nothing new
    // Minutes are distinct; path_deltas XORs alike should two share a
    // key (those before 1970 all have "0").
    std::vector<std::pair<std::string, uint32_t>> minute_leaves;
    minute_leaves.reserve(by_minute.size());
    for (const auto& [minute, hash] : by_minute)
      minute_leaves.emplace_back(merkle_key(minute * 60000), hash);
    auto nodes = path_deltas(minute_leaves);
    auto& deltas = group.empty() ? summary.deltas : summary.group_deltas[group];
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
  for (const auto* batch : batches)
    if (!batch->local_key.empty())
      if (auto err = put_local(batch->local_key, batch->local_value))
        return err;
  if (auto err = tx.commit())
    return err;
  clock_ = std::move(clock);
  next_seq_ = seq;
  // New definitions: the tables are served before the commit is answered.
  // The messages are durable already; should this fail, the next start
  // does it again.
  if (schema_changed_)
    if (auto err = refresh_schema())
      std::cerr << "crdt-store: schema: cannot apply new definitions: "
                << describe(err) << std::endl;
  return summary;
}

caf::error write_store::rebuild(const std::string& only_table) {
  forget_touched();
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
  schema_changed_ = false;
  if (only_table.empty()) {
    // crdt_cells: what databases before crdt_stamps kept instead.
    if (auto err = db_->exec(
            "DELETE FROM crdt_stamps; DROP TABLE IF EXISTS crdt_cells; "
            "DELETE FROM crdt_schema_defs; DELETE FROM crdt_schema_history; "
            "DELETE FROM crdt_local WHERE key >= 'replay:' AND key < 'replay;'"))
      return err;
  } else {
    auto del = db_->prepare_once("DELETE FROM crdt_stamps WHERE dataset = ?1");
    if (!del)
      return del.error();
    del->bind(1, std::string_view{only_table});
    if (del->step() != SQLITE_DONE)
      return db_->fail("cannot reset cells");
    if (auto err = unmark_replay(only_table))
      return err;
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
    if (auto err = apply(detail::message_at(*s)))
      return err;
    if (++n % 10000 == 0)
      if (auto err = flush_rows())
        return err;
  }
  if (rc != SQLITE_DONE)
    return db_->fail("cannot scan the message log");
  if (auto err = flush_rows())
    return err;
  if (auto err = tx.commit())
    return err;
  // A full rebuild derived the definitions again: serve what they say.
  if (only_table.empty() && schema_changed_)
    return refresh_schema();
  return caf::none;
}

} // namespace crdt
