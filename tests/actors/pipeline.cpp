// Actor tests on CAF's deterministic test scheduler: every actor, the
// writer included, runs only when the test drains the scheduler.

#include "actors/applier.hpp"
#include "actors/clock.hpp"
#include "actors/queue.hpp"
#include "actors/writer.hpp"
#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"

#include <caf/all.hpp>

#include "tests/support.hpp"

#include <boost/test/unit_test.hpp>

using namespace crdt;

namespace {

const char* row_id = "01JAR2HPE7JJS1HYQZ7FYK0S4D";

struct fixture : test::test_system {
  fixture() : dir("pipeline") {
    schemas = test::make_schemas({{"contacts", R"({"type":"object",
      "properties":{"first_name":{"type":"string"},"age":{"type":"integer"}}})"}});
    store = test::open_writer(test::test_store(dir.file("db.sqlite")), schemas);
    node = store->node_id();
  }

  ~fixture() {
    sys.reset();
  }

  // A clock stand-in that stamps like the real one but counts commits.
  clock_actor counting_clock(std::shared_ptr<int> commits) {
    return sys->spawn([=](clock_actor::pointer) -> clock_actor::behavior_type {
      auto h = std::make_shared<hlc>();
      h->last.node = node;
      return {
          [=](stamp_atom, uint32_t n) {
            std::vector<std::string> out;
            for (uint32_t i = 0; i < n; ++i)
              out.push_back(to_string(*send(*h, wall_clock_ms())));
            return out;
          },
          [=](recv_atom, const std::vector<std::string>&) {
            return to_string(h->last);
          },
          [=](merkle_atom, const std::string&, const merkle_deltas&,
              uint64_t) { ++*commits; },
          [=](head_atom, const std::string&) { return stream_head{}; },
          [=](compare_atom, const std::string&, const node_hashes&) {
            return std::vector<node_children>{};
          },
          [=](descend_atom, const std::vector<node_children>&) {
            return descent{};
          },
          [=](merkle_atom) { return std::string{"{}"}; },
          [=](diff_atom, const std::string&,
              const trie_ptr&) -> caf::result<int64_t, std::string> {
            return {int64_t{-1}, std::string{"{}"}};
          },
          [=](status_atom) { return clock_status{}; },
      };
    });
  }

  // An applier (bound `max_in_flight`, local writes answered at
  // `deadline`) in front of a stuck writer counting in `received` the
  // batches it holds.
  struct stuck_pipeline {
    writer_actor writer;
    applier_actor applier;
  };
  stuck_pipeline stuck(std::shared_ptr<int> received, size_t max_in_flight,
                       caf::timespan deadline) {
    auto clk = counting_clock(std::make_shared<int>(0));
    auto wrt = stuck_writer(std::move(received));
    auto que = sys->spawn(crdt::queue, uint64_t{0}, uint64_t{0},
                          reader_actor{}, wrt);
    return {wrt, sys->spawn(crdt::applier, clk, wrt, que, max_in_flight,
                            deadline)};
  }

  // A writer stand-in that never answers: batches stay in flight.
  writer_actor stuck_writer(std::shared_ptr<int> received) {
    using promise = caf::typed_response_promise<commit_ack>;
    return sys->spawn(
        [=](writer_actor::pointer self) -> writer_actor::behavior_type {
          auto held = std::make_shared<std::vector<promise>>();
          return {
              [=](write_atom, write_batch&) -> caf::result<commit_ack> {
                ++*received;
                held->push_back(self->make_response_promise<commit_ack>());
                return held->back();
              },
              [=](flush_atom) {
                // The test releases the held batches.
                for (auto& rp : *held)
                  rp.deliver(commit_ack{});
                held->clear();
              },
              [=](ack_atom, uint64_t) {
                return uint64_t{0};
              },
              [=](config_atom, const std::string&, const std::string&,
                  const std::string&) { return true; },
          };
        });
  }

  write_batch batch_of(int n, const std::string& row) {
    write_batch b;
    b.enqueue = true;
    hlc h;
    h.last.node = node;
    for (int i = 0; i < n; ++i) {
      auto ts = to_string(*send(h, wall_clock_ms() + next_ms++));
      b.messages.push_back(
          {ts, "contacts", row, "first_name", value{"v" + std::to_string(i)}});
      b.clock = ts;
    }
    return b;
  }

  static record_change ada(precondition must_be = precondition::none) {
    record_change c;
    c.table = "contacts";
    c.id = row_id;
    c.fields.emplace_back("first_name", value{std::string{"Ada"}});
    c.who = principal{"org-a", "acct", "member"};
    c.must_be = must_be;
    return c;
  }

  test::temp_dir dir;
  schema_set schemas;
  std::unique_ptr<write_store> store;
  std::string node;
  int64_t next_ms = 0;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(pipeline_tests, fixture)

BOOST_AUTO_TEST_CASE(batches_waiting_in_the_mailbox_commit_together) {
  auto commits = std::make_shared<int>(0);
  auto clk = counting_clock(commits);
  auto wrt = sys->spawn(crdt::writer, std::move(store), clk, crdt::feed_actor{},
                        std::shared_ptr<storage_gauge>{});
  auto acks = std::make_shared<std::vector<size_t>>();
  sys->spawn([=](caf::event_based_actor* self) {
    for (int i = 0; i < 5; ++i)
      self->request(wrt, caf::infinite, write_atom::value,
                    batch_of(3, "row" + std::to_string(i)))
          .then([=](const commit_ack& a) {
            BOOST_CHECK_EQUAL(a.enqueued, a.stored);
            acks->push_back(a.stored);
          });
  });
  sched->run();
  BOOST_CHECK_EQUAL(acks->size(), 5u);
  for (auto n : *acks)
    BOOST_CHECK_EQUAL(n, 3u);
  // Five batches, one transaction: the clock heard of one commit only.
  BOOST_CHECK_EQUAL(*commits, 1);
}

// /health and /metrics read the storage status from the gauge, not from
// the writer (which may be inside a long commit): it must follow commits.
BOOST_AUTO_TEST_CASE(the_writer_publishes_its_status_after_every_commit) {
  auto commits = std::make_shared<int>(0);
  auto clk = counting_clock(commits);
  auto gauge = std::make_shared<storage_gauge>();
  auto before = store->stored_messages();
  auto wrt = sys->spawn(crdt::writer, std::move(store), clk,
                        crdt::feed_actor{}, gauge);
  sched->run();
  BOOST_CHECK_EQUAL(gauge->read().log_messages, before);
  BOOST_CHECK(!gauge->read().disk_full);
  for (int i = 0; i < 2; ++i) {
    sys->spawn([=](caf::event_based_actor* self) {
      self->request(wrt, caf::infinite, write_atom::value,
                    batch_of(3, "gauge" + std::to_string(i)))
          .then([](const commit_ack&) {});
    });
    sched->run();
    BOOST_CHECK_EQUAL(gauge->read().log_messages, before + 3u * (i + 1));
  }
}

BOOST_AUTO_TEST_CASE(a_duplicate_batch_stores_nothing) {
  auto commits = std::make_shared<int>(0);
  auto clk = counting_clock(commits);
  auto wrt = sys->spawn(crdt::writer, std::move(store), clk, crdt::feed_actor{},
                        std::shared_ptr<storage_gauge>{});
  auto b = batch_of(4, "r");
  auto acks = std::make_shared<std::vector<size_t>>();
  sys->spawn([=](caf::event_based_actor* self) {
    self->request(wrt, caf::infinite, write_atom::value, b)
        .then([=](const commit_ack& a) {
          acks->push_back(a.stored);
          self->request(wrt, caf::infinite, write_atom::value, b)
              .then([=](const commit_ack& again) {
                acks->push_back(again.stored);
              });
        });
  });
  sched->run();
  BOOST_REQUIRE_EQUAL(acks->size(), 2u);
  BOOST_CHECK_EQUAL((*acks)[0], 4u);
  BOOST_CHECK_EQUAL((*acks)[1], 0u);
}

BOOST_AUTO_TEST_CASE(the_applier_refuses_writes_over_the_bound) {
  auto received = std::make_shared<int>(0);
  auto pipe = stuck(received, 2, caf::timespan{local_write_deadline});
  auto wrt = pipe.writer;
  auto app = pipe.applier;
  std::vector<record_change> one{ada()};
  // Two batches reach the writer and stay there; the third local write is
  // refused until the writer answers.
  for (int i = 0; i < 2; ++i)
    sys->spawn([=](caf::event_based_actor* self) {
      self->request(app, caf::infinite, write_atom::value, one)
          .then([](const std::string&) {});
    });
  sched->run();
  BOOST_CHECK_EQUAL(*received, 2);
  auto refused = ask<std::string>(app, write_atom::value, one);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK(is(refused.error(), ec::overloaded));
  BOOST_CHECK_EQUAL(*received, 2);
  // A received batch is still taken (and counted): its sender already
  // paid for it.
  sys->spawn([=](caf::event_based_actor* self) {
    self->request(app, caf::infinite, apply_atom::value,
                  incoming{"other", {}, false, {}, {}})
        .then([](size_t) {});
  });
  sched->run();
  BOOST_CHECK_EQUAL(*received, 3);
  // The writer answers: the applier takes writes again.
  caf::anon_send(wrt, flush_atom::value);
  sched->run();
  sys->spawn([=](caf::event_based_actor* self) {
    self->request(app, caf::infinite, write_atom::value, one)
        .then([](const std::string&) {});
  });
  sched->run();
  BOOST_CHECK_EQUAL(*received, 4);
}

// Local writes carry no CAF request timer (two events through the clock
// thread each); the applier answers those its writer has not committed by
// their deadline itself, exactly once, and keeps counting them in flight
// until the writer does answer.
BOOST_AUTO_TEST_CASE(a_local_write_the_writer_holds_is_answered_at_its_deadline) {
  using namespace std::chrono_literals;
  auto received = std::make_shared<int>(0);
  auto pipe = stuck(received, 1, caf::timespan{5s});
  auto wrt = pipe.writer;
  auto app = pipe.applier;
  std::vector<record_change> one{ada()};
  auto answers = std::make_shared<std::vector<caf::error>>();
  auto write_one = [&] {
    sys->spawn([=](caf::event_based_actor* self) {
      self->request(app, caf::infinite, write_atom::value, one)
          .then([=](const std::string&) { answers->emplace_back(); },
                [=](caf::error& err) { answers->push_back(err); });
    });
    sched->run();
  };
  write_one();
  BOOST_CHECK_EQUAL(*received, 1);
  for (int s = 0; s < 4; ++s) {
    sched->advance_time(1s);
    sched->run();
  }
  BOOST_CHECK(answers->empty());
  sched->advance_time(2s);
  sched->run();
  BOOST_REQUIRE_EQUAL(answers->size(), 1u);
  BOOST_CHECK(is(answers->front(), ec::timeout));
  // Still in the writer: a second local write is over the bound of one.
  write_one();
  BOOST_REQUIRE_EQUAL(answers->size(), 2u);
  BOOST_CHECK(is(answers->back(), ec::overloaded));
  // The writer answers at last: nobody is answered twice, the applier
  // takes writes again, and one answered in time gets no timeout later.
  caf::anon_send(wrt, flush_atom::value);
  sched->run();
  BOOST_CHECK_EQUAL(answers->size(), 2u);
  write_one();
  BOOST_CHECK_EQUAL(*received, 2);
  caf::anon_send(wrt, flush_atom::value);
  sched->run();
  BOOST_REQUIRE_EQUAL(answers->size(), 3u);
  BOOST_CHECK(!answers->back());
  sched->advance_time(10s);
  drain();
  BOOST_CHECK_EQUAL(answers->size(), 3u);
}

// Sessions wait for the applier without a timer: an applier that ends
// while writes wait answers them, instead of leaving them unanswered.
BOOST_AUTO_TEST_CASE(an_applier_that_ends_answers_the_writes_waiting) {
  auto received = std::make_shared<int>(0);
  auto app = stuck(received, 4, caf::timespan{local_write_deadline}).applier;
  std::vector<record_change> one{ada()};
  auto answers = std::make_shared<std::vector<caf::error>>();
  for (int i = 0; i < 2; ++i)
    sys->spawn([=](caf::event_based_actor* self) {
      self->request(app, caf::infinite, write_atom::value, one)
          .then([=](const std::string&) { answers->emplace_back(); },
                [=](caf::error& err) { answers->push_back(err); });
    });
  sched->run();
  BOOST_CHECK_EQUAL(*received, 2);
  BOOST_CHECK(answers->empty());
  caf::anon_send_exit(app, caf::exit_reason::user_shutdown);
  sched->run();
  BOOST_REQUIRE_EQUAL(answers->size(), 2u);
  for (const auto& err : *answers)
    BOOST_CHECK(is(err, ec::timeout));
}

BOOST_AUTO_TEST_CASE(the_writer_checks_preconditions_inside_the_commit) {
  auto commits = std::make_shared<int>(0);
  auto clk = counting_clock(commits);
  auto* raw = store.get();
  auto wrt = sys->spawn(crdt::writer, std::move(store), clk, crdt::feed_actor{},
                        std::shared_ptr<storage_gauge>{});
  test::stamper stamps{node};
  auto batch = [&](record_change c) {
    write_batch b;
    b.messages = make_messages(c, stamps.next(message_count(c)));
    b.clock = b.messages.back().timestamp;
    if (c.must_be != precondition::none)
      b.checks.push_back({c.table, c.id, c.who.organization_id, c.must_be});
    return b;
  };
  auto create = ada(precondition::absent);
  auto again = ada(precondition::absent);
  auto other_org = ada(precondition::absent);
  other_org.who.organization_id = "org-b";
  auto remove = ada(precondition::live);
  remove.kind = record_change::remove;
  remove.fields.clear();
  auto patch = ada(precondition::live);
  patch.kind = record_change::update;
  auto foreign_patch = patch;
  foreign_patch.who.organization_id = "org-b";
  // All in one group commit, in this order: each check sees the rows the
  // batches before it wrote in the same transaction.
  std::vector<std::pair<write_batch, std::string>> plan{
      {batch(create), "ok"},          {batch(again), "conflict"},
      {batch(other_org), "conflict"}, {batch(foreign_patch), "not_found"},
      {batch(patch), "ok"},           {batch(remove), "ok"},
      {batch(patch), "not_found"},
  };
  auto outcomes = std::make_shared<std::vector<std::string>>(plan.size());
  sys->spawn([=](caf::event_based_actor* self) {
    for (size_t i = 0; i < plan.size(); ++i)
      self->request(wrt, caf::infinite, write_atom::value, plan[i].first)
          .then([=](const commit_ack&) { (*outcomes)[i] = "ok"; },
                [=](caf::error& err) {
                  (*outcomes)[i] = to_string(static_cast<ec>(err.code()));
                });
  });
  sched->run();
  for (size_t i = 0; i < plan.size(); ++i)
    BOOST_CHECK_MESSAGE((*outcomes)[i] == plan[i].second,
                        "batch " << i << ": " << (*outcomes)[i] << ", want "
                                 << plan[i].second);
  BOOST_CHECK_EQUAL(*commits, 1);
  // Only the accepted batches reached the log: create (7 messages),
  // patch (3), remove (3).
  auto count = raw->db().prepare_once("SELECT count(*) FROM crdt_messages");
  BOOST_REQUIRE(count);
  BOOST_REQUIRE_EQUAL(count->step(), SQLITE_ROW);
  BOOST_CHECK_EQUAL(count->column_int(0), 13);
}

// The applier reports a commit's queued messages only after the commit, so
// a sync round may acknowledge them before the queue hears of them: the
// count must come out the same in either order (it used to stay at 2).
BOOST_AUTO_TEST_CASE(an_acknowledgement_before_its_enqueue_leaves_no_pending) {
  timestamp start;
  start.node = node;
  auto clk = sys->spawn(crdt::clock, start, int64_t{60000}, merkle_trie{},
                        std::map<std::string, merkle_trie>{},
                        std::map<std::string, uint64_t>{});
  auto* raw = store.get();
  auto wrt = sys->spawn(crdt::writer, std::move(store), clk, crdt::feed_actor{},
                        std::shared_ptr<storage_gauge>{});
  auto que = sys->spawn(crdt::queue, uint64_t{0}, uint64_t{0},
                        reader_actor{}, wrt);
  uint64_t pending = 99;
  sys->spawn([=, &pending](caf::event_based_actor* self) {
    self->request(que, caf::infinite, ack_atom::value, outbox_ack{5, 2})
        .then([=, &pending](uint64_t) {
          self->send(que, enqueue_atom::value, uint64_t{2});
          self->request(que, caf::infinite, status_atom::value)
              .then([&](uint64_t n) { pending = n; });
        });
  });
  sched->run();
  BOOST_CHECK_EQUAL(pending, 0u);
  // The mark reached the database.
  BOOST_CHECK_EQUAL(*raw->outbox_acked(), 5u);
}

BOOST_AUTO_TEST_CASE(a_change_goes_through_clock_applier_and_writer) {
  timestamp start;
  start.node = node;
  auto clk = sys->spawn(crdt::clock, start, int64_t{60000}, merkle_trie{},
                        std::map<std::string, merkle_trie>{},
                        std::map<std::string, uint64_t>{});
  auto* raw = store.get();
  auto wrt = sys->spawn(crdt::writer, std::move(store), clk, crdt::feed_actor{},
                        std::shared_ptr<storage_gauge>{});
  auto que = sys->spawn(crdt::queue, uint64_t{0}, uint64_t{0},
                        reader_actor{}, wrt);
  auto app = sys->spawn(crdt::applier, clk, wrt, que, size_t{100},
                        caf::timespan{local_write_deadline});
  record_change c;
  c.kind = record_change::create;
  c.table = "contacts";
  c.id = "01JAR2HPE7JJS1HYQZ7FYK0S4D";
  c.fields.emplace_back("first_name", value{std::string{"Ada"}});
  c.fields.emplace_back("age", value{int64_t{36}});
  std::string first;
  sys->spawn([=, &first](caf::event_based_actor* self) {
    self->request(app, caf::infinite, write_atom::value,
                  std::vector<record_change>{c})
        .then([&](const std::string& ts) { first = ts; });
  });
  sched->run();
  auto ts = parse_timestamp(first);
  BOOST_REQUIRE(ts);
  BOOST_CHECK_EQUAL(ts->node, node);
  // The clock's trie now matches the one the writer persisted.
  clock_status st;
  sys->spawn([=, &st](caf::event_based_actor* self) {
    self->request(clk, caf::infinite, status_atom::value)
        .then([&](const clock_status& s) { st = s; });
  });
  sched->run();
  auto persisted = raw->load_merkle();
  BOOST_REQUIRE(persisted);
  BOOST_CHECK_NE(st.merkle_hash, 0);
  BOOST_CHECK_EQUAL(st.merkle_hash, persisted->signed_hash());
  // 2 fields + 6 system fields.
  auto count = raw->db().prepare_once("SELECT count(*) FROM crdt_messages");
  BOOST_REQUIRE(count);
  BOOST_REQUIRE_EQUAL(count->step(), SQLITE_ROW);
  BOOST_CHECK_EQUAL(count->column_int(0), 8);
  // The applier told the queue about the 8 queued messages.
  uint64_t pending = 0;
  sys->spawn([=, &pending](caf::event_based_actor* self) {
    self->request(que, caf::infinite, status_atom::value).then([&](uint64_t n) {
      pending = n;
    });
  });
  sched->run();
  BOOST_CHECK_EQUAL(pending, 8u);
}

BOOST_AUTO_TEST_CASE(a_big_received_batch_does_not_overflow_the_clock) {
  timestamp start;
  start.node = node;
  start.millis = wall_clock_ms();
  auto clk = sys->spawn(crdt::clock, start, int64_t{60000}, merkle_trie{},
                        std::map<std::string, merkle_trie>{},
                        std::map<std::string, uint64_t>{});
  // 70,000 messages from the past, all older than the clock.
  std::vector<std::string> stamps;
  hlc other;
  other.last.node = "bbbbbbbbbbbbbbbb";
  for (int i = 0; i < 70000; ++i)
    stamps.push_back(to_string(*send(other, start.millis - 5000 + i / 1000)));
  std::string after;
  caf::error failed;
  sys->spawn([=, &after, &failed](caf::event_based_actor* self) {
    self->request(clk, caf::infinite, recv_atom::value, stamps)
        .then([&](const std::string& s) { after = s; },
              [&](caf::error& err) { failed = err; });
  });
  sched->run();
  BOOST_CHECK_MESSAGE(!failed, describe(failed));
  BOOST_REQUIRE(!after.empty());
  BOOST_CHECK_GT(after, stamps.back());
  // A message too far ahead is refused, whatever comes with it.
  auto future
      = to_string(timestamp{wall_clock_ms() + 120000, 0, "cccccccccccccccc"});
  sys->spawn([=, &failed](caf::event_based_actor* self) {
    self->request(clk, caf::infinite, recv_atom::value,
                  std::vector<std::string>{stamps.front(), future})
        .then([](const std::string&) {},
              [&](caf::error& err) { failed = err; });
  });
  sched->run();
  BOOST_CHECK(is(failed, ec::clock_drift));
}

BOOST_AUTO_TEST_SUITE_END()
