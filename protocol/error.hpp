#pragma once

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace crdt {

/// Every failure the service reports, from parsing to storage.
enum class ec : uint8_t {
  /// Not an error; never used as a code.
  none = 0,
  /// A timestamp string does not have the 46-character wire format.
  bad_timestamp,
  /// The HLC would move more than the allowed drift ahead of wall time.
  clock_drift,
  /// The HLC counter would exceed 65535 within one millisecond.
  counter_overflow,
  /// A request body or wire message is not valid JSON or has a bad shape.
  bad_request,
  /// A record violates its table's schema.
  invalid_schema,
  /// The table named by a request does not exist.
  unknown_table,
  /// The record named by a request does not exist or is deleted.
  not_found,
  /// A record with the id a client supplied already exists.
  conflict,
  /// The writer's queue is over its bound; the client should retry.
  overloaded,
  /// SQLite reported an error.
  storage_failure,
  /// A schema file cannot be loaded or conflicts with the database.
  schema_conflict,
  /// A collaborator did not answer in time.
  timeout,
  /// The remote hub failed or answered something unusable.
  sync_failure,
  /// Missing, malformed, expired or forged credentials.
  unauthorized,
  /// Authenticated, but the account's role does not allow the call.
  forbidden,
  /// Too many failed logins; the context's second element, when present,
  /// is the number of seconds to wait.
  throttled,
  /// The database's disk (or its size limit) is full: nothing was stored;
  /// writes succeed again once space is freed.
  disk_full,
  /// A service the request needs (the hub's PostgreSQL database) cannot be
  /// reached, is starting or shutting down: answered 503, retried later.
  unavailable,
};

/// Returns the name of a code, e.g. "bad_timestamp".
const char* to_string(ec code);

/// Extracts the first string from an error's context, or its code name.
std::string describe(const caf::error& err);

/// Builds an error with a human-readable explanation.
inline caf::error make_error(ec code, std::string text) {
  return caf::error{static_cast<uint8_t>(code), caf::atom("crdt"),
                    caf::make_message(std::move(text))};
}

/// An ec::throttled error that says how many seconds to wait.
inline caf::error make_throttled(std::string text, int64_t retry_seconds) {
  return caf::error{static_cast<uint8_t>(ec::throttled), caf::atom("crdt"),
                    caf::make_message(std::move(text), retry_seconds)};
}

/// The seconds an ec::throttled error says to wait (1 when it says none).
inline int64_t retry_seconds_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() >= 2 && ctx.match_element<int64_t>(1))
    return ctx.get_as<int64_t>(1);
  return 1;
}

/// True when `err` belongs to this enum and has code `code`.
inline bool is(const caf::error& err, ec code) {
  return err.category() == caf::atom("crdt")
         && err.code() == static_cast<uint8_t>(code);
}

} // namespace crdt
