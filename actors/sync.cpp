#include "actors/sync.hpp"

#include "actors/sync_rounds.hpp"
#include "observe/metrics.hpp"
#include "protocol/error.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>

namespace crdt {

stream_cursor parse_cursor(const std::string& text) {
  auto space = text.find(' ');
  if (space == std::string::npos)
    return {};
  uint64_t seq = 0;
  auto digits = std::string_view{text}.substr(space + 1);
  auto [ptr, ec]
      = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc{} || ptr != digits.data() + digits.size())
    return {};
  return {text.substr(0, space), seq};
}

std::string to_string(const stream_cursor& c) {
  return c.hub + " " + std::to_string(c.seq);
}

int64_t backoff_ms(const sync_config& cfg, int failures, double jitter) {
  double base = static_cast<double>(std::max<int64_t>(cfg.timer_ms, 50));
  double cap = static_cast<double>(cfg.backoff_max_ms);
  double exp = base * std::pow(2.0, std::min(failures, 30));
  double delay = std::min(cap, exp) * std::clamp(jitter, 0.5, 1.0);
  return std::max<int64_t>(1, static_cast<int64_t>(delay));
}

namespace detail {

namespace {

void schedule(sync_self self, int64_t ms) {
  auto g = ++self->state.generation;
  self->delayed_send(self, std::chrono::milliseconds(ms), tick_atom::value, g);
}

void start_round(sync_self self) {
  auto* st = &self->state;
  st->busy = true;
  st->round = sync_status{};
  st->chased = 0;
  st->round.enabled = st->cfg.enabled;
  if (st->protocol == hub_protocol::legacy)
    legacy_round(self);
  else
    exchange_round(self);
}

} // namespace

void call(sync_self self, std::string body,
          std::function<void(caf::expected<std::string>)> then) {
  auto* st = &self->state; // captured by the continuations below
  auto id = ++st->call_id;
  ++st->round.calls;
  st->round.bytes_sent += body.size();
  metrics::process().sync_bytes_sent.add(body.size());
  st->on_reply = std::move(then);
  st->called = st->cfg.endpoint;
  sync_actor handle = caf::actor_cast<sync_actor>(self);
  st->transport->post(st->cfg.endpoint, std::move(body),
                      [handle, id](caf::expected<std::string> r) {
                        if (r)
                          caf::anon_send(handle, reply_atom::value, id,
                                         caf::error{}, std::move(*r));
                        else
                          caf::anon_send(handle, reply_atom::value, id,
                                         std::move(r.error()), std::string{});
                      });
}

void finish(sync_self self, const caf::error& err) {
  auto* st = &self->state;
  st->busy = false;
  st->on_reply = nullptr;
  st->hub_trie.reset();
  st->round.enabled = st->cfg.enabled;
  st->round.at = iso8601(wall_clock_ms());
  st->round.ok = !err;
  st->round.error = err ? describe(err) : std::string{};
  st->round.protocol = st->protocol == hub_protocol::exchange ? "exchange"
                       : st->protocol == hub_protocol::legacy ? "legacy"
                                                              : "";
  st->last = st->round;
  metrics::process().sync_round(!err, wall_clock_ms());
  if (err) {
    ++st->failures;
    std::cerr << "crdt-store: sync with " << st->cfg.endpoint
              << " failed: " << st->last.error << std::endl;
    thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_real_distribution<double> jitter{0.5, 1.0};
    schedule(self, backoff_ms(st->cfg, st->failures, jitter(rng)));
  } else {
    st->failures = 0;
    schedule(self, st->cfg.timer_ms);
  }
}

bool accept_from_hub(sync_self self, const std::vector<message>& msgs) {
  // The hub is trusted with values, not with the format of what it sends.
  // Table definitions are not checked here: a hub that only relays the
  // group does not check them either, and the writer stores a malformed
  // one and ignores it (write_store::apply_definition), as every node
  // does; refusing the page would stop this node's sync at it for good.
  auto problem = check_batch(msgs, false, {}, wall_clock_ms(),
                             std::numeric_limits<int64_t>::max());
  if (problem.empty())
    return true;
  finish(self, make_error(ec::sync_failure, "hub sent " + problem));
  return false;
}

} // namespace detail

sync_actor::behavior_type sync(sync_actor::stateful_pointer<sync_state> self,
                               sync_state init) {
  using namespace detail;
  self->state = std::move(init);
  self->state.last.enabled = self->state.cfg.enabled;
  // No timer yet: the first round starts with the first sync_atom, which
  // the node sends once start-up is complete (see node::start_sync).
  return {
      [=](tick_atom, uint64_t generation) {
        auto* st = &self->state;
        if (generation != st->generation || st->busy)
          return;
        if (!st->cfg.enabled || st->cfg.endpoint.empty()) {
          schedule(self, st->cfg.timer_ms);
          return;
        }
        start_round(self);
      },
      [=](sync_atom) {
        auto* st = &self->state;
        if (!st->busy && st->cfg.enabled && !st->cfg.endpoint.empty())
          start_round(self);
      },
      [=](reply_atom, uint64_t id, caf::error& err, std::string& text) {
        auto* st = &self->state;
        if (id != st->call_id || !st->on_reply)
          return; // an answer to a call we gave up on
        auto then = std::move(st->on_reply);
        st->on_reply = nullptr;
        if (err) {
          then(std::move(err));
          return;
        }
        st->round.bytes_received += text.size();
        metrics::process().sync_bytes_received.add(text.size());
        // An answer of the hub the endpoint named before a change says
        // nothing about the one it names now (its format, its stream).
        if (st->called != st->cfg.endpoint)
          then(make_error(ec::sync_failure,
                          "SYNC_ENDPOINT changed during the call"));
        else
          then(std::move(text));
      },
      [=](config_atom, const std::string& key, const std::string& value) {
        auto* st = &self->state;
        auto endpoint = st->cfg.endpoint;
        if (!apply_sync_setting(st->cfg, key, value))
          return;
        // Another hub may speak another protocol.
        if (st->cfg.endpoint != endpoint) {
          st->protocol = hub_protocol::unknown;
          st->legacy_hint = false;
        }
        st->last.enabled = st->cfg.enabled;
        // Re-arm: a new period or a re-enabled sync starts from now.
        if (!st->busy)
          schedule(self, std::min<int64_t>(st->cfg.timer_ms, 100));
      },
      [=](status_atom) { return self->state.last; },
  };
}

} // namespace crdt
