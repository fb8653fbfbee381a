// The auth actor on CAF's deterministic test scheduler: logins (token,
// 401, 429 after repeated failures), account preparation, and the start-up
// bootstrap through the real clock, applier and writer.

#include "actors/auth.hpp"

#include "app/node.hpp"
#include "auth/accounts.hpp"
#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <caf/all.hpp>

#include "tests/support.hpp"

#include <boost/test/unit_test.hpp>

#include <ctime>
#include <optional>

using namespace crdt;
using test::why;

namespace {

const std::string org_a = "01JAR2HPE7JJS1HYQZ7FYK0A00";
const std::string org_b = "01JAR2HPE7JJS1HYQZ7FYK0B00";
const std::string ada_id = "01JAR2HPE7JJS1HYQZ7FYKAA01";
const std::string ada_email = "ada@example.org";
const std::string ada_password = "ada's long password";
const std::string token_key = "0123456789abcdef0123456789abcdef";
const std::string group = "test-group";

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
  fixture() : dir("auth") {
    add_builtin_tables(schemas);
    schemas.merge(test::make_schemas(
        {{"notes",
          R"({"type":"object","properties":{"title":{"type":"string"}}})"}}));
    opts = test::test_store(dir.file("db.sqlite"));
    store = test::open_writer(opts, schemas);
    node = store->node_id();
    stamps.node = node;
    // Organization A with ada, a member.
    principal by{org_a, ada_id, admin_role};
    commit({make_organization(org_a, "Org A", by),
            make_account(ada_id, ada_email, ada_hash(), member_role, by)});
  }

  ~fixture() {
    n = {};
    drain();
    sys.reset();
  }

  void commit(const std::vector<record_change>& changes) {
    BOOST_REQUIRE(store);
    test::commit_changes(*store, stamps, changes);
  }

  std::unique_ptr<read_store> reader() {
    return test::open_reader(opts.path, schemas);
  }

  // The node over the database as the test prepared it, built by the
  // composition root the server uses; answers its auth actor.
  auth_actor start() {
    store.reset();
    node_options o;
    o.store = opts;
    o.schemas = schemas;
    o.define_schema = false; // the counts below are of the accounts' messages
    o.info.group_id = group;
    o.info.token_key = token_key;
    o.readers = 1;
    o.detach = false;
    auto spawned = spawn_node(*sys, std::move(o));
    BOOST_REQUIRE_MESSAGE(spawned, why(spawned));
    n = std::move(*spawned);
    sched->run();
    return n.svc().auth;
  }

  caf::expected<login_grant> login(const auth_actor& a,
                                   const std::string& email,
                                   const std::string& password,
                                   const std::string& peer = "10.0.0.1") {
    return ask<login_grant>(a, login_atom::value, email, password, peer);
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

  size_t messages() {
    auto s = reader()->db().prepare_once("SELECT count(*) FROM crdt_messages");
    BOOST_REQUIRE(s);
    BOOST_REQUIRE_EQUAL(s->step(), SQLITE_ROW);
    return static_cast<size_t>(s->column_int(0));
  }

  test::temp_dir dir;
  schema_set schemas;
  store_options opts;
  std::unique_ptr<write_store> store;
  std::string node;
  test::stamper stamps;
  crdt::node n;
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
  auto a = start();
  auto before = static_cast<int64_t>(std::time(nullptr));
  // Emails match however they are typed.
  auto g = login(a, "  ADA@Example.org ", ada_password);
  BOOST_REQUIRE_MESSAGE(g, why(g));
  auto& r = *g;
  BOOST_CHECK(!r.token.empty());
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
  BOOST_CHECK(
      !verify_token(r.token, token_key, "other-group", r.claims.issued_at));
  BOOST_CHECK(
      !verify_token(r.token, token_key, group, r.claims.issued_at + 3600));
}

BOOST_AUTO_TEST_CASE(an_unknown_email_is_refused) {
  auto a = start();
  auto r = login(a, "nobody@example.org", ada_password);
  BOOST_REQUIRE(!r);
  BOOST_CHECK_MESSAGE(is(r.error(), ec::unauthorized), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(repeated_failures_are_throttled) {
  auto a = start();
  // Five free failures: each is refused, and the try after the fifth
  // waits.
  for (int i = 0; i < 5; ++i) {
    auto r = login(a, ada_email, "wrong password " + std::to_string(i));
    BOOST_REQUIRE(!r);
    BOOST_CHECK_MESSAGE(is(r.error(), ec::unauthorized),
                        "failure " << i + 1 << ": " << describe(r.error()));
  }
  // Now even the right password waits (and is not checked).
  auto r = login(a, ada_email, ada_password);
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::throttled));
  BOOST_CHECK_EQUAL(retry_seconds_of(r.error()), 1);
  // The email is throttled from any address, in any spelling.
  r = login(a, "ADA@example.org", ada_password, "192.0.2.7");
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::throttled));
  // So is a password change of that account (without checking it).
  auto c = change_password(a, principal{org_a, ada_id, member_role},
                           ada_password, "a new long password");
  BOOST_REQUIRE(!c);
  BOOST_CHECK_MESSAGE(is(c.error(), ec::throttled), describe(c.error()));
}

