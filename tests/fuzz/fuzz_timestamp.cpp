// HLC timestamps in their 46-character wire form: whatever parses prints
// back to the same text.
#include "protocol/timestamp.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto ts = crdt::parse_timestamp(text);
  if (ts && crdt::to_string(*ts) != text)
    __builtin_trap();
  crdt::iso8601_of(text);
  return 0;
}
