#include "actors/relay.hpp"

#include "observe/metrics.hpp"
#include "protocol/error.hpp"
#include "storage/pg.hpp"

#include <iostream>

namespace crdt {

namespace {

using self_ptr = relay_actor::stateful_pointer<relay_state>;

// The store, connected (and its schema current); a broken connection is
// replaced. Fails with ec::unavailable while the database cannot be reached.
caf::expected<pg_hub_store*> connected(self_ptr self) {
  auto& st = self->state;
  if (st.store && st.store->ok())
    return st.store.get();
  st.store.reset();
  auto opened = pg_hub_store::open(st.conninfo, st.statement_timeout_ms);
  if (!opened)
    return opened.error();
  st.store = std::move(*opened);
  return st.store.get();
}

// Runs `call` on the connected store and notes the outcome; a failure that
// came from the connection drops it (the next call connects again).
template <class F>
auto run(self_ptr self, F call) -> decltype(call(std::declval<pg_hub_store&>())) {
  auto& st = self->state;
  auto store = connected(self);
  decltype(call(std::declval<pg_hub_store&>())) out = store.error();
  if (store)
    out = call(**store);
  if (out) {
    if (!st.status.ok)
      std::cerr << "crdt-store: the hub database answers again ("
                << pg::redact_conninfo(st.conninfo) << ")" << std::endl;
    st.status = {};
    return out;
  }
  if (st.store && !st.store->ok())
    st.store.reset();
  auto why = describe(out.error());
  if (is(out.error(), ec::unavailable)) {
    if (st.status.ok)
      std::cerr << "crdt-store: " << why << std::endl;
    st.status = {false, why};
  }
  return out;
}

} // namespace

relay_actor::behavior_type relay(relay_actor::stateful_pointer<relay_state> self,
                                 std::string conninfo,
                                 int64_t statement_timeout_ms) {
  self->state.conninfo = std::move(conninfo);
  self->state.statement_timeout_ms = statement_timeout_ms;
  return {
      [=](relay_atom, const std::string& group, exchange_request& req,
          uint64_t page_bytes) -> caf::result<std::string> {
        auto ans = run(self, [&](pg_hub_store& s) {
          return s.exchange(group, std::move(req), page_bytes);
        });
        if (!ans)
          return ans.error();
        metrics::process().hub_messages_sent.add(ans->messages.size());
        return write_exchange_answer(*ans);
      },
      [=](relay_atom, const std::string& group, const std::string& client,
          const std::vector<message>& msgs, const trie_ptr& theirs,
          uint32_t limit) -> caf::result<std::string> {
        auto body = run(self, [&](pg_hub_store& s) {
          return s.legacy(group, client, msgs, *theirs, limit);
        });
        if (!body)
          return body.error();
        return std::move(*body);
      },
      [=](status_atom) -> relay_status { return self->state.status; },
  };
}

} // namespace crdt
