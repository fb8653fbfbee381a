// The store with organizations and accounts: records read through an
// organization (get, list, state), accounts looked up by email, and the
// node's local secrets.

#include "storage/read_store.hpp"
#include "storage/write_store.hpp"

#include "auth/accounts.hpp"
#include "protocol/change.hpp"
#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"

#include "tests/support.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

using namespace crdt;
using test::why;

namespace {

const char* notes_schema = R"({"type":"object","properties":{
  "title":{"type":"string"}}})";

const std::string org_a = "01JAR2HPE7JJS1HYQZ7FYK0A00";
const std::string org_b = "01JAR2HPE7JJS1HYQZ7FYK0B00";

const std::string admin_a = "01JAR2HPE7JJS1HYQZ7FYK0A01";
const std::string admin_b = "01JAR2HPE7JJS1HYQZ7FYK0B01";

// Notes: live and deleted in each organization, and one without any.
const std::string note_a = "01JAR2HPE7JJS1HYQZ7FYKNA01";
const std::string note_a_gone = "01JAR2HPE7JJS1HYQZ7FYKNA02";
const std::string note_b = "01JAR2HPE7JJS1HYQZ7FYKNB01";
const std::string note_b_gone = "01JAR2HPE7JJS1HYQZ7FYKNB02";
const std::string note_none = "01JAR2HPE7JJS1HYQZ7FYKNC01";

// Accounts: ada in A, bob in B, a deleted one in A, and one email held in
// both (B's made first, with the greater id).
const std::string ada = "01JAR2HPE7JJS1HYQZ7FYKAA01";
const std::string bob = "01JAR2HPE7JJS1HYQZ7FYKAB01";
const std::string gone = "01JAR2HPE7JJS1HYQZ7FYKAA02";
const std::string twin_a = "01JAR2HPE7JJS1HYQZ7FYKAA03";
const std::string twin_b = "01JAR2HPE7JJS1HYQZ7FYKAZ99";

struct fixture {
  fixture() : dir("auth-store-tests") {
    opts = test::test_store(dir.file("db.sqlite"));
    add_builtin_tables(schemas);
    schemas.merge(test::make_schemas({{"notes", notes_schema}}));
    writer = test::open_writer(opts, schemas);
    stamps.node = writer->node_id();
  }

  // Stamps the changes (in order, each message in its own millisecond)
  // and commits them in one batch.
  void commit(const std::vector<record_change>& changes) {
    test::commit_changes(*writer, stamps, changes);
  }

  static record_change note(const std::string& id, const std::string& title,
                            const std::string& org) {
    record_change c;
    c.table = "notes";
    c.id = id;
    c.fields.emplace_back("title", value{title});
    c.who = principal{org, org == org_a ? admin_a : admin_b, "member"};
    return c;
  }

  static record_change removal(const std::string& table, const std::string& id,
                               const std::string& org) {
    record_change c;
    c.kind = record_change::remove;
    c.table = table;
    c.id = id;
    c.who = principal{org, "", "admin"};
    return c;
  }

  static record_change account(const std::string& id, const std::string& email,
                               const std::string& org,
                               const std::string& role = "member") {
    return make_account(
        id, email, "hash-of-" + id, role,
        principal{org, org == org_a ? admin_a : admin_b, "admin"});
  }

  // The standard content: two organizations with notes and accounts.
  void populate() {
    commit({make_organization(org_a, "Org A", principal{"", admin_a, "admin"}),
            make_organization(org_b, "Org B", principal{"", admin_b, "admin"}),
            note(note_a, "a live", org_a), note(note_a_gone, "a gone", org_a),
            note(note_b, "b live", org_b), note(note_b_gone, "b gone", org_b),
            note(note_none, "nobody's", ""),
            account(ada, "ada@a.org", org_a, "admin"),
            account(bob, "bob@b.org", org_b),
            account(gone, "gone@a.org", org_a),
            account(twin_b, "twin@x.org", org_b),
            account(twin_a, "twin@x.org", org_a)});
    commit({removal("notes", note_a_gone, org_a),
            removal("notes", note_b_gone, org_b),
            removal(accounts_table, gone, org_a)});
  }

