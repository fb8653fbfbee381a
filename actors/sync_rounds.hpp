#pragma once

// The sync actor's rounds, one file per protocol: sync_exchange.cpp (the
// bounded exchange) and sync_legacy.cpp (the crdt-example-app format).
// Internal to the sync actor.

#include "actors/sync.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace crdt::detail {

using sync_self = sync_actor::stateful_pointer<sync_state>;

/// How long the sync actor waits for the actors it asks.
constexpr auto sync_ask_timeout = std::chrono::seconds(30);

/// Posts one body to the hub, counting the bytes and calls of the round;
/// `then` runs in the actor with the answer.
void call(sync_self self, std::string body,
          std::function<void(caf::expected<std::string>)> then);

/// Ends the round (an error schedules a back-off), records its outcome.
void finish(sync_self self, const caf::error& err);

/// Checks messages the hub sent before they are stored (their format
/// only); when they fail, ends the round with the reason and answers false.
bool accept_from_hub(sync_self self, const std::vector<message>& msgs);

/// A round with a hub that speaks the bounded exchange (or may).
void exchange_round(sync_self self);

/// A round in the crdt-example-app format; `answer`, when not empty, is
/// the answer such a hub gave to this round's first call (and `acks` the
/// outbox entries that call carried).
void legacy_round(sync_self self);
void legacy_answer(sync_self self, std::string answer,
                   outbox_ack acks, bool drained_full);

} // namespace crdt::detail
