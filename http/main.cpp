// crdt-store: wires settings, storage, actors and the HTTP listener.

#include "actors/applier.hpp"
#include "actors/auth.hpp"
#include "actors/clock.hpp"
#include "actors/hub.hpp"
#include "actors/queue.hpp"
#include "actors/reader.hpp"
#include "actors/sync.hpp"
#include "actors/writer.hpp"
#include "config/settings.hpp"
#include "http/api.hpp"
#include "http/hub_client.hpp"
#include "http/server.hpp"
#include "protocol/accounts.hpp"
#include "protocol/credentials.hpp"
#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"

#include <caf/all.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <malloc.h>
#include <iostream>
#include <sys/stat.h>
#include <thread>

using namespace crdt;

namespace {

bool file_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The CAF tuning file: the setting, else ./config/caf.ini, else the one in
// the source tree; empty when none exists (CAF's defaults then apply).
std::string caf_config_path(const settings& cfg) {
  if (!cfg.str("CAF_CONFIG").empty())
    return cfg.str("CAF_CONFIG");
  for (std::string p : {std::string{"config/caf.ini"},
                        std::string{CRDT_SOURCE_DIR} + "/config/caf.ini"})
    if (file_exists(p))
      return p;
  return {};
}

int fail(const std::string& what) {
  std::cerr << "crdt-store: " << what << std::endl;
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  // Sync answers and bodies are large, short-lived buffers. A fixed mmap
  // threshold returns them to the system when freed (glibc would otherwise
  // raise the threshold and keep them in its heaps), and fewer arenas keep
  // the many threads from each hoarding their own free memory.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_ARENA_MAX, 4);
  auto loaded = load_settings(argc, argv);
  if (!loaded)
    return fail(describe(loaded.error()));
  auto& cfg = *loaded;
  if (cfg.help) {
    std::cout << help_text();
    return 0;
  }
  if (!init_crypto())
    return fail("libsodium cannot be initialized (no entropy source?)");
  auto schemas = load_schema_dir(cfg.str("SCHEMA_DIR"));
  if (!schemas)
    return fail(describe(schemas.error()));
  // Organizations and accounts replicate like the user's tables.
  add_builtin_tables(*schemas);
  store_options sopts;
  sopts.path = cfg.str("DB_SQLITE_FILE");
  sopts.synchronous = cfg.str("SQLITE_SYNCHRONOUS");
  auto store = write_store::open(sopts, *schemas);
  if (!store)
    return fail(describe(store.error()));
  if (cfg.rebuild) {
    if (auto err = (*store)->rebuild())
      return fail(describe(err));
    std::cout << "crdt-store: rebuilt every table of " << sopts.path
              << " from its message log" << std::endl;
    return 0;
  }
  auto trie = (*store)->load_merkle();
  auto groups = (*store)->load_hub_merkles();
  auto pending = (*store)->outbox_size();
  if (!trie)
    return fail(describe(trie.error()));
  if (!groups)
    return fail(describe(groups.error()));
  if (!pending)
    return fail(describe(pending.error()));
  // config_sync: the declared configuration wins at start; a setting not
  // declared keeps the value stored by an earlier run (or gets its default).
  sync_config scfg;
  {
    auto stored = (*store)->load_config();
    if (!stored)
      return fail(describe(stored.error()));
    for (const auto& key : sync_setting_keys()) {
      auto value = cfg.str(key);
      auto it = stored->find(key);
      if (cfg.origin[key] == "default" && it != stored->end())
        value = it->second;
      else if (auto err = (*store)->set_config(key, value, "string"))
        return fail(describe(err));
      if (!apply_setting(scfg, key, value) && !value.empty())
        return fail(std::string{"config_sync holds a bad "} + key + ": "
                    + value);
    }
    scfg.group = cfg.str("GROUP_ID");
    scfg.node_id = (*store)->node_id();
  }
  auto last = parse_timestamp((*store)->clock());
  if (!last)
    return fail("the persisted clock is corrupt: " + (*store)->clock());
  auto node_id = (*store)->node_id();
  // The token key: the configured one, else this node's own, generated on
  // first start and kept in the database.
  auto token_key = cfg.str("JWT_SECRET");
  if (token_key.empty()) {
    auto local = (*store)->local_secret("jwt_secret", random_hex(32));
    if (!local)
      return fail(describe(local.error()));
    token_key = std::move(*local);
  }
  auto auth_store = read_store::open(sopts.path, *schemas);
  if (!auth_store)
    return fail(describe(auth_store.error()));
  std::vector<std::unique_ptr<read_store>> read_stores;
  for (int64_t i = 0; i < cfg.integer("READERS"); ++i) {
    auto r = read_store::open(sopts.path, *schemas);
    if (!r)
      return fail(describe(r.error()));
    read_stores.push_back(std::move(*r));
  }

  caf::actor_system_config caf_cfg;
  auto caf_file = caf_config_path(cfg);
  if (auto err = caf_cfg.parse(caf::actor_system_config::string_list{},
                               caf_file.empty() ? nullptr : caf_file.c_str()))
    return fail("CAF config " + caf_file + ": " + caf_cfg.render(err));
  caf::actor_system sys{caf_cfg};

  auto load = std::make_shared<std::atomic<size_t>>(0);
  auto clk = sys.spawn(
    crdt::clock, std::move(*last), cfg.integer("HLC_MAX_DRIFT_MS"),
    std::make_shared<merkle_trie>(std::move(*trie)),
    std::make_shared<std::map<std::string, merkle_trie>>(std::move(*groups)));
  auto wrt = sys.spawn<caf::detached>(
    crdt::writer,
    std::make_shared<std::unique_ptr<write_store>>(std::move(*store)), load,
    clk);
  auto svc = std::make_shared<services>();
  for (auto& r : read_stores)
    svc->readers.push_back(sys.spawn<caf::detached>(
      crdt::reader,
      std::make_shared<std::unique_ptr<read_store>>(std::move(r))));
  auto que = sys.spawn(crdt::queue, static_cast<uint64_t>(*pending),
                       svc->readers.front(), wrt);
  auto app = sys.spawn(crdt::applier, clk, wrt, que, load,
                       static_cast<size_t>(cfg.integer("WRITE_QUEUE_LIMIT")));
  hub_state hinit;
  hinit.clock = clk;
  hinit.applier = app;
  hinit.writer = wrt;
  hinit.readers = svc->readers;
  hinit.group = cfg.str("GROUP_ID");
  hinit.schemas = *schemas;
  hinit.max_drift = cfg.integer("HLC_MAX_DRIFT_MS");
  hinit.load = load;
  auto hb = sys.spawn(crdt::hub, std::move(hinit));
  svc->clock = clk;
  svc->applier = app;
  svc->queue = que;
  svc->writer = wrt;
  svc->hub = hb;
  svc->schemas = *schemas;
  svc->info = {cfg.str("GROUP_ID"), cfg.str("DATABASE"),
               cfg.str("DEFAULT_ORGANIZATION_ID"), cfg.str("SYNC_SECRET"),
               token_key};
  auth_options aopts{token_key, cfg.str("GROUP_ID"),
                     cfg.integer("TOKEN_TTL_SECONDS"), node_id};
  svc->auth = sys.spawn<caf::detached>(
    crdt::auth, std::make_shared<std::unique_ptr<read_store>>(
                  std::move(*auth_store)),
    app, std::move(aopts));
  // The default organization and its first admin, on first start.
  {
    bootstrap_request breq{cfg.str("DEFAULT_ORGANIZATION_ID"),
                           cfg.str("DEFAULT_ORGANIZATION_NAME"),
                           cfg.str("DEFAULT_ORGANIZATION_ADMIN_EMAIL"),
                           cfg.str("DEFAULT_ORGANIZATION_ADMIN_PASSWORD"),
                           scfg.enabled && !scfg.endpoint.empty()};
    caf::scoped_actor scoped{sys};
    std::string problem;
    scoped->request(svc->auth, std::chrono::seconds(60), bootstrap_atom::value,
                    breq)
      .receive(
        [&](const bootstrap_result& r) {
          if (r.created_organization)
            std::cout << "crdt-store: created organization " << breq.organization_id
                      << " (" << breq.organization_name << ")" << std::endl;
          if (r.created_account)
            std::cout << "crdt-store: created admin account " << r.account_id
                      << " <" << normalize_email(breq.admin_email) << ">"
                      << std::endl;
          if (r.deferred)
            std::cout << "crdt-store: no admin account here yet: sync is on "
                         "and DEFAULT_ORGANIZATION_ADMIN_PASSWORD is unset, so "
                         "it is expected from the group's hub (set the "
                         "password to create it on this node instead)"
                      << std::endl;
          if (!r.generated_password.empty())
            std::cout << "crdt-store: generated admin password (shown only "
                         "now, store it safely): "
                      << r.generated_password << std::endl;
        },
        [&](const caf::error& err) { problem = describe(err); });
    if (!problem.empty()) {
      caf::anon_send_exit(svc->auth, caf::exit_reason::user_shutdown);
      return fail("cannot create the default organization: " + problem);
    }
  }

  boost::asio::io_context ioc;
  sync_state sinit;
  sinit.cfg = scfg;
  sinit.clock = clk;
  sinit.applier = app;
  sinit.queue = que;
  sinit.reader = svc->readers.back();
  auto client = std::make_shared<hub_client>(ioc, std::chrono::seconds(10));
  if (!cfg.str("SYNC_SECRET").empty())
    client->header("X-Sync-Secret", cfg.str("SYNC_SECRET"));
  sinit.transport = client;
  auto syn = sys.spawn(crdt::sync, std::move(sinit));
  svc->sync = syn;
  server_options hopts;
  hopts.host = cfg.str("HOST");
  hopts.port = static_cast<unsigned short>(cfg.integer("PORT"));
  hopts.body_limit = static_cast<size_t>(cfg.integer("BODY_LIMIT"));
  auto lst = std::make_shared<listener>(ioc, sys, svc, hopts);
  if (auto err = lst->open())
    return fail(describe(err));
  lst->run();
  std::cout << "crdt-store: node " << node_id << " of group "
            << cfg.str("GROUP_ID") << " listening on " << hopts.host << ":"
            << lst->port() << " (database " << sopts.path << ", CAF config "
            << (caf_file.empty() ? "built-in defaults" : caf_file) << ")"
            << std::endl;

  if (cfg.str("SYNC_SECRET").empty() && !loopback_address(hopts.host))
    std::cout << "crdt-store: SYNC_SECRET is unset, so /sync answers only "
                 "callers on this machine; set it on the hub and its nodes "
                 "to sync over the network"
              << std::endl;

  boost::asio::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&](const boost::system::error_code&, int) {
    lst->stop();
    ioc.stop();
  });
  std::vector<std::thread> threads;
  for (int64_t i = 1; i < cfg.integer("HTTP_THREADS"); ++i)
    threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads)
    t.join();
  for (auto& r : svc->readers)
    caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(syn, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(svc->auth, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(hb, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(app, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(wrt, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(clk, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(que, caf::exit_reason::user_shutdown);
  std::cout << "crdt-store: stopped" << std::endl;
  return 0;
}
