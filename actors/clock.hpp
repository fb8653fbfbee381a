#pragma once

#include "actors/interfaces.hpp"
#include "protocol/merkle.hpp"
#include "protocol/timestamp.hpp"

#include <map>
#include <string>

namespace crdt {

/// State of the clock actor: the HLC and the trie of stored messages.
struct clock_state {
  /// The hybrid logical clock (last timestamp issued or seen).
  hlc clock;
  /// Merkle trie over every message stored locally.
  merkle_trie trie;
  /// Tries of the groups this node relays as a hub.
  std::map<std::string, merkle_trie> groups;
  /// Per group ("" for the own one): the sequence number of the last
  /// message whose trie delta arrived.
  std::map<std::string, uint64_t> heads;
  static inline const char* name = "clock";
};

/// Starts from the persisted clock, own trie and relayed groups' tries.
clock_actor::behavior_type
clock(clock_actor::stateful_pointer<clock_state> self, timestamp last,
      int64_t max_drift, merkle_trie trie,
      std::map<std::string, merkle_trie> groups,
      std::map<std::string, uint64_t> heads);

} // namespace crdt
