#include "http/server.hpp"

#include "http/api.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"

#include <caf/all.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>
#include <deque>
#include <map>

namespace crdt {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr const char* sync_secret_header = "X-Sync-Secret";
constexpr const char* request_id_header = "X-Request-Id";
constexpr const char* last_event_id_header = "Last-Event-ID";
constexpr const char* real_ip_header = "X-Real-IP";
constexpr const char* forwarded_for_header = "X-Forwarded-For";
/// The route label of preflights answered by the connection itself.
constexpr const char* preflight_route = "preflight";

// A request Beast could not parse (bad method, target, version, header or
// Content-Length, bad chunk...): answered 400. A client that went away in
// the middle (end of stream, partial message) gets no answer.
bool is_parse_error(const beast::error_code& ec) {
  static const auto& http_category
      = http::make_error_code(http::error::bad_method).category();
  return ec.category() == http_category && ec != http::error::end_of_stream
         && ec != http::error::partial_message;
}

} // namespace

/// What a connection remembers of a request until its answer is written.
struct request_meta {
  unsigned version = 11;
  std::string method;
  /// X-Request-Id: the client's, or one made here.
  std::string id;
  std::string peer;
  std::chrono::steady_clock::time_point started;
  /// Access-Control-Allow-Origin for the answer (empty: no CORS headers).
  std::string cors_origin;
};

/// One TCP connection: reads requests, hands them to its session actor,
/// and writes the replies back in request order.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(tcp::socket&& socket, const server_options& opts,
             std::shared_ptr<std::atomic<size_t>> open)
      : stream_(std::move(socket)), opts_(opts), open_(std::move(open)) {
    // Asked once: every request of the connection logs it.
    beast::error_code failed;
    auto ep = stream_.socket().remote_endpoint(failed);
    if (!failed)
      peer_ = ep.address().to_string();
  }

  ~connection() {
    if (actor_)
      caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
    --*open_;
  }

  void start(caf::actor_system& sys, std::shared_ptr<const services> svc);

  /// Answers 503 without reading a request, then closes: for connections
  /// beyond the limit.
  void refuse() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      // Beyond the limit every descriptor counts: linger only a moment.
      self->linger_for_ = std::chrono::milliseconds(200);
      self->refuse_request(503, "Service Unavailable: too many connections, "
                                "retry later");
    });
  }

  /// Closes the socket and lets go of the connection and its actor (only
  /// once the io_context no longer runs).
  void abandon() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    hold_.reset();
    if (actor_) {
      caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
      actor_ = nullptr;
    }
  }

  /// Called from any thread: queues `reply` for request `seq`.
  void deliver(uint64_t seq, http_reply reply) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), seq, r = std::move(reply)]() mutable {
                self->on_reply(seq, std::move(r));
              });
  }

  /// Called from any thread: adds bytes to the streamed answer `seq`.
  void deliver_more(uint64_t seq, std::string bytes, bool last, bool notify) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), seq, b = std::move(bytes), last,
               notify]() mutable {
                self->on_push(seq, std::move(b), last, notify);
              });
  }

