// The read side: records rendered for the API, accounts for logins, the
// outbox and message log for sync, and the local sync settings.

#include "storage/read_store.hpp"

#include "protocol/error.hpp"
#include "protocol/murmur3.hpp"
#include "storage/detail.hpp"
#include "storage/render.hpp"

#include <algorithm>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace crdt {

namespace {

// Steps through every row of `s`, writing each as one JSON value with
// `one(w)`; answers the number of rows and the values joined by commas.
template <class F>
caf::expected<std::pair<size_t, std::string>>
comma_joined(sql::connection& db, sql::statement& s, const char* what, F one) {
  rapidjson::StringBuffer buf;
  size_t count = 0;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    if (count++ > 0)
      buf.Put(',');
    json_writer w{buf};
    one(w);
  }
  if (rc != SQLITE_DONE)
    return db.fail(what);
  return std::make_pair(count, std::string{buf.GetString(), buf.GetSize()});
}

} // namespace

caf::expected<std::unique_ptr<read_store>>
read_store::open(const std::string& path, catalog_ptr catalog) {
  auto db = sql::connection::open(path, SQLITE_OPEN_READONLY);
  if (!db)
    return db.error();
  auto result = std::unique_ptr<read_store>(new read_store);
  result->db_ = std::move(*db);
  result->catalog_ = std::move(catalog);
  if (auto err
      = result->db_->exec("PRAGMA busy_timeout=10000; PRAGMA query_only=1;"))
    return err;
  return result;
}

caf::expected<std::string> read_store::get(const std::string& table,
                                           const std::string& id,
                                           const std::string& org) {
  auto t = catalog_->find(table);
  if (!t)
    return make_error(ec::unknown_table, "unknown table " + table);
  // The column list and statement text change only with the table.
  auto& plan = get_plans_[table];
  if (plan.table != t) {
    // Made whole before it replaces the old one.
    auto columns = std::make_shared<const selection>(select_columns(*t, {}));
    auto sql = "SELECT " + columns->columns_sql + " FROM " + sql::quote(table)
               + " WHERE id = ?1 AND tombstone IS NOT 1"
                 " AND (?2 = '' OR organization_id = ?2)";
    plan = get_plan{t, std::move(columns), std::move(sql)};
  }
  const auto& sel = *plan.columns;
  auto s = db_->prepare(plan.sql);
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

namespace {

const char* sql_operator(filter_op op) {
  switch (op) {
  case filter_op::eq:
    return " = ";
  case filter_op::ne:
    return " IS NOT "; // a missing value differs too
  case filter_op::gt:
    return " > ";
  case filter_op::gte:
    return " >= ";
  case filter_op::lt:
    return " < ";
  case filter_op::lte:
    return " <= ";
  default:
    return " = ";
  }
}

// Appends the conditions of `where` to `sql`, their values to `binds`
// (numbered from ?4 on).
void append_filters(std::string& sql, std::vector<value>& binds,
                    const std::vector<filter>& where) {
  auto param = [&](const value& v) {
    binds.push_back(v);
    return "?" + std::to_string(binds.size() + 3);
  };
  for (const auto& f : where) {
    auto col = sql::quote(f.field);
    sql += " AND ";
    switch (f.op) {
    case filter_op::null:
      sql += col + (std::get<int64_t>(f.values.front()) ? " IS NULL"
                                                         : " IS NOT NULL");
      break;
    case filter_op::in: {
      sql += col + " IN (";
      for (size_t i = 0; i < f.values.size(); ++i)
        sql += (i ? ", " : "") + param(f.values[i]);
      sql += ")";
      break;
    }
    case filter_op::like:
      sql += col + " LIKE " + param(f.values.front()) + " ESCAPE '\\'";
      break;
    default:
      sql += col + sql_operator(f.op) + param(f.values.front());
    }
  }
}

// Appends the keyset condition that resumes after cursor `c`. SQLite
// sorts NULL first ascending and last descending; ties on the order value
// are broken by id, in the same direction.
void append_after(std::string& sql, std::vector<value>& binds,
                  const list_cursor& c) {
  auto param = [&](const value& v) {
    binds.push_back(v);
    return "?" + std::to_string(binds.size() + 3);
  };
  const char* beyond = c.descending ? " < " : " > ";
  auto id = param(c.id);
  if (c.order.empty() || c.order == "id") {
    sql += " AND id" + std::string{beyond} + id;
    return;
  }
  auto col = sql::quote(c.order);
  bool null = std::holds_alternative<std::monostate>(c.last);
  if (null) {
    sql += c.descending
               ? " AND (" + col + " IS NULL AND id < " + id + ")"
               : " AND ((" + col + " IS NULL AND id > " + id + ") OR " + col
                     + " IS NOT NULL)";
    return;
  }
  auto v = param(c.last);
  sql += " AND (" + col + beyond + v + " OR (" + col + " = " + v + " AND id"
         + beyond + id + ")";
  if (c.descending)
    sql += " OR " + col + " IS NULL";
  sql += ")";
}

// The order value of a cursor that names its record instead of carrying
// it: read from that record within the caller's organization (a cursor is
// the client's text, and one naming another organization's record must
// not tell where that record's value sorts), and only while it is the
// value the cursor was made from, or the page would start elsewhere.
caf::expected<value> anchor_value(sql::connection& db,
                                  const std::string& table,
                                  const list_cursor& c,
                                  const std::string& org) {
  auto s = db.prepare_shaped("SELECT " + sql::quote(c.order) + " FROM "
                             + sql::quote(table)
                             + " WHERE id = ?1 AND (?2 = '' OR "
                               "organization_id = ?2)");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, std::string_view{c.id});
  (*s)->bind(2, std::string_view{org});
  int rc = (*s)->step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db.fail("cannot read a cursor's record");
  if (rc == SQLITE_ROW && (*s)->column_type(0) == SQLITE_TEXT) {
    auto text = (*s)->column_text(0);
    if (murmur3_32(text) == c.anchor_hash)
      return value{std::string{text}};
  }
  return make_error(ec::conflict,
                    "The record this cursor stopped at has changed or is "
                    "gone; list again from the first page");
}

} // namespace

