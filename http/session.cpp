#include "http/session.hpp"

#include "http/api.hpp"
#include "config/settings.hpp"
#include "http/router.hpp"
#include "protocol/error.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <caf/all.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace crdt {

namespace {

using self_ptr = session_actor::stateful_pointer<session_state>;

struct context {
  self_ptr self;
  uint64_t seq;
  route_match match;
  target tgt;

  void reply(http_reply r) const {
    self->state.sink->send(seq, std::move(r));
  }
  const services& svc() const {
    return *self->state.svc;
  }
  const std::string& param(const char* name) const {
    static const std::string empty;
    auto it = match.params.find(name);
    return it == match.params.end() ? empty : it->second;
  }
};

principal current_principal(const context& ctx) {
  return {ctx.svc().info.default_org, {}};
}

// Finds the route's table; replies 404 when it does not exist.
const table_schema* find_table(const context& ctx) {
  const auto& name = ctx.param("table");
  auto it = ctx.svc().schemas.find(name);
  if (it == ctx.svc().schemas.end()) {
    ctx.reply(error_reply(404, "Unknown table", name));
    return nullptr;
  }
  return it->second.get();
}

// Stamps and commits a change, then answers with `on_done(first stamp)`.
template <class F>
void write(const context& ctx, record_change change, F on_done) {
  auto table = change.table;
  ctx.self
    ->request(ctx.svc().applier, write_timeout, write_atom::value,
              std::move(change))
    .then([=](std::string& first) { on_done(first); },
          [=](caf::error& err) { ctx.reply(error_reply(err, table)); });
}

// Answers the record as it is now stored.
void reply_record(const context& ctx, const std::string& table,
                  const std::string& id, unsigned status, std::string message) {
  ctx.self
    ->request(ctx.svc().reader(), read_timeout, get_atom::value, table, id)
    .then(
      [=](std::string& row) { ctx.reply(ok_reply(status, message, 1, row)); },
      [=](caf::error& err) { ctx.reply(error_reply(err, table)); });
}

void handle_create(const context& ctx, const std::string& body) {
  const auto* t = find_table(ctx);
  if (!t)
    return;
  auto parsed = parse_record_body(body);
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
  bool client_id = false;
  auto given = parsed->data->FindMember("id");
  if (given != parsed->data->MemberEnd()) {
    if (!given->value.IsString() || !valid_ulid(given->value.GetString())) {
      ctx.reply(error_reply(400, "Invalid Schema", t->name(),
                            {{"id", "must be a ULID"}}));
      return;
    }
    id = given->value.GetString();
    client_id = true;
  } else {
    id = make_ulid(wall_clock_ms());
  }
  auto change = make_change(record_change::create, *t, id, *parsed->data,
                            current_principal(ctx));
  auto table = t->name();
  auto schema = ctx.svc().schemas.find(table)->second;
  auto commit = [=] {
    write(ctx, change, [=](const std::string& first) {
      auto ts = parse_timestamp(first);
      auto rec = render_created(*schema, change, iso8601(ts ? ts->millis : 0));
      ctx.reply(ok_reply(201, "Successfully created in " + table, 1, rec));
    });
  };
  if (!client_id) {
    commit();
    return;
  }
  ctx.self
    ->request(ctx.svc().reader(), read_timeout, exists_atom::value, table, id)
    .then(
      [=](int state) {
        if (state != 0)
          ctx.reply(error_reply(409, "A record with this id exists", table));
        else
          commit();
      },
      [=](caf::error& err) { ctx.reply(error_reply(err, table)); });
}

// PATCH and DELETE: the record must be live first.
void handle_change(const context& ctx, const std::string& body,
                   record_change::kind_t kind) {
  const auto* t = find_table(ctx);
  if (!t)
    return;
  auto table = t->name();
  auto id = ctx.param("id");
  record_change change;
  if (kind == record_change::update) {
    auto parsed = parse_record_body(body);
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
    change = make_change(kind, *t, id, *parsed->data, current_principal(ctx));
  } else {
    change = make_change(kind, *t, id, rapidjson::Value{},
                         current_principal(ctx));
  }
  ctx.self
    ->request(ctx.svc().reader(), read_timeout, exists_atom::value, table, id)
    .then(
      [=](int state) {
        if (state != 1) {
          ctx.reply(error_reply(404, "Not Found", table));
          return;
        }
        write(ctx, change, [=](const std::string&) {
          if (kind == record_change::update) {
            reply_record(ctx, table, id, 200,
                         "Successfully updated in " + table);
          } else {
            rapidjson::StringBuffer buf;
            rapidjson::Writer<rapidjson::StringBuffer> w{buf};
            w.StartObject();
            w.Key("id");
            w.String(id.data(), static_cast<rapidjson::SizeType>(id.size()));
            w.EndObject();
            ctx.reply(ok_reply(200, "Successfully deleted from " + table, 1,
                               buf.GetString()));
          }
        });
      },
      [=](caf::error& err) { ctx.reply(error_reply(err, table)); });
}

void handle_get(const context& ctx) {
  const auto* t = find_table(ctx);
  if (!t)
    return;
  reply_record(ctx, t->name(), ctx.param("id"), 200,
               "Successfully fetched from " + t->name());
}

void handle_list(const context& ctx) {
  const auto* t = find_table(ctx);
  if (!t)
    return;
  std::vector<field_error> errors;
  auto q = parse_list_query(*t, ctx.tgt.query, errors);
  if (!q) {
    ctx.reply(error_reply(400, "Invalid query", t->name(), errors));
    return;
  }
  auto table = t->name();
  ctx.self
    ->request(ctx.svc().reader(), read_timeout, list_atom::value, table, *q)
    .then(
      [=](list_result& r) {
        ctx.reply(ok_reply(200, "Successfully fetched from " + table, r.count,
                           r.rows));
      },
      [=](caf::error& err) { ctx.reply(error_reply(err, table)); });
}

void handle_config_read(const context& ctx, const std::string& key) {
  ctx.self
    ->request(ctx.svc().reader(), read_timeout, config_atom::value, key)
    .then(
      [=](list_result& r) {
        ctx.reply(ok_reply(200, "Successfully fetched from config_sync",
                           r.count, r.rows));
      },
      [=](caf::error& err) { ctx.reply(error_reply(err, "config_sync")); });
}

void handle_config_set(const context& ctx, const std::string& body) {
  const std::string table = "config_sync";
  auto parsed = parse_record_body(body);
  if (!parsed) {
    ctx.reply(error_reply(400, describe(parsed.error()), table));
    return;
  }
  const auto& data = *parsed->data;
  auto key = ctx.param("key");
  std::vector<field_error> errors;
  std::string value, type = "string";
  auto v = data.FindMember("value");
  if (v == data.MemberEnd() || !(v->value.IsString() || v->value.IsNumber()
                                 || v->value.IsBool()))
    errors.push_back({"value", "must be a string, number or boolean"});
  else if (v->value.IsString())
    value = v->value.GetString();
  else if (v->value.IsBool())
    value = v->value.GetBool() ? "true" : "false";
  else if (v->value.IsInt64())
    value = std::to_string(v->value.GetInt64());
  else
    value = std::to_string(v->value.GetDouble());
  auto t = data.FindMember("type");
  if (t != data.MemberEnd()) {
    if (!t->value.IsString())
      errors.push_back({"type", "must be a string"});
    else
      type = t->value.GetString();
  }
  for (auto it = data.MemberBegin(); it != data.MemberEnd(); ++it) {
    std::string name = it->name.GetString();
    if (name != "value" && name != "type")
      errors.push_back({name, "unknown field"});
  }
  if (errors.empty()) {
    auto problem = validate_setting(key, value);
    if (!problem.empty())
      errors.push_back({"value", key + " " + problem});
  }
  if (!errors.empty()) {
    ctx.reply(error_reply(400, "Invalid Schema", table, errors));
    return;
  }
  ctx.self
    ->request(ctx.svc().writer, write_timeout, config_atom::value, key, value,
              type)
    .then(
      [=](bool) {
        // Takes effect without a restart.
        ctx.self->send(ctx.svc().sync, config_atom::value, key, value);
        rapidjson::StringBuffer buf;
        rapidjson::Writer<rapidjson::StringBuffer> w{buf};
        w.StartObject();
        w.Key("key");
        w.String(key.c_str());
        w.Key("value");
        w.String(value.c_str());
        w.Key("type");
        w.String(type.c_str());
        w.EndObject();
        ctx.reply(ok_reply(200, "Successfully updated config_sync", 1,
                           buf.GetString()));
      },
      [=](caf::error& err) { ctx.reply(error_reply(err, table)); });
}

// Compares without an early exit, so timing does not reveal how much of
// the secret matched (only its length).
bool same_secret(const std::string& given, const std::string& want) {
  if (given.size() != want.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < want.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ want[i]);
  return diff == 0;
}

void handle_sync(const context& ctx, const std::string& body,
                 const std::string& secret) {
  const auto& want = ctx.svc().info.sync_secret;
  if (!want.empty() && !same_secret(secret, want)) {
    ctx.reply({401, write_sync_error("missing or wrong X-Sync-Secret"), {}});
    return;
  }
  ctx.self
    ->request(ctx.svc().hub, write_timeout, sync_atom::value, body)
    .then([=](http_reply& r) { ctx.reply(std::move(r)); },
          [=](caf::error& err) {
            ctx.reply({503, write_sync_error(describe(err)), {}});
          });
}

void handle_health(const context& ctx) {
  auto self = ctx.self;
  self->request(ctx.svc().clock, read_timeout, status_atom::value)
    .then(
      [=](clock_status& cs) {
        self->request(ctx.svc().queue, read_timeout, status_atom::value)
          .then(
            [=](uint64_t pending) {
        self->request(ctx.svc().sync, read_timeout, status_atom::value)
          .then(
            [=](sync_status& ss) {
              rapidjson::StringBuffer buf;
              rapidjson::Writer<rapidjson::StringBuffer> w{buf};
              auto str = [&](const char* k, const std::string& v) {
                w.Key(k);
                w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
              };
              const auto& info = ctx.svc().info;
              w.StartObject();
              str("status", "ok");
              str("node_id", cs.node_id);
              str("group_id", info.group_id);
              str("database", info.database);
              w.Key("merkle_hash");
              w.Int(cs.merkle_hash);
              w.Key("pending");
              w.Uint64(pending);
              str("clock", cs.last);
              w.Key("sync_enabled");
              w.Bool(ss.enabled);
              w.Key("last_sync");
              if (ss.at.empty()) {
                w.Null();
              } else {
                w.StartObject();
                str("at", ss.at);
                w.Key("ok");
                w.Bool(ss.ok);
                if (!ss.ok)
                  str("error", ss.error);
                w.EndObject();
              }
              w.EndObject();
              ctx.reply({200, buf.GetString(), {}});
            },
            [=](caf::error& err) { ctx.reply(error_reply(err)); });
            },
            [=](caf::error& err) { ctx.reply(error_reply(err)); });
      },
      [=](caf::error& err) { ctx.reply(error_reply(err)); });
}

} // namespace

