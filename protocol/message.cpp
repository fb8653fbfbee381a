#include "protocol/message.hpp"

#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"

namespace crdt {

void write_value(rapidjson::Writer<rapidjson::StringBuffer>& out,
                 const value& v) {
  switch (v.index()) {
  case 0:
    out.Null();
    break;
  case 1:
    out.Int64(std::get<int64_t>(v));
    break;
  case 2:
    out.Double(std::get<double>(v));
    break;
  default: {
    const auto& s = std::get<std::string>(v);
    out.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  }
  }
}

void write_message(rapidjson::Writer<rapidjson::StringBuffer>& out,
                   const message& m) {
  auto str = [&](const char* key, const std::string& s) {
    out.Key(key);
    out.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  out.StartObject();
  str("timestamp", m.timestamp);
  str("dataset", m.dataset);
  str("row", m.row);
  str("column", m.column);
  out.Key("value");
  write_value(out, m.val);
  out.EndObject();
}

namespace {

// Bytes of a JSON string as RapidJSON writes it: quotes, two-character
// escapes for '"', '\\' and the common controls, \u00XX for the others;
// everything else (UTF-8 included) as it is.
size_t string_size(const std::string& s) {
  size_t n = 2;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n'
        || c == '\r' || c == '\t')
      n += 2;
    else if (c < 0x20)
      n += 6;
    else
      n += 1;
  }
  return n;
}

} // namespace

size_t json_size(const message& m) {
  // {"timestamp":,"dataset":,"row":,"column":,"value":} around the values.
  size_t n = 51 + string_size(m.timestamp) + string_size(m.dataset)
             + string_size(m.row) + string_size(m.column);
  switch (m.val.index()) {
    case 0:
      return n + 4;
    case 1:
      return n + std::to_string(std::get<int64_t>(m.val)).size();
    case 2:
      return n + 25; // at most, for a double
    default:
      return n + string_size(std::get<std::string>(m.val));
  }
}

caf::expected<value> read_value(const rapidjson::Value& v) {
  if (v.IsNull())
    return value{};
  if (v.IsInt64())
    return value{v.GetInt64()};
  if (v.IsNumber())
    return value{v.GetDouble()};
  if (v.IsString())
    return value{std::string{v.GetString(), v.GetStringLength()}};
  return make_error(ec::bad_request,
                    "message value must be null, a number or a string");
}

caf::expected<message> read_message(const rapidjson::Value& v) {
  if (!v.IsObject())
    return make_error(ec::bad_request, "message is not an object");
  message m;
  auto str = [&](const char* key, std::string& out) -> bool {
    auto it = v.FindMember(key);
    if (it == v.MemberEnd() || !it->value.IsString())
      return false;
    out.assign(it->value.GetString(), it->value.GetStringLength());
    return true;
  };
  if (!str("timestamp", m.timestamp) || !str("dataset", m.dataset)
      || !str("row", m.row) || !str("column", m.column))
    return make_error(ec::bad_request,
                      "message needs string timestamp, dataset, row, column");
  if (!parse_timestamp(m.timestamp))
    return make_error(ec::bad_timestamp, "bad timestamp: " + m.timestamp);
  auto it = v.FindMember("value");
  if (it == v.MemberEnd())
    return make_error(ec::bad_request, "message lacks a value");
  auto val = read_value(it->value);
  if (!val)
    return val.error();
  m.val = std::move(*val);
  return m;
}

} // namespace crdt
