#include "protocol/change.hpp"

#include "protocol/timestamp.hpp"

#include <iterator>

namespace crdt {

namespace {

value text_or_null(const std::string& s) {
  return s.empty() ? value{} : value{s};
}

} // namespace

const char* to_string(record_state s) {
  switch (s) {
  case record_state::absent:
    return "absent";
  case record_state::live:
    return "live";
  case record_state::deleted:
    return "deleted";
  default:
    return "foreign";
  }
}

size_t message_count(const record_change& c) {
  switch (c.kind) {
  case record_change::create:
    // + tombstone, organization_id, created_by, updated_by, created_at,
    //   updated_at
    return c.fields.size() + 6;
  case record_change::update:
    return c.fields.size() + 2; // + updated_by, updated_at
  default:
    return 3; // tombstone, updated_by, updated_at
  }
}

size_t message_count(const std::vector<record_change>& changes) {
  size_t n = 0;
  for (const auto& c : changes)
    n += message_count(c);
  return n;
}

std::vector<message> make_messages(const std::vector<record_change>& changes,
                                   const std::vector<std::string>& stamps) {
  std::vector<message> out;
  out.reserve(stamps.size());
  auto next = stamps.begin();
  for (const auto& c : changes) {
    auto count = static_cast<ptrdiff_t>(message_count(c));
    auto part = make_messages(c, {next, next + count});
    next += count;
    std::move(part.begin(), part.end(), std::back_inserter(out));
  }
  return out;
}

std::vector<message> make_messages(const record_change& c,
                                   const std::vector<std::string>& stamps) {
  std::vector<message> out;
  out.reserve(stamps.size());
  size_t next = 0;
  auto add = [&](const std::string& column, value v) {
    out.push_back(message{stamps[next++], c.table, c.id, column, std::move(v)});
  };
  auto when = parse_timestamp(stamps.front());
  auto iso = iso8601(when ? when->millis : 0);
  for (const auto& [name, v] : c.fields)
    add(name, v);
  switch (c.kind) {
  case record_change::create:
    add("tombstone", value{int64_t{0}});
    add("organization_id", text_or_null(c.who.organization_id));
    add("created_by", text_or_null(c.who.account_id));
    add("updated_by", text_or_null(c.who.account_id));
    add("created_at", value{iso});
    add("updated_at", value{iso});
    break;
  case record_change::update:
    add("updated_by", text_or_null(c.who.account_id));
    add("updated_at", value{iso});
    break;
  default:
    add("tombstone", value{int64_t{1}});
    add("updated_by", text_or_null(c.who.account_id));
    add("updated_at", value{iso});
  }
  return out;
}

} // namespace crdt
