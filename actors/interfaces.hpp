#pragma once

// The message protocol of the whole system: every actor's typed interface.

#include "auth/credentials.hpp"
#include "protocol/atoms.hpp"
#include "protocol/change.hpp"
#include "protocol/exchange.hpp"
#include "protocol/http_types.hpp"
#include "protocol/merkle.hpp"
#include "protocol/message.hpp"
#include "storage/batch.hpp"
#include "storage/read_store.hpp"
#include "storage/write_store.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace crdt {

/// A writer's answer for one batch.
struct commit_ack {
  /// Messages new to the log.
  size_t stored = 0;
  /// Of those, how many went to the outbox.
  size_t enqueued = 0;
};

/// A reader's answer to a list query: row count and comma-joined objects.
struct list_result {
  size_t count = 0;
  std::string rows;
  /// The cursor of the next page, when this one was full.
  std::string next;
};

/// What /health reports of the clock and trie.
struct clock_status {
  std::string node_id;
  std::string last;
  int32_t merkle_hash = 0;
  /// Groups this node relays as a hub from its own file (a trie each).
  uint64_t relayed_groups = 0;
};

/// What /health reports of the writer: whether the disk is full (writes
/// refused with 507 since `since`, an ISO time) and how many commits failed
/// that way in the current episode.
struct storage_status {
  bool disk_full = false;
  std::string since;
  uint64_t refused = 0;
  /// Messages held in the logs (own and relayed groups), for /metrics.
  uint64_t log_messages = 0;
};

/// The writer's storage_status as of its last commit, published for /health
/// and /metrics: they read it at once instead of waiting behind a commit in
/// progress (a page of a large sync can take a few hundred milliseconds).
class storage_gauge {
public:
  void publish(storage_status s) {
    std::lock_guard<std::mutex> guard{mtx_};
    status_ = std::move(s);
  }

  storage_status read() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return status_;
  }

private:
  mutable std::mutex mtx_;
  storage_status status_;
};

/// A group's root hash and the sequence number of its last stored
/// message, taken at the same moment.
struct stream_head {
  uint32_t root = 0;
  uint64_t head = 0;
};

/// What /health reports of the last sync round.
struct sync_status {
  /// Whether sync is enabled and has an endpoint.
  bool enabled = false;
  /// When the last round ended (ISO-8601), empty before the first.
  std::string at;
  /// Whether it succeeded.
  bool ok = false;
  /// Why it failed, if it did.
  std::string error;
  /// The hub's protocol: "exchange" (bounded), "legacy" (crdt-example-app
  /// format) or "" before the first answer.
  std::string protocol;
  /// Calls the round made, the bytes it sent and received (bodies), and
  /// the messages it received.
  uint64_t calls = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t messages_received = 0;
};

/// A successful login: the bearer token and what it says.
struct login_grant {
  std::string token;
  token_claims claims;
};

/// An account to prepare for creation.
struct account_request {
  std::string email;
  std::string password;
  std::string role;
  /// `organization_id`: the organization the account joins;
  /// `account_id`: the account creating it.
  principal by;
  /// The new account's id; empty for a fresh ULID.
  std::string id;
};

/// The default organization and its first admin, ensured at start-up.
struct bootstrap_request {
  std::string organization_id;
  std::string organization_name;
  std::string admin_email;
  /// Empty: generate one, unless `from_group`.
  std::string admin_password;
  /// This node syncs with a group: without a configured password, the
  /// admin is expected to arrive from the group (whose first node created
  /// it) rather than be created here with a password of its own.
  bool from_group = false;
};

/// What start-up had to create.
struct bootstrap_result {
  bool created_organization = false;
  bool created_account = false;
  std::string account_id;
  /// The generated password, when one was generated (printed once).
  std::string generated_password;
  /// No admin was created because it is expected from the group.
  bool deferred = false;
};

/// Messages that arrive from elsewhere (a sync answer, a /sync call, the
/// founding of the default organization), to be committed as they are.
struct incoming {
  /// "" for this node's own group: the timestamps are merged into the
  /// clock first, and the messages reach the tables. Otherwise a group
  /// this node only relays.
  std::string group;
  std::vector<message> messages;
  /// Whether the new ones go to the outbox, to reach the hub.
  bool enqueue = false;
  /// When not empty, the sync cursor stored in the same transaction.
  std::string cursor;
  /// The crdt_local key `cursor` goes to (sync_cursor_key when empty).
  std::string local_key;
};

