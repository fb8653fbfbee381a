// The SQLite hub actor answering /sync bodies directly: a stream cursor the
// hub cannot have handed out (past its head, as after the hub's database was
// restored from a backup) starts the stream over instead of skipping the
// messages numbered again below it.

#include "tests/actors/sync_fixture.hpp"

#include "protocol/exchange.hpp"
#include "protocol/schema_defs.hpp"

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

// A hub that only relays a group does not check its table definitions
// (it has none of that group's tables), so a definition a node of this
// version finds malformed (from a crdt-example-app client, or a version
// with other field rules) can reach a node through it. The node stores it
// and ignores it, as its writer does with such definitions; it used to
// refuse the whole page, every round, and so never got past it.
BOOST_AUTO_TEST_CASE(a_malformed_definition_from_a_relay_does_not_stop_sync) {
  auto& relay = make_node("relay", nullptr, 1000, 512 * 1024, "other");
  std::mt19937 rng{7};
  auto transport
      = std::make_shared<fake_transport>(*sys, relay.svc().hub, rng, 0.0, 0.0);
  auto& n = make_node("n", transport);
  auto now = wall_clock_ms();
  exchange_request push;
  push.group_id = "g";
  push.client_id = "bbbbbbbbbbbbbbbb";
  push.messages.push_back({to_string(timestamp{now - 2000, 0,
                                               "bbbbbbbbbbbbbbbb"}),
                           schema_dataset, "contacts", "nickname",
                           value{std::string{"not a definition"}}});
  push.messages.push_back({to_string(timestamp{now - 1000, 0,
                                               "bbbbbbbbbbbbbbbb"}),
                           "contacts", "01JBHKXHYSKPP247HZZWHA3JCT",
                           "first_name", value{std::string{"after it"}}});
  auto body = ask<std::string>(relay.svc().hub, sync_atom::value,
                               write_exchange_request(push, 0));
  BOOST_REQUIRE_MESSAGE(body, why(body));
  drain();
  sync_now(n);
  auto st = status_of(n);
  BOOST_CHECK_MESSAGE(st.ok, st.error);
  BOOST_CHECK_NE(dump(n).find("after it"), std::string::npos);
  // Both are in the log: the tries agree.
  sync_now(n);
  BOOST_CHECK(status_of(n).ok);
  auto hub_root = ask<stream_head>(relay.svc().clock, head_atom::value,
                                   std::string{"g"});
  BOOST_REQUIRE(hub_root);
  BOOST_CHECK_EQUAL(root(n), hub_root->root);
  // The node then syncs with a hub of the group, which never had that
  // definition: its repair pushes it there, and that hub stores and
  // ignores it too. (It answered 400 to every such push: the node's
  // repair failed every round, and the range's other messages never went
  // up.)
  auto& member = make_node("member");
  transport->hub = member.svc().hub;
  sync_now(n);
  sync_now(n);
  st = status_of(n);
  BOOST_CHECK_MESSAGE(st.ok, st.error);
  BOOST_CHECK_EQUAL(root(member), root(n));
  BOOST_CHECK_NE(dump(member).find("after it"), std::string::npos);
}

// The hub behind SYNC_ENDPOINT may change format (the setting changed
// during a round, or a balancer has one backend of the crdt-example-app
// format): the node probes again after a round that found the other
// format in the middle of an exchange. It used to keep the format it had
// learned and fail every round until it restarted.
BOOST_AUTO_TEST_CASE(a_hub_that_changes_format_is_probed_again) {
  auto& hub = make_node("hub");
  std::mt19937 rng{11};
  auto transport
      = std::make_shared<fake_transport>(*sys, hub.svc().hub, rng, 0.0, 0.0);
  auto& n = make_node("n", transport);
  sync_now(n);
  BOOST_REQUIRE(status_of(n).ok);
  BOOST_CHECK_EQUAL(status_of(n).protocol, "exchange");
  transport->legacy = true; // now answers in the crdt-example-app format
  sync_now(n);
  BOOST_CHECK(!status_of(n).ok);
  sync_now(n);
  auto st = status_of(n);
  BOOST_CHECK_MESSAGE(st.ok, st.error);
  BOOST_CHECK_EQUAL(st.protocol, "legacy");
}

// An answer to a call made before SYNC_ENDPOINT changed comes from the old
// hub: it says nothing about the new one's format (it used to mark the new
// endpoint as a hub of the crdt-example-app format, also for the next
// start).
BOOST_AUTO_TEST_CASE(an_answer_from_the_previous_endpoint_is_not_used) {
  auto& hub = make_node("hub");
  std::mt19937 rng{19};
  auto transport
      = std::make_shared<fake_transport>(*sys, hub.svc().hub, rng, 0.0, 0.0);
  transport->legacy = true;
  auto& n = make_node("n", transport);
  transport->during = [&] {
    transport->during = nullptr;
    caf::anon_send(n.svc().sync, config_atom::value,
                   std::string{"SYNC_ENDPOINT"},
                   std::string{"http://other.invalid"});
  };
  sync_now(n);
  auto st = status_of(n);
  BOOST_CHECK(!st.ok);
  BOOST_CHECK_NE(st.error.find("changed during the call"), std::string::npos);
  BOOST_CHECK_NE(st.protocol, "legacy");
}

// A hub keeps a trie per group it relays. Calls that only read (a pull, a
// compare) for a group nothing was stored for used to add an empty one
// each, so a client looping over made-up group ids grew the hub's memory.
BOOST_AUTO_TEST_CASE(reading_unknown_groups_adds_no_trie) {
  auto& hub = make_node("hub");
  auto groups = [&] {
    auto cs = ask<clock_status>(hub.svc().clock, status_atom::value);
    BOOST_REQUIRE(cs);
    return cs->relayed_groups;
  };
  for (int i = 0; i < 200; ++i) {
    exchange_request pull;
    pull.group_id = "made-up-" + std::to_string(i);
    pull.client_id = "cccccccccccccccc";
    pull.after = 0;
    pull.compare = {{"", 12345}};
    auto body = ask<std::string>(hub.svc().hub, sync_atom::value,
                                 write_exchange_request(pull, 0));
    BOOST_REQUIRE_MESSAGE(body, why(body));
  }
  BOOST_CHECK_EQUAL(groups(), 0u);
  // A stored message makes one.
  exchange_request push;
  push.group_id = "real";
  push.client_id = "aaaaaaaaaaaaaaaa";
  push.messages.push_back({to_string(timestamp{wall_clock_ms() - 1000, 0,
                                               "aaaaaaaaaaaaaaaa"}),
                           "contacts", "r1", "first_name",
                           value{std::string{"x"}}});
  BOOST_REQUIRE(ask<std::string>(hub.svc().hub, sync_atom::value,
                                 write_exchange_request(push, 0)));
  drain();
  BOOST_CHECK_EQUAL(groups(), 1u);
}

BOOST_AUTO_TEST_SUITE_END()
