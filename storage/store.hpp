#pragma once

#include "protocol/merkle.hpp"
#include "protocol/schema.hpp"
#include "storage/batch.hpp"
#include "storage/sqlite.hpp"

#include <caf/expected.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace crdt {

/// How the database file is opened.
struct store_options {
  /// Path of the SQLite file; parent folders are created.
  std::string path = "db/sql.sqlite";
  /// PRAGMA synchronous: "FULL" (survives power loss) or "NORMAL"
  /// (survives a process crash; faster).
  std::string synchronous = "FULL";
  /// Page cache of the writer in KiB.
  int cache_kib = 16384;
};

/// The write side of the database: the one connection that changes data.
/// Creates and migrates the schema, then commits batches, each group of
/// batches in one transaction covering log, cells, tables, trie, clock and
/// outbox. Not thread-safe: the writer actor owns it.
class write_store {
public:
  /// Opens (creating if needed) and migrates the database. Refuses a schema
  /// that changes the type of an existing field.
  static caf::expected<std::unique_ptr<write_store>>
  open(const store_options& opts, const schema_set& schemas);

  /// This node's id, created on first start.
  const std::string& node_id() const {
    return node_id_;
  }

  /// The persisted clock (wire timestamp) or empty on a fresh database.
  const std::string& clock() const {
    return clock_;
  }

  /// Loads the persisted merkle trie.
  caf::expected<merkle_trie> load_merkle();

  /// Number of entries in the outbox.
  caf::expected<size_t> outbox_size();

  /// Tries of the groups this node relays as a hub.
  caf::expected<std::map<std::string, merkle_trie>> load_hub_merkles();

  /// Removes entries the hub acknowledged from the outbox; answers how many
  /// were there.
  caf::expected<size_t> ack_outbox(const std::vector<std::string>& stamps);

  /// Every config_sync row as key -> value.
  caf::expected<std::map<std::string, std::string>> load_config();

  /// A local secret of this node (never replicated): the stored one, or
  /// `fallback` stored under `key` on first use.
  caf::expected<std::string> local_secret(const std::string& key,
                                          const std::string& fallback);

  /// Sets a local sync setting (config_sync, never replicated).
  caf::error set_config(const std::string& key, const std::string& value,
                        const std::string& type);

  /// Commits all batches in one transaction.
  caf::expected<commit_summary> commit(const std::vector<const write_batch*>& batches);

  /// Rebuilds the user tables and winning-cell bookkeeping from the message
  /// log, for one table or (when empty) all.
  caf::error rebuild(const std::string& only_table = {});

  /// The connection, for tests and tools.
  sql::connection& db() {
    return *db_;
  }

private:
  /// The columns of a user table that messages can set, in table order.
  struct layout {
    table_ptr schema;
    std::vector<std::string> columns;
    std::map<std::string, size_t, std::less<>> index;
  };

  /// A row with the cells a commit decided to write.
  struct pending_row {
    const layout* table;
    std::string id;
    std::vector<std::optional<value>> cells;
  };

  caf::error migrate(const schema_set& schemas,
                     std::vector<std::string>& replay);
  caf::error apply_lww(const message& m);
  caf::error flush_rows();

  std::unique_ptr<sql::connection> db_;
  std::map<std::string, layout, std::less<>> tables_;
  std::string node_id_;
  std::string clock_;
  std::vector<pending_row> pending_;
  std::map<std::pair<std::string, std::string>, size_t> pending_index_;
};

/// A read-only connection that renders records as JSON in their schema
/// types. One per reader actor.
class read_store {
public:
  /// What to list: plucked fields, paging and order, all pre-validated.
  struct list_query {
    std::vector<std::string> pluck;
    std::optional<int64_t> limit;
    int64_t offset = 0;
    std::string order;
    bool descending = false;
  };

  static caf::expected<std::unique_ptr<read_store>>
  open(const std::string& path, const schema_set& schemas);

  // Every record read takes the caller's organization: records of other
  // organizations read as if they did not exist. An empty organization
  // means no filter, for the service's own look-ups only (a caller's
  // organization always comes from a verified token and is never empty).

  /// The live record as a JSON object, or ec::not_found.
  caf::expected<std::string> get(const std::string& table,
                                 const std::string& id,
                                 const std::string& org);

  /// Live records as comma-separated JSON objects, with their count.
  caf::expected<std::pair<size_t, std::string>>
  list(const std::string& table, const list_query& q, const std::string& org);

  /// Whether a record exists at all: 0 absent, 1 live, 2 deleted, 3 held
  /// by another organization (live or not).
  caf::expected<int> state(const std::string& table, const std::string& id,
                           const std::string& org);

  /// An account as the login needs it.
  struct account {
    std::string id;
    std::string organization_id;
    std::string email;
    std::string role;
    std::string password_hash;
  };

  /// Live accounts with this (normalized) email, oldest first. Normally
  /// one; replicas that created the same email concurrently may hold more.
  caf::expected<std::vector<account>> accounts_by_email(const std::string& email);

  /// The live account with this id, or ec::not_found.
  caf::expected<account> account_by_id(const std::string& id);

  /// Up to `limit` queued messages, oldest first.
  caf::expected<std::vector<message>> outbox(size_t limit);

  /// Messages of `group` (empty: this node's own log) with a timestamp
  /// `>= since`, oldest first, leaving out those authored by node
  /// `exclude` (when not empty). With a `limit`, stops after about that
  /// many, but always at the end of a minute, so that a client that applies
  /// them sees its trie agree up to that minute and asks for the rest.
  caf::expected<std::vector<message>>
  messages_since(const std::string& group, const std::string& since,
                 const std::string& exclude, size_t limit = 0);

  /// One config_sync row `{key, value, type}` (empty key: all of them) as
  /// comma-joined JSON objects, with their count.
  caf::expected<std::pair<size_t, std::string>>
  config(const std::string& key);

  sql::connection& db() {
    return *db_;
  }

private:
  std::unique_ptr<sql::connection> db_;
  schema_set schemas_;
};

/// Opens the database file with the same pragmas the writer uses and
/// returns the rendered content of every user table, for comparisons in
/// tests and tools: one line per row, tables in name order, rows by id.
caf::expected<std::string> dump_tables(sql::connection& db,
                                       const schema_set& schemas);

} // namespace crdt
