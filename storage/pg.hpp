#pragma once

// A thin RAII layer over libpq for the hub's PostgreSQL store: a connection,
// a result, parameters (text or binary) and the classification of failures
// into the service's error codes. Blocking: only detached actors use it.

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace crdt::pg {

/// Clears a result.
struct result_clearer {
  void operator()(PGresult* r) const {
    PQclear(r);
  }
};

/// A query's result; rows are read in binary (see connection::query).
class result {
public:
  explicit result(PGresult* r) : res_(r) {
    // nop
  }
  int rows() const {
    return PQntuples(res_.get());
  }
  bool is_null(int row, int col) const {
    return PQgetisnull(res_.get(), row, col) != 0;
  }
  /// The raw bytes of a field (text, bytea: as stored).
  std::string_view bytes(int row, int col) const {
    return {PQgetvalue(res_.get(), row, col),
            static_cast<size_t>(PQgetlength(res_.get(), row, col))};
  }
  /// A bigint (int8) or integer (int4) field, read in binary.
  int64_t integer(int row, int col) const;

private:
  std::unique_ptr<PGresult, result_clearer> res_;
};

/// Query parameters: each one text or binary, none copied twice.
class params {
public:
  /// A text parameter (text, bigint as decimal, arrays as literals).
  params& text(std::string v);
  /// A bigint.
  params& integer(int64_t v) {
    return text(std::to_string(v));
  }
  /// A bytea parameter, sent as raw bytes.
  params& bytes(std::string v);
  size_t size() const {
    return values_.size();
  }

private:
  friend class connection;
  std::vector<std::string> values_;
  std::vector<int> formats_;
};

/// Appends `s` to a PostgreSQL array literal being built in `out` (as a
/// double-quoted element, escaped), with a comma when not the first.
void append_array_element(std::string& out, std::string_view s);

/// Closes a connection.
struct conn_closer {
  void operator()(PGconn* c) const {
    PQfinish(c);
  }
};

/// One connection. Every failure becomes a caf::error: ec::unavailable when
/// the server cannot be reached, is shutting down or starting, or the
/// connection broke (the caller reconnects); ec::timeout when a statement
/// ran past the statement timeout; ec::bad_request for data PostgreSQL
/// refuses (SQLSTATE class 22); ec::storage_failure otherwise.
class connection {
public:
  /// Connects with a libpq connection string or URI, then sets the
  /// statement timeout (ms; 0 for none) for the session.
  static caf::expected<std::unique_ptr<connection>>
  open(const std::string& conninfo, int64_t statement_timeout_ms);

  /// Runs a statement without parameters (DDL, BEGIN, COMMIT).
  caf::error exec(const std::string& sql);

  /// Runs a statement with parameters; rows come back in binary format.
  caf::expected<result> query(const std::string& sql, const params& ps);

  /// Whether the connection is still usable (false after it broke).
  bool ok() const {
    return PQstatus(conn_.get()) == CONNECTION_OK;
  }

  PGconn* get() const {
    return conn_.get();
  }

private:
  explicit connection(PGconn* c) : conn_(c) {
    // nop
  }
  caf::error fail(const PGresult* r, const char* what) const;

  std::unique_ptr<PGconn, conn_closer> conn_;
};

/// Checks the syntax of a connection string or URI without connecting;
/// answers what is wrong, or "" when libpq accepts it.
std::string check_conninfo(const std::string& conninfo);

/// Splits a HUB_DATABASE_URL value into its databases: several URIs
/// (postgresql:// or postgres://) separated by white space, or a single
/// libpq connection string (key=value pairs, which contain spaces).
std::vector<std::string> split_database_urls(const std::string& value);

/// A connection string with the password of a URI or of a `password=`
/// pair replaced by "***", for logs.
std::string redact_conninfo(const std::string& conninfo);

} // namespace crdt::pg