/// A trie handed between actors without copying it.
using trie_ptr = std::shared_ptr<const merkle_trie>;

/// Owns this node's hybrid logical clock and the merkle tries: its own
/// group's and those of the groups it relays as a hub.
using clock_actor = caf::typed_actor<
    // Stamps n local events; answers their timestamps in order.
    caf::replies_to<stamp_atom, uint32_t>::with<std::vector<std::string>>,
    // Merges received timestamps; answers the clock afterwards.
    caf::replies_to<recv_atom, std::vector<std::string>>::with<std::string>,
    // Applies the trie deltas of a commit to a group ("" = own group) and
    // the sequence number of its last stored message.
    caf::reacts_to<merkle_atom, std::string, merkle_deltas, uint64_t>,
    // Answers a group's root hash and stream head.
    caf::replies_to<head_atom, std::string>::with<stream_head>,
    // Answers the children of the named nodes whose hashes differ from the
    // group's trie.
    caf::replies_to<compare_atom, std::string, node_hashes>::with<
        std::vector<node_children>>,
    // Decides, from a hub's children of compared nodes, where the own trie
    // differs: nodes to compare next and subtrees to exchange whole.
    caf::replies_to<descend_atom, std::vector<node_children>>::with<descent>,
    // Answers the own trie as wire JSON.
    caf::replies_to<merkle_atom>::with<std::string>,
    // Compares a trie with a group's: the start of the earliest minute where
    // they differ (-1 when equal) and the group's trie as wire JSON.
    caf::replies_to<diff_atom, std::string, trie_ptr>::with<int64_t,
                                                            std::string>,
    // Answers node id, clock and root hash.
    caf::replies_to<status_atom>::with<clock_status>>;

/// Turns record changes and received messages into write batches, and
/// counts the batches the writer has not answered yet: local writes beyond
/// a bound are refused (ec::overloaded).
using applier_actor = caf::typed_actor<
    // Stamps changes and commits them in one transaction, each only if its
    // precondition holds at commit time; answers the first timestamp.
    caf::replies_to<write_atom, std::vector<record_change>>::with<std::string>,
    // Commits received messages (see incoming); answers how many were new.
    caf::replies_to<apply_atom, incoming>::with<size_t>,
    // Stamps table definitions made here (messages of the schema dataset,
    // timestamps empty) and commits them unless one contradicts a committed
    // definition (ec::conflict); answers the first timestamp once the
    // tables are served.
    caf::replies_to<define_atom, std::vector<message>>::with<std::string>,
    // Answers the local writes older than their deadline (sent to itself
    // once a second while any is waiting).
    caf::reacts_to<tick_atom>>;

/// The only writer of the database: group-commits the batches waiting in
/// its mailbox in one transaction. Runs detached.
using writer_actor = caf::typed_actor<
    // Commits a batch (together with others waiting); answers when durable.
    caf::replies_to<write_atom, write_batch>::with<commit_ack>,
    // Commits everything collected so far (sent to itself).
    caf::reacts_to<flush_atom>,
    // Moves the outbox's acknowledged mark to this sequence number.
    caf::replies_to<ack_atom, uint64_t>::with<uint64_t>,
    // Sets a config_sync row (key, value, type).
    caf::replies_to<config_atom, std::string, std::string,
                    std::string>::with<bool>>;

