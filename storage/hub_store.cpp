#include "storage/hub_store.hpp"

#include "protocol/error.hpp"
#include "protocol/merkle.hpp"
#include "protocol/murmur3.hpp"
#include "protocol/timestamp.hpp"

#include <cstring>
#include <map>

namespace crdt {

namespace {

// Held (session-level) while one process creates or upgrades the tables, so
// that hub processes starting together do not race.
constexpr const char* migrate_lock = "SELECT pg_advisory_lock(72628510)";
constexpr const char* migrate_unlock = "SELECT pg_advisory_unlock(72628510)";

// Version 1. `ts` sorts bytewise (COLLATE "C"), as timestamps compare
// everywhere else; the content columns are bytea so that any string a node
// stores (NUL included) is relayed unchanged.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE IF NOT EXISTS crdt_hub_groups (
  group_id text PRIMARY KEY,
  stream_id text NOT NULL,
  head bigint NOT NULL DEFAULT 0,
  messages bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS crdt_hub_messages (
  group_id text NOT NULL,
  ts text COLLATE "C" NOT NULL,
  dataset bytea NOT NULL,
  row_id bytea NOT NULL,
  col bytea NOT NULL,
  value bytea NOT NULL,
  seq bigint NOT NULL,
  PRIMARY KEY (group_id, ts)
);
CREATE UNIQUE INDEX IF NOT EXISTS crdt_hub_messages_seq
  ON crdt_hub_messages (group_id, seq);
CREATE TABLE IF NOT EXISTS crdt_hub_trie (
  group_id text NOT NULL,
  key text COLLATE "C" NOT NULL,
  hash integer NOT NULL,
  PRIMARY KEY (group_id, key)
);
)sql";

// Version 2: where the database stands in HUB_DATABASE_URL.
constexpr const char* schema_v2 = R"sql(
CREATE TABLE IF NOT EXISTS crdt_hub_placement (
  id integer PRIMARY KEY CHECK (id = 0),
  position integer NOT NULL,
  databases integer NOT NULL
);
)sql";

// Rows read per statement while filling a page.
constexpr int page_chunk = 512;

// A transaction rolled back unless committed (a failure part-way leaves
// nothing behind; the server also rolls back when the connection dies).
class transaction {
public:
  explicit transaction(pg::connection& db) : db_(db) {}
  ~transaction() {
    if (open_ && db_.ok())
      db_.exec("ROLLBACK");
  }
  caf::error begin(const char* sql = "BEGIN") {
    auto err = db_.exec(sql);
    open_ = !err;
    return err;
  }
  caf::error commit() {
    open_ = false;
    return db_.exec("COMMIT");
  }

private:
  pg::connection& db_;
  bool open_ = false;
};

// Whether timestamp `ts` ends with node id `node`.
bool authored_by(std::string_view ts, const std::string& node) {
  return !node.empty() && ts.size() >= node.size()
         && ts.compare(ts.size() - node.size(), node.size(), node) == 0;
}

caf::expected<message> message_at(const pg::result& r, int row) {
  auto v = decode_value(r.bytes(row, 4));
  if (!v)
    return v.error();
  return message{std::string{r.bytes(row, 0)}, std::string{r.bytes(row, 1)},
                 std::string{r.bytes(row, 2)}, std::string{r.bytes(row, 3)},
                 std::move(*v)};
}

std::string text_array(const std::vector<std::string>& xs) {
  std::string out = "{";
  for (const auto& x : xs)
    pg::append_array_element(out, x);
  out += '}';
  return out;
}

// The group's head, stream id and root hash, as of the transaction's
// snapshot (zeros and "" for a group never stored here).
struct group_row {
  uint64_t head = 0;
  std::string stream_id;
  uint32_t root = 0;
};

caf::expected<group_row> read_group(pg::connection& db,
                                    const std::string& group) {
  auto r = db.query(
      "SELECT g.head, g.stream_id, coalesce((SELECT t.hash FROM crdt_hub_trie "
      "t WHERE t.group_id = g.group_id AND t.key = ''), 0) FROM "
      "crdt_hub_groups g WHERE g.group_id = $1",
      pg::params{}.text(group));
  if (!r)
    return r.error();
  group_row out;
  if (r->rows() == 1) {
    out.head = static_cast<uint64_t>(r->integer(0, 0));
    out.stream_id = std::string{r->bytes(0, 1)};
    out.root = static_cast<uint32_t>(r->integer(0, 2));
  }
  return out;
}

} // namespace

