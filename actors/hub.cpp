#include "actors/hub.hpp"

#include "protocol/error.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace crdt {

namespace {

constexpr auto hub_timeout = std::chrono::seconds(30);

// An answer carries about this many messages at most (whole minutes); a
// client far behind gets the rest by asking again from where its trie
// still differs. Bounds the memory and time of one /sync call.
constexpr uint32_t max_answer_messages = 20000;

} // namespace

hub_actor::behavior_type hub(hub_actor::stateful_pointer<hub_state> self,
                             hub_state init) {
  self->state = std::move(init);
  return {
      [=](sync_atom, const std::string& body) -> caf::result<std::string> {
        auto req = parse_sync_request(body);
        if (!req)
          return make_error(ec::bad_request, describe(req.error()));
        auto* st = &self->state; // captured by the continuations below
        bool own = req->group_id == st->group;
        auto problem = check_batch(req->messages, own, st->schemas,
                                   wall_clock_ms(), st->max_drift);
        if (!problem.empty())
          return make_error(ec::bad_request, problem);
        auto rp = self->make_response_promise<std::string>();
        auto group = own ? std::string{} : req->group_id;
        auto client = req->client_id;
        auto trie = std::make_shared<const merkle_trie>(std::move(req->merkle));
        // Whatever fails once the batch passed its checks is the hub's own
        // failure, not the caller's.
        auto fail = [=](caf::error& err) mutable {
          rp.deliver(make_error(ec::storage_failure, describe(err)));
        };
        // Once stored: diff, then the messages the client lacks.
        auto answer = [=]() mutable {
          self->request(st->clock, hub_timeout, diff_atom::value, group, trie)
              .then(
                  [=](int64_t since, std::string& json) mutable {
                    if (since < 0) {
                      rp.deliver(write_sync_response({}, json));
                      return;
                    }
                    auto& reader
                        = st->readers[st->next_reader++ % st->readers.size()];
                    self->request(reader, hub_timeout, since_atom::value, group,
                                  since_timestamp(since), client,
                                  max_answer_messages)
                        .then(
                            [=](std::vector<message>& msgs) mutable {
                              rp.deliver(write_sync_response(msgs, json));
                            },
                            fail);
                  },
                  fail);
        };
        if (req->messages.empty())
          answer();
        else
          self->request(st->applier, hub_timeout, apply_atom::value, group,
                        std::move(req->messages))
              .then([=](size_t) mutable { answer(); }, fail);
        return rp;
      },
  };
}

} // namespace crdt
