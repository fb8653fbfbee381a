#include "actors/writer.hpp"

#include "protocol/error.hpp"

#include <caf/all.hpp>

namespace crdt {

writer_actor::behavior_type writer(writer_actor::stateful_pointer<writer_state> self,
                                   std::shared_ptr<std::unique_ptr<write_store>> store,
                                   std::shared_ptr<std::atomic<size_t>> load,
                                   clock_actor clock, queue_actor queue) {
  self->state.store = std::move(*store);
  self->state.load = std::move(load);
  auto report = [=](const commit_summary& s) {
    if (!s.deltas.empty())
      self->send(clock, merkle_atom::value, s.deltas);
    if (s.enqueued > 0)
      self->send(queue, enqueue_atom::value, uint64_t{s.enqueued});
  };
  return {
    [=](write_atom, write_batch& batch) -> caf::result<commit_ack> {
      auto rp = self->make_response_promise<commit_ack>();
      self->state.pending.emplace_back(std::move(batch), rp);
      // The flush message queues behind every batch already in the mailbox,
      // so one commit takes all of them (group commit).
      if (!self->state.flush_scheduled) {
        self->state.flush_scheduled = true;
        self->send(self, flush_atom::value);
      }
      return rp;
    },
    [=](flush_atom) {
      auto& st = self->state;
      st.flush_scheduled = false;
      auto pending = std::move(st.pending);
      st.pending.clear();
      if (pending.empty())
        return;
      std::vector<const write_batch*> batches;
      batches.reserve(pending.size());
      for (auto& p : pending)
        batches.push_back(&p.first);
      auto summary = st.store->commit(batches);
      if (summary) {
        report(*summary);
        for (size_t i = 0; i < pending.size(); ++i)
          pending[i].second.deliver(commit_ack{summary->stored_per_batch[i]});
      } else if (pending.size() == 1) {
        pending.front().second.deliver(summary.error());
      } else {
        // One bad batch must not fail its neighbours: retry one by one.
        for (auto& p : pending) {
          auto one = st.store->commit({&p.first});
          if (one) {
            report(*one);
            p.second.deliver(commit_ack{one->stored});
          } else {
            p.second.deliver(one.error());
          }
        }
      }
      *st.load -= pending.size();
    },
  };
}

} // namespace crdt
