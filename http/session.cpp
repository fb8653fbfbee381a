#include "http/session.hpp"

#include "auth/accounts.hpp"
#include "auth/credentials.hpp"
#include "http/handlers.hpp"
#include "http/routes.hpp"
#include "protocol/sync.hpp"

#include <caf/all.hpp>

#include <ctime>

namespace crdt {

const std::string& request_context::param(const char* name) const {
  static const std::string empty;
  auto it = in->params.find(name);
  return it == in->params.end() ? empty : it->second;
}

const reader_actor& request_context::reader() const {
  const auto& readers = svc().readers;
  return readers[self->state.next_reader++ % readers.size()];
}

void request_context::reply(http_reply r) const {
  r.route = in->route;
  if (caller)
    r.organization = caller->organization_id;
  self->state.sink->send(in->req.seq, std::move(r));
}

namespace {

// Whether the authenticated caller may call a route of level `who`;
// answers 403 when not.
bool allowed(const request_context& ctx, access_level who) {
  const auto& p = ctx.who();
  if (who == access_level::admin && p.role != admin_role) {
    ctx.reply(error_reply(403, "Only an admin may do this"));
    return false;
  }
  if ((who == access_level::node_admin || who == access_level::metrics_reader)
      && (p.role != admin_role
          || p.organization_id != ctx.svc().info.default_org)) {
    ctx.reply(error_reply(
        403, "Only an admin of the default organization may do this"));
    return false;
  }
  return true;
}

// Checks the bearer token, then the caller's role, then runs the handler.
// A token verified on this connection is remembered until it expires; the
// account behind it is looked up on first use and again every
// services::account_recheck_seconds, so a deleted account loses access at
// once on new connections and within that time on kept-alive ones.
void authenticate_then_run(request_context ctx, const route* row) {
  auto& st = ctx.self->state;
  const auto& header = ctx.in->req.authorization;
  auto token = bearer_token(header);
  if (token.empty()) {
    ctx.reply(unauthorized_reply(header.empty()
                                     ? "Missing bearer token"
                                     : "Invalid authorization header"));
    return;
  }
  auto now = static_cast<int64_t>(std::time(nullptr));
  if (token == st.token && now < st.token_expires
      && now - st.token_checked < st.svc->account_recheck_seconds) {
    ctx.caller = st.who;
    if (allowed(ctx, row->who))
      row->handler(ctx);
    return;
  }
  std::string copy{token};
  auto claims
      = verify_token(copy, st.svc->info.token_key, st.svc->info.group_id, now);
  if (!claims) {
    ctx.reply(unauthorized_reply(describe(claims.error())));
    return;
  }
  auto who = std::make_shared<const principal>(
      principal{claims->organization_id, claims->account_id, claims->role});
  auto expires = claims->expires_at;
  check_account(
      ctx, *who,
      [=](record_state state) mutable {
        if (state != record_state::live) {
          ctx.reply(unauthorized_reply("The account no longer exists"));
          return;
        }
        auto& st = ctx.self->state;
        st.token = copy;
        st.token_expires = expires;
        st.token_checked = now;
        st.who = who;
        ctx.caller = who;
        if (allowed(ctx, row->who))
          row->handler(ctx);
      },
      [=](caf::error& err) { ctx.reply(error_reply(err)); });
}

} // namespace

session_actor::behavior_type
session(session_actor::stateful_pointer<session_state> self,
        std::shared_ptr<const services> svc, std::shared_ptr<reply_sink> sink) {
  self->state.svc = std::move(svc);
  self->state.sink = std::move(sink);
  // Spread the connections over the readers.
  self->state.next_reader = self->id();
  return {
      [=](http_request& req) {
        auto tgt = parse_target(req.target);
        if (!tgt) {
          self->state.sink->send(req.seq,
                                 error_reply(400, "Malformed request target: bad "
                                                 "percent-encoding, or not "
                                                 "UTF-8 text"));
          return;
        }
        auto match = match_route(routes(), req.method, tgt->segments);
        if (!match.row) {
          auto r = match.status == 405 ? error_reply(405, "Method Not Allowed")
                                       : error_reply(404, "Not Found");
          if (match.status == 405)
            r.headers.emplace_back("Allow", match.allow);
          self->state.sink->send(req.seq, std::move(r));
          return;
        }
        const auto& row = *match.row;
        auto in = std::make_shared<routed_request>();
        in->req = std::move(req);
        in->tgt = std::move(*tgt);
        in->params = std::move(match.params);
        in->route = row.path;
        // A browser's EventSource cannot send headers: the change feed also
        // takes its token as ?access_token= (logs record route patterns,
        // never paths, so it is not written anywhere by this server).
        if (row.handler == watch_changes && in->req.authorization.empty())
          for (const auto& [key, val] : in->tgt.query)
            if (key == "access_token")
              in->req.authorization = "Bearer " + val;
        request_context ctx{self, std::move(in), nullptr};
        switch (row.who) {
        case access_level::anyone:
          row.handler(ctx);
          break;
        case access_level::peer: {
          const auto& secret = ctx.svc().info.sync_secret;
          auto refusal = sync_refusal(secret, ctx.in->req.sync_secret,
                                      ctx.in->req.local);
          // Without a secret the hub trusts its own machine's callers, and
          // a web page open there is one: its browser would deliver the
          // page's POST (and its messages) even though the page could not
          // read the answer. Nodes never send Origin; browsers do.
          if (refusal.empty() && secret.empty() && !ctx.in->req.origin.empty())
            refusal = "a web page may not call /sync of a hub without "
                      "SYNC_SECRET (set one to serve browser clients)";
          if (refusal.empty())
            row.handler(ctx);
          else
            ctx.reply({401, write_sync_error(refusal), {}});
          break;
        }
        case access_level::metrics_reader: {
          const auto& want = ctx.svc().info.metrics_token;
          if (!want.empty()
              && same_secret(bearer_token(ctx.in->req.authorization), want)) {
            row.handler(ctx);
            break;
          }
          authenticate_then_run(std::move(ctx), &row);
          break;
        }
        default:
          authenticate_then_run(std::move(ctx), &row);
        }
      },
      [=](feed_atom, const feed_batch_ptr& batch) {
        feed_changes(self, batch);
      },
      [=](drained_atom) { feed_drained(self); },
      [=](heartbeat_atom, uint64_t generation) {
        feed_timer(self, generation);
      },
      [=](leave_atom) { feed_client_gone(self); },
  };
}

} // namespace crdt
