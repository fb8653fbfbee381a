#include "http/session.hpp"

#include "http/api.hpp"
#include "config/settings.hpp"
#include "http/router.hpp"
#include "protocol/accounts.hpp"
#include "protocol/credentials.hpp"
#include "protocol/error.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <caf/all.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ctime>
#include <map>
#include <optional>

namespace crdt {

namespace {

using self_ptr = session_actor::stateful_pointer<session_state>;

struct context {
  self_ptr self;
  uint64_t seq;
  route_match match;
  target tgt;
  /// The caller, for routes that need a token (shared: every continuation
  /// copies the context).
  std::shared_ptr<const principal> caller;

  const principal& who() const {
    return *caller;
  }

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

const std::string& org_of(const context& ctx) {
  return ctx.who().organization_id;
}

// Whether the route needs a bearer token.
bool needs_token(route r) {
  return r != route::login && r != route::health && r != route::sync;
}

// Replies 403 unless the caller is an admin.
bool require_admin(const context& ctx) {
  if (ctx.who().role == admin_role)
    return true;
  ctx.reply(error_reply(403, "Only an admin may do this"));
  return false;
}

// Replies 403 unless the caller is an admin of the default organization:
// the node's operators. Node-wide matters (sync settings, new
// organizations) are theirs alone, since they touch every organization's
// data.
bool require_operator(const context& ctx) {
  if (ctx.who().role == admin_role
      && ctx.who().organization_id == ctx.svc().info.default_org)
    return true;
  ctx.reply(error_reply(
    403, "Only an admin of the default organization may do this"));
  return false;
}

// Finds the route's table; replies 404 when it does not exist (or is one
// of the service's own tables, which have their own routes).
const table_schema* find_table(const context& ctx) {
  const auto& name = ctx.param("table");
  auto it = ctx.svc().schemas.find(name);
  if (it == ctx.svc().schemas.end() || is_internal_table(name)) {
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

// Commits `change` when its record is live in the caller's organization,
// then answers with `on_done(first stamp)`; 404 otherwise (error answers
// name `shown_table`).
template <class F>
void write_if_live(const context& ctx, record_change change,
                   const std::string& shown_table, F on_done) {
  auto table = change.table;
  auto id = change.id;
  ctx.self
    ->request(ctx.svc().reader(), read_timeout, exists_atom::value, table, id,
              org_of(ctx))
    .then(
      [=](int state) {
        if (state != 1) {
          ctx.reply(error_reply(404, "Not Found", shown_table));
          return;
        }
        write(ctx, change, on_done);
      },
      [=](caf::error& err) { ctx.reply(error_reply(err, shown_table)); });
}

// Answers the record as it is now stored.
void reply_record(const context& ctx, const std::string& table,
                  const std::string& id, unsigned status, std::string message) {
  ctx.self
    ->request(ctx.svc().reader(), read_timeout, get_atom::value, table, id,
              org_of(ctx))
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
                            ctx.who());
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
    ->request(ctx.svc().reader(), read_timeout, exists_atom::value, table, id,
              org_of(ctx))
    .then(
      [=](int state) {
        // Also when another organization holds the id: a create must
        // never overwrite someone else's record.
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
    change = make_change(kind, *t, id, *parsed->data, ctx.who());
  } else {
    change = make_change(kind, *t, id, rapidjson::Value{},
                         ctx.who());
  }
  write_if_live(ctx, std::move(change), table, [=](const std::string&) {
    if (kind == record_change::update)
      reply_record(ctx, table, id, 200, "Successfully updated in " + table);
    else
      ctx.reply(ok_reply(200, "Successfully deleted from " + table, 1,
                         json_object({{"id", id}})));
  });
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
    ->request(ctx.svc().reader(), read_timeout, list_atom::value, table, *q,
              org_of(ctx))
    .then(
      [=](list_result& r) {
        ctx.reply(ok_reply(200, "Successfully fetched from " + table, r.count,
                           r.rows));
      },
      [=](caf::error& err) { ctx.reply(error_reply(err, table)); });
}

void handle_config_read(const context& ctx, const std::string& key) {
  if (!require_operator(ctx))
    return;
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
  if (!require_operator(ctx))
    return;
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

void handle_sync(const context& ctx, const std::string& body,
                 const std::string& secret, const std::string& peer) {
  auto refusal = sync_refusal(ctx.svc().info.sync_secret, secret, peer);
  if (!refusal.empty()) {
    ctx.reply({401, write_sync_error(refusal), {}});
    return;
  }
  ctx.self
    ->request(ctx.svc().hub, write_timeout, sync_atom::value, body)
    .then([=](http_reply& r) { ctx.reply(std::move(r)); },
          [=](caf::error& err) {
            ctx.reply({503, write_sync_error(describe(err)), {}});
          });
}

// Parses a `{"data":{…}}` body of string members (name, required);
// replies 400 naming `what` and returns nothing when it does not fit.
std::optional<std::map<std::string, std::string>>
read_strings(const context& ctx, const std::string& body,
             const std::vector<std::pair<std::string, bool>>& names,
             const char* what) {
  auto parsed = parse_record_body(body);
  if (!parsed) {
    ctx.reply(error_reply(400, describe(parsed.error())));
    return std::nullopt;
  }
  std::vector<field_error> errors;
  auto out = string_members(*parsed->data, names, errors);
  if (!errors.empty()) {
    ctx.reply(error_reply(400, what, {}, errors));
    return std::nullopt;
  }
  return out;
}

// Asks the auth actor, which hashes one password at a time (tens of
// milliseconds each): beyond max_auth_waiting requests in flight, new ones
// are refused at once (503 with Retry-After) instead of queueing into
// timeouts, so a flood of logins cannot stall every other.
template <class Result, class OnOk, class... Ts>
void ask_auth(const context& ctx, OnOk on_ok, Ts&&... xs) {
  auto svc = ctx.self->state.svc;
  if (svc->auth_waiting.fetch_add(1) >= max_auth_waiting) {
    svc->auth_waiting.fetch_sub(1);
    ctx.reply(error_reply(503, "Too many logins in progress, retry later"));
    return;
  }
  ctx.self->request(svc->auth, auth_timeout, std::forward<Ts>(xs)...)
    .then(
      [=](Result& r) mutable {
        svc->auth_waiting.fetch_sub(1);
        on_ok(r);
      },
      [=](caf::error& err) {
        svc->auth_waiting.fetch_sub(1);
        ctx.reply(error_reply(err));
      });
}

void handle_login(const context& ctx, const std::string& body,
                  const std::string& peer) {
  auto read = read_strings(ctx, body, {{"email", true}, {"password", true}},
                           "Invalid login");
  if (!read)
    return;
  auto& in = *read;
  ask_auth<login_result>(
    ctx,
      [=](login_result& r) {
        if (r.status == 429) {
          auto reply = error_reply(429, "Too many failed logins, retry later");
          reply.headers.emplace_back("Retry-After",
                                     std::to_string(r.retry_after));
          ctx.reply(std::move(reply));
        } else if (r.status == 401) {
          ctx.reply(unauthorized_reply("Invalid email or password"));
        } else if (r.status != 200) {
          ctx.reply(error_reply(500, "Cannot issue a token"));
        } else {
          auto row = json_object(
            {{"token", r.token},
             {"account_id", r.claims.account_id},
             {"organization_id", r.claims.organization_id},
             {"role", r.claims.role},
             {"expires_at", iso8601(r.claims.expires_at * 1000)}});
          ctx.reply(ok_reply(200, "Successfully logged in", 1, row));
        }
      },
    login_atom::value, in["email"], in["password"], peer);
}

void handle_accounts_list(const context& ctx) {
  if (!require_admin(ctx))
    return;
  read_store::list_query q;
  // Never the password hash.
  q.pluck = {"email", "role", "organization_id", "created_by", "created_at",
             "updated_at"};
  q.order = "email";
  ctx.self
    ->request(ctx.svc().reader(), read_timeout, list_atom::value,
              std::string{accounts_table}, q, org_of(ctx))
    .then(
      [=](list_result& r) {
        ctx.reply(ok_reply(200, "Successfully fetched accounts", r.count,
                           r.rows));
      },
      [=](caf::error& err) { ctx.reply(error_reply(err)); });
}

// Asks the auth actor to prepare an account (email free, password hashed),
// then commits it together with `extra` changes made before it.
template <class F>
void create_account(const context& ctx, account_request req,
                    std::vector<record_change> extra, F on_done) {
  ask_auth<record_change>(
    ctx,
      [=](record_change& account) mutable {
        auto created = account;
        extra.push_back(std::move(account));
        ctx.self
          ->request(ctx.svc().applier, write_timeout, write_atom::value,
                    std::move(extra))
          .then(
            [=](const std::string& first) {
              auto ts = parse_timestamp(first);
              on_done(created, iso8601(ts ? ts->millis : 0));
            },
            [=](caf::error& err) { ctx.reply(error_reply(err)); });
      },
    account_atom::value, req);
}

// The account's fields as an answer shows them (never the hash).
std::string render_account(const record_change& c, const std::string& at) {
  std::vector<std::pair<std::string, std::string>> out{{"id", c.id}};
  for (const auto& [name, v] : c.fields)
    if (name != "password_hash")
      if (auto* text = std::get_if<std::string>(&v))
        out.emplace_back(name, *text);
  out.emplace_back("organization_id", c.who.organization_id);
  out.emplace_back("created_by", c.who.account_id);
  out.emplace_back("created_at", at);
  return json_object(out);
}

void handle_accounts_create(const context& ctx, const std::string& body) {
  if (!require_admin(ctx))
    return;
  auto read = read_strings(
    ctx, body, {{"email", true}, {"password", true}, {"role", false}},
    "Invalid account");
  if (!read)
    return;
  auto& in = *read;
  account_request req;
  req.email = in["email"];
  req.password = in["password"];
  req.role = in.count("role") ? in["role"] : member_role;
  req.by = ctx.who();
  create_account(ctx, std::move(req), {},
                 [=](const record_change& c, const std::string& at) {
                   ctx.reply(ok_reply(201, "Successfully created account", 1,
                                      render_account(c, at)));
                 });
}

void handle_account_delete(const context& ctx) {
  if (!require_admin(ctx))
    return;
  auto id = ctx.param("id");
  if (id == ctx.who().account_id) {
    ctx.reply(error_reply(400, "An admin cannot delete its own account"));
    return;
  }
  record_change change;
  change.kind = record_change::remove;
  change.table = accounts_table;
  change.id = id;
  change.who = ctx.who();
  write_if_live(ctx, std::move(change), {}, [=](const std::string&) {
    ctx.reply(ok_reply(200, "Successfully deleted account", 1,
                       json_object({{"id", id}})));
  });
}

void handle_password_change(const context& ctx, const std::string& body,
                            const std::string& peer) {
  auto read = read_strings(
    ctx, body, {{"current_password", true}, {"new_password", true}},
    "Invalid password change");
  if (!read)
    return;
  auto& in = *read;
  ask_auth<record_change>(
    ctx,
    [=](record_change& change) {
      auto id = change.id;
      write(ctx, std::move(change), [=](const std::string&) {
        ctx.reply(ok_reply(200, "Successfully changed the password", 1,
                           json_object({{"id", id}})));
      });
    },
    password_atom::value, ctx.who(), in["current_password"], in["new_password"],
    peer);
}

void handle_organizations_create(const context& ctx, const std::string& body) {
  if (!require_operator(ctx))
    return;
  auto read = read_strings(
    ctx, body,
    {{"name", true}, {"admin_email", true}, {"admin_password", true}},
    "Invalid organization");
  if (!read)
    return;
  auto& in = *read;
  if (in["name"].empty() || in["name"].size() > 200) {
    ctx.reply(error_reply(400, "Invalid organization", {},
                          {{"name", "must be 1 to 200 characters"}}));
    return;
  }
  auto id = make_ulid(wall_clock_ms());
  principal creator{id, ctx.who().account_id, admin_role};
  auto name = in["name"];
  account_request req;
  req.email = in["admin_email"];
  req.password = in["admin_password"];
  req.role = admin_role;
  req.by = creator;
  create_account(ctx, std::move(req), {make_organization(id, name, creator)},
                 [=](const record_change& admin, const std::string& at) {
                   auto row = json_object({{"id", id},
                                           {"name", name},
                                           {"admin_account_id", admin.id},
                                           {"created_by", creator.account_id},
                                           {"created_at", at}});
                   ctx.reply(ok_reply(201, "Successfully created organization",
                                      1, row));
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

// Runs the handler of a routed (and, where needed, authenticated) request.
void dispatch(const context& ctx, const http_request& req) {
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
      handle_sync(ctx, req.body, req.sync_secret, req.peer);
      break;
    case route::login:
      handle_login(ctx, req.body, req.peer);
      break;
    case route::accounts_list:
      handle_accounts_list(ctx);
      break;
    case route::accounts_create:
      handle_accounts_create(ctx, req.body);
      break;
    case route::organizations_create:
      handle_organizations_create(ctx, req.body);
      break;
    case route::account_delete:
      handle_account_delete(ctx);
      break;
    case route::password_change:
      handle_password_change(ctx, req.body, req.peer);
      break;
    default:
      ctx.reply(error_reply(404, "Not Found"));
  }
}

// Checks the bearer token of a request that needs one, then dispatches it.
// A token verified on this connection is remembered until it expires; the
// account behind it is looked up on first use and again every
// account_recheck seconds, so a deleted account loses access at once on
// new connections and within that time on kept-alive ones.
void authenticate_then_dispatch(context ctx, const http_request& req) {
  auto& st = ctx.self->state;
  auto token = bearer_token(req.authorization);
  if (token.empty()) {
    ctx.reply(unauthorized_reply(req.authorization.empty()
                                   ? "Missing bearer token"
                                   : "Invalid authorization header"));
    return;
  }
  auto now = static_cast<int64_t>(std::time(nullptr));
  if (token == st.token && now < st.token_expires
      && now - st.token_checked < account_recheck_seconds) {
    ctx.caller = st.who;
    dispatch(ctx, req);
    return;
  }
  std::string copy{token};
  auto claims = verify_token(copy, st.svc->info.token_key,
                             st.svc->info.group_id, now);
  if (!claims) {
    ctx.reply(unauthorized_reply(describe(claims.error())));
    return;
  }
  auto who = std::make_shared<const principal>(principal{
    claims->organization_id, claims->account_id, claims->role});
  auto expires = claims->expires_at;
  auto held = std::make_shared<const http_request>(req);
  ctx.self
    ->request(st.svc->reader(), read_timeout, exists_atom::value,
              std::string{accounts_table}, who->account_id,
              who->organization_id)
    .then(
      [=](int state) mutable {
        if (state != 1) {
          ctx.reply(unauthorized_reply("The account no longer exists"));
          return;
        }
        auto& st = ctx.self->state;
        st.token = copy;
        st.token_expires = expires;
        st.token_checked = now;
        st.who = who;
        ctx.caller = who;
        dispatch(ctx, *held);
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
      context ctx{self, req.seq, std::move(match), std::move(*tgt), {}};
      if (needs_token(*ctx.match.which))
        authenticate_then_dispatch(std::move(ctx), req);
      else
        dispatch(ctx, req);
    },
  };
}

} // namespace crdt
