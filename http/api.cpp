#include "http/api.hpp"

#include "auth/credentials.hpp"
#include "protocol/error.hpp"
#include "protocol/json_guard.hpp"
#include "protocol/query.hpp"
#include "protocol/timestamp.hpp"

#include <caf/sec.hpp>

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>

namespace crdt {

namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(json_writer& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::optional<int64_t> parse_count(const std::string& s) {
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc{} || ptr != s.data() + s.size() || out < 0)
    return std::nullopt;
  return out;
}

} // namespace

http_reply ok_reply(unsigned status, const std::string& message, size_t count,
                    const std::string& rows, const std::string& next) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("success");
  w.Bool(true);
  w.Key("message");
  write_string(w, message);
  w.Key("count");
  w.Uint64(count);
  if (!next.empty()) {
    w.Key("next");
    write_string(w, next);
  }
  w.EndObject();
  buf.Pop(1); // drop the closing brace
  // The rows are already JSON: close the envelope by hand around them.
  std::string body{buf.GetString(), buf.GetSize()};
  body += ",\"data\":[";
  body += rows;
  body += "]}";
  return {status, std::move(body), {}};
}

http_reply error_reply(unsigned status, const std::string& message,
                       const std::string& table,
                       const std::vector<field_error>& errors) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("success");
  w.Bool(false);
  w.Key("status");
  w.Uint(status);
  w.Key("message");
  write_string(w, message);
  if (!table.empty()) {
    w.Key("table");
    write_string(w, table);
  }
  if (!errors.empty()) {
    w.Key("errors");
    w.StartArray();
    for (const auto& e : errors) {
      w.StartObject();
      w.Key("field");
      write_string(w, e.field);
      w.Key("message");
      write_string(w, e.message);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  http_reply r{status, {buf.GetString(), buf.GetSize()}, {}};
  if (status == 503)
    r.headers.emplace_back("Retry-After", "1");
  return r;
}

http_reply error_reply(const caf::error& err, const std::string& table) {
  if (err.category() == caf::atom("crdt")) {
    switch (static_cast<ec>(err.code())) {
    case ec::not_found:
      return error_reply(404, "Not Found", table);
    case ec::unknown_table:
      return error_reply(404, "Unknown table", table);
    case ec::bad_request:
    case ec::bad_timestamp:
    case ec::invalid_schema:
      return error_reply(400, describe(err), table);
    case ec::conflict:
      return error_reply(409, describe(err), table);
    case ec::overloaded:
      return error_reply(503, describe(err), table);
    case ec::counter_overflow:
      return error_reply(503, "Overloaded, retry later", table);
    case ec::timeout:
      return error_reply(503, "Timed out, retry later", table);
    case ec::unauthorized:
      return unauthorized_reply(describe(err));
    case ec::forbidden:
      return error_reply(403, describe(err), table);
    case ec::disk_full: {
      auto r = error_reply(507,
                           "Insufficient storage: the database's disk is "
                           "full; nothing was stored, retry once space is "
                           "freed",
                           table);
      r.headers.emplace_back("Retry-After", "10");
      return r;
    }
    case ec::throttled: {
      auto r = error_reply(429, describe(err), table);
      r.headers.emplace_back("Retry-After",
                             std::to_string(retry_seconds_of(err)));
      return r;
    }
    default:
      break;
    }
  } else if (err == caf::sec::request_timeout) {
    return error_reply(503, "Timed out, retry later", table);
  }
  return error_reply(500, "Internal error: " + describe(err), table);
}

bool loopback_address(std::string_view address) {
  return address.rfind("127.", 0) == 0 || address == "::1"
         || address.rfind("::ffff:127.", 0) == 0;
}

std::string sync_refusal(const std::string& want, const std::string& given,
                         bool local) {
  if (!want.empty())
    return same_secret(given, want) ? std::string{}
                                    : "missing or wrong X-Sync-Secret";
  if (!local)
    return "this hub has no SYNC_SECRET and serves only its own machine "
           "(not calls relayed by a proxy); set SYNC_SECRET on the hub and "
           "its nodes";
  return {};
}

http_reply unauthorized_reply(const std::string& message) {
  auto r = error_reply(401, message);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"crdt-store\"");
  return r;
}

