#include "app/node.hpp"

#include "actors/applier.hpp"
#include "actors/auth.hpp"
#include "actors/clock.hpp"
#include "actors/hub.hpp"
#include "actors/queue.hpp"
#include "actors/reader.hpp"
#include "actors/relay.hpp"
#include "actors/sync.hpp"
#include "actors/feed.hpp"
#include "actors/writer.hpp"
#include "auth/accounts.hpp"
#include "auth/credentials.hpp"
#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"
#include "storage/pg.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace crdt {

namespace {

// Spawns a function-based actor, detached when the node runs blocking
// actors on threads of their own.
template <class F, class... Ts>
auto spawn_blocking(caf::actor_system& sys, bool detach, F fun, Ts&&... xs) {
  return detach ? sys.spawn<caf::detached>(fun, std::forward<Ts>(xs)...)
                : sys.spawn(fun, std::forward<Ts>(xs)...);
}

// The sync settings in effect: the declared ones (stored for later
// starts), else what an earlier start stored, else the defaults.
caf::expected<sync_config> resolve_sync(write_store& store,
                                        const node_options& opts) {
  auto stored = store.load_config();
  if (!stored)
    return stored.error();
  sync_config cfg;
  for (const auto& key : sync_setting_keys()) {
    auto declared = opts.declared_sync.find(key);
    auto kept = stored->find(key);
    std::string value;
    if (declared != opts.declared_sync.end())
      value = declared->second;
    else if (kept != stored->end())
      value = kept->second;
    else
      value = setting_default(key);
    if (declared != opts.declared_sync.end() || kept == stored->end())
      if (auto err = store.set_config(key, value, "string"))
        return err;
    if (!apply_sync_setting(cfg, key, value))
      return make_error(ec::bad_request,
                        "config_sync holds a bad " + key + ": " + value);
  }
  return cfg;
}

} // namespace

node& node::operator=(node&& other) noexcept {
  stop();
  svc_ = std::move(other.svc_);
  id_ = std::move(other.id_);
  sync_ = std::move(other.sync_);
  owned_ = std::move(other.owned_);
  other.owned_.clear();
  return *this;
}

node::~node() {
  stop();
}

void node::start_sync() const {
  caf::anon_send(svc_->sync, sync_atom::value);
}

void node::stop() {
  for (auto& a : owned_)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  owned_.clear();
}

bool node::stop_and_wait(caf::actor_system& sys,
                         std::chrono::milliseconds limit) {
  auto actors = owned_;
  caf::scoped_actor self{sys};
  for (auto& a : actors)
    self->monitor(a);
  stop();
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (size_t down = 0; down < actors.size(); ++down) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    bool late = left.count() <= 0;
    if (!late)
      self->receive([](const caf::down_msg&) {},
                    caf::after(left) >> [&] { late = true; });
    if (late)
      return false;
  }
  return true;
}

