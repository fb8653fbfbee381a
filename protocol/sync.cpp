#include "protocol/sync.hpp"

#include "protocol/error.hpp"
#include "protocol/json_guard.hpp"
#include "protocol/schema_defs.hpp"
#include "protocol/timestamp.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace crdt {

caf::error read_messages(const rapidjson::Value& arr,
                         std::vector<message>& out) {
  if (!arr.IsArray())
    return make_error(ec::bad_request, "messages must be an array");
  out.reserve(arr.Size());
  for (const auto& v : arr.GetArray()) {
    auto m = read_message(v);
    if (!m)
      return m.error();
    out.push_back(std::move(*m));
  }
  return caf::none;
}

caf::error parse_json_object(std::string_view body, rapidjson::Document& doc) {
  if (!within_json_depth(body))
    return make_error(ec::bad_request, "JSON nested too deeply");
  doc.Parse(body.data(), body.size()); // UTF-8: checked below
  if (doc.HasParseError())
    return make_error(ec::bad_request,
                      std::string{"invalid JSON: "}
                          + rapidjson::GetParseError_En(doc.GetParseError()));
  if (!doc.IsObject())
    return make_error(ec::bad_request, "body must be a JSON object");
  if (!valid_utf8_strings(doc))
    return make_error(ec::bad_request,
                      "invalid JSON: a string is not valid UTF-8");
  return caf::none;
}

caf::expected<sync_request> parse_sync_request(std::string_view body) {
  rapidjson::Document doc;
  if (auto err = parse_json_object(body, doc))
    return err;
  return read_sync_request(doc);
}

caf::expected<sync_request> read_sync_request(const rapidjson::Value& doc) {
  sync_request out;
  auto group = doc.FindMember("group_id");
  if (group == doc.MemberEnd() || !group->value.IsString()
      || group->value.GetStringLength() == 0
      || group->value.GetStringLength() > 128)
    return make_error(ec::bad_request, "group_id must be a string of 1-128 "
                                       "characters");
  out.group_id = group->value.GetString();
  auto client = doc.FindMember("client_id");
  if (client == doc.MemberEnd() || !client->value.IsString()
      || !valid_node_id(client->value.GetString()))
    return make_error(ec::bad_request,
                      "client_id must be a 16-character node id");
  out.client_id = client->value.GetString();
  auto msgs = doc.FindMember("messages");
  if (msgs != doc.MemberEnd())
    if (auto err = read_messages(msgs->value, out.messages))
      return err;
  auto merkle = doc.FindMember("merkle");
  if (merkle != doc.MemberEnd()) {
    auto trie = merkle_trie::from_json(merkle->value);
    if (!trie)
      return trie.error();
    out.merkle = std::move(*trie);
  }
  return out;
}

caf::expected<sync_response> parse_sync_response(std::string_view body) {
  rapidjson::Document doc;
  if (auto err = parse_json_object(body, doc))
    return make_error(ec::sync_failure, "hub answer: " + describe(err));
  auto status = doc.FindMember("status");
  if (status == doc.MemberEnd() || !status->value.IsString())
    return make_error(ec::sync_failure, "hub answer lacks a status");
  if (std::string_view{status->value.GetString()} != "ok") {
    auto reason = doc.FindMember("reason");
    return make_error(
        ec::sync_failure,
        "hub refused: "
            + std::string{reason != doc.MemberEnd() && reason->value.IsString()
                              ? reason->value.GetString()
                              : "no reason given"});
  }
  auto data = doc.FindMember("data");
  if (data == doc.MemberEnd() || !data->value.IsObject())
    return make_error(ec::sync_failure, "hub answer lacks data");
  return read_sync_response(data->value);
}

