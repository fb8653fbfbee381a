#include "protocol/error.hpp"

namespace crdt {

const char* to_string(ec code) {
  switch (code) {
  case ec::none:
    return "none";
  case ec::bad_timestamp:
    return "bad_timestamp";
  case ec::clock_drift:
    return "clock_drift";
  case ec::counter_overflow:
    return "counter_overflow";
  case ec::bad_request:
    return "bad_request";
  case ec::invalid_schema:
    return "invalid_schema";
  case ec::unknown_table:
    return "unknown_table";
  case ec::not_found:
    return "not_found";
  case ec::conflict:
    return "conflict";
  case ec::overloaded:
    return "overloaded";
  case ec::storage_failure:
    return "storage_failure";
  case ec::schema_conflict:
    return "schema_conflict";
  case ec::timeout:
    return "timeout";
  case ec::sync_failure:
    return "sync_failure";
  case ec::unauthorized:
    return "unauthorized";
  case ec::forbidden:
    return "forbidden";
  case ec::throttled:
    return "throttled";
  case ec::disk_full:
    return "disk_full";
  case ec::unavailable:
    return "unavailable";
  }
  return "unknown";
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  const auto& ctx = err.context();
  if (ctx.size() >= 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  if (err.category() == caf::atom("crdt"))
    return to_string(static_cast<ec>(err.code()));
  return "error " + std::to_string(err.code());
}

} // namespace crdt