session_actor::behavior_type session(session_actor::stateful_pointer<session_state> self,
                                     std::shared_ptr<const services> svc,
                                     std::shared_ptr<reply_sink> sink) {
  self->state.svc = std::move(svc);
  self->state.sink = std::move(sink);
  return {
    [=](const http_request& req) {
      auto tgt = parse_target(req.target);
      if (!tgt) {
        self->state.sink->send(req.seq,
                               error_reply(400, "Malformed request target"));
        return;
      }
      auto match = match_route(req.method, tgt->segments);
      if (!match.which) {
        auto r = match.status == 405
                   ? error_reply(405, "Method Not Allowed")
                   : error_reply(404, "Not Found");
        if (match.status == 405)
          r.headers.emplace_back("Allow", match.allow);
        self->state.sink->send(req.seq, std::move(r));
        return;
      }
      context ctx{self, req.seq, std::move(match), std::move(*tgt)};
      switch (*ctx.match.which) {
        case route::store_create:
          handle_create(ctx, req.body);
          break;
        case route::store_list:
          handle_list(ctx);
          break;
        case route::store_get:
          handle_get(ctx);
          break;
        case route::store_patch:
          handle_change(ctx, req.body, record_change::update);
          break;
        case route::store_delete:
          handle_change(ctx, req.body, record_change::remove);
          break;
        case route::health:
          handle_health(ctx);
          break;
        case route::config_list:
          handle_config_read(ctx, {});
          break;
        case route::config_get:
          handle_config_read(ctx, ctx.param("key"));
          break;
        case route::config_set:
          handle_config_set(ctx, req.body);
          break;
        case route::sync:
          handle_sync(ctx, req.body, req.sync_secret);
          break;
        default:
          ctx.reply(error_reply(404, "Not Found"));
      }
    },
  };
}

} // namespace crdt
