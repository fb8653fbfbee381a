#pragma once

#include "storage/read_store.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace crdt {

/// A small pool of read-only connections that HTTP sessions use directly
/// for short reads (a record by id, an account check), on whatever thread
/// runs them: no hop to a reader actor and back. Connections are opened on
/// first need, up to a bound; when all are in use, acquire() answers
/// nothing and the caller goes through a reader actor as before. Long
/// reads (lists, sync pages) always go to the reader actors.
class read_pool {
public:
  /// Returns its connection to the pool when destroyed.
  class lease {
  public:
    lease(read_pool* pool, std::unique_ptr<read_store> store)
        : pool_(pool), store_(std::move(store)) {}
    lease(lease&&) = default;
    lease& operator=(lease&&) = delete;
    ~lease() {
      if (store_)
        pool_->give_back(std::move(store_));
    }
    read_store* operator->() const {
      return store_.get();
    }

  private:
    read_pool* pool_;
    std::unique_ptr<read_store> store_;
  };

  read_pool(std::string path, catalog_ptr catalog, size_t max)
      : path_(std::move(path)), catalog_(std::move(catalog)), max_(max) {}

  /// A connection, or nothing when `max` are in use (or opening failed).
  std::optional<lease> acquire();

private:
  void give_back(std::unique_ptr<read_store> store);

  std::string path_;
  catalog_ptr catalog_;
  size_t max_;
  std::mutex mtx_;
  std::vector<std::unique_ptr<read_store>> idle_;
  size_t opened_ = 0;
};

} // namespace crdt