caf::expected<std::pair<size_t, std::string>>
read_store::list(const std::string& table, const list_query& q,
                 const std::string& org, std::string* next) {
  auto t = catalog_->find(table);
  if (!t)
    return make_error(ec::unknown_table, "unknown table " + table);
  auto sel = select_columns(*t, q.pluck);
  // With an organization (every caller has one) the condition is a plain
  // equality, so that the live-row indexes serve the order (see migrate).
  // The id and the order field follow the selected columns, unrendered:
  // a full page's next cursor is made of them.
  std::string order = q.order.empty() ? "id" : q.order;
  std::string sql = "SELECT " + sel.columns_sql + ", id, " + sql::quote(order)
                    + " FROM " + sql::quote(table)
                    + " WHERE tombstone IS NOT 1 AND "
                    + (org.empty() ? "?3 = ''" : "organization_id = ?3");
  std::vector<value> binds;
  append_filters(sql, binds, q.where);
  if (q.after) {
    auto after = *q.after;
    if (after.by_id) {
      auto anchor = anchor_value(*db_, table, after, org);
      if (!anchor)
        return anchor.error();
      after.last = std::move(*anchor);
    }
    append_after(sql, binds, after);
  }
  sql += " ORDER BY ";
  const char* dir = q.descending ? " DESC" : "";
  if (!q.order.empty() && q.order != "id")
    sql += sql::quote(q.order) + dir + ", ";
  sql += std::string{"id"} + dir + " LIMIT ?1 OFFSET ?2";
  auto s = db_->prepare_shaped(sql);
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, q.limit ? *q.limit : int64_t{-1});
  (*s)->bind(2, q.offset);
  (*s)->bind(3, std::string_view{org});
  for (size_t i = 0; i < binds.size(); ++i)
    (*s)->bind(static_cast<int>(i + 4), binds[i]);
  auto extra = static_cast<int>(sel.names.size());
  list_cursor last{q.order == "id" ? std::string{} : q.order, q.descending,
                   {}, {}};
  auto page = comma_joined(*db_, **s, "cannot list records", [&](json_writer& w) {
    write_row(w, **s, sel);
    if (next) {
      last.id = std::string{(*s)->column_text(extra)};
      last.last = (*s)->column_value(extra + 1);
    }
  });
  if (page && next && q.limit && *q.limit > 0
      && page->first == static_cast<size_t>(*q.limit))
    *next = encode_cursor(last);
  return page;
}

caf::expected<record_state> read_store::state(const std::string& table,
                                              const std::string& id,
                                              const std::string& org) {
  if (!catalog_->find(table))
    return make_error(ec::unknown_table, "unknown table " + table);
  return detail::state_of(*db_, table, id, org);
}

