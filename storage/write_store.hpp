#pragma once

#include "protocol/catalog.hpp"
#include "protocol/merkle.hpp"
#include "protocol/schema.hpp"
#include "protocol/stamps.hpp"
#include "storage/batch.hpp"
#include "storage/checkpointer.hpp"
#include "storage/sqlite.hpp"

#include <caf/expected.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
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
  /// Checkpoints run on a thread of their own (storage/checkpointer.hpp)
  /// instead of inside the commit that fills the log.
  bool background_checkpoint = true;
};

/// The write side of the database: the one connection that changes data.
/// Creates and migrates the schema, then commits batches, each group of
/// batches in one transaction covering log, cells, tables, trie, clock and
/// outbox. Not thread-safe: the writer actor owns it.
class write_store {
public:
  /// Opens (creating if needed) and migrates the database. `schemas` are
  /// the tables of the schema folder and the built-in ones (crdt_*): the
  /// folder's definitions the database does not hold yet are committed as
  /// messages of the schema dataset (see schema_defs.hpp), which reach the
  /// hub like any local write; one that contradicts a committed definition
  /// (another type, or other constraints) is refused with
  /// ec::schema_conflict. The tables served are then those of every
  /// committed definition, the group's included, published to `catalog`
  /// (a fresh one when null). `define` = false commits nothing and serves
  /// the folder's tables as they are, beside the committed ones: for
  /// offline tools that must not write, and for tests of other layers.
  static caf::expected<std::unique_ptr<write_store>>
  open(const store_options& opts, const schema_set& schemas,
       catalog_ptr catalog = nullptr, bool define = true);

  ~write_store();

  /// The tables this store serves, updated by every commit that changes a
  /// definition.
  const catalog_ptr& catalog() const {
    return catalog_;
  }

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

  /// Number of messages in the outbox: those marked outgoing past the
  /// acknowledged sequence number.
  caf::expected<size_t> outbox_size();

  /// Messages stored in the logs so far, own and relayed groups (each
  /// took one sequence number).
  uint64_t stored_messages() const {
    return next_seq_ - 1;
  }

  /// The sequence number up to which the hub acknowledged the outbox.
  caf::expected<uint64_t> outbox_acked();

  /// Tries of the groups this node relays as a hub.
  caf::expected<std::map<std::string, merkle_trie>> load_hub_merkles();

  /// The sequence number of the last message stored per group ("" for
  /// this node's own), 0 for none.
  caf::expected<std::map<std::string, uint64_t>> load_heads();

  /// Moves the outbox's acknowledged sequence number forward to `through`
  /// (never back).
  caf::error ack_outbox(uint64_t through);

  /// Every config_sync row as key -> value.
  caf::expected<std::map<std::string, std::string>> load_config();

  /// A local secret of this node (never replicated): the stored one, or
  /// `fallback` stored under `key` on first use.
  caf::expected<std::string> local_secret(const std::string& key,
                                          const std::string& fallback);

  /// A local value of this node (crdt_local), "" when there is none.
  caf::expected<std::string> local_value(const std::string& key);

  /// Sets a local sync setting (config_sync, never replicated).
  caf::error set_config(const std::string& key, const std::string& value,
                        const std::string& type);

  /// Commits all batches in one transaction; a batch whose checks fail
  /// stores nothing (see write_batch::checks and commit_summary::refused).
  caf::expected<commit_summary>
  commit(const std::vector<const write_batch*>& batches);

  /// Work a commit leaves for after its answers: the writer's own WAL
  /// checkpoint when the log has grown past its bound (storage/checkpointer).
  /// The writer calls it once it has answered a commit's batches.
  void after_commit();

  /// Rebuilds the user tables and winning-cell bookkeeping from the message
  /// log, for one table or (when empty) all.
  caf::error rebuild(const std::string& only_table = {});

  /// Checks the database: SQLite's integrity check, and every persisted
  /// merkle trie (the own group's and each relayed group's) against one
  /// rebuilt from its message log. Answers a one-line summary; an error
  /// names the first problem found.
  caf::expected<std::string> check();

  /// The connection, for tests and tools.
  sql::connection& db() {
    return *db_;
  }

