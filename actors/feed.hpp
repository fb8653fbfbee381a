#pragma once

#include "actors/interfaces.hpp"
#include "storage/read_store.hpp"

#include <caf/actor_addr.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace crdt {

/// State of the feed: its read connection, the subscribed sessions, and
/// how far it has read the log for them.
struct feed_state {
  std::unique_ptr<read_store> store;
  /// At most this many subscriptions at once (FEED_MAX_SUBSCRIBERS).
  size_t max_subscribers = 1000;
  struct subscriber {
    session_actor session;
    std::string table;
  };
  std::map<caf::actor_addr, subscriber> subscribers;
  /// Subscribers per table.
  std::map<std::string, size_t> tables;
  /// The log is read and handed out up to `through`; the writer has
  /// committed up to `head`.
  uint64_t through = 0;
  uint64_t head = 0;
  /// Subscribed tables that commits touched past `through`.
  std::vector<std::string> touched;
  /// Whether a flush message is on its way to this actor.
  bool flush_scheduled = false;
  static inline const char* name = "feed";
};

/// The live change feed (see feed_actor). `head` is the log's last
/// position at start. Spawn it detached: it reads SQLite.
feed_actor::behavior_type feed(feed_actor::stateful_pointer<feed_state> self,
                               std::unique_ptr<read_store> store,
                               uint64_t head, size_t max_subscribers);

} // namespace crdt
