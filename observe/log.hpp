#pragma once

// The service's log: what it prints of itself (start-up, sync, storage
// episodes) and one line per answered request, either as text or as one
// JSON object per line (LOG_FORMAT=json) for log shippers.
//
// The rest of the code keeps writing lines to std::cout (information) and
// std::cerr (problems). In JSON mode both streams get a buffer that turns
// each finished line into {"time","level","msg"}, whole lines at a time,
// whatever the thread.

#include <chrono>
#include <cstdint>
#include <memory>
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

/// One line of the service's own log (with its newline) in `f`: in text
/// "crdt-store: <msg>", in JSON {"time","level","msg"} at `now_ms`.
std::string format_log_line(log_format f, std::string_view level,
                            std::string_view msg, int64_t now_ms);

/// One access-log line (with its newline) in `f`; `now_ms` is its time.
std::string format_request_line(log_format f, const request_log& r,
                                int64_t now_ms);

/// Writes whole lines to a file descriptor from a thread of its own, so
/// that a request's line costs its caller an append to a buffer.
///
/// The thread sleeps until a line comes; then it lets more gather for
/// `gather` before it writes them all at once, and callers that append
/// meanwhile do not wake it. Under load, one wake-up and one write carry a
/// burst of lines (at 30,000 requests/s, waking it for every line cost a
/// tenth of GET's throughput); a line waits at most `gather` plus the
/// write. Lines beyond `max_buffered` bytes waiting for a stalled reader
/// are dropped and counted, and the count is written when it reads again.
class line_writer {
public:
  line_writer(int fd, std::chrono::milliseconds gather,
              size_t max_buffered = 8 << 20);
  /// Writes what waits, then ends the thread.
  ~line_writer();
  line_writer(const line_writer&) = delete;
  line_writer& operator=(const line_writer&) = delete;

  void push(std::string_view line);

  /// Write calls so far, times a push woke the thread, and lines dropped
  /// so far.
  uint64_t writes() const;
  uint64_t wakeups() const;
  /// Whether the thread waits for a first line (nothing buffered).
  bool waiting() const;
  uint64_t dropped() const;

private:
  void run();

  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Queues an access-log line for standard output (a line_writer gathering
/// for 5 ms): it goes out in one piece, soon.
void write_log_line(const std::string& line);

/// The request id to use: the client's X-Request-Id when it is 1 to 128
/// characters of letters, digits and `-_.:`, else a new one.
std::string request_id_for(std::string_view client_header);

/// Appends `text` to `out` as the inside of a JSON string.
void append_json_escaped(std::string& out, std::string_view text);

} // namespace crdt