private:
  void do_read() {
    reading_ = true;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(opts_.header_limit));
    // The head first: the body's limit depends on the path.
    parser_->body_limit(boost::none);
    if (first_ || buffer_.size() > 0) {
      first_ = false;
      read_head();
      return;
    }
    // Between requests: wait for the next one's first byte as long as a
    // keep-alive connection may idle; then its head must come quickly.
    stream_.expires_after(opts_.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(4096),
        beast::bind_front_handler(&connection::on_first_bytes,
                                  shared_from_this()));
  }

  void on_first_bytes(beast::error_code ec, size_t n) {
    if (read_while_streaming(ec))
      return;
    if (ec) {
      on_read(ec, 0);
      return;
    }
    buffer_.commit(n);
    read_head();
  }

  void read_head() {
    stream_.expires_after(opts_.header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&connection::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t) {
    if (read_while_streaming(ec))
      return;
    if (ec == http::error::header_limit) {
      // 414 when not even the request line fits (the parser has not seen
      // a target), 431 otherwise.
      auto limit = std::to_string(opts_.header_limit);
      if (parser_->get().target().empty())
        refuse_request(414, "URI Too Long: the request line and headers are "
                            "limited to "
                                + limit + " bytes");
      else
        refuse_request(431, "Request Header Fields Too Large: the request "
                            "line and headers are limited to "
                                + limit + " bytes");
      return;
    }
    if (ec == http::error::bad_version && names_a_version()) {
      refuse_request(505, "HTTP Version Not Supported: this server speaks "
                          "HTTP/1.0 and HTTP/1.1");
      return;
    }
    if (ec) {
      on_read(ec, 0);
      return;
    }
    head_done_ = std::chrono::steady_clock::now();
    auto version = parser_->get().version();
    if (version != 10 && version != 11) {
      refuse_request(505, "HTTP Version Not Supported: this server speaks "
                          "HTTP/1.0 and HTTP/1.1");
      return;
    }
    auto target = parser_->get().target();
    bool sync = target == "/sync" || target.starts_with("/sync?");
    auto limit = sync ? opts_.sync_body_limit : opts_.body_limit;
    auto length = parser_->content_length();
    if (length && *length > limit) {
      on_read(http::error::body_limit, 0);
      return;
    }
    parser_->body_limit(limit);
    // The body may take as long as an idle connection may wait (a large
    // /sync upload), not just the head's few seconds.
    stream_.expires_after(opts_.idle_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&connection::on_read, shared_from_this()));
  }

  // Whether the request line still in the buffer ends in a well-formed
  // version that Beast refused ("HTTP/2.0"): 505 rather than 400.
  bool names_a_version() const {
    auto data = buffer_.cdata();
    std::string_view seen{static_cast<const char*>(data.data()), data.size()};
    auto line = seen.substr(0, seen.find('\r'));
    auto at = line.rfind(" HTTP/");
    if (at == std::string_view::npos || line.size() != at + 9)
      return false;
    auto v = line.substr(at + 6);
    return std::isdigit(static_cast<unsigned char>(v[0])) && v[1] == '.'
           && std::isdigit(static_cast<unsigned char>(v[2]));
  }

  // The Access-Control-Allow-Origin a request's answer carries ("" for
  // none). /sync is for nodes, never for pages: it gets none.
  template <class Head>
  std::string cors_origin_for(const Head& head) const {
    if (!opts_.cors.enabled())
      return {};
    auto target = head.target();
    if (target == "/sync" || target.starts_with("/sync?"))
      return {};
    auto origin = head.find(http::field::origin);
    if (origin == head.end())
      return {};
    auto allowed = opts_.cors.allow(origin->value());
    return allowed ? *allowed : std::string{};
  }

  // Who sent a request: the peer, or the client a trusted proxy names
  // (protocol/forwarded.hpp). Every X-Forwarded-For line counts, in order.
  template <class Head>
  client_origin origin_of(const Head& head) const {
    std::string forwarded_for;
    auto lines = head.equal_range(forwarded_for_header);
    for (auto it = lines.first; it != lines.second; ++it) {
      if (!forwarded_for.empty())
        forwarded_for += ',';
      forwarded_for.append(it->value().data(), it->value().size());
    }
    bool other = head.find(http::field::forwarded) != head.end()
                 || head.find(real_ip_header) != head.end();
    return resolve_client(peer_address(), forwarded_for, other,
                          opts_.trusted_proxies);
  }

  // Answers a request that will not be served, then closes the connection
  // (lingering, so that the client reads the answer, not a reset).
  void refuse_request(unsigned status, const std::string& message) {
    reading_ = false;
    auto seq = next_seq_++;
    close_at_ = seq;
    ++in_flight_;
    // What is known of a request refused before it was read whole.
    request_meta meta;
    meta.started = std::chrono::steady_clock::now();
    if (parser_ && parser_->is_header_done()) {
      const auto& head = parser_->get();
      meta.version = head.version();
      meta.method = std::string{head.method_string()};
      if (auto it = head.find(request_id_header); it != head.end())
        meta.id = request_id_for(it->value());
      meta.cors_origin = cors_origin_for(head);
      meta.peer = origin_of(head).address;
    } else {
      meta.peer = peer_address();
    }
    if (meta.id.empty())
      meta.id = request_id_for({});
    pending_.emplace(seq, std::move(meta));
    auto reply = error_reply(status, message);
    if (status == 503)
      reply.headers.emplace_back("Connection", "close");
    on_reply(seq, std::move(reply));
  }

  // A stream's connection reads only to notice that the client left:
  // what it sends is ignored. True when the read was handled so.
  bool read_while_streaming(const beast::error_code& ec) {
    if (!streaming_)
      return false;
    reading_ = false;
    if (closed_)
      return true;
    // Cancelled by start_stream (or a request the client sent anyway):
    // the stream's own read takes over. A timeout has closed the socket.
    if (!ec || ec == net::error::operation_aborted)
      drain_stream();
    else
      end_stream();
    return true;
  }

  void on_read(beast::error_code ec, size_t) {
    if (read_while_streaming(ec))
      return;
    reading_ = false;
    if (ec == http::error::body_limit) {
      // Answer from the headers alone, then close without reading the body.
      refuse_request(413, "Payload Too Large");
      return;
    }
    if (is_parse_error(ec)) {
      // Beast's messages are fixed texts ("bad target", "bad version"...),
      // never the client's bytes.
      refuse_request(400, "Bad Request: malformed HTTP (" + ec.message() + ")");
      return;
    }
    if (ec) {
      eof_ = true;
      if (in_flight_ == 0)
        do_close();
      else if (actor_)
        // A request may wait for long (a long poll): the session answers
        // it now rather than hold its place until the wait ends.
        caf::anon_send(actor_, leave_atom::value);
      return;
    }
    auto req = parser_->release();
    http_request out;
    out.seq = next_seq_++;
    out.method = std::string{req.method_string()};
    out.target = std::string{req.target()};
    out.body = std::move(req.body());
    if (auto it = req.find(http::field::authorization); it != req.end())
      out.authorization = std::string{it->value()};
    if (auto it = req.find(sync_secret_header); it != req.end())
      out.sync_secret = std::string{it->value()};
    if (auto it = req.find(last_event_id_header); it != req.end())
      out.last_event_id = std::string{it->value()};
    if (auto it = req.find(http::field::origin); it != req.end())
      out.origin = std::string{it->value()};
    auto origin = origin_of(req);
    out.local = !origin.relayed && loopback_address(peer_address());
    out.peer = std::move(origin.address);
    if (!req.keep_alive())
      close_at_ = out.seq;
    request_meta meta;
    meta.started = head_done_;
    meta.version = req.version();
    meta.method = out.method;
    auto id = req.find(request_id_header);
    meta.id = request_id_for(id == req.end() ? beast::string_view{}
                                             : id->value());
    meta.peer = out.peer;
    meta.cors_origin = cors_origin_for(req);
    // A browser's preflight: answered here, without a session.
    if (opts_.cors.enabled() && req.method() == http::verb::options
        && req.find(http::field::access_control_request_method) != req.end()) {
      bool allowed = !meta.cors_origin.empty();
      auto origin = meta.cors_origin;
      pending_.emplace(out.seq, std::move(meta));
      ++in_flight_;
      http_reply r;
      if (allowed) {
        r.status = 204;
        r.headers = cors_preflight_headers(origin, opts_.cors.any);
      } else {
        r = error_reply(403, "Forbidden: this origin may not call the API "
                             "(CORS_ORIGINS)");
      }
      r.route = preflight_route;
      on_reply(out.seq, std::move(r));
      if (close_at_ == no_close && in_flight_ < opts_.max_pipeline)
        do_read();
      return;
    }
    pending_.emplace(out.seq, std::move(meta));
    ++in_flight_;
    // Nothing else may hold this connection while the actor works on it.
    hold_ = shared_from_this();
    caf::anon_send(actor_, std::move(out));
    if (close_at_ == no_close && in_flight_ < opts_.max_pipeline)
      do_read();
  }

  void on_reply(uint64_t seq, http_reply reply) {
    if (stream_seq_ != no_close && seq > stream_seq_) {
      // Pipelined behind a stream, which never ends in a way that leaves
      // room for another answer: counted, never written.
      drop_answer(seq, reply);
      return;
    }
    if (closed_) {
      // The connection failed: nothing more is written (the request still
      // counts); let go once the last answer in flight has come back.
      drop_answer(seq, reply);
      return;
    }
    http::response<http::string_body> res;
    res.result(reply.status);
    auto meta = pending_.find(seq);
    res.version(meta != pending_.end() ? meta->second.version : 11);
    res.set(http::field::server, "crdt-store");
    res.set(http::field::content_type, "application/json");
    if (meta != pending_.end()) {
      observe(meta->second, reply);
      res.set(request_id_header, meta->second.id);
      const auto& origin = meta->second.cors_origin;
      // (A preflight's answer has its own.)
      if (!origin.empty() && reply.route != preflight_route)
        for (auto& [k, val] : cors_answer_headers(origin, opts_.cors.any))
          res.set(k, val);
      else if (opts_.cors.enabled() && !opts_.cors.any)
        res.set(http::field::vary, "Origin"); // the answer depends on it
      pending_.erase(meta);
    }
    for (auto& [k, val] : reply.headers)
      res.set(k, val);
    if (reply.stream) {
      // The answer runs until the stream ends: no length, and the
      // connection closes after it. Requests pipelined behind it are
      // dropped, answered or not.
      close_at_ = seq;
      stream_seq_ = seq;
      for (auto it = ready_.upper_bound(seq); it != ready_.end();) {
        it = ready_.erase(it);
        if (in_flight_ > 0 && --in_flight_ == 0)
          hold_.reset();
      }
      res.keep_alive(false);
      res.body() = std::move(reply.body);
      ready_.emplace(seq, std::move(res));
      do_write();
      return;
    }
    res.keep_alive(seq != close_at_);
    res.body() = std::move(reply.body);
    res.prepare_payload();
    ready_.emplace(seq, std::move(res));
    do_write();
  }

  // An answer that will not be written: counted and logged, then let go.
  void drop_answer(uint64_t seq, const http_reply& reply) {
    if (auto meta = pending_.find(seq); meta != pending_.end()) {
      observe(meta->second, reply);
      pending_.erase(meta);
    }
    if (in_flight_ > 0 && --in_flight_ == 0)
      hold_.reset();
  }

  // More bytes of the streamed answer: queued behind what is not written
  // yet, within the queue's bound.
  void on_push(uint64_t seq, std::string bytes, bool last, bool notify) {
    if (closed_ || seq != stream_seq_ || stream_done_)
      return;
    // The bound applies to what still waits to be written: a client that
    // keeps up takes any piece, however large; one that does not falls
    // behind by more than the bound and is cut.
    if (stream_queued_ > opts_.stream_queue_bytes && !last) {
      // Too slow a reader: what waits is dropped for a last event that
      // says why, and the stream ends.
      metrics::process().feed_subscribers_cut.add();
      stream_queue_.clear();
      stream_queued_ = 0;
      bytes = "event: error\ndata: {\"status\":503,\"message\":\"the client "
              "reads the feed too slowly: its queue is full; resume with "
              "Last-Event-ID\"}\n\n";
      last = true;
      notify = false;
    }
    stream_queued_ += bytes.size();
    stream_queue_.push_back(std::move(bytes));
    if (last)
      stream_done_ = true;
    if (notify)
      notify_drained_ = true;
    write_stream();
  }

  // Writes the stream's queue, one piece at a time, once the head is out.
  void write_stream() {
    if (!streaming_ || stream_writing_ || closed_)
      return;
    if (stream_queue_.empty()) {
      if (stream_done_) {
        end_stream(true);
        return;
      }
      if (notify_drained_) {
        notify_drained_ = false;
        caf::anon_send(actor_, drained_atom::value);
      }
      return;
    }
    stream_writing_ = true;
    stream_current_ = std::move(stream_queue_.front());
    stream_queue_.pop_front();
    stream_queued_ -= stream_current_.size();
    // A client that stops reading is let go after an idle timeout (this
    // also re-arms the read that waits for the client to leave).
    stream_.expires_after(opts_.idle_timeout);
    net::async_write(stream_, net::buffer(stream_current_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->stream_writing_ = false;
                       if (ec) {
                         self->end_stream();
                         return;
                       }
                       self->write_stream();
                     });
  }

  // The stream's head is written: from now on the connection only writes
  // the stream and watches for the client leaving.
  void start_stream() {
    streaming_ = true;
    if (reading_) {
      // The read that waits for a next request has the keep-alive
      // deadline, which would close the stream: cancel it, and its
      // handler starts the stream's own read (no write is pending now).
      beast::error_code ignored;
      stream_.socket().cancel(ignored);
    } else {
      drain_stream();
    }
    write_stream();
  }

  void drain_stream() {
    reading_ = true;
    drain_.resize(4096);
    // On the socket itself: no deadline, the client may listen for days.
    stream_.socket().async_read_some(
        net::buffer(drain_),
        [self = shared_from_this()](beast::error_code ec, size_t) {
          self->reading_ = false;
          if (ec && self->closed_) {
            // The client closed after the last event: no need to linger.
            if (self->end_timer_)
              self->end_timer_->cancel();
            self->do_close();
          }
          else if (ec)
            self->end_stream();
          else
            self->drain_stream();
        });
  }

  // The stream is over (ended, failed, or the client left): close, and let
  // go of the connection so that its session actor ends with it. When the
  // server ended it (`graceful`), only the sending side closes at first, so
  // that the client reads the last event rather than a reset; the socket
  // closes when the client does, or after the linger time.
  void end_stream(bool graceful = false) {
    if (closed_)
      return;
    closed_ = true;
    stream_queue_.clear();
    stream_queued_ = 0;
    in_flight_ = 0;
    hold_.reset();
    if (!graceful || !reading_) {
      do_close();
      return;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    end_timer_ = std::make_unique<net::steady_timer>(stream_.get_executor());
    end_timer_->expires_after(linger_for_);
    end_timer_->async_wait(
        [self = shared_from_this()](beast::error_code) { self->do_close(); });
  }

  void do_write() {
    if (writing_ || streaming_)
      return;
    auto it = ready_.find(next_write_);
    if (it == ready_.end())
      return;
    writing_ = true;
    current_ = std::move(it->second);
    ready_.erase(it);
    // A write of its own deadline (a pending read keeps its own).
    stream_.expires_after(opts_.idle_timeout);
    http::async_write(
        stream_, current_,
        beast::bind_front_handler(&connection::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, size_t) {
    writing_ = false;
    auto seq = next_write_++;
    if (--in_flight_ == 0)
      hold_.reset(); // the pending async operations keep us alive now
    if (ec) {
      // Answers already queued behind this one will never be written.
      closed_ = true;
      in_flight_ -= ready_.size();
      ready_.clear();
      if (in_flight_ == 0)
        hold_.reset();
      do_close();
      return;
    }
    if (seq == stream_seq_) {
      start_stream();
      return;
    }
    if (seq == close_at_) {
      linger();
      return;
    }
    do_write();
    if (eof_ && in_flight_ == 0) {
      do_close();
      return;
    }
    if (!reading_ && !eof_ && close_at_ == no_close
        && in_flight_ < opts_.max_pipeline)
      do_read();
  }

  // Half-close, then drain what the client still sends for a moment, so
  // that it reads our answer instead of a reset.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(linger_for_);
    drain_.resize(16384);
    linger_more();
  }

  void linger_more() {
    stream_.async_read_some(
        net::buffer(drain_),
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec)
            self->do_close();
          else
            self->linger_more();
        });
  }

  void do_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  // The client's address ("" if the socket was gone at the accept).
  const std::string& peer_address() const {
    return peer_;
  }

  // Counts an answered request and writes its access-log line.
  void observe(const request_meta& meta, const http_reply& reply) {
    auto seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - meta.started)
                       .count();
    std::string_view route = reply.route ? reply.route : "";
    metrics::process().http_request(route, meta.method, reply.status, seconds);
    if (!opts_.access_log)
      return;
    request_log line;
    line.request_id = meta.id;
    line.method = meta.method.empty() ? std::string_view{"-"} : meta.method;
    line.route = route;
    line.status = reply.status;
    line.seconds = seconds;
    line.organization = reply.organization;
    line.peer = meta.peer;
    write_log_line(
        format_request_line(current_log_format(), line, wall_clock_ms()));
  }

  static constexpr uint64_t no_close = ~uint64_t{0};

  beast::tcp_stream stream_;
  std::string peer_;
  beast::flat_buffer buffer_;
  server_options opts_;
  std::optional<http::request_parser<http::string_body>> parser_;
  session_actor actor_;
  uint64_t next_seq_ = 0;
  uint64_t next_write_ = 0;
  uint64_t close_at_ = no_close;
  size_t in_flight_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool eof_ = false;
  /// No request read yet: the first head is timed from the accept.
  bool first_ = true;
  /// A write failed: answers still to come are dropped.
  bool closed_ = false;
  /// How long to drain the client after the last answer before closing.
  std::chrono::milliseconds linger_for_{2000};
  /// The listener's count of open connections.
  std::shared_ptr<std::atomic<size_t>> open_;
  std::map<uint64_t, http::response<http::string_body>> ready_;
  /// What the answer of each request in flight needs: its HTTP version,
  /// method, id and start, by position.
  std::map<uint64_t, request_meta> pending_;
  /// When the head of the request being read was complete.
  std::chrono::steady_clock::time_point head_done_;
  http::response<http::string_body> current_;
  std::vector<char> drain_;
  /// The streamed answer, if one was started: its request, what waits to
  /// be written (and its size), the piece being written, and whether the
  /// session ended it or asked to hear when the queue is written out.
  uint64_t stream_seq_ = no_close;
  bool streaming_ = false;
  bool stream_writing_ = false;
  bool stream_done_ = false;
  bool notify_drained_ = false;
  std::deque<std::string> stream_queue_;
  size_t stream_queued_ = 0;
  std::string stream_current_;
  /// Bounds the wait for the client to close after the server ended a
  /// stream.
  std::unique_ptr<net::steady_timer> end_timer_;
  /// Keeps the connection alive while requests are in flight.
  std::shared_ptr<connection> hold_;
};

