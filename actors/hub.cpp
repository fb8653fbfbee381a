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

http_reply refuse(unsigned status, const std::string& reason) {
  return {status, write_sync_error(reason), {}};
}

} // namespace

std::string check_batch(const std::vector<message>& messages, bool own_group,
                        const schema_set& schemas, int64_t now,
                        int64_t max_drift) {
  for (const auto& m : messages) {
    auto ts = parse_timestamp(m.timestamp);
    if (!ts)
      return "bad timestamp " + m.timestamp;
    if (ts->millis - now > max_drift)
      return "timestamp " + m.timestamp + " is too far in the future";
    if (m.dataset.empty() || m.row.empty() || m.column.empty())
      return "message " + m.timestamp + " lacks dataset, row or column";
    if (!own_group)
      continue;
    auto t = schemas.find(m.dataset);
    if (t == schemas.end())
      continue; // kept in the log, applied if the schema gains the table
    if (m.column == "id")
      return "message " + m.timestamp + " sets the id column";
    if (const auto* f = t->second->find(m.column)) {
      if (!value_fits(*f, m.val))
        return "message " + m.timestamp + ": value does not fit "
               + m.dataset + "." + m.column + " (" + to_string(f->type) + ")";
    } else if (m.column == "tombstone") {
      const auto* i = std::get_if<int64_t>(&m.val);
      if (!i || (*i != 0 && *i != 1))
        return "message " + m.timestamp + ": tombstone must be 0 or 1";
    } else if (is_system_field(m.column)) {
      if (!std::holds_alternative<std::string>(m.val)
          && !std::holds_alternative<std::monostate>(m.val))
        return "message " + m.timestamp + ": " + m.column
               + " must be a string or null";
    }
  }
  return {};
}

hub_actor::behavior_type hub(hub_actor::stateful_pointer<hub_state> self,
                             hub_state init) {
  self->state = std::move(init);
  return {
    [=](sync_atom, const std::string& body) -> caf::result<http_reply> {
      auto req = parse_sync_request(body);
      if (!req)
        return refuse(400, describe(req.error()));
      auto* st = &self->state; // captured by the continuations below
      bool own = req->group_id == st->group;
      auto problem = check_batch(req->messages, own, st->schemas,
                                 wall_clock_ms(), st->max_drift);
      if (!problem.empty())
        return refuse(400, problem);
      auto rp = self->make_response_promise<http_reply>();
      auto group = own ? std::string{} : req->group_id;
      auto client = req->client_id;
      auto trie = std::make_shared<const merkle_trie>(std::move(req->merkle));
      auto fail = [=](const caf::error& err) mutable {
        rp.deliver(refuse(500, describe(err)));
      };
      // Once stored: diff, then the messages the client lacks.
      auto answer = [=]() mutable {
        self->request(st->clock, hub_timeout, diff_atom::value, group, trie)
          .then(
            [=](int64_t since, std::string& json) mutable {
              if (since < 0) {
                rp.deliver(http_reply{200, write_sync_response({}, json), {}});
                return;
              }
              auto& reader = st->readers[st->next_reader++ % st->readers.size()];
              self->request(reader, hub_timeout, since_atom::value, group,
                            since_timestamp(since), client,
                            max_answer_messages)
                .then(
                  [=](std::vector<message>& msgs) mutable {
                    rp.deliver(
                      http_reply{200, write_sync_response(msgs, json), {}});
                  },
                  fail);
            },
            fail);
      };
      if (req->messages.empty()) {
        answer();
      } else if (own) {
        self->request(st->applier, hub_timeout, apply_atom::value,
                      std::move(req->messages))
          .then([=](size_t) mutable { answer(); }, fail);
      } else {
        write_batch batch;
        batch.group = req->group_id;
        batch.messages = std::move(req->messages);
        ++*st->load;
        self->request(st->writer, hub_timeout, write_atom::value,
                      std::move(batch))
          .then([=](const commit_ack&) mutable { answer(); }, fail);
      }
      return rp;
    },
  };
}

} // namespace crdt
