// Organizations and accounts as replicated tables: the built-in schemas and
// their validators, reserved names, email and password rules, the
// deterministic first-admin id, and the changes that create both.

#include "auth/accounts.hpp"

#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

using namespace crdt;

namespace {

const char* org_id = "01JAR2HPE7JJS1HYQZ7FYK0S4D";
const char* other_org_id = "01JAR2HPE7JJS1HYQZ7FYK0S4E";

const char* plain_table = R"({"type":"object","properties":{
  "name":{"type":"string"}}})";

std::vector<field_error> check(const table_ptr& t, const std::string& data,
                               bool create = true) {
  rapidjson::Document d;
  d.Parse(data.c_str());
  BOOST_REQUIRE(!d.HasParseError());
  return t->validate(d, create);
}

std::vector<std::string> stamps(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(to_string(timestamp{1764000000000, static_cast<uint32_t>(i),
                                      "aaaaaaaaaaaaaaaa"}));
  return out;
}

// Column -> value of a change's messages (each column once).
std::map<std::string, value> by_column(const std::vector<message>& msgs) {
  std::map<std::string, value> out;
  for (const auto& m : msgs)
    BOOST_CHECK_MESSAGE(out.emplace(m.column, m.val).second,
                        "column twice: " << m.column);
  return out;
}

value text(const std::string& s) {
  return value{s};
}

} // namespace

BOOST_AUTO_TEST_SUITE(accounts_tests)

// -- built-in tables ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_builtin_tables_are_added) {
  schema_set s;
  auto user = table_schema::parse("contacts", plain_table);
  BOOST_REQUIRE(user);
  s.emplace("contacts", *user);
  add_builtin_tables(s);
  BOOST_CHECK_EQUAL(s.size(), 3u);
  BOOST_REQUIRE(s.count(organizations_table) == 1);
  BOOST_REQUIRE(s.count(accounts_table) == 1);
  BOOST_CHECK_EQUAL(s["contacts"], *user);
  BOOST_CHECK_EQUAL(std::string{organizations_table}, "crdt_organizations");
  BOOST_CHECK_EQUAL(std::string{accounts_table}, "crdt_accounts");
  auto orgs = s[organizations_table];
  BOOST_CHECK_EQUAL(orgs->name(), "crdt_organizations");
  BOOST_REQUIRE(orgs->find("name"));
  BOOST_CHECK(orgs->find("name")->type == field_type::text);
  auto accounts = s[accounts_table];
  BOOST_CHECK_EQUAL(accounts->name(), "crdt_accounts");
  for (const char* f : {"email", "password_hash", "role"}) {
    BOOST_REQUIRE_MESSAGE(accounts->find(f), f);
    BOOST_CHECK(accounts->find(f)->type == field_type::text);
  }
  BOOST_CHECK_EQUAL(accounts->fields().size(), 3u);
  // Adding them twice changes nothing.
  add_builtin_tables(s);
  BOOST_CHECK_EQUAL(s.size(), 3u);
  BOOST_CHECK_EQUAL(s[accounts_table], accounts);
}

BOOST_AUTO_TEST_CASE(the_account_validator_accepts_good_and_refuses_bad) {
  schema_set s;
  add_builtin_tables(s);
  auto accounts = s[accounts_table];
  for (const char* role : {"admin", "member"})
    BOOST_CHECK_MESSAGE(
        check(accounts, std::string{R"({"email":"ada@example.org",)"}
                            + R"("password_hash":"$argon2id$x","role":")" + role
                            + "\"}")
            .empty(),
        role);
  // A role outside the enum.
  BOOST_CHECK(!check(accounts, R"({"email":"ada@example.org",
    "password_hash":"h","role":"owner"})")
                   .empty());
  BOOST_CHECK(!check(accounts, R"({"email":"ada@example.org",
    "password_hash":"h","role":"Admin"})")
                   .empty());
  BOOST_CHECK(!check(accounts, R"({"email":"ada@example.org",
    "password_hash":"h","role":""})")
                   .empty());
  // Missing fields on create; fine on update.
  BOOST_CHECK(
      !check(accounts, R"({"password_hash":"h","role":"admin"})").empty());
  BOOST_CHECK(!check(accounts, R"({"email":"ada@example.org","role":"admin"})")
                   .empty());
  BOOST_CHECK(!check(accounts, R"({"email":"ada@example.org",
    "password_hash":"h"})")
                   .empty());
  BOOST_CHECK(check(accounts, R"({"role":"member"})", false).empty());
  BOOST_CHECK(!check(accounts, R"({"role":"owner"})", false).empty());
  // Wrong types, lengths and unknown or system fields.
  BOOST_CHECK(!check(accounts, R"({"email":42,"password_hash":"h",
    "role":"admin"})")
                   .empty());
  BOOST_CHECK(!check(accounts, R"({"email":"a@","password_hash":"h",
    "role":"admin"})")
                   .empty()); // shorter than 3
  BOOST_CHECK(!check(accounts, R"({"email":"ada@example.org",
    "password_hash":"h","role":"admin","extra":1})")
                   .empty());
  BOOST_CHECK(!check(accounts, R"({"email":"ada@example.org",
    "password_hash":"h","role":"admin","organization_id":"x"})")
                   .empty());
}