  std::unique_ptr<read_store> reader() {
    return test::open_reader(opts.path, schemas);
  }

  static std::string state(read_store& r, const std::string& table,
                           const std::string& id, const std::string& org) {
    auto s = r.state(table, id, org);
    BOOST_REQUIRE_MESSAGE(s, why(s));
    return to_string(*s);
  }

  // The ids a list returns, and checks its count agrees.
  static std::set<std::string> listed(read_store& r, const std::string& table,
                                      const std::string& org) {
    read_store::list_query q;
    q.pluck = {"id"};
    auto l = r.list(table, q, org);
    BOOST_REQUIRE_MESSAGE(l, why(l));
    std::set<std::string> out;
    rapidjson::Document d;
    d.Parse(("[" + l->second + "]").c_str());
    BOOST_REQUIRE(!d.HasParseError());
    for (const auto& row : d.GetArray())
      out.emplace(row["id"].GetString());
    BOOST_CHECK_EQUAL(l->first, out.size());
    return out;
  }

  test::temp_dir dir;
  store_options opts;
  schema_set schemas;
  std::unique_ptr<write_store> writer;
  test::stamper stamps;
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(auth_store_tests, fixture)

BOOST_AUTO_TEST_CASE(the_builtin_tables_are_created_with_an_email_index) {
  std::set<std::string> names;
  auto s = writer->db().prepare_once(
      "SELECT name FROM sqlite_master WHERE type IN ('table', 'index')");
  BOOST_REQUIRE(s);
  while (s->step() == SQLITE_ROW)
    names.emplace(s->column_text(0));
  for (const char* n : {"crdt_organizations", "crdt_accounts", "crdt_local",
                        "crdt_accounts_email", "notes"})
    BOOST_CHECK_MESSAGE(names.count(n) == 1, "missing " << n);
}

BOOST_AUTO_TEST_CASE(get_sees_only_the_callers_organization) {
  populate();
  auto r = reader();
  auto a = r->get("notes", note_a, org_a);
  BOOST_REQUIRE_MESSAGE(a, why(a));
  BOOST_CHECK_MESSAGE(contains(*a, "\"a live\""), *a);
  BOOST_CHECK_MESSAGE(contains(*a, org_a), *a);
  // B's record under A reads as absent, as does A's under B.
  for (auto [id, org] : {std::pair{note_b, org_a}, std::pair{note_a, org_b},
                         std::pair{note_none, org_a}}) {
    auto hidden = r->get("notes", id, org);
    BOOST_CHECK_MESSAGE(!hidden, id << " under " << org);
    if (!hidden)
      BOOST_CHECK(is(hidden.error(), ec::not_found));
  }
  // Deleted records are absent for their own organization too.
  auto deleted = r->get("notes", note_a_gone, org_a);
  BOOST_REQUIRE(!deleted);
  BOOST_CHECK(is(deleted.error(), ec::not_found));
  auto b = r->get("notes", note_b, org_b);
  BOOST_REQUIRE(b);
  BOOST_CHECK(contains(*b, "\"b live\""));
  // An organization that holds nothing sees nothing.
  BOOST_CHECK(!r->get("notes", note_a, "01JAR2HPE7JJS1HYQZ7FYK0C00"));
  // No filter: the service's own look-ups see every live record.
  for (const auto& id : {note_a, note_b, note_none})
    BOOST_CHECK_MESSAGE(r->get("notes", id, ""), id);
  BOOST_CHECK(!r->get("notes", note_b_gone, ""));
  // Same for the built-in tables.
  BOOST_CHECK(r->get(accounts_table, ada, org_a));
  BOOST_CHECK(!r->get(accounts_table, ada, org_b));
  BOOST_CHECK(r->get(organizations_table, org_a, org_a));
  BOOST_CHECK(!r->get(organizations_table, org_b, org_a));
}

BOOST_AUTO_TEST_CASE(list_sees_only_the_callers_organization) {
  populate();
  auto r = reader();
  BOOST_CHECK((listed(*r, "notes", org_a) == std::set<std::string>{note_a}));
  BOOST_CHECK((listed(*r, "notes", org_b) == std::set<std::string>{note_b}));
  BOOST_CHECK((listed(*r, "notes", "")
               == std::set<std::string>{note_a, note_b, note_none}));
  BOOST_CHECK(listed(*r, "notes", "01JAR2HPE7JJS1HYQZ7FYK0C00").empty());
  BOOST_CHECK((listed(*r, accounts_table, org_a)
               == std::set<std::string>{ada, twin_a}));
  BOOST_CHECK((listed(*r, accounts_table, org_b)
               == std::set<std::string>{bob, twin_b}));
  BOOST_CHECK((listed(*r, accounts_table, "")
               == std::set<std::string>{ada, bob, twin_a, twin_b}));
  // Paging applies after the filter.
  read_store::list_query q;
  q.pluck = {"id"};
  q.limit = 1;
  q.offset = 1;
  q.order = "id";
  auto page = r->list(accounts_table, q, org_a);
  BOOST_REQUIRE(page);
  BOOST_CHECK_EQUAL(page->first, 1u);
  BOOST_CHECK_MESSAGE(contains(page->second, twin_a), page->second);
}

BOOST_AUTO_TEST_CASE(state_tells_another_organizations_records_apart) {
  populate();
  auto r = reader();
  BOOST_CHECK_EQUAL(state(*r, "notes", note_a, org_a), "live");
  BOOST_CHECK_EQUAL(state(*r, "notes", note_a_gone, org_a), "deleted");
  BOOST_CHECK_EQUAL(state(*r, "notes", note_b, org_a), "foreign");
  BOOST_CHECK_EQUAL(state(*r, "notes", note_b_gone, org_a), "foreign");
  BOOST_CHECK_EQUAL(state(*r, "notes", note_a, org_b), "foreign");
  BOOST_CHECK_EQUAL(state(*r, "notes", note_a_gone, org_b), "foreign");
  BOOST_CHECK_EQUAL(state(*r, "notes", note_b, org_b), "live");
  BOOST_CHECK_EQUAL(state(*r, "notes", note_b_gone, org_b), "deleted");
  // A record without an organization belongs to no caller.
  BOOST_CHECK_EQUAL(state(*r, "notes", note_none, org_a), "foreign");
  BOOST_CHECK_EQUAL(state(*r, "notes", note_none, ""), "live");
  BOOST_CHECK_EQUAL(state(*r, "notes", "01JAR2HPE7JJS1HYQZ7FYKNX99", org_a),
                    "absent");
  BOOST_CHECK_EQUAL(state(*r, "notes", "01JAR2HPE7JJS1HYQZ7FYKNX99", ""),
                    "absent");
  // No filter: live or deleted.
  BOOST_CHECK_EQUAL(state(*r, "notes", note_a, ""), "live");
  BOOST_CHECK_EQUAL(state(*r, "notes", note_b_gone, ""), "deleted");
  BOOST_CHECK_EQUAL(state(*r, accounts_table, gone, org_a), "deleted");
  BOOST_CHECK_EQUAL(state(*r, accounts_table, gone, org_b), "foreign");
  BOOST_CHECK_EQUAL(state(*r, organizations_table, org_b, org_b), "live");
  BOOST_CHECK_EQUAL(state(*r, organizations_table, org_b, org_a), "foreign");
  auto unknown = r->state("nope", note_a, org_a);
  BOOST_REQUIRE(!unknown);
  BOOST_CHECK(is(unknown.error(), ec::unknown_table));
}

BOOST_AUTO_TEST_CASE(accounts_are_found_by_exact_email_when_live) {
  populate();
  auto r = reader();
  auto found = r->accounts_by_email("ada@a.org");
  BOOST_REQUIRE_MESSAGE(found, why(found));
  BOOST_REQUIRE_EQUAL(found->size(), 1u);
  const auto& a = found->front();
  BOOST_CHECK_EQUAL(a.id, ada);
  BOOST_CHECK_EQUAL(a.organization_id, org_a);
  BOOST_CHECK_EQUAL(a.email, "ada@a.org");
  BOOST_CHECK_EQUAL(a.role, "admin");
  BOOST_CHECK_EQUAL(a.password_hash, "hash-of-" + ada);
  auto b = r->accounts_by_email("bob@b.org");
  BOOST_REQUIRE(b);
  BOOST_REQUIRE_EQUAL(b->size(), 1u);
  BOOST_CHECK_EQUAL(b->front().organization_id, org_b);
  BOOST_CHECK_EQUAL(b->front().role, "member");
  // Exact matches of the stored (normalized) email only.
  for (const char* miss : {"ADA@a.org", " ada@a.org", "ada@a.org ", "ada@a.or",
                           "da@a.org", "ada", "", "%", "ada@a.org%"}) {
    auto none = r->accounts_by_email(miss);
    BOOST_REQUIRE(none);
    BOOST_CHECK_MESSAGE(none->empty(), "found by '" << miss << "'");
  }
  // Deleted accounts are not found.
  auto deleted = r->accounts_by_email("gone@a.org");
  BOOST_REQUIRE(deleted);
  BOOST_CHECK(deleted->empty());
  // One email in two organizations: both, oldest first.
  auto twins = r->accounts_by_email("twin@x.org");
  BOOST_REQUIRE(twins);
  BOOST_REQUIRE_EQUAL(twins->size(), 2u);
  BOOST_CHECK_EQUAL((*twins)[0].id, twin_b);
  BOOST_CHECK_EQUAL((*twins)[0].organization_id, org_b);
  BOOST_CHECK_EQUAL((*twins)[1].id, twin_a);
  BOOST_CHECK_EQUAL((*twins)[1].organization_id, org_a);
}

BOOST_AUTO_TEST_CASE(accounts_are_found_by_id_when_live) {
  populate();
  auto r = reader();
  auto a = r->account_by_id(ada);
  BOOST_REQUIRE_MESSAGE(a, why(a));
  BOOST_CHECK_EQUAL(a->id, ada);
  BOOST_CHECK_EQUAL(a->organization_id, org_a);
  BOOST_CHECK_EQUAL(a->email, "ada@a.org");
  BOOST_CHECK_EQUAL(a->role, "admin");
  BOOST_CHECK_EQUAL(a->password_hash, "hash-of-" + ada);
  auto b = r->account_by_id(twin_b);
  BOOST_REQUIRE(b);
  BOOST_CHECK_EQUAL(b->organization_id, org_b);
  // Deleted, unknown, or the id of another table's record.
  for (const auto& id : {gone, std::string{"01JAR2HPE7JJS1HYQZ7FYKAX99"},
                         note_a, org_a, std::string{}}) {
    auto none = r->account_by_id(id);
    BOOST_CHECK_MESSAGE(!none, "found '" << id << "'");
    if (!none)
      BOOST_CHECK(is(none.error(), ec::not_found));
  }
}

BOOST_AUTO_TEST_CASE(the_reader_sees_later_account_changes) {
  populate();
  auto r = reader();
  BOOST_CHECK(r->accounts_by_email("gone@a.org")->empty());
  // An update of the email moves the account; the reader sees commits made
  // after it was opened.
  record_change move;
  move.kind = record_change::update;
  move.table = accounts_table;
  move.id = ada;
  move.fields.emplace_back("email", value{std::string{"ada@new.org"}});
  move.who = principal{org_a, admin_a, "admin"};
  commit({move, account("01JAR2HPE7JJS1HYQZ7FYKAA09", "new@a.org", org_a)});
  BOOST_CHECK(r->accounts_by_email("ada@a.org")->empty());
  auto moved = r->accounts_by_email("ada@new.org");
  BOOST_REQUIRE(moved);
  BOOST_REQUIRE_EQUAL(moved->size(), 1u);
  BOOST_CHECK_EQUAL(moved->front().id, ada);
  BOOST_CHECK_EQUAL(r->accounts_by_email("new@a.org")->size(), 1u);
}

BOOST_AUTO_TEST_CASE(an_empty_store_finds_no_account) {
  auto r = reader();
  auto none = r->accounts_by_email("ada@a.org");
  BOOST_REQUIRE_MESSAGE(none, why(none));
  BOOST_CHECK(none->empty());
  BOOST_CHECK_EQUAL(state(*r, accounts_table, ada, ""), "absent");
  BOOST_CHECK_EQUAL(state(*r, organizations_table, org_a, org_a), "absent");
}

BOOST_AUTO_TEST_CASE(a_local_secret_is_stored_once) {
  auto first = writer->local_secret("jwt_secret", "first-value");
  BOOST_REQUIRE_MESSAGE(first, why(first));
  BOOST_CHECK_EQUAL(*first, "first-value");
  // Later calls answer the stored value, whatever the fallback.
  auto again = writer->local_secret("jwt_secret", "second-value");
  BOOST_REQUIRE(again);
  BOOST_CHECK_EQUAL(*again, "first-value");
  auto empty = writer->local_secret("jwt_secret", "");
  BOOST_REQUIRE(empty);
  BOOST_CHECK_EQUAL(*empty, "first-value");
  // Keys are separate.
  auto other = writer->local_secret("other", "other-value");
  BOOST_REQUIRE(other);
  BOOST_CHECK_EQUAL(*other, "other-value");
  // Across a reopen.
  writer.reset();
  auto w = write_store::open(opts, schemas, nullptr, false);
  BOOST_REQUIRE(w);
  writer = std::move(*w);
  auto reopened = writer->local_secret("jwt_secret", "third-value");
  BOOST_REQUIRE(reopened);
  BOOST_CHECK_EQUAL(*reopened, "first-value");
  auto other_again = writer->local_secret("other", "x");
  BOOST_REQUIRE(other_again);
  BOOST_CHECK_EQUAL(*other_again, "other-value");
  // Never replicated: kept in crdt_local, nothing in the log (and so
  // nothing in the outbox).
  auto s = writer->db().prepare_once("SELECT (SELECT count(*) FROM crdt_local),"
                                     " (SELECT count(*) FROM crdt_messages)");
  BOOST_REQUIRE(s);
  BOOST_REQUIRE_EQUAL(s->step(), SQLITE_ROW);
  BOOST_CHECK_EQUAL(s->column_int(0), 2);
  BOOST_CHECK_EQUAL(s->column_int(1), 0);
}

// A replica that had not seen a record yet let another organization
// create the same id; last-writer-wins on organization_id then moved the
// record (and every field the second create did not write) to it.
BOOST_FIXTURE_TEST_CASE(a_later_create_of_the_same_id_cannot_take_the_record,
                        fixture) {
  commit({note(note_a, "secret of A", org_a)});
  // The same id created later, from organization B, in another batch (as a
  // sync would bring it).
  commit({note(note_a, "B's note", org_b)});
  auto r = reader();
  auto a = r->get("notes", note_a, org_a);
  BOOST_REQUIRE_MESSAGE(a, why(a));
  BOOST_CHECK(a->find(org_a) != std::string::npos);
  BOOST_CHECK(a->find(admin_a) != std::string::npos); // created_by stays A's
  BOOST_CHECK(!r->get("notes", note_a, org_b));
  BOOST_CHECK(*r->state("notes", note_a, org_b) == record_state::foreign);
  // Whichever arrives first, the earlier create keeps it.
  commit({note(note_b, "B first", org_b)});
  auto before = r->get("notes", note_b, org_b);
  BOOST_REQUIRE(before);
  // An older create of note_b by A arriving late (stamped before B's)
  // does take it: the earliest create decides, on every replica alike.
  record_change older = note(note_b, "A earlier", org_a);
  write_batch b;
  std::vector<std::string> early;
  for (size_t i = 0; i < message_count(older); ++i)
    early.push_back(to_string(timestamp{
        stamps.millis - 100000, static_cast<uint32_t>(i), "ffffffffffffffff"}));
  b.messages = make_messages(older, early);
  b.clock = stamps.next(1).front();
  auto res = writer->commit({&b});
  BOOST_REQUIRE_MESSAGE(res, why(res));
  BOOST_CHECK(r->get("notes", note_b, org_a));
  BOOST_CHECK(!r->get("notes", note_b, org_b));
}

BOOST_AUTO_TEST_SUITE_END()
