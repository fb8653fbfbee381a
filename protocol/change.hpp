#pragma once

#include "protocol/message.hpp"
#include "protocol/schema.hpp"

#include <string>
#include <utility>
#include <vector>

namespace crdt {

/// Who makes a change: the account and its organization, from the
/// caller's bearer token.
struct principal {
  std::string organization_id;
  std::string account_id;
  /// "admin" or "member".
  std::string role;
};

/// What a record is to a caller of one organization.
enum class record_state {
  /// No row with this id, in any organization.
  absent,
  /// A live record of the caller's organization.
  live,
  /// A deleted record of the caller's organization.
  deleted,
  /// A record (live or deleted) of another organization.
  foreign,
};

/// The name of a state ("absent", "live", "deleted", "foreign").
const char* to_string(record_state s);

/// What the record must be when a change commits; the writer checks it
/// inside the transaction that would apply the change.
enum class precondition {
  /// Nothing: the change applies whatever the record is.
  none,
  /// No record with this id exists in any organization (a create with a
  /// client-supplied id); otherwise ec::conflict.
  absent,
  /// The record is live in `who.organization_id`; otherwise ec::not_found.
  live,
};

/// A client's change to one record, before it is stamped.
struct record_change {
  enum kind_t { create, update, remove };
  kind_t kind = create;
  std::string table;
  std::string id;
  /// User fields and their message values, in request order.
  std::vector<std::pair<std::string, value>> fields;
  principal who;
  /// Checked by the writer at commit time.
  precondition must_be = precondition::none;
};

/// Number of messages (and hence timestamps) a change needs.
size_t message_count(const record_change& c);

/// Number of messages several changes need together.
size_t message_count(const std::vector<record_change>& changes);

/// Expands a change into its messages, one per field plus the system
/// fields, using `stamps` (message_count(c) wire timestamps, ascending).
/// created_at / updated_at take the time of the first stamp.
std::vector<message> make_messages(const record_change& c,
                                   const std::vector<std::string>& stamps);

/// Expands several changes, in order, using message_count(changes) stamps:
/// each change takes the next message_count(c) of them.
std::vector<message> make_messages(const std::vector<record_change>& changes,
                                   const std::vector<std::string>& stamps);

} // namespace crdt
