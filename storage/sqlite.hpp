#pragma once

#include "protocol/error.hpp"
#include "protocol/message.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <sqlite3.h>

#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace crdt::sql {

/// Closes a connection with sqlite3_close_v2 (safe with open statements).
struct db_closer {
  void operator()(sqlite3* db) const {
    sqlite3_close_v2(db);
  }
};

/// Finalizes a prepared statement.
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const {
    sqlite3_finalize(s);
  }
};

/// A prepared statement. Only constructed from a successful prepare.
class statement {
public:
  explicit statement(sqlite3_stmt* s) : stmt_(s) {
    // nop
  }

  /// Binds parameter `i` (1-based). The text is not copied: it must stay
  /// alive until the statement is reset (every caller binds, steps and
  /// resets within one scope).
  void bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_.get(), i, text.data(),
                      static_cast<int>(text.size()), SQLITE_STATIC);
  }
  void bind(int i, int64_t x) {
    sqlite3_bind_int64(stmt_.get(), i, x);
  }
  /// Binds bytes as a BLOB; not copied either.
  void bind_blob(int i, std::string_view bytes) {
    sqlite3_bind_blob(stmt_.get(), i, bytes.data(),
                      static_cast<int>(bytes.size()), SQLITE_STATIC);
  }
  void bind_null(int i) {
    sqlite3_bind_null(stmt_.get(), i);
  }
  /// Binds a message value with its own storage class.
  void bind(int i, const value& v);

  /// Runs one step: SQLITE_ROW, SQLITE_DONE or an error code.
  int step() {
    return sqlite3_step(stmt_.get());
  }

  /// Resets and clears the bindings.
  void reset() {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
  }

  sqlite3_stmt* get() const {
    return stmt_.get();
  }

  int column_type(int i) const {
    return sqlite3_column_type(stmt_.get(), i);
  }
  int64_t column_int(int i) const {
    return sqlite3_column_int64(stmt_.get(), i);
  }
  double column_double(int i) const {
    return sqlite3_column_double(stmt_.get(), i);
  }
  std::string_view column_text(int i) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), i));
    return {p ? p : "",
            static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), i))};
  }
  std::string_view column_blob(int i) const {
    auto p = static_cast<const char*>(sqlite3_column_blob(stmt_.get(), i));
    return {p ? p : "",
            static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), i))};
  }
  /// Reads a column back as a message value.
  value column_value(int i) const;

private:
  std::unique_ptr<sqlite3_stmt, stmt_finalizer> stmt_;
};

/// Resets a statement (and clears its bindings) when leaving a scope.
class reset_guard {
public:
  explicit reset_guard(statement& s) : s_(s) {
    // nop
  }
  ~reset_guard() {
    s_.reset();
  }
  reset_guard(const reset_guard&) = delete;
  reset_guard& operator=(const reset_guard&) = delete;

private:
  statement& s_;
};

/// A connection with caches of prepared statements keyed by SQL text.
class connection {
public:
  /// Statements kept by prepare_shaped().
  static constexpr size_t shaped_capacity = 64;

  /// Opens `path` with `flags` (SQLITE_OPEN_*).
  static caf::expected<std::unique_ptr<connection>>
  open(const std::string& path, int flags);

  /// Runs SQL without results (may hold several statements).
  caf::error exec(const std::string& sql);

  /// Returns the cached statement for `sql`, preparing it on first use,
  /// and keeps it as long as the connection. Only for SQL fixed by the
  /// code and the loaded schema, of which there is a bounded number.
  caf::expected<statement*> prepare(const std::string& sql);

  /// Like prepare(), for SQL whose shape depends on a request (the columns
  /// a client plucks, the fields an update sets): the statements live in
  /// a least-recently-used cache of shaped_capacity entries, so distinct
  /// requests cannot grow it without bound. The pointer is valid until the
  /// next call of prepare_shaped().
  caf::expected<statement*> prepare_shaped(const std::string& sql);

  /// Number of statements held by both caches.
  size_t cached() const {
    return cache_.size() + shaped_.size();
  }

  /// Prepares an uncached statement.
  caf::expected<statement> prepare_once(const std::string& sql);

  /// Rows changed by the last statement.
  int changes() const {
    return sqlite3_changes(db_.get());
  }

  /// The last error message of this connection.
  std::string last_error() const {
    return sqlite3_errmsg(db_.get());
  }

  /// Makes an error from a failed step.
  caf::error fail(const std::string& what) const;

  /// The code of the last failure: disk_full for SQLITE_FULL (a full disk or
  /// max_page_count reached), storage_failure otherwise.
  ec failure_code() const;

  sqlite3* get() const {
    return db_.get();
  }

private:
  using lru_list = std::list<std::pair<std::string, statement>>;

  std::unique_ptr<sqlite3, db_closer> db_;
  std::unordered_map<std::string, std::unique_ptr<statement>> cache_;
  /// Most recently used first.
  lru_list shaped_;
  std::unordered_map<std::string_view, lru_list::iterator> shaped_index_;
};

/// A write transaction (BEGIN IMMEDIATE) that rolls back unless committed.
class transaction {
public:
  explicit transaction(connection& c) : c_(c) {
    // nop
  }
  ~transaction() {
    if (active_ && !committed_)
      c_.exec("ROLLBACK");
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  caf::error begin() {
    auto err = c_.exec("BEGIN IMMEDIATE");
    active_ = !err;
    return err;
  }

  caf::error commit() {
    auto err = c_.exec("COMMIT");
    committed_ = !err;
    return err;
  }

private:
  connection& c_;
  bool active_ = false;
  bool committed_ = false;
};

/// Quotes an identifier that already passed valid_identifier().
inline std::string quote(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  out += name;
  out += '"';
  return out;
}

} // namespace crdt::sql