/// A read-only connection for GETs. Runs detached; several form a pool.
/// Record reads carry the caller's organization last: records of other
/// organizations read as absent.
using reader_actor = caf::typed_actor<
    // One live record as a JSON object (table, id, organization).
    caf::replies_to<get_atom, std::string, std::string,
                    std::string>::with<std::string>,
    // Live records of a table (table, query, organization).
    caf::replies_to<list_atom, std::string, read_store::list_query,
                    std::string>::with<list_result>,
    // What a record is to a caller (table, id, organization).
    caf::replies_to<exists_atom, std::string, std::string,
                    std::string>::with<record_state>,
    // Up to n queued messages, oldest first.
    // A page of at most n queued messages past a sequence number, oldest
    // first (after, n, max bytes).
    caf::replies_to<outbox_atom, uint64_t, uint32_t,
                    uint64_t>::with<outbox_page>,
    // The XOR of the trie hashes of the queued messages with a sequence
    // number in (after, through], refused past a limit of log entries
    // (after, through, limit).
    caf::replies_to<unsent_atom, uint64_t, uint64_t, uint64_t>::with<uint32_t>,
    // Messages of a group ("" = own) from a timestamp on, leaving out those
    // of one author, about `limit` at most (0: all), ending at a minute's end
    // (group, since, excluded node, limit).
    caf::replies_to<since_atom, std::string, std::string, std::string,
                    uint32_t>::with<std::vector<message>>,
    // config_sync rows: all (empty key) or one.
    caf::replies_to<config_atom, std::string>::with<list_result>,
    // A page of the bounded sync exchange: ranges, then the stream.
    caf::replies_to<page_atom, read_store::page_query>::with<
        read_store::page>,
    // A page of the change feed.
    caf::replies_to<feed_atom, changes_query>::with<changes_page>,
    // Where a feed starts: the log position after an event id ("0": the
    // start; "": the given live position), and the id that names it
    // (since, live position, replay limit).
    caf::replies_to<feed_atom, std::string, uint64_t, uint64_t>::with<
        uint64_t, std::string>>;

/// The outbox of messages the hub has not acknowledged yet.
using queue_actor = caf::typed_actor<
    // n more messages were queued.
    caf::reacts_to<enqueue_atom, uint64_t>,
    // Answers the number of queued messages.
    caf::replies_to<status_atom>::with<uint64_t>,
    // Answers up to n queued messages, oldest first.
    caf::replies_to<outbox_atom, uint32_t, uint64_t>::with<outbox_page>,
    // The XOR of the trie hashes of the queued messages up to a sequence
    // number: what the node's root holds that the hub has not been sent
    // (through, limit).
    caf::replies_to<unsent_atom, uint64_t, uint64_t>::with<uint32_t>,
    // The hub has a page: its messages leave the outbox; answers how many
    // remain queued.
    caf::replies_to<ack_atom, outbox_ack>::with<uint64_t>>;

/// The sync client: owns the timer, drains the outbox to the hub and
/// reconciles the tries recursively.
using sync_actor = caf::typed_actor<
    // The timer fired (its generation; stale ones are ignored).
    caf::reacts_to<tick_atom, uint64_t>,
    // Starts a round now unless one is running; the first one also starts
    // the timer (sent once start-up is complete).
    caf::reacts_to<sync_atom>,
    // The hub answered call `id`: the body, or the error (none when the
    // body came).
    caf::reacts_to<reply_atom, uint64_t, caf::error, std::string>,
    // A config_sync setting changed (key, value).
    caf::reacts_to<config_atom, std::string, std::string>,
    // Answers the outcome of the last round.
    caf::replies_to<status_atom>::with<sync_status>>;

/// Accounts and logins. Runs detached: password hashing is slow on
/// purpose and must not hold a scheduler thread.
using auth_actor = caf::typed_actor<
    // Checks email and password (and the throttles) for a client address;
    // issues a token (email, password, address).
    // ec::unauthorized for a wrong email or password, ec::throttled after
    // too many; ec::overloaded when too many requests wait for the actor.
    caf::replies_to<login_atom, std::string, std::string,
                    std::string>::with<login_grant>,
    // Checks that the email is free, hashes the password and answers the
    // change that creates the account (ec::conflict when taken).
    caf::replies_to<account_atom, account_request>::with<record_change>,
    // Checks an account's current password (throttled like a login) and
    // answers the change that sets a new one (account, current, new,
    // client address).
    caf::replies_to<password_atom, principal, std::string, std::string,
                    std::string>::with<record_change>,
    // Creates the default organization and its admin when missing.
    caf::replies_to<bootstrap_atom, bootstrap_request>::with<bootstrap_result>>;

/// Serves POST /sync for other nodes.
using hub_actor = caf::typed_actor<
    // Handles one request body; answers the wire body of the answer
    // (ec::bad_request for a malformed or refused batch, ec::storage_failure
    // when the hub itself failed).
    caf::replies_to<sync_atom, std::string>::with<std::string>>;

/// What the hub's relays last saw of their PostgreSQL databases
/// (HUB_DATABASE_URL), for /health: written by the relays, read without
/// asking them (a relay may be busy with a query for seconds).
class hub_database_health {
public:
  struct entry {
    /// The database, its password hidden.
    std::string database;
    /// Whether the last call of a relay of this database reached it.
    bool ok = true;
    /// Why not, while it lasts.
    std::string error;
  };