namespace {

/// Routes a session actor's replies to its connection, if still open.
class connection_sink : public reply_sink {
public:
  explicit connection_sink(std::weak_ptr<connection> conn)
      : conn_(std::move(conn)) {
    // nop
  }

  void send(uint64_t seq, http_reply reply) override {
    if (auto c = conn_.lock())
      c->deliver(seq, std::move(reply));
  }

  void push(uint64_t seq, std::string bytes, bool last, bool notify) override {
    if (auto c = conn_.lock())
      c->deliver_more(seq, std::move(bytes), last, notify);
  }

private:
  std::weak_ptr<connection> conn_;
};

} // namespace

void connection::start(caf::actor_system& sys,
                       std::shared_ptr<const services> svc) {
  auto sink = std::make_shared<connection_sink>(weak_from_this());
  actor_ = sys.spawn(session, std::move(svc), std::move(sink));
  net::dispatch(
      stream_.get_executor(),
      beast::bind_front_handler(&connection::do_read, shared_from_this()));
}


listener::listener(net::io_context& ioc, caf::actor_system& sys,
                   std::shared_ptr<const services> svc, server_options opts)
    : ioc_(ioc)
    , acceptor_(net::make_strand(ioc))
    , sys_(sys)
    , svc_(std::move(svc))
    , opts_(std::move(opts))
    , open_(std::make_shared<std::atomic<size_t>>(0))
    , retry_(acceptor_.get_executor()) {
  // nop
}