BOOST_AUTO_TEST_CASE(the_organization_validator_accepts_good_and_refuses_bad) {
  schema_set s;
  add_builtin_tables(s);
  auto orgs = s[organizations_table];
  BOOST_CHECK(check(orgs, R"({"name":"Acme"})").empty());
  BOOST_CHECK(!check(orgs, R"({})").empty());
  BOOST_CHECK(!check(orgs, R"({"name":""})").empty());
  BOOST_CHECK(!check(orgs, R"({"name":7})").empty());
  BOOST_CHECK(
      !check(orgs, "{\"name\":\"" + std::string(201, 'x') + "\"}").empty());
  BOOST_CHECK(
      check(orgs, "{\"name\":\"" + std::string(200, 'x') + "\"}").empty());
}

BOOST_AUTO_TEST_CASE(reserved_names_need_builtin) {
  for (const char* name : {"crdt_accounts", "crdt_organizations", "crdt_x",
                           "sqlite_x", "config_sync"}) {
    auto refused = table_schema::parse(name, plain_table);
    BOOST_CHECK_MESSAGE(!refused, name);
    if (!refused)
      BOOST_CHECK(is(refused.error(), ec::schema_conflict));
    BOOST_CHECK_MESSAGE(table_schema::parse(name, plain_table, true), name);
  }
  // Built-in or not, a name must still be an identifier.
  for (const char* name : {"", "Crdt_x", "crdt-x", "1crdt"})
    BOOST_CHECK_MESSAGE(!table_schema::parse(name, plain_table, true), name);
  BOOST_CHECK(table_schema::parse("contacts", plain_table));
  BOOST_CHECK(table_schema::parse("contacts", plain_table, true));
}

BOOST_AUTO_TEST_CASE(internal_tables_are_the_crdt_ones) {
  BOOST_CHECK(is_internal_table("crdt_accounts"));
  BOOST_CHECK(is_internal_table("crdt_organizations"));
  BOOST_CHECK(is_internal_table("crdt_messages"));
  BOOST_CHECK(is_internal_table("crdt_"));
  BOOST_CHECK(!is_internal_table("crdt"));
  BOOST_CHECK(!is_internal_table("contacts"));
  BOOST_CHECK(!is_internal_table("my_crdt_accounts"));
  BOOST_CHECK(!is_internal_table("CRDT_accounts"));
  BOOST_CHECK(!is_internal_table(""));
}

// -- emails and passwords
// -------------------------------------------------------

BOOST_AUTO_TEST_CASE(emails_are_trimmed_and_lower_cased) {
  BOOST_CHECK_EQUAL(normalize_email("Ada@Example.ORG"), "ada@example.org");
  BOOST_CHECK_EQUAL(normalize_email("  ada@example.org\t "), "ada@example.org");
  BOOST_CHECK_EQUAL(normalize_email("\tADA@EXAMPLE.ORG"), "ada@example.org");
  BOOST_CHECK_EQUAL(normalize_email("ada@example.org"), "ada@example.org");
  BOOST_CHECK_EQUAL(normalize_email(""), "");
  BOOST_CHECK_EQUAL(normalize_email("   "), "");
  BOOST_CHECK_EQUAL(normalize_email(" \t "), "");
  BOOST_CHECK_EQUAL(normalize_email("x"), "x");
  // Inner spaces stay (and email_problem refuses them).
  BOOST_CHECK_EQUAL(normalize_email(" A B@C "), "a b@c");
  // Idempotent.
  auto once = normalize_email("  Mixed.Case+Tag@Sub.Example.COM ");
  BOOST_CHECK_EQUAL(once, "mixed.case+tag@sub.example.com");
  BOOST_CHECK_EQUAL(normalize_email(once), once);
}

