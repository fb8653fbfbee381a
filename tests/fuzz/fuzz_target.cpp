// Request targets: path segments and query, then list parameters against
// a table, as a GET /store/:table does.
#include "http/api.hpp"
#include "http/router.hpp"
#include "protocol/json_guard.hpp"
#include "tests/fuzz/fuzz_schema.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crdt;
  std::string raw(reinterpret_cast<const char*>(data), size);
  auto t = parse_target(raw);
  if (!t)
    return 0;
  for (const auto& s : t->segments)
    if (!valid_utf8(s))
      __builtin_trap(); // decoded names are always text
  std::vector<field_error> errors;
  parse_list_query(fuzz::contacts(), t->query, errors);
  return 0;
}