caf::error listener::open() {
  beast::error_code ec;
  auto addr = net::ip::make_address(opts_.host, ec);
  if (ec)
    return make_error(ec::bad_request,
                      "HOST: not an IP address: " + opts_.host);
  tcp::endpoint ep{addr, opts_.port};
  acceptor_.open(ep.protocol(), ec);
  if (!ec)
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor_.bind(ep, ec);
  if (!ec)
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(ec::storage_failure,
                      "cannot listen on " + opts_.host + ":"
                          + std::to_string(opts_.port) + ": " + ec.message());
  return caf::none;
}

void listener::run() {
  do_accept();
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_.cancel();
  });
}

void listener::close_all() {
  for (auto& weak : connections_)
    if (auto c = weak.lock())
      c->abandon();
  connections_.clear();
}

void listener::back_off(const boost::system::error_code& ec) {
  if (accept_failures_++ == 0)
    std::cerr << "crdt-store: http: cannot accept connections (" << ec.message()
              << "); retrying every 50 ms until descriptors are free (raise "
                 "the descriptor limit, ulimit -n, or lower MAX_CONNECTIONS)"
              << std::endl;
  retry_.expires_after(std::chrono::milliseconds(50));
  retry_.async_wait([self = shared_from_this()](beast::error_code e) {
    if (!e && self->acceptor_.is_open())
      self->do_accept();
  });
}