BOOST_AUTO_TEST_CASE(email_problems_are_found) {
  for (const char* good :
       {"ada@example.org", "a@b", "first.last+tag@sub.x.io", "x@localhost"})
    BOOST_CHECK_MESSAGE(email_problem(good).empty(),
                        good << ": " << email_problem(good));
  for (const char* bad :
       {"", "a", "ab", "@b", "adaexample.org", "ada@exam@ple.org", "a@b@c",
        "@example.org", "ada@", "ada @example.org", "ada@example .org",
        " ada@example.org", "ada@example.org ", "ada\t@example.org",
        "ada\n@example.org", "ada\x7f@example.org", "ada\x01@example.org", "@@",
        "a@@b"})
    BOOST_CHECK_MESSAGE(!email_problem(bad).empty(), "accepted: " << bad);
  // 254 characters are fine, 255 are not.
  auto domain = "@" + std::string(250, 'd');
  BOOST_CHECK(email_problem("abc" + domain).empty());
  BOOST_CHECK(!email_problem("abcd" + domain).empty());
  BOOST_CHECK(!email_problem(std::string(10000, 'a') + "@b.c").empty());
  // A NUL inside counts as a control character.
  BOOST_CHECK(!email_problem(std::string{"ada\0@example.org", 16}).empty());
}

BOOST_AUTO_TEST_CASE(password_problems_are_found) {
  BOOST_CHECK(!password_problem("").empty());
  BOOST_CHECK(!password_problem("1234567").empty());
  BOOST_CHECK(password_problem("12345678").empty());
  BOOST_CHECK(password_problem(std::string(1024, 'p')).empty());
  BOOST_CHECK(!password_problem(std::string(1025, 'p')).empty());
  BOOST_CHECK(!password_problem(std::string(100000, 'p')).empty());
  // Bytes, not characters: four 2-byte characters are 8 bytes.
  BOOST_CHECK(password_problem("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9").empty());
}

// -- the first admin's id
// -------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_admin_id_is_deterministic_and_a_ulid) {
  auto id = admin_account_id(org_id, "admin@example.org");
  BOOST_CHECK_MESSAGE(valid_ulid(id), id);
  BOOST_CHECK_EQUAL(id.size(), 26u);
  BOOST_CHECK_EQUAL(admin_account_id(org_id, "admin@example.org"), id);
  // The organization's time part.
  BOOST_CHECK_EQUAL(id.substr(0, 10), std::string{org_id}.substr(0, 10));
  // Another email, another organization: another id.
  auto other_email = admin_account_id(org_id, "root@example.org");
  auto other_org = admin_account_id(other_org_id, "admin@example.org");
  BOOST_CHECK(valid_ulid(other_email));
  BOOST_CHECK(valid_ulid(other_org));
  BOOST_CHECK_NE(other_email, id);
  BOOST_CHECK_NE(other_org, id);
  BOOST_CHECK_EQUAL(other_org.substr(0, 10), id.substr(0, 10));
  BOOST_CHECK_NE(other_org.substr(10), id.substr(10));
  // The separator keeps (org, email) pairs apart.
  BOOST_CHECK_NE(admin_account_id("ab", "c@d"), admin_account_id("a", "bc@d"));
  // An organization id that is not a ULID gives a zero time part.
  auto plain = admin_account_id("default", "admin@example.org");
  BOOST_CHECK_MESSAGE(valid_ulid(plain), plain);
  BOOST_CHECK_EQUAL(plain.substr(0, 10), "0000000000");
  BOOST_CHECK_NE(plain.substr(10), id.substr(10));
  auto empty = admin_account_id("", "");
  BOOST_CHECK_MESSAGE(valid_ulid(empty), empty);
}

