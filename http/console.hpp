#pragma once

// The web console: one static page (console/index.html, compiled into the
// binary by CMake) served at GET /console. It logs in through the API and
// uses nothing else: tables, records, forms from each table's schema, the
// live change feed and the node's health.

#include <string_view>

namespace crdt {

/// The page's HTML, inline scripts and styles included.
std::string_view console_page();

} // namespace crdt
