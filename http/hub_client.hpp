#pragma once

#include "actors/hub_transport.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace crdt {

/// The sync client's HTTP transport: Beast's async client on the server's
/// io_context, one keep-alive connection to the hub, a timeout on every
/// call, and one retry on a fresh connection when a reused one fails.
class hub_client : public hub_transport,
                   public std::enable_shared_from_this<hub_client> {
public:
  hub_client(boost::asio::io_context& ioc, std::chrono::milliseconds timeout);
  ~hub_client() override;

  void post(const std::string& endpoint, std::string body,
            std::function<void(caf::expected<std::string>)> done) override;

  /// Adds a header to every call (e.g. a shared secret).
  void header(std::string name, std::string value);

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace crdt
