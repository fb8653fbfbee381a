#pragma once

// What the unit tests share: temporary folders, schemas from text, stores
// opened or the test fails, stamped commits, and an actor system on CAF's
// deterministic scheduler with a helper that asks an actor and waits.

#include "protocol/change.hpp"
#include "protocol/error.hpp"
#include "protocol/schema.hpp"
#include "protocol/timestamp.hpp"
#include "storage/read_store.hpp"
#include "storage/write_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace crdt::test {

/// The error of a failed result, for messages (empty on success: the
/// message is built before the check is decided).
template <class T>
std::string why(const caf::expected<T>& x) {
  return x ? std::string{} : describe(x.error());
}

/// A fresh folder under the system's temporary directory, removed with
/// everything in it when the test ends.
struct temp_dir {
  explicit temp_dir(const std::string& prefix)
      : path(std::filesystem::temp_directory_path()
             / (prefix + "-" + random_node_id())) {
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// A file name inside the folder.
  std::string file(const std::string& name) const {
    return (path / name).string();
  }

  std::filesystem::path path;
};

/// Tables parsed from (name, JSON Schema text) pairs.
inline schema_set
make_schemas(std::initializer_list<std::pair<const char*, const char*>> xs) {
  schema_set out;
  for (auto [name, text] : xs) {
    auto t = table_schema::parse(name, text);
    BOOST_REQUIRE_MESSAGE(t, why(t));
    out.emplace(name, *t);
  }
  return out;
}

/// Options for a test database: `path`, synchronous=NORMAL (durability is
/// not what these tests are about).
inline store_options test_store(const std::string& path) {
  store_options opts;
  opts.path = path;
  opts.synchronous = "NORMAL";
  return opts;
}

/// A write store that serves `schemas` without committing them as
/// definitions (tests/storage/definitions.cpp covers those).
inline std::unique_ptr<write_store> open_writer(const store_options& opts,
                                                const schema_set& schemas) {
  auto w = write_store::open(opts, schemas, nullptr, false);
  BOOST_REQUIRE_MESSAGE(w, why(w));
  return std::move(*w);
}

inline std::unique_ptr<read_store> open_reader(const std::string& path,
                                               const schema_set& schemas) {
  auto r = read_store::open(path, std::make_shared<schema_catalog>(schemas));
  BOOST_REQUIRE_MESSAGE(r, why(r));
  return std::move(*r);
}

/// Hands out increasing wire timestamps of one node, each in a
/// millisecond of its own, from a fixed start.
struct stamper {
  std::string node;
  int64_t millis = 1764000000000; // 2025-11-24T16:00:00.000Z

  std::vector<std::string> next(size_t n) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i)
      out.push_back(to_string(timestamp{millis++, 0, node}));
    return out;
  }
};

/// Stamps the changes and commits them in one batch; fails the test when
/// the commit fails. Answers the summary.
inline commit_summary commit_changes(write_store& w, stamper& s,
                                     const std::vector<record_change>& cs) {
  auto stamps = s.next(message_count(cs));
  write_batch b;
  b.messages = make_messages(cs, stamps);
  b.clock = stamps.back();
  auto res = w.commit({&b});
  BOOST_REQUIRE_MESSAGE(res, why(res));
  return std::move(*res);
}

/// An actor system on CAF's deterministic test scheduler: actors run only
/// when a test drains `sched`, so every interleaving is the test's choice.
struct test_system {
  test_system() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    // Tests leave actors alive; do not wait for them at teardown.
    sys->await_actors_before_shutdown(false);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }

  /// Runs every job and every pending timer until nothing is left.
  void drain() {
    sched->run();
    while (sched->trigger_timeouts() > 0)
      sched->run();
  }

  /// Sends a request to `whom`, runs the scheduler and answers the reply
  /// or the error; fails the test when nothing answered.
  template <class R, class Handle, class... Ts>
  caf::expected<R> ask(const Handle& whom, Ts... xs) {
    caf::expected<R> out = make_error(ec::timeout, "no answer");
    bool answered = false;
    sys->spawn([=, &out, &answered](caf::event_based_actor* self) {
      self->request(whom, caf::infinite, xs...)
          .then(
              [&](R& r) {
                out = std::move(r);
                answered = true;
              },
              [&](caf::error& err) {
                out = std::move(err);
                answered = true;
              });
    });
    sched->run();
    BOOST_REQUIRE(answered);
    return out;
  }

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
};

} // namespace crdt::test
