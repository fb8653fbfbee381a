#pragma once

// GET /openapi.json: an OpenAPI 3.1 description of this node's API, built
// from the tables it serves at the moment of the request (tables defined
// at runtime included): each table's record and input shapes, the
// envelopes, the errors, the list parameters, and who may call what.

#include <string>
#include <utility>
#include <vector>

namespace crdt {

/// One served table: its name and its JSON Schema document text (as
/// table_json() writes it: properties in field order, then required).
using described_table = std::pair<std::string, std::string>;

/// The whole document as JSON text.
std::string openapi_document(const std::vector<described_table>& tables);

} // namespace crdt
