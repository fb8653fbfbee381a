#pragma once

#include "protocol/change.hpp"
#include "protocol/message.hpp"

#include <caf/error.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace crdt {

/// A condition on one record that must hold when a batch commits.
struct write_check {
  std::string table;
  std::string id;
  /// The caller's organization (for precondition::live).
  std::string organization_id;
  precondition must_be = precondition::none;
};

/// The crdt_local key of the sync client's stream cursor.
constexpr const char* sync_cursor_key = "sync_cursor";

/// The crdt_local key naming the endpoint whose hub answered in the
/// crdt-example-app format ("none" once a hint proved wrong).
constexpr const char* sync_legacy_hub_key = "sync_legacy_hub";

/// Stamped messages to commit in one go, as the applier hands them to the
/// writer. Local writes also go to the outbox; received ones do not.
struct write_batch {
  /// The messages, each with a unique timestamp.
  std::vector<message> messages;
  /// Whether new messages are queued for the hub.
  bool enqueue = false;
  /// Empty for this node's own group (log, tables, trie); otherwise a group
  /// this node only stores and relays as a hub.
  std::string group;
  /// The clock's timestamp after stamping or receiving these messages; the
  /// writer persists the greatest it has seen.
  std::string clock;
  /// Checked inside the transaction, before any message of the batch is
  /// stored: when one fails, the batch stores nothing and fails with
  /// ec::not_found or ec::conflict (its neighbours still commit).
  std::vector<write_check> checks;
  /// When not empty, a local value (crdt_local, never replicated) written
  /// in the same transaction: a sync cursor that must advance exactly when
  /// the messages it covers are stored.
  std::string local_key;
  std::string local_value;
  /// Local table definitions (POST /schema, the schema folder): refused
  /// with ec::conflict when one contradicts a committed definition.
  bool define = false;
};

/// What the hub acknowledged of an outbox page (see outbox_page): the
/// outbox's mark may move to `through`, and `count` queued messages left.
struct outbox_ack {
  uint64_t through = 0;
  uint64_t count = 0;
  /// Nothing to acknowledge: the page looked at no log entry.
  bool empty() const {
    return through == 0;
  }
};

/// Per-prefix XOR deltas to the merkle trie, as a commit produced them.
using merkle_deltas = std::vector<std::pair<std::string, uint32_t>>;

/// What a commit changed, for the clock (trie) and the queue (outbox size).
struct commit_summary {
  /// Messages that were new to the log.
  size_t stored = 0;
  /// The same, per batch, in the order the batches were given.
  std::vector<size_t> stored_per_batch;
  /// Per batch: why it was refused (a failed check), or none.
  std::vector<caf::error> refused;
  /// Messages added to the outbox.
  size_t enqueued = 0;
  /// Trie changes caused by the new messages, one entry per touched key.
  merkle_deltas deltas;
  /// The same for groups this node relays as a hub.
  std::map<std::string, merkle_deltas> group_deltas;
  /// Per group ("" for this node's own) with new messages: the sequence
  /// number of the last one stored.
  std::map<std::string, uint64_t> heads;
};

} // namespace crdt
