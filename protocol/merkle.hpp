#pragma once

#include <caf/expected.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crdt {

/// Number of base-3 digits in a trie key today; diff pads to this length.
constexpr size_t merkle_key_digits = 16;

/// Returns the trie key of a millisecond time: its minute in base 3,
/// without padding (16 digits for present-day times).
std::string merkle_key(int64_t millis);

/// A merkle trie over message timestamps, keyed by minute in base 3. Every
/// node's hash is the XOR of the murmur3 hashes of all timestamps below it.
class merkle_trie {
public:
  /// One trie node: its XOR hash and up to three children "0", "1", "2".
  struct node {
    uint32_t hash = 0;
    std::array<std::unique_ptr<node>, 3> children;
  };

  merkle_trie();
  merkle_trie(merkle_trie&&) noexcept = default;
  merkle_trie& operator=(merkle_trie&&) noexcept = default;

  /// Deep copy.
  merkle_trie clone() const;

  /// Adds a timestamp given by its wire string.
  void insert(std::string_view timestamp_text, int64_t millis);

  /// Adds a precomputed hash under `key` (the form persisted in SQLite).
  void insert_hash(std::string_view key, uint32_t hash);

  /// Sets the hash of the node at `key` (creating the path), used when
  /// loading persisted nodes.
  void set_node(std::string_view key, uint32_t hash);

  /// XORs `delta` into the node at `key` only (creating the path), for
  /// applying per-prefix deltas that a commit computed.
  void xor_node(std::string_view key, uint32_t delta);

  /// The root hash.
  uint32_t hash() const {
    return root_->hash;
  }

  /// The root hash as the wire's signed 32-bit integer.
  int32_t signed_hash() const {
    return static_cast<int32_t>(root_->hash);
  }

  /// The root node.
  const node& root() const {
    return *root_;
  }

  /// The node at `key`, or null when the trie has none there.
  const node* find(std::string_view key) const;

  /// Number of nodes (root included).
  size_t size() const;

  /// Writes the wire JSON: children "0".."2" first, then "hash", the order
  /// in which JavaScript serializes such an object.
  void write_json(rapidjson::Writer<rapidjson::StringBuffer>& out) const;

  /// The wire JSON as a string.
  std::string to_json() const;

  /// Parses wire JSON; `{}` is the empty trie. Rejects unknown keys,
  /// non-integer hashes and nesting deeper than `max_depth`.
  static caf::expected<merkle_trie> from_json(const rapidjson::Value& value,
                                              size_t max_depth = 32);

private:
  /// The node at `key`, creating missing nodes on the way.
  node& path(std::string_view key);

  std::unique_ptr<node> root_;
};

/// SPEC section 6's diff: the millisecond time from which two tries may
/// differ, or none when their root hashes are equal.
std::optional<int64_t> diff(const merkle_trie& a, const merkle_trie& b);

/// The start of the earliest minute where two tries really differ, or none
/// when their root hashes are equal. Unlike diff(), which stops at the first
/// key one side lacks and answers the start of that whole subtree, this
/// descends into such a subtree to its earliest minute. It is never earlier
/// than diff(): everything one side lacks lies at or after it, and a sync
/// that sends messages from there sends no more than needed.
std::optional<int64_t> first_difference(const merkle_trie& a,
                                        const merkle_trie& b);

/// Folds per-minute leaf deltas (trie key of a minute -> XOR of the hashes
/// of the timestamps a commit added there) into the XOR delta of every node
/// on their paths, the root "" included: what a commit applies to a trie
/// kept node by node. Each node appears once, in key order. The leaves are
/// given as views (sorted here; equal keys fold together).
std::vector<std::pair<std::string, uint32_t>>
path_deltas(std::vector<std::pair<std::string_view, uint32_t>> leaves);

/// The same for a map or vector of (key string, hash) pairs: the views
/// point into `leaves`, so its elements must be stored, not made per step.
template <class Leaves>
std::vector<std::pair<std::string, uint32_t>>
path_deltas(const Leaves& leaves) {
  std::vector<std::pair<std::string_view, uint32_t>> views;
  views.reserve(leaves.size());
  for (const auto& [key, hash] : leaves)
    views.emplace_back(key, hash);
  return path_deltas(std::move(views));
}

} // namespace crdt
