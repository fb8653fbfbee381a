// List filters and cursors against a model: random records with ties and
// missing values, random filters of every operator, random orders, paged
// through with `next` cursors, with records inserted and deleted between
// pages. The store must answer exactly what the model says.

#include "protocol/query.hpp"
#include "tests/storage/store_fixture.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

using namespace crdt;
using namespace crdt::test;

namespace {

constexpr const char* things_schema = R"({"type":"object","properties":{
  "name":{"type":["string","null"]},"qty":{"type":["integer","null"]},
  "price":{"type":["number","null"]},"active":{"type":["boolean","null"]}}})";

const std::vector<std::string> fields{"name", "qty", "price", "active"};

struct model_row {
  std::string id;
  std::map<std::string, value> cells; // monostate: NULL
  bool live = true;
};

bool is_null(const value& v) {
  return std::holds_alternative<std::monostate>(v);
}

// SQLite's order of values: NULL, numbers, text (bytewise).
int compare(const value& a, const value& b) {
  auto rank = [](const value& v) {
    return is_null(v) ? 0 : std::holds_alternative<std::string>(v) ? 2 : 1;
  };
  if (rank(a) != rank(b))
    return rank(a) < rank(b) ? -1 : 1;
  if (rank(a) == 0)
    return 0;
  if (rank(a) == 2) {
    auto c = std::get<std::string>(a).compare(std::get<std::string>(b));
    return c < 0 ? -1 : c > 0;
  }
  auto num = [](const value& v) {
    return std::holds_alternative<int64_t>(v)
               ? static_cast<double>(std::get<int64_t>(v))
               : std::get<double>(v);
  };
  return num(a) < num(b) ? -1 : num(a) > num(b);
}

// SQLite's LIKE: ASCII case-insensitive, % and _, escape '\'.
bool like(std::string_view s, std::string_view p) {
  if (p.empty())
    return s.empty();
  if (p[0] == '%') {
    for (size_t i = 0; i <= s.size(); ++i)
      if (like(s.substr(i), p.substr(1)))
        return true;
    return false;
  }
  if (s.empty())
    return false;
  if (p[0] == '\\' && p.size() > 1)
    return s[0] == p[1] && like(s.substr(1), p.substr(2));
  if (p[0] == '_' || std::tolower(s[0]) == std::tolower(p[0]))
    return like(s.substr(1), p.substr(1));
  return false;
}

bool matches(const model_row& r, const filter& f) {
  auto it = r.cells.find(f.field);
  value v = it == r.cells.end() ? value{} : it->second;
  const auto& x = f.values.front();
  switch (f.op) {
  case filter_op::null:
    return is_null(v) == (std::get<int64_t>(x) == 1);
  case filter_op::ne:
    return is_null(v) || compare(v, x) != 0;
  case filter_op::in:
    return !is_null(v)
           && std::any_of(f.values.begin(), f.values.end(),
                          [&](const value& y) { return compare(v, y) == 0; });
  case filter_op::like:
    return !is_null(v) && like(std::get<std::string>(v), std::get<std::string>(x));
  default:
    break;
  }
  if (is_null(v))
    return false;
  int c = compare(v, x);
  switch (f.op) {
  case filter_op::eq:
    return c == 0;
  case filter_op::gt:
    return c > 0;
  case filter_op::gte:
    return c >= 0;
  case filter_op::lt:
    return c < 0;
  default:
    return c <= 0;
  }
}

value random_cell(std::mt19937& rng, const std::string& field) {
  std::uniform_int_distribution<int> d(0, 6);
  int k = d(rng);
  if (k == 0)
    return value{};
  if (field == "name") {
    static const char* names[] = {"a", "b", "ab", "Ab", "b%c", "b_c"};
    // Now and then a name too long for a cursor to carry (ties included).
    if (k == 6 && rng() % 2)
      return value{"b" + std::string(max_cursor_text + 44, 'x')};
    return value{std::string{names[k - 1]}};
  }
  if (field == "qty")
    return value{int64_t{k - 3}};
  if (field == "price")
    return value{0.25 * k};
  return value{int64_t{k % 2}};
}

// The literal a filter is made of, as the query string spells it.
std::string random_literal(std::mt19937& rng, const std::string& field) {
  std::uniform_int_distribution<int> d(0, 5);
  int k = d(rng);
  if (field == "name") {
    static const char* xs[] = {"a", "b", "ab", "B", "b%c", "c"};
    return xs[k];
  }
  if (field == "qty")
    return std::to_string(k - 3);
  if (field == "price")
    return std::to_string(0.25 * k);
  return k % 2 ? "true" : "false";
}

