#include "actors/reader.hpp"

namespace crdt {

reader_actor::behavior_type
reader(reader_actor::stateful_pointer<reader_state> self,
       std::unique_ptr<read_store> store) {
  self->state.store = std::move(store);
  return {
      [=](get_atom, const std::string& table, const std::string& id,
          const std::string& org) -> caf::result<std::string> {
        auto r = self->state.store->get(table, id, org);
        if (!r)
          return r.error();
        return std::move(*r);
      },
      [=](list_atom, const std::string& table, const read_store::list_query& q,
          const std::string& org) -> caf::result<list_result> {
        std::string next;
        auto r = self->state.store->list(table, q, org, &next);
        if (!r)
          return r.error();
        return list_result{r->first, std::move(r->second), std::move(next)};
      },
      [=](exists_atom, const std::string& table, const std::string& id,
          const std::string& org) -> caf::result<record_state> {
        auto r = self->state.store->state(table, id, org);
        if (!r)
          return r.error();
        return *r;
      },
      [=](outbox_atom, uint64_t after, uint32_t n,
          uint64_t max_bytes) -> caf::result<outbox_page> {
        auto r = self->state.store->outbox(after, n, max_bytes);
        if (!r)
          return r.error();
        return std::move(*r);
      },
      [=](unsent_atom, uint64_t after, uint64_t through,
          uint64_t limit) -> caf::result<uint32_t> {
        auto r = self->state.store->unsent_hash(after, through, limit);
        if (!r)
          return r.error();
        return *r;
      },
      [=](since_atom, const std::string& group, const std::string& since,
          const std::string& exclude,
          uint32_t limit) -> caf::result<std::vector<message>> {
        auto r
            = self->state.store->messages_since(group, since, exclude, limit);
        if (!r)
          return r.error();
        return std::move(*r);
      },
      [=](page_atom,
          const read_store::page_query& q) -> caf::result<read_store::page> {
        auto r = self->state.store->read_page(q);
        if (!r)
          return r.error();
        return std::move(*r);
      },
      [=](feed_atom, const changes_query& q) -> caf::result<changes_page> {
        auto r = self->state.store->changes(q);
        if (!r)
          return r.error();
        return std::move(*r);
      },
      [=](feed_atom, const std::string& since, uint64_t live,
          uint64_t replay_limit) -> caf::result<uint64_t, std::string> {
        auto& store = *self->state.store;
        auto at = since.empty()
                      ? caf::expected<uint64_t>{live}
                      : store.feed_position(since, live, replay_limit);
        if (!at)
          return at.error();
        auto name = store.position_id(*at);
        if (!name)
          return name.error();
        return {*at, std::move(*name)};
      },
      [=](config_atom, const std::string& key) -> caf::result<list_result> {
        auto r = self->state.store->config(key);
        if (!r)
          return r.error();
        return list_result{r->first, std::move(r->second), {}};
      },
  };
}

} // namespace crdt
