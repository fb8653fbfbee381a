// The node itself: its sync settings, the /sync hub endpoint and /health.

#include "http/console.hpp"
#include "http/handlers.hpp"

#include "config/settings.hpp"
#include "observe/metrics.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/sync.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <optional>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace crdt {

namespace {

void read_settings(const request_context& ctx, const std::string& key) {
  ctx.self->request(ctx.reader(), read_timeout, config_atom::value, key)
      .then(
          [=](list_result& r) {
            ctx.reply(ok_reply(200, "Successfully fetched from config_sync",
                               r.count, r.rows));
          },
          [=](caf::error& err) { ctx.reply(error_reply(err, "config_sync")); });
}

// The value of a setting as text, from a JSON string, number or boolean.
std::optional<std::string> setting_text(const rapidjson::Value& v) {
  if (v.IsString())
    return std::string{v.GetString(), v.GetStringLength()};
  if (v.IsBool())
    return v.GetBool() ? "true" : "false";
  if (v.IsInt64())
    return std::to_string(v.GetInt64());
  if (v.IsNumber())
    return std::to_string(v.GetDouble());
  return std::nullopt;
}

// The answer to a failed /sync call: 400 for the caller's bad batch, 500
// when the hub failed, 507 when its disk is full and 503 when it did not
// answer in time (both with Retry-After).
http_reply sync_error_reply(const caf::error& err) {
  unsigned status = 503;
  if (is(err, ec::bad_request))
    status = 400;
  else if (is(err, ec::storage_failure))
    status = 500;
  else if (is(err, ec::disk_full))
    status = 507;
  http_reply r{status, write_sync_error(describe(err)), {}};
  if (status == 503)
    r.headers.emplace_back("Retry-After", "1");
  else if (status == 507)
    r.headers.emplace_back("Retry-After", "10");
  return r;
}

// The /health object: node, clock, outbox and the last sync round.
std::string render_health(const node_info& info, const clock_status& cs,
                          uint64_t pending, const sync_status& ss,
                          const storage_status& storage,
                          const schema_catalog& catalog,
                          const hub_database_health* hub_db) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  auto str = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  // Reads keep working on a full disk, and the local API without the hub's
  // database, so the node is degraded, not down.
  std::vector<hub_database_health::entry> dbs;
  if (hub_db)
    dbs = hub_db->snapshot();
  bool dbs_ok = std::all_of(dbs.begin(), dbs.end(),
                            [](const auto& e) { return e.ok; });
  str("status", storage.disk_full || !dbs_ok ? "degraded" : "ok");
  str("node_id", cs.node_id);
  str("group_id", info.group_id);
  str("database", info.database);
  w.Key("merkle_hash");
  w.Int(cs.merkle_hash);
  w.Key("pending");
  w.Uint64(pending);
  str("clock", cs.last);
  w.Key("relayed_groups");
  w.Uint64(cs.relayed_groups);
  w.Key("storage");
  w.StartObject();
  w.Key("disk_full");
  w.Bool(storage.disk_full);
  if (storage.disk_full) {
    str("since", storage.since);
    w.Key("writes_refused");
    w.Uint64(storage.refused);
  }
  w.EndObject();
  // The hub's PostgreSQL databases, as its relays last found them.
  if (hub_db) {
    w.Key("hub_databases");
    w.StartArray();
    for (const auto& e : dbs) {
      w.StartObject();
      str("database", e.database);
      w.Key("ok");
      w.Bool(e.ok);
      if (!e.ok)
        str("error", e.error);
      w.EndObject();
    }
    w.EndArray();
  }
  // The tables served, and definitions that lost to an earlier one of
  // the same field (the same list on every node once synced).
  w.Key("schema");
  w.StartObject();
  w.Key("tables");
  w.Uint64(catalog.defined_tables());
  w.Key("conflicts");
  w.StartArray();
  for (const auto& c : catalog.conflicts()) {
    w.StartObject();
    str("table", c.table);
    str("field", c.field);
    for (auto [key, d] : {std::make_pair("winner", &c.winner),
                          std::make_pair("loser", &c.loser)}) {
      w.Key(key);
      w.StartObject();
      str("type", type_of_definition(d->definition));
      str("definition", d->definition);
      str("timestamp", d->timestamp);
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
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
    str("protocol", ss.protocol);
    w.Key("calls");
    w.Uint64(ss.calls);
    w.Key("bytes_sent");
    w.Uint64(ss.bytes_sent);
    w.Key("bytes_received");
    w.Uint64(ss.bytes_received);
    w.Key("messages_received");
    w.Uint64(ss.messages_received);
    w.EndObject();
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace

void list_settings(const request_context& ctx) {
  read_settings(ctx, {});
}

void get_setting(const request_context& ctx) {
  read_settings(ctx, ctx.param("key"));
}

void set_setting(const request_context& ctx) {
  const std::string table = "config_sync";
  auto parsed = parse_record_body(ctx.body());
  if (!parsed) {
    ctx.reply(error_reply(400, describe(parsed.error()), table));
    return;
  }
  const auto& data = *parsed->data;
  auto key = ctx.param("key");
  std::vector<field_error> errors;
  std::string value, type = "string";
  auto v = data.FindMember("value");
  auto text = v == data.MemberEnd() ? std::nullopt : setting_text(v->value);
  if (!text)
    errors.push_back({"value", "must be a string, number or boolean"});
  else
    value = *text;
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
  if (errors.empty() && !is_sync_setting(key))
    errors.push_back(
        {"key", key + " is not a sync setting (" + sync_setting_list() + ")"});
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
            ctx.reply(ok_reply(
                200, "Successfully updated config_sync", 1,
                json_object({{"key", key}, {"value", value}, {"type", type}})));
          },
          [=](caf::error& err) { ctx.reply(error_reply(err, table)); });
}

void serve_sync(const request_context& ctx) {
  ctx.self->request(ctx.svc().hub, write_timeout, sync_atom::value, ctx.body())
      .then(
          [=](std::string& body) {
            ctx.reply({200, std::move(body), {}});
          },
          [=](caf::error& err) { ctx.reply(sync_error_reply(err)); });
}

// The last step of /health: the writer's view of the disk.
void health_of_storage(const request_context& ctx, const clock_status& cs,
                       uint64_t pending, const sync_status& ss) {
  // As of the writer's last commit: a probe never waits for the one in
  // progress.
  ctx.reply({200,
             render_health(ctx.svc().info, cs, pending, ss,
                           ctx.svc().storage->read(), *ctx.svc().catalog,
                           ctx.svc().hub_database.get()),
             {}});
}

void health(const request_context& ctx) {
  auto self = ctx.self;
  const auto& svc = ctx.svc();
  self->request(svc.clock, read_timeout, status_atom::value)
      .then(
          [=](clock_status& cs) {
            self->request(ctx.svc().queue, read_timeout, status_atom::value)
                .then(
                    [=](uint64_t pending) {
                      self->request(ctx.svc().sync, read_timeout,
                                    status_atom::value)
                          .then(
                              [=](sync_status& ss) {
                                health_of_storage(ctx, cs, pending, ss);
                              },
                              [=](caf::error& err) {
                                ctx.reply(error_reply(err));
                              });
                    },
                    [=](caf::error& err) { ctx.reply(error_reply(err)); });
          },
          [=](caf::error& err) { ctx.reply(error_reply(err)); });
}

// GET /console: the web console's page. It holds no data and no secret;
// everything it shows it reads through the API with the token its user
// logs in for. Scripts and connections are limited to this origin.
void serve_console(const request_context& ctx) {
  http_reply r{200, std::string{console_page()}};
  r.headers = {{"Content-Type", "text/html; charset=utf-8"},
               {"Content-Security-Policy",
                "default-src 'none'; script-src 'unsafe-inline'; "
                "style-src 'unsafe-inline'; connect-src 'self'; "
                "img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                "base-uri 'none'"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-cache"}};
  ctx.reply(std::move(r));
}

// GET /metrics: the process' counters, with the outbox and the sync state
// read now and the log size as of the writer's last commit (like /health,
// never behind a commit in progress).
void serve_metrics(const request_context& ctx) {
  auto self = ctx.self;
  self->request(ctx.svc().queue, read_timeout, status_atom::value)
      .then(
          [=](uint64_t pending) {
            self->request(ctx.svc().sync, read_timeout, status_atom::value)
                .then(
                    [=](sync_status& ss) {
                      scrape_facts f;
                      f.outbox = pending;
                      f.log_messages = ctx.svc().storage->read().log_messages;
                      f.sync_enabled = ss.enabled;
                      f.now_ms = wall_clock_ms();
                      http_reply r{200, metrics::process().render(f), {}};
                      r.headers.emplace_back("Content-Type",
                                             "text/plain; version=0.0.4; "
                                             "charset=utf-8");
                      ctx.reply(std::move(r));
                    },
                    [=](caf::error& err) { ctx.reply(error_reply(err)); });
          },
          [=](caf::error& err) { ctx.reply(error_reply(err)); });
}

} // namespace crdt
