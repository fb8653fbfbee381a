// Raw-SQLite baselines for creates, written straight into SQLite with
// prepared statements in batched transactions (no HTTP, no actors, no JSON):
//
//   durable  only what a create must make durable: the record's row and
//            its ten field messages in the log, kept as one B-tree keyed
//            by the timestamp (the server's log adds a `seq` key beside
//            it). Everything else the server keeps (field timestamps,
//            outbox, trie, clock) can be derived from the log.
//   full     what the server wrote per create before the outbox became a
//            mark over the log and the field timestamps one row per record:
//            log, ten cell rows, ten outbox rows, the record, trie nodes,
//            clock. Kept to compare with earlier figures.
//   log-text, log-blob
//            only the ten log rows per create, in the server's layout
//            (rowid table keyed by seq, unique timestamp): the timestamp
//            as the 46-byte text the server stores, or as a 26-byte
//            blob (millis and counter big-endian, node id) that sorts the
//            same way. Measures what a binary key would save.
//
// Usage: bench_baseline <db-file> [creates=200000] [batch=64] [FULL|NORMAL|OFF]
//                       [durable|full|log-text|log-blob]
// Prints one line: "baseline: N creates/s, M messages/s (...)".

#include "protocol/merkle.hpp"
#include "protocol/murmur3.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

using namespace crdt;

namespace {

sqlite3* db = nullptr;

void exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "baseline: %s: %s\n", sql, err);
    std::exit(1);
  }
}

sqlite3_stmt* prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr)
      != SQLITE_OK) {
    std::fprintf(stderr, "baseline: %s: %s\n", sql, sqlite3_errmsg(db));
    std::exit(1);
  }
  return s;
}

void run(sqlite3_stmt* s) {
  if (sqlite3_step(s) != SQLITE_DONE) {
    std::fprintf(stderr, "baseline: step: %s\n", sqlite3_errmsg(db));
    std::exit(1);
  }
  sqlite3_reset(s);
}

void text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

// The ten fields a create writes (four of the body, six the server adds).
const char* const cols[]
    = {"first_name", "middle_name",     "last_name",  "date_of_birth",
       "tombstone",  "organization_id", "created_by", "updated_by",
       "created_at", "updated_at"};

// The key of `log-blob`: millis and counter big-endian, then the node id's
// 16 characters (letters and digits, not only hex), 26 bytes in all. Sorts
// as the text form does.
std::string binary_key(const timestamp& t) {
  std::string k(10, '\0');
  for (int i = 0; i < 8; ++i)
    k[static_cast<size_t>(i)] = static_cast<char>(t.millis >> (56 - 8 * i));
  k[8] = static_cast<char>(t.counter >> 8);
  k[9] = static_cast<char>(t.counter);
  return k + t.node;
}

