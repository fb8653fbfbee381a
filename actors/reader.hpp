#pragma once

#include "actors/interfaces.hpp"
#include "storage/read_store.hpp"

#include <memory>

namespace crdt {

/// State of a reader: one read-only connection.
struct reader_state {
  std::unique_ptr<read_store> store;
  static inline const char* name = "reader";
};

/// A pooled reader; spawn it detached, since SQLite calls block.
reader_actor::behavior_type
reader(reader_actor::stateful_pointer<reader_state> self,
       std::unique_ptr<read_store> store);

} // namespace crdt