BOOST_AUTO_TEST_CASE(a_good_login_starts_the_count_over) {
  auto a = start();
  for (int i = 0; i < 4; ++i)
    BOOST_REQUIRE(!login(a, ada_email, "wrong " + std::to_string(i)));
  BOOST_REQUIRE_MESSAGE(login(a, ada_email, ada_password), "the fifth try");
  // Five more free failures after the success; without the reset the
  // second of them would be throttled.
  for (int i = 0; i < 5; ++i) {
    auto r = login(a, ada_email, "wrong again " + std::to_string(i));
    BOOST_REQUIRE(!r);
    BOOST_CHECK_MESSAGE(is(r.error(), ec::unauthorized),
                        "failure " << i + 1 << ": " << describe(r.error()));
  }
}

BOOST_AUTO_TEST_CASE(one_address_trying_many_emails_is_throttled) {
  auto a = start();
  // Twenty failures from one address, spread over emails so that no email
  // reaches its own limit.
  for (int i = 0; i < 20; ++i) {
    auto email = "guess" + std::to_string(i / 4) + "@example.org";
    auto r = login(a, email, "wrong", "198.51.100.9");
    BOOST_REQUIRE(!r);
    BOOST_REQUIRE_MESSAGE(is(r.error(), ec::unauthorized),
                          "try " << i + 1 << ": " << describe(r.error()));
  }
  // The next try from that address waits, even for a real account...
  auto r = login(a, ada_email, ada_password, "198.51.100.9");
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::throttled));
  // ... while other addresses are not held back.
  BOOST_CHECK(login(a, ada_email, ada_password, "198.51.100.10"));
}

BOOST_AUTO_TEST_CASE(a_crowd_of_logins_is_refused_at_once) {
  // An auth actor that lets 4 requests wait: of 10 sent at once, the first
  // 6 it takes find too many behind them and are refused without hashing.
  auth_options o{token_key, group, 3600, node};
  o.max_waiting = 4;
  auto a = sys->spawn(crdt::auth, reader(), applier_actor{}, o);
  auto outcomes = std::make_shared<std::vector<std::string>>();
  sys->spawn([=](caf::event_based_actor* self) {
    for (int i = 0; i < 10; ++i)
      self->request(a, caf::infinite, login_atom::value, ada_email,
                    ada_password, std::string{"10.0.0.1"})
          .then([=](const login_grant&) { outcomes->push_back("ok"); },
                [=](caf::error& err) {
                  outcomes->push_back(to_string(static_cast<ec>(err.code())));
                });
  });
  sched->run();
  std::vector<std::string> want(6, "overloaded");
  want.resize(10, "ok");
  BOOST_CHECK(*outcomes == want);
}

// -- accounts -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_taken_email_is_a_conflict) {
  auto a = start();
  principal by{org_a, ada_id, admin_role};
  for (const char* email : {"ada@example.org", " ADA@EXAMPLE.ORG "}) {
    auto c = prepare(
        a, account_request{email, "another password", member_role, by, ""});
    BOOST_REQUIRE_MESSAGE(!c, email);
    BOOST_CHECK_MESSAGE(is(c.error(), ec::conflict), describe(c.error()));
  }
  // Taken in another organization counts as well.
  by.organization_id = org_b;
  auto c = prepare(
      a, account_request{ada_email, "another password", member_role, by, ""});
  BOOST_REQUIRE(!c);
  BOOST_CHECK(is(c.error(), ec::conflict));
}

