#pragma once

#include "protocol/catalog.hpp"
#include "protocol/query.hpp"
#include "protocol/change.hpp"
#include "protocol/exchange.hpp"
#include "protocol/message.hpp"
#include "protocol/schema.hpp"
#include "storage/sqlite.hpp"

#include <caf/expected.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace crdt {

struct selection;

/// What read_store::outbox() found.
struct outbox_page {
  /// Queued messages, oldest first.
  std::vector<message> messages;
  /// The sequence number up to which the page covers the log: once the hub
  /// has these messages, the outbox's mark may move here. 0 when the page
  /// looked at nothing.
  uint64_t through = 0;
  /// Whether the page stopped at a bound: more may be queued past it.
  bool more = false;
};

/// One event of a table's change feed: a record as it is now, after its
/// latest message in the part of the log that was read.
struct change_event {
  /// The log position of that message, and its HLC (the event's id).
  uint64_t seq = 0;
  std::string ts;
  std::string table;
  std::string id;
  /// The record's organization: subscribers see only their own.
  std::string organization;
  /// The record is deleted (`record` is then empty).
  bool deleted = false;
  /// The whole record as a JSON object, as a list renders it.
  std::string record;
};

/// What to read of the change feed.
struct changes_query {
  /// Log positions after `after`, up to and including `through`.
  uint64_t after = 0;
  uint64_t through = 0;
  /// Only records of these tables.
  std::vector<std::string> tables;
  /// Only records of this organization ("" for all: the feed actor's
  /// shared read, filtered per subscriber).
  std::string organization;
  /// Log entries looked at per call, so that a call costs a bounded time.
  size_t scan = 4096;
  /// Stop before a page holds more records than this.
  size_t max_events = 1000;
};