  /// The background checkpointer, null when store_options turned it off.
  const checkpointer* background_checkpoints() const {
    return checkpointer_.get();
  }

private:
  /// The columns of a user table that messages can set, in table order.
  struct layout {
    table_ptr schema;
    std::vector<std::string> columns;
    std::map<std::string, size_t, std::less<>> index;
  };

  /// What a commit knows of one record it touched: the winning timestamps
  /// of its fields (read once per commit), whether they changed, and the
  /// cells it decided to write. Keyed by record_key() (write_store.cpp).
  struct touched_record {
    record_stamps stamps;
    /// The stamps changed: written back by flush_rows().
    bool dirty = false;
    /// The table, once a cell of the record is to be written.
    const layout* table = nullptr;
    std::vector<std::optional<value>> cells;
  };
  using touched_map = std::unordered_map<std::string, touched_record>;

  /// Creates and alters the tables of `schemas` and serves them. A table
  /// that gained a column, or was made anew, gets a replay mark (see
  /// replay_key) in the same transaction.
  caf::error migrate(const schema_set& schemas);
  /// Rebuilds every table with a replay mark from the log, clearing each
  /// mark in the rebuild's transaction: a crash in between replays again.
  caf::error replay_marked();
  caf::error unmark_replay(const std::string& table);
  /// Checks the schema folder's tables against the committed definitions
  /// (and the types recorded before definitions replicated), then commits
  /// the definitions that are new.
  caf::error define_files(const schema_set& schemas, bool define);
  /// Applies a received or local definition message: the smallest
  /// timestamp of a (table, field) wins; a differing one is remembered as
  /// a conflict. Sets schema_changed_ when the winners or conflicts moved.
  caf::error apply_definition(const message& m);
  /// Refuses (ec::conflict) a local definition batch that contradicts a
  /// committed definition.
  caf::error check_definitions(const write_batch& b, caf::error& refusal);
  /// The committed winners and the conflicts still standing.
  caf::expected<def_map> load_definitions();
  caf::expected<std::vector<schema_conflict>>
  load_conflicts(const def_map& winners);
  /// Re-reads the definitions, creates or alters the tables they describe,
  /// replays the log into tables and fields that are new, and publishes
  /// the result to the catalog.
  caf::error refresh_schema();
  /// Evaluates the checks of a batch against the rows as this transaction
  /// sees them; a check that fails sets `refusal`. Errors are SQLite's.
  caf::error evaluate(const write_batch& b, caf::error& refusal);
  caf::error load_seq();
  caf::error put_local(const std::string& key, const std::string& value);
  /// Applies a message of this node's group: a definition, or a field.
  caf::error apply(const message& m);
  caf::error apply_lww(const message& m);
  /// The commit's entry of a record, with the winning timestamps of its
  /// fields read once per commit.
  caf::expected<touched_map::value_type*> touch(const std::string& dataset,
                                                const std::string& row);
  caf::error flush_rows();

  std::unique_ptr<sql::connection> db_;
  /// After db_: stopped before the connection closes.
  std::unique_ptr<checkpointer> checkpointer_;
  std::map<std::string, layout, std::less<>> tables_;
  /// Tables served without definitions: the service's own (accounts,
  /// organizations), and with open(define = false) the folder's.
  schema_set builtin_;
  catalog_ptr catalog_;
  /// A commit changed a definition: refresh_schema() runs after it.
  bool schema_changed_ = false;
  /// Conflicts already logged, so that each is logged once.
  std::set<std::string> logged_conflicts_;
  std::string node_id_;
  std::string clock_;
  /// The sequence number the next stored message gets.
  uint64_t next_seq_ = 1;
  /// The records this commit touched (cleared by flush_rows()); the
  /// elements' addresses are stable, so the lists below point into it.
  touched_map touched_;
  /// Records whose stamps changed, and records with cells to write, each
  /// in the order first touched.
  std::vector<touched_map::value_type*> dirty_;
  std::vector<touched_map::value_type*> rows_;
  /// The upsert SQL of a table for one set of written columns, by table
  /// name + '\0' + a '0'/'1' mask of the columns (a table name holds no
  /// NUL: it is a served table's). Emptied when it reaches its capacity.
  std::unordered_map<std::string, std::string> upsert_sql_;
  static constexpr size_t upsert_sql_capacity = 256;
  /// Forgets what the last commit touched.
  void forget_touched();
};

} // namespace crdt
