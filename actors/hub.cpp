#include "actors/hub.hpp"

#include "observe/metrics.hpp"
#include "protocol/error.hpp"
#include "protocol/exchange.hpp"
#include "protocol/murmur3.hpp"
#include "storage/hub_store.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace crdt {

namespace {

constexpr auto hub_timeout = std::chrono::seconds(30);

// A crdt-example-app answer carries about this many messages at most
// (whole minutes); a client far behind gets the rest by asking again from
// where its trie still differs.
constexpr uint32_t max_answer_messages = 20000;

using self_ptr = hub_actor::stateful_pointer<hub_state>;
using promise = caf::typed_response_promise<std::string>;

// Whatever fails once a batch passed its checks is the hub's own failure.
auto failing(promise rp) {
  return [=](caf::error& err) mutable {
    rp.deliver(make_error(ec::storage_failure, describe(err)));
  };
}

// Stores a checked batch of `group` ("" = own), then runs `then`.
template <class F>
void store(self_ptr self, const std::string& group, std::vector<message> msgs,
           promise rp, F then) {
  if (msgs.empty()) {
    then();
    return;
  }
  self->request(self->state.applier, hub_timeout, apply_atom::value,
                incoming{group, std::move(msgs), false, {}, {}})
      .then([=](size_t) mutable { then(); }, failing(rp));
}

const reader_actor& next_reader(self_ptr self) {
  auto& st = self->state;
  return st.readers[st.next_reader++ % st.readers.size()];
}

// The crdt-example-app exchange: the client's whole trie, and the group's
// messages from the first minute where the tries differ.
void serve_legacy(self_ptr self, sync_request req, const std::string& group,
                  promise rp) {
  auto trie = std::make_shared<const merkle_trie>(std::move(req.merkle));
  auto client = req.client_id;
  store(self, group, std::move(req.messages), rp, [=]() mutable {
    self->request(self->state.clock, hub_timeout, diff_atom::value, group, trie)
        .then(
            [=](int64_t since, std::string& json) mutable {
              if (since < 0) {
                rp.deliver(write_sync_response({}, json));
                return;
              }
              self->request(next_reader(self), hub_timeout, since_atom::value,
                            group, since_timestamp(since), client,
                            max_answer_messages)
                  .then(
                      [=](std::vector<message>& msgs) mutable {
                        metrics::process().hub_messages_sent.add(msgs.size());
                        rp.deliver(write_sync_response(msgs, json));
                      },
                      failing(rp));
            },
            failing(rp));
  });
}

// The bounded exchange: store the pushed messages, then answer the root and
// head, the children of compared nodes that differ, and a page of the
// requested ranges and the stream, all within the page size.
void serve_exchange(self_ptr self, exchange_request req,
                    const std::string& group, promise rp) {
  auto* st = &self->state; // captured by the continuations below
  read_store::page_query q;
  q.group = group;
  q.exclude = req.client_id;
  q.ranges = std::move(req.ranges);
  // A cursor of another hub means nothing here: the stream starts over.
  if (req.after)
    q.after = req.hub == st->node_id ? *req.after : 0;
  q.max_bytes = req.page > 0 ? std::min<size_t>(req.page, st->page_bytes)
                             : st->page_bytes;
  auto compare = std::make_shared<node_hashes>(std::move(req.compare));
  store(self, group, std::move(req.messages), rp, [=]() mutable {
    self->request(st->clock, hub_timeout, head_atom::value, group)
        .then(
            [=](const stream_head& sh) mutable {
              auto ans = std::make_shared<exchange_answer>();
              ans->hub = st->node_id;
              ans->root = sh.root;
              ans->head = sh.head;
              auto read = [=]() mutable {
                q.head = sh.head;
                // A cursor past the head was not handed out by this log as
                // it is now (its database was restored from a backup):
                // numbers at or below it are given out again, so the stream
                // starts over rather than skip them.
                if (q.after && *q.after > sh.head)
                  q.after = 0;
                self->request(next_reader(self), hub_timeout, page_atom::value,
                              q)
                    .then(
                        [=](read_store::page& p) mutable {
                          ans->messages = std::move(p.messages);
                          ans->ranges = std::move(p.ranges);
                          ans->next = p.next;
                          ans->more = p.more;
                          metrics::process().hub_messages_sent.add(
                              ans->messages.size());
                          rp.deliver(write_exchange_answer(*ans));
                        },
                        failing(rp));
              };
              if (compare->empty()) {
                read();
                return;
              }
              self->request(st->clock, hub_timeout, compare_atom::value, group,
                            *compare)
                  .then(
                      [=](std::vector<node_children>& cs) mutable {
                        ans->children = std::move(cs);
                        read();
                      },
                      failing(rp));
            },
            failing(rp));
  });
}

// A relayed group's call, served from PostgreSQL by a relay of the pool of
// the group's database. Its errors pass through: 503 while the database
// cannot be reached, 400 for data it refuses.
//
// A call that stores messages goes to the relay its group hashes to: writes
// to one group wait for each other anyway (its row lock), and this way they
// wait in one relay's mailbox instead of holding several connections of the
// pool in lock waits. Calls that only read take the relays in turn.
template <class... Ts>
void serve_relayed(self_ptr self, const std::string& group, bool writes,
                   promise rp, Ts&&... xs) {
  auto& st = self->state;
  auto& pool = st.relays[hub_placement(group, st.relays.size())];
  // Another seed than the placement's, so that a database's groups spread
  // over all its relays.
  auto i = writes ? murmur3_32(group, 0x5bd1e995u) : st.next_relay++;
  auto& relay = pool[i % pool.size()];
  // A call still waiting in the relay's mailbox when this request times
  // out is dropped there unrun.
  auto deadline = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      (std::chrono::steady_clock::now() + hub_timeout)
                          .time_since_epoch())
                      .count();
  self->request(relay, hub_timeout, relay_atom::value,
                static_cast<int64_t>(deadline), group, std::forward<Ts>(xs)...)
      .then([=](std::string& body) mutable { rp.deliver(std::move(body)); },
            [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

} // namespace

hub_actor::behavior_type hub(hub_actor::stateful_pointer<hub_state> self,
                             hub_state init) {
  self->state = std::move(init);
  return {
      [=](sync_atom, const std::string& body) -> caf::result<std::string> {
        auto call = parse_sync_call(body);
        if (!call)
          return make_error(ec::bad_request, describe(call.error()));
        auto& st = self->state;
        const auto& group_id = std::visit(
            [](const auto& r) -> const std::string& { return r.group_id; },
            *call);
        const auto& msgs = std::visit(
            [](const auto& r) -> const std::vector<message>& {
              return r.messages;
            },
            *call);
        bool own = group_id == st.group;
        auto problem
            = check_batch(msgs, own, *st.catalog->tables(), wall_clock_ms(),
                          st.max_drift);
        if (!problem.empty())
          return make_error(ec::bad_request, problem);
        auto group = own ? std::string{} : group_id;
        auto rp = self->make_response_promise<std::string>();
        auto* ex = std::get_if<exchange_request>(&*call);
        metrics::process().hub_request(ex ? "exchange" : "legacy", group_id,
                                       msgs.size());
        if (!group.empty() && !st.relays.empty()) {
          if (ex) {
            bool writes = !ex->messages.empty();
            serve_relayed(self, group, writes, rp, std::move(*ex),
                          static_cast<uint64_t>(st.page_bytes));
          } else {
            auto& req = std::get<sync_request>(*call);
            auto trie = std::make_shared<const merkle_trie>(
                std::move(req.merkle));
            bool writes = !req.messages.empty();
            serve_relayed(self, group, writes, rp, std::move(req.client_id),
                          std::move(req.messages), trie_ptr{trie},
                          max_answer_messages);
          }
        } else if (ex)
          serve_exchange(self, std::move(*ex), group, rp);
        else
          serve_legacy(self, std::move(std::get<sync_request>(*call)), group,
                       rp);
        return rp;
      },
  };
}

} // namespace crdt
