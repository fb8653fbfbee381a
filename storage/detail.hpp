#pragma once

// Helpers shared by the storage files; not part of the storage API.

#include "protocol/change.hpp"
#include "protocol/message.hpp"
#include "storage/sqlite.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <string>
#include <vector>

namespace crdt::detail {

/// The columns a message can set in every user table besides the user
/// fields, in table order (the system fields after `id`).
const std::vector<std::string>& message_columns();

/// The crdt_local key that marks a table to be rebuilt from the log (its
/// definitions changed; see write_store::replay_marked).
inline std::string replay_key(const std::string& table) {
  return "replay:" + table;
}

/// Steps a statement that returns no rows (or ignores them); an error
/// names `what`.
caf::error step_done(sql::connection& db, sql::statement& s, const char* what);

/// The message in the five columns ts, dataset, row_id, col, value of the
/// current row.
message message_at(const sql::statement& s);

/// Every row of `s` as a message (see message_at).
caf::expected<std::vector<message>> read_messages(sql::statement& s,
                                                  sql::connection& db);

/// What the row `id` of `table` is to a caller of organization `org`
/// (empty: any organization). `table` must be a loaded table.
caf::expected<record_state> state_of(sql::connection& db,
                                     const std::string& table,
                                     const std::string& id,
                                     const std::string& org);

} // namespace crdt::detail