// Ten log rows per create in the server's layout, keyed by text or blob.
int log_only(long creates, long batch, bool blob) {
  exec(blob ? "CREATE TABLE IF NOT EXISTS log_blob(seq INTEGER PRIMARY KEY, "
              "ts BLOB NOT NULL UNIQUE, dataset TEXT NOT NULL, row_id TEXT "
              "NOT NULL, col TEXT NOT NULL, value, outgoing INTEGER NOT NULL "
              "DEFAULT 0)"
            : "CREATE TABLE IF NOT EXISTS log_text(seq INTEGER PRIMARY KEY, "
              "ts TEXT NOT NULL UNIQUE, dataset TEXT NOT NULL, row_id TEXT "
              "NOT NULL, col TEXT NOT NULL, value, outgoing INTEGER NOT NULL "
              "DEFAULT 0)");
  auto ins = prepare(blob ? "INSERT INTO log_blob(ts, dataset, row_id, col, "
                            "value, seq, outgoing) VALUES(?1, ?2, ?3, ?4, ?5, "
                            "?6, 1) ON CONFLICT(ts) DO NOTHING"
                          : "INSERT INTO log_text(ts, dataset, row_id, col, "
                            "value, seq, outgoing) VALUES(?1, ?2, ?3, ?4, ?5, "
                            "?6, 1) ON CONFLICT(ts) DO NOTHING");
  hlc clock;
  clock.last.node = "0123456789abcdef";
  const std::string table = "contacts";
  auto start = std::chrono::steady_clock::now();
  long done = 0, seq = 0;
  while (done < creates) {
    exec("BEGIN IMMEDIATE");
    for (long b = 0; b < batch && done < creates; ++b, ++done) {
      auto now = wall_clock_ms();
      auto id = make_ulid(now);
      auto name = "n" + std::to_string(done);
      for (const char* c : cols) {
        // Both forms are made in both modes, as the server would have
        // both (the text from the wire, the key from its parse): only the
        // stored form differs.
        auto t = *send(clock, now);
        auto as_text = to_string(t);
        auto as_blob = binary_key(t);
        const auto& key = blob ? as_blob : as_text;
        if (blob)
          sqlite3_bind_blob(ins, 1, key.data(), static_cast<int>(key.size()),
                            SQLITE_STATIC);
        else
          text(ins, 1, key);
        text(ins, 2, table);
        text(ins, 3, id);
        sqlite3_bind_text(ins, 4, c, -1, SQLITE_STATIC);
        text(ins, 5, name);
        sqlite3_bind_int64(ins, 6, ++seq);
        run(ins);
      }
    }
    exec("COMMIT");
  }
  double secs
      = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  std::printf("baseline: %.0f creates/s, %.0f messages/s (%s, %ld creates, "
              "batch %ld)\n",
              creates / secs, creates * 10 / secs,
              blob ? "log-blob" : "log-text", creates, batch);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(
        stderr, "usage: bench_baseline <db> [creates] [batch] [FULL|NORMAL|OFF] "
                "[durable|full|log-text|log-blob]\n");
    return 2;
  }
  long creates = argc > 2 ? std::atol(argv[2]) : 200000;
  long batch = argc > 3 ? std::atol(argv[3]) : 64;
  std::string sync = argc > 4 ? argv[4] : "FULL";
  std::string mode = argc > 5 ? argv[5] : "durable";
  bool full = mode == "full";
  if (sync != "FULL" && sync != "NORMAL" && sync != "OFF") {
    std::fprintf(stderr, "baseline: synchronous must be FULL, NORMAL or OFF\n");
    return 2;
  }
  if (sqlite3_open(argv[1], &db) != SQLITE_OK)
    return 1;
  exec(("PRAGMA journal_mode=WAL; PRAGMA synchronous=" + sync
        + "; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;")
           .c_str());
  if (mode == "log-text" || mode == "log-blob")
    return log_only(creates, batch, mode == "log-blob");
  // The same tables and keys as storage/migrate.cpp creates.
  exec(R"sql(
CREATE TABLE IF NOT EXISTS crdt_messages(ts TEXT PRIMARY KEY, dataset TEXT NOT NULL,
  row_id TEXT NOT NULL, col TEXT NOT NULL, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_cells(dataset TEXT NOT NULL, row_id TEXT NOT NULL,
  col TEXT NOT NULL, ts TEXT NOT NULL, PRIMARY KEY(dataset, row_id, col)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_merkle(key TEXT PRIMARY KEY, hash INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crdt_clock(id INTEGER PRIMARY KEY CHECK (id = 0),
  node TEXT NOT NULL, ts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS crdt_outbox(ts TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contacts(id TEXT PRIMARY KEY, tombstone INTEGER,
  organization_id TEXT, created_by TEXT, updated_by TEXT, created_at TEXT,
  updated_at TEXT, first_name TEXT, middle_name TEXT, last_name TEXT,
  date_of_birth TEXT);
INSERT OR IGNORE INTO crdt_clock VALUES(0, '0123456789abcdef', '');
)sql");
  auto msg = prepare("INSERT INTO crdt_messages VALUES(?1, ?2, ?3, ?4, ?5)");
  auto cell = prepare(
      "INSERT INTO crdt_cells VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET "
      "ts = excluded.ts WHERE excluded.ts > crdt_cells.ts");
  auto out = prepare("INSERT INTO crdt_outbox VALUES(?1)");
  auto row = prepare(
      "INSERT INTO contacts(id, first_name, middle_name, last_name, "
      "date_of_birth, tombstone, organization_id, created_by, updated_by, "
      "created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, 0, ?6, NULL, NULL, "
      "?7, ?7) ON CONFLICT(id) DO UPDATE SET first_name = excluded.first_name");
  auto mrk = prepare(
      "INSERT INTO crdt_merkle VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET "
      "hash = (hash | excluded.hash) - (hash & excluded.hash)");
  auto clk = prepare("UPDATE crdt_clock SET ts = ?1 WHERE id = 0");
  hlc clock;
  clock.last.node = "0123456789abcdef";
  const std::string table = "contacts", org = "01JBHKXHYSKPP247HZZWHA3JCT";
  auto start = std::chrono::steady_clock::now();
  long done = 0;
  std::string last;
  while (done < creates) {
    exec("BEGIN IMMEDIATE");
    std::map<std::string, uint32_t> leaves;
    for (long b = 0; b < batch && done < creates; ++b, ++done) {
      auto now = wall_clock_ms();
      auto id = make_ulid(now);
      auto name = "n" + std::to_string(done);
      std::string iso = iso8601(now);
      for (const char* c : cols) {
        auto ts = to_string(*send(clock, now));
        text(msg, 1, ts);
        text(msg, 2, table);
        text(msg, 3, id);
        sqlite3_bind_text(msg, 4, c, -1, SQLITE_STATIC);
        text(msg, 5, name);
        run(msg);
        last = ts;
        if (!full)
          continue;
        text(cell, 1, table);
        text(cell, 2, id);
        sqlite3_bind_text(cell, 3, c, -1, SQLITE_STATIC);
        text(cell, 4, ts);
        run(cell);
        text(out, 1, ts);
        run(out);
        leaves[merkle_key(now)] ^= murmur3_32(ts);
      }
      text(row, 1, id);
      text(row, 2, name);
      text(row, 3, name);
      text(row, 4, name);
      text(row, 5, name);
      text(row, 6, org);
      text(row, 7, iso);
      run(row);
    }
    if (!full) {
      exec("COMMIT");
      continue;
    }
    std::map<std::string, uint32_t> nodes;
    for (auto& [key, h] : leaves)
      for (size_t len = 0; len <= key.size(); ++len)
        nodes[key.substr(0, len)] ^= h;
    for (auto& [key, h] : nodes) {
      text(mrk, 1, key);
      sqlite3_bind_int64(mrk, 2, h);
      run(mrk);
    }
    text(clk, 1, last);
    run(clk);
    exec("COMMIT");
  }
  double secs
      = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  std::printf("baseline: %.0f creates/s, %.0f messages/s (%s, %ld creates, "
              "batch %ld, synchronous=%s)\n",
              creates / secs, creates * 10 / secs, mode.c_str(), creates,
              batch, sync.c_str());
  for (auto s : {msg, cell, out, row, mrk, clk})
    sqlite3_finalize(s);
  sqlite3_close(db);
  return 0;
}
