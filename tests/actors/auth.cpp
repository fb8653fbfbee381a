// The auth actor on CAF's deterministic test scheduler: logins (token,
// 401, 429 after repeated failures), account preparation, and the start-up
// bootstrap through the real clock, applier and writer.

#include "actors/auth.hpp"

#include "actors/applier.hpp"
#include "actors/clock.hpp"
#include "actors/queue.hpp"
#include "actors/writer.hpp"
#include "protocol/accounts.hpp"
#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "tests/actors/test_system.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <optional>

using namespace crdt;

namespace {

// The error of a failed result, for messages (empty on success: the
// message is built before the check is decided).
template <class T>
std::string why(const caf::expected<T>& x) {
  return x ? std::string{} : describe(x.error());
}

const std::string org_a = "01JAR2HPE7JJS1HYQZ7FYK0A00";
const std::string org_b = "01JAR2HPE7JJS1HYQZ7FYK0B00";
const std::string ada_id = "01JAR2HPE7JJS1HYQZ7FYKAA01";
const std::string ada_email = "ada@example.org";
const std::string ada_password = "ada's long password";
const std::string token_key = "0123456789abcdef0123456789abcdef";
const std::string group = "test-group";

constexpr int64_t t0 = 1764000000000;

// Argon2 is slow: one hash of ada's password for the whole suite.
const std::string& ada_hash() {
  static const std::string h = [] {
    auto r = hash_password(ada_password);
    BOOST_REQUIRE(r);
    return *r;
  }();
  return h;
}

struct fixture : test::test_system {
  fixture() {
    dir = std::filesystem::temp_directory_path()
          / ("auth-" + random_node_id());
    add_builtin_tables(schemas);
    auto t = table_schema::parse(
      "notes", R"({"type":"object","properties":{"title":{"type":"string"}}})");
    BOOST_REQUIRE(t);
    schemas.emplace("notes", *t);
    opts.path = (dir / "db.sqlite").string();
    opts.synchronous = "NORMAL";
    auto s = write_store::open(opts, schemas);
    BOOST_REQUIRE(s);
    store = std::move(*s);
    node = store->node_id();
    // Organization A with ada, a member.
    principal by{org_a, ada_id, admin_role};
    commit({make_organization(org_a, "Org A", by),
            make_account(ada_id, ada_email, ada_hash(), member_role, by)});
  }

