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
