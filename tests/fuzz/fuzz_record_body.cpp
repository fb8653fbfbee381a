// A POST/PATCH body: parsed, validated against a schema, turned into a
// change and rendered back, as the store routes do.
#include "http/api.hpp"
#include "tests/fuzz/fuzz_schema.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crdt;
  std::string body(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_record_body(body);
  if (!parsed)
    return 0;
  const auto& t = fuzz::contacts();
  for (bool create : {true, false}) {
    auto errors = t.validate(*parsed->data, create);
    if (!errors.empty())
      continue;
    principal who{"01JBHKXHYSKPP247HZZWHA3JCT", "01JBHKXHYS9G724DEKHM2M8B8F",
                  "admin"};
    auto c = make_change(create ? record_change::create : record_change::update,
                         t, "01JAR2HPE7JJS1HYQZ7FYK0A00", *parsed->data, who);
    auto out = render_created(t, c, "2026-12-02T00:00:00.000Z");
    if (out.empty())
      __builtin_trap();
  }
  return 0;
}
