#pragma once

// The hub's store of relayed groups on PostgreSQL (HUB_DATABASE_URL): every
// group's message log, stream head and merkle trie, shared by any number of
// hub processes. See docs/sync.md, "A hub on PostgreSQL".
//
// Tables (created and upgraded at connect, under an advisory lock):
//   crdt_hub_groups   (group_id, stream_id, head, messages)
//   crdt_hub_messages (group_id, ts, dataset, row_id, col, value, seq)
//   crdt_hub_trie     (group_id, key, hash)
//   crdt_hub_placement (position, databases): this database's place in
//                     HUB_DATABASE_URL, checked by every process
//
// Commit order is stream order: a batch takes its group's row lock
// (SELECT ... FOR UPDATE) before numbering its new messages head+1, head+2,
// ... and holds it until it commits, so the batches of one group commit one
// after the other, in the order of their numbers. A reader's snapshot
// therefore holds every message up to the head it reads and nothing beyond:
// a message stamped early but committed late gets a number above every
// message committed before it, and every node pulling the stream past its
// cursor receives it.

#include "protocol/exchange.hpp"
#include "protocol/merkle.hpp"
#include "protocol/message.hpp"
#include "protocol/sync.hpp"
#include "storage/pg.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace crdt {

/// The schema version this binary creates and expects.
constexpr int hub_schema_version = 2;

/// Which of `n` databases holds `group`: a stable hash of its id, the same
/// in every process and release.
size_t hub_placement(const std::string& group, size_t n);

/// A message value as stored in a bytea column: a type byte ('n' null,
/// 'i' integer, 'r' real, 's' string) and the payload (8 big-endian bytes
/// for numbers, the bytes of a string).
std::string encode_value(const value& v);

/// The inverse of encode_value; ec::storage_failure for bytes it never
/// writes.
caf::expected<value> decode_value(std::string_view bytes);

/// One connection's view of the relayed groups on PostgreSQL.
class pg_hub_store {
public:
  /// Connects and brings the schema to hub_schema_version (ec::unavailable
  /// when the server cannot be reached; ec::storage_failure when its schema
  /// is newer than this binary knows). The database is number `position`
  /// of `databases` in HUB_DATABASE_URL: the first process to use it records
  /// that, and a process configured otherwise is refused
  /// (ec::storage_failure), since it would place groups elsewhere.
  static caf::expected<std::unique_ptr<pg_hub_store>>
  open(const std::string& conninfo, int64_t statement_timeout_ms,
       size_t position = 0, size_t databases = 1);

  /// Whether the connection still works (false: open a new one).
  bool ok() const {
    return db_->ok();
  }

  /// Stores a group's messages; answers how many were new.
  caf::expected<size_t> store(const std::string& group,
                              const std::vector<message>& msgs);

  /// Serves a protocol-2 call: stores its messages, then answers the root
  /// and head, the children of compared nodes that differ and a page of
  /// the ranges and the stream, all from one snapshot. `page_bytes` caps
  /// the JSON size of the answer's messages.
  caf::expected<exchange_answer> exchange(const std::string& group,
                                          const exchange_request& req,
                                          size_t page_bytes);

  /// Serves a crdt-example-app call: stores its messages, then answers the
  /// group's messages from the first minute where the tries differ (about
  /// `limit`, ending at a minute's end) and the group's trie, as wire JSON.
  caf::expected<std::string> legacy(const std::string& group,
                                    const std::string& client_id,
                                    const std::vector<message>& msgs,
                                    const merkle_trie& theirs, uint32_t limit);

  /// Called inside store()'s transaction once the group is locked and the
  /// messages inserted, before the commit (tests hold commits open here).
  std::function<void()> before_commit;

private:
  explicit pg_hub_store(std::unique_ptr<pg::connection> db)
      : db_(std::move(db)) {
    // nop
  }
  caf::error migrate();
  caf::error check_placement(size_t position, size_t databases);

  std::unique_ptr<pg::connection> db_;
};

} // namespace crdt
