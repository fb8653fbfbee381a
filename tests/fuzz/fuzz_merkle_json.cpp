// Merkle tries in the crdt-example-app JSON form: whatever decodes encodes
// to a trie with the same root.
#include "protocol/json_guard.hpp"
#include "protocol/merkle.hpp"

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (!crdt::within_json_depth(text))
    return 0;
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError())
    return 0;
  auto trie = crdt::merkle_trie::from_json(d);
  if (!trie)
    return 0;
  rapidjson::Document again;
  auto json = trie->to_json();
  again.Parse(json.data(), json.size());
  auto back = crdt::merkle_trie::from_json(again);
  if (!back || back->hash() != trie->hash())
    __builtin_trap();
  return 0;
}
