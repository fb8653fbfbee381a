#include "protocol/query.hpp"

#include "protocol/murmur3.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace crdt {

namespace {

constexpr size_t max_filter_text = 1024;

const char* type_word(field_type t) {
  switch (t) {
  case field_type::integer:
    return "an integer";
  case field_type::real:
    return "a number";
  case field_type::boolean:
    return "true or false";
  default:
    return "text";
  }
}

} // namespace

std::optional<filter_op> parse_filter_op(std::string_view name) {
  static const std::pair<const char*, filter_op> ops[] = {
      {"eq", filter_op::eq},   {"ne", filter_op::ne},   {"gt", filter_op::gt},
      {"gte", filter_op::gte}, {"lt", filter_op::lt},   {"lte", filter_op::lte},
      {"in", filter_op::in},   {"like", filter_op::like}, {"null", filter_op::null}};
  for (const auto& [n, op] : ops)
    if (name == n)
      return op;
  return std::nullopt;
}

std::optional<value> parse_filter_value(field_type t, const std::string& text,
                                        std::string& problem) {
  switch (t) {
  case field_type::integer: {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc{} && ptr == text.data() + text.size() && !text.empty())
      return value{n};
    break;
  }
  case field_type::real: {
    // Integers and decimals; no hex, infinities or NaN.
    bool plain = !text.empty();
    for (char c : text)
      plain = plain
              && ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.'
                  || c == 'e' || c == 'E');
    if (plain) {
      char* end = nullptr;
      double d = std::strtod(text.c_str(), &end);
      if (end == text.c_str() + text.size() && std::isfinite(d))
        return value{d};
    }
    break;
  }
  case field_type::boolean:
    if (text == "true")
      return value{int64_t{1}};
    if (text == "false")
      return value{int64_t{0}};
    break;
  case field_type::text:
    return value{text};
  default:
    problem = "objects and arrays cannot be filtered";
    return std::nullopt;
  }
  problem = std::string{"must be "} + type_word(t);
  return std::nullopt;
}

std::optional<filter> parse_filter(const table_schema& t, std::string_view key,
                                   const std::string& text,
                                   std::string& problem) {
  // where[field] or where[field][op]
  constexpr std::string_view head = "where[";
  if (key.substr(0, head.size()) != head) {
    problem = "not a filter";
    return std::nullopt;
  }
  auto rest = key.substr(head.size());
  auto close = rest.find(']');
  if (close == std::string_view::npos || close == 0) {
    problem = "write where[field]=value or where[field][op]=value";
    return std::nullopt;
  }
  filter f;
  f.field = std::string{rest.substr(0, close)};
  rest.remove_prefix(close + 1);
  if (!rest.empty()) {
    if (rest.size() < 3 || rest.front() != '[' || rest.back() != ']') {
      problem = "write where[field]=value or where[field][op]=value";
      return std::nullopt;
    }
    auto op = parse_filter_op(rest.substr(1, rest.size() - 2));
    if (!op) {
      problem = "unknown operator '" + std::string{rest.substr(1, rest.size() - 2)}
                + "' (eq, ne, gt, gte, lt, lte, in, like, null)";
      return std::nullopt;
    }
    f.op = *op;
  }
  field_type type = field_type::text;
  if (const auto* uf = t.find(f.field)) {
    type = uf->type;
  } else if (!is_system_field(f.field) || f.field == "tombstone") {
    problem = "unknown field '" + f.field + "'";
    return std::nullopt;
  }
  if (text.size() > max_filter_text) {
    problem = "a filter value is limited to " + std::to_string(max_filter_text)
              + " bytes";
    return std::nullopt;
  }
  if (f.op == filter_op::null) {
    if (text != "true" && text != "false") {
      problem = "[null] takes true or false";
      return std::nullopt;
    }
    f.values.push_back(int64_t{text == "true" ? 1 : 0});
    return f;
  }
  if (f.op == filter_op::like && type != field_type::text) {
    problem = "like applies to text fields only";
    return std::nullopt;
  }
  std::vector<std::string> parts;
  if (f.op == filter_op::in) {
    size_t pos = 0;
    for (;;) {
      auto comma = text.find(',', pos);
      parts.push_back(text.substr(pos, comma - pos));
      if (comma == std::string::npos)
        break;
      pos = comma + 1;
    }
    if (parts.size() > max_in_values) {
      problem = "in takes at most " + std::to_string(max_in_values) + " values";
      return std::nullopt;
    }
  } else {
    parts.push_back(text);
  }
  for (const auto& p : parts) {
    auto v = parse_filter_value(type, p, problem);
    if (!v)
      return std::nullopt;
    f.values.push_back(std::move(*v));
  }
  return f;
}

std::string encode_cursor(const list_cursor& c) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.StartArray();
  w.String(c.order.data(), static_cast<rapidjson::SizeType>(c.order.size()));
  w.Bool(c.descending);
  // {"m": hash} in the value's place: read it from the record, and check
  // it is still the same (no value of a field is a JSON object here).
  const auto* text = std::get_if<std::string>(&c.last);
  if (c.by_id || (text && text->size() > max_cursor_text)) {
    w.StartObject();
    w.Key("m");
    w.Uint(c.by_id ? c.anchor_hash : murmur3_32(*text));
    w.EndObject();
  } else
    std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          w.Null();
        else if constexpr (std::is_same_v<T, int64_t>)
          w.Int64(v);
        else if constexpr (std::is_same_v<T, double>)
          w.Double(v);
        else
          w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
      },
      c.last);
  w.String(c.id.data(), static_cast<rapidjson::SizeType>(c.id.size()));
  w.EndArray();
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(buf.GetSize() * 2);
  for (size_t i = 0; i < buf.GetSize(); ++i) {
    auto b = static_cast<unsigned char>(buf.GetString()[i]);
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

std::optional<list_cursor> decode_cursor(std::string_view text) {
  if (text.empty() || text.size() % 2 != 0 || text.size() > 8192)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    return -1;
  };
  std::string json;
  json.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    json.push_back(static_cast<char>(hi * 16 + lo));
  }
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  if (d.HasParseError() || !d.IsArray() || d.Size() != 4 || !d[0].IsString()
      || !d[1].IsBool() || !d[3].IsString())
    return std::nullopt;
  list_cursor c;
  c.order.assign(d[0].GetString(), d[0].GetStringLength());
  c.descending = d[1].GetBool();
  const auto& v = d[2];
  if (v.IsNull())
    c.last = std::monostate{};
  else if (v.IsObject() && v.MemberCount() == 1 && v.HasMember("m")
           && v["m"].IsUint()) {
    c.by_id = true;
    c.anchor_hash = v["m"].GetUint();
  }
  else if (v.IsInt64())
    c.last = v.GetInt64();
  else if (v.IsDouble())
    c.last = v.GetDouble();
  else if (v.IsString())
    c.last = std::string{v.GetString(), v.GetStringLength()};
  else
    return std::nullopt;
  c.id.assign(d[3].GetString(), d[3].GetStringLength());
  return c;
}

} // namespace crdt
