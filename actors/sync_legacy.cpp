// A round with a hub that speaks only the crdt-example-app format: the
// node's whole trie goes with every call, and the hub answers the group's
// messages from the first minute where the tries differ. Outbox batches
// are capped in bytes like the bounded exchange's; a resend from a minute
// completes that minute, which that format needs to make progress.

#include "actors/sync_rounds.hpp"
#include "observe/metrics.hpp"

#include "protocol/error.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"

#include <caf/all.hpp>

#include <set>

namespace crdt::detail {

namespace {

void sync_once(sync_self self, std::vector<message> msgs,
               std::optional<int64_t> since, int depth,
               outbox_ack acks, bool drained_full);

// Handles the hub's answer to one sync call.
void on_answer(sync_self self, caf::expected<std::string> body,
               std::optional<int64_t> since, int depth,
               outbox_ack acks, bool drained_full) {
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
      legacy_round(self);
      return;
    }
    self->request(st->clock, sync_ask_timeout, diff_atom::value, std::string{},
                  trie)
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
    self->request(st->queue, sync_ask_timeout, ack_atom::value, acks)
        .then([=](uint64_t) { reconcile(); }, fail);
  };
  if (resp->messages.empty()) {
    ack();
    return;
  }
  if (!accept_from_hub(self, resp->messages))
    return;
  st->round.messages_received += resp->messages.size();
  metrics::process().sync_messages_received.add(resp->messages.size());
  self->request(st->applier, sync_ask_timeout, apply_atom::value,
                incoming{{}, std::move(resp->messages), false, {}, {}})
      .then([=](size_t) { ack(); }, fail);
}

void sync_once(sync_self self, std::vector<message> msgs,
               std::optional<int64_t> since, int depth,
               outbox_ack acks, bool drained_full) {
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
    self->request(st->clock, sync_ask_timeout, merkle_atom::value)
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
  self->request(st->reader, sync_ask_timeout, since_atom::value, std::string{},
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

} // namespace

void legacy_round(sync_self self) {
  auto* st = &self->state; // captured by the continuations below
  self->request(st->queue, sync_ask_timeout, outbox_atom::value, st->cfg.batch,
                uint64_t{st->cfg.page_bytes})
      .then(
          [=](outbox_page& page) {
            outbox_ack acks{page.through, page.messages.size()};
            sync_once(self, std::move(page.messages), std::nullopt, 0, acks,
                      page.more);
          },
          [=](const caf::error& err) { finish(self, err); });
}

void legacy_answer(sync_self self, std::string answer,
                   outbox_ack acks, bool drained_full) {
  on_answer(self, std::move(answer), std::nullopt, 0, std::move(acks),
            drained_full);
}

} // namespace crdt::detail
