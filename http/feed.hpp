#pragma once

// The change feed's wire formats, as pure functions: Server-Sent Events
// for streams, a JSON envelope for long polls (handlers in
// feed_routes.cpp).

#include "actors/interfaces.hpp"
#include "storage/read_store.hpp"

#include <string>
#include <vector>

namespace crdt {

/// `record` (a JSON object) reduced to `id` and the plucked fields, in the
/// order asked; the whole record when `pluck` is empty or it is not JSON.
std::string pluck_record(const std::string& record,
                         const std::vector<std::string>& pluck);

/// One change as an SSE event: `id:` its HLC, then `data:` the record
/// (plucked) for a change, or `event: delete` with `data: {"id":…}` for a
/// deletion.
std::string sse_event(const change_event& e,
                      const std::vector<std::string>& pluck);

/// Event `i` of a batch as sse_event() renders it without pluck, rendered
/// once for every subscriber of the batch (thread-safe).
const std::string& sse_event_of(const feed_batch& batch, size_t i);

/// The `up-to-date` event that ends a catch-up; with the id of the
/// position reached when there is one, so that a reconnect resumes there.
std::string sse_up_to_date(const std::string& position_id);

/// The first bytes of a stream: a comment and the reconnection delay.
std::string sse_opening(const std::string& table);

/// A heartbeat: a comment line, ignored by clients.
std::string sse_heartbeat();

/// The last event of a stream that ends on the server's side.
std::string sse_error(unsigned status, const std::string& message);

/// A long poll's answer: the success envelope with `data` the changes
/// (`{"id","type":"change"|"delete","record"}`), `last_event_id` (where the
/// next poll resumes) and `up_to_date`.
std::string poll_body(const std::string& table,
                      const std::vector<change_event>& events,
                      const std::vector<std::string>& pluck,
                      const std::string& last_event_id, bool up_to_date);

} // namespace crdt
