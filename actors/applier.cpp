#include "actors/applier.hpp"

#include "protocol/error.hpp"

#include <caf/all.hpp>

namespace crdt {

namespace {

using self_ptr = applier_actor::stateful_pointer<applier_state>;

// The writer's conditions for a batch of changes: one per change that has
// a precondition.
std::vector<write_check> checks_of(const std::vector<record_change>& changes) {
  std::vector<write_check> out;
  for (const auto& c : changes)
    if (c.must_be != precondition::none)
      out.push_back({c.table, c.id, c.who.organization_id, c.must_be});
  return out;
}

// Hands a batch, counted in flight since it was accepted, to the writer
// and passes `done` the answer: `on_ack(ack)` or the error.
template <class F, class Done>
void commit(self_ptr self, write_batch batch, F on_ack, Done done) {
  auto& st = self->state;
  self->request(st.writer, applier_timeout, write_atom::value, std::move(batch))
      .then(
          [=](const commit_ack& ack) mutable {
            --self->state.in_flight;
            done(on_ack(ack));
          },
          [=](caf::error& err) mutable {
            --self->state.in_flight;
            done(std::move(err));
          });
}

// The clock could not stamp or merge: the batch never reaches the writer.
template <class Done>
auto give_up(self_ptr self, Done done) {
  return [=](caf::error& err) mutable {
    --self->state.in_flight;
    done(std::move(err));
  };
}

// Checks the waiting local writes' deadlines in a second, unless a check
// is already scheduled.
void check_deadlines_later(self_ptr self) {
  auto& st = self->state;
  if (st.ticking || st.waiting.empty())
    return;
  st.ticking = true;
  self->delayed_send(self, deadline_check_interval, tick_atom::value);
}

// Answers local write `id` with `x` (its first timestamp or an error),
// unless its deadline has already answered it.
template <class T>
void answer_local(self_ptr self, uint64_t id, T&& x) {
  auto& waiting = self->state.waiting;
  auto it = waiting.find(id);
  if (it == waiting.end())
    return;
  auto rp = std::move(it->second.rp);
  waiting.erase(it);
  rp.deliver(std::forward<T>(x));
}

// A local write: stamps `n` messages with one clock request, lets `fill`
// build the batch from the stamps, commits it to the outbox, tells the
// queue, and answers the first timestamp (or ec::timeout at its deadline).
template <class Fill>
caf::result<std::string> stamp_and_commit(self_ptr self, uint32_t n,
                                          Fill fill) {
  auto& st = self->state;
  // Local writes are refused beyond the bound; received batches (sync
  // answers, /sync calls) are counted but never refused, since their
  // sender has already paid for them and retries them anyway.
  if (st.in_flight >= st.max_in_flight)
    return make_error(ec::overloaded, "Overloaded, retry later");
  ++st.in_flight;
  auto rp = self->make_response_promise<std::string>();
  auto id = st.next_write++;
  st.waiting.emplace(id, waiting_write{self->clock().now() + st.deadline, rp});
  check_deadlines_later(self);
  auto done = [self, id](auto&& x) {
    answer_local(self, id, std::forward<decltype(x)>(x));
  };
  self->request(st.clock, applier_timeout, stamp_atom::value, n)
      .then(
          [=, fill = std::move(fill)](
              std::vector<std::string>& stamps) mutable {
            write_batch batch = fill(stamps);
            batch.enqueue = true;
            batch.clock = stamps.back();
            auto first = stamps.front();
            commit(
                self, std::move(batch),
                [=](const commit_ack& ack) {
                  if (ack.enqueued > 0)
                    self->send(self->state.queue, enqueue_atom::value,
                               uint64_t{ack.enqueued});
                  return first;
                },
                done);
          },
          give_up(self, done));
  return rp;
}

} // namespace

applier_state::~applier_state() {
  for (auto& [id, w] : waiting)
    w.rp.deliver(make_error(ec::timeout, "the writing side stopped"));
}

applier_actor::behavior_type
applier(applier_actor::stateful_pointer<applier_state> self, clock_actor clock,
        writer_actor writer, queue_actor queue, size_t max_in_flight,
        caf::timespan deadline) {
  self->state.clock = std::move(clock);
  self->state.writer = std::move(writer);
  self->state.queue = std::move(queue);
  self->state.max_in_flight = max_in_flight;
  self->state.deadline = deadline;
  return {
      // Stamps the changes with one clock request and commits them in one
      // batch; answers the first timestamp.
      [=](write_atom,
          std::vector<record_change>& changes) -> caf::result<std::string> {
        if (changes.empty())
          return make_error(ec::bad_request, "nothing to write");
        auto n = static_cast<uint32_t>(message_count(changes));
        return stamp_and_commit(
            self, n,
            [changes = std::move(changes)](std::vector<std::string>& stamps) {
              write_batch batch;
              batch.messages = make_messages(changes, stamps);
              batch.checks = checks_of(changes);
              return batch;
            });
      },
      [=](define_atom,
          std::vector<message>& defs) -> caf::result<std::string> {
        if (defs.empty())
          return make_error(ec::bad_request, "nothing to define");
        auto n = static_cast<uint32_t>(defs.size());
        return stamp_and_commit(
            self, n,
            [defs = std::move(defs)](std::vector<std::string>& stamps) mutable {
              for (size_t i = 0; i < defs.size(); ++i)
                defs[i].timestamp = stamps[i];
              write_batch batch;
              batch.messages = std::move(defs);
              batch.define = true;
              return batch;
            });
      },
      [=](apply_atom, incoming& in) -> caf::result<size_t> {
        ++self->state.in_flight;
        auto rp = self->make_response_promise<size_t>();
        auto deliver = [rp](auto&& x) mutable {
          rp.deliver(std::forward<decltype(x)>(x));
        };
        auto stored = [=](const commit_ack& ack) {
          if (ack.enqueued > 0)
            self->send(self->state.queue, enqueue_atom::value,
                       uint64_t{ack.enqueued});
          return ack.stored;
        };
        auto batch_of = [](incoming& in) {
          write_batch batch;
          batch.group = std::move(in.group);
          batch.messages = std::move(in.messages);
          batch.enqueue = in.enqueue && batch.group.empty();
          if (!in.cursor.empty()) {
            batch.local_key
                = in.local_key.empty() ? sync_cursor_key : in.local_key;
            batch.local_value = std::move(in.cursor);
          }
          return batch;
        };
        if (!in.group.empty()) {
          // A group this node only relays: its messages never touch the
          // clock, the tables or the outbox.
          commit(self, batch_of(in), stored, deliver);
          return rp;
        }
        std::vector<std::string> stamps;
        stamps.reserve(in.messages.size());
        for (const auto& m : in.messages)
          stamps.push_back(m.timestamp);
        // Every received timestamp goes through the clock before it is stored.
        self->request(self->state.clock, applier_timeout, recv_atom::value,
                      std::move(stamps))
            .then(
                [=, in = std::move(in)](std::string& clock_now) mutable {
                  auto batch = batch_of(in);
                  batch.clock = std::move(clock_now);
                  commit(self, std::move(batch), stored, deliver);
                },
                give_up(self, deliver));
        return rp;
      },
      [=](tick_atom) {
        auto& st = self->state;
        st.ticking = false;
        auto now = self->clock().now();
        while (!st.waiting.empty()
               && st.waiting.begin()->second.deadline <= now)
          answer_local(self, st.waiting.begin()->first,
                       make_error(ec::timeout,
                                  "the write was not committed in time"));
        check_deadlines_later(self);
      },
  };
}

} // namespace crdt
