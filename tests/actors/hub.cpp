// The SQLite hub actor answering /sync bodies directly: a stream cursor the
// hub cannot have handed out (past its head, as after the hub's database was
// restored from a backup) starts the stream over instead of skipping the
// messages numbered again below it.

#include "tests/actors/sync_fixture.hpp"

#include "protocol/exchange.hpp"

using namespace crdt;
using namespace crdt::test;

BOOST_FIXTURE_TEST_SUITE(hub_tests, sync_fixture)

BOOST_AUTO_TEST_CASE(a_cursor_past_the_head_starts_the_stream_over) {
  auto& hub = make_node("hub");
  auto call = [&](const exchange_request& req) {
    auto body = ask<std::string>(hub.svc().hub, sync_atom::value,
                                 write_exchange_request(req, 0));
    BOOST_REQUIRE_MESSAGE(body, why(body));
    auto ans = parse_sync_answer(*body);
    BOOST_REQUIRE(ans);
    return std::get<exchange_answer>(std::move(*ans));
  };
  auto now = wall_clock_ms();
  exchange_request push;
  push.group_id = "relayed";
  push.client_id = "aaaaaaaaaaaaaaaa";
  for (uint32_t i = 0; i < 5; ++i)
    push.messages.push_back({to_string(timestamp{now - 1000, i,
                                                 "aaaaaaaaaaaaaaaa"}),
                             "contacts", "r1", "first_name",
                             value{std::string{"x"}}});
  auto stored = call(push);
  drain();
  exchange_request pull;
  pull.group_id = "relayed";
  pull.client_id = "cccccccccccccccc";
  pull.hub = stored.hub;
  pull.after = stored.head + 100; // a cursor from before a restore
  auto ans = call(pull);
  BOOST_CHECK_EQUAL(ans.messages.size(), 5u);
  BOOST_CHECK_EQUAL(ans.next, stored.head);
  // A cursor at the head still finds nothing new.
  pull.after = ans.next;
  BOOST_CHECK(call(pull).messages.empty());
}

BOOST_AUTO_TEST_SUITE_END()
