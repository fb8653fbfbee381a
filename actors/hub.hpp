#pragma once

#include "actors/interfaces.hpp"
#include "protocol/catalog.hpp"

#include <string>
#include <vector>

namespace crdt {

/// State of the hub: the actors a /sync request touches and what it checks
/// messages against.
struct hub_state {
  clock_actor clock;
  /// Stores every received batch, this node's group or a relayed one.
  applier_actor applier;
  std::vector<reader_actor> readers;
  size_t next_reader = 0;
  /// This node's group: its messages go to the tables too.
  std::string group;
  /// The tables this node serves now (for checking its own group's batches).
  catalog_ptr catalog;
  /// How far a message may be ahead of this node's clock.
  int64_t max_drift = 60000;
  /// This node's id: the hub's name in the bounded exchange.
  std::string node_id;
  /// The JSON size of the messages of one answer at most.
  size_t page_bytes = 512 * 1024;
  /// With HUB_DATABASE_URL: per database, its pool of relays. Relayed
  /// groups are served there (each by the database hub_placement names);
  /// empty: from this node's SQLite file.
  std::vector<std::vector<relay_actor>> relays;
  size_t next_relay = 0;
  static inline const char* name = "hub";
};

/// Serves POST /sync: stores the client's messages under their group,
/// answers with the messages the client lacks and the group's trie.
hub_actor::behavior_type hub(hub_actor::stateful_pointer<hub_state> self,
                             hub_state init);

} // namespace crdt
