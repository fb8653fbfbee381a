#include "storage/sqlite.hpp"

#include <cerrno>

#include "protocol/error.hpp"

namespace crdt::sql {

void statement::bind(int i, const value& v) {
  switch (v.index()) {
  case 0:
    bind_null(i);
    break;
  case 1:
    bind(i, std::get<int64_t>(v));
    break;
  case 2:
    sqlite3_bind_double(stmt_.get(), i, std::get<double>(v));
    break;
  default:
    bind(i, std::string_view{std::get<std::string>(v)});
  }
}

value statement::column_value(int i) const {
  switch (column_type(i)) {
  case SQLITE_INTEGER:
    return value{column_int(i)};
  case SQLITE_FLOAT:
    return value{column_double(i)};
  case SQLITE_NULL:
    return value{};
  default:
    return value{std::string{column_text(i)}};
  }
}

caf::expected<std::unique_ptr<connection>>
connection::open(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  auto rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX,
                            nullptr);
  auto result = std::make_unique<connection>();
  result->db_.reset(raw);
  if (rc != SQLITE_OK)
    return make_error(ec::storage_failure,
                      "cannot open " + path + ": "
                          + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_extended_result_codes(raw, 1);
  return result;
}

caf::error connection::exec(const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &msg)
      != SQLITE_OK) {
    std::string text = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return make_error(failure_code(), text + " in: " + sql);
  }
  return caf::none;
}

caf::expected<statement> connection::prepare_once(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &s, nullptr)
          != SQLITE_OK
      || s == nullptr) {
    if (s)
      sqlite3_finalize(s);
    return make_error(ec::storage_failure, last_error() + " preparing: " + sql);
  }
  return statement{s};
}

caf::expected<statement*> connection::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end())
    return it->second.get();
  auto s = prepare_once(sql);
  if (!s)
    return s.error();
  auto ptr = std::make_unique<statement>(std::move(*s));
  auto raw = ptr.get();
  cache_.emplace(sql, std::move(ptr));
  return raw;
}

caf::expected<statement*> connection::prepare_shaped(const std::string& sql) {
  auto it = shaped_index_.find(sql);
  if (it != shaped_index_.end()) {
    shaped_.splice(shaped_.begin(), shaped_, it->second);
    return &it->second->second;
  }
  auto s = prepare_once(sql);
  if (!s)
    return s.error();
  if (shaped_.size() >= shaped_capacity) {
    shaped_index_.erase(shaped_.back().first);
    shaped_.pop_back();
  }
  shaped_.emplace_front(sql, std::move(*s));
  // The key views the string held by the list node, which never moves.
  shaped_index_.emplace(shaped_.front().first, shaped_.begin());
  return &shaped_.front().second;
}

ec connection::failure_code() const {
  if ((sqlite3_errcode(db_.get()) & 0xff) == SQLITE_FULL)
    return ec::disk_full;
  // A full disk met while syncing or growing the WAL index is an I/O error
  // to SQLite; the system's errno says what it was.
  if ((sqlite3_errcode(db_.get()) & 0xff) == SQLITE_IOERR) {
    auto e = sqlite3_system_errno(db_.get());
    if (e == ENOSPC || e == EDQUOT)
      return ec::disk_full;
  }
  return ec::storage_failure;
}

caf::error connection::fail(const std::string& what) const {
  return make_error(failure_code(), what + ": " + last_error());
}

} // namespace crdt::sql
