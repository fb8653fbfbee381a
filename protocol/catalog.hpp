#pragma once

#include "protocol/schema.hpp"
#include "protocol/schema_defs.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace crdt {

/// The tables this node serves right now. The writer publishes a new set
/// whenever definitions arrive (from a schema file, POST /schema or the
/// group); sessions, readers and the hub take a snapshot per request, so a
/// new table is served at once without a restart and without locks on the
/// read path. Thread-safe.
class schema_catalog {
public:
  explicit schema_catalog(schema_set tables = {})
      : tables_(std::make_shared<const schema_set>(std::move(tables))) {}

  /// The current tables; the snapshot stays valid while held.
  std::shared_ptr<const schema_set> tables() const {
    return std::atomic_load(&tables_);
  }

  /// The current table named `name`, or null.
  table_ptr find(std::string_view name) const {
    auto all = tables();
    auto it = all->find(name);
    return it == all->end() ? nullptr : it->second;
  }

  /// The winning definitions by table, as the last publish left them.
  def_map definitions() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return defs_;
  }

  /// How many tables the definitions name.
  size_t defined_tables() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return defs_.size();
  }

  /// Definitions that lost to an earlier one of the same field.
  std::vector<schema_conflict> conflicts() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return conflicts_;
  }

  /// Replaces everything (the writer, after a commit that changed it).
  void publish(schema_set tables, def_map defs,
               std::vector<schema_conflict> conflicts) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      defs_ = std::move(defs);
      conflicts_ = std::move(conflicts);
    }
    std::atomic_store(&tables_,
                      std::make_shared<const schema_set>(std::move(tables)));
  }

private:
  std::shared_ptr<const schema_set> tables_;
  mutable std::mutex mtx_;
  def_map defs_;
  std::vector<schema_conflict> conflicts_;
};

using catalog_ptr = std::shared_ptr<schema_catalog>;

} // namespace crdt