std::string
json_object(const std::vector<std::pair<std::string, std::string>>& members) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  for (const auto& [k, v] : members) {
    write_string(w, k);
    write_string(w, v);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::map<std::string, std::string>
string_members(const rapidjson::Value& data,
               const std::vector<std::pair<std::string, bool>>& names,
               std::vector<field_error>& errors) {
  std::map<std::string, std::string> out;
  for (auto it = data.MemberBegin(); it != data.MemberEnd(); ++it) {
    std::string name{it->name.GetString(), it->name.GetStringLength()};
    bool known = false;
    for (const auto& n : names)
      known = known || n.first == name;
    if (!known)
      errors.push_back({name, "unknown field"});
    else if (!it->value.IsString())
      errors.push_back({name, "expected string"});
    else
      out[name]
          = std::string{it->value.GetString(), it->value.GetStringLength()};
  }
  for (const auto& [name, required] : names)
    if (required && out.count(name) == 0
        && data.FindMember(name.c_str()) == data.MemberEnd())
      errors.push_back({name, "is required"});
  return out;
}

caf::expected<record_body> parse_record_body(const std::string& body) {
  record_body out;
  if (!within_json_depth(body))
    return make_error(ec::bad_request, "JSON nested too deeply");
  out.doc.Parse(body.data(), body.size()); // UTF-8: checked below
  if (out.doc.HasParseError())
    return make_error(ec::bad_request, std::string{"Invalid JSON: "}
                                           + rapidjson::GetParseError_En(
                                               out.doc.GetParseError()));
  if (!out.doc.IsObject())
    return make_error(ec::bad_request, "Body must be a JSON object");
  if (!valid_utf8_strings(out.doc))
    return make_error(ec::bad_request,
                      "Invalid JSON: a string is not valid UTF-8");
  auto it = out.doc.FindMember("data");
  if (it == out.doc.MemberEnd() || !it->value.IsObject())
    return make_error(ec::bad_request, "Body needs a 'data' object");
  out.data = &it->value;
  return out;
}

record_change make_change(record_change::kind_t kind, const table_schema& t,
                          std::string id, const rapidjson::Value& data,
                          principal who) {
  record_change c;
  c.kind = kind;
  c.table = t.name();
  c.id = std::move(id);
  c.who = std::move(who);
  if (data.IsObject())
    for (auto it = data.MemberBegin(); it != data.MemberEnd(); ++it)
      if (const auto* f = t.find(it->name.GetString()))
        c.fields.emplace_back(f->name, to_message_value(*f, it->value));
  return c;
}

namespace {

// Writes `v` as field `f` of a record, in the field's schema type.
void write_field_value(json_writer& w, const field& f, const value* v) {
  w.Key(f.name.data(), static_cast<rapidjson::SizeType>(f.name.size()));
  if (!v || std::holds_alternative<std::monostate>(*v)) {
    w.Null();
    return;
  }
  switch (f.type) {
  case field_type::boolean:
    w.Bool(std::get<int64_t>(*v) != 0);
    break;
  case field_type::real:
    w.Double(std::holds_alternative<double>(*v)
                 ? std::get<double>(*v)
                 : static_cast<double>(std::get<int64_t>(*v)));
    break;
  case field_type::object:
  case field_type::array: {
    const auto& s = std::get<std::string>(*v);
    w.RawValue(s.data(), s.size(), rapidjson::kObjectType);
    break;
  }
  default:
    write_value(w, *v);
  }
}

// The value a change gives field `name`, or null.
const value* value_of(const record_change& c, const std::string& name) {
  const value* out = nullptr;
  for (const auto& [field_name, val] : c.fields)
    if (field_name == name)
      out = &val;
  return out;
}

} // namespace

std::string render_created(const table_schema& t, const record_change& c,
                           const std::string& created_at) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  auto text_or_null = [&](const std::string& s) {
    if (s.empty())
      w.Null();
    else
      write_string(w, s);
  };
  w.StartObject();
  w.Key("id");
  write_string(w, c.id);
  w.Key("organization_id");
  text_or_null(c.who.organization_id);
  w.Key("created_by");
  text_or_null(c.who.account_id);
  w.Key("updated_by");
  text_or_null(c.who.account_id);
  w.Key("created_at");
  write_string(w, created_at);
  w.Key("updated_at");
  write_string(w, created_at);
  for (const auto& f : t.fields())
    write_field_value(w, f, value_of(c, f.name));
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string render_updated(const table_schema& t, const record_change& c,
                           const std::string& updated_at) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("id");
  write_string(w, c.id);
  w.Key("updated_by");
  write_string(w, c.who.account_id);
  w.Key("updated_at");
  write_string(w, updated_at);
  for (const auto& f : t.fields())
    if (const auto* v = value_of(c, f.name))
      write_field_value(w, f, v);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

caf::expected<read_store::list_query>
parse_list_query(const table_schema& t,
                 const std::vector<std::pair<std::string, std::string>>& q,
                 std::vector<field_error>& errors) {
  read_store::list_query out;
  auto known = [&](const std::string& name) {
    return (t.find(name) != nullptr || is_system_field(name))
           && name != "tombstone";
  };
  for (const auto& [key, val] : q) {
    if (key == "pluck") {
      size_t pos = 0;
      while (pos <= val.size()) {
        auto end = val.find(',', pos);
        if (end == std::string::npos)
          end = val.size();
        auto name = val.substr(pos, end - pos);
        if (!known(name))
          errors.push_back({"pluck", "unknown field '" + name + "'"});
        else if (std::find(out.pluck.begin(), out.pluck.end(), name)
                 == out.pluck.end())
          out.pluck.push_back(name);
        pos = end + 1;
      }
    } else if (key == "limit") {
      if (auto n = parse_count(val))
        out.limit = *n;
      else
        errors.push_back({"limit", "must be a non-negative integer"});
    } else if (key == "offset") {
      if (auto n = parse_count(val))
        out.offset = *n;
      else
        errors.push_back({"offset", "must be a non-negative integer"});
    } else if (key == "order") {
      // Given twice, the last one counts, direction included.
      auto name = val;
      out.descending = false;
      if (!name.empty() && name[0] == '-') {
        out.descending = true;
        name.erase(0, 1);
      }
      if (!known(name))
        errors.push_back({"order", "unknown field '" + name + "'"});
      else
        out.order = name;
    } else if (key.rfind("where[", 0) == 0) {
      std::string problem;
      auto f = parse_filter(t, key, val, problem);
      if (!f)
        errors.push_back({key, problem});
      else if (out.where.size() >= max_filters)
        errors.push_back({key, "at most " + std::to_string(max_filters)
                                   + " filters per query"});
      else
        out.where.push_back(std::move(*f));
    } else if (key == "after") {
      if (auto c = decode_cursor(val))
        out.after = std::move(*c);
      else
        errors.push_back({"after", "not a cursor of this service (use the "
                                   "'next' of an earlier answer)"});
    } else {
      errors.push_back({key, "unknown query parameter"});
    }
  }
  if (out.after) {
    // A cursor resumes the order it was made in, and replaces the offset.
    auto order = out.order == "id" ? std::string{} : out.order;
    if (out.after->order != order || out.after->descending != out.descending)
      errors.push_back({"after", "the cursor was made for another order; "
                                 "repeat the order of the first page"});
    if (out.offset != 0)
      errors.push_back({"after", "give either after or offset"});
  }
  if (!errors.empty())
    return make_error(ec::bad_request, "bad query parameter");
  return out;
}

} // namespace crdt
