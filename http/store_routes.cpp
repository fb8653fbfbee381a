// Records: create, list, read, update and delete in the caller's
// organization.

#include "http/handlers.hpp"

#include "auth/accounts.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <caf/all.hpp>

namespace crdt {

// The route's table; replies 404 when it does not exist (or is one of the
// service's own tables, which have their own routes).
// The table is held for the whole request, even if a new definition
// replaces the catalog's tables meanwhile.
table_ptr find_table(const request_context& ctx) {
  const auto& name = ctx.param("table");
  auto t = ctx.svc().catalog->find(name);
  if (!t || is_internal_table(name)) {
    ctx.reply(error_reply(404, "Unknown table", name));
    return nullptr;
  }
  return t;
}

namespace {

// The largest page, and the deepest offset, that a session reads itself.
constexpr int64_t inline_list_limit = 500;
constexpr int64_t inline_list_offset = 10000;

// Answers the record as it is now stored; `written` (when not empty)
// stands in for a record that a write just changed and that is already
// gone again: the write was acknowledged, so it is no 404.
void reply_record(const request_context& ctx, const std::string& table,
                  const std::string& id, std::string message,
                  std::string written = {}) {
  // A point read is short: done right here when a pooled connection is
  // free, which saves two hops between threads and a timer.
  if (auto lease = ctx.svc().pool->acquire()) {
    auto row = (*lease)->get(table, id, ctx.who().organization_id);
    if (row)
      ctx.reply(ok_reply(200, message, 1, *row));
    else if (!written.empty() && is(row.error(), ec::not_found))
      ctx.reply(ok_reply(200, message, 1, written));
    else
      ctx.reply(error_reply(row.error(), table));
    return;
  }
  ctx.self
      ->request(ctx.reader(), read_timeout, get_atom::value, table, id,
                ctx.who().organization_id)
      .then(
          [=](std::string& row) { ctx.reply(ok_reply(200, message, 1, row)); },
          [=](caf::error& err) {
            if (!written.empty() && is(err, ec::not_found))
              ctx.reply(ok_reply(200, message, 1, written));
            else
              ctx.reply(error_reply(err, table));
          });
}

// PATCH and DELETE: the writer applies the change only if the record is
// live in the caller's organization when it commits.
void change_record(const request_context& ctx, record_change::kind_t kind) {
  auto t = find_table(ctx);
  if (!t)
    return;
  auto table = t->name();
  auto id = ctx.param("id");
  record_change change;
  if (kind == record_change::update) {
    auto parsed = parse_record_body(ctx.body());
    if (!parsed) {
      ctx.reply(error_reply(400, describe(parsed.error()), table));
      return;
    }
    auto errors = t->validate(*parsed->data, false);
    if (errors.empty() && parsed->data->MemberCount() == 0)
      errors.push_back({"data", "no fields to update"});
    if (!errors.empty()) {
      ctx.reply(error_reply(400, "Invalid Schema", table, errors));
      return;
    }
    change = make_change(kind, *t, id, *parsed->data, ctx.who());
  } else {
    change = make_change(kind, *t, id, rapidjson::Value{}, ctx.who());
  }
  change.must_be = precondition::live;
  write(ctx, {change}, table, [=](const std::string& first) {
    if (kind == record_change::update)
      reply_record(ctx, table, id, "Successfully updated in " + table,
                   render_updated(*t, change, iso8601_of(first)));
    else
      ctx.reply(ok_reply(200, "Successfully deleted from " + table, 1,
                         json_object({{"id", id}})));
  });
}

} // namespace

void create_record(const request_context& ctx) {
  auto t = find_table(ctx);
  if (!t)
    return;
  auto parsed = parse_record_body(ctx.body());
  if (!parsed) {
    ctx.reply(error_reply(400, describe(parsed.error()), t->name()));
    return;
  }
  auto errors = t->validate(*parsed->data, true);
  if (!errors.empty()) {
    ctx.reply(error_reply(400, "Invalid Schema", t->name(), errors));
    return;
  }
  std::string id;
  auto given = parsed->data->FindMember("id");
  bool client_id = given != parsed->data->MemberEnd();
  if (client_id) {
    if (!given->value.IsString() || !valid_ulid(given->value.GetString())) {
      ctx.reply(error_reply(400, "Invalid Schema", t->name(),
                            {{"id", "must be a ULID"}}));
      return;
    }
    id = given->value.GetString();
  } else {
    id = make_ulid(wall_clock_ms());
  }
  auto change
      = make_change(record_change::create, *t, id, *parsed->data, ctx.who());
  // A client's id must be new in every organization: a create must never
  // write into someone else's record. The writer checks it at commit.
  if (client_id)
    change.must_be = precondition::absent;
  auto table = t->name();
  write(ctx, {change}, table, [=](const std::string& first) {
    auto rec = render_created(*t, change, iso8601_of(first));
    ctx.reply(ok_reply(201, "Successfully created in " + table, 1, rec));
  });
}

void list_records(const request_context& ctx) {
  auto t = find_table(ctx);
  if (!t)
    return;
  std::vector<field_error> errors;
  auto q = parse_list_query(*t, ctx.in->tgt.query, errors);
  if (!q) {
    ctx.reply(error_reply(400, "Invalid query", t->name(), errors));
    return;
  }
  auto table = t->name();
  // A short, unfiltered page in an indexed order is read right here, like
  // a record by id; long lists (no limit, a deep offset), filters and
  // orders that sort the table go to a reader actor, off the scheduler's
  // few threads.
  const auto* by = q->order.empty() ? nullptr : t->find(q->order);
  bool indexed = q->order.empty() || q->order == "id" || (by && by->indexed);
  if (indexed && q->where.empty() && q->limit && *q->limit <= inline_list_limit
      && q->offset <= inline_list_offset)
    if (auto lease = ctx.svc().pool->acquire()) {
      std::string next;
      auto r = (*lease)->list(table, *q, ctx.who().organization_id, &next);
      if (r)
        ctx.reply(ok_reply(200, "Successfully fetched from " + table, r->first,
                           r->second, next));
      else
        ctx.reply(error_reply(r.error(), table));
      return;
    }
  ctx.self
      ->request(ctx.reader(), read_timeout, list_atom::value, table, *q,
                ctx.who().organization_id)
      .then(
          [=](list_result& r) {
            ctx.reply(ok_reply(200, "Successfully fetched from " + table,
                               r.count, r.rows, r.next));
          },
          [=](caf::error& err) { ctx.reply(error_reply(err, table)); });
}

void get_record(const request_context& ctx) {
  auto t = find_table(ctx);
  if (!t)
    return;
  reply_record(ctx, t->name(), ctx.param("id"),
               "Successfully fetched from " + t->name());
}

void update_record(const request_context& ctx) {
  change_record(ctx, record_change::update);
}

void delete_record(const request_context& ctx) {
  change_record(ctx, record_change::remove);
}

} // namespace crdt
