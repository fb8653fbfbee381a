#pragma once

// The fixture of the store tests (write_store, migrate, read_store): a
// database under a fresh temporary folder, schemas from text, messages at
// chosen times, and helpers that read the database back.

#include "storage/read_pool.hpp"
#include "storage/read_store.hpp"
#include "storage/write_store.hpp"

#include "protocol/error.hpp"
#include "protocol/json_guard.hpp"
#include "protocol/timestamp.hpp"

#include "tests/support.hpp"

#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

namespace crdt::test {

constexpr const char* people_v1 = R"({"type":"object","properties":{
  "name":{"type":"string"}}})";
constexpr const char* people_v2 = R"({"type":"object","properties":{
  "name":{"type":"string"},"age":{"type":"integer"}}})";
constexpr const char* people_bad = R"({"type":"object","properties":{
  "name":{"type":"string"},"age":{"type":"string"}}})";
constexpr const char* pets_v1 = R"({"type":"object","properties":{
  "kind":{"type":"string"},"legs":{"type":"integer"}}})";
constexpr const char* items_schema = R"({"type":"object","properties":{
  "name":{"type":"string"},"qty":{"type":"integer"},"price":{"type":"number"},
  "active":{"type":"boolean"},"tags":{"type":"array"},
  "meta":{"type":"object"},"note":{"type":["string","null"]}}})";

constexpr const char* row = "01JAR2HPE7JJS1HYQZ7FYK0S4D";
constexpr const char* row_a = "01JAR2HPE7JJS1HYQZ7FYK0S4A";
constexpr const char* row_b = "01JAR2HPE7JJS1HYQZ7FYK0S4B";
constexpr const char* row_c = "01JAR2HPE7JJS1HYQZ7FYK0S4C";

constexpr int64_t t0 = 1764000000000; // 2025-11-24T16:00:00.000Z

struct fixture {
  // Below a folder that does not exist yet: open() creates parents.
  fixture() : dir("store-tests"), opts(test_store(dir.file("sub/db.sqlite"))) {}

  schema_set
  schemas(std::initializer_list<std::pair<const char*, const char*>> xs) {
    return make_schemas(xs);
  }

  std::unique_ptr<write_store> open(const schema_set& s) {
    return open_writer(opts, s);
  }

  std::unique_ptr<read_store> reader(const schema_set& s) {
    return open_reader(opts.path, s);
  }

  static message msg(int64_t millis, const std::string& table,
                     const std::string& id, const std::string& col, value v,
                     const std::string& node = "aaaaaaaaaaaaaaaa",
                     uint32_t counter = 0) {
    return {to_string(timestamp{millis, counter, node}), table, id, col,
            std::move(v)};
  }

  static commit_summary commit(write_store& w, std::vector<message> msgs,
                               bool enqueue = false) {
    write_batch b;
    b.messages = std::move(msgs);
    b.enqueue = enqueue;
    auto res = w.commit({&b});
    if (!res)
      BOOST_FAIL(describe(res.error()));
    return std::move(*res);
  }

  static int64_t count(write_store& w, const std::string& sql) {
    auto s = w.db().prepare_once(sql);
    if (!s)
      BOOST_FAIL(describe(s.error()));
    if (s->step() != SQLITE_ROW)
      BOOST_FAIL("no row from: " + sql);
    return s->column_int(0);
  }

  // One cell of a user table as stored; `present` tells whether the row
  // exists.
  static value cell(write_store& w, const std::string& table,
                    const std::string& id, const std::string& col,
                    bool* present = nullptr) {
    auto s = w.db().prepare_once("SELECT \"" + col + "\" FROM \"" + table
                                 + "\" WHERE id = ?1");
    if (!s)
      BOOST_FAIL(describe(s.error()));
    s->bind(1, std::string_view{id});
    bool found = s->step() == SQLITE_ROW;
    if (present)
      *present = found;
    return found ? s->column_value(0) : value{};
  }

  static std::vector<std::string> columns(write_store& w,
                                          const std::string& table) {
    auto s = w.db().prepare_once("PRAGMA table_info(\"" + table + "\")");
    if (!s)
      BOOST_FAIL(describe(s.error()));
    std::vector<std::string> out;
    while (s->step() == SQLITE_ROW)
      out.emplace_back(s->column_text(1));
    return out;
  }

  static std::string dump(write_store& w, const schema_set& s) {
    auto d = dump_tables(w.db(), s);
    if (!d)
      BOOST_FAIL(describe(d.error()));
    return *d;
  }

  temp_dir dir;
  store_options opts;
};

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline value text(const char* s) {
  return value{std::string{s}};
}

inline value integer(int64_t i) {
  return value{i};
}

} // namespace crdt::test
