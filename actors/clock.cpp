#include "actors/clock.hpp"

#include "protocol/error.hpp"

namespace crdt {

clock_actor::behavior_type
clock(clock_actor::stateful_pointer<clock_state> self, timestamp last,
      int64_t max_drift, merkle_trie trie,
      std::map<std::string, merkle_trie> groups,
      std::map<std::string, uint64_t> heads) {
  self->state.clock.last = std::move(last);
  self->state.clock.max_drift = max_drift;
  self->state.trie = std::move(trie);
  self->state.groups = std::move(groups);
  self->state.heads = std::move(heads);
  // The trie a commit changes: a relayed group's is made on its first
  // stored message.
  auto trie_of = [=](const std::string& group) -> merkle_trie& {
    return group.empty() ? self->state.trie : self->state.groups[group];
  };
  // The trie a question reads: a group nothing was stored for has the
  // empty one. Reading never adds an entry, so a caller that asks about
  // many group ids (a pull, a compare, a whole-trie diff) costs no memory.
  auto trie_in = [=](const std::string& group) -> const merkle_trie& {
    static const merkle_trie empty;
    if (group.empty())
      return self->state.trie;
    auto i = self->state.groups.find(group);
    return i == self->state.groups.end() ? empty : i->second;
  };
  return {
      [=](stamp_atom, uint32_t n) -> caf::result<std::vector<std::string>> {
        // Stamp on a copy so that a failure part-way leaves the clock as it
        // was.
        auto copy = self->state.clock;
        std::vector<std::string> out;
        out.reserve(n);
        auto now = wall_clock_ms();
        for (uint32_t i = 0; i < n; ++i) {
          auto ts = send(copy, now);
          if (!ts)
            return ts.error();
          out.push_back(to_string(*ts));
        }
        self->state.clock = std::move(copy);
        return out;
      },
      [=](recv_atom,
          const std::vector<std::string>& stamps) -> caf::result<std::string> {
        // Every timestamp is checked (format, drift), but the clock merges only
        // the greatest: merging each in turn would add one to the counter per
        // message whenever they are older than the clock, and a batch of more
        // than 65,535 such messages would overflow the counter for nothing.
        // Merging the greatest leaves the clock ahead of all of them, which is
        // what the HLC needs.
        auto now = wall_clock_ms();
        const std::string* greatest = nullptr;
        timestamp top;
        for (const auto& s : stamps) {
          auto ts = parse_timestamp(s);
          if (!ts)
            return make_error(ec::bad_timestamp, "bad timestamp: " + s);
          if (ts->millis - now > self->state.clock.max_drift)
            return make_error(ec::clock_drift,
                              "clock drift: " + s + " is too far ahead");
          if (!greatest || s > *greatest) {
            greatest = &s;
            top = std::move(*ts);
          }
        }
        if (greatest)
          if (auto err = recv(self->state.clock, top, now))
            return err;
        return to_string(self->state.clock.last);
      },
      [=](merkle_atom, const std::string& group, const merkle_deltas& deltas,
          uint64_t head) {
        auto& trie = trie_of(group);
        for (const auto& [key, hash] : deltas)
          trie.xor_node(key, hash);
        auto& h = self->state.heads[group];
        h = std::max(h, head);
      },
      [=](head_atom, const std::string& group) -> stream_head {
        auto h = self->state.heads.find(group);
        return {trie_in(group).hash(),
                h == self->state.heads.end() ? uint64_t{0} : h->second};
      },
      [=](compare_atom, const std::string& group,
          const node_hashes& theirs) -> std::vector<node_children> {
        return compare_nodes(trie_in(group), theirs);
      },
      [=](descend_atom, const std::vector<node_children>& theirs) -> descent {
        return descend(self->state.trie, theirs);
      },
      [=](merkle_atom) -> std::string { return self->state.trie.to_json(); },
      [=](diff_atom, const std::string& group,
          const trie_ptr& other) -> caf::result<int64_t, std::string> {
        // The earliest minute that really differs (see first_difference): the
        // hub sends from there and a client resends from there, so neither
        // ships a whole subtree of messages the other already holds.
        const auto& trie = trie_in(group);
        auto since = first_difference(trie, *other);
        return {since ? *since : int64_t{-1}, trie.to_json()};
      },
      [=](status_atom) -> clock_status {
        return {self->state.clock.last.node, to_string(self->state.clock.last),
                self->state.trie.signed_hash(), self->state.groups.size()};
      },
  };
}

} // namespace crdt
