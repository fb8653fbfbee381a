#include "observe/log.hpp"

#include "protocol/timestamp.hpp"

#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <streambuf>
#include <thread>

namespace crdt {

namespace {

std::atomic<log_format> format_{log_format::text};

/// Serializes whole lines onto standard output and error. Never destroyed:
/// threads may still log while the process exits.
std::mutex& output_mutex() {
  static auto* m = new std::mutex;
  return *m;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

// Writes all of `s`, resuming after signals; gives up on an error (a
// closed descriptor: nowhere to log to). A reader that does not read
// blocks it, which only the access-log thread has to wait out.
void write_all(int fd, const std::string& s) {
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

// Appends `text` with every byte that is not part of valid UTF-8 replaced
// by U+FFFD, so that a JSON line stays valid JSON whatever a message
// quotes (a hub's error body, say).
void append_utf8(std::string& out, std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3
                                               : (c >> 3) == 30  ? 4
                                                                 : 0;
    bool ok = len > 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 2;
    // Overlong forms, surrogates and values past U+10FFFF.
    if (ok && len == 2)
      ok = c >= 0xc2;
    if (ok && len == 3) {
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (ok && len == 4) {
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = c <= 0xf4 && !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
}

// A stream buffer that collects each thread's characters up to a newline
// and writes the line as a JSON object, under the output mutex.
class json_lines : public std::streambuf {
public:
  json_lines(int fd, const char* level, int slot)
      : fd_(fd), level_(level), slot_(slot) {
  }

protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof())
      put(static_cast<char>(c));
    return traits_type::not_eof(c);
  }

  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i)
      put(s[i]);
    return n;
  }

  // An explicit flush ends a line that lacks its newline, so that nothing
  // stays in a thread's buffer.
  int sync() override {
    if (!line().empty())
      put('\n');
    return 0;
  }

private:
  std::string& line() {
    thread_local std::string lines[2];
    return lines[slot_];
  }

  void put(char c) {
    auto& l = line();
    if (c != '\n') {
      l.push_back(c);
      return;
    }
    std::string_view msg{l};
    constexpr std::string_view prefix = "crdt-store: ";
    if (msg.substr(0, prefix.size()) == prefix)
      msg.remove_prefix(prefix.size());
    auto out = format_log_line(log_format::json, level_, msg, now_ms());
    l.clear();
    std::lock_guard<std::mutex> guard{output_mutex()};
    write_all(fd_, out);
  }

  int fd_;
  const char* level_;
  int slot_;
};

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
         || c == ':';
}

} // namespace

std::optional<log_format> parse_log_format(std::string_view text) {
  if (text == "text")
    return log_format::text;
  if (text == "json")
    return log_format::json;
  return std::nullopt;
}

void set_log_format(log_format f) {
  format_ = f;
  if (f != log_format::json)
    return;
  // Whatever was buffered the old way goes out first.
  std::cout.flush();
  std::cerr.flush();
  // Never destroyed: the streams still flush into them at exit.
  static auto* out = new json_lines{STDOUT_FILENO, "info", 0};
  static auto* err = new json_lines{STDERR_FILENO, "error", 1};
  std::cout.rdbuf(out);
  std::cerr.rdbuf(err);
}

log_format current_log_format() {
  return format_;
}

void append_json_escaped(std::string& out, std::string_view raw) {
  static const char* hex = "0123456789abcdef";
  std::string valid;
  append_utf8(valid, raw);
  for (unsigned char c : valid) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
  }
}

std::string format_log_line(log_format f, std::string_view level,
                            std::string_view msg, int64_t now_ms) {
  if (f == log_format::text)
    return "crdt-store: " + std::string{msg} + "\n";
  std::string out = "{\"time\":\"" + iso8601(now_ms) + "\",\"level\":\"";
  append_json_escaped(out, level);
  out += "\",\"msg\":\"";
  append_json_escaped(out, msg);
  out += "\"}\n";
  return out;
}

