#pragma once
// The table the fuzz targets validate against: the shipped contacts schema
// plus fields of every type.
#include "protocol/schema.hpp"

#include <cstdlib>

namespace crdt::fuzz {

inline const table_schema& contacts() {
  static const table_ptr t = [] {
    auto s = table_schema::parse("contacts", R"({"type":"object",
      "properties":{
        "first_name":{"type":"string","maxLength":64},
        "last_name":{"type":["string","null"]},
        "age":{"type":"integer","minimum":0},
        "score":{"type":"number"},
        "vip":{"type":"boolean"},
        "tags":{"type":"array","items":{"type":"string"}},
        "address":{"type":"object"},
        "email":{"type":"string","pattern":"^[^@]+@[^@]+$"}},
      "required":["first_name"]})");
    if (!s)
      std::abort();
    return *s;
  }();
  return *t;
}

} // namespace crdt::fuzz
