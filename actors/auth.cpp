#include "actors/auth.hpp"

#include "auth/accounts.hpp"
#include "observe/metrics.hpp"
#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <ctime>

namespace crdt {

namespace {

using self_ptr = auth_actor::stateful_pointer<auth_state>;

// How long a start-up write may take.
constexpr auto bootstrap_timeout = std::chrono::seconds(30);

int64_t unix_now() {
  return static_cast<int64_t>(std::time(nullptr));
}

// A wait in whole seconds, rounded up (for Retry-After).
int64_t retry_seconds(login_throttle::duration wait) {
  return (wait.count() + 999) / 1000;
}

// How long the email or the address of a try must still wait.
login_throttle::duration throttled_for(const auth_state& st,
                                       const std::string& email,
                                       const std::string& peer,
                                       login_throttle::clock::time_point now) {
  return std::max(st.by_email.wait("email:" + email, now),
                  peer.empty()
                      ? login_throttle::duration::zero()
                      : st.by_address.wait("addr:" + address_key(peer), now));
}

void count_failure(auth_state& st, const std::string& email,
                   const std::string& peer,
                   login_throttle::clock::time_point now) {
  st.by_email.failure("email:" + email, now);
  if (!peer.empty())
    st.by_address.failure("addr:" + address_key(peer), now);
}

caf::expected<login_grant> check_login(auth_state& st,
                                       const std::string& raw_email,
                                       const std::string& password,
                                       const std::string& peer) {
  auto email = normalize_email(raw_email);
  auto now = login_throttle::clock::now();
  auto wait = throttled_for(st, email, peer, now);
  if (wait > login_throttle::duration::zero()) {
    metrics::process().logins_throttled.add();
    return make_throttled("Too many failed logins, retry later",
                          retry_seconds(wait));
  }
  const read_store::account* match = nullptr;
  std::vector<read_store::account> found;
  if (auto rows = st.store->accounts_by_email(email)) {
    found = std::move(*rows);
    for (const auto& a : found)
      if (verify_password(password, a.password_hash)) {
        match = &a;
        break;
      }
  }
  if (found.empty()) {
    // Spend the time a known email costs, so timing does not tell which
    // emails have accounts.
    if (st.decoy_hash.empty())
      if (auto h = hash_password(random_hex(16)))
        st.decoy_hash = std::move(*h);
    verify_password(password, st.decoy_hash);
  }
  if (!match) {
    metrics::process().login_failures.add();
    count_failure(st, email, peer, now);
    return make_error(ec::unauthorized, "Invalid email or password");
  }
  st.by_email.success("email:" + email);
  token_claims c;
  c.account_id = match->id;
  c.organization_id = match->organization_id;
  c.role = match->role;
  c.group_id = st.group;
  c.issued_at = unix_now();
  c.expires_at = c.issued_at + st.token_ttl;
  auto token = sign_token(c, st.token_key);
  if (!token)
    return token.error();
  return login_grant{std::move(*token), std::move(c)};
}

// Refuses at once when more requests wait in the mailbox than the bound:
// each costs a password hash (tens of milliseconds), so a flood of them
// would otherwise queue every login into its timeout.
caf::error refuse_if_crowded(auth_actor::stateful_pointer<auth_state> self) {
  if (self->mailbox().size() >= self->state.max_waiting)
    return make_error(ec::overloaded,
                      "Too many logins in progress, retry later");
  return caf::none;
}

// Checks the current password of the caller's account and answers the
// change that stores a hash of the new one.
caf::expected<record_change> change_password(auth_state& st,
                                             const principal& who,
                                             const std::string& current,
                                             const std::string& next,
                                             const std::string& peer) {
  auto problem = password_problem(next);
  if (!problem.empty())
    return make_error(ec::invalid_schema, "new_password " + problem);
  auto account = st.store->account_by_id(who.account_id);
  if (!account)
    return make_error(ec::unauthorized, "The account no longer exists");
  auto now = login_throttle::clock::now();
  auto wait = throttled_for(st, account->email, peer, now);
  if (wait > login_throttle::duration::zero())
    return make_throttled("Too many failed attempts, retry later",
                          retry_seconds(wait));
  if (!verify_password(current, account->password_hash)) {
    count_failure(st, account->email, peer, now);
    return make_error(ec::forbidden, "current_password is wrong");
  }
  auto hash = hash_password(next);
  if (!hash)
    return hash.error();
  record_change c;
  c.kind = record_change::update;
  c.table = accounts_table;
  c.id = account->id;
  c.fields.emplace_back("password_hash", value{std::move(*hash)});
  c.who = who;
  c.must_be = precondition::live;
  return c;
}

caf::expected<record_change> prepare_account(auth_state& st,
                                             const account_request& req) {
  auto email = normalize_email(req.email);
  auto problem = email_problem(email);
  if (!problem.empty())
    return make_error(ec::invalid_schema, "email " + problem);
  problem = password_problem(req.password);
  if (!problem.empty())
    return make_error(ec::invalid_schema, "password " + problem);
  if (req.role != admin_role && req.role != member_role)
    return make_error(ec::invalid_schema, "role must be admin or member");
  auto existing = st.store->accounts_by_email(email);
  if (!existing)
    return existing.error();
  if (!existing->empty())
    return make_error(ec::conflict, "An account with this email exists");
  auto hash = hash_password(req.password);
  if (!hash)
    return hash.error();
  auto id = req.id.empty() ? make_ulid(wall_clock_ms()) : req.id;
  return make_account(id, email, *hash, req.role, req.by);
}

} // namespace

auth_actor::behavior_type auth(auth_actor::stateful_pointer<auth_state> self,
                               std::unique_ptr<read_store> store,
                               applier_actor applier, auth_options opts) {
  self->state.store = std::move(store);
  self->state.applier = std::move(applier);
  self->state.token_key = std::move(opts.token_key);
  self->state.group = std::move(opts.group);
  self->state.token_ttl = opts.token_ttl;
  self->state.node_id = std::move(opts.node_id);
  self->state.max_waiting = opts.max_waiting;
  return {
      [=](login_atom, const std::string& email, const std::string& password,
          const std::string& peer) -> caf::result<login_grant> {
        if (auto err = refuse_if_crowded(self)) {
          metrics::process().logins_throttled.add();
          return err;
        }
        auto grant = check_login(self->state, email, password, peer);
        if (!grant)
          return grant.error();
        return std::move(*grant);
      },
      [=](account_atom,
          const account_request& req) -> caf::result<record_change> {
        if (auto err = refuse_if_crowded(self))
          return err;
        auto change = prepare_account(self->state, req);
        if (!change)
          return change.error();
        return std::move(*change);
      },
      [=](password_atom, const principal& who, const std::string& current,
          const std::string& next,
          const std::string& peer) -> caf::result<record_change> {
        if (auto err = refuse_if_crowded(self))
          return err;
        auto change = change_password(self->state, who, current, next, peer);
        if (!change)
          return change.error();
        return std::move(*change);
      },
      [=](bootstrap_atom,
          const bootstrap_request& req) -> caf::result<bootstrap_result> {
        auto& st = self->state;
        bootstrap_result out;
        auto email = normalize_email(req.admin_email);
        out.account_id = admin_account_id(req.organization_id, email);
        auto org_state
            = st.store->state(organizations_table, req.organization_id, "");
        auto account_state
            = st.store->state(accounts_table, out.account_id, "");
        if (!org_state)
          return org_state.error();
        if (!account_state)
          return account_state.error();
        // The admin acts on its own behalf: it creates itself.
        principal admin{req.organization_id, out.account_id, admin_role};
        std::vector<record_change> changes;
        if (*org_state == record_state::absent) {
          changes.push_back(make_organization(req.organization_id,
                                              req.organization_name, admin));
          out.created_organization = true;
        }
        // An existing admin (even one deleted on purpose) is left alone, so
        // a restart never changes its password; so is an email that another
        // account already uses.
        auto taken = st.store->accounts_by_email(email);
        if (!taken)
          return taken.error();
        bool missing = *account_state == record_state::absent && taken->empty();
        if (missing && req.admin_password.empty() && req.from_group) {
          out.deferred = true;
        } else if (missing) {
          auto password = req.admin_password;
          if (password.empty())
            password = out.generated_password = random_password();
          account_request a{email, password, admin_role, admin, out.account_id};
          auto change = prepare_account(st, a);
          if (!change)
            return change.error();
          changes.push_back(std::move(*change));
          out.created_account = true;
        }
        if (changes.empty())
          return out;
        // Stamped at the organization's own time, not now: see
        // founding_stamps(). They enter like received messages (the clock
        // merges them) and go to the outbox like local writes, so they reach
        // the hub by the same bounded path as every other message.
        auto msgs = make_messages(
            changes, founding_stamps(req.organization_id, st.node_id,
                                     message_count(changes)));
        auto rp = self->make_response_promise<bootstrap_result>();
        self->request(st.applier, bootstrap_timeout, apply_atom::value,
                      incoming{{}, std::move(msgs), true, {}, {}})
            .then([=](size_t) mutable { rp.deliver(out); },
                  [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
  };
}

} // namespace crdt