namespace {

// Accounts matching `where` (which binds ?1 to `key`), oldest first.
caf::expected<std::vector<read_store::account>>
find_accounts(sql::connection& db, const char* where, const std::string& key) {
  auto s
      = db.prepare(std::string{"SELECT id, organization_id, email, role, "
                               "password_hash FROM crdt_accounts WHERE "}
                   + where + " AND tombstone IS NOT 1 ORDER BY created_at, id");
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

caf::expected<outbox_page> read_store::outbox(uint64_t after, size_t limit,
                                              size_t max_bytes, size_t scan) {
  // Received messages past the mark are skipped (the page's `through`
  // passes them, so the mark moves over them with the next acknowledgement
  // and no round looks at them twice); at most `scan` log entries are
  // looked at per page.
  scan = std::max(scan, limit);
  auto s = db_->prepare(
      "SELECT ts, dataset, row_id, col, value, seq, outgoing FROM crdt_messages "
      "WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, static_cast<int64_t>(after));
  (*s)->bind(2, static_cast<int64_t>(scan));
  outbox_page page;
  size_t bytes = 0;
  size_t looked = 0;
  int rc;
  while ((rc = (*s)->step()) == SQLITE_ROW) {
    ++looked;
    auto seq = static_cast<uint64_t>((*s)->column_int(5));
    if ((*s)->column_int(6) == 0) {
      page.through = seq;
      continue;
    }
    if (page.messages.size() >= limit) {
      page.more = true;
      break;
    }
    auto m = detail::message_at(**s);
    auto size = json_size(m) + 1;
    if (!page.messages.empty() && bytes + size > max_bytes) {
      page.more = true;
      break;
    }
    bytes += size;
    page.messages.push_back(std::move(m));
    page.through = seq;
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return db_->fail("cannot read the outbox");
  if (rc == SQLITE_DONE && looked >= scan)
    page.more = true;
  return page;
}

caf::expected<uint32_t> read_store::unsent_hash(uint64_t after,
                                                uint64_t through,
                                                uint64_t limit) {
  if (through <= after)
    return uint32_t{0};
  // seq is the log's rowid: a range of it, with received messages counted
  // against the limit too (the read never looks at more than limit + 1).
  auto s = db_->prepare("SELECT ts, outgoing FROM crdt_messages WHERE seq > ?1 "
                        "AND seq <= ?2 LIMIT ?3");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, static_cast<int64_t>(after));
  (*s)->bind(2, static_cast<int64_t>(through));
  (*s)->bind(3, static_cast<int64_t>(std::min<uint64_t>(limit, INT64_MAX - 1)
                                     + 1));
  uint32_t hash = 0;
  uint64_t seen = 0;
  int rc;
  while ((rc = (*s)->step()) == SQLITE_ROW) {
    if (++seen > limit)
      return make_error(ec::overloaded, "too many messages not yet sent");
    if ((*s)->column_int(1) != 0)
      hash ^= murmur3_32((*s)->column_text(0));
  }
  if (rc != SQLITE_DONE)
    return db_->fail("cannot read the messages not yet sent");
  return hash;
}

namespace {

// Whether timestamp `ts` ends with node id `node`.
bool authored_by(const std::string& ts, const std::string& node) {
  return !node.empty() && ts.size() >= node.size()
         && ts.compare(ts.size() - node.size(), node.size(), node) == 0;
}

// Rows read per statement while filling a page.
constexpr int64_t page_chunk = 512;

// A read transaction: the page sees one snapshot of the database.
class read_transaction {
public:
  explicit read_transaction(sql::connection& db) : db_(db) {}
  ~read_transaction() {
    if (open_)
      db_.exec("COMMIT");
  }
  caf::error begin() {
    auto err = db_.exec("BEGIN");
    open_ = !err;
    return err;
  }

private:
  sql::connection& db_;
  bool open_ = false;
};

} // namespace

caf::expected<read_store::page> read_store::read_page(const page_query& q) {
  read_transaction tx{*db_};
  if (auto err = tx.begin())
    return err;
  const bool relayed = !q.group.empty();
  const std::string table = relayed ? "crdt_hub_messages" : "crdt_messages";
  const std::string in_group = relayed ? " AND group_id = ?4" : "";
  page out;
  size_t bytes = 0;
  bool full = false;
  // Takes one row's message unless the page is full; false when it is.
  // The stream leaves out the caller's own messages (it has them); repair
  // ranges do not: a node restored from a backup lacks some it sent, and
  // its trie differs from the hub's until it gets them back.
  auto take = [&](const sql::statement& s, bool skip_own) {
    auto m = detail::message_at(s);
    if (skip_own && authored_by(m.timestamp, q.exclude))
      return true;
    auto size = json_size(m) + 1;
    if (!out.messages.empty() && bytes + size > q.max_bytes) {
      full = true;
      return false;
    }
    bytes += size;
    out.messages.push_back(std::move(m));
    return true;
  };
  auto ranges = db_->prepare("SELECT ts, dataset, row_id, col, value FROM "
                             + table + " WHERE ts > ?1 AND ts < ?2" + in_group
                             + " ORDER BY ts LIMIT ?3");
  if (!ranges)
    return ranges.error();
  for (size_t i = 0; i < q.ranges.size(); ++i) {
    auto r = q.ranges[i];
    while (!full) {
      auto& s = **ranges;
      sql::reset_guard guard{s};
      s.bind(1, std::string_view{r.after});
      s.bind(2, std::string_view{r.before});
      s.bind(3, page_chunk);
      if (relayed)
        s.bind(4, std::string_view{q.group});
      int64_t rows = 0;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        ++rows;
        if (!take(s, false))
          break;
        r.after = std::string{s.column_text(0)};
      }
      if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_->fail("cannot read a range of messages");
      if (!full && rows < page_chunk)
        break; // the range is done
    }
    if (full) {
      out.ranges.push_back(std::move(r));
      out.ranges.insert(out.ranges.end(), q.ranges.begin() + i + 1,
                        q.ranges.end());
      break;
    }
  }
  if (!q.after)
    return out;
  out.next = *q.after;
  if (full) {
    out.more = out.next < q.head;
    return out;
  }
  auto stream = db_->prepare("SELECT ts, dataset, row_id, col, value, seq FROM "
                             + table + " WHERE seq > ?1 AND seq <= ?2"
                             + in_group + " ORDER BY seq LIMIT ?3");
  if (!stream)
    return stream.error();
  while (!full) {
    auto& s = **stream;
    sql::reset_guard guard{s};
    s.bind(1, static_cast<int64_t>(out.next));
    s.bind(2, static_cast<int64_t>(q.head));
    s.bind(3, page_chunk);
    if (relayed)
      s.bind(4, std::string_view{q.group});
    int64_t rows = 0;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      ++rows;
      if (!take(s, true))
        break;
      out.next = static_cast<uint64_t>(s.column_int(5));
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
      return db_->fail("cannot read the message stream");
    if (!full && rows < page_chunk) {
      out.next = std::max(out.next, q.head); // nothing else up to the head
      break;
    }
  }
  out.more = out.next < q.head;
  return out;
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
    return detail::read_messages(**s, *db_);
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
  auto rows
      = comma_joined(*db_, **s, "cannot read config_sync", [&](json_writer& w) {
          w.StartObject();
          const char* names[] = {"key", "value", "type"};
          for (int i = 0; i < 3; ++i) {
            w.Key(names[i]);
            write_column(w, **s, i);
          }
          w.EndObject();
        });
  if (!rows)
    return rows;
  if (!key.empty() && rows->first == 0)
    return make_error(ec::not_found, "no such setting");
  return rows;
}

caf::expected<std::string> dump_tables(sql::connection& db,
                                       const schema_set& schemas) {
  std::string out;
  for (const auto& [name, t] : schemas) {
    // Columns by name, not in table order: a table that gained a field
    // later has it last, one created with it has it in place.
    std::vector<std::string> cols = system_fields();
    std::vector<std::string> user;
    for (const auto& f : t->fields())
      user.push_back(f.name);
    std::sort(user.begin(), user.end());
    cols.insert(cols.end(), user.begin(), user.end());
    std::string list;
    for (const auto& c : cols)
      list += (list.empty() ? "" : ", ") + sql::quote(c);
    auto s = db.prepare_once("SELECT " + list + " FROM " + sql::quote(name)
                             + " ORDER BY id");
    if (!s)
      return s.error();
    auto n = sqlite3_column_count(s->get());
    while (s->step() == SQLITE_ROW) {
      rapidjson::StringBuffer buf;
      json_writer w{buf};
      w.StartArray();
      for (int i = 0; i < n; ++i)
        write_column(w, *s, i);
      w.EndArray();
      out += name + " " + buf.GetString() + "\n";
    }
  }
  return out;
}

} // namespace crdt
