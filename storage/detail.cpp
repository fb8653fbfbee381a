#include "storage/detail.hpp"

#include "protocol/schema.hpp"

namespace crdt::detail {

const std::vector<std::string>& message_columns() {
  static const std::vector<std::string> cols{system_fields().begin() + 1,
                                             system_fields().end()};
  return cols;
}

caf::error step_done(sql::connection& db, sql::statement& s, const char* what) {
  auto rc = s.step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return db.fail(what);
  return caf::none;
}

message message_at(const sql::statement& s) {
  return {std::string{s.column_text(0)}, std::string{s.column_text(1)},
          std::string{s.column_text(2)}, std::string{s.column_text(3)},
          s.column_value(4)};
}

caf::expected<std::vector<message>> read_messages(sql::statement& s,
                                                  sql::connection& db) {
  std::vector<message> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back(message_at(s));
  if (rc != SQLITE_DONE)
    return db.fail("cannot read messages");
  return out;
}

caf::expected<record_state> state_of(sql::connection& db,
                                     const std::string& table,
                                     const std::string& id,
                                     const std::string& org) {
  auto s = db.prepare("SELECT tombstone IS 1, ?2 = '' OR organization_id "
                      "IS ?2 FROM "
                      + sql::quote(table) + " WHERE id = ?1");
  if (!s)
    return s.error();
  sql::reset_guard guard{**s};
  (*s)->bind(1, std::string_view{id});
  (*s)->bind(2, std::string_view{org});
  auto rc = (*s)->step();
  if (rc == SQLITE_DONE)
    return record_state::absent;
  if (rc != SQLITE_ROW)
    return db.fail("cannot read a record");
  if ((*s)->column_int(1) == 0)
    return record_state::foreign;
  return (*s)->column_int(0) ? record_state::deleted : record_state::live;
}

} // namespace crdt::detail
