// A round of the bounded exchange (protocol/exchange.hpp):
//
// 1. push the outbox and pull the hub's stream after the cursor, a page per
//    call, until neither has more;
// 2. verify: with nothing left to push, the hub's root (taken with its
//    stream head) must equal this node's;
// 3. repair, when they differ: compare the tries a level per call, and
//    exchange the subtrees that differ in pages, both ways.
//
// Every call carries at most SYNC_PAGE_BYTES of messages each way and at
// most a few hundred compared nodes or ranges, so a round costs what
// differs, not what the group holds. The first call also serves as a probe:
// a hub that answers in the crdt-example-app format is used in that format
// from then on (sync_legacy.cpp).

#include "actors/sync_rounds.hpp"
#include "observe/metrics.hpp"

#include "protocol/error.hpp"
#include "protocol/exchange.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"

#include <caf/all.hpp>

#include <iostream>

namespace crdt::detail {

namespace {

// Calls one round makes at most; the next round carries on.
constexpr uint64_t max_round_calls = 4000;

// Calls a round makes in a row only to push what was written during it.
constexpr uint32_t max_chase_calls = 4;

// Log entries past the outbox's mark that verify() reads at most to take
// the unsent messages out of the root.
constexpr uint64_t max_unsent_entries = 50000;

// Trie nodes compared, and ranges asked for, per call.
constexpr size_t compare_per_call = 256;
constexpr size_t ranges_per_call = 256;

// How often a long catch-up logs its progress.
constexpr auto progress_every = std::chrono::seconds(2);

// What a repair has left to do.
struct repair_work {
  /// Trie nodes to compare, with this node's hashes.
  node_hashes frontier;
  /// Ranges whose messages this node still has to push.
  std::vector<ts_range> mine;
  /// Ranges whose messages the hub still has to send.
  std::vector<ts_range> theirs;