/// A page of the change feed.
struct changes_page {
  /// One event per changed record, in log order.
  std::vector<change_event> events;
  /// The position up to which the log was read (the next page's `after`),
  /// and the HLC of the message there ("" when it is `after` unmoved).
  uint64_t reached = 0;
  std::string reached_ts;
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
    /// Conditions that must all hold (protocol/query.hpp).
    std::vector<filter> where;
    /// Resume after this row (keyset paging) instead of an offset.
    std::optional<list_cursor> after;
  };

  static caf::expected<std::unique_ptr<read_store>>
  open(const std::string& path, catalog_ptr catalog);

  // Every record read takes the caller's organization: records of other
  // organizations read as if they did not exist. An empty organization
  // means no filter, for the service's own look-ups only (a caller's
  // organization always comes from a verified token and is never empty).

  /// The live record as a JSON object, or ec::not_found.
  caf::expected<std::string> get(const std::string& table,
                                 const std::string& id, const std::string& org);

  /// Live records as comma-separated JSON objects, with their count. When
  /// `next` is given and the page is full (as many rows as the limit), it
  /// receives the cursor that resumes after the last row.
  caf::expected<std::pair<size_t, std::string>>
  list(const std::string& table, const list_query& q, const std::string& org,
       std::string* next = nullptr);

  /// What the record is to a caller of `org` (see record_state).
  caf::expected<record_state> state(const std::string& table,
                                    const std::string& id,
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
  caf::expected<std::vector<account>>
  accounts_by_email(const std::string& email);

  /// The live account with this id, or ec::not_found.
  caf::expected<account> account_by_id(const std::string& id);

  /// A page of the outbox: the messages marked outgoing past sequence
  /// number `after`, oldest first, up to `limit` whose JSON takes at most
  /// `max_bytes` (at least one when any is queued). Looks at a bounded
  /// number of log entries per call (`scan`), so that even millions of
  /// received messages past the mark cost a bounded time per call (about
  /// half a second for the default million).
  caf::expected<outbox_page> outbox(uint64_t after, size_t limit,
                                    size_t max_bytes = SIZE_MAX,
                                    size_t scan = 1000000);

  /// The XOR of the trie hashes of the messages marked outgoing with a
  /// sequence number in (`after`, `through`]: the part of this node's root
  /// that the hub has not been sent yet. ec::overloaded when that part of
  /// the log holds more than `limit` messages, received ones included (no
  /// more than `limit` + 1 are read).
  caf::expected<uint32_t> unsent_hash(uint64_t after, uint64_t through,
                                      uint64_t limit);

  /// Messages of `group` (empty: this node's own log) with a timestamp
  /// `>= since`, oldest first, leaving out those authored by node
  /// `exclude` (when not empty). With a `limit`, stops after about that
  /// many, but always at the end of a minute, so that a client that applies
  /// them sees its trie agree up to that minute and asks for the rest.
  caf::expected<std::vector<message>> messages_since(const std::string& group,
                                                     const std::string& since,
                                                     const std::string& exclude,
                                                     size_t limit = 0);

  /// What a page of the bounded sync exchange asks for.
  struct page_query {
    /// "" for this node's own log, else a relayed group.
    std::string group;
    /// Messages of this node id (the caller's own) are left out of the
    /// stream; ranges carry them, for a caller restored from a backup.
    std::string exclude;
    /// Timestamp ranges to read first, each after its `after`.
    std::vector<ts_range> ranges;
    /// The stream: sequence numbers after this one, up to `head`.
    std::optional<uint64_t> after;
    uint64_t head = 0;
    /// The JSON size the page's messages may take (at least one message
    /// is always read, so that a page makes progress).
    size_t max_bytes = 1 << 20;
  };

  /// A page of the bounded sync exchange.
  struct page {
    std::vector<message> messages;
    /// The ranges not finished, each with its new `after`.
    std::vector<ts_range> ranges;
    /// The stream: where the next page starts, whether one is waiting.
    uint64_t next = 0;
    bool more = false;
  };

  /// Reads the ranges, then the stream, in one read transaction, until
  /// the messages would exceed `max_bytes`.
  caf::expected<page> read_page(const page_query& q);

  /// A page of the change feed (see changes_query): reads the log in
  /// position order and renders each record it names once, as it is now.
  caf::expected<changes_page> changes(const changes_query& q);

  /// The log position a feed resumes after, for an event id (an HLC):
  /// the position of that very message when this node stored it, else the
  /// position before the first message stamped later (so nothing later is
  /// missed; some earlier ones may come again), or `live` when there is
  /// none. "0" is the start of the log. ec::bad_request when `since` is
  /// not an HLC; ec::conflict when more than `replay_limit` messages are
  /// stamped later (found after looking at no more than that many).
  caf::expected<uint64_t> feed_position(const std::string& since,
                                        uint64_t live,
                                        uint64_t replay_limit = UINT64_MAX);

  /// The position of the last message of this node's log (0 when empty).
  caf::expected<uint64_t> log_head();

  /// The event id that names log position `seq`: the HLC of the last
  /// message at or before it ("0", the start, when there is none).
  caf::expected<std::string> position_id(uint64_t seq);

  /// One config_sync row `{key, value, type}` (empty key: all of them) as
  /// comma-joined JSON objects, with their count.
  caf::expected<std::pair<size_t, std::string>> config(const std::string& key);

  sql::connection& db() {
    return *db_;
  }

private:
  /// What get() reads a table with, made once per version of the table.
  struct get_plan {
    table_ptr table;
    std::shared_ptr<const selection> columns;
    std::string sql;
  };

  std::unique_ptr<sql::connection> db_;
  /// The tables served now; each call takes the current ones.
  catalog_ptr catalog_;
  std::map<std::string, get_plan, std::less<>> get_plans_;
};

/// Opens the database file with the same pragmas the writer uses and
/// returns the rendered content of every user table, for comparisons in
/// tests and tools: one line per row, tables in name order, rows by id.
caf::expected<std::string> dump_tables(sql::connection& db,
                                       const schema_set& schemas);

} // namespace crdt