caf::expected<sync_response> read_sync_response(const rapidjson::Value& data) {
  sync_response out;
  auto msgs = data.FindMember("messages");
  if (msgs != data.MemberEnd())
    if (auto err = read_messages(msgs->value, out.messages))
      return make_error(ec::sync_failure, "hub answer: " + describe(err));
  auto merkle = data.FindMember("merkle");
  if (merkle == data.MemberEnd())
    return make_error(ec::sync_failure, "hub answer lacks a merkle trie");
  auto trie = merkle_trie::from_json(merkle->value);
  if (!trie)
    return make_error(ec::sync_failure,
                      "hub answer: " + describe(trie.error()));
  out.merkle = std::move(*trie);
  return out;
}

namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

} // namespace

void write_messages(json_writer& w, const std::vector<message>& messages) {
  w.Key("messages");
  w.StartArray();
  for (const auto& m : messages)
    write_message(w, m);
  w.EndArray();
}

std::string write_sync_request(const std::string& group_id,
                               const std::string& client_id,
                               const std::vector<message>& messages,
                               const std::string& merkle_json) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("group_id");
  w.String(group_id.data(), static_cast<rapidjson::SizeType>(group_id.size()));
  w.Key("client_id");
  w.String(client_id.data(),
           static_cast<rapidjson::SizeType>(client_id.size()));
  write_messages(w, messages);
  w.Key("merkle");
  w.RawValue(merkle_json.data(), merkle_json.size(), rapidjson::kObjectType);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string write_sync_response(const std::vector<message>& messages,
                                const std::string& merkle_json) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("status");
  w.String("ok");
  w.Key("data");
  w.StartObject();
  write_messages(w, messages);
  w.Key("merkle");
  w.RawValue(merkle_json.data(), merkle_json.size(), rapidjson::kObjectType);
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string write_sync_error(const std::string& reason) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("status");
  w.String("error");
  w.Key("reason");
  w.String(reason.data(), static_cast<rapidjson::SizeType>(reason.size()));
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string since_timestamp(int64_t millis) {
  timestamp ts;
  ts.millis = millis;
  ts.counter = 0;
  ts.node = "0000000000000000";
  return to_string(ts);
}

std::string check_batch(const std::vector<message>& messages, bool own_group,
                        const schema_set& schemas, int64_t now,
                        int64_t max_drift) {
  for (const auto& m : messages) {
    auto ts = parse_timestamp(m.timestamp);
    if (!ts)
      return "bad timestamp " + m.timestamp;
    if (ts->millis - now > max_drift)
      return "timestamp " + m.timestamp + " is too far in the future";
    if (m.dataset.empty() || m.row.empty() || m.column.empty())
      return "message " + m.timestamp + " lacks dataset, row or column";
    if (!own_group)
      continue;
    // A table definition is not refused either: a malformed one (from a
    // crdt-example-app client or another version, through a hub that
    // only relays the group) is stored and ignored by every node alike
    // (write_store::apply_definition). Refused here, it stopped the sync
    // of every node that held it, each round, at its first push.
    if (m.dataset == schema_dataset)
      continue;
    auto t = schemas.find(m.dataset);
    if (t == schemas.end())
      continue; // kept in the log, applied if the schema gains the table
    if (m.column == "id")
      return "message " + m.timestamp + " sets the id column";
    // A user field's value is not checked against the field's type: under
    // two concurrent definitions of one field, the sender may hold the one
    // that loses, and its values are kept in the log and skipped when
    // applied (see write_store::apply_lww), alike on every node. Refusing
    // them here would stop that sender's sync for good.
    if (t->second->find(m.column)) {
      continue;
    } else if (m.column == "tombstone") {
      const auto* i = std::get_if<int64_t>(&m.val);
      if (!i || (*i != 0 && *i != 1))
        return "message " + m.timestamp + ": tombstone must be 0 or 1";
    } else if (is_system_field(m.column)) {
      if (!std::holds_alternative<std::string>(m.val)
          && !std::holds_alternative<std::monostate>(m.val))
        return "message " + m.timestamp + ": " + m.column
               + " must be a string or null";
    }
  }
  return {};
}

} // namespace crdt
