#pragma once

#include "actors/interfaces.hpp"
#include "protocol/schema.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace crdt {

/// State of the hub: the actors a /sync request touches and what it checks
/// messages against.
struct hub_state {
  clock_actor clock;
  applier_actor applier;
  writer_actor writer;
  std::vector<reader_actor> readers;
  size_t next_reader = 0;
  /// This node's group: its messages go to the tables too.
  std::string group;
  /// Tables of this node's group, for value checks.
  schema_set schemas;
  /// How far a message may be ahead of this node's clock.
  int64_t max_drift = 60000;
  /// The writer's load counter (foreign groups bypass the applier).
  std::shared_ptr<std::atomic<size_t>> load;
  static inline const char* name = "hub";
};

/// Checks a received batch before anything is stored: drift against the
/// local wall clock and, for this node's group, value types of known
/// fields. Returns the reason for refusing it, or an empty string.
std::string check_batch(const std::vector<message>& messages,
                        bool own_group, const schema_set& schemas,
                        int64_t now, int64_t max_drift);

/// Serves POST /sync: stores the client's messages under their group,
/// answers with the messages the client lacks and the group's trie.
hub_actor::behavior_type hub(hub_actor::stateful_pointer<hub_state> self,
                             hub_state init);

} // namespace crdt
