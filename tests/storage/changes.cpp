// The change feed's reads: pages of the log as one event per record, and
// positions named by event ids. The property test resumes from every
// position of a random history (writes of two organizations, deletions,
// messages arriving late with old timestamps) in small pages and checks
// that exactly the records changed after that position come back, each as
// it is now, and nothing of the other organization.

#include "tests/storage/store_fixture.hpp"

#include <rapidjson/document.h>

#include <map>
#include <random>
#include <set>

using namespace crdt;
using namespace crdt::test;

namespace {

constexpr const char* org_a = "01JAR2HPE7JJS1HYQZ7FYK0A00";
constexpr const char* org_b = "01JAR2HPE7JJS1HYQZ7FYK0B00";

// Reads every page from `after` up to `through`.
std::vector<change_event> read_all(read_store& r, uint64_t after,
                                   uint64_t through, const std::string& org,
                                   size_t scan, size_t max_events,
                                   std::vector<std::string> tables
                                   = {"people"}) {
  std::vector<change_event> out;
  changes_query q;
  q.after = after;
  q.through = through;
  q.tables = std::move(tables);
  q.organization = org;
  q.scan = scan;
  q.max_events = max_events;
  for (int guard = 0; q.after < q.through; ++guard) {
    BOOST_REQUIRE(guard < 100000);
    auto page = r.changes(q);
    BOOST_REQUIRE_MESSAGE(page, why(page));
    BOOST_REQUIRE(page->reached > q.after || !page->events.empty());
    BOOST_TEST(page->events.size() <= max_events);
    for (size_t i = 1; i < page->events.size(); ++i)
      BOOST_TEST(page->events[i - 1].seq < page->events[i].seq);
    for (auto& e : page->events)
      out.push_back(std::move(e));
    q.after = page->reached;
  }
  return out;
}

std::string member(const std::string& json, const char* name) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (!d.IsObject() || !d.HasMember(name) || !d[name].IsString())
    return {};
  return d[name].GetString();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(changes_tests, fixture)

BOOST_AUTO_TEST_CASE(one_event_per_record_as_it_is_now) {
  auto s = schemas({{"people", people_v1}, {"pets", pets_v1}});
  auto w = open(s);
  commit(*w, {msg(t0, "people", row_a, "organization_id", std::string{org_a}),
              msg(t0 + 1, "people", row_a, "name", std::string{"Ann"}),
              msg(t0 + 2, "pets", row_c, "organization_id", std::string{org_a}),
              msg(t0 + 3, "people", row_b, "organization_id", std::string{org_b}),
              msg(t0 + 4, "people", row_a, "name", std::string{"Anna"})});
  auto r = reader(s);
  auto head = r->log_head();
  BOOST_REQUIRE(head);
  auto page = r->changes({0, *head, {"people"}, org_a, 4096, 1000});
  BOOST_REQUIRE_MESSAGE(page, why(page));
  // row_a once, at its last message, with its current name; row_b is
  // another organization's; the pet another table's.
  BOOST_REQUIRE_EQUAL(page->events.size(), 1u);
  const auto& e = page->events.front();
  BOOST_TEST(e.id == row_a);
  BOOST_TEST(e.ts == msg(t0 + 4, "", "", "", 0).timestamp);
  BOOST_TEST(member(e.record, "name") == "Anna");
  BOOST_TEST(!e.deleted);
  BOOST_TEST(page->reached == *head);
  BOOST_TEST(page->reached_ts == e.ts);
  // Without an organization (the feed actor's shared read) both people.
  auto all = r->changes({0, *head, {"people"}, "", 4096, 1000});
  BOOST_REQUIRE(all);
  BOOST_TEST(all->events.size() == 2u);
  // A deletion is an event of its own kind, without the record.
  commit(*w, {msg(t0 + 5, "people", row_a, "tombstone", int64_t{1})});
  auto after = r->changes({*head, *head + 10, {"people"}, org_a, 4096, 1000});
  BOOST_REQUIRE(after);
  BOOST_REQUIRE_EQUAL(after->events.size(), 1u);
  BOOST_TEST(after->events.front().deleted);
  BOOST_TEST(after->events.front().record.empty());
}

BOOST_AUTO_TEST_CASE(pages_are_bounded_and_resume_where_they_stopped) {
  auto s = schemas({{"people", people_v1}});
  auto w = open(s);
  std::vector<message> ms;
  for (int i = 0; i < 50; ++i) {
    auto id = std::string{row}.substr(0, 24) + std::to_string(10 + i);
    ms.push_back(msg(t0 + 2 * i, "people", id, "organization_id",
                     std::string{org_a}));
    ms.push_back(msg(t0 + 2 * i + 1, "people", id, "name", std::string{"x"}));
  }
  commit(*w, ms);
  auto r = reader(s);
  auto head = *r->log_head();
  auto page = r->changes({0, head, {"people"}, org_a, 4096, 7});
  BOOST_REQUIRE(page);
  BOOST_TEST(page->events.size() == 7u);
  BOOST_TEST(page->reached < head);
  // Looks at no more of the log than asked.
  auto small = r->changes({0, head, {"people"}, org_a, 5, 1000});
  BOOST_REQUIRE(small);
  BOOST_TEST(small->events.size() == 3u);
  auto events = read_all(*r, 0, head, org_a, 5, 3);
  std::set<std::string> ids;
  for (const auto& e : events)
    ids.insert(e.id);
  BOOST_TEST(ids.size() == 50u);
}

BOOST_AUTO_TEST_CASE(positions_of_event_ids) {
  auto s = schemas({{"people", people_v1}});
  auto w = open(s);
  commit(*w, {msg(t0, "people", row_a, "name", std::string{"a"}),
              msg(t0 + 10, "people", row_a, "name", std::string{"b"})});
  // Arrives later, stamped earlier: stored after the others.
  commit(*w, {msg(t0 + 5, "people", row_b, "name", std::string{"c"}, "bbbbbbbbbbbbbbbb")});
  auto r = reader(s);
  auto head = *r->log_head();
  auto id = [](int64_t at, const char* node = "aaaaaaaaaaaaaaaa") {
    return msg(at, "", "", "", 0, node).timestamp;
  };
  // An id this node stored: exactly its position.
  auto p10 = r->feed_position(id(t0 + 10), head);
  BOOST_REQUIRE(p10);
  auto late = r->feed_position(id(t0 + 5, "bbbbbbbbbbbbbbbb"), head);
  BOOST_REQUIRE(late);
  BOOST_TEST(*late == head);
  BOOST_TEST(*p10 < *late);
  // From t0+10 on, the late message is still ahead.
  auto rest = read_all(*r, *p10, head, "", 4096, 1000);
  BOOST_REQUIRE_EQUAL(rest.size(), 1u);
  BOOST_TEST(rest.front().id == row_b);
  // An id not stored here: before the first message stamped after it.
  auto between = r->feed_position(id(t0 + 7), head);
  BOOST_REQUIRE(between);
  BOOST_TEST(*between == *p10 - 1);
  BOOST_TEST(*r->feed_position("0", head) == 0u);
  // Nothing stamped later: where the live changes start (given).
  BOOST_TEST(*r->feed_position(id(t0 + 999), head + 7) == head + 7);
  // More stamped later than may be replayed: refused without reading on.
  auto old = r->feed_position(id(t0 - 1), head, 2);
  BOOST_REQUIRE(!old);
  BOOST_TEST(is(old.error(), ec::conflict));
  BOOST_TEST(*r->feed_position(id(t0 - 1), head, 3) == 0u);
  auto bad = r->feed_position("yesterday", head);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(is(bad.error(), ec::bad_request));
  // Positions are named by the last message at or before them.
  BOOST_TEST(*r->position_id(head) == id(t0 + 5, "bbbbbbbbbbbbbbbb"));
  // Before every message: "0", which `since` takes back as the start. It
  // was "", which `since` reads as "from now": a client resuming from the
  // id of an empty log's up-to-date missed what came in between.
  BOOST_TEST(*r->position_id(0) == "0");
  BOOST_TEST(*r->feed_position(*r->position_id(0), head) == 0u);
}

// Records of other organizations do not fill a page: one page of a small
// organization's changes reads as far as its scan allows. They counted
// before, so a long poll with limit=1 behind 300 foreign records took a
// reader round trip per foreign record (and never answered in a busy
// shared table).
BOOST_AUTO_TEST_CASE(other_organizations_do_not_fill_a_page) {
  auto s = schemas({{"people", people_v1}});
  auto w = open(s);
  std::vector<message> batch;
  for (int i = 0; i < 300; ++i) {
    auto id = std::string{row}.substr(0, 22) + std::to_string(1000 + i);
    batch.push_back(msg(t0 + 2 * i, "people", id, "organization_id", org_b));
    batch.push_back(msg(t0 + 2 * i + 1, "people", id, "name", "theirs"));
  }
  batch.push_back(msg(t0 + 1000, "people", row_a, "organization_id", org_a));
  batch.push_back(msg(t0 + 1001, "people", row_a, "name", "ours"));
  commit(*w, batch);
  auto r = reader(s);
  changes_query q;
  q.after = 0;
  q.through = *r->log_head();
  q.tables = {"people"};
  q.organization = org_a;
  q.max_events = 1;
  auto page = r->changes(q);
  BOOST_REQUIRE_MESSAGE(page, why(page));
  BOOST_REQUIRE_EQUAL(page->events.size(), 1u);
  BOOST_TEST(page->events.front().id == row_a);
  BOOST_TEST(page->reached == q.through);
  // For everyone (the feed actor's shared read) they still count.
  q.organization.clear();
  page = r->changes(q);
  BOOST_REQUIRE(page);
  BOOST_TEST(page->events.size() == 1u);
  BOOST_TEST(page->reached < q.through);
}

// From every position of a random history, read in random small pages:
// exactly the records of the organization with a message past the
// position, each as the table holds it now.
BOOST_AUTO_TEST_CASE(resuming_from_every_position_gives_exactly_the_missing) {
  auto s = schemas({{"people", people_v1}, {"pets", pets_v1}});
  auto w = open(s);
  std::mt19937 rng{20261206};
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i)
    ids.push_back(std::string{row}.substr(0, 24) + std::to_string(10 + i));
  std::map<std::string, std::string> org_of;
  int64_t now = t0;
  for (int step = 0; step < 150; ++step) {
    std::vector<message> batch;
    auto n = 1 + rng() % 4;
    for (size_t k = 0; k < n; ++k) {
      const auto& id = ids[rng() % ids.size()];
      std::string table = rng() % 4 == 0 ? "pets" : "people";
      // Some messages come late through sync, stamped in the past.
      auto at = rng() % 5 == 0 ? t0 + step : ++now + 1000;
      auto node = rng() % 2 ? "aaaaaaaaaaaaaaaa" : "bbbbbbbbbbbbbbbb";
      auto key = table + "/" + id;
      if (!org_of.count(key)) {
        org_of[key] = rng() % 2 ? org_a : org_b;
        batch.push_back(msg(at, table, id, "organization_id", org_of[key],
                            node, static_cast<uint32_t>(k)));
      } else if (rng() % 6 == 0) {
        batch.push_back(msg(at, table, id, "tombstone",
                            int64_t{rng() % 2 ? 1 : 0}, node,
                            static_cast<uint32_t>(k)));
      } else {
        batch.push_back(msg(at, table, id, table == "pets" ? "kind" : "name",
                            std::to_string(rng()), node,
                            static_cast<uint32_t>(k)));
      }
    }
    commit(*w, batch);
  }
  auto r = reader(s);
  auto head = *r->log_head();
  // The log as stored, by position.
  std::map<uint64_t, std::pair<std::string, std::string>> by_seq;
  {
    auto st = r->db().prepare_once(
        "SELECT seq, dataset, row_id FROM crdt_messages ORDER BY seq");
    BOOST_REQUIRE(st);
    while (st->step() == SQLITE_ROW)
      by_seq[static_cast<uint64_t>(st->column_int(0))]
          = {std::string{st->column_text(1)}, std::string{st->column_text(2)}};
  }
  BOOST_REQUIRE(!by_seq.empty());
  // The tables now, rendered like the feed does.
  auto now_of = [&](const std::string& id) {
    auto rec = r->get("people", id, "");
    return rec ? *rec : std::string{};
  };
  for (uint64_t from = 0; from <= head; ++from) {
    for (const char* org : {org_a, org_b}) {
      std::set<std::string> want;
      for (auto it = by_seq.upper_bound(from); it != by_seq.end(); ++it)
        if (it->second.first == "people"
            && org_of["people/" + it->second.second] == org)
          want.insert(it->second.second);
      auto events = read_all(*r, from, head, org, 1 + rng() % 7,
                             1 + rng() % 4);
      std::set<std::string> got;
      for (const auto& e : events) {
        got.insert(e.id);
        BOOST_TEST(e.organization == org);
        BOOST_TEST(e.table == "people");
        if (!e.deleted)
          BOOST_TEST(e.record == now_of(e.id));
        else
          BOOST_TEST(now_of(e.id).empty());
      }
      BOOST_TEST(got == want, "from position " << from);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
