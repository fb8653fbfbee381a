#pragma once

// The service's log: what it prints of itself (start-up, sync, storage
// episodes) and one line per answered request, either as text or as one
// JSON object per line (LOG_FORMAT=json) for log shippers.
//
// The rest of the code keeps writing lines to std::cout (information) and
// std::cerr (problems). In JSON mode both streams get a buffer that turns
// each finished line into {"time","level","msg"}, whole lines at a time,
// whatever the thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crdt {

enum class log_format { text, json };

/// "text" or "json"; none for anything else.
std::optional<log_format> parse_log_format(std::string_view text);

/// Sets the format for the rest of the process; call once, before other
/// threads log. JSON wraps std::cout and std::cerr.
void set_log_format(log_format f);

log_format current_log_format();

/// What the access log says of one request. Never a token, a password or
/// a record's value: only the route pattern, not the path.
struct request_log {
  std::string_view request_id;
  std::string_view method;
  /// The route pattern ("" when no route matched).
  std::string_view route;
  unsigned status = 0;
  double seconds = 0;
  /// The caller's organization, when the route needed a token.
  std::string_view organization;
  /// The client's address.
  std::string_view peer;
};

/// One access-log line (with its newline) in `f`; `now_ms` is its time.
std::string format_request_line(log_format f, const request_log& r,
                                int64_t now_ms);

/// Queues an access-log line for standard output, where it goes in one
/// piece, soon, from a thread of its own (dropped, and counted, when 8 MiB
/// are already waiting for a stalled reader).
void write_log_line(const std::string& line);

/// The request id to use: the client's X-Request-Id when it is 1 to 128
/// characters of letters, digits and `-_.:`, else a new one.
std::string request_id_for(std::string_view client_header);

/// Appends `text` to `out` as the inside of a JSON string.
void append_json_escaped(std::string& out, std::string_view text);

} // namespace crdt