  ~fixture() {
    sys.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  void commit(const std::vector<record_change>& changes) {
    std::vector<std::string> stamps;
    for (size_t i = 0; i < message_count(changes); ++i)
      stamps.push_back(to_string(timestamp{t0 + next_ms++, 0, node}));
    write_batch b;
    b.messages = make_messages(changes, stamps);
    b.clock = stamps.back();
    auto res = store->commit({&b});
    BOOST_REQUIRE_MESSAGE(res, why(res));
  }

  std::unique_ptr<read_store> reader() {
    auto r = read_store::open(opts.path, schemas);
    BOOST_REQUIRE_MESSAGE(r, why(r));
    return std::move(*r);
  }

  // An auth actor with its own read connection; `app` only for bootstrap.
  auth_actor spawn_auth(applier_actor app = {}) {
    return sys->spawn(crdt::auth,
                      std::make_shared<std::unique_ptr<read_store>>(reader()),
                      std::move(app),
                      auth_options{token_key, group, 3600, node});
  }

  // The real write path: clock, writer (taking the store), queue, applier.
  applier_actor spawn_pipeline() {
    timestamp start;
    start.node = node;
    auto clk = sys->spawn(crdt::clock, start, int64_t{60000},
                          std::make_shared<merkle_trie>(),
                          std::shared_ptr<std::map<std::string, merkle_trie>>{});
    auto load = std::make_shared<std::atomic<size_t>>(0);
    auto wrt = sys->spawn(crdt::writer,
                          std::make_shared<std::unique_ptr<write_store>>(
                            std::move(store)),
                          load, clk);
    auto que = sys->spawn(crdt::queue, uint64_t{0}, reader_actor{}, wrt);
    return sys->spawn(crdt::applier, clk, wrt, que, load, size_t{100});
  }

  login_result login(const auth_actor& a, const std::string& email,
                     const std::string& password,
                     const std::string& peer = "10.0.0.1") {
    std::optional<login_result> out;
    sys->spawn([=, &out](caf::event_based_actor* self) {
      self->request(a, caf::infinite, login_atom::value, email, password, peer)
        .then([&](const login_result& r) { out = r; },
              [](caf::error& err) { BOOST_FAIL(describe(err)); });
    });
    sched->run();
    BOOST_REQUIRE(out);
    return *out;
  }

  // Sends one request to the auth actor and runs the scheduler until it is
  // answered.
  template <class R, class... Ts>
  caf::expected<R> ask(const auth_actor& a, Ts... xs) {
    caf::expected<R> out = make_error(ec::timeout, "no answer");
    bool answered = false;
    sys->spawn([=, &out, &answered](caf::event_based_actor* self) {
      self->request(a, caf::infinite, xs...)
        .then(
          [&](const R& r) {
            out = r;
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

  caf::expected<record_change> prepare(const auth_actor& a,
                                       const account_request& req) {
    return ask<record_change>(a, account_atom::value, req);
  }

  caf::expected<bootstrap_result> bootstrap(const auth_actor& a,
                                            const bootstrap_request& req) {
    return ask<bootstrap_result>(a, bootstrap_atom::value, req);
  }

  caf::expected<record_change> change_password(const auth_actor& a,
                                               const principal& who,
                                               const std::string& current,
                                               const std::string& next) {
    return ask<record_change>(a, password_atom::value, who, current, next,
                              std::string{"10.0.0.1"});
  }

  std::filesystem::path dir;
  schema_set schemas;
  store_options opts;
  std::unique_ptr<write_store> store;
  std::string node;
  int64_t next_ms = 0;
};

std::string text_field(const record_change& c, const std::string& name) {
  for (const auto& [f, v] : c.fields)
    if (f == name && std::holds_alternative<std::string>(v))
      return std::get<std::string>(v);
  return {};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(auth_tests, fixture)

// -- login --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_good_login_issues_a_token) {
  auto a = spawn_auth();
  auto before = static_cast<int64_t>(std::time(nullptr));
  // Emails match however they are typed.
  auto r = login(a, "  ADA@Example.org ", ada_password);
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  BOOST_CHECK(!r.token.empty());
  BOOST_CHECK_EQUAL(r.retry_after, 0);
  BOOST_CHECK_EQUAL(r.claims.account_id, ada_id);
  BOOST_CHECK_EQUAL(r.claims.organization_id, org_a);
  BOOST_CHECK_EQUAL(r.claims.role, "member");
  BOOST_CHECK_EQUAL(r.claims.group_id, group);
  BOOST_CHECK_GE(r.claims.issued_at, before);
  BOOST_CHECK_EQUAL(r.claims.expires_at, r.claims.issued_at + 3600);
  // The token says the same and checks out under the key and group.
  auto back = verify_token(r.token, token_key, group, r.claims.issued_at);
  BOOST_REQUIRE_MESSAGE(back, why(back));
  BOOST_CHECK_EQUAL(back->account_id, ada_id);
  BOOST_CHECK_EQUAL(back->organization_id, org_a);
  BOOST_CHECK_EQUAL(back->role, "member");
  BOOST_CHECK(!verify_token(r.token, token_key, "other-group",
                            r.claims.issued_at));
  BOOST_CHECK(!verify_token(r.token, token_key, group,
                            r.claims.issued_at + 3600));
}

BOOST_AUTO_TEST_CASE(an_unknown_email_is_refused) {
  auto a = spawn_auth();
  auto r = login(a, "nobody@example.org", ada_password);
  BOOST_CHECK_EQUAL(r.status, 401u);
  BOOST_CHECK(r.token.empty());
  BOOST_CHECK_EQUAL(r.retry_after, 0);
}

BOOST_AUTO_TEST_CASE(repeated_failures_are_throttled) {
  auto a = spawn_auth();
  // Five free failures: each is refused, and the try after the fifth
  // waits.
  for (int i = 0; i < 5; ++i) {
    auto r = login(a, ada_email, "wrong password " + std::to_string(i));
    BOOST_CHECK_MESSAGE(r.status == 401u,
                        "failure " << i + 1 << ": " << r.status);
    BOOST_CHECK(r.token.empty());
  }
  // Now even the right password waits (and is not checked).
  auto r = login(a, ada_email, ada_password);
  BOOST_CHECK_EQUAL(r.status, 429u);
  BOOST_CHECK(r.token.empty());
  BOOST_CHECK_EQUAL(r.retry_after, 1);
  // The email is throttled from any address, in any spelling.
  r = login(a, "ADA@example.org", ada_password, "192.0.2.7");
  BOOST_CHECK_EQUAL(r.status, 429u);
  // So is a password change of that account (without checking it).
  auto c = change_password(a, principal{org_a, ada_id, member_role},
                           ada_password, "a new long password");
  BOOST_REQUIRE(!c);
  BOOST_CHECK_MESSAGE(is(c.error(), ec::throttled), describe(c.error()));
}

// -- accounts -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_taken_email_is_a_conflict) {
  auto a = spawn_auth();
  principal by{org_a, ada_id, admin_role};
  for (const char* email : {"ada@example.org", " ADA@EXAMPLE.ORG "}) {
    auto c = prepare(a, account_request{email, "another password", member_role,
                                        by, ""});
    BOOST_REQUIRE_MESSAGE(!c, email);
    BOOST_CHECK_MESSAGE(is(c.error(), ec::conflict), describe(c.error()));
  }
  // Taken in another organization counts as well.
  by.organization_id = org_b;
  auto c = prepare(a, account_request{ada_email, "another password",
                                      member_role, by, ""});
  BOOST_REQUIRE(!c);
  BOOST_CHECK(is(c.error(), ec::conflict));
}

BOOST_AUTO_TEST_CASE(bad_account_requests_are_refused) {
  auto a = spawn_auth();
  principal by{org_a, ada_id, admin_role};
  std::vector<account_request> bad = {
    {"not-an-email", "long enough pw", member_role, by, ""},
    {"", "long enough pw", member_role, by, ""},
    {"bob@example.org", "short", member_role, by, ""},
    {"bob@example.org", std::string(1025, 'p'), member_role, by, ""},
    {"bob@example.org", "long enough pw", "owner", by, ""},
    {"bob@example.org", "long enough pw", "", by, ""},
  };
  for (const auto& req : bad) {
    auto c = prepare(a, req);
    BOOST_REQUIRE_MESSAGE(!c, req.email << " / " << req.role);
    BOOST_CHECK_MESSAGE(is(c.error(), ec::invalid_schema),
                        describe(c.error()));
  }
}

BOOST_AUTO_TEST_CASE(a_free_email_gets_a_prepared_account) {
  auto a = spawn_auth();
  principal by{org_a, ada_id, admin_role};
  const std::string bob_id = "01JAR2HPE7JJS1HYQZ7FYKAB01";
  auto c = prepare(a, account_request{"  Bob@Example.org", "bob's password",
                                      admin_role, by, bob_id});
  BOOST_REQUIRE_MESSAGE(c, why(c));
  BOOST_CHECK(c->kind == record_change::create);
  BOOST_CHECK_EQUAL(c->table, accounts_table);
  BOOST_CHECK_EQUAL(c->id, bob_id);
  BOOST_CHECK_EQUAL(text_field(*c, "email"), "bob@example.org");
  BOOST_CHECK_EQUAL(text_field(*c, "role"), "admin");
  auto hash = text_field(*c, "password_hash");
  BOOST_CHECK_MESSAGE(hash.rfind("$argon2id$", 0) == 0, hash);
  BOOST_CHECK(hash.find("bob's password") == std::string::npos);
  BOOST_CHECK_EQUAL(c->who.organization_id, org_a);
  BOOST_CHECK_EQUAL(c->who.account_id, ada_id);
}

BOOST_AUTO_TEST_CASE(a_password_change_needs_the_current_password) {
  auto a = spawn_auth();
  principal ada{org_a, ada_id, member_role};
  // The new password is checked first.
  auto c = change_password(a, ada, ada_password, "short");
  BOOST_REQUIRE(!c);
  BOOST_CHECK_MESSAGE(is(c.error(), ec::invalid_schema), describe(c.error()));
  // An account that does not exist (any more).
  c = change_password(a, principal{org_a, "01JAR2HPE7JJS1HYQZ7FYKAA99",
                                   member_role},
                      ada_password, "a new long password");
  BOOST_REQUIRE(!c);
  BOOST_CHECK_MESSAGE(is(c.error(), ec::unauthorized), describe(c.error()));
  // A wrong current password.
  c = change_password(a, ada, "not ada's password", "a new long password");
  BOOST_REQUIRE(!c);
  BOOST_CHECK_MESSAGE(is(c.error(), ec::forbidden), describe(c.error()));
  // The right one: an update of ada's password hash, by ada.
  c = change_password(a, ada, ada_password, "a new long password");
  BOOST_REQUIRE_MESSAGE(c, why(c));
  BOOST_CHECK(c->kind == record_change::update);
  BOOST_CHECK_EQUAL(c->table, accounts_table);
  BOOST_CHECK_EQUAL(c->id, ada_id);
  BOOST_REQUIRE_EQUAL(c->fields.size(), 1u);
  auto hash = text_field(*c, "password_hash");
  BOOST_CHECK_MESSAGE(hash.rfind("$argon2id$", 0) == 0, hash);
  BOOST_CHECK_NE(hash, ada_hash());
  BOOST_CHECK(hash.find("a new long password") == std::string::npos);
  BOOST_CHECK_EQUAL(c->who.account_id, ada_id);
  BOOST_CHECK_EQUAL(c->who.organization_id, org_a);
}

// -- bootstrap ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bootstrap_creates_the_organization_and_admin_once) {
  const std::string org = "01JAR2HPE7JJS1HYQZ7FYK0D00";
  auto a = spawn_auth(spawn_pipeline());
  bootstrap_request req{org, "Default", " Admin@Example.org ", ""};
  auto r = bootstrap(a, req);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_CHECK(r->created_organization);
  BOOST_CHECK(r->created_account);
  BOOST_CHECK_EQUAL(r->account_id, admin_account_id(org, "admin@example.org"));
  // A generated password, from the look-alike free alphabet.
  BOOST_CHECK_EQUAL(r->generated_password.size(), 20u);
  // Stored: the organization and the account, both in the organization.
  auto check = reader();
  BOOST_CHECK_EQUAL(*check->state(organizations_table, org, org), 1);
  BOOST_CHECK_EQUAL(*check->state(accounts_table, r->account_id, org), 1);
  auto found = check->accounts_by_email("admin@example.org");
  BOOST_REQUIRE(found);
  BOOST_REQUIRE_EQUAL(found->size(), 1u);
  BOOST_CHECK_EQUAL(found->front().id, r->account_id);
  BOOST_CHECK_EQUAL(found->front().organization_id, org);
  BOOST_CHECK_EQUAL(found->front().role, "admin");
  // Again: nothing to do, nothing generated.
  auto again = bootstrap(a, req);
  BOOST_REQUIRE_MESSAGE(again, why(again));
  BOOST_CHECK(!again->created_organization);
  BOOST_CHECK(!again->created_account);
  BOOST_CHECK(again->generated_password.empty());
  BOOST_CHECK_EQUAL(again->account_id, r->account_id);
  // The admin signs in with the generated password.
  auto in = login(a, "admin@example.org", r->generated_password);
  BOOST_REQUIRE_EQUAL(in.status, 200u);
  BOOST_CHECK_EQUAL(in.claims.account_id, r->account_id);
  BOOST_CHECK_EQUAL(in.claims.organization_id, org);
  BOOST_CHECK_EQUAL(in.claims.role, "admin");
}

BOOST_AUTO_TEST_CASE(bootstrap_leaves_a_taken_email_alone) {
  const std::string org = "01JAR2HPE7JJS1HYQZ7FYK0D00";
  auto a = spawn_auth(spawn_pipeline());
  // Ada's email already has an account (in organization A).
  auto r = bootstrap(a, bootstrap_request{org, "Default", ada_email,
                                          "some admin password"});
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_CHECK(r->created_organization);
  BOOST_CHECK(!r->created_account);
  BOOST_CHECK(r->generated_password.empty());
  auto check = reader();
  BOOST_CHECK_EQUAL(*check->state(organizations_table, org, ""), 1);
  BOOST_CHECK_EQUAL(*check->state(accounts_table, r->account_id, ""), 0);
  BOOST_CHECK_EQUAL(check->accounts_by_email(ada_email)->size(), 1u);
}

BOOST_AUTO_TEST_CASE(bootstrap_defers_to_the_group_without_a_password) {
  const std::string org = "01JAR2HPE7JJS1HYQZ7FYK0D00";
  auto a = spawn_auth(spawn_pipeline());
  bootstrap_request req{org, "Default", "admin@example.org", "", true};
  auto r = bootstrap(a, req);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  // The organization is founded; the admin (and a password of this node's
  // own, which would replace the group's) is left to arrive by sync.
  BOOST_CHECK(r->created_organization);
  BOOST_CHECK(!r->created_account);
  BOOST_CHECK(r->deferred);
  BOOST_CHECK(r->generated_password.empty());
  BOOST_CHECK_EQUAL(*reader()->state(accounts_table, r->account_id, ""), 0);
  // With a configured password the node creates it even so.
  req.admin_password = "configured password";
  r = bootstrap(a, req);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_CHECK(r->created_account);
  BOOST_CHECK(!r->deferred);
}

BOOST_AUTO_TEST_CASE(founding_messages_carry_the_organizations_time) {
  const std::string org = "01JAR2HPE7JJS1HYQZ7FYK0D00";
  auto a = spawn_auth(spawn_pipeline());
  auto r = bootstrap(a, bootstrap_request{org, "Default", "admin@example.org",
                                          "configured password"});
  BOOST_REQUIRE_MESSAGE(r, why(r));
  auto s = reader()->db().prepare_once(
    "SELECT ts FROM crdt_messages WHERE row_id IN (?1, ?2) ORDER BY ts");
  BOOST_REQUIRE(s);
  s->bind(1, std::string_view{org});
  s->bind(2, std::string_view{r->account_id});
  std::vector<std::string> stamps;
  while (s->step() == SQLITE_ROW)
    stamps.emplace_back(s->column_text(0));
  // Organization: name + 6 system fields; account: 3 fields + 6.
  BOOST_REQUIRE_EQUAL(stamps.size(), 16u);
  BOOST_CHECK(stamps == founding_stamps(org, node, 16));
  BOOST_CHECK_EQUAL(stamps.front().substr(0, 24), iso8601(ulid_millis(org)));
  // Older than anything the clock stamps now: a later password change
  // wins everywhere.
  BOOST_CHECK_LT(stamps.back(), to_string(timestamp{wall_clock_ms(), 0, node}));
}

BOOST_AUTO_TEST_CASE(bootstrap_with_everything_in_place_writes_nothing) {
  // No applier at all: nothing may be written.
  auto admin = admin_account_id(org_a, ada_email);
  principal by{org_a, admin, admin_role};
  commit({make_account(admin, "root@example.org", "h", admin_role, by)});
  auto a = spawn_auth();
  auto r = bootstrap(a, bootstrap_request{org_a, "Org A", ada_email, ""});
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_CHECK(!r->created_organization);
  BOOST_CHECK(!r->created_account);
  BOOST_CHECK_EQUAL(r->account_id, admin);
}

BOOST_AUTO_TEST_SUITE_END()
