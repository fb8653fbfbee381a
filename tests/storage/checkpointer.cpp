#include "storage/checkpointer.hpp"

#include "storage/write_store.hpp"

#include "protocol/error.hpp"

#include "tests/support.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <thread>
#include <string>

using namespace crdt;

namespace {

std::unique_ptr<sql::connection> open_wal(const std::string& path,
                                          const char* sync) {
  auto db = sql::connection::open(path,
                                  SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  BOOST_REQUIRE(db);
  BOOST_REQUIRE(!(*db)->exec(std::string{"PRAGMA journal_mode=WAL; "
                                         "PRAGMA synchronous="}
                             + sync + ";"));
  return std::move(*db);
}

// Commits `n` transactions of one page-sized row each, each followed by
// the writer's due checkpoint when `ckpt` is given (as the writer actor
// does after answering a commit); answers the largest size the log file
// reached.
uintmax_t write_pages(sql::connection& db, const std::string& path, int n,
                      checkpointer* ckpt = nullptr) {
  BOOST_REQUIRE(!db.exec("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY "
                         "KEY, v BLOB)"));
  auto ins = db.prepare("INSERT INTO t(v) VALUES(?1)");
  BOOST_REQUIRE(ins);
  std::string blob(3000, 'x');
  uintmax_t largest = 0;
  for (int i = 0; i < n; ++i) {
    sql::transaction tx{db};
    BOOST_REQUIRE(!tx.begin());
    {
      sql::reset_guard guard{**ins};
      (*ins)->bind_blob(1, blob);
      BOOST_REQUIRE((*ins)->step() == SQLITE_DONE);
    }
    BOOST_REQUIRE(!tx.commit());
    largest = std::max(largest, std::filesystem::file_size(path + "-wal"));
    if (ckpt)
      ckpt->run_due(db);
  }
  return largest;
}

int64_t count_rows(const std::string& path) {
  auto db = sql::connection::open(path, SQLITE_OPEN_READONLY);
  BOOST_REQUIRE(db);
  auto s = (*db)->prepare_once("SELECT count(*) FROM t");
  BOOST_REQUIRE(s && s->step() == SQLITE_ROW);
  return s->column_int(0);
}

} // namespace

BOOST_AUTO_TEST_SUITE(checkpointer_tests)

BOOST_AUTO_TEST_CASE(the_thread_copies_the_log_and_the_writer_bounds_it) {
  // A writer committing as fast as it can (no fsync) leaves the thread
  // little room between commits: the log must still stay bounded near the
  // writer's threshold, and every row must be there.
  test::temp_dir dir{"checkpointer"};
  auto path = dir.file("db.sqlite");
  auto db = open_wal(path, "OFF");
  auto ckpt = checkpointer::start(path, 20, 300);
  BOOST_REQUIRE(ckpt);
  (*ckpt)->attach(*db);
  auto largest = write_pages(*db, path, 3000, ckpt->get());
  (*ckpt)->detach(*db);
  // 4 KiB pages plus a 24-byte frame header; a transaction writes a few
  // pages (row, tree), and the writer's checkpoint may find the thread's
  // under way once or twice before it runs.
  uintmax_t bound = (300 + 60) * (4096 + 24) + 32;
  BOOST_CHECK_LE(largest, bound);
  BOOST_CHECK_GT((*ckpt)->background_runs(), 0u);
  BOOST_CHECK_GT((*ckpt)->writer_runs(), 0u);
  BOOST_CHECK_EQUAL(count_rows(path), 3000);
}

BOOST_AUTO_TEST_CASE(a_writer_that_never_runs_its_due_checkpoint_is_bounded_at_twice) {
  // The hook only marks the writer's checkpoint due; a writer that never
  // runs it (a tool, a rebuild) gets it from the hook at twice the bound.
  test::temp_dir dir{"checkpointer"};
  auto path = dir.file("db.sqlite");
  auto db = open_wal(path, "OFF");
  auto ckpt = checkpointer::start(path, 20, 300);
  BOOST_REQUIRE(ckpt);
  (*ckpt)->attach(*db);
  auto largest = write_pages(*db, path, 3000);
  (*ckpt)->detach(*db);
  BOOST_CHECK_LE(largest, uintmax_t{(600 + 60) * (4096 + 24) + 32});
  BOOST_CHECK_GT((*ckpt)->writer_runs(), 0u);
  BOOST_CHECK_EQUAL(count_rows(path), 3000);
}

BOOST_AUTO_TEST_CASE(without_it_the_log_would_grow_past_that_bound) {
  // The same writer with automatic checkpoints off: what the bound above
  // is measured against (so that test cannot pass by writing little).
  test::temp_dir dir{"checkpointer"};
  auto path = dir.file("db.sqlite");
  auto db = open_wal(path, "OFF");
  BOOST_REQUIRE(!db->exec("PRAGMA wal_autocheckpoint=0"));
  auto largest = write_pages(*db, path, 3000);
  BOOST_CHECK_GT(largest, uintmax_t{(300 + 60) * (4096 + 24) + 32} * 3);
}

BOOST_AUTO_TEST_CASE(a_store_hands_its_checkpoints_to_the_thread) {
  test::temp_dir dir{"checkpointer"};
  store_options opts;
  opts.path = dir.file("db.sqlite");
  opts.synchronous = "NORMAL";
  auto store = write_store::open(opts, schema_set{});
  BOOST_REQUIRE(store);
  const auto* ckpt = (*store)->background_checkpoints();
  BOOST_REQUIRE(ckpt != nullptr);
  // Past the wake threshold (500 pages of the log), short of the writer's
  // (2,000), in 12 transactions of about 100 pages: the thread is woken and
  // copies the log.
  auto& db = (*store)->db();
  BOOST_REQUIRE(!db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)"));
  auto ins = db.prepare("INSERT INTO t(v) VALUES(?1)");
  BOOST_REQUIRE(ins);
  std::string blob(3000, 'y');
  for (int tx_n = 0; tx_n < 12; ++tx_n) {
    sql::transaction tx{db};
    BOOST_REQUIRE(!tx.begin());
    for (int i = 0; i < 100; ++i) {
      sql::reset_guard guard{**ins};
      (*ins)->bind_blob(1, blob);
      BOOST_REQUIRE((*ins)->step() == SQLITE_DONE);
    }
    BOOST_REQUIRE(!tx.commit());
  }
  for (int i = 0; i < 500 && ckpt->background_runs() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_CHECK_GT(ckpt->background_runs(), 0u);
  BOOST_CHECK_EQUAL(ckpt->writer_runs(), 0u);
  BOOST_CHECK_EQUAL(count_rows(opts.path), 1200);
  // Turned off, the store checkpoints the way SQLite does by itself.
  store->reset();
  opts.background_checkpoint = false;
  auto plain = write_store::open(opts, schema_set{});
  BOOST_REQUIRE(plain);
  BOOST_CHECK((*plain)->background_checkpoints() == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
