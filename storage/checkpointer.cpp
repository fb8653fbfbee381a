#include "storage/checkpointer.hpp"

#include <iostream>

namespace crdt {

caf::expected<std::unique_ptr<checkpointer>>
checkpointer::start(const std::string& path, int wake_pages,
                    int writer_pages) {
  auto db = sql::connection::open(path, SQLITE_OPEN_READWRITE);
  if (!db)
    return db.error();
  // Its own automatic checkpoint off: it only ever checkpoints on request.
  if (auto err = (*db)->exec("PRAGMA wal_autocheckpoint=0;"))
    return err;
  std::unique_ptr<checkpointer> out{new checkpointer};
  out->db_ = std::move(*db);
  out->wake_pages_ = wake_pages;
  out->writer_pages_ = writer_pages;
  out->thread_ = std::thread{[p = out.get()] { p->run(); }};
  return out;
}

checkpointer::~checkpointer() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable())
    thread_.join();
}

void checkpointer::attach(sql::connection& writer) {
  sqlite3_wal_hook(writer.get(), &checkpointer::on_commit, this);
}

void checkpointer::detach(sql::connection& writer) {
  sqlite3_wal_autocheckpoint(writer.get(), default_wake_pages);
}

size_t checkpointer::background_runs() const {
  return background_runs_.load();
}

size_t checkpointer::writer_runs() const {
  return writer_runs_.load();
}

int checkpointer::on_commit(void* ptr, sqlite3* db, const char* schema,
                            int pages) {
  auto* self = static_cast<checkpointer*>(ptr);
  if (pages >= self->writer_pages_) {
    // Fallen behind: the writer checkpoints itself, after it has answered
    // the commit that got here (run_due()). If nobody calls that, the log
    // is bounded here at twice the threshold.
    self->due_ = true;
    if (pages >= 2 * self->writer_pages_)
      self->checkpoint_now(db, schema);
    return SQLITE_OK;
  }
  // Woken once per wake_pages pages the log grew by since it was last
  // woken (or since the log started over), not after every commit.
  if (pages < self->woken_at_)
    self->woken_at_ = 0;
  if (pages >= self->woken_at_ + self->wake_pages_) {
    self->woken_at_ = pages;
    {
      std::lock_guard<std::mutex> guard{self->mtx_};
      self->wanted_ = true;
    }
    self->cv_.notify_one();
  }
  return SQLITE_OK;
}

void checkpointer::run_due(sql::connection& writer) {
  if (due_)
    checkpoint_now(writer.get(), nullptr);
}

void checkpointer::checkpoint_now(sqlite3* db, const char* schema) {
  // Bounds the log the way SQLite's own hook would. Waits for a checkpoint
  // of the thread under way (against which this one would only answer
  // SQLITE_BUSY), and keeps the thread from starting another until this
  // one is done: then everything is copied, and the next commit starts the
  // log over.
  std::unique_lock<std::mutex> lock{mtx_};
  idle_.wait(lock, [this] { return !running_; });
  sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                            nullptr);
  ++writer_runs_;
  woken_at_ = 0;
  due_ = false;
}

void checkpointer::run() {
  std::unique_lock<std::mutex> lock{mtx_};
  bool failing = false; // logged once per run of failures
  for (;;) {
    cv_.wait(lock, [this] { return wanted_ || stop_; });
    if (stop_)
      return;
    wanted_ = false;
    running_ = true;
    lock.unlock();
    int rc = sqlite3_wal_checkpoint_v2(db_->get(), nullptr,
                                       SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                       nullptr);
    // Busy (the writer's own checkpoint, or recovery) is no failure.
    bool failed = rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY;
    if (failed && !failing)
      std::cerr << "crdt-store: storage: checkpoint failed (the writer's "
                   "log keeps growing until one succeeds): "
                << db_->last_error() << std::endl;
    failing = failed;
    lock.lock();
    running_ = false;
    ++background_runs_;
    idle_.notify_all();
  }
}

} // namespace crdt
