#pragma once

#include <caf/expected.hpp>

#include <functional>
#include <string>

namespace crdt {

/// Sends a `/sync` body to the hub. Implementations call `done` exactly
/// once, from any thread, with the answer body or an error.
class hub_transport {
public:
  virtual ~hub_transport() = default;
  /// Posts `body` to `endpoint` (a base URL; `/sync` is appended).
  virtual void post(const std::string& endpoint, std::string body,
                    std::function<void(caf::expected<std::string>)> done)
      = 0;
};

} // namespace crdt
