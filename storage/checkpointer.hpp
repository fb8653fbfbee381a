#pragma once

#include "storage/sqlite.hpp"

#include <caf/expected.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace crdt {

/// Copies the write-ahead log into the database file on a thread and
/// connection of its own, so that most of that copying (and, under
/// synchronous=FULL, its fsyncs) leaves the writer's commits.
///
/// attach() replaces SQLite's automatic checkpoint on the writer's
/// connection by a WAL hook: each time the log has grown by `wake_pages`
/// pages the hook wakes this thread, which runs a PASSIVE checkpoint (it
/// never blocks the writer or the readers). SQLite starts the log over
/// only when the writer begins a transaction with everything in the log
/// copied; the thread rarely finishes in such a gap while commits follow
/// each other, so at `writer_pages` the writer waits for the thread's run
/// to end and checkpoints itself (once it has answered that commit): by
/// then most pages are copied, its run is short, and the log starts over
/// at the next commit. So the log of a
/// busy writer grows to about `writer_pages` (8 MiB); one that pauses
/// starts over sooner. The writer's own checkpoint is its longest pause
/// (a commit that waits 5 - 10 ms at 12,000 creates/s), and the pause grows
/// with the log: 8 MiB halved the creates' p99 latency from 16 MiB's, and
/// 64 MiB tripled it. Durability is the
/// commit's (its WAL write and fsync), untouched.
class checkpointer {
public:
  /// Wake the thread every 500 pages (2 MiB of 4 KiB pages; SQLite's own
  /// automatic threshold is 1,000); the writer checkpoints itself at 8 MiB.
  static constexpr int default_wake_pages = 500;
  static constexpr int default_writer_pages = 2000;

  /// Opens a second connection to `path` and starts the thread. That
  /// connection never commits, so its `synchronous` mode (SQLite's default,
  /// FULL) only decides the checkpoints' fsyncs, which WAL mode makes alike
  /// under FULL and NORMAL: the database file is synced after each.
  static caf::expected<std::unique_ptr<checkpointer>>
  start(const std::string& path, int wake_pages = default_wake_pages,
        int writer_pages = default_writer_pages);

  /// Stops the thread; a checkpoint under way finishes first.
  ~checkpointer();

  checkpointer(const checkpointer&) = delete;
  checkpointer& operator=(const checkpointer&) = delete;

  /// Installs the WAL hook on the writer's connection. The hook refers to
  /// this object: detach (or close the connection) before destroying it.
  void attach(sql::connection& writer);

  /// Gives the writer's connection back SQLite's automatic checkpoint.
  void detach(sql::connection& writer);

  /// Runs the writer's own checkpoint if a commit has taken the log past
  /// `writer_pages`. The writer calls it after answering a commit's
  /// batches, so that this pause (its longest) delays the next commit
  /// only, not the answers of the one that got there; on the writer's
  /// thread, with no transaction open. Without it, the hook checkpoints
  /// inline once the log reaches twice `writer_pages`.
  void run_due(sql::connection& writer);

  /// Checkpoints run by the thread and by the writer so far.
  size_t background_runs() const;
  size_t writer_runs() const;

private:
  checkpointer() = default;
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages);
  void checkpoint_now(sqlite3* db, const char* schema);
  void run();

  std::unique_ptr<sql::connection> db_;
  int wake_pages_ = default_wake_pages;
  int writer_pages_ = default_writer_pages;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  /// Signalled when the thread's checkpoint ends.
  std::condition_variable idle_;
  bool wanted_ = false;
  /// The thread is checkpointing.
  bool running_ = false;
  bool stop_ = false;
  std::atomic<size_t> background_runs_{0};
  std::atomic<size_t> writer_runs_{0};
  /// The log's size (pages) when the thread was last woken; the writer's
  /// thread alone uses it (in the hook).
  int woken_at_ = 0;
  /// A commit took the log past writer_pages (the writer's thread alone).
  bool due_ = false;
  std::thread thread_;
};

} // namespace crdt
