// Guarantees that slower suites only catch by accident, each held by a
// test of its own (found by mutating the code: each mutant passed
// everything before these existed):
// - at-least-once: the outbox keeps every message until the hub answered
//   ok, across rounds that fail before or after the hub stored them;
// - the clock moves past the greatest stamp of an unsorted batch from the
//   future, not its first or smallest;
// - a hub never sends a caller its own messages back.

#include "tests/actors/sync_fixture.hpp"

#include <algorithm>

using namespace crdt;
using namespace crdt::test;

namespace {

record_change create(int i) {
  record_change c;
  c.kind = record_change::create;
  c.table = "contacts";
  c.id = make_ulid(1700000000000 + i);
  c.fields.emplace_back("first_name", value{"n" + std::to_string(i)});
  return c;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(guarantee_tests, sync_fixture)

BOOST_AUTO_TEST_CASE(the_outbox_keeps_every_message_until_the_hub_says_ok) {
  auto& hub = make_node("hub");
  std::mt19937 rng{7};
  auto t = std::make_shared<fake_transport>(*sys, hub.svc().hub, rng, 0.0, 0.0);
  auto& a = make_node("a", t);
  for (int i = 0; i < 5; ++i)
    write(a, create(i));
  auto before = pending(a);
  BOOST_REQUIRE_GE(before, 5u);
  // The hub is unreachable: nothing leaves, nothing is forgotten.
  t->down = true;
  for (int i = 0; i < 3; ++i) {
    sync_now(a);
    BOOST_CHECK_EQUAL(pending(a), before);
    BOOST_CHECK(!status_of(a).ok);
  }
  // The hub stores the messages but its answers are lost: still pending,
  // since the node cannot know they arrived.
  t->down = false;
  t->drop = 1.0;
  for (int i = 0; i < 3; ++i) {
    sync_now(a);
    BOOST_CHECK_EQUAL(pending(a), before);
  }
  BOOST_CHECK_EQUAL(dump(hub), dump(a));
  // One round that ends well empties the outbox.
  t->drop = 0.0;
  sync_now(a);
  BOOST_CHECK(status_of(a).ok);
  BOOST_CHECK_EQUAL(pending(a), 0u);
  BOOST_CHECK_EQUAL(dump(hub), dump(a));
  BOOST_CHECK_EQUAL(root(hub), root(a));
}

BOOST_AUTO_TEST_CASE(a_batch_from_the_future_moves_the_clock_past_its_largest) {
  auto& a = make_node("a");
  auto now = wall_clock_ms();
  std::vector<std::string> stamps;
  std::vector<message> msgs;
  int i = 0;
  for (int ahead : {7, 30, 1, 19, 12}) {
    stamps.push_back(to_string(
        timestamp{now + ahead * 1000, 3, "00000000000000ff"}));
    msgs.push_back({stamps.back(), "contacts", make_ulid(now + i++),
                    "first_name", value{"x"}});
  }
  auto largest = *std::max_element(stamps.begin(), stamps.end());
  BOOST_REQUIRE_NE(largest, stamps.front());
  // The clock's own answer to the merge...
  auto merged = ask<std::string>(a.svc().clock, recv_atom::value, stamps);
  BOOST_REQUIRE(merged);
  BOOST_CHECK_GT(*merged, largest);
  // ... and the next local stamp.
  auto next = ask<std::vector<std::string>>(a.svc().clock, stamp_atom::value,
                                            uint32_t{1});
  BOOST_REQUIRE(next);
  BOOST_CHECK_GT(next->front(), largest);
  // The same through the path received messages take, on a fresh node.
  auto& b = make_node("b");
  std::reverse(msgs.begin(), msgs.end());
  auto stored = ask<size_t>(b.svc().applier, apply_atom::value,
                            incoming{{}, msgs, false, {}, {}});
  BOOST_REQUIRE_MESSAGE(stored, why(stored));
  BOOST_CHECK_EQUAL(*stored, msgs.size());
  next = ask<std::vector<std::string>>(b.svc().clock, stamp_atom::value,
                                       uint32_t{1});
  BOOST_REQUIRE(next);
  BOOST_CHECK_GT(next->front(), largest);
}

BOOST_AUTO_TEST_CASE(a_hub_never_sends_a_node_its_own_messages) {
  auto& hub = make_node("hub");
  std::mt19937 rng{11};
  auto t = std::make_shared<fake_transport>(*sys, hub.svc().hub, rng, 0.0, 0.0);
  auto& a = make_node("a", t);
  for (int i = 0; i < 20; ++i)
    write(a, create(i));
  sync_now(a);
  BOOST_REQUIRE(status_of(a).ok);
  BOOST_CHECK_EQUAL(pending(a), 0u);
  // The hub now holds A's messages and nothing else: A pulls nothing,
  // neither in that round nor in the next.
  BOOST_CHECK_EQUAL(status_of(a).messages_received, 0u);
  sync_now(a);
  BOOST_CHECK_EQUAL(status_of(a).messages_received, 0u);
  BOOST_CHECK_EQUAL(root(hub), root(a));
}

BOOST_AUTO_TEST_SUITE_END()
