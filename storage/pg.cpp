#include "storage/pg.hpp"

#include "protocol/error.hpp"

#include <cstring>
#include <regex>

namespace crdt::pg {

namespace {

// libpq's message without the line end (and spaces) it closes with.
std::string chomped(const char* text) {
  std::string out = text ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

} // namespace

int64_t result::integer(int row, int col) const {
  auto b = bytes(row, col);
  uint64_t v = 0;
  for (unsigned char c : b)
    v = (v << 8) | c;
  if (b.size() == 4)
    return static_cast<int32_t>(static_cast<uint32_t>(v));
  if (b.size() == 2)
    return static_cast<int16_t>(static_cast<uint16_t>(v));
  return static_cast<int64_t>(v);
}

params& params::text(std::string v) {
  values_.push_back(std::move(v));
  formats_.push_back(0);
  return *this;
}

params& params::bytes(std::string v) {
  values_.push_back(std::move(v));
  formats_.push_back(1);
  return *this;
}

void append_array_element(std::string& out, std::string_view s) {
  if (out.size() > 1)
    out += ',';
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
}

caf::expected<std::unique_ptr<connection>>
connection::open(const std::string& conninfo, int64_t statement_timeout_ms) {
  // Ours first: what the connection string says overrides them. The
  // keepalives and the TCP user timeout end a query on a connection whose
  // peer vanished (a crashed host, a failover without a reset) within about
  // half a minute instead of the kernel's hours.
  const char* keys[] = {"connect_timeout",    "application_name",
                        "keepalives",         "keepalives_idle",
                        "keepalives_interval", "keepalives_count",
                        "tcp_user_timeout",   "dbname",
                        nullptr};
  const char* values[] = {"5",  "crdt-store", "1",    "10", "5",
                          "3",  "30000",      conninfo.c_str(), nullptr};
  PGconn* raw = PQconnectdbParams(keys, values, 1);
  if (!raw)
    return make_error(ec::unavailable, "out of memory connecting to "
                                       "PostgreSQL");
  std::unique_ptr<connection> c{new connection{raw}};
  if (PQstatus(raw) != CONNECTION_OK) {
    return make_error(ec::unavailable, "cannot connect to the hub database: "
                                           + chomped(PQerrorMessage(raw)));
  }
  // Notices (CREATE ... IF NOT EXISTS skipping) would go to stderr.
  if (auto err = c->exec("SET client_min_messages = warning; "
                         "SET statement_timeout = "
                         + std::to_string(statement_timeout_ms)))
    return err;
  return c;
}

caf::error connection::fail(const PGresult* r, const char* what) const {
  auto text = std::string{what} + ": "
              + chomped(r ? PQresultErrorMessage(r)
                          : PQerrorMessage(conn_.get()));
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string_view code = state ? state : "";
  // A full disk is answered like the SQLite hub's (507, retry later).
  if (code == "53100")
    return make_error(ec::disk_full, "the hub database's disk is full: "
                                         + text);
  // The server went away, restarts, is out of connections or memory, a
  // transaction lost a race, or this is a read-only standby (a failover
  // left the connection on the old primary): worth a new connection and a
  // retry.
  if (!ok() || code.substr(0, 2) == "08" || code == "57P01" || code == "57P02"
      || code == "57P03" || code.substr(0, 2) == "53"
      || code.substr(0, 2) == "40" || code == "25006")
    return make_error(ec::unavailable, "the hub database is unavailable: "
                                           + text);
  if (code == "57014")
    return make_error(ec::timeout, "the hub database timed out: " + text);
  // Text PostgreSQL cannot hold (invalid UTF-8 in a group id): the
  // caller's. Anything else is ours.
  if (code == "22021" || code == "22P05")
    return make_error(ec::bad_request, text);
  return make_error(ec::storage_failure, text);
}

caf::error connection::exec(const std::string& sql) {
  PGresult* raw = PQexec(conn_.get(), sql.c_str());
  result r{raw};
  auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    return fail(raw, "a hub database statement failed");
  return caf::none;
}

caf::expected<result> connection::query(const std::string& sql,
                                         const params& ps) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  values.reserve(ps.size());
  lengths.reserve(ps.size());
  for (const auto& v : ps.values_) {
    values.push_back(v.data());
    lengths.push_back(static_cast<int>(v.size()));
  }
  PGresult* raw = PQexecParams(conn_.get(), sql.c_str(),
                               static_cast<int>(ps.size()), nullptr,
                               values.data(), lengths.data(),
                               ps.formats_.data(), 1);
  result r{raw};
  auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    return fail(raw, "a hub database query failed");
  return r;
}

std::string check_conninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  std::string out;
  if (!opts)
    out = err ? chomped(err) : "cannot parse it";
  PQconninfoFree(opts);
  if (err)
    PQfreemem(err);
  return out;
}

std::vector<std::string> split_database_urls(const std::string& value) {
  std::vector<std::string> out;
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  };
  size_t i = 0;
  while (i < value.size() && is_space(value[i]))
    ++i;
  auto rest = value.substr(i);
  if (rest.rfind("postgresql://", 0) != 0 && rest.rfind("postgres://", 0) != 0) {
    while (!rest.empty() && is_space(rest.back()))
      rest.pop_back();
    if (!rest.empty())
      out.push_back(rest);
    return out;
  }
  size_t start = 0;
  for (size_t j = 0; j <= rest.size(); ++j)
    if (j == rest.size() || is_space(rest[j])) {
      if (j > start)
        out.push_back(rest.substr(start, j - start));
      start = j + 1;
    }
  return out;
}

std::string redact_conninfo(const std::string& conninfo) {
  // postgresql://user:secret@host -> postgresql://user:***@host
  static const std::regex uri{R"(^(postgres(?:ql)?://[^:/@]*:)[^@]*@)"};
  static const std::regex pair{R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))"};
  auto out = std::regex_replace(conninfo, uri, "$1***@");
  return std::regex_replace(out, pair, "$1***");
}

} // namespace crdt::pg