unsigned short listener::port() const {
  beast::error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void listener::do_accept() {
  acceptor_.async_accept(
      net::make_strand(ioc_),
      [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !self->acceptor_.is_open())
          return;
        if (ec == net::error::no_descriptors || ec == net::error::no_memory
            || ec == net::error::no_buffer_space
            || ec == boost::system::errc::too_many_files_open_in_system) {
          self->back_off(ec);
          return;
        }
        if (!ec && self->accept_failures_ > 0) {
          std::cerr << "crdt-store: http: accepting connections again after "
                    << self->accept_failures_ << " failed attempts"
                    << std::endl;
          self->accept_failures_ = 0;
        }
        if (!ec) {
          socket.set_option(tcp::no_delay(true), ec);
          ++*self->open_;
          auto conn = std::make_shared<connection>(
              std::move(socket), self->opts_, self->open_);
          if (*self->open_ > self->opts_.max_connections)
            conn->refuse();
          else
            conn->start(self->sys_, self->svc_);
          auto& all = self->connections_;
          if (all.size() >= 1024 && all.size() == all.capacity())
            all.erase(std::remove_if(all.begin(), all.end(),
                                     [](const auto& c) { return c.expired(); }),
                      all.end());
          all.push_back(conn);
        }
        self->do_accept();
      });
}

} // namespace crdt