size_t hub_placement(const std::string& group, size_t n) {
  return n <= 1 ? 0 : murmur3_32(group) % n;
}

std::string encode_value(const value& v) {
  std::string out;
  auto put64 = [&](uint64_t x) {
    for (int i = 7; i >= 0; --i)
      out += static_cast<char>((x >> (8 * i)) & 0xff);
  };
  if (auto* i = std::get_if<int64_t>(&v)) {
    out += 'i';
    put64(static_cast<uint64_t>(*i));
  } else if (auto* d = std::get_if<double>(&v)) {
    out += 'r';
    uint64_t bits;
    std::memcpy(&bits, d, sizeof bits);
    put64(bits);
  } else if (auto* s = std::get_if<std::string>(&v)) {
    out += 's';
    out += *s;
  } else {
    out += 'n';
  }
  return out;
}

caf::expected<value> decode_value(std::string_view b) {
  auto get64 = [&] {
    uint64_t x = 0;
    for (size_t i = 1; i < 9; ++i)
      x = (x << 8) | static_cast<unsigned char>(b[i]);
    return x;
  };
  if (b == "n")
    return value{};
  if (!b.empty() && b[0] == 's')
    return value{std::string{b.substr(1)}};
  if (b.size() == 9 && b[0] == 'i')
    return value{static_cast<int64_t>(get64())};
  if (b.size() == 9 && b[0] == 'r') {
    auto bits = get64();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return value{d};
  }
  return make_error(ec::storage_failure,
                    "the hub database holds a value this binary cannot read");
}

caf::expected<std::unique_ptr<pg_hub_store>>
pg_hub_store::open(const std::string& conninfo, int64_t statement_timeout_ms,
                   size_t position, size_t databases) {
  auto db = pg::connection::open(conninfo, statement_timeout_ms);
  if (!db)
    return db.error();
  std::unique_ptr<pg_hub_store> st{new pg_hub_store{std::move(*db)}};
  if (auto err = st->migrate())
    return err;
  if (auto err = st->check_placement(position, databases))
    return err;
  return st;
}

caf::error pg_hub_store::check_placement(size_t position, size_t databases) {
  auto r = db_->query(
      "WITH mine AS (INSERT INTO crdt_hub_placement VALUES (0, $1, $2) ON "
      "CONFLICT (id) DO NOTHING RETURNING position, databases) SELECT "
      "position, databases FROM mine UNION ALL SELECT position, databases "
      "FROM crdt_hub_placement",
      pg::params{}
          .integer(static_cast<int64_t>(position))
          .integer(static_cast<int64_t>(databases)));
  if (!r)
    return r.error();
  if (r->rows() == 0) {
    // Another process inserted the row at the same moment: its insert
    // waited for that one, whose row this statement's snapshot predates.
    r = db_->query("SELECT position, databases FROM crdt_hub_placement", {});
    if (!r)
      return r.error();
    if (r->rows() == 0)
      return make_error(ec::storage_failure,
                        "crdt_hub_placement is empty after an insert");
  }
  auto at = r->integer(0, 0);
  auto of = r->integer(0, 1);
  if (at == static_cast<int64_t>(position)
      && of == static_cast<int64_t>(databases))
    return caf::none;
  return make_error(
      ec::storage_failure,
      "this database is number " + std::to_string(at + 1) + " of "
          + std::to_string(of)
          + " in the HUB_DATABASE_URL of the processes that use it, not "
            "number "
          + std::to_string(position + 1) + " of " + std::to_string(databases)
          + ": groups would be looked for in the wrong database. Give every "
            "hub process the same list in the same order; to change the "
            "list, move the groups first (docs/sync.md)");
}

