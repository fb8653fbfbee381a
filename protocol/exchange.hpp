#pragma once

// The bounded exchange between crdt-store nodes (protocol 2 of POST /sync).
// Each call carries at most a few hundred kilobytes whatever the history:
//
// - a stream: the hub numbers the messages it stores (`seq`); a node pulls
//   those after its cursor, a page at a time, and pushes its outbox;
// - a comparison: a node names trie nodes with its hashes, the hub answers
//   the children of those that differ, so both descend only where they
//   differ, a level per call;
// - ranges: a subtree or minute that differs is exchanged whole, in pages
//   that resume after the last timestamp sent (finer than a minute).
//
// The hub tells protocol 2 from the crdt-example-app format by the
// `protocol` member; an answer without it comes from a hub that speaks only
// that format. See docs/sync.md for a worked example.

#include "protocol/merkle.hpp"
#include "protocol/message.hpp"
#include "protocol/sync.hpp"

#include <caf/expected.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace crdt {

/// The protocol number this version speaks.
constexpr int exchange_protocol = 2;

/// The timestamps strictly between two bounds, compared as strings.
struct ts_range {
  std::string after;
  std::string before;

  friend bool operator==(const ts_range& x, const ts_range& y) {
    return x.after == y.after && x.before == y.before;
  }
};

/// Every timestamp under trie key `prefix` (a minute, or a subtree of
/// minutes): from the start of its first minute to the end of its last.
ts_range range_of_prefix(std::string_view prefix);

/// Trie nodes and their hashes, as a node names them for comparison.
using node_hashes = std::vector<std::pair<std::string, uint32_t>>;

/// The hub's children of a compared node whose hash differs: the hashes of
/// "0", "1" and "2", none where it has no such child.
struct node_children {
  std::string key;
  std::array<std::optional<uint32_t>, 3> children;
};

/// The hub's side of a comparison: the children of every named node whose
/// hash differs from the node at that key in `trie` (a missing node has
/// hash 0 and no children).
std::vector<node_children> compare_nodes(const merkle_trie& trie,
                                         const node_hashes& theirs);

/// The node's side: what the hub's answer leaves to do.
struct descent {
  /// Nodes to compare next, with this node's hashes.
  node_hashes next;
  /// Subtrees that differ and are exchanged whole: a minute, or a subtree
  /// one side lacks entirely.
  std::vector<ts_range> ranges;
};

/// Compares the hub's children with `mine` and decides where to go on.
descent descend(const merkle_trie& mine,
                const std::vector<node_children>& theirs);

/// A protocol-2 call.
struct exchange_request {
  std::string group_id;
  std::string client_id;
  /// Pushed: outbox entries, or this node's messages of a range.
  std::vector<message> messages;
  /// The stream cursor: pull what the hub stored after it (none: no pull).
  std::optional<uint64_t> after;
  /// The hub the cursor belongs to ("" before the first answer).
  std::string hub;
  /// Trie nodes to compare.
  node_hashes compare;
  /// Ranges to pull, each resuming after its `after`.
  std::vector<ts_range> ranges;
  /// The JSON size of messages the node wants per answer at most (0: the
  /// hub's own cap).
  uint64_t page = 0;
};

/// A hub's protocol-2 answer.
struct exchange_answer {
  /// The hub's node id: a stream cursor is only valid for its hub.
  std::string hub;
  /// The hub's root hash and the sequence number of its last stored
  /// message, taken together.
  uint32_t root = 0;
  uint64_t head = 0;
  /// The stream: where the next page starts, and whether one is waiting.
  uint64_t next = 0;
  bool more = false;
  /// Pulled messages: the stream's page and the ranges' pages.
  std::vector<message> messages;
  /// The children of the compared nodes that differ.
  std::vector<node_children> children;
  /// The requested ranges not finished, each with its new `after`.
  std::vector<ts_range> ranges;
};

/// Renders a call. `root` goes along as a one-node trie, which a hub that
/// speaks only the crdt-example-app format reads as an ordinary request;
/// or, when `trie` (the JSON of the whole trie) is given, that trie, with
/// which such a hub answers only what differs. A crdt-store hub parses
/// and checks either, and uses only its root.
std::string write_exchange_request(const exchange_request& req, uint32_t root,
                                   std::string_view trie = {});

/// Renders an answer.
std::string write_exchange_answer(const exchange_answer& ans);

/// Parses a /sync body in either format: a protocol-2 call (the checks of
/// parse_sync_request plus the cursor, at most 4096 compared nodes and at
/// most 4096 ranges), or a crdt-example-app request.
caf::expected<std::variant<exchange_request, sync_request>>
parse_sync_call(std::string_view body);

/// Parses a hub's answer in either format: protocol 2, or the
/// crdt-example-app format of a hub that speaks only that one.
caf::expected<std::variant<exchange_answer, sync_response>>
parse_sync_answer(std::string_view body);

} // namespace crdt
