// The change feed: GET /store/:table/changes, as Server-Sent Events or as a
// long poll (?feed=longpoll).
//
// A watch subscribes to the feed actor first, which answers the log
// position after which it will hand over live changes. The session then
// catches up from the client's position to that one by reading pages
// itself (each written out before the next is read), says `up-to-date`,
// and from then on forwards the live changes. Positions are the log's
// storage order, so a change that arrives late through sync with an old
// timestamp is still delivered once; event ids are HLCs, which name a
// position exactly (see read_store::feed_position). Delivery is
// at-least-once: a record changed again is sent again, as it is then.

#include "http/feed.hpp"
#include "http/handlers.hpp"
#include "observe/metrics.hpp"

#include <caf/all.hpp>

#include <charconv>
#include <ctime>

namespace crdt {

/// A change feed a connection follows.
struct watch {
  request_context ctx;
  std::string table;
  std::vector<std::string> pluck;
  bool longpoll = false;
  /// Long poll: the most changes per answer, and how long to wait for one.
  size_t limit = 100;
  std::chrono::milliseconds wait{25000};
  /// The feed hands over live changes after `live_after`; the client has
  /// everything up to `position`, which `position_id` names.
  uint64_t live_after = 0;
  uint64_t position = 0;
  std::string position_id;
  /// Whether the feed has answered the subscription. What the feed sends
  /// a session before that answer was meant for an earlier watch of the
  /// same connection (the feed answers a subscription before it sends the
  /// subscriber anything).
  bool subscribed = false;
  /// Whether the catch-up reached `live_after`.
  bool caught_up = false;
  /// Live changes that came during the catch-up.
  /// This client's live changes that came during the catch-up (its own
  /// organization's only: a batch is not kept whole, or a slow catch-up
  /// would hold every other tenant's changes meanwhile).
  std::vector<change_event> held;
  /// The stream waits for its connection to write a catch-up page.
  bool awaiting_drain = false;
  /// The stream's head was sent (before, a failure is an error answer).
  bool head_sent = false;
  /// Generation of the current timer (heartbeat or long-poll end), from
  /// the session's counter: never reused by a later watch.
  uint64_t timer = 0;
  bool done = false;
  /// A stream outlives the request that opened it: when its token expires
  /// (Unix seconds), and when the account behind it was last found.
  int64_t token_expires = 0;
  int64_t account_checked = 0;
  bool checking_account = false;
};

namespace {

using session_ptr = session_actor::stateful_pointer<session_state>;

// Catch-up pages read at once, live changes held while catching up.
constexpr size_t catch_up_page = 200;
constexpr size_t max_held_events = 10000;
// The largest answer of a long poll.
constexpr size_t max_poll_limit = 1000;

std::optional<int64_t> number(const std::string& s) {
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc{} || ptr != s.data() + s.size())
    return std::nullopt;
  return out;
}

session_actor handle(session_ptr self) {
  return caf::actor_cast<session_actor>(self);
}

// The watch is over: the feed forgets the session (it would also notice
// the session's end, but a long poll's connection lives on).
void finish(const std::shared_ptr<watch>& w) {
  if (w->done)
    return;
  w->done = true;
  auto self = w->ctx.self;
  self->send(self->state.svc->feed, leave_atom::value, handle(self));
  if (self->state.watching == w)
    self->state.watching.reset();
}

// Gives up the watch's place, then answers: the leave is in the feed's
// mailbox before the client can read the answer, so a request it makes
// next never finds its own earlier place still taken.
void finish_with(std::shared_ptr<watch> w, http_reply r) {
  finish(w); // w is our own copy: finish may let go of the session's
  w->ctx.reply(std::move(r));
}

void push(const std::shared_ptr<watch>& w, std::string bytes, bool last,
          bool notify) {
  w->ctx.self->state.sink->push(w->ctx.in->req.seq, std::move(bytes), last,
                                notify);
}

// Ends a stream with an error event, or answers a long poll with the error.
void fail(const std::shared_ptr<watch>& w, unsigned status,
          const std::string& message) {
  if (w->done)
    return;
  if (w->longpoll || !w->head_sent) {
    finish_with(w, error_reply(status, message, w->table));
    return;
  }
  auto keep = w; // finish may let go of the session's copy
  finish(keep);
  push(keep, sse_error(status, message), true, false);
}

// The same for an error from the actors (its status chosen by http/api).
void fail_with(const std::shared_ptr<watch>& w, const caf::error& err) {
  if (w->done)
    return;
  auto r = error_reply(err, w->table);
  if (w->longpoll || !w->head_sent) {
    finish_with(w, std::move(r));
    return;
  }
  fail(w, r.status, describe(err));
}

void arm_timer(const std::shared_ptr<watch>& w,
               std::chrono::milliseconds after) {
  auto self = w->ctx.self;
  w->timer = ++self->state.timers;
  self->delayed_send(self, after, heartbeat_atom::value, w->timer);
}

void answer_poll(const std::shared_ptr<watch>& w,
                 const std::vector<change_event>& events, bool up_to_date) {
  if (w->done)
    return;
  metrics::process().feed_events_sent.add(events.size());
  http_reply r{200, poll_body(w->table, events, w->pluck, w->position_id,
                              up_to_date)};
  finish_with(w, std::move(r));
}

// The changes of `batch` this client has not had and may see.
std::vector<change_event> fresh(const watch& w, const feed_batch& batch) {
  std::vector<change_event> out;
  const auto& org = w.ctx.who().organization_id;
  for (const auto& e : batch.events)
    if (e.seq > w.position && e.organization == org)
      out.push_back(e);
  return out;
}

// Hands live changes to the client (or holds them during the catch-up).
// Hands changes to the client: a stream gets them in one piece, a long
// poll is answered with at most its limit.
void deliver(const std::shared_ptr<watch>& w, std::vector<change_event> events) {
  if (events.empty() || w->done)
    return;
  if (w->longpoll) {
    bool all = events.size() <= w->limit;
    if (!all)
      events.resize(w->limit);
    w->position = events.back().seq;
    w->position_id = events.back().ts;
    answer_poll(w, events, all);
    return;
  }
  w->position = events.back().seq;
  w->position_id = events.back().ts;
  std::string bytes;
  for (const auto& e : events)
    bytes += sse_event(e, w->pluck);
  metrics::process().feed_events_sent.add(events.size());
  push(w, std::move(bytes), false, false);
}

bool token_expired(const std::shared_ptr<watch>& w) {
  if (static_cast<int64_t>(std::time(nullptr)) < w->token_expires)
    return false;
  fail(w, 401, "Token expired: log in again, then resume with Last-Event-ID");
  return true;
}

// Live changes: forwarded, or held during the catch-up.
void forward(const std::shared_ptr<watch>& w, const feed_batch_ptr& batch) {
  if (w->done)
    return;
  // Nothing goes out on an expired token, heartbeat or not.
  if (token_expired(w))
    return;
  if (batch->failed) {
    fail(w, 503,
         "the change feed could not read the log; resume with Last-Event-ID");
    return;
  }
  if (!w->caught_up) {
    // Only what this client will get is kept, and counts against the
    // bound.
    for (auto& e : fresh(*w, *batch))
      w->held.push_back(std::move(e));
    if (w->held.size() > max_held_events)
      fail(w, 503,
           "the table changes faster than this client catches up; resume "
           "with Last-Event-ID");
    return;
  }
  if (w->longpoll) {
    deliver(w, fresh(*w, *batch));
    return;
  }
  // A stream: the events this client may see, rendered once per batch for
  // every subscriber without pluck, and nothing copied.
  const auto& org = w->ctx.who().organization_id;
  std::string bytes;
  size_t count = 0;
  const change_event* last = nullptr;
  for (size_t i = 0; i < batch->events.size(); ++i) {
    const auto& e = batch->events[i];
    if (e.seq <= w->position || e.organization != org)
      continue;
    bytes += w->pluck.empty() ? sse_event_of(*batch, i) : sse_event(e, w->pluck);
    last = &e;
    ++count;
  }
  if (!last)
    return;
  w->position = last->seq;
  w->position_id = last->ts;
  metrics::process().feed_events_sent.add(count);
  push(w, std::move(bytes), false, false);
}

void caught_up(const std::shared_ptr<watch>& w) {
  if (token_expired(w))
    return;
  w->caught_up = true;
  auto held = std::move(w->held);
  w->held.clear();
  if (!w->longpoll)
    push(w, sse_up_to_date(w->position_id), false, false);
  // What came meanwhile and the catch-up did not already send, as one
  // piece.
  std::vector<change_event> events;
  for (auto& e : held)
    if (e.seq > w->position && (events.empty() || e.seq > events.back().seq))
      events.push_back(std::move(e));
  deliver(w, std::move(events));
  if (w->longpoll && !w->done)
    arm_timer(w, w->wait); // nothing yet: wait for a change or the time
}

// Reads the next page between the client's position and the live one.
void catch_up(const std::shared_ptr<watch>& w) {
  if (w->done)
    return;
  if (w->position >= w->live_after) {
    caught_up(w);
    return;
  }
  changes_query q;
  q.after = w->position;
  q.through = w->live_after;
  q.tables = {w->table};
  q.organization = w->ctx.who().organization_id;
  q.max_events = w->longpoll ? w->limit : catch_up_page;
  w->ctx.self->request(w->ctx.reader(), read_timeout, feed_atom::value, q)
      .then(
          [w](changes_page& page) {
            if (w->done || token_expired(w))
              return;
            w->position = page.reached;
            if (!page.reached_ts.empty())
              w->position_id = page.reached_ts;
            if (page.events.empty()) {
              catch_up(w);
              return;
            }
            if (w->longpoll) {
              answer_poll(w, page.events, w->position >= w->live_after);
              return;
            }
            std::string bytes;
            for (const auto& e : page.events)
              bytes += sse_event(e, w->pluck);
            metrics::process().feed_events_sent.add(page.events.size());
            // The next page once this one is written: a slow client slows
            // its own catch-up instead of filling memory.
            w->awaiting_drain = true;
            push(w, std::move(bytes), false, true);
          },
          [w](caf::error& err) {
            fail(w, 503, "cannot read the changes: " + describe(err));
          });
}

// Subscribed: finds the client's position, then starts.
void start(const std::shared_ptr<watch>& w, const std::string& since) {
  const auto& ctx = w->ctx;
  ctx.self
      ->request(ctx.reader(), read_timeout, feed_atom::value, since,
                w->live_after, ctx.svc().feed_cfg.replay_limit)
      .then(
          [w, since](uint64_t at, std::string& name) {
            if (w->done)
              return;
            auto limit = w->ctx.svc().feed_cfg.replay_limit;
            if (w->live_after > at && w->live_after - at > limit) {
              finish_with(w, error_reply(
                  409,
                  "since is " + std::to_string(w->live_after - at)
                      + " log positions back, more than this node replays "
                        "(FEED_REPLAY_LIMIT="
                      + std::to_string(limit)
                      + "): list the table again, then follow its changes "
                        "from now",
                  w->table));
              return;
            }
            w->position = at;
            w->position_id = std::move(name);
            if (!w->longpoll) {
              http_reply head{200, sse_opening(w->table)};
              head.stream = true;
              head.headers = {{"Content-Type", "text/event-stream"},
                              {"Cache-Control", "no-cache"},
                              {"X-Accel-Buffering", "no"}};
              w->ctx.reply(std::move(head));
              w->head_sent = true;
              arm_timer(w, w->ctx.svc().feed_cfg.heartbeat);
            }
            catch_up(w);
          },
          [w](caf::error& err) { fail_with(w, err); });
}

} // namespace

