#include "actors/relay.hpp"

#include "observe/metrics.hpp"
#include "protocol/error.hpp"
#include "storage/pg.hpp"

#include <chrono>
#include <iostream>

namespace crdt {

namespace {

using self_ptr = relay_actor::stateful_pointer<relay_state>;

// The store, connected (and its schema current); a broken connection is
// replaced. Fails with ec::unavailable while the database cannot be reached;
// after a failed attempt, calls within the next second fail at once instead
// of each waiting for a connect timeout.
caf::expected<pg_hub_store*> connected(self_ptr self) {
  auto& st = self->state;
  if (st.store && st.store->ok())
    return st.store.get();
  st.store.reset();
  if (st.last_failure
      && std::chrono::steady_clock::now() - st.failed_at
             < std::chrono::seconds(1))
    return st.last_failure;
  auto opened = pg_hub_store::open(st.conninfo, st.statement_timeout_ms,
                                   st.database, st.health->size());
  if (!opened) {
    // From when the attempt ended: a connect can take its whole timeout.
    st.last_failure = opened.error();
    st.failed_at = std::chrono::steady_clock::now();
    return opened.error();
  }
  st.last_failure = caf::none;
  st.store = std::move(*opened);
  return st.store.get();
}

// Runs `call` on the connected store and notes the outcome. A connection
// that failed (the database restarted, a failover, a broken socket) is
// dropped; when it was an old one, the call is tried once more on a new
// connection (every call is idempotent), so a restart of the database costs
// the nodes nothing but a reconnect.
template <class F>
auto run(self_ptr self, F call) -> decltype(call(std::declval<pg_hub_store&>())) {
  using result_type = decltype(call(std::declval<pg_hub_store&>()));
  auto& st = self->state;
  auto attempt = [&](bool& fresh) -> result_type {
    fresh = !(st.store && st.store->ok());
    auto store = connected(self);
    if (!store)
      return result_type{store.error()};
    auto out = call(**store);
    if (!out && (is(out.error(), ec::unavailable) || !st.store->ok()))
      st.store.reset();
    return out;
  };
  bool fresh = false;
  auto out = attempt(fresh);
  if (!out && is(out.error(), ec::unavailable) && !fresh)
    out = attempt(fresh);
  if (out) {
    if (!st.ok)
      std::cerr << "crdt-store: the hub database answers again ("
                << pg::redact_conninfo(st.conninfo) << ")" << std::endl;
    st.ok = true;
    st.health->record(st.database, true);
    return out;
  }
  // The caller's bad data says nothing of the database; anything else
  // (unreachable, timeouts, a refused placement or schema) does.
  if (!is(out.error(), ec::bad_request)) {
    auto why = describe(out.error());
    if (st.ok)
      std::cerr << "crdt-store: " << why << std::endl;
    st.ok = false;
    st.health->record(st.database, false, why);
  }
  return out;
}

// Whether a call's caller has given up on it.
bool expired(int64_t deadline) {
  return std::chrono::steady_clock::now().time_since_epoch()
         > std::chrono::nanoseconds(deadline);
}

caf::error too_late() {
  return make_error(ec::timeout, "the call waited too long for a hub "
                                 "database connection");
}

} // namespace

relay_actor::behavior_type relay(relay_actor::stateful_pointer<relay_state> self,
                                 std::string conninfo,
                                 int64_t statement_timeout_ms,
                                 std::shared_ptr<hub_database_health> health,
                                 size_t database) {
  self->state.conninfo = std::move(conninfo);
  self->state.statement_timeout_ms = statement_timeout_ms;
  self->state.health = std::move(health);
  self->state.database = database;
  return {
      [=](relay_atom, int64_t deadline, const std::string& group,
          const exchange_request& req,
          uint64_t page_bytes) -> caf::result<std::string> {
        if (expired(deadline))
          return too_late();
        // Not moved from: a failed attempt is tried again with the same call.
        auto ans = run(self, [&](pg_hub_store& s) {
          return s.exchange(group, req, page_bytes);
        });
        if (!ans)
          return ans.error();
        metrics::process().hub_messages_sent.add(ans->messages.size());
        return write_exchange_answer(*ans);
      },
      [=](relay_atom, int64_t deadline, const std::string& group,
          const std::string& client, const std::vector<message>& msgs,
          const trie_ptr& theirs, uint32_t limit) -> caf::result<std::string> {
        if (expired(deadline))
          return too_late();
        auto body = run(self, [&](pg_hub_store& s) {
          return s.legacy(group, client, msgs, *theirs, limit);
        });
        if (!body)
          return body.error();
        return std::move(*body);
      },
  };
}

} // namespace crdt
