#pragma once

#include "protocol/change.hpp"
#include "protocol/http_types.hpp"
#include "protocol/schema.hpp"
#include "storage/store.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <rapidjson/document.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace crdt {

/// The success envelope `{"success":true,"message","count","data":[…]}`
/// around `rows`, comma-joined JSON objects.
http_reply ok_reply(unsigned status, const std::string& message, size_t count,
                    const std::string& rows);

/// The error envelope `{"success":false,"status","message"[,"table"]
/// [,"errors"]}`.
http_reply error_reply(unsigned status, const std::string& message,
                       const std::string& table = {},
                       const std::vector<field_error>& errors = {});

/// 401 with the error envelope and a `WWW-Authenticate: Bearer` header.
http_reply unauthorized_reply(const std::string& message);

/// A JSON object of string members, in the order given.
std::string json_object(
  const std::vector<std::pair<std::string, std::string>>& members);

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

/// Parses list parameters (pluck, limit, offset, order) against a table.
/// Unknown parameters, unknown fields and negative numbers are errors.
caf::expected<read_store::list_query>
parse_list_query(const table_schema& t,
                 const std::vector<std::pair<std::string, std::string>>& q,
                 std::vector<field_error>& errors);

} // namespace crdt
