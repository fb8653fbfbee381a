// Table definitions, which arrive from files, admins and other nodes: any
// text either fails to parse or round-trips. Whatever parses as a table
// gives definitions that a hub accepts (unless one is over the size bound)
// and that assemble back into a table with the same fields, in order.
#include "protocol/schema_defs.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  // As a received definition of one field.
  crdt::message m{"2026-01-01T00:00:00.000Z-0000-0000000000000001",
                  crdt::schema_dataset, "t", "x", crdt::value{text}};
  if (crdt::check_definition(m).empty()) {
    crdt::def_map one;
    one["t"]["x"] = crdt::def_winner{text, m.timestamp};
    auto built = crdt::assemble(one);
    if (!built.count("t") || !built.at("t")->find("x"))
      __builtin_trap();
  }
  // As a schema file.
  auto table = crdt::table_schema::parse("t", text);
  if (!table)
    return 0;
  auto defs = crdt::definitions_of(**table);
  crdt::def_map winners;
  int i = 0;
  for (const auto& d : defs) {
    crdt::message dm{"2026-01-01T00:00:00.000Z-" + std::string{"000"}
                         + std::to_string(i % 10) + "-0000000000000001",
                     crdt::schema_dataset, d.table, d.column,
                     crdt::value{d.definition}};
    ++i;
    if (d.definition.size() <= crdt::max_definition_bytes
        && !crdt::check_definition(dm).empty())
      __builtin_trap();
    winners[d.table][d.column] = crdt::def_winner{d.definition, dm.timestamp};
  }
  if (defs.size() > 10)
    return 0; // the timestamps above order only ten
  auto built = crdt::assemble(winners);
  if (!built.count("t"))
    __builtin_trap();
  const auto& again = built.at("t")->fields();
  const auto& orig = (*table)->fields();
  if (again.size() != orig.size())
    __builtin_trap();
  for (size_t k = 0; k < orig.size(); ++k)
    if (again[k].name != orig[k].name || again[k].type != orig[k].type
        || again[k].nullable != orig[k].nullable)
      __builtin_trap();
  return 0;
}
