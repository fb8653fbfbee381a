// Bodies of POST /sync in both formats, as a hub reads calls and a node
// reads answers.
#include "protocol/exchange.hpp"
#include "protocol/sync.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  crdt::parse_sync_call(body);
  crdt::parse_sync_answer(body);
  crdt::parse_sync_request(body);
  return 0;
}