caf::error pg_hub_store::migrate() {
  // Nothing to do (the common case, every reconnect): no lock, and no
  // CREATE privilege needed.
  auto current = db_->query(
      "SELECT CASE WHEN to_regclass('crdt_hub_schema') IS NULL THEN 0 ELSE "
      "1 END",
      {});
  if (!current)
    return current.error();
  if (current->integer(0, 0) == 1) {
    auto v = db_->query("SELECT max(version) FROM crdt_hub_schema", {});
    if (v && !v->is_null(0, 0) && v->integer(0, 0) == hub_schema_version)
      return caf::none;
  }
  if (auto err = db_->exec(migrate_lock))
    return err;
  auto run = [&]() -> caf::error {
    if (auto err = db_->exec("CREATE TABLE IF NOT EXISTS crdt_hub_schema "
                             "(version integer NOT NULL)"))
      return err;
    auto v = db_->query("SELECT max(version) FROM crdt_hub_schema", {});
    if (!v)
      return v.error();
    int64_t version = v->is_null(0, 0) ? 0 : v->integer(0, 0);
    if (version > hub_schema_version)
      return make_error(ec::storage_failure,
                        "the hub database has schema version "
                            + std::to_string(version)
                            + ", newer than this binary's "
                            + std::to_string(hub_schema_version)
                            + ": upgrade crdt-store");
    if (version == hub_schema_version)
      return caf::none;
    // Each step upgrades from the version before it, in one transaction.
    transaction tx{*db_};
    if (auto err = tx.begin())
      return err;
    if (version < 1)
      if (auto err = db_->exec(schema_v1))
        return err;
    if (version < 2)
      if (auto err = db_->exec(schema_v2))
        return err;
    if (auto err = db_->exec("DELETE FROM crdt_hub_schema"))
      return err;
    if (auto err = db_->exec("INSERT INTO crdt_hub_schema VALUES ("
                             + std::to_string(hub_schema_version) + ")"))
      return err;
    return tx.commit();
  };
  auto err = run();
  if (db_->ok())
    db_->exec(migrate_unlock);
  return err;
}

caf::expected<size_t> pg_hub_store::store(const std::string& group,
                                          const std::vector<message>& msgs) {
  if (msgs.empty())
    return size_t{0};
  transaction tx{*db_};
  // READ COMMITTED whatever the database's default: once the group's row is
  // locked, each statement sees every batch committed before.
  if (auto err = tx.begin("BEGIN ISOLATION LEVEL READ COMMITTED"))
    return err;
  // Creates the group on first use and locks its row until the commit:
  // the batches of a group are numbered and committed one at a time.
  auto g = db_->query(
      "INSERT INTO crdt_hub_groups (group_id, stream_id) VALUES ($1, "
      "substr(md5(random()::text || clock_timestamp()::text || $1), 1, 16)) "
      "ON CONFLICT (group_id) DO UPDATE SET head = crdt_hub_groups.head "
      "RETURNING head",
      pg::params{}.text(group));
  if (!g)
    return g.error();
  auto head = static_cast<uint64_t>(g->integer(0, 0));
  // The batch, each timestamp once, as arrays (one statement whatever its
  // size); the numbers after the head are reserved for all of them, and
  // those the log holds already leave a gap (the stream skips gaps).
  // Each new timestamp's time, parsed once: its trie leaf is needed if the
  // log takes it.
  std::map<std::string_view, int64_t> millis_of;
  std::string stamps = "{", datasets = "{", rows = "{", cols = "{",
              values = "{";
  auto hex = [](std::string_view bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out = "\\x";
    out.reserve(2 + 2 * bytes.size());
    for (unsigned char c : bytes) {
      out += digits[c >> 4];
      out += digits[c & 15];
    }
    return out;
  };
  size_t batch = 0;
  for (const auto& m : msgs) {
    if (millis_of.count(m.timestamp))
      continue;
    auto ts = parse_timestamp(m.timestamp);
    if (!ts)
      return make_error(ec::bad_request, "bad timestamp: " + m.timestamp);
    millis_of.emplace(m.timestamp, ts->millis);
    ++batch;
    pg::append_array_element(stamps, m.timestamp);
    pg::append_array_element(datasets, hex(m.dataset));
    pg::append_array_element(rows, hex(m.row));
    pg::append_array_element(cols, hex(m.column));
    pg::append_array_element(values, hex(encode_value(m.val)));
  }
  for (auto* a : {&stamps, &datasets, &rows, &cols, &values})
    *a += '}';
  auto inserted = db_->query(
      "INSERT INTO crdt_hub_messages (group_id, ts, dataset, row_id, col, "
      "value, seq) SELECT $1, t.ts, t.d, t.r, t.c, t.v, $7::bigint + t.n "
      "FROM unnest($2::text[], $3::bytea[], $4::bytea[], $5::bytea[], "
      "$6::bytea[]) WITH ORDINALITY AS t(ts, d, r, c, v, n) ON CONFLICT "
      "(group_id, ts) DO NOTHING RETURNING ts",
      pg::params{}
          .text(group)
          .text(std::move(stamps))
          .text(std::move(datasets))
          .text(std::move(rows))
          .text(std::move(cols))
          .text(std::move(values))
          .integer(static_cast<int64_t>(head)));
  if (!inserted)
    return inserted.error();
  size_t fresh = static_cast<size_t>(inserted->rows());
  if (fresh == 0)
    return size_t{0};
  // The trie deltas of the new ones.
  std::map<std::string, uint32_t> leaves;
  for (int i = 0; i < inserted->rows(); ++i) {
    auto ts = inserted->bytes(i, 0);
    auto at = millis_of.find(ts);
    if (at == millis_of.end())
      return make_error(ec::storage_failure, "the hub database returned a "
                                             "timestamp it was not given");
    leaves[merkle_key(at->second)] ^= murmur3_32(ts);
  }
  auto nodes = path_deltas(leaves);
  std::string keys = "{";
  std::string hashes = "{";
  for (const auto& [key, hash] : nodes) {
    pg::append_array_element(keys, key);
    if (hashes.size() > 1)
      hashes += ',';
    hashes += std::to_string(static_cast<int32_t>(hash));
  }
  keys += '}';
  hashes += '}';
  if (auto r = db_->query(
          "INSERT INTO crdt_hub_trie (group_id, key, hash) SELECT $1, k, h "
          "FROM unnest($2::text[], $3::integer[]) AS t(k, h) ON CONFLICT "
          "(group_id, key) DO UPDATE SET hash = crdt_hub_trie.hash # "
          "EXCLUDED.hash",
          pg::params{}.text(group).text(keys).text(hashes));
      !r)
    return r.error();
  if (auto r = db_->query("UPDATE crdt_hub_groups SET head = $2, messages = "
                          "messages + $3 WHERE group_id = $1",
                          pg::params{}
                              .text(group)
                              .integer(static_cast<int64_t>(head + batch))
                              .integer(static_cast<int64_t>(fresh)));
      !r)
    return r.error();
  if (before_commit)
    before_commit();
  if (auto err = tx.commit())
    return err;
  return fresh;
}

