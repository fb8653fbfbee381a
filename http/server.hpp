#pragma once

#include "http/session.hpp"

#include "protocol/cors.hpp"
#include "protocol/forwarded.hpp"

#include <caf/actor_system.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace crdt {

/// Limits of the HTTP layer.
struct server_options {
  std::string host = "127.0.0.1";
  unsigned short port = 3060;
  /// Largest request body; larger ones get 413 from their headers alone.
  size_t body_limit = 1 << 20;
  /// The same for POST /sync, which may carry a whole merkle trie from
  /// clients of the crdt-example-app format.
  size_t sync_body_limit = 64 << 20;
  /// Requests a connection may have in flight (pipelining).
  size_t max_pipeline = 16;
  /// Largest request head (request line and headers): 431 above, or 414
  /// when the request line alone is longer.
  size_t header_limit = 8192;
  /// Open connections; more are answered 503 and closed.
  size_t max_connections = 4096;
  /// How long a client has to send a whole request head, from its first
  /// byte (or from the accept, for a new connection): against slowloris.
  std::chrono::milliseconds header_timeout{10000};
  /// How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60000};
  /// One log line per answered request (observe/log.hpp).
  bool access_log = true;
  /// Bytes a streamed answer (the change feed) may have waiting for a slow
  /// client; beyond, the stream ends with an error event.
  size_t stream_queue_bytes = 1 << 20;
  /// Web origins that may call from a browser (CORS_ORIGINS).
  cors_policy cors;
  /// Proxies whose X-Forwarded-For names the client (TRUSTED_PROXIES).
  proxy_list trusted_proxies;
};

/// One client connection (defined in server.cpp).
class connection;

/// Accepts connections and gives each a Beast connection object plus its
/// own session actor (Beast's advanced server, with actors behind it).
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(boost::asio::io_context& ioc, caf::actor_system& sys,
           std::shared_ptr<const services> svc, server_options opts);

  /// Binds (SO_REUSEADDR) and listens; an error names the address.
  caf::error open();

  /// Starts accepting.
  void run();

  /// Stops accepting new connections.
  void stop();

  /// Ends every connection still open, and its session actor: for after
  /// the io_context stopped, when answers in flight will never be written
  /// (otherwise such a connection keeps itself and its actor alive, and
  /// the actor system waits for them forever).
  void close_all();

  /// The bound port (useful with port 0).
  unsigned short port() const;

  /// Connections open now.
  size_t open_connections() const {
    return *open_;
  }

private:
  void do_accept();
  /// After accept failed for want of descriptors (EMFILE, ENFILE) or
  /// memory: waits a moment instead of spinning, logging once an episode.
  void back_off(const boost::system::error_code& ec);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  caf::actor_system& sys_;
  std::shared_ptr<const services> svc_;
  server_options opts_;
  /// Every connection accepted (expired ones are dropped as they pile up).
  std::vector<std::weak_ptr<connection>> connections_;
  /// Connections alive (each decrements it when it goes).
  std::shared_ptr<std::atomic<size_t>> open_;
  boost::asio::steady_timer retry_;
  /// Accepts that failed in the current descriptor shortage.
  size_t accept_failures_ = 0;
};

} // namespace crdt
