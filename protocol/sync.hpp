#pragma once

#include "protocol/merkle.hpp"
#include "protocol/message.hpp"
#include "protocol/schema.hpp"

#include <caf/expected.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace crdt {

/// A client's `POST /sync` body.
struct sync_request {
  std::string group_id;
  std::string client_id;
  std::vector<message> messages;
  merkle_trie merkle;
};

/// The hub's `{"status":"ok","data":{"messages","merkle"}}` answer.
struct sync_response {
  std::vector<message> messages;
  merkle_trie merkle;
};

/// Parses `body` into `doc`, which must hold a JSON object (nesting
/// checked first).
caf::error parse_json_object(std::string_view body, rapidjson::Document& doc);

/// Reads a `/sync` request from a parsed body (see parse_sync_request).
caf::expected<sync_request> read_sync_request(const rapidjson::Value& doc);

/// Reads the `data` of a hub's crdt-example-app answer.
caf::expected<sync_response> read_sync_response(const rapidjson::Value& data);

/// Reads `messages`, an array of wire messages, into `out`.
caf::error read_messages(const rapidjson::Value& arr,
                         std::vector<message>& out);

/// Writes `messages` as the member "messages".
void write_messages(rapidjson::Writer<rapidjson::StringBuffer>& w,
                    const std::vector<message>& messages);

/// Parses and checks a `/sync` body: group id (1-128 characters), a valid
/// 16-character client id, well-formed messages (see read_message) and a
/// merkle trie. Drift and field types are the caller's to check.
caf::expected<sync_request> parse_sync_request(std::string_view body);

/// Parses a hub's answer; a `"status":"error"` answer becomes an error with
/// the hub's reason.
caf::expected<sync_response> parse_sync_response(std::string_view body);

/// Renders a `/sync` body; `merkle_json` is the client's trie as wire JSON.
std::string write_sync_request(const std::string& group_id,
                               const std::string& client_id,
                               const std::vector<message>& messages,
                               const std::string& merkle_json);

/// Renders a hub's success answer.
std::string write_sync_response(const std::vector<message>& messages,
                                const std::string& merkle_json);

/// Renders a hub's error answer `{"status":"error","reason":…}`.
std::string write_sync_error(const std::string& reason);

/// The smallest timestamp at millisecond `millis`: counter 0000 and node
/// 0000000000000000, the bound the hub compares message timestamps with.
std::string since_timestamp(int64_t millis);

/// Checks a received batch before anything is stored: drift against the
/// local wall clock and, for this node's group, the system columns (user
/// field values and table definitions are not checked: see sync.cpp).
/// Returns the reason for refusing it, or an empty string.
std::string check_batch(const std::vector<message>& messages, bool own_group,
                        const schema_set& schemas, int64_t now,
                        int64_t max_drift);

} // namespace crdt
