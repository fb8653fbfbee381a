#include "http/server.hpp"

#include "http/api.hpp"
#include "protocol/error.hpp"

#include <caf/all.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <map>

namespace crdt {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr auto idle_timeout = std::chrono::seconds(60);

constexpr const char* sync_secret_header = "X-Sync-Secret";

/// One TCP connection: reads requests, hands them to its session actor,
/// and writes the replies back in request order.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(tcp::socket&& socket, const server_options& opts)
      : stream_(std::move(socket)), opts_(opts) {
    // nop
  }

  ~connection() {
    if (actor_)
      caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
  }

  void start(caf::actor_system& sys, std::shared_ptr<const services> svc);

  /// Called from any thread: queues `reply` for request `seq`.
  void deliver(uint64_t seq, http_reply reply) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), seq, r = std::move(reply)]() mutable {
                self->on_reply(seq, std::move(r));
              });
  }

private:
  void do_read() {
    reading_ = true;
    parser_.emplace();
    // The head first: the body's limit depends on the path.
    parser_->body_limit(boost::none);
    stream_.expires_after(idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&connection::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t) {
    if (ec) {
      on_read(ec, 0);
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
    http::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&connection::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    reading_ = false;
    if (ec == http::error::body_limit) {
      // Answer from the headers alone, then close without reading the body.
      auto seq = next_seq_++;
      close_at_ = seq;
      ++in_flight_;
      on_reply(seq, error_reply(413, "Payload Too Large"));
      return;
    }
    if (ec) {
      eof_ = true;
      if (in_flight_ == 0)
        do_close();
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
    beast::error_code ignored;
    auto ep = stream_.socket().remote_endpoint(ignored);
    out.peer = ignored ? "" : ep.address().to_string();
    if (!req.keep_alive())
      close_at_ = out.seq;
    versions_[out.seq] = req.version();
    ++in_flight_;
    // Nothing else may hold this connection while the actor works on it.
    hold_ = shared_from_this();
    caf::anon_send(actor_, std::move(out));
    if (close_at_ == no_close && in_flight_ < opts_.max_pipeline)
      do_read();
  }

  void on_reply(uint64_t seq, http_reply reply) {
    http::response<http::string_body> res;
    res.result(reply.status);
    auto v = versions_.find(seq);
    res.version(v != versions_.end() ? v->second : 11);
    res.set(http::field::server, "crdt-store");
    res.set(http::field::content_type, "application/json");
    for (auto& [k, val] : reply.headers)
      res.set(k, val);
    res.keep_alive(seq != close_at_);
    res.body() = std::move(reply.body);
    res.prepare_payload();
    ready_.emplace(seq, std::move(res));
    do_write();
  }

  void do_write() {
    if (writing_)
      return;
    auto it = ready_.find(next_write_);
    if (it == ready_.end())
      return;
    writing_ = true;
    current_ = std::move(it->second);
    ready_.erase(it);
    versions_.erase(next_write_);
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
      do_close();
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
    stream_.expires_after(std::chrono::seconds(2));
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

  static constexpr uint64_t no_close = ~uint64_t{0};

  beast::tcp_stream stream_;
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
  std::map<uint64_t, http::response<http::string_body>> ready_;
  std::map<uint64_t, unsigned> versions_;
  http::response<http::string_body> current_;
  std::vector<char> drain_;
  /// Keeps the connection alive while requests are in flight.
  std::shared_ptr<connection> hold_;
};

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

private:
  std::weak_ptr<connection> conn_;
};

void connection::start(caf::actor_system& sys,
                       std::shared_ptr<const services> svc) {
  auto sink = std::make_shared<connection_sink>(weak_from_this());
  actor_ = sys.spawn(session, std::move(svc), std::move(sink));
  net::dispatch(
      stream_.get_executor(),
      beast::bind_front_handler(&connection::do_read, shared_from_this()));
}

} // namespace

listener::listener(net::io_context& ioc, caf::actor_system& sys,
                   std::shared_ptr<const services> svc, server_options opts)
    : ioc_(ioc)
    , acceptor_(net::make_strand(ioc))
    , sys_(sys)
    , svc_(std::move(svc))
    , opts_(std::move(opts)) {
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
        if (!ec) {
          socket.set_option(tcp::no_delay(true), ec);
          auto conn
              = std::make_shared<connection>(std::move(socket), self->opts_);
          conn->start(self->sys_, self->svc_);
        }
        self->do_accept();
      });
}

} // namespace crdt
