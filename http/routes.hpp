#pragma once

#include "http/router.hpp"

#include <vector>

namespace crdt {

/// Every endpoint of the service: method, path, who may call it, handler.
const std::vector<route>& routes();

} // namespace crdt