caf::expected<exchange_answer>
pg_hub_store::exchange(const std::string& group, const exchange_request& req,
                       size_t page_bytes) {
  if (auto stored = store(group, req.messages); !stored)
    return stored.error();
  transaction tx{*db_};
  if (auto err = tx.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    return err;
  auto g = read_group(*db_, group);
  if (!g)
    return g.error();
  exchange_answer ans;
  ans.hub = g->stream_id;
  ans.root = g->root;
  ans.head = g->head;
  // The children of compared nodes that differ: the named nodes and their
  // children, as a partial trie, compared like the SQLite hub's whole one.
  if (!req.compare.empty()) {
    std::vector<std::string> keys;
    for (const auto& [key, hash] : req.compare) {
      keys.push_back(key);
      for (char c : {'0', '1', '2'})
        keys.push_back(key + c);
    }
    auto r = db_->query("SELECT key, hash FROM crdt_hub_trie WHERE group_id = "
                        "$1 AND key = ANY($2::text[])",
                        pg::params{}.text(group).text(text_array(keys)));
    if (!r)
      return r.error();
    merkle_trie part;
    for (int i = 0; i < r->rows(); ++i)
      part.set_node(r->bytes(i, 0), static_cast<uint32_t>(r->integer(i, 1)));
    ans.children = compare_nodes(part, req.compare);
  }
  // The ranges, then the stream, until the messages fill the page.
  const size_t max_bytes
      = req.page > 0 ? std::min<size_t>(req.page, page_bytes) : page_bytes;
  size_t bytes = 0;
  bool full = false;
  caf::error failed;
  // The stream leaves out the caller's own messages; repair ranges carry
  // them (a node restored from a backup gets back what it had sent).
  auto take = [&](const pg::result& r, int row, bool skip_own) {
    if (skip_own && authored_by(r.bytes(row, 0), req.client_id))
      return true;
    auto m = message_at(r, row);
    if (!m) {
      failed = m.error();
      return false;
    }
    auto size = json_size(*m) + 1;
    if (!ans.messages.empty() && bytes + size > max_bytes) {
      full = true;
      return false;
    }
    bytes += size;
    ans.messages.push_back(std::move(*m));
    return true;
  };
  for (size_t i = 0; i < req.ranges.size(); ++i) {
    auto rg = req.ranges[i];
    while (!full) {
      auto r = db_->query(
          "SELECT ts, dataset, row_id, col, value FROM crdt_hub_messages "
          "WHERE group_id = $1 AND ts > $2 AND ts < $3 ORDER BY ts LIMIT $4",
          pg::params{}.text(group).text(rg.after).text(rg.before).integer(
              page_chunk));
      if (!r)
        return r.error();
      int row = 0;
      for (; row < r->rows(); ++row) {
        if (!take(*r, row, false))
          break;
        rg.after = std::string{r->bytes(row, 0)};
      }
      if (failed)
        return failed;
      if (!full && r->rows() < page_chunk)
        break; // the range is done
    }
    if (full) {
      ans.ranges.push_back(std::move(rg));
      ans.ranges.insert(ans.ranges.end(), req.ranges.begin() + i + 1,
                        req.ranges.end());
      break;
    }
  }
  if (!req.after)
    return ans;
  // A cursor of another stream (another hub, or this group before it was
  // moved here under a new id) means nothing: the stream starts over. So
  // does one past the head: the database was restored from a backup or
  // failed over to a replica that lost commits, and numbers it hands out
  // again would be skipped.
  ans.next = req.hub == g->stream_id && *req.after <= g->head ? *req.after : 0;
  while (!full && ans.next < g->head) {
    auto r = db_->query(
        "SELECT ts, dataset, row_id, col, value, seq FROM crdt_hub_messages "
        "WHERE group_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
        pg::params{}
            .text(group)
            .integer(static_cast<int64_t>(ans.next))
            .integer(static_cast<int64_t>(g->head))
            .integer(page_chunk));
    if (!r)
      return r.error();
    for (int row = 0; row < r->rows(); ++row) {
      if (!take(*r, row, true))
        break;
      ans.next = static_cast<uint64_t>(r->integer(row, 5));
    }
    if (failed)
      return failed;
    if (!full && r->rows() < page_chunk) {
      ans.next = std::max(ans.next, g->head); // nothing else up to the head
      break;
    }
  }
  ans.more = ans.next < g->head;
  if (auto err = tx.commit())
    return err;
  return ans;
}

caf::expected<std::string>
pg_hub_store::legacy(const std::string& group, const std::string& client_id,
                     const std::vector<message>& msgs,
                     const merkle_trie& theirs, uint32_t limit) {
  if (auto stored = store(group, msgs); !stored)
    return stored.error();
  transaction tx{*db_};
  if (auto err = tx.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    return err;
  // This format compares whole tries: the group's is read whole.
  auto nodes = db_->query(
      "SELECT key, hash FROM crdt_hub_trie WHERE group_id = $1",
      pg::params{}.text(group));
  if (!nodes)
    return nodes.error();
  merkle_trie trie;
  for (int i = 0; i < nodes->rows(); ++i)
    trie.set_node(nodes->bytes(i, 0),
                  static_cast<uint32_t>(nodes->integer(i, 1)));
  auto json = trie.to_json();
  auto since = first_difference(trie, theirs);
  if (!since)
    return write_sync_response({}, json);
  // From the first differing minute, about `limit` messages, then the rest
  // of the last minute so that the client's trie agrees up to there.
  std::vector<message> out;
  auto fetch = [&](const std::string& lo, const std::string& hi,
                   int64_t count) -> caf::error {
    auto r = db_->query(
        "SELECT ts, dataset, row_id, col, value FROM crdt_hub_messages WHERE "
        "group_id = $1 AND ts >= $2 AND ($3 = '' OR ts < $3) ORDER BY ts "
        "LIMIT $4",
        pg::params{}.text(group).text(lo).text(hi).integer(count));
    if (!r)
      return r.error();
    for (int row = 0; row < r->rows(); ++row) {
      if (!out.empty() && out.back().timestamp == r->bytes(row, 0))
        continue; // the first minute's last one, read again
      auto m = message_at(*r, row);
      if (!m)
        return m.error();
      out.push_back(std::move(*m));
    }
    return caf::none;
  };
  if (auto err = fetch(since_timestamp(*since), "", limit))
    return err;
  if (limit > 0 && out.size() == limit) {
    const std::string last = out.back().timestamp;
    if (auto err = fetch(last, last.substr(0, 16) + ";", INT32_MAX))
      return err;
  }
  if (auto err = tx.commit())
    return err;
  std::vector<message> answer;
  answer.reserve(out.size());
  for (auto& m : out)
    if (!authored_by(m.timestamp, client_id))
      answer.push_back(std::move(m));
  return write_sync_response(answer, json);
}

} // namespace crdt