void watch_changes(const request_context& ctx) {
  auto t = find_table(ctx);
  if (!t)
    return;
  auto w = std::make_shared<watch>();
  w->ctx = ctx;
  w->table = t->name();
  w->wait = std::min<std::chrono::milliseconds>(w->wait,
                                                ctx.svc().feed_cfg.max_wait);
  std::string since;
  bool poll_parameters = false;
  std::vector<field_error> errors;
  for (const auto& [key, val] : ctx.in->tgt.query) {
    if (key == "access_token") {
      // Read by the session (for EventSource, which sends no headers).
    } else if (key == "since") {
      since = val;
    } else if (key == "feed") {
      if (val == "longpoll")
        w->longpoll = true;
      else if (val != "sse")
        errors.push_back({"feed", "must be sse or longpoll"});
    } else if (key == "pluck") {
      auto q = parse_list_query(*t, {{key, val}}, errors);
      if (q)
        w->pluck = q->pluck;
    } else if (key == "limit") {
      poll_parameters = true;
      auto n = number(val);
      if (!n || *n < 1 || *n > static_cast<int64_t>(max_poll_limit))
        errors.push_back({"limit", "must be an integer from 1 to "
                                       + std::to_string(max_poll_limit)});
      else
        w->limit = static_cast<size_t>(*n);
    } else if (key == "timeout") {
      poll_parameters = true;
      auto n = number(val);
      auto most = std::chrono::duration_cast<std::chrono::seconds>(
                      ctx.svc().feed_cfg.max_wait)
                      .count();
      if (!n || *n < 0 || *n > most)
        errors.push_back({"timeout", "must be a number of seconds from 0 to "
                                         + std::to_string(most)});
      else
        w->wait = std::chrono::seconds(*n);
    } else {
      errors.push_back({key, "unknown query parameter"});
    }
  }
  // An EventSource that reconnects names the last event it saw.
  if (!ctx.in->req.last_event_id.empty())
    since = ctx.in->req.last_event_id;
  if (!w->longpoll && poll_parameters)
    errors.push_back({"feed", "limit and timeout are for feed=longpoll"});
  if (!errors.empty()) {
    ctx.reply(error_reply(400, "Invalid query", w->table, errors));
    return;
  }
  auto& st = ctx.self->state;
  if (st.watching) {
    ctx.reply(error_reply(409, "this connection already follows a feed",
                          w->table));
    return;
  }
  st.watching = w;
  // The token this request was let in with (verified by the session).
  w->token_expires = st.token_expires;
  w->account_checked = st.token_checked;
  ctx.self
      ->request(ctx.svc().feed, read_timeout, subscribe_atom::value, w->table,
                handle(ctx.self))
      .then(
          [w, since](uint64_t live_after) {
            if (w->done)
              return; // answered meanwhile (its client left)
            w->subscribed = true;
            w->live_after = live_after;
            start(w, since);
          },
          [w](caf::error& err) {
            // Answered meanwhile (its client left): finished and answered
            // once already.
            if (w->done)
              return;
            // A subscription that timed out may still be made: leave.
            finish_with(w, error_reply(err, w->table));
          });
}

