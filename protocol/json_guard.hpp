#pragma once

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

} // namespace crdt
