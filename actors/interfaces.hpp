#pragma once

// The message protocol of the whole system: every actor's typed interface.

#include "protocol/atoms.hpp"
#include "protocol/change.hpp"
#include "protocol/http_types.hpp"
#include "protocol/message.hpp"
#include "storage/batch.hpp"
#include "storage/store.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace crdt {

/// A writer's answer for one batch.
struct commit_ack {
  /// Messages new to the log.
  size_t stored = 0;
};

/// A reader's answer to a list query: row count and comma-joined objects.
struct list_result {
  size_t count = 0;
  std::string rows;
};

/// What /health reports of the clock and trie.
struct clock_status {
  std::string node_id;
  std::string last;
  int32_t merkle_hash = 0;
};

/// Owns this node's hybrid logical clock and merkle trie.
using clock_actor = caf::typed_actor<
  // Stamps n local events; answers their timestamps in order.
  caf::replies_to<stamp_atom, uint32_t>::with<std::vector<std::string>>,
  // Merges received timestamps; answers the clock afterwards.
  caf::replies_to<recv_atom, std::vector<std::string>>::with<std::string>,
  // Applies the trie deltas of a commit.
  caf::reacts_to<merkle_atom, merkle_deltas>,
  // Answers the trie as wire JSON.
  caf::replies_to<merkle_atom>::with<std::string>,
  // Answers node id, clock and root hash.
  caf::replies_to<status_atom>::with<clock_status>>;

/// Turns record changes and received messages into write batches.
using applier_actor = caf::typed_actor<
  // Stamps a local change and commits it; answers the first timestamp.
  caf::replies_to<write_atom, record_change>::with<std::string>,
  // Commits received messages; answers how many were new.
  caf::replies_to<apply_atom, std::vector<message>>::with<size_t>>;

/// The only writer of the database: group-commits the batches waiting in
/// its mailbox in one transaction. Runs detached.
using writer_actor = caf::typed_actor<
  // Commits a batch (together with others waiting); answers when durable.
  caf::replies_to<write_atom, write_batch>::with<commit_ack>,
  // Commits everything collected so far (sent to itself).
  caf::reacts_to<flush_atom>>;

/// A read-only connection for GETs. Runs detached; several form a pool.
using reader_actor = caf::typed_actor<
  // One live record as a JSON object (table, id).
  caf::replies_to<get_atom, std::string, std::string>::with<std::string>,
  // Live records of a table.
  caf::replies_to<list_atom, std::string, read_store::list_query>::with<
    list_result>,
  // 0 absent, 1 live, 2 deleted (table, id).
  caf::replies_to<exists_atom, std::string, std::string>::with<int>>;

/// The outbox of messages the hub has not acknowledged yet.
using queue_actor = caf::typed_actor<
  // The writer queued n more messages.
  caf::reacts_to<enqueue_atom, uint64_t>,
  // Answers the number of queued messages.
  caf::replies_to<status_atom>::with<uint64_t>>;

/// One per HTTP connection: routes requests to the actors above and sends
/// the replies back to the connection.
using session_actor = caf::typed_actor<
  // Handles one request; the reply goes to the connection's sink.
  caf::reacts_to<http_request>>;

} // namespace crdt

// These types only travel between actors of one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::commit_ack)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::list_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::clock_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::merkle_deltas)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::record_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::write_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<crdt::message>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::read_store::list_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(crdt::http_request)
