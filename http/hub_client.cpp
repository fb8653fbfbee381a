#include "http/hub_client.hpp"

#include "protocol/endpoint.hpp"
#include "protocol/error.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <vector>

namespace crdt {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// The connection and the call in flight; lives on one strand.
struct hub_client::impl : std::enable_shared_from_this<hub_client::impl> {
  using done_fn = std::function<void(caf::expected<std::string>)>;

  impl(net::io_context& ioc, std::chrono::milliseconds timeout)
      : strand(net::make_strand(ioc))
      , resolver(strand)
      , stream(strand)
      , timeout(timeout) {
    // nop
  }

  net::strand<net::io_context::executor_type> strand;
  tcp::resolver resolver;
  beast::tcp_stream stream;
  std::chrono::milliseconds timeout;
  std::vector<std::pair<std::string, std::string>> headers;
  /// The endpoint the open connection goes to ("" when closed).
  std::string connected_to;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  std::optional<http::response_parser<http::string_body>> parser;
  done_fn done;
  bool retried = false;

  void start(const std::string& endpoint, std::string body, done_fn cb) {
    auto parts = parse_endpoint(endpoint);
    if (!parts) {
      cb(make_error(ec::sync_failure, "bad SYNC_ENDPOINT " + endpoint));
      return;
    }
    done = std::move(cb);
    retried = false;
    req = {http::verb::post, parts->base + "/sync", 11};
    // An IPv6 address goes back into brackets in the Host header.
    req.set(http::field::host, parts->host.find(':') == std::string::npos
                                   ? parts->host
                                   : "[" + parts->host + "]");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "crdt-store");
    for (auto& [k, v] : headers)
      req.set(k, v);
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    if (connected_to == endpoint) {
      send();
      return;
    }
    close();
    connect(endpoint, *parts);
  }

  void connect(const std::string& endpoint, const endpoint_parts& parts) {
    auto self = shared_from_this();
    resolver.async_resolve(
        parts.host, parts.port,
        [self, endpoint](beast::error_code ec, tcp::resolver::results_type r) {
          if (ec)
            return self->fail("cannot resolve " + endpoint + ": "
                              + ec.message());
          self->stream.expires_after(self->timeout);
          self->stream.async_connect(
              r, [self, endpoint](beast::error_code ec, const tcp::endpoint&) {
                if (ec)
                  return self->fail("cannot connect to " + endpoint + ": "
                                    + ec.message());
                self->connected_to = endpoint;
                self->retried = true; // a fresh connection: no retry needed
                self->send();
              });
        });
  }

  void send() {
    auto self = shared_from_this();
    stream.expires_after(timeout);
    http::async_write(stream, req, [self](beast::error_code ec, size_t) {
      if (ec)
        return self->retry_or_fail("cannot send to the hub: " + ec.message());
      self->parser.emplace();
      self->parser->body_limit(1024ull * 1024 * 1024);
      self->http_read();
    });
  }

  void http_read() {
    auto self = shared_from_this();
    http::async_read(stream, buffer, *parser,
                     [self](beast::error_code ec, size_t) {
                       if (ec)
                         return self->retry_or_fail("no answer from the hub: "
                                                    + ec.message());
                       auto res = self->parser->release();
                       if (!res.keep_alive())
                         self->close();
                       auto status = res.result_int();
                       auto cb = std::move(self->done);
                       self->done = nullptr;
                       // 4xx: the hub refused this request (too large,
                       // say); anything else is a failure to retry.
                       if (status != 200)
                         cb(make_error(status >= 400 && status < 500
                                           ? ec::bad_request
                                           : ec::sync_failure,
                                       "hub answered " + std::to_string(status)
                                           + ": " + res.body().substr(0, 300)));
                       else
                         cb(std::move(res.body()));
                     });
  }

  // A kept-alive connection may have died since the last call: try once
  // more on a new one before reporting a failure.
  void retry_or_fail(const std::string& what) {
    auto endpoint = connected_to;
    close();
    if (!retried && !endpoint.empty()) {
      retried = true;
      if (auto parts = parse_endpoint(endpoint)) {
        connect(endpoint, *parts);
        return;
      }
    }
    fail(what);
  }

  void fail(const std::string& what) {
    close();
    if (auto cb = std::move(done)) {
      done = nullptr;
      cb(make_error(ec::sync_failure, what));
    }
  }

  void close() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.consume(buffer.size());
    connected_to.clear();
  }
};

hub_client::hub_client(net::io_context& ioc, std::chrono::milliseconds timeout)
    : impl_(std::make_shared<impl>(ioc, timeout)) {
  // nop
}

hub_client::~hub_client() = default;

void hub_client::post(const std::string& endpoint, std::string body,
                      std::function<void(caf::expected<std::string>)> done) {
  net::post(impl_->strand, [i = impl_, endpoint, b = std::move(body),
                            d = std::move(done)]() mutable {
    i->start(endpoint, std::move(b), std::move(d));
  });
}

void hub_client::header(std::string name, std::string value) {
  impl_->headers.emplace_back(std::move(name), std::move(value));
}

} // namespace crdt
