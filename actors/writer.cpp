#include "actors/writer.hpp"

#include "observe/metrics.hpp"
#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>

namespace crdt {

namespace {

bool stored_any(const commit_summary& s) {
  for (auto n : s.stored_per_batch)
    if (n > 0)
      return true;
  return false;
}

} // namespace

writer_actor::behavior_type
writer(writer_actor::stateful_pointer<writer_state> self,
       std::unique_ptr<write_store> store, clock_actor clock, feed_actor feed,
       std::shared_ptr<storage_gauge> gauge) {
  self->state.store = std::move(store);
  auto publish = [=] {
    if (!gauge)
      return;
    auto s = self->state.storage;
    s.log_messages = self->state.store->stored_messages();
    gauge->publish(std::move(s));
  };
  publish();
  // Tells the clock (trie deltas) and the feed (new changes) what a commit
  // of `batches` stored.
  auto report = [=](const commit_summary& s,
                    const std::vector<const write_batch*>& batches) {
    auto head = [&](const std::string& group) {
      auto it = s.heads.find(group);
      return it == s.heads.end() ? uint64_t{0} : it->second;
    };
    if (!s.deltas.empty())
      self->send(clock, merkle_atom::value, std::string{}, s.deltas,
                 head(std::string{}));
    for (const auto& [group, deltas] : s.group_deltas)
      self->send(clock, merkle_atom::value, group, deltas, head(group));
    if (feed && s.heads.count(std::string{})) {
      std::vector<std::string> tables;
      for (const auto* b : batches)
        if (b->group.empty())
          for (const auto& m : b->messages)
            if (tables.empty() || tables.back() != m.dataset)
              if (std::find(tables.begin(), tables.end(), m.dataset)
                  == tables.end())
                tables.push_back(m.dataset);
      self->send(feed, changed_atom::value, head(std::string{}),
                 std::move(tables));
    }
  };
  // Keeps the full-disk episode: starts at the first commit refused for
  // lack of space, ends at the next one that stores something (a commit
  // that wrote nothing proves nothing about the space left).
  auto observe = [=](const caf::error& err, bool stored) {
    auto& st = self->state.storage;
    bool full = err && err.category() == caf::atom("crdt")
                && static_cast<ec>(err.code()) == ec::disk_full;
    if (full) {
      if (!st.disk_full) {
        st = storage_status{true, iso8601(wall_clock_ms()), 0};
        std::cerr << "crdt-store: storage: the disk is full; writes answer 507 "
                     "until space is freed ("
                  << describe(err) << ")" << std::endl;
      }
      ++st.refused;
    } else if (!err && stored && st.disk_full) {
      std::cerr << "crdt-store: storage: writes succeed again after "
                << st.refused << " refused for lack of disk space" << std::endl;
      st = storage_status{};
    }
    publish();
  };
  // Answers one batch of a commit: its refusal, or what it stored.
  auto answer = [](auto& entry, const commit_summary& s, size_t i) {
    auto& [batch, rp] = entry;
    if (s.refused[i])
      rp.deliver(s.refused[i]);
    else
      rp.deliver(commit_ack{s.stored_per_batch[i],
                            batch.enqueue ? s.stored_per_batch[i] : 0});
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
        auto started = std::chrono::steady_clock::now();
        auto summary = st.store->commit(batches);
        metrics::process().commit(
            batches.size(),
            std::chrono::duration<double>(std::chrono::steady_clock::now()
                                          - started)
                .count(),
            summary ? summary->stored : 0);
        observe(summary ? caf::error{} : summary.error(),
                summary && stored_any(*summary));
        if (summary) {
          report(*summary, batches);
          for (size_t i = 0; i < pending.size(); ++i)
            answer(pending[i], *summary, i);
          // The answers are out: now the pause a checkpoint may take.
          st.store->after_commit();
        } else if (pending.size() == 1) {
          pending.front().second.deliver(summary.error());
        } else {
          // One bad batch must not fail its neighbours: retry one by one.
          for (auto& p : pending) {
            started = std::chrono::steady_clock::now();
            auto one = st.store->commit({&p.first});
            metrics::process().commit(
                1,
                std::chrono::duration<double>(std::chrono::steady_clock::now()
                                              - started)
                    .count(),
                one ? one->stored : 0);
            observe(one ? caf::error{} : one.error(), one && stored_any(*one));
            if (one) {
              report(*one, {&p.first});
              answer(p, *one, 0);
              st.store->after_commit();
            } else {
              p.second.deliver(one.error());
            }
          }
        }
      },
      [=](ack_atom, uint64_t through) -> caf::result<uint64_t> {
        if (auto err = self->state.store->ack_outbox(through))
          return err;
        return through;
      },
      [=](config_atom, const std::string& key, const std::string& value,
          const std::string& type) -> caf::result<bool> {
        if (auto err = self->state.store->set_config(key, value, type))
          return err;
        return true;
      },
  };
}

} // namespace crdt
