#pragma once

#include "http/session.hpp"

#include <caf/actor_system.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <memory>
#include <string>

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
};

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

  /// The bound port (useful with port 0).
  unsigned short port() const;

private:
  void do_accept();

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  caf::actor_system& sys_;
  std::shared_ptr<const services> svc_;
  server_options opts_;
};

} // namespace crdt
