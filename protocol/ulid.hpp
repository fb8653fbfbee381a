#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace crdt {

/// Returns a new ULID for time `millis`: 26 Crockford base-32 characters,
/// 48 bits of time followed by 80 random bits.
std::string make_ulid(int64_t millis);

/// The ULID for time `millis` with the given 80 bits as its random part
/// (most significant bit first), for ids derived rather than drawn.
std::string make_ulid(int64_t millis, const std::array<uint8_t, 10>& bits);

/// True when `id` is a canonical (upper-case) ULID.
bool valid_ulid(std::string_view id);

/// The time part of a valid ULID in Unix milliseconds; 0 for anything else.
int64_t ulid_millis(std::string_view id);

} // namespace crdt
