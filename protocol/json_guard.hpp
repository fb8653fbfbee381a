#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <string_view>

namespace crdt {

/// Deepest nesting of arrays and objects accepted in any JSON the service
/// reads. RapidJSON's parser, writer and schema validator recurse per level,
/// so unchecked input like "[[[[…" a million deep would overflow the stack.
constexpr size_t max_json_depth = 64;

/// True when the brackets and braces of `text`, outside strings, nest at
/// most `max_depth` deep. A linear scan; it does not validate the JSON.
bool within_json_depth(std::string_view text,
                       size_t max_depth = max_json_depth);

/// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or
/// code points past U+10FFFF): what every string the service stores, echoes
/// or replicates must be, so that its JSON stays valid for strict parsers.
bool valid_utf8(std::string_view text);

/// True when every string and member name in `v` is valid UTF-8: raw bytes
/// that are not UTF-8 and escaped lone surrogates ("\udc00", which RapidJSON
/// decodes to an invalid sequence even with kParseValidateEncodingFlag)
/// alike. Checking after a parse without that flag costs one pass instead
/// of two.
bool valid_utf8_strings(const rapidjson::Value& v);

} // namespace crdt
