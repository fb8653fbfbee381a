#pragma once

#include "actors/interfaces.hpp"
#include "protocol/merkle.hpp"
#include "protocol/timestamp.hpp"

namespace crdt {

/// State of the clock actor: the HLC and the trie of stored messages.
struct clock_state {
  /// The hybrid logical clock (last timestamp issued or seen).
  hlc clock;
  /// Merkle trie over every message stored locally.
  merkle_trie trie;
  static inline const char* name = "clock";
};

/// Starts from the persisted clock `last` (wire form) and trie.
clock_actor::behavior_type clock(clock_actor::stateful_pointer<clock_state> self,
                                 timestamp last, int64_t max_drift,
                                 std::shared_ptr<merkle_trie> trie);

} // namespace crdt