  bool done() const {
    return frontier.empty() && mine.empty() && theirs.empty();
  }
};

void step(sync_self self);
void verify(sync_self self, uint32_t hub_root);
void repair(sync_self self, repair_work work);

auto failing(sync_self self) {
  return [=](const caf::error& err) { finish(self, err); };
}

// Moves the first `n` elements of `from` out into the result.
template <class T>
std::vector<T> take_front(std::vector<T>& from, size_t n) {
  n = std::min(n, from.size());
  std::vector<T> out(std::make_move_iterator(from.begin()),
                     std::make_move_iterator(from.begin() + n));
  from.erase(from.begin(), from.begin() + n);
  return out;
}

// Stores received messages (and, when not empty, the stream cursor in the
// same transaction), then runs `then`.
template <class F>
void store(sync_self self, std::vector<message> msgs, std::string cursor,
           F then) {
  auto* st = &self->state;
  if (msgs.empty() && cursor.empty()) {
    then();
    return;
  }
  if (!accept_from_hub(self, msgs))
    return;
  st->round.messages_received += msgs.size();
  metrics::process().sync_messages_received.add(msgs.size());
  self->request(st->applier, sync_ask_timeout, apply_atom::value,
                incoming{{}, std::move(msgs), false, std::move(cursor), {}})
      .then([=](size_t) mutable { then(); }, failing(self));
}

// Parses an answer in the bounded exchange; a crdt-example-app answer
// switches the hub to that format and hands the answer over to it.
std::optional<exchange_answer> read_answer(sync_self self,
                                           caf::expected<std::string> body,
                                           outbox_ack acks) {
  auto* st = &self->state;
  if (!body) {
    // A first call with the whole trie that the hub refuses (too large for
    // it, say) must not fail every round: the next one probes as usual. A
    // hub not reached (a node starting before its network) says nothing.
    if (st->protocol == hub_protocol::unknown
        && is(body.error(), ec::bad_request))
      st->legacy_hint = false;
    finish(self, body.error());
    return std::nullopt;
  }
  auto parsed = parse_sync_answer(*body);
  if (!parsed) {
    finish(self, parsed.error());
    return std::nullopt;
  }
  if (std::holds_alternative<sync_response>(*parsed)) {
    if (st->protocol == hub_protocol::exchange) {
      // Another hub than the one this node learned the format of (the
      // endpoint changed during a round, or a balancer has a backend of
      // the other format): this round fails, the next one probes again.
      st->protocol = hub_protocol::unknown;
      finish(self, make_error(ec::sync_failure,
                              "the hub answered in the crdt-example-app "
                              "format in the middle of an exchange; probing "
                              "its format again next round"));
      return std::nullopt;
    }
    std::cerr << "crdt-store: the hub at " << st->cfg.endpoint
              << " speaks only the crdt-example-app format: syncing with "
                 "whole tries"
              << std::endl;
    st->protocol = hub_protocol::legacy;
    // Remembered across restarts, so that the next start's first call
    // carries the whole trie.
    st->legacy_hint = true;
    self->request(st->applier, sync_ask_timeout, apply_atom::value,
                  incoming{{}, {}, false, st->cfg.endpoint,
                           sync_legacy_hub_key})
        .then(
            [=, answer = std::move(*body)](size_t) mutable {
              legacy_answer(self, std::move(answer), acks, false);
            },
            failing(self));
    return std::nullopt;
  }
  st->protocol = hub_protocol::exchange;
  if (st->legacy_hint) {
    // The hub has learned the bounded exchange: no whole trie next start.
    // (Should this fail, the next start sends the trie once more.)
    st->legacy_hint = false;
    self->request(st->applier, sync_ask_timeout, apply_atom::value,
                  incoming{{}, {}, false, "none", sync_legacy_hub_key})
        .then([](size_t) {}, [](const caf::error&) {});
  }
  return std::get<exchange_answer>(std::move(*parsed));
}

void log_progress(sync_self self, const exchange_answer& ans) {
  auto* st = &self->state;
  auto now = std::chrono::steady_clock::now();
  if (now - st->progress_logged < progress_every)
    return;
  st->progress_logged = now;
  std::cout << "crdt-store: sync: catching up with hub " << ans.hub << ": "
            << st->round.messages_received
            << " messages received this round, about "
            << (ans.head > ans.next ? ans.head - ans.next : 0) << " to go"
            << std::endl;
}

// Passes `then` the JSON of this node's whole trie when the first call goes
// to a hub that answered in the crdt-example-app format before, else "".
template <class F>
void probe_trie(sync_self self, F then) {
  auto* st = &self->state;
  if (st->protocol != hub_protocol::unknown || !st->legacy_hint) {
    then(std::string{});
    return;
  }
  self->request(st->clock, sync_ask_timeout, merkle_atom::value)
      .then([=](std::string& trie) mutable { then(std::move(trie)); },
            failing(self));
}

// The answer to a call of phase 1: stores the page and the cursor, then
// lets the pushed entries leave the outbox, and calls again or verifies.
void on_step_answer(sync_self self, outbox_ack acks, bool outbox_more,
                    caf::expected<std::string> body) {
  auto* st = &self->state;
  auto ans = read_answer(self, std::move(body), acks);
  if (!ans)
    return;
  stream_cursor next{ans->hub, ans->next};
  bool moved = next.hub != st->cursor.hub || next.seq != st->cursor.seq;
  auto more = ans->more;
  auto root = ans->root;
  if (more)
    log_progress(self, *ans);
  auto stored = [=] {
    st->cursor = next;
    // Only now, with the hub's answer, do the pushed entries leave the
    // outbox.
    self->request(st->queue, sync_ask_timeout, ack_atom::value, acks)
        .then(
            [=](uint64_t) {
              self->request(st->queue, sync_ask_timeout, status_atom::value)
                  .then(
                      [=](uint64_t pending) {
                        if (more || outbox_more) {
                          st->chased = 0;
                          step(self);
                        } else if (pending > 0 && !acks.empty()
                                   && st->chased < max_chase_calls) {
                          // Written during the call: up with them, a few
                          // calls at most (a node writing faster than its
                          // calls would never get to the check).
                          ++st->chased;
                          step(self);
                        } else {
                          verify(self, root);
                        }
                      },
                      failing(self));
            },
            failing(self));
  };
  store(self, std::move(ans->messages),
        moved ? to_string(next) : std::string{}, stored);
}

// One call of phase 1: a page of the outbox up, a page of the stream down.
void step(sync_self self) {
  auto* st = &self->state;
  if (st->round.calls >= max_round_calls) {
    finish(self, caf::none);
    return;
  }
  self->request(st->queue, sync_ask_timeout, outbox_atom::value, st->cfg.batch,
                uint64_t{st->cfg.page_bytes})
      .then(
          [=](outbox_page& page) {
            outbox_ack acks{page.through, page.messages.size()};
            bool outbox_more = page.more;
            exchange_request req;
            req.group_id = st->cfg.group;
            req.client_id = st->cfg.node_id;
            req.messages = std::move(page.messages);
            req.after = st->cursor.seq;
            req.hub = st->cursor.hub;
            req.page = st->cfg.page_bytes;
            self->request(st->clock, sync_ask_timeout, head_atom::value,
                          std::string{})
                .then(
                    [=](const stream_head& mine) mutable {
                      probe_trie(self, [=](std::string trie) mutable {
                        call(self,
                             write_exchange_request(req, mine.root, trie),
                             [=](caf::expected<std::string> body) {
                               on_step_answer(self, acks, outbox_more,
                                              std::move(body));
                             });
                      });
                    },
                    failing(self));
          },
          failing(self));
}

// Phase 2: the hub's root, taken with its head, against this node's. Local
// writes made during the round are in this node's root but not yet in the
// hub's: their hashes are taken out first, so that a node that never stops
// writing still finds out when the tries differ for another reason (and a
// hub that syncs upstream, whose members' messages go up only by repair,
// still sends them).
void verify(sync_self self, uint32_t hub_root) {
  auto* st = &self->state;
  self->request(st->clock, sync_ask_timeout, head_atom::value, std::string{})
      .then(
          [=](const stream_head& mine) {
            if (mine.root == hub_root) {
              finish(self, caf::none);
              return;
            }
            self->request(st->queue, sync_ask_timeout, unsent_atom::value,
                          mine.head, max_unsent_entries)
                .then(
                    [=](uint32_t unsent) {
                      if ((mine.root ^ unsent) == hub_root) {
                        finish(self, caf::none);
                        return;
                      }
                      repair_work work;
                      work.frontier.emplace_back(std::string{}, mine.root);
                      repair(self, std::move(work));
                    },
                    [=](const caf::error& err) {
                      // Too much written since the last push to tell: those
                      // go up next round, which looks again.
                      finish(self, is(err, ec::overloaded) ? caf::error{}
                                                           : err);
                    });
          },
          failing(self));
}

// Phase 3, one call: compare some nodes, push a page of this node's
// messages of the differing ranges, pull a page of the hub's.
void repair(sync_self self, repair_work work) {
  auto* st = &self->state;
  if (work.done() || st->round.calls >= max_round_calls) {
    finish(self, caf::none);
    return;
  }
  auto send = [=](std::vector<message> push, std::vector<ts_range> mine_left,
                  repair_work work) mutable {
    exchange_request req;
    req.group_id = st->cfg.group;
    req.client_id = st->cfg.node_id;
    req.messages = std::move(push);
    req.page = st->cfg.page_bytes;
    req.compare = take_front(work.frontier, compare_per_call);
    req.ranges = take_front(work.theirs, ranges_per_call);
    work.mine = std::move(mine_left);
    bool compared = !req.compare.empty();
    auto body = write_exchange_request(req, 0);
    call(self, std::move(body), [=](caf::expected<std::string> r) mutable {
      auto ans = read_answer(self, std::move(r), {});
      if (!ans)
        return;
      // The hub's unfinished ranges come first: they were asked first.
      ans->ranges.insert(ans->ranges.end(), work.theirs.begin(),
                         work.theirs.end());
      work.theirs = std::move(ans->ranges);
      auto children = std::move(ans->children);
      store(self, std::move(ans->messages), {}, [=]() mutable {
        if (!compared) {
          repair(self, std::move(work));
          return;
        }
        self->request(st->clock, sync_ask_timeout, descend_atom::value,
                      children)
            .then(
                [=](descent& d) mutable {
                  work.frontier.insert(work.frontier.end(), d.next.begin(),
                                       d.next.end());
                  work.mine.insert(work.mine.end(), d.ranges.begin(),
                                   d.ranges.end());
                  work.theirs.insert(work.theirs.end(), d.ranges.begin(),
                                     d.ranges.end());
                  repair(self, std::move(work));
                },
                failing(self));
      });
    });
  };
  if (work.mine.empty()) {
    send({}, {}, std::move(work));
    return;
  }
  read_store::page_query q;
  q.ranges = work.mine;
  q.max_bytes = st->cfg.page_bytes;
  self->request(st->reader, sync_ask_timeout, page_atom::value, q)
      .then(
          [=](read_store::page& p) mutable {
            send(std::move(p.messages), std::move(p.ranges), std::move(work));
          },
          failing(self));
}

} // namespace

void exchange_round(sync_self self) {
  step(self);
}

} // namespace crdt::detail
