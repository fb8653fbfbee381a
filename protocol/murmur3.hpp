#pragma once

#include <cstdint>
#include <string_view>

namespace crdt {

/// MurmurHash3, x86 32-bit variant, as the Actual/crdt-example-app family
/// hashes timestamps.
uint32_t murmur3_32(std::string_view data, uint32_t seed = 0);

} // namespace crdt