void feed_changes(session_ptr self, const feed_batch_ptr& batch) {
  auto w = self->state.watching;
  if (w && w->subscribed && batch
      && (batch->failed || batch->table == w->table))
    forward(w, batch);
}

void feed_drained(session_ptr self) {
  auto w = self->state.watching;
  if (w && w->awaiting_drain) {
    w->awaiting_drain = false;
    catch_up(w);
  }
}

// A stream's access is checked again at each heartbeat, as a kept-alive
// connection's is at its next request: it ends (an error event, 401) once
// its token has expired, and once its account no longer exists (looked up
// every services::account_recheck_seconds).
void recheck_account(const std::shared_ptr<watch>& w, int64_t now) {
  if (w->checking_account
      || now - w->account_checked < w->ctx.svc().account_recheck_seconds)
    return;
  w->checking_account = true;
  check_account(
      w->ctx, w->ctx.who(),
      [w, now](record_state state) {
        w->checking_account = false;
        w->account_checked = now;
        if (state != record_state::live)
          fail(w, 401, "The account no longer exists");
      },
      [w](caf::error&) {
        w->checking_account = false; // tried again next heartbeat
      });
}

void feed_timer(session_ptr self, uint64_t generation) {
  auto w = self->state.watching;
  if (!w || w->done || generation != w->timer)
    return;
  if (w->longpoll) {
    answer_poll(w, {}, true);
    return;
  }
  if (token_expired(w))
    return;
  recheck_account(w, static_cast<int64_t>(std::time(nullptr)));
  push(w, sse_heartbeat(), false, false);
  arm_timer(w, w->ctx.svc().feed_cfg.heartbeat);
}

// The client closed its side: a waiting long poll is answered at once
// (empty, to resume from the same place) and its subscription freed; a
// stream notices by itself.
void feed_client_gone(session_ptr self) {
  auto w = self->state.watching;
  if (w && w->longpoll && !w->done)
    answer_poll(w, {}, w->caught_up);
}

} // namespace crdt
