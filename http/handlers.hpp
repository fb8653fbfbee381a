#pragma once

// What route handlers share: the context of one routed request and the
// handlers themselves, one file per route family (store_routes.cpp,
// auth_routes.cpp, node_routes.cpp). Internal to http/.

#include "auth/accounts.hpp"
#include "http/api.hpp"
#include "http/router.hpp"
#include "http/session.hpp"
#include "protocol/error.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <map>
#include <memory>
#include <string>

namespace crdt {

/// A request with what routing found in it.
struct routed_request {
  http_request req;
  target tgt;
  std::map<std::string, std::string> params;
  /// The matched route's pattern, e.g. "/store/:table".
  const char* route = nullptr;
};

/// One request on its way through a session: cheap to copy into the
/// continuations of the requests a handler makes.
struct request_context {
  session_actor::stateful_pointer<session_state> self;
  std::shared_ptr<const routed_request> in;
  /// The caller, for routes that need a token.
  std::shared_ptr<const principal> caller;

  const principal& who() const {
    return *caller;
  }

  const services& svc() const {
    return *self->state.svc;
  }

  const std::string& body() const {
    return in->req.body;
  }

  /// A captured path parameter ("" when absent).
  const std::string& param(const char* name) const;

  /// The next reader of the pool (round robin per connection).
  const reader_actor& reader() const;

  /// Answers the request.
  void reply(http_reply r) const;
};

/// Stamps and commits changes (each checked by the writer against its
/// precondition), then answers with `on_done(first stamp)`; failures are
/// answered as errors naming `table`. No timer here: the applier answers a
/// local write that misses its deadline (local_write_deadline) itself.
template <class F>
void write(const request_context& ctx, std::vector<record_change> changes,
           const std::string& table, F on_done) {
  ctx.self
      ->request(ctx.svc().applier, caf::infinite, write_atom::value,
                std::move(changes))
      .then([=](std::string& first) { on_done(first); },
            [=](caf::error& err) { ctx.reply(error_reply(err, table)); });
}

/// Asks a reader whether `who`'s account still exists, then runs
/// `on_state(record_state&)` or `on_error(caf::error&)`: a token is good
/// only while its account is (checked by sessions and change-feed streams).
template <class F, class G>
void check_account(const request_context& ctx, const principal& who,
                   F on_state, G on_error) {
  ctx.self
      ->request(ctx.reader(), read_timeout, exists_atom::value,
                std::string{accounts_table}, who.account_id,
                who.organization_id)
      .then(std::move(on_state), std::move(on_error));
}

// -- records (store_routes.cpp) -----------------------------------------------

/// The route's table; replies 404 (and answers null) when it does not exist
/// or is one of the service's own tables.
table_ptr find_table(const request_context& ctx);

void create_record(const request_context& ctx);
void list_records(const request_context& ctx);
void get_record(const request_context& ctx);
void update_record(const request_context& ctx);
void delete_record(const request_context& ctx);

// -- the change feed (feed_routes.cpp) ------------------------------------------

void watch_changes(const request_context& ctx);

/// What a session following a feed does with the feed's changes, its
/// connection's drained queue and its timer.
void feed_changes(session_actor::stateful_pointer<session_state> self,
                  const feed_batch_ptr& batch);
void feed_drained(session_actor::stateful_pointer<session_state> self);
void feed_timer(session_actor::stateful_pointer<session_state> self,
                uint64_t generation);
void feed_client_gone(session_actor::stateful_pointer<session_state> self);

// -- organizations and accounts (auth_routes.cpp) -----------------------------

void login(const request_context& ctx);
void list_accounts(const request_context& ctx);
void create_account(const request_context& ctx);
void delete_account(const request_context& ctx);
void change_password(const request_context& ctx);
void create_organization(const request_context& ctx);

// -- table definitions (schema_routes.cpp) ------------------------------------

void list_tables(const request_context& ctx);
void get_table(const request_context& ctx);
void define_table(const request_context& ctx);
void serve_openapi(const request_context& ctx);

// -- the node: settings, sync, health (node_routes.cpp) -----------------------

void list_settings(const request_context& ctx);
void get_setting(const request_context& ctx);
void set_setting(const request_context& ctx);
void serve_sync(const request_context& ctx);
void health(const request_context& ctx);
void serve_metrics(const request_context& ctx);
void serve_console(const request_context& ctx);

} // namespace crdt
