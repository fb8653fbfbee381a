// The read side of the change feed: pages of the message log in position
// order, turned into one event per changed record.

#include "storage/read_store.hpp"

#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"
#include "storage/render.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace crdt {

namespace {

// A record the page names, with its latest message in the page.
struct named {
  uint64_t seq;
  std::string ts;
};

} // namespace

caf::expected<changes_page> read_store::changes(const changes_query& q) {
  changes_page out;
  out.reached = q.after;
  if (q.through <= q.after)
    return out;
  auto scan = db_->prepare(
      "SELECT seq, ts, dataset, row_id FROM crdt_messages "
      "WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3");
  if (!scan)
    return scan.error();
  // Records by (table, id); a record changed many times in the page is
  // one event, at its latest message.
  std::map<std::pair<std::string, std::string>, named> records;
  // For one organization, records of others are passed over as the log is
  // read, so they do not count against `max_events`: a page of a small
  // organization in a busy shared table still reads `scan` entries, not
  // a handful of other organizations' records (a long poll with limit=1
  // took one round trip per foreign record). A record's organization
  // never changes once created; one that is this organization's is in
  // `records` once looked up, so only the others are remembered.
  std::set<std::pair<std::string, std::string>> theirs;
  std::map<std::string, sql::statement*, std::less<>> owner_of;
  auto foreign = [&](const std::pair<std::string, std::string>& key)
      -> caf::expected<bool> {
    if (q.organization.empty())
      return false;
    if (theirs.count(key))
      return true;
    auto st = owner_of.find(key.first);
    if (st == owner_of.end()) {
      sql::statement* s = nullptr;
      if (catalog_->find(key.first)) {
        auto p = db_->prepare("SELECT organization_id FROM "
                              + sql::quote(key.first) + " WHERE id = ?1");
        if (!p)
          return p.error();
        s = *p;
      }
      st = owner_of.emplace(key.first, s).first;
    }
    bool other = true; // not served, or not applied (yet): nothing to show
    if (st->second) {
      auto& s = *st->second;
      sql::reset_guard guard{s};
      s.bind(1, std::string_view{key.second});
      auto rc = s.step();
      if (rc == SQLITE_ROW)
        other = s.column_text(0) != q.organization;
      else if (rc != SQLITE_DONE)
        return db_->fail("cannot read a changed record");
    }
    if (other)
      theirs.insert(key);
    return other;
  };
  {
    sql::reset_guard guard{**scan};
    (*scan)->bind(1, static_cast<int64_t>(q.after));
    (*scan)->bind(2, static_cast<int64_t>(q.through));
    (*scan)->bind(3, static_cast<int64_t>(std::max<size_t>(q.scan, 1)));
    size_t looked = 0;
    int rc;
    while ((rc = (*scan)->step()) == SQLITE_ROW) {
      ++looked;
      auto seq = static_cast<uint64_t>((*scan)->column_int(0));
      auto table = (*scan)->column_text(2);
      if (std::find(q.tables.begin(), q.tables.end(), table)
          != q.tables.end()) {
        std::pair<std::string, std::string> key{std::string{table},
                                                std::string{
                                                    (*scan)->column_text(3)}};
        auto it = records.find(key);
        if (it == records.end()) {
          auto other = foreign(key);
          if (!other)
            return other.error();
          if (!*other) {
            // A new record past the page's size: the page ends before it.
            if (records.size() >= q.max_events)
              break;
            it = records.emplace(std::move(key), named{}).first;
          }
        }
        if (it != records.end())
          it->second = named{seq, std::string{(*scan)->column_text(1)}};
      }
      out.reached = seq;
      out.reached_ts = std::string{(*scan)->column_text(1)};
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      return db_->fail("cannot read the message log");
    // Fewer than asked for: the log holds nothing more up to `through`.
    if (rc == SQLITE_DONE && looked < std::max<size_t>(q.scan, 1)) {
      out.reached = q.through;
      if (looked == 0) {
        auto name = position_id(q.through);
        if (!name)
          return name.error();
        out.reached_ts = std::move(*name);
      }
    }
  }
  // Each record as it is now, in its organization. Per table: the
  // rendered columns first (write_row reads them from index 0), then what
  // the feed needs to know about the row.
  struct reading {
    table_ptr schema;
    selection sel;
    sql::statement* row = nullptr;
  };
  std::map<std::string, reading, std::less<>> tables;
  for (const auto& [key, at] : records) {
    const auto& [table, id] = key;
    auto known = tables.find(table);
    if (known == tables.end()) {
      reading r;
      r.schema = catalog_->find(table);
      if (r.schema) {
        r.sel = select_columns(*r.schema, {});
        auto st = db_->prepare("SELECT " + r.sel.columns_sql
                               + ", tombstone IS 1, organization_id FROM "
                               + sql::quote(table) + " WHERE id = ?1");
        if (!st)
          return st.error();
        r.row = *st;
      }
      known = tables.emplace(table, std::move(r)).first;
    }
    if (!known->second.schema)
      continue; // a table not served (yet): nothing to show
    const auto& sel = known->second.sel;
    auto extra = static_cast<int>(sel.names.size());
    auto* row = &known->second.row;
    sql::reset_guard guard{**row};
    (*row)->bind(1, std::string_view{id});
    auto rc = (*row)->step();
    if (rc == SQLITE_DONE)
      continue; // messages for fields not applied (yet)
    if (rc != SQLITE_ROW)
      return db_->fail("cannot read a changed record");
    std::string org{(*row)->column_text(extra + 1)};
    if (!q.organization.empty() && org != q.organization)
      continue;
    change_event e;
    e.seq = at.seq;
    e.ts = at.ts;
    e.table = table;
    e.id = id;
    e.organization = std::move(org);
    e.deleted = (*row)->column_int(extra) != 0;
    if (!e.deleted) {
      rapidjson::StringBuffer buf;
      json_writer w{buf};
      write_row(w, **row, sel);
      e.record.assign(buf.GetString(), buf.GetSize());
    }
    out.events.push_back(std::move(e));
  }
  std::sort(out.events.begin(), out.events.end(),
            [](const auto& a, const auto& b) { return a.seq < b.seq; });
  return out;
}

caf::expected<uint64_t> read_store::log_head() {
  auto s = db_->prepare("SELECT coalesce(max(seq), 0) FROM crdt_messages");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  if ((*s)->step() != SQLITE_ROW)
    return db_->fail("cannot read the message log");
  return static_cast<uint64_t>((*s)->column_int(0));
}

caf::expected<std::string> read_store::position_id(uint64_t seq) {
  auto at = db_->prepare("SELECT ts FROM crdt_messages WHERE seq <= ?1 "
                         "ORDER BY seq DESC LIMIT 1");
  if (!at)
    return at.error();
  sql::reset_guard guard{**at};
  (*at)->bind(1, static_cast<int64_t>(seq));
  auto rc = (*at)->step();
  if (rc == SQLITE_ROW)
    return std::string{(*at)->column_text(0)};
  if (rc != SQLITE_DONE)
    return db_->fail("cannot read the message log");
  return std::string{"0"}; // before every message; `since=0` starts there
}

caf::expected<uint64_t> read_store::feed_position(const std::string& since,
                                                  uint64_t live,
                                                  uint64_t replay_limit) {
  if (since == "0")
    return uint64_t{0};
  if (!parse_timestamp(since))
    return make_error(ec::bad_request,
                      "since: not an event id (an HLC timestamp such as "
                      "2026-01-01T00:00:00.000Z-0000-0123456789abcdef) or 0");
  auto exact = db_->prepare("SELECT seq FROM crdt_messages WHERE ts = ?1");
  if (!exact)
    return exact.error();
  {
    sql::reset_guard guard{**exact};
    (*exact)->bind(1, std::string_view{since});
    auto rc = (*exact)->step();
    if (rc == SQLITE_ROW)
      return static_cast<uint64_t>((*exact)->column_int(0));
    if (rc != SQLITE_DONE)
      return db_->fail("cannot read the message log");
  }
  // Not stored here: before the first message stamped later, looking at
  // no more of them than may be replayed.
  auto later = db_->prepare(
      "SELECT count(*), min(seq) FROM (SELECT seq FROM crdt_messages "
      "WHERE ts > ?1 LIMIT ?2)");
  if (!later)
    return later.error();
  sql::reset_guard guard{**later};
  (*later)->bind(1, std::string_view{since});
  auto cap = replay_limit >= static_cast<uint64_t>(INT64_MAX)
                 ? INT64_MAX
                 : static_cast<int64_t>(replay_limit) + 1;
  (*later)->bind(2, cap);
  if ((*later)->step() != SQLITE_ROW)
    return db_->fail("cannot read the message log");
  if ((*later)->column_int(0) >= cap)
    return make_error(ec::conflict,
                      "since is older than the " + std::to_string(replay_limit)
                          + " newest changes this node replays "
                            "(FEED_REPLAY_LIMIT): list the table again, then "
                            "follow its changes from now");
  if ((*later)->column_type(1) == SQLITE_NULL)
    return live; // nothing stamped later: from where live changes start
  return static_cast<uint64_t>((*later)->column_int(1)) - 1;
}

} // namespace crdt
