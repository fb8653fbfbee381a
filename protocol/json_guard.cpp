#include "protocol/json_guard.hpp"

#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>

#include <cstdint>
#include <cstring>

namespace crdt {

bool within_json_depth(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
    case '"':
      in_string = true;
      break;
    case '[':
    case '{':
      if (++depth > max_depth)
        return false;
      break;
    case ']':
    case '}':
      if (depth > 0)
        --depth;
      break;
    default:
      break;
    }
  }
  return true;
}

namespace {

// Counts what RapidJSON's validator copies; nothing is kept.
struct null_sink {
  using Ch = char;
  void Put(char) {
    // nop
  }
};

} // namespace

bool valid_utf8_strings(const rapidjson::Value& v) {
  if (v.IsString())
    return valid_utf8({v.GetString(), v.GetStringLength()});
  if (v.IsArray()) {
    for (const auto& x : v.GetArray())
      if (!valid_utf8_strings(x))
        return false;
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject())
      if (!valid_utf8_strings(m.name) || !valid_utf8_strings(m.value))
        return false;
  }
  return true;
}

bool valid_utf8(std::string_view text) {
  // Most text is ASCII: skip it eight bytes at a time, then hand the rest,
  // from the first byte with the high bit set (a character boundary, as
  // everything before it is ASCII), to RapidJSON's own decoder.
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, sizeof word);
    if (word & 0x8080808080808080ull)
      break;
  }
  while (i < text.size() && static_cast<unsigned char>(text[i]) < 0x80)
    ++i;
  if (i == text.size())
    return true;
  rapidjson::MemoryStream ms{text.data() + i, text.size() - i};
  null_sink sink;
  while (ms.Tell() < text.size() - i)
    if (!rapidjson::UTF8<>::Validate(ms, sink))
      return false;
  return true;
}

} // namespace crdt
