#include "storage/read_pool.hpp"

namespace crdt {

std::optional<read_pool::lease> read_pool::acquire() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!idle_.empty()) {
      auto store = std::move(idle_.back());
      idle_.pop_back();
      return lease{this, std::move(store)};
    }
    if (opened_ >= max_)
      return std::nullopt;
    ++opened_;
  }
  // Opened outside the lock: other callers need not wait for it.
  auto store = read_store::open(path_, catalog_);
  if (!store) {
    std::lock_guard<std::mutex> guard{mtx_};
    --opened_;
    return std::nullopt;
  }
  return lease{this, std::move(*store)};
}

void read_pool::give_back(std::unique_ptr<read_store> store) {
  std::lock_guard<std::mutex> guard{mtx_};
  idle_.push_back(std::move(store));
}

} // namespace crdt