BOOST_AUTO_TEST_CASE(bad_account_requests_are_refused) {
  auto a = start();
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
    BOOST_CHECK_MESSAGE(is(c.error(), ec::invalid_schema), describe(c.error()));
  }
}

BOOST_AUTO_TEST_CASE(a_free_email_gets_a_prepared_account) {
  auto a = start();
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
  auto a = start();
  principal ada{org_a, ada_id, member_role};
  // The new password is checked first.
  auto c = change_password(a, ada, ada_password, "short");
  BOOST_REQUIRE(!c);
  BOOST_CHECK_MESSAGE(is(c.error(), ec::invalid_schema), describe(c.error()));
  // An account that does not exist (any more).
  c = change_password(
      a, principal{org_a, "01JAR2HPE7JJS1HYQZ7FYKAA99", member_role},
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

// -- bootstrap
// ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bootstrap_creates_the_organization_and_admin_once) {
  const std::string org = "01JAR2HPE7JJS1HYQZ7FYK0D00";
  auto a = start();
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
  BOOST_CHECK(*check->state(organizations_table, org, org)
              == record_state::live);
  BOOST_CHECK(*check->state(accounts_table, r->account_id, org)
              == record_state::live);
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
  BOOST_REQUIRE_MESSAGE(in, why(in));
  BOOST_CHECK_EQUAL(in->claims.account_id, r->account_id);
  BOOST_CHECK_EQUAL(in->claims.organization_id, org);
  BOOST_CHECK_EQUAL(in->claims.role, "admin");
}

BOOST_AUTO_TEST_CASE(bootstrap_leaves_a_taken_email_alone) {
  const std::string org = "01JAR2HPE7JJS1HYQZ7FYK0D00";
  auto a = start();
  // Ada's email already has an account (in organization A).
  auto r = bootstrap(
      a, bootstrap_request{org, "Default", ada_email, "some admin password"});
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_CHECK(r->created_organization);
  BOOST_CHECK(!r->created_account);
  BOOST_CHECK(r->generated_password.empty());
  auto check = reader();
  BOOST_CHECK(*check->state(organizations_table, org, "")
              == record_state::live);
  BOOST_CHECK(*check->state(accounts_table, r->account_id, "")
              == record_state::absent);
  BOOST_CHECK_EQUAL(check->accounts_by_email(ada_email)->size(), 1u);
}

BOOST_AUTO_TEST_CASE(bootstrap_defers_to_the_group_without_a_password) {
  const std::string org = "01JAR2HPE7JJS1HYQZ7FYK0D00";
  auto a = start();
  bootstrap_request req{org, "Default", "admin@example.org", "", true};
  auto r = bootstrap(a, req);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  // The organization is founded; the admin (and a password of this node's
  // own, which would replace the group's) is left to arrive by sync.
  BOOST_CHECK(r->created_organization);
  BOOST_CHECK(!r->created_account);
  BOOST_CHECK(r->deferred);
  BOOST_CHECK(r->generated_password.empty());
  BOOST_CHECK(*reader()->state(accounts_table, r->account_id, "")
              == record_state::absent);
  // With a configured password the node creates it even so.
  req.admin_password = "configured password";
  r = bootstrap(a, req);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_CHECK(r->created_account);
  BOOST_CHECK(!r->deferred);
}

BOOST_AUTO_TEST_CASE(founding_messages_carry_the_organizations_time) {
  const std::string org = "01JAR2HPE7JJS1HYQZ7FYK0D00";
  auto a = start();
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
  auto admin = admin_account_id(org_a, ada_email);
  principal by{org_a, admin, admin_role};
  commit({make_account(admin, "root@example.org", "h", admin_role, by)});
  auto before = messages();
  auto a = start();
  auto r = bootstrap(a, bootstrap_request{org_a, "Org A", ada_email, ""});
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_CHECK(!r->created_organization);
  BOOST_CHECK(!r->created_account);
  BOOST_CHECK_EQUAL(r->account_id, admin);
  BOOST_CHECK_EQUAL(messages(), before);
}

BOOST_AUTO_TEST_SUITE_END()
