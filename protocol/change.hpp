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

/// A client's change to one record, before it is stamped.
struct record_change {
  enum kind_t { create, update, remove };
  kind_t kind = create;
  std::string table;
  std::string id;
  /// User fields and their message values, in request order.
  std::vector<std::pair<std::string, value>> fields;
  principal who;
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