std::string format_request_line(log_format f, const request_log& r,
                                 int64_t now) {
  std::string route{r.route.empty() ? std::string_view{"unmatched"} : r.route};
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", r.seconds * 1000.0);
  std::string out;
  out.reserve(256);
  if (f == log_format::text) {
    out = "crdt-store: request " + std::string{r.request_id} + " "
          + std::string{r.method} + " " + route + " "
          + std::to_string(r.status) + " " + ms + " ms";
    if (!r.organization.empty())
      out += " org " + std::string{r.organization};
    out += '\n';
    return out;
  }
  auto field = [&](const char* key, std::string_view v) {
    out += ",\"";
    out += key;
    out += "\":\"";
    append_json_escaped(out, v);
    out += '"';
  };
  out = "{\"time\":\"" + iso8601(now) + "\",\"level\":\"info\",\"msg\":\"request\"";
  field("request_id", r.request_id);
  field("method", r.method);
  field("route", route);
  out += ",\"status\":" + std::to_string(r.status);
  out += ",\"duration_ms\":";
  out += ms;
  if (!r.organization.empty())
    field("organization_id", r.organization);
  if (!r.peer.empty())
    field("peer", r.peer);
  out += "}\n";
  return out;
}

struct line_writer::impl {
  int fd;
  std::chrono::milliseconds gather;
  size_t max_buffered;
  std::mutex mutex;
  std::condition_variable cv;
  std::string buffer;
  uint64_t dropped = 0;
  uint64_t dropped_total = 0;
  uint64_t writes = 0;
  uint64_t wakeups = 0;
  /// The thread waits for a first line (only then does a push wake it).
  bool idle = false;
  bool stop = false;
  std::thread thread;
};

line_writer::line_writer(int fd, std::chrono::milliseconds gather,
                         size_t max_buffered)
    : impl_(new impl) {
  impl_->fd = fd;
  impl_->gather = gather;
  impl_->max_buffered = max_buffered;
  impl_->thread = std::thread{[this] { run(); }};
}

line_writer::~line_writer() {
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    impl_->stop = true;
  }
  impl_->cv.notify_one();
  impl_->thread.join();
}

void line_writer::push(std::string_view line) {
  auto& d = *impl_;
  bool wake = false;
  {
    std::lock_guard<std::mutex> guard{d.mutex};
    if (d.buffer.size() + line.size() > d.max_buffered) {
      ++d.dropped;
      ++d.dropped_total;
      return;
    }
    d.buffer += line;
    if (d.idle) {
      d.idle = false;
      wake = true;
      ++d.wakeups;
    }
  }
  if (wake)
    d.cv.notify_one();
}

uint64_t line_writer::writes() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->writes;
}

uint64_t line_writer::wakeups() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->wakeups;
}

bool line_writer::waiting() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->idle;
}

uint64_t line_writer::dropped() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->dropped_total;
}

void line_writer::run() {
  auto& d = *impl_;
  std::string out;
  for (;;) {
    uint64_t dropped = 0;
    {
      std::unique_lock<std::mutex> lock{d.mutex};
      if (d.buffer.empty() && !d.stop) {
        d.idle = true;
        d.cv.wait(lock, [&] { return d.stop || !d.buffer.empty(); });
        d.idle = false;
      }
      // Let a burst gather, whether this line started it or came during
      // the last write (a stop cuts the wait short).
      if (!d.stop)
        d.cv.wait_for(lock, d.gather, [&] { return d.stop; });
      if (d.buffer.empty() && d.stop)
        return;
      out.swap(d.buffer);
      std::swap(dropped, d.dropped);
      ++d.writes;
    }
    if (dropped > 0)
      out += format_log_line(format_, "error",
                             "dropped " + std::to_string(dropped)
                                 + " request lines: the log's reader is too "
                                   "slow",
                             now_ms());
    {
      std::lock_guard<std::mutex> guard{output_mutex()};
      if (format_ == log_format::text && d.fd == STDOUT_FILENO)
        std::cout.flush(); // keep the order with what went out before
      write_all(d.fd, out);
    }
    out.clear();
  }
}

void write_log_line(const std::string& line) {
  static line_writer writer{STDOUT_FILENO, std::chrono::milliseconds{5}};
  writer.push(line);
}

std::string request_id_for(std::string_view client_header) {
  if (!client_header.empty() && client_header.size() <= 128) {
    bool ok = true;
    for (char c : client_header)
      ok = ok && id_char(c);
    if (ok)
      return std::string{client_header};
  }
  // A per-process random prefix and a counter: unique, cheap, and never
  // derived from anything the client sent.
  static const std::string prefix = [] {
    std::random_device rd;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
    return std::string{buf};
  }();
  static std::atomic<uint64_t> next{0};
  char tail[24];
  std::snprintf(tail, sizeof tail, "-%llu",
                static_cast<unsigned long long>(
                    next.fetch_add(1, std::memory_order_relaxed)));
  return prefix + tail;
}

} // namespace crdt