caf::expected<node> spawn_node(caf::actor_system& sys, node_options opts) {
  if (!init_crypto())
    return make_error(ec::storage_failure,
                      "libsodium cannot be initialized (no entropy source?)");
  // Organizations and accounts replicate like the user's tables.
  add_builtin_tables(opts.schemas);
  auto catalog = std::make_shared<schema_catalog>();
  auto store = write_store::open(opts.store, opts.schemas, catalog,
                                 opts.define_schema);
  if (!store)
    return store.error();
  auto& ws = **store;
  auto trie = ws.load_merkle();
  if (!trie)
    return trie.error();
  auto groups = ws.load_hub_merkles();
  if (!groups)
    return groups.error();
  auto heads = ws.load_heads();
  if (!heads)
    return heads.error();
  auto own_head = heads->count(std::string{}) ? heads->at(std::string{})
                                               : uint64_t{0};
  auto pending = ws.outbox_size();
  if (!pending)
    return pending.error();
  auto acked = ws.outbox_acked();
  if (!acked)
    return acked.error();
  auto last = parse_timestamp(ws.clock());
  if (!last)
    return make_error(ec::storage_failure,
                      "the persisted clock is corrupt: " + ws.clock());
  auto scfg = resolve_sync(ws, opts);
  if (!scfg)
    return scfg.error();
  scfg->group = opts.info.group_id;
  scfg->node_id = ws.node_id();
  scfg->batch = opts.sync_batch;
  scfg->page_bytes = opts.sync_page_bytes;
  auto cursor = ws.local_value(sync_cursor_key);
  if (!cursor)
    return cursor.error();
  auto legacy_hub = ws.local_value(sync_legacy_hub_key);
  if (!legacy_hub)
    return legacy_hub.error();
  // The token key: the configured one, else this node's own.
  if (opts.info.token_key.empty()) {
    auto local = ws.local_secret("jwt_secret", random_hex(32));
    if (!local)
      return local.error();
    opts.info.token_key = std::move(*local);
  }
  // One read connection per reader, plus the auth actor's and the feed's.
  std::vector<std::unique_ptr<read_store>> read_stores;
  for (size_t i = 0; i < std::max<size_t>(opts.readers, 1) + 2; ++i) {
    auto r = read_store::open(opts.store.path, catalog);
    if (!r)
      return r.error();
    read_stores.push_back(std::move(*r));
  }

  node n;
  n.id_ = ws.node_id();
  n.sync_ = *scfg;
  auto svc = std::make_shared<services>();
  // Sessions run on the scheduler's few workers; a handful of connections
  // covers them (more callers at once fall back to the reader actors).
  svc->pool = std::make_shared<read_pool>(opts.store.path, catalog, 4);
  auto own = [&](const auto& handle) {
    n.owned_.push_back(caf::actor_cast<caf::actor>(handle));
    return handle;
  };
  svc->clock = own(sys.spawn(crdt::clock, std::move(*last), opts.max_drift_ms,
                             std::move(*trie), std::move(*groups),
                             std::move(*heads)));
  svc->feed = own(spawn_blocking(sys, opts.detach, crdt::feed,
                                 std::move(read_stores.back()), own_head,
                                 opts.feed.max_subscribers));
  read_stores.pop_back();
  svc->storage = std::make_shared<storage_gauge>();
  svc->writer
      = own(spawn_blocking(sys, opts.detach, crdt::writer, std::move(*store),
                           svc->clock, svc->feed, svc->storage));
  auto auth_store = std::move(read_stores.back());
  read_stores.pop_back();
  for (auto& r : read_stores)
    svc->readers.push_back(
        own(spawn_blocking(sys, opts.detach, crdt::reader, std::move(r))));
  svc->queue = own(sys.spawn(crdt::queue, static_cast<uint64_t>(*pending),
                             *acked, svc->readers.front(), svc->writer));
  svc->applier = own(sys.spawn(crdt::applier, svc->clock, svc->writer,
                               svc->queue, opts.write_queue_limit,
                               caf::timespan{local_write_deadline}));
  hub_state hub;
  hub.clock = svc->clock;
  hub.applier = svc->applier;
  hub.readers = svc->readers;
  hub.group = opts.info.group_id;
  hub.catalog = catalog;
  hub.max_drift = opts.max_drift_ms;
  hub.node_id = n.id_;
  hub.page_bytes = opts.sync_page_bytes;
  if (!opts.hub_database.urls.empty()) {
    std::vector<std::string> shown;
    for (const auto& url : opts.hub_database.urls)
      shown.push_back(pg::redact_conninfo(url));
    svc->hub_database
        = std::make_shared<hub_database_health>(std::move(shown));
  }
  for (size_t db = 0; db < opts.hub_database.urls.size(); ++db) {
    std::vector<relay_actor> pool;
    for (size_t i = 0; i < std::max<size_t>(opts.hub_database.pool, 1); ++i)
      pool.push_back(own(spawn_blocking(
          sys, opts.detach, crdt::relay, opts.hub_database.urls[db],
          opts.hub_database.timeout_ms, svc->hub_database, db)));
    hub.relays.push_back(std::move(pool));
  }
  svc->hub = own(sys.spawn(crdt::hub, std::move(hub)));
  auth_options aopts{opts.info.token_key, opts.info.group_id, opts.token_ttl,
                     n.id_};
  svc->auth
      = own(spawn_blocking(sys, opts.detach, crdt::auth, std::move(auth_store),
                           svc->applier, std::move(aopts)));
  sync_state sync;
  sync.cfg = *scfg;
  sync.clock = svc->clock;
  sync.applier = svc->applier;
  sync.queue = svc->queue;
  sync.reader = svc->readers.back();
  sync.transport = std::move(opts.transport);
  sync.cursor = parse_cursor(*cursor);
  sync.legacy_hint = *legacy_hub == sync.cfg.endpoint;
  svc->sync = own(sys.spawn(crdt::sync, std::move(sync)));
  svc->catalog = catalog;
  svc->info = std::move(opts.info);
  svc->feed_cfg = opts.feed;
  svc->account_recheck_seconds = opts.account_recheck_seconds;
  n.svc_ = std::move(svc);
  return n;
}

caf::expected<bootstrap_result> bootstrap(caf::actor_system& sys, const node& n,
                                          const bootstrap_request& req) {
  caf::scoped_actor self{sys};
  caf::expected<bootstrap_result> out = make_error(ec::timeout, "no answer");
  self->request(n.svc().auth, std::chrono::seconds(60), bootstrap_atom::value,
                req)
      .receive([&](const bootstrap_result& r) { out = r; },
               [&](const caf::error& err) { out = err; });
  return out;
}

} // namespace crdt