BOOST_AUTO_TEST_CASE(admin_ids_spread_over_the_alphabet) {
  // The random part uses all 32 symbols and no two emails collide.
  std::set<std::string> ids;
  std::set<char> symbols;
  for (int i = 0; i < 500; ++i) {
    auto id = admin_account_id(org_id, "admin" + std::to_string(i) + "@x.io");
    BOOST_REQUIRE_MESSAGE(valid_ulid(id), id);
    ids.insert(id);
    symbols.insert(id.begin() + 10, id.end());
  }
  BOOST_CHECK_EQUAL(ids.size(), 500u);
  BOOST_CHECK_EQUAL(symbols.size(), 32u);
  // The last symbol takes its 5 bits from the digest as well.
  std::set<char> last;
  for (int i = 0; i < 500; ++i)
    last.insert(admin_account_id(org_id, std::to_string(i)).back());
  BOOST_CHECK_EQUAL(last.size(), 32u);
}

// -- changes ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(make_organization_builds_the_create) {
  principal who{other_org_id, "01JAR2HPE7JJS1HYQZ7FYK0S4A", "admin"};
  auto c = make_organization(org_id, "Acme", who);
  BOOST_CHECK(c.kind == record_change::create);
  BOOST_CHECK_EQUAL(c.table, "crdt_organizations");
  BOOST_CHECK_EQUAL(c.id, org_id);
  BOOST_REQUIRE_EQUAL(c.fields.size(), 1u);
  BOOST_CHECK_EQUAL(c.fields[0].first, "name");
  BOOST_CHECK(c.fields[0].second == text("Acme"));
  // The organization belongs to itself; the creator stays.
  BOOST_CHECK_EQUAL(c.who.organization_id, org_id);
  BOOST_CHECK_EQUAL(c.who.account_id, "01JAR2HPE7JJS1HYQZ7FYK0S4A");
  BOOST_CHECK_EQUAL(c.who.role, "admin");
  BOOST_REQUIRE_EQUAL(message_count(c), 7u);
  auto ts = stamps(message_count(c));
  auto msgs = make_messages(c, ts);
  BOOST_REQUIRE_EQUAL(msgs.size(), 7u);
  for (size_t i = 0; i < msgs.size(); ++i) {
    BOOST_CHECK_EQUAL(msgs[i].dataset, "crdt_organizations");
    BOOST_CHECK_EQUAL(msgs[i].row, org_id);
    BOOST_CHECK_EQUAL(msgs[i].timestamp, ts[i]);
  }
  auto cols = by_column(msgs);
  BOOST_CHECK(cols["name"] == text("Acme"));
  BOOST_CHECK(cols["tombstone"] == value{int64_t{0}});
  BOOST_CHECK(cols["organization_id"] == text(org_id));
  BOOST_CHECK(cols["created_by"] == text("01JAR2HPE7JJS1HYQZ7FYK0S4A"));
  BOOST_CHECK(cols["updated_by"] == text("01JAR2HPE7JJS1HYQZ7FYK0S4A"));
  BOOST_CHECK(cols["created_at"] == text("2025-11-24T16:00:00.000Z"));
  BOOST_CHECK(cols["updated_at"] == text("2025-11-24T16:00:00.000Z"));
}

