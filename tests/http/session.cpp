// The session actor through its reply_sink, on a whole node built by the
// composition root and run on CAF's deterministic scheduler: who may call
// which route, records scoped to the caller's organization, and writes of
// two organizations racing on one record.

#include "http/session.hpp"

#include "app/node.hpp"
#include "auth/accounts.hpp"
#include "auth/credentials.hpp"
#include "http/api.hpp"

#include <caf/all.hpp>

#include "tests/support.hpp"

#include <boost/test/unit_test.hpp>

#include <rapidjson/document.h>

#include <ctime>
#include <map>
#include <set>
#include <thread>

using namespace crdt;
using test::why;

namespace {

const std::string default_org = "01JAR2HPE7JJS1HYQZ7FYK0D00";
const std::string org_a = "01JAR2HPE7JJS1HYQZ7FYK0A00";
const std::string org_b = "01JAR2HPE7JJS1HYQZ7FYK0B00";
const std::string operator_id = "01JAR2HPE7JJS1HYQZ7FYKDD01";
const std::string admin_a = "01JAR2HPE7JJS1HYQZ7FYKAA01";
const std::string member_a = "01JAR2HPE7JJS1HYQZ7FYKAA02";
const std::string admin_b = "01JAR2HPE7JJS1HYQZ7FYKAB01";
const std::string token_key = "0123456789abcdef0123456789abcdef";
const std::string note_id = "01JAR2HPE7JJS1HYQZ7FYKNA01";

/// Collects the replies of one connection by request number.
struct recording_sink : reply_sink {
  void send(uint64_t seq, http_reply reply) override {
    ++sends[seq];
    replies[seq] = std::move(reply);
  }
  /// How many replies each request got (one, always).
  std::map<uint64_t, int> sends;
  void push(uint64_t seq, std::string bytes, bool last, bool) override {
    streamed[seq] += bytes;
    if (last)
      ended.insert(seq);
  }
  std::map<uint64_t, http_reply> replies;
  /// What streamed answers (the change feed) wrote, and which ended.
  std::map<uint64_t, std::string> streamed;
  std::set<uint64_t> ended;
};

struct fixture : test::test_system {
  fixture() : dir("session") {
    node_options o;
    o.store = test::test_store(dir.file("db.sqlite"));
    o.schemas = test::make_schemas({{"notes", R"({"type":"object",
      "properties":{"title":{"type":"string"},"body":{"type":"string"}}})"}});
    o.info = {"g", "Test", default_org, "", token_key, ""};
    o.readers = 2;
    o.feed.max_subscribers = 3;
    // A deleted account's kept-alive connections and streams notice it
    // within a second here (30 s by default).
    o.account_recheck_seconds = 1;
    o.detach = false;
    auto spawned = spawn_node(*sys, std::move(o));
    BOOST_REQUIRE_MESSAGE(spawned, why(spawned));
    n = std::move(*spawned);
    sched->run();
    // Three organizations and their accounts (the hashes are never
    // checked: the tests sign their tokens themselves).
    auto by = [](const std::string& org, const std::string& id) {
      return principal{org, id, admin_role};
    };
    commit(
        {make_organization(default_org, "Default", by("", operator_id)),
         make_organization(org_a, "A", by("", admin_a)),
         make_organization(org_b, "B", by("", admin_b)),
         make_account(operator_id, "op@x.org", "h", admin_role,
                      by(default_org, operator_id)),
         make_account(admin_a, "a@x.org", "h", admin_role, by(org_a, admin_a)),
         make_account(member_a, "m@x.org", "h", member_role,
                      by(org_a, admin_a)),
         make_account(admin_b, "b@x.org", "h", admin_role,
                      by(org_b, admin_b))});
  }

  ~fixture() {
    n = {};
    drain();
    sys.reset();
  }

  void commit(std::vector<record_change> changes) {
    auto r = ask<std::string>(n.svc().applier, write_atom::value, changes);
    BOOST_REQUIRE_MESSAGE(r, why(r));
  }

  /// A connection: its session actor and what it was answered.
  struct connection {
    session_actor actor;
    std::shared_ptr<recording_sink> sink;
    std::string token;
    uint64_t next = 0;
  };

  connection connect(const std::string& org, const std::string& account,
                     const std::string& role, int64_t ttl = 600) {
    connection c;
    c.sink = std::make_shared<recording_sink>();
    c.actor = sys->spawn(session, n.shared(), c.sink);
    token_claims claims{account, org, role, "g", 0, 0};
    claims.issued_at = static_cast<int64_t>(std::time(nullptr));
    claims.expires_at = claims.issued_at + ttl;
    auto token = sign_token(claims, token_key);
    BOOST_REQUIRE(token);
    c.token = *token;
    return c;
  }

  /// Sends a request without running the scheduler; answers its number.
  uint64_t send(connection& c, const std::string& method,
                const std::string& target, const std::string& body = {},
                bool with_token = true, const std::string& peer = "10.1.2.3") {
    http_request req;
    req.seq = c.next++;
    req.method = method;
    req.target = target;
    req.body = body;
    req.peer = peer;
    // What the connection decides for a request without proxy headers.
    req.local = loopback_address(peer);
    if (with_token)
      req.authorization = "Bearer " + c.token;
    caf::anon_send(c.actor, std::move(req));
    return req.seq;
  }

  /// Sends a request, runs the node and answers the reply.
  http_reply call(connection& c, const std::string& method,
                  const std::string& target, const std::string& body = {},
                  bool with_token = true,
                  const std::string& peer = "10.1.2.3") {
    auto seq = send(c, method, target, body, with_token, peer);
    sched->run();
    return reply(c, seq);
  }

  /// Tells a session what the feed sends when it cannot read the log.
  static void feed_failure(const connection& c) {
    auto failed = std::make_shared<feed_batch>();
    failed->failed = true;
    caf::anon_send(c.actor, feed_atom::value, feed_batch_ptr{failed});
  }

  static http_reply reply(const connection& c, uint64_t seq) {
    auto it = c.sink->replies.find(seq);
    BOOST_REQUIRE_MESSAGE(it != c.sink->replies.end(), "no reply to " << seq);
    return it->second;
  }

  /// Rows a list answers, by id.
  static std::map<std::string, std::string> rows(const http_reply& r,
                                                 const char* field) {
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    BOOST_REQUIRE(!d.HasParseError() && d.HasMember("data"));
    std::map<std::string, std::string> out;
    for (const auto& row : d["data"].GetArray())
      out[row["id"].GetString()] = row.HasMember(field) && row[field].IsString()
                                       ? row[field].GetString()
                                       : "";
    return out;
  }

  /// Timestamps of the logged messages of a record's column, in order.
  std::vector<std::string> stamps_of(const std::string& id,
                                     const std::string& column) {
    auto r = test::open_reader(dir.file("db.sqlite"), *n.svc().catalog->tables());
    auto s = r->db().prepare_once(
        "SELECT ts FROM crdt_messages WHERE row_id = ?1 AND col = ?2 "
        "ORDER BY ts");
    BOOST_REQUIRE(s);
    s->bind(1, std::string_view{id});
    s->bind(2, std::string_view{column});
    std::vector<std::string> out;
    while (s->step() == SQLITE_ROW)
      out.emplace_back(s->column_text(0));
    return out;
  }

  test::temp_dir dir;
  crdt::node n;
};

std::string note(const std::string& title, const std::string& id = {}) {
  return R"({"data":{"title":")" + title + "\""
         + (id.empty() ? "" : R"(,"id":")" + id + "\"") + "}}";
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(session_tests, fixture)

BOOST_AUTO_TEST_CASE(each_route_checks_who_calls_it) {
  auto a = connect(org_a, admin_a, admin_role);
  auto m = connect(org_a, member_a, member_role);
  auto op = connect(default_org, operator_id, admin_role);
  // Public routes need no token; the rest do.
  BOOST_CHECK_EQUAL(call(a, "GET", "/health", {}, false).status, 200u);
  auto none = call(a, "GET", "/store/notes", {}, false);
  BOOST_CHECK_EQUAL(none.status, 401u);
  BOOST_CHECK_EQUAL(call(a, "GET", "/store/notes").status, 200u);
  // Admin routes: 403 for a member, fine for its admin.
  BOOST_CHECK_EQUAL(call(m, "GET", "/auth/accounts").status, 403u);
  BOOST_CHECK_EQUAL(call(a, "GET", "/auth/accounts").status, 200u);
  // Node routes: only an admin of the default organization.
  BOOST_CHECK_EQUAL(call(a, "GET", "/config/config_sync").status, 403u);
  BOOST_CHECK_EQUAL(call(op, "GET", "/config/config_sync").status, 200u);
  BOOST_CHECK_EQUAL(
      call(
          a, "POST", "/auth/organizations",
          R"({"data":{"name":"C","admin_email":"c@x.org","admin_password":"long enough"}})")
          .status,
      403u);
  // /sync without a secret: this machine only.
  BOOST_CHECK_EQUAL(call(a, "POST", "/sync", "{}", false).status, 401u);
  BOOST_CHECK_EQUAL(call(a, "POST", "/sync", "{}", false, "127.0.0.1").status,
                    400u);
  // Unknown paths and wrong methods.
  BOOST_CHECK_EQUAL(call(a, "GET", "/nope").status, 404u);
  auto wrong = call(a, "PUT", "/store/notes/x");
  BOOST_CHECK_EQUAL(wrong.status, 405u);
  BOOST_REQUIRE_EQUAL(wrong.headers.size(), 1u);
  BOOST_CHECK_EQUAL(wrong.headers[0].second, "GET, PATCH, DELETE");
  // A token whose account was deleted stops working on a new connection.
  BOOST_CHECK_EQUAL(call(a, "DELETE", "/auth/accounts/" + member_a).status,
                    200u);
  auto gone = connect(org_a, member_a, member_role);
  BOOST_CHECK_EQUAL(call(gone, "GET", "/store/notes").status, 401u);
}

BOOST_AUTO_TEST_CASE(reads_and_writes_stay_in_the_callers_organization) {
  auto a = connect(org_a, admin_a, admin_role);
  auto b = connect(org_b, admin_b, admin_role);
  BOOST_REQUIRE_EQUAL(
      call(a, "POST", "/store/notes", note("a's", note_id)).status, 201u);
  BOOST_CHECK_EQUAL(call(a, "GET", "/store/notes/" + note_id).status, 200u);
  BOOST_CHECK_EQUAL(call(b, "GET", "/store/notes/" + note_id).status, 404u);
  BOOST_CHECK(rows(call(b, "GET", "/store/notes"), "title").empty());
  BOOST_CHECK_EQUAL(rows(call(a, "GET", "/store/notes"), "title").size(), 1u);
  BOOST_CHECK_EQUAL(
      call(b, "PATCH", "/store/notes/" + note_id, note("b's")).status, 404u);
  BOOST_CHECK_EQUAL(call(b, "DELETE", "/store/notes/" + note_id).status, 404u);
  BOOST_CHECK_EQUAL(
      call(b, "POST", "/store/notes", note("b's", note_id)).status, 409u);
  auto mine = rows(call(a, "GET", "/store/notes"), "title");
  BOOST_CHECK_EQUAL(mine[note_id], "a's");
}

BOOST_AUTO_TEST_CASE(two_organizations_creating_one_id_at_once) {
  // Both creates are in flight before either commits: exactly one wins,
  // and the other organization's fields never land in the winner's record.
  for (int round = 0; round < 20; ++round) {
    auto id = "01JAR2HPE7JJS1HYQZ7FYKR" + std::to_string(100 + round);
    auto a = connect(org_a, admin_a, admin_role);
    auto b = connect(org_b, admin_b, admin_role);
    // Alternate who goes first.
    auto& first = round % 2 ? a : b;
    auto& second = round % 2 ? b : a;
    auto s1 = send(first, "POST", "/store/notes", note("first", id));
    auto s2 = send(second, "POST", "/store/notes", note("second", id));
    sched->run();
    auto r1 = reply(first, s1);
    auto r2 = reply(second, s2);
    BOOST_TEST_CONTEXT("round " << round) {
      BOOST_CHECK_EQUAL(std::min(r1.status, r2.status), 201u);
      BOOST_CHECK_EQUAL(std::max(r1.status, r2.status), 409u);
      auto& winner = r1.status == 201 ? first : second;
      auto& loser = r1.status == 201 ? second : first;
      auto want = r1.status == 201 ? "first" : "second";
      BOOST_CHECK_EQUAL(rows(call(winner, "GET", "/store/notes"), "title")[id],
                        want);
      BOOST_CHECK_EQUAL(call(loser, "GET", "/store/notes/" + id).status, 404u);
      // One create's messages in the log, not two.
      BOOST_CHECK_EQUAL(stamps_of(id, "title").size(), 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_patch_racing_a_delete_is_never_acknowledged_after_it) {
  for (int round = 0; round < 20; ++round) {
    auto id = "01JAR2HPE7JJS1HYQZ7FYKD" + std::to_string(100 + round);
    auto a1 = connect(org_a, admin_a, admin_role);
    auto a2 = connect(org_a, admin_a, admin_role);
    BOOST_REQUIRE_EQUAL(call(a1, "POST", "/store/notes", note("v1", id)).status,
                        201u);
    auto& patcher = a1;
    auto& deleter = a2;
    // Alternate which of the two is sent first.
    uint64_t p = 0, d = 0;
    if (round % 2) {
      p = send(patcher, "PATCH", "/store/notes/" + id, note("v2"));
      d = send(deleter, "DELETE", "/store/notes/" + id);
    } else {
      d = send(deleter, "DELETE", "/store/notes/" + id);
      p = send(patcher, "PATCH", "/store/notes/" + id, note("v2"));
    }
    sched->run();
    auto patched = reply(patcher, p);
    auto deleted = reply(deleter, d);
    BOOST_TEST_CONTEXT("round " << round) {
      BOOST_CHECK_EQUAL(deleted.status, 200u);
      auto titles = stamps_of(id, "title");
      auto tombstones = stamps_of(id, "tombstone");
      BOOST_REQUIRE_EQUAL(tombstones.size(), 2u); // created 0, deleted 1
      if (patched.status == 200) {
        // Acknowledged, so it committed while the record was live.
        BOOST_REQUIRE_EQUAL(titles.size(), 2u);
        BOOST_CHECK_LT(titles.back(), tombstones.back());
      } else {
        // Refused: the delete came first and nothing of it was stored.
        BOOST_CHECK_EQUAL(patched.status, 404u);
        BOOST_CHECK_EQUAL(titles.size(), 1u);
      }
    }
  }
}

// -- the change feed ------------------------------------------------------------

namespace {

// The ids of the records a stream's change events carried, in order.
std::vector<std::string> streamed_ids(const std::string& stream) {
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = stream.find("data: {\"id\":\"", at)) != std::string::npos) {
    at += 13;
    out.push_back(stream.substr(at, stream.find('"', at) - at));
  }
  return out;
}

std::string created_id(const http_reply& r) {
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  BOOST_REQUIRE(d.IsObject() && d.HasMember("data"));
  return d["data"][0]["id"].GetString();
}

} // namespace

BOOST_AUTO_TEST_CASE(a_stream_catches_up_then_follows_its_organization) {
  auto a = connect(org_a, admin_a, admin_role);
  auto b = connect(org_b, admin_b, admin_role);
  auto first = created_id(call(a, "POST", "/store/notes", note("one")));
  call(b, "POST", "/store/notes", note("other organization"));
  // From the start of the log: the catch-up, then up-to-date.
  auto watcher = connect(org_a, member_a, member_role);
  auto seq = send(watcher, "GET", "/store/notes/changes?since=0");
  sched->run();
  auto head = reply(watcher, seq);
  BOOST_TEST(head.stream);
  BOOST_TEST(head.status == 200u);
  // The catch-up page waits until the connection wrote it out.
  BOOST_TEST(watcher.sink->streamed[seq].find("up-to-date")
             == std::string::npos);
  caf::anon_send(watcher.actor, drained_atom::value);
  sched->run();
  const auto& stream = watcher.sink->streamed[seq];
  BOOST_TEST(streamed_ids(stream) == std::vector<std::string>{first});
  BOOST_TEST(stream.find("event: up-to-date") != std::string::npos);
  // Live: a record of A appears, one of B does not, a deletion is its own
  // event.
  auto second = created_id(call(a, "POST", "/store/notes", note("two")));
  call(b, "POST", "/store/notes", note("not for A"));
  call(a, "DELETE", "/store/notes/" + first);
  sched->run();
  BOOST_TEST(streamed_ids(watcher.sink->streamed[seq])
             == (std::vector<std::string>{first, second, first}));
  BOOST_TEST(watcher.sink->streamed[seq].find("event: delete\nid: ")
             != std::string::npos);
  // Quiet: a heartbeat comment.
  sched->trigger_timeouts();
  sched->run();
  BOOST_TEST(watcher.sink->streamed[seq].find("\n:\n\n") != std::string::npos);
  BOOST_TEST(watcher.sink->ended.empty());
  // The feed cannot read the log: the stream ends with an error event.
  feed_failure(watcher);
  sched->run();
  BOOST_TEST(watcher.sink->ended.count(seq) == 1u);
  BOOST_TEST(watcher.sink->streamed[seq].find("event: error") != std::string::npos);
  caf::anon_send_exit(watcher.actor, caf::exit_reason::user_shutdown);
  sched->run();
}

BOOST_AUTO_TEST_CASE(a_long_poll_answers_changes_or_waits_for_them) {
  auto a = connect(org_a, admin_a, admin_role);
  auto rec = created_id(call(a, "POST", "/store/notes", note("one")));
  auto poller = connect(org_a, member_a, member_role);
  auto r = call(poller, "GET",
                "/store/notes/changes?feed=longpoll&since=0&pluck=title");
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  BOOST_REQUIRE(d.IsObject());
  BOOST_REQUIRE_EQUAL(d["count"].GetUint(), 1u);
  BOOST_TEST(d["data"][0]["record"]["id"].GetString() == rec);
  BOOST_TEST(d["data"][0]["record"]["title"].GetString() == "one");
  BOOST_TEST(!d["data"][0]["record"].HasMember("created_at"));
  std::string last = d["last_event_id"].GetString();
  BOOST_TEST(!last.empty());
  // Nothing newer: the poll waits, and a new record answers it.
  auto seq = send(poller, "GET",
                  "/store/notes/changes?feed=longpoll&since=" + last);
  sched->run();
  BOOST_TEST(poller.sink->replies.count(seq) == 0u);
  auto two = created_id(call(a, "POST", "/store/notes", note("two")));
  sched->run();
  auto live = reply(poller, seq);
  d.Parse(live.body.c_str());
  BOOST_REQUIRE_EQUAL(d["count"].GetUint(), 1u);
  BOOST_TEST(d["data"][0]["id"].GetString() != last);
  BOOST_TEST(d["data"][0]["record"]["id"].GetString() == two);
  // Nothing at all before the time is up: an empty answer to resume from.
  last = d["last_event_id"].GetString();
  seq = send(poller, "GET",
             "/store/notes/changes?feed=longpoll&timeout=1&since=" + last);
  sched->run();
  sched->trigger_timeouts();
  sched->run();
  d.Parse(reply(poller, seq).body.c_str());
  BOOST_TEST(d["count"].GetUint() == 0u);
  BOOST_TEST(d["last_event_id"].GetString() == last);
}

BOOST_AUTO_TEST_CASE(feed_requests_are_checked_and_bounded) {
  auto a = connect(org_a, admin_a, admin_role);
  BOOST_TEST(call(a, "GET", "/store/nope/changes").status == 404u);
  BOOST_TEST(call(a, "GET", "/store/notes/changes?since=yesterday").status
             == 400u);
  BOOST_TEST(call(a, "GET", "/store/notes/changes?pluck=nope").status
             == 400u);
  BOOST_TEST(call(a, "GET", "/store/notes/changes?limit=5").status == 400u);
  BOOST_TEST(call(a, "GET", "/store/notes/changes?feed=websocket").status
             == 400u);
  BOOST_TEST(call(a, "GET", "/store/notes/changes", {}, false).status
             == 401u);
  // At most three subscribers (the fixture's limit): the fourth gets 503.
  std::vector<connection> polls;
  for (int i = 0; i < 4; ++i) {
    polls.push_back(connect(org_a, member_a, member_role));
    send(polls.back(), "GET", "/store/notes/changes?feed=longpoll");
    sched->run();
  }
  BOOST_TEST(polls[3].sink->replies.at(0).status == 503u);
  for (int i = 0; i < 3; ++i)
    BOOST_TEST(polls[i].sink->replies.count(0) == 0u);
  // One ends: a place is free again.
  caf::anon_send_exit(polls[0].actor, caf::exit_reason::user_shutdown);
  sched->run();
  auto again = connect(org_a, member_a, member_role);
  send(again, "GET", "/store/notes/changes?feed=longpoll&timeout=0");
  sched->run();
  sched->trigger_timeouts();
  sched->run();
  BOOST_TEST(again.sink->replies.at(0).status == 200u);
  for (auto& p : polls)
    caf::anon_send_exit(p.actor, caf::exit_reason::user_shutdown);
  sched->run();
}

// A long poll whose client leaves while its subscription is still being
// made is answered at once (empty); when the subscription then fails, that
// is not a second answer to the same request (it was: the second reply
// was queued for a request already answered).
BOOST_AUTO_TEST_CASE(a_long_poll_is_answered_once) {
  std::vector<connection> polls;
  for (int i = 0; i < 3; ++i) {
    polls.push_back(connect(org_a, member_a, member_role));
    send(polls.back(), "GET", "/store/notes/changes?feed=longpoll");
    sched->run();
  }
  // A fourth will be refused (the fixture's limit is three subscribers).
  auto late = connect(org_a, member_a, member_role);
  BOOST_TEST(call(late, "GET", "/store/notes").status == 200u); // token known
  auto seq = send(late, "GET", "/store/notes/changes?feed=longpoll");
  caf::anon_send(late.actor, leave_atom::value);
  sched->run();
  BOOST_TEST(late.sink->sends[seq] == 1);
  BOOST_TEST(reply(late, seq).status == 200u);
  for (auto& p : polls)
    caf::anon_send_exit(p.actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(late.actor, caf::exit_reason::user_shutdown);
  sched->run();
}

// What the feed sent a connection for its previous watch (a notice that
// the feed could not read the log, or live changes) and that arrives after
// the connection started a new one is not for the new one. A late failure
// notice ended the next long poll with a 503.
BOOST_AUTO_TEST_CASE(a_watch_ignores_what_was_meant_for_the_one_before) {
  auto c = connect(org_a, member_a, member_role);
  auto first = send(c, "GET", "/store/notes/changes?feed=longpoll&timeout=0");
  sched->run();
  sched->trigger_timeouts();
  sched->run();
  BOOST_TEST(reply(c, first).status == 200u);
  auto second = send(c, "GET", "/store/notes/changes?feed=longpoll&timeout=0");
  feed_failure(c);
  sched->run();
  sched->trigger_timeouts();
  sched->run();
  BOOST_TEST(reply(c, second).status == 200u);
  caf::anon_send_exit(c.actor, caf::exit_reason::user_shutdown);
  sched->run();
}

// Live changes that come while a stream catches up wait for it, but only
// this client's: a batch of the table is not kept whole. It was, with
// every other organization's events in it, for as long as the catch-up
// lasted (a slow client in a busy shared table held them all).
BOOST_AUTO_TEST_CASE(a_catching_up_stream_keeps_only_its_own_changes) {
  auto a = connect(org_a, admin_a, admin_role);
  auto first = created_id(call(a, "POST", "/store/notes", note("one")));
  auto watcher = connect(org_a, member_a, member_role);
  auto seq = send(watcher, "GET", "/store/notes/changes?since=0");
  sched->run(); // the first page waits to be written out
  auto batch_of = [](const std::string& org, const std::string& id,
                     uint64_t at) {
    auto b = std::make_shared<feed_batch>();
    b->table = "notes";
    change_event e;
    e.seq = at;
    e.ts = "2030-01-01T00:00:00.000Z-0000-0123456789abcdef";
    e.table = "notes";
    e.id = id;
    e.organization = org;
    e.record = R"({"id":")" + id + R"(","title":"live"})";
    b->events.push_back(std::move(e));
    return b;
  };
  // Ours but already covered by the catch-up (position 1): not sent twice.
  auto seen = batch_of(org_a, first, 1);
  auto theirs = batch_of(org_b, "01JAR2HPE7JJS1HYQZ7FYK0B99", 1000000);
  auto ours = batch_of(org_a, "01JAR2HPE7JJS1HYQZ7FYK0A99", 1000001);
  caf::anon_send(watcher.actor, feed_atom::value, feed_batch_ptr{seen});
  caf::anon_send(watcher.actor, feed_atom::value, feed_batch_ptr{theirs});
  caf::anon_send(watcher.actor, feed_atom::value, feed_batch_ptr{ours});
  sched->run();
  BOOST_TEST(theirs.use_count() == 1); // not held by the session
  caf::anon_send(watcher.actor, drained_atom::value);
  sched->run();
  BOOST_TEST(streamed_ids(watcher.sink->streamed[seq])
             == (std::vector<std::string>{first, "01JAR2HPE7JJS1HYQZ7FYK0A99"}));
  caf::anon_send_exit(watcher.actor, caf::exit_reason::user_shutdown);
  sched->run();
}

// A catch-up that outlives the token stops at its next step: no page and
// no up-to-date go out on an expired token (before, only live changes and
// heartbeats checked it).
BOOST_AUTO_TEST_CASE(a_catch_up_stops_when_the_token_expires) {
  auto a = connect(org_a, admin_a, admin_role);
  call(a, "POST", "/store/notes", note("one"));
  // Valid for at least one second (expiry is in whole seconds).
  auto watcher = connect(org_a, member_a, member_role, 2);
  auto seq = send(watcher, "GET", "/store/notes/changes?since=0");
  sched->run(); // the first page waits to be written out
  BOOST_TEST(reply(watcher, seq).status == 200u);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  caf::anon_send(watcher.actor, drained_atom::value);
  sched->run();
  const auto& stream = watcher.sink->streamed[seq];
  BOOST_TEST(stream.find("up-to-date") == std::string::npos);
  BOOST_TEST(stream.find("event: error") != std::string::npos);
  BOOST_TEST(stream.find("401") != std::string::npos);
  BOOST_TEST(watcher.sink->ended.count(seq) == 1u);
  caf::anon_send_exit(watcher.actor, caf::exit_reason::user_shutdown);
  sched->run();
}

// A deleted account loses access on connections that stay open: a
// kept-alive connection at its next request, a change-feed stream at its
// next heartbeat, once the recheck interval (1 s here) has passed.
BOOST_AUTO_TEST_CASE(a_deleted_account_loses_its_open_connections) {
  auto kept = connect(org_a, member_a, member_role);
  BOOST_TEST(call(kept, "GET", "/store/notes").status == 200u);
  auto watcher = connect(org_a, member_a, member_role);
  auto seq = send(watcher, "GET", "/store/notes/changes");
  sched->run();
  BOOST_TEST(watcher.sink->streamed[seq].find("up-to-date")
             != std::string::npos);
  auto a = connect(org_a, admin_a, admin_role);
  BOOST_TEST(call(a, "DELETE", "/auth/accounts/" + member_a).status == 200u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  BOOST_TEST(call(kept, "GET", "/store/notes").status == 401u);
  sched->trigger_timeouts(); // the stream's heartbeat
  sched->run();
  const auto& stream = watcher.sink->streamed[seq];
  BOOST_TEST(stream.find("event: error") != std::string::npos);
  BOOST_TEST(stream.find("no longer exists") != std::string::npos);
  BOOST_TEST(watcher.sink->ended.count(seq) == 1u);
  caf::anon_send_exit(watcher.actor, caf::exit_reason::user_shutdown);
  sched->run();
}

BOOST_AUTO_TEST_SUITE_END()
