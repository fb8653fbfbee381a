// Organizations, accounts and tokens: login, the accounts of an
// organization, password changes, new organizations.

#include "http/handlers.hpp"

#include "auth/accounts.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <caf/all.hpp>

#include <optional>

namespace crdt {

namespace {

// Reads the string members of a `{"data":{…}}` body (name, required);
// answers 400 and returns nothing when it does not fit.
std::optional<std::map<std::string, std::string>>
read_strings(const request_context& ctx,
             const std::vector<std::pair<std::string, bool>>& names,
             const char* what) {
  auto parsed = parse_record_body(ctx.body());
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

// Asks the auth actor, which hashes one password at a time and refuses
// at once (503) when too many requests wait for it.
template <class Result, class OnOk, class... Ts>
void ask_auth(const request_context& ctx, OnOk on_ok, Ts&&... xs) {
  ctx.self->request(ctx.svc().auth, auth_timeout, std::forward<Ts>(xs)...)
      .then([=](Result& r) mutable { on_ok(r); },
            [=](caf::error& err) { ctx.reply(error_reply(err)); });
}

// Asks the auth actor to prepare an account (email free, password hashed),
// then commits it together with `extra` changes made before it.
template <class F>
void add_account(const request_context& ctx, account_request req,
                 std::vector<record_change> extra, F on_done) {
  ask_auth<record_change>(
      ctx,
      [=](record_change& account) mutable {
        auto created = account;
        extra.push_back(std::move(account));
        write(ctx, std::move(extra), {}, [=](const std::string& first) {
          on_done(created, iso8601_of(first));
        });
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

} // namespace

void login(const request_context& ctx) {
  auto in = read_strings(ctx, {{"email", true}, {"password", true}},
                         "Invalid login");
  if (!in)
    return;
  ask_auth<login_grant>(
      ctx,
      [=](login_grant& g) {
        auto row = json_object(
            {{"token", g.token},
             {"account_id", g.claims.account_id},
             {"organization_id", g.claims.organization_id},
             {"role", g.claims.role},
             {"expires_at", iso8601(g.claims.expires_at * 1000)}});
        ctx.reply(ok_reply(200, "Successfully logged in", 1, row));
      },
      login_atom::value, (*in)["email"], (*in)["password"], ctx.in->req.peer);
}

void list_accounts(const request_context& ctx) {
  read_store::list_query q;
  // Never the password hash.
  q.pluck = {"email",      "role",       "organization_id",
             "created_by", "created_at", "updated_at"};
  q.order = "email";
  ctx.self
      ->request(ctx.reader(), read_timeout, list_atom::value,
                std::string{accounts_table}, q, ctx.who().organization_id)
      .then(
          [=](list_result& r) {
            ctx.reply(ok_reply(200, "Successfully fetched accounts", r.count,
                               r.rows));
          },
          [=](caf::error& err) { ctx.reply(error_reply(err)); });
}

void create_account(const request_context& ctx) {
  auto in = read_strings(ctx,
                         {{"email", true}, {"password", true}, {"role", false}},
                         "Invalid account");
  if (!in)
    return;
  account_request req;
  req.email = (*in)["email"];
  req.password = (*in)["password"];
  req.role = in->count("role") ? (*in)["role"] : member_role;
  req.by = ctx.who();
  add_account(ctx, std::move(req), {},
              [=](const record_change& c, const std::string& at) {
                ctx.reply(ok_reply(201, "Successfully created account", 1,
                                   render_account(c, at)));
              });
}

void delete_account(const request_context& ctx) {
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
  change.must_be = precondition::live;
  write(ctx, {std::move(change)}, {}, [=](const std::string&) {
    ctx.reply(ok_reply(200, "Successfully deleted account", 1,
                       json_object({{"id", id}})));
  });
}

void change_password(const request_context& ctx) {
  auto in
      = read_strings(ctx, {{"current_password", true}, {"new_password", true}},
                     "Invalid password change");
  if (!in)
    return;
  ask_auth<record_change>(
      ctx,
      [=](record_change& change) {
        auto id = change.id;
        write(ctx, {std::move(change)}, {}, [=](const std::string&) {
          ctx.reply(ok_reply(200, "Successfully changed the password", 1,
                             json_object({{"id", id}})));
        });
      },
      password_atom::value, ctx.who(), (*in)["current_password"],
      (*in)["new_password"], ctx.in->req.peer);
}

void create_organization(const request_context& ctx) {
  auto in = read_strings(
      ctx, {{"name", true}, {"admin_email", true}, {"admin_password", true}},
      "Invalid organization");
  if (!in)
    return;
  auto name = (*in)["name"];
  if (name.empty() || name.size() > 200) {
    ctx.reply(error_reply(400, "Invalid organization", {},
                          {{"name", "must be 1 to 200 characters"}}));
    return;
  }
  auto id = make_ulid(wall_clock_ms());
  principal creator{id, ctx.who().account_id, admin_role};
  account_request req;
  req.email = (*in)["admin_email"];
  req.password = (*in)["admin_password"];
  req.role = admin_role;
  req.by = creator;
  add_account(ctx, std::move(req), {make_organization(id, name, creator)},
              [=](const record_change& admin, const std::string& at) {
                auto row = json_object({{"id", id},
                                        {"name", name},
                                        {"admin_account_id", admin.id},
                                        {"created_by", creator.account_id},
                                        {"created_at", at}});
                ctx.reply(
                    ok_reply(201, "Successfully created organization", 1, row));
              });
}

} // namespace crdt
