#pragma once

#include "protocol/message.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace crdt {

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
};

/// Per-prefix XOR deltas to the merkle trie, as a commit produced them.
using merkle_deltas = std::vector<std::pair<std::string, uint32_t>>;

/// What a commit changed, for the clock (trie) and the queue (outbox size).
struct commit_summary {
  /// Messages that were new to the log.
  size_t stored = 0;
  /// The same, per batch, in the order the batches were given.
  std::vector<size_t> stored_per_batch;
  /// Messages added to the outbox.
  size_t enqueued = 0;
  /// Trie changes caused by the new messages, one entry per touched key.
  merkle_deltas deltas;
  /// The same for groups this node relays as a hub.
  std::map<std::string, merkle_deltas> group_deltas;
};

} // namespace crdt