BOOST_AUTO_TEST_CASE(make_account_builds_the_create) {
  principal who{org_id, "01JAR2HPE7JJS1HYQZ7FYK0S4A", "admin"};
  auto c = make_account("01JAR2HPE7JJS1HYQZ7FYK0S4C", "bob@example.org",
                        "$argon2id$hash", "member", who);
  BOOST_CHECK(c.kind == record_change::create);
  BOOST_CHECK_EQUAL(c.table, "crdt_accounts");
  BOOST_CHECK_EQUAL(c.id, "01JAR2HPE7JJS1HYQZ7FYK0S4C");
  BOOST_REQUIRE_EQUAL(c.fields.size(), 3u);
  BOOST_CHECK_EQUAL(c.fields[0].first, "email");
  BOOST_CHECK(c.fields[0].second == text("bob@example.org"));
  BOOST_CHECK_EQUAL(c.fields[1].first, "password_hash");
  BOOST_CHECK(c.fields[1].second == text("$argon2id$hash"));
  BOOST_CHECK_EQUAL(c.fields[2].first, "role");
  BOOST_CHECK(c.fields[2].second == text("member"));
  BOOST_CHECK_EQUAL(c.who.organization_id, org_id);
  BOOST_CHECK_EQUAL(c.who.account_id, "01JAR2HPE7JJS1HYQZ7FYK0S4A");
  BOOST_REQUIRE_EQUAL(message_count(c), 9u);
  auto msgs = make_messages(c, stamps(9));
  BOOST_REQUIRE_EQUAL(msgs.size(), 9u);
  for (const auto& m : msgs) {
    BOOST_CHECK_EQUAL(m.dataset, "crdt_accounts");
    BOOST_CHECK_EQUAL(m.row, "01JAR2HPE7JJS1HYQZ7FYK0S4C");
  }
  auto cols = by_column(msgs);
  BOOST_CHECK(cols["email"] == text("bob@example.org"));
  BOOST_CHECK(cols["password_hash"] == text("$argon2id$hash"));
  BOOST_CHECK(cols["role"] == text("member"));
  BOOST_CHECK(cols["tombstone"] == value{int64_t{0}});
  BOOST_CHECK(cols["organization_id"] == text(org_id));
  BOOST_CHECK(cols["created_by"] == text("01JAR2HPE7JJS1HYQZ7FYK0S4A"));
  BOOST_CHECK(cols["updated_by"] == text("01JAR2HPE7JJS1HYQZ7FYK0S4A"));
  // The messages pass the built-in validator's field types.
  schema_set s;
  add_builtin_tables(s);
  for (const auto& m : msgs)
    if (auto f = s[accounts_table]->find(m.column))
      BOOST_CHECK_MESSAGE(value_fits(*f, m.val), m.column);
}

BOOST_AUTO_TEST_CASE(a_self_created_admin_is_its_own_creator) {
  // As bootstrap makes it: the first admin creates itself and its
  // organization.
  auto admin = admin_account_id(org_id, "admin@example.org");
  principal who{org_id, admin, admin_role};
  auto org
      = make_messages(make_organization(org_id, "Default", who), stamps(7));
  auto acc = make_messages(
      make_account(admin, "admin@example.org", "h", admin_role, who),
      stamps(9));
  auto o = by_column(org);
  auto a = by_column(acc);
  BOOST_CHECK(o["organization_id"] == text(org_id));
  BOOST_CHECK(o["created_by"] == text(admin));
  BOOST_CHECK(a["organization_id"] == text(org_id));
  BOOST_CHECK(a["created_by"] == text(admin));
  BOOST_CHECK(a["role"] == text("admin"));
  // Without an account the creator is null.
  auto anon = by_column(make_messages(
      make_organization(org_id, "Default", principal{}), stamps(7)));
  BOOST_CHECK(anon["organization_id"] == text(org_id));
  BOOST_CHECK(anon["created_by"] == value{});
}

BOOST_AUTO_TEST_CASE(founding_stamps_lie_at_the_organizations_time) {
  const std::string node = "0123456789abcdef";
  auto stamps = founding_stamps("01JBHKXHYSKPP247HZZWHA3JCT", node, 3);
  BOOST_REQUIRE_EQUAL(stamps.size(), 3u);
  // The default organization's ULID time, counters 0, 1, 2, this node.
  BOOST_CHECK_EQUAL(stamps[0], "2024-10-31T15:43:15.417Z-0000-" + node);
  BOOST_CHECK_EQUAL(stamps[2], "2024-10-31T15:43:15.417Z-0002-" + node);
  // No ULID: the epoch.
  BOOST_CHECK_EQUAL(founding_stamps("my-org", node, 1)[0],
                    "1970-01-01T00:00:00.000Z-0000-" + node);
  // A ULID from the future would be refused by clocks and hubs: the epoch.
  auto future = make_ulid(wall_clock_ms() + 365LL * 24 * 3600 * 1000);
  BOOST_CHECK_EQUAL(founding_stamps(future, node, 1)[0],
                    "1970-01-01T00:00:00.000Z-0000-" + node);
}

BOOST_AUTO_TEST_CASE(the_default_admin_id_is_pinned) {
  // Nodes of one group must agree on it across versions.
  BOOST_CHECK_EQUAL(
      admin_account_id("01JBHKXHYSKPP247HZZWHA3JCT", "admin@example.com"),
      "01JBHKXHYS9G724DEKHM2M8B8F");
}

BOOST_AUTO_TEST_SUITE_END()
