#include "actors/sync.hpp"

#include "protocol/error.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>
#include <set>

namespace crdt {

int64_t backoff_ms(const sync_config& cfg, int failures, double jitter) {
  double base = static_cast<double>(std::max<int64_t>(cfg.timer_ms, 50));
  double cap = static_cast<double>(cfg.backoff_max_ms);
  double exp = base * std::pow(2.0, std::min(failures, 30));
  double delay = std::min(cap, exp) * std::clamp(jitter, 0.5, 1.0);
  return std::max<int64_t>(1, static_cast<int64_t>(delay));
}

namespace {

constexpr auto ask_timeout = std::chrono::seconds(30);

using self_ptr = sync_actor::stateful_pointer<sync_state>;

void round(self_ptr self);

void schedule(self_ptr self, int64_t ms) {
  auto g = ++self->state.generation;
  self->delayed_send(self, std::chrono::milliseconds(ms), tick_atom::value, g);
}

void finish(self_ptr self, const caf::error& err) {
  auto* st = &self->state; // captured by the continuations below
  st->busy = false;
  st->on_reply = nullptr;
  st->hub_trie.reset();
  st->last.enabled = st->cfg.enabled;
  st->last.at = iso8601(wall_clock_ms());
  st->last.ok = !err;
  st->last.error = err ? describe(err) : std::string{};
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

// Sends one body to the hub; `then` runs in this actor with the answer.
void call(self_ptr self, std::string body,
          std::function<void(caf::expected<std::string>)> then) {
  auto* st = &self->state; // captured by the continuations below
  auto id = ++st->call_id;
  st->on_reply = std::move(then);
  sync_actor handle = caf::actor_cast<sync_actor>(self);
  st->transport->post(st->cfg.endpoint, std::move(body),
                      [handle, id](caf::expected<std::string> r) {
                        if (r)
                          caf::anon_send(handle, reply_atom::value, id, true,
                                         std::move(*r));
                        else
                          caf::anon_send(handle, reply_atom::value, id, false,
                                         describe(r.error()));
                      });
}

void sync_once(self_ptr self, std::vector<message> msgs,
               std::optional<int64_t> since, int depth,
               std::vector<std::string> acks, bool drained_full);

// Handles the hub's answer to one sync call.
void on_answer(self_ptr self, caf::expected<std::string> body,
               std::optional<int64_t> since, int depth,
               std::vector<std::string> acks, bool drained_full) {
  if (!body) {
    finish(self, body.error());
    return;
  }
  auto resp = parse_sync_response(*body);
  if (!resp) {
    finish(self, resp.error());
    return;
  }
  auto* st = &self->state; // captured by the continuations below
  st->hub_trie = resp->merkle.clone();
  auto trie = std::make_shared<const merkle_trie>(std::move(resp->merkle));
  auto fail = [=](const caf::error& err) { finish(self, err); };
  // Last step: compare tries and recurse from where they differ. While a
  // long outbox drains, the next batch goes first; the round reconciles
  // after its last batch.
  auto reconcile = [=] {
    if (drained_full && !since) {
      round(self);
      return;
    }
    self->request(st->clock, ask_timeout, diff_atom::value, std::string{}, trie)
        .then(
            [=](int64_t d, const std::string&) {
              if (d < 0) {
                finish(self, caf::none);
                return;
              }
              if (since && d == *since) {
                finish(self, make_error(ec::sync_failure,
                                        "the tries still differ from "
                                            + since_timestamp(d)
                                            + " after syncing from there"));
                return;
              }
              if (depth + 1 >= st->cfg.max_depth) {
                finish(self,
                       make_error(ec::sync_failure,
                                  "reconciliation did not converge within "
                                      + std::to_string(st->cfg.max_depth)
                                      + " calls"));
                return;
              }
              sync_once(self, {}, d, depth + 1, {}, drained_full);
            },
            fail);
  };
  // The hub stored what we sent: only now do those entries leave the queue.
  auto ack = [=] {
    if (acks.empty()) {
      reconcile();
      return;
    }
    self->request(st->queue, ask_timeout, ack_atom::value, acks)
        .then([=](uint64_t) { reconcile(); }, fail);
  };
  if (resp->messages.empty()) {
    ack();
    return;
  }
  auto problem = check_batch(resp->messages, true, {}, wall_clock_ms(),
                             std::numeric_limits<int64_t>::max());
  if (!problem.empty()) {
    finish(self, make_error(ec::sync_failure, "hub sent " + problem));
    return;
  }
  self->request(st->applier, ask_timeout, apply_atom::value, std::string{},
                std::move(resp->messages))
      .then([=](size_t) { ack(); }, fail);
}

void sync_once(self_ptr self, std::vector<message> msgs,
               std::optional<int64_t> since, int depth,
               std::vector<std::string> acks, bool drained_full) {
  auto* st = &self->state; // captured by the continuations below
  auto fail = [=](const caf::error& err) { finish(self, err); };
  if (!since && st->hub_trie) {
    // Draining a long outbox: with our full trie, the hub would answer every
    // call with everything since our oldest unsent message, again and again.
    // Instead claim what the hub had after the previous call plus this
    // batch: the hub then answers only what arrived from others since. The
    // round ends with a call carrying our real trie, which reconciles
    // whatever this shortcut skipped.
    auto trie = st->hub_trie->clone();
    for (const auto& m : msgs)
      if (auto ts = parse_timestamp(m.timestamp))
        trie.insert(m.timestamp, ts->millis);
    auto body = write_sync_request(st->cfg.group, st->cfg.node_id, msgs,
                                   trie.to_json());
    call(self, std::move(body), [=](caf::expected<std::string> r) {
      on_answer(self, std::move(r), since, depth, acks, drained_full);
    });
    return;
  }
  auto send = [=](std::vector<message> all) {
    self->request(st->clock, ask_timeout, merkle_atom::value)
        .then(
            [=](const std::string& merkle) {
              auto body = write_sync_request(st->cfg.group, st->cfg.node_id,
                                             all, merkle);
              call(self, std::move(body), [=](caf::expected<std::string> r) {
                on_answer(self, std::move(r), since, depth, acks, drained_full);
              });
            },
            fail);
  };
  if (!since) {
    send(std::move(msgs));
    return;
  }
  // Resend what we have from `since` on: the hub lacks some of it. About a
  // batch at a time, ending on a minute, so a body stays under the hub's
  // limit; the hub then agrees up to that minute, the next difference lies
  // later, and the recursion carries on from there.
  self->request(st->reader, ask_timeout, since_atom::value, std::string{},
                since_timestamp(*since), std::string{}, st->cfg.batch)
      .then(
          [=](std::vector<message>& more) {
            std::set<std::string> seen;
            std::vector<message> all = msgs;
            for (const auto& m : all)
              seen.insert(m.timestamp);
            for (auto& m : more)
              if (seen.insert(m.timestamp).second)
                all.push_back(std::move(m));
            send(std::move(all));
          },
          fail);
}

void round(self_ptr self) {
  auto* st = &self->state; // captured by the continuations below
  st->busy = true;
  self->request(st->queue, ask_timeout, outbox_atom::value, st->cfg.batch)
      .then(
          [=](std::vector<message>& msgs) {
            std::vector<std::string> acks;
            acks.reserve(msgs.size());
            for (const auto& m : msgs)
              acks.push_back(m.timestamp);
            bool full = msgs.size() >= self->state.cfg.batch;
            sync_once(self, std::move(msgs), std::nullopt, 0, std::move(acks),
                      full);
          },
          [=](const caf::error& err) { finish(self, err); });
}

} // namespace

sync_actor::behavior_type sync(sync_actor::stateful_pointer<sync_state> self,
                               sync_state init) {
  self->state = std::move(init);
  self->state.last.enabled = self->state.cfg.enabled;
  // No timer yet: the first round starts with the first sync_atom, which
  // the node sends once start-up is complete (see node::start_sync).
  return {
      [=](tick_atom, uint64_t generation) {
        auto* st = &self->state; // captured by the continuations below
        if (generation != st->generation || st->busy)
          return;
        if (!st->cfg.enabled || st->cfg.endpoint.empty()) {
          schedule(self, st->cfg.timer_ms);
          return;
        }
        round(self);
      },
      [=](sync_atom) {
        auto* st = &self->state; // captured by the continuations below
        if (!st->busy && st->cfg.enabled && !st->cfg.endpoint.empty())
          round(self);
      },
      [=](reply_atom, uint64_t id, bool ok, std::string& text) {
        auto* st = &self->state; // captured by the continuations below
        if (id != st->call_id || !st->on_reply)
          return; // an answer to a call we gave up on
        auto then = std::move(st->on_reply);
        st->on_reply = nullptr;
        if (ok)
          then(std::move(text));
        else
          then(make_error(ec::sync_failure, text));
      },
      [=](config_atom, const std::string& key, const std::string& value) {
        auto* st = &self->state; // captured by the continuations below
        if (!apply_sync_setting(st->cfg, key, value))
          return;
        st->last.enabled = st->cfg.enabled;
        // Re-arm: a new period or a re-enabled sync starts from now.
        if (!st->busy)
          schedule(self, std::min<int64_t>(st->cfg.timer_ms, 100));
      },
      [=](status_atom) { return self->state.last; },
  };
}

} // namespace crdt
