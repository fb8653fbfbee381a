#include "actors/feed.hpp"

#include "observe/metrics.hpp"
#include "protocol/error.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <iostream>

namespace crdt {

namespace {

// How much of the log one read looks at, and how many records it may
// hold: a burst of commits is read in bounded pages.
constexpr size_t scan_per_page = 4096;
constexpr size_t events_per_page = 1000;

void forget(feed_state& st, const caf::actor_addr& who) {
  auto it = st.subscribers.find(who);
  if (it == st.subscribers.end())
    return;
  auto t = st.tables.find(it->second.table);
  if (t != st.tables.end() && --t->second == 0)
    st.tables.erase(t);
  st.subscribers.erase(it);
  metrics::process().feed_subscribers = st.subscribers.size();
}

// Reads (through, head] for the touched tables and hands each table's
// changes to its subscribers, page by page.
void flush(feed_actor::stateful_pointer<feed_state> self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  changes_query q;
  q.after = st.through;
  q.through = st.head;
  q.tables = std::move(st.touched);
  st.touched.clear();
  q.scan = scan_per_page;
  q.max_events = events_per_page;
  while (q.after < q.through && !q.tables.empty()) {
    auto page = st.store->changes(q);
    if (!page) {
      // The subscribers would miss these changes: each is told, ends its
      // stream with an error event (or answers its poll 503), and resumes.
      std::cerr << "crdt-store: feed: cannot read the log ("
                << describe(page.error())
                << "); its subscribers are told to resume" << std::endl;
      auto failed = std::make_shared<feed_batch>();
      failed->failed = true;
      feed_batch_ptr notice = std::move(failed);
      for (auto& [addr, sub] : st.subscribers) {
        self->demonitor(addr);
        self->send(sub.session, feed_atom::value, notice);
      }
      st.subscribers.clear();
      st.tables.clear();
      metrics::process().feed_subscribers = 0;
      break;
    }
    std::map<std::string, std::shared_ptr<feed_batch>> batches;
    for (auto& e : page->events) {
      auto& b = batches[e.table];
      if (!b) {
        b = std::make_shared<feed_batch>();
        b->table = e.table;
      }
      b->events.push_back(std::move(e));
    }
    for (auto& [table, batch] : batches) {
      feed_batch_ptr shared = std::move(batch);
      for (auto& [addr, sub] : st.subscribers)
        if (sub.table == table)
          self->send(sub.session, feed_atom::value, shared);
    }
    q.after = page->reached;
  }
  st.through = st.head;
}

} // namespace

feed_actor::behavior_type feed(feed_actor::stateful_pointer<feed_state> self,
                               std::unique_ptr<read_store> store,
                               uint64_t head, size_t max_subscribers) {
  self->state.store = std::move(store);
  self->state.through = head;
  self->state.head = head;
  self->state.max_subscribers = max_subscribers;
  self->set_down_handler(
      [=](caf::down_msg& msg) { forget(self->state, msg.source); });
  return {
      [=](changed_atom, uint64_t head, const std::vector<std::string>& tables) {
        auto& st = self->state;
        st.head = std::max(st.head, head);
        for (const auto& t : tables)
          if (st.tables.count(t)
              && std::find(st.touched.begin(), st.touched.end(), t)
                     == st.touched.end())
            st.touched.push_back(t);
        if (st.touched.empty()) {
          // Nobody watches what changed: nothing to read.
          if (!st.flush_scheduled)
            st.through = st.head;
          return;
        }
        // Every commit notice already in the mailbox is read by one flush.
        if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
      },
      [=](flush_atom) { flush(self); },
      [=](subscribe_atom, const std::string& table,
          const session_actor& who) -> caf::result<uint64_t> {
        auto& st = self->state;
        auto addr = who.address();
        if (auto known = st.subscribers.find(addr);
            known != st.subscribers.end() && known->second.table != table) {
          // A connection that follows another table now (its earlier
          // watch ended without a leave reaching here first).
          forget(st, addr);
          self->demonitor(addr);
        }
        if (!st.subscribers.count(addr)) {
          if (st.subscribers.size() >= st.max_subscribers)
            return make_error(ec::overloaded,
                              "too many change feed subscribers ("
                                  + std::to_string(st.max_subscribers)
                                  + ", FEED_MAX_SUBSCRIBERS); retry later");
          self->monitor(who);
          ++st.tables[table];
          st.subscribers.emplace(addr, feed_state::subscriber{who, table});
          metrics::process().feed_subscribers = st.subscribers.size();
        }
        // Live changes start after what has been committed so far; the
        // session reads up to here itself.
        return st.head;
      },
      [=](leave_atom, const session_actor& who) {
        self->demonitor(who.address());
        forget(self->state, who.address());
      },
      [=](status_atom) {
        return static_cast<uint64_t>(self->state.subscribers.size());
      },
  };
}

} // namespace crdt
