#pragma once

#include "protocol/change.hpp"
#include "protocol/http_types.hpp"
#include "protocol/schema.hpp"
#include "storage/read_store.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <rapidjson/document.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crdt {

/// The success envelope `{"success":true,"message","count"[,"next"],
/// "data":[…]}` around `rows`, comma-joined JSON objects; `next` (a list's
/// cursor to the following page) only when not empty.
http_reply ok_reply(unsigned status, const std::string& message, size_t count,
                    const std::string& rows, const std::string& next = {});

/// The error envelope `{"success":false,"status","message"[,"table"]
/// [,"errors"]}`.
http_reply error_reply(unsigned status, const std::string& message,
                       const std::string& table = {},
                       const std::vector<field_error>& errors = {});

/// True for an address of the loopback range (127.0.0.0/8, ::1, or
/// 127.x mapped into IPv6).
bool loopback_address(std::string_view address);

/// Why a POST /sync carrying `given` in X-Sync-Secret is refused by a hub
/// whose secret is `want`; empty when it is allowed. With a secret, the
/// caller must present it; without one, /sync (which reads and writes
/// every record of the group, accounts included) serves only callers on
/// this machine (`local`: a loopback connection whose request was not
/// relayed by a proxy, whose client may be anywhere).
std::string sync_refusal(const std::string& want, const std::string& given,
                         bool local);

/// 401 with the error envelope and a `WWW-Authenticate: Bearer` header.
http_reply unauthorized_reply(const std::string& message);

/// A JSON object of string members, in the order given.
std::string
json_object(const std::vector<std::pair<std::string, std::string>>& members);

/// Reads the string members of `data` named in `names` (name, required).
/// Any other member, a non-string value or a missing required member adds
/// to `errors`.
std::map<std::string, std::string>
string_members(const rapidjson::Value& data,
               const std::vector<std::pair<std::string, bool>>& names,
               std::vector<field_error>& errors);

/// Maps an error from the actors to an HTTP status and error envelope.
http_reply error_reply(const caf::error& err, const std::string& table = {});

/// A request body parsed as `{"data":{…}}`.
struct record_body {
  rapidjson::Document doc;
  /// Points at the `data` object inside `doc`.
  const rapidjson::Value* data = nullptr;
};

/// Parses a body that must be a JSON object with an object `data`; the
/// error's text says what is wrong.
caf::expected<record_body> parse_record_body(const std::string& body);

/// Builds the change for a validated `data` object (user fields only).
record_change make_change(record_change::kind_t kind, const table_schema& t,
                          std::string id, const rapidjson::Value& data,
                          principal who);

/// Renders a freshly created record like a GET would: id, system fields
/// and every user field in its schema type (null when not given).
std::string render_created(const table_schema& t, const record_change& c,
                           const std::string& created_at);

/// Renders what an update wrote: id, `updated_by`, `updated_at` and the
/// fields it set, in their schema types (for an update whose record was
/// deleted right after it committed, so it cannot be read back whole).
std::string render_updated(const table_schema& t, const record_change& c,
                           const std::string& updated_at);

/// Parses list parameters (pluck, limit, offset, order) against a table.
/// Unknown parameters, unknown fields and negative numbers are errors.
caf::expected<read_store::list_query>
parse_list_query(const table_schema& t,
                 const std::vector<std::pair<std::string, std::string>>& q,
                 std::vector<field_error>& errors);

} // namespace crdt