std::vector<std::string> ids_in(const std::string& rows) {
  rapidjson::Document d;
  auto json = "[" + rows + "]";
  d.Parse(json.data(), json.size());
  BOOST_REQUIRE(!d.HasParseError() && d.IsArray());
  std::vector<std::string> out;
  for (const auto& r : d.GetArray())
    out.emplace_back(r["id"].GetString());
  return out;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(list_query_tests, fixture)

BOOST_AUTO_TEST_CASE(filters_and_cursors_agree_with_a_model) {
  auto s = schemas({{"things", things_schema}});
  auto w = open(s);
  auto r = reader(s);
  auto table = s.at("things");
  int64_t clock = t0;
  int next_id = 0;
  std::vector<model_row> model;
  auto make = [&](std::mt19937& rng) {
    model_row row;
    char id[16];
    std::snprintf(id, sizeof id, "r%05d", next_id++);
    row.id = id;
    std::vector<message> msgs;
    for (const auto& f : fields) {
      auto v = random_cell(rng, f);
      row.cells[f] = v;
      msgs.push_back(msg(++clock, "things", row.id, f, v));
    }
    msgs.push_back(msg(++clock, "things", row.id, "tombstone", integer(0)));
    commit(*w, std::move(msgs));
    model.push_back(std::move(row));
  };
  auto remove = [&](std::mt19937& rng) {
    std::uniform_int_distribution<size_t> d(0, model.size() - 1);
    auto& row = model[d(rng)];
    row.live = false;
    commit(*w, {msg(++clock, "things", row.id, "tombstone", integer(1))});
  };
  std::mt19937 rng{20261202};
  for (int i = 0; i < 250; ++i)
    make(rng);
  for (int i = 0; i < 30; ++i)
    remove(rng);

  static const char* ops[] = {"eq", "ne", "gt", "gte", "lt", "lte", "in", "like", "null"};
  size_t pages_read = 0, nonempty = 0;
  for (int round = 0; round < 300; ++round) {
    // A random query.
    read_store::list_query q;
    q.pluck = {"id"};
    std::uniform_int_distribution<int> nf(0, 3), pick(0, 3), pick_op(0, 8);
    for (int i = nf(rng); i > 0; --i) {
      const auto& field = fields[pick(rng)];
      std::string op = ops[pick_op(rng)];
      if (op == "like" && field != "name")
        op = "eq";
      std::string text;
      if (op == "null")
        text = rng() % 2 ? "true" : "false";
      else if (op == "in")
        text = random_literal(rng, field) + "," + random_literal(rng, field);
      else if (op == "like")
        text = std::vector<std::string>{"a%", "%B", "_", "%\\%%", "b_c", "%"}[rng() % 6];
      else
        text = random_literal(rng, field);
      std::string problem;
      auto f = parse_filter(*table, "where[" + field + "][" + op + "]", text,
                            problem);
      BOOST_REQUIRE_MESSAGE(f, problem);
      q.where.push_back(*f);
    }
    std::uniform_int_distribution<int> ord(0, 5);
    int o = ord(rng);
    q.order = o == 0 ? "" : o == 1 ? "id" : fields[o - 2];
    q.descending = rng() % 2;
    std::uniform_int_distribution<int64_t> lim(1, 40);
    q.limit = lim(rng);
    bool churn = round % 3 == 0;

    // Page through. Records present and matching from start to end must
    // appear exactly once; the order must be the model's; with churn,
    // records created or deleted meanwhile may or may not appear.
    auto matching = [&] {
      std::set<std::string> out;
      for (const auto& m : model)
        if (m.live
            && std::all_of(q.where.begin(), q.where.end(),
                           [&](const filter& f) { return matches(m, f); }))
          out.insert(m.id);
      return out;
    };
    auto at_start = matching();
    // Whatever matched at some moment of the paging may appear.
    auto ever = at_start;
    std::vector<std::string> seen;
    std::string next;
    // (Records pile up over the rounds: a page of one may take thousands
    // of pages to walk; the bound only stops a cursor that never ends.)
    int page = 0;
    for (; page < 50000; ++page) {
      std::string cursor;
      auto got = r->list("things", q, "", &cursor);
      if (!got)
        BOOST_FAIL(describe(got.error()));
      ++pages_read;
      auto ids = ids_in(got->second);
      BOOST_REQUIRE_EQUAL(ids.size(), got->first);
      BOOST_REQUIRE(ids.size() <= static_cast<size_t>(*q.limit));
      seen.insert(seen.end(), ids.begin(), ids.end());
      if (cursor.empty())
        break;
      BOOST_REQUIRE_EQUAL(ids.size(), static_cast<size_t>(*q.limit));
      auto c = decode_cursor(cursor);
      BOOST_REQUIRE(c);
      q.after = *c;
      if (churn) {
        make(rng);
        auto now = matching();
        ever.insert(now.begin(), now.end());
        if (rng() % 2) {
          remove(rng);
          now = matching();
          ever.insert(now.begin(), now.end());
        }
      }
    }
    BOOST_REQUIRE_MESSAGE(page < 50000, "the paging never ended");
    std::set<std::string> at_end;
    std::map<std::string, const model_row*> by_id;
    for (const auto& m : model) {
      by_id[m.id] = &m;
      if (m.live
          && std::all_of(q.where.begin(), q.where.end(),
                         [&](const filter& f) { return matches(m, f); }))
        at_end.insert(m.id);
    }
    std::set<std::string> unique(seen.begin(), seen.end());
    BOOST_REQUIRE_MESSAGE(unique.size() == seen.size(), "a record twice");
    for (const auto& id : at_start)
      if (at_end.count(id))
        BOOST_REQUIRE_MESSAGE(unique.count(id), "missing " + id);
    for (const auto& id : seen)
      BOOST_REQUIRE_MESSAGE(ever.count(id), "unexpected " + id);
    if (!churn)
      BOOST_REQUIRE_EQUAL(seen.size(), at_start.size());
    // In order: (order value, id), ascending or descending.
    auto key_less = [&](const std::string& a, const std::string& b) {
      int c = 0;
      if (!q.order.empty() && q.order != "id")
        c = compare(by_id.at(a)->cells.at(q.order), by_id.at(b)->cells.at(q.order));
      if (c == 0)
        c = a.compare(b) < 0 ? -1 : a.compare(b) > 0;
      return q.descending ? c > 0 : c < 0;
    };
    for (size_t i = 1; i < seen.size(); ++i)
      BOOST_REQUIRE_MESSAGE(key_less(seen[i - 1], seen[i]),
                            "out of order: " + seen[i - 1] + " then " + seen[i]);
    nonempty += !seen.empty();
  }
  // The random queries did exercise something.
  BOOST_TEST(pages_read > 600u);
  BOOST_TEST(nonempty > 150u);
}

BOOST_AUTO_TEST_CASE(filter_parsing_refuses_what_does_not_fit) {
  auto s = schemas({{"items", items_schema}});
  auto t = s.at("items");
  std::string problem;
  auto bad = [&](const char* key, const char* text) {
    problem.clear();
    auto f = parse_filter(*t, key, text, problem);
    BOOST_TEST_CONTEXT(key << "=" << text) {
      BOOST_CHECK(!f);
      BOOST_CHECK(!problem.empty());
    }
  };
  bad("where[nope]", "1");            // unknown field
  bad("where[tombstone]", "1");       // not for callers
  bad("where[qty]", "1.5");           // not an integer
  bad("where[qty][gt]", "x");
  bad("where[price]", "nan");         // not a finite number
  bad("where[price]", "0x10");
  bad("where[active]", "1");          // true or false
  bad("where[tags]", "x");            // arrays and objects cannot be filtered
  bad("where[meta][eq]", "x");
  bad("where[qty][like]", "1%");      // like is for text
  bad("where[name][regex]", "a");     // unknown operator
  bad("where[name][null]", "yes");
  bad("where[name", "a");             // malformed key
  bad("where[]", "a");
  bad("where[name]x", "a");
  std::string many;
  for (int i = 0; i <= 100; ++i)
    many += (i ? "," : "") + std::to_string(i);
  bad("where[qty][in]", many.c_str()); // more than 100 values
  // And what fits.
  auto f = parse_filter(*t, "where[qty][in]", "1,-2,3", problem);
  BOOST_REQUIRE(f);
  BOOST_CHECK(f->op == filter_op::in);
  BOOST_CHECK_EQUAL(f->values.size(), 3u);
  BOOST_CHECK(std::get<int64_t>(f->values[1]) == -2);
  f = parse_filter(*t, "where[active]", "false", problem);
  BOOST_REQUIRE(f);
  BOOST_CHECK(f->op == filter_op::eq && std::get<int64_t>(f->values[0]) == 0);
  f = parse_filter(*t, "where[created_at][gte]", "2025-01-01", problem);
  BOOST_REQUIRE(f); // system fields are text
}

BOOST_AUTO_TEST_CASE(cursors_round_trip_and_refuse_garbage) {
  for (const value& v : {value{}, value{int64_t{-7}}, value{2.5},
                         value{std::string{"x\"y\\z\n\xc3\xa9"}}}) {
    list_cursor c{"name", true, v, "01JAR2HPE7JJS1HYQZ7FYK0S4A"};
    auto back = decode_cursor(encode_cursor(c));
    BOOST_REQUIRE(back);
    BOOST_CHECK_EQUAL(back->order, "name");
    BOOST_CHECK(back->descending);
    BOOST_CHECK(back->last == v);
    BOOST_CHECK_EQUAL(back->id, c.id);
  }
  for (const char* bad : {"", "0", "zz", "5b5d", "7b7d", "5b2261222c747275655d"})
    BOOST_CHECK(!decode_cursor(bad));
  // A long text is not carried: the cursor names the record instead, and
  // stays short enough to send back in a URL.
  list_cursor c{"name", false, value{std::string(10000, 'x')},
                "01JAR2HPE7JJS1HYQZ7FYK0S4A"};
  auto text = encode_cursor(c);
  BOOST_CHECK_LT(text.size(), 200u);
  auto back = decode_cursor(text);
  BOOST_REQUIRE(back);
  BOOST_CHECK(back->by_id);
  BOOST_CHECK_EQUAL(back->id, c.id);
  c.last = std::string(max_cursor_text, 'x');
  back = decode_cursor(encode_cursor(c));
  BOOST_REQUIRE(back);
  BOOST_CHECK(!back->by_id);
  BOOST_CHECK(back->last == c.last);
}

BOOST_AUTO_TEST_SUITE_END()