  explicit hub_database_health(std::vector<std::string> databases) {
    for (auto& d : databases)
      entries_.push_back({std::move(d), true, {}});
  }

  /// A relay of database `i` reached it, or failed to (`error`).
  void record(size_t i, bool ok, std::string error = {}) {
    std::lock_guard<std::mutex> guard{mtx_};
    entries_[i].ok = ok;
    entries_[i].error = std::move(error);
  }

  std::vector<entry> snapshot() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return entries_;
  }

  /// The number of databases.
  size_t size() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return entries_.size();
  }

private:
  mutable std::mutex mtx_;
  std::vector<entry> entries_;
};

/// Serves the /sync calls of relayed groups from PostgreSQL, one
/// connection per relay actor (a bounded pool; a group's database is
/// chosen by hub_placement). Runs detached: libpq blocks. A lost connection
/// answers ec::unavailable (503) and is opened again on the next call.
/// Every call carries its deadline (steady clock, ns since its epoch): one
/// that waited in the mailbox past it answers ec::timeout unrun, since its
/// caller has given up already.
using relay_actor = caf::typed_actor<
    // A protocol-2 call of a group: stores its messages and answers the
    // wire body (deadline, group, call, page bytes).
    caf::replies_to<relay_atom, int64_t, std::string, exchange_request,
                    uint64_t>::with<std::string>,
    // A crdt-example-app call of a group (deadline, group, client id,
    // messages, client's trie, answer limit).
    caf::replies_to<relay_atom, int64_t, std::string, std::string,
                    std::vector<message>, trie_ptr,
                    uint32_t>::with<std::string>>;

/// Changes of one table, read once by the feed for all its subscribers
/// (each keeps those of its own organization).
struct feed_batch {
  std::string table;
  std::vector<change_event> events;
  /// The feed could not read the log: its subscribers must resume.
  bool failed = false;
  /// Each event as an SSE event of the whole record, made once by the
  /// first session that needs it and shared by all (http/feed.hpp).
  mutable std::once_flag rendered_once;
  mutable std::vector<std::string> rendered;
};

using feed_batch_ptr = std::shared_ptr<const feed_batch>;

/// One per HTTP connection: routes requests to the actors above and sends
/// the replies back to the connection.
using session_actor = caf::typed_actor<
    // Handles one request; the reply goes to the connection's sink.
    caf::reacts_to<http_request>,
    // Changes of the table the connection watches (from the feed).
    caf::reacts_to<feed_atom, feed_batch_ptr>,
    // The connection wrote out everything its stream had queued.
    caf::reacts_to<drained_atom>,
    // A watch's timer fired (its generation): heartbeat or long-poll end.
    caf::reacts_to<heartbeat_atom, uint64_t>,
    // The client stopped sending (closed or half-closed its connection).
    caf::reacts_to<leave_atom>>;

/// The live change feed: told by the writer what each commit stored, it
/// reads the new changes once per burst of commits (only for tables that
/// have subscribers) and hands them to the subscribed sessions. Runs
/// detached: it reads SQLite.
using feed_actor = caf::typed_actor<
    // A commit stored messages of the own log up to this position,
    // touching these tables.
    caf::reacts_to<changed_atom, uint64_t, std::vector<std::string>>,
    // Reads what was committed since the last read (sent to itself).
    caf::reacts_to<flush_atom>,
    // Subscribes a session to a table; answers the position after which
    // its live changes start (ec::overloaded at the subscriber limit).
    caf::replies_to<subscribe_atom, std::string, session_actor>::with<
        uint64_t>,
    // Ends a session's subscription.
    caf::reacts_to<leave_atom, session_actor>,
    // Answers the number of subscribers.
    caf::replies_to<status_atom>::with<uint64_t>>;

} // namespace crdt

// These types only travel between actors of one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::commit_ack)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::outbox_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::outbox_ack)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::list_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::clock_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::merkle_deltas)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::record_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<crdt::record_change>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::login_grant)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::record_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::principal)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::account_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::bootstrap_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::bootstrap_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::write_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<crdt::message>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::read_store::list_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::http_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::sync_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::trie_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::stream_head)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::incoming)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::descent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<crdt::node_children>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::read_store::page_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::read_store::page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::changes_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::changes_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::feed_batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::exchange_request)
