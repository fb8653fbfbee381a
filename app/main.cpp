// crdt-store: reads the settings, builds the node (app/node.cpp) and
// serves it over HTTP until SIGINT or SIGTERM.

#include "app/node.hpp"
#include "auth/accounts.hpp"
#include "config/settings.hpp"
#include "http/api.hpp"
#include "http/hub_client.hpp"
#include "http/server.hpp"
#include "observe/log.hpp"
#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"
#include "storage/hub_store.hpp"
#include "storage/pg.hpp"

#include <caf/all.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <malloc.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

using namespace crdt;

namespace {

bool file_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Holds `<database>.lock` for the life of the process: two servers (or a
// server and --rebuild) writing one SQLite file would share a node id and
// interleave their writers. The kernel drops the lock when the process
// ends, kill -9 included. Answers what is wrong, or "" once held; `busy`
// (when given) tells whether another process holds it.
std::string lock_database(const std::string& path, bool* busy = nullptr) {
  std::error_code ec;
  auto parent = std::filesystem::path{path}.parent_path();
  if (!parent.empty())
    std::filesystem::create_directories(parent, ec);
  auto lock = path + ".lock";
  int fd = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return "cannot open " + lock + ": " + std::strerror(errno);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (busy)
      *busy = err == EWOULDBLOCK;
    auto why = err == EWOULDBLOCK
                   ? "another crdt-store process uses " + path
                         + " (it holds " + lock
                         + "); give each process a DB_SQLITE_FILE of its own"
                   : "cannot lock " + lock + ": " + std::strerror(err);
    close(fd);
    return why;
  }
  return {}; // the descriptor stays open until the process ends
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

// Raises the soft descriptor limit so that MAX_CONNECTIONS connections fit
// beside the database files and the sync client (within the hard limit;
// says so when it cannot).
void fit_descriptor_limit(size_t connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return;
  rlim_t want = static_cast<rlim_t>(connections) + 128;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
    rlim_t before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? want
                                                 : std::min(want, lim.rlim_max);
    setrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur < want)
      std::cout << "crdt-store: the descriptor limit (" << lim.rlim_cur
                << ", raised from " << before << ") is below MAX_CONNECTIONS + "
                << "128; beyond it new connections wait in the backlog"
                << std::endl;
  }
}

int fail(const std::string& what) {
  std::cerr << "crdt-store: " << what << std::endl;
  return 1;
}

// Ends the node's actors and waits for them, before anything their state
// refers to goes: the sync client's connection lives on the HTTP
// io_context. Actors still running after 30 s (a commit that never
// returns) would make the destructors wait forever, and leave that
// connection behind its io_context: the process exits at once instead,
// with code 1 (what was acknowledged is committed already).
void stop_or_exit(caf::actor_system& sys, crdt::node& n) {
  if (n.stop_and_wait(sys, std::chrono::seconds(30)))
    return;
  std::cerr << "crdt-store: some actors were still busy 30 s after the "
               "stop; exiting without them"
            << std::endl;
  std::_Exit(1);
}

// What end_at_once writes, in the log's format; made by arm_end_at_once.
char second_signal_line[256];
size_t second_signal_size = 0;

// A second SIGINT or SIGTERM during the stop: exit now, as a shell reports
// a process ended by that signal (130, 143). Async-signal-safe calls only.
extern "C" void end_at_once(int sig) {
  auto ignored = ::write(STDERR_FILENO, second_signal_line, second_signal_size);
  (void)ignored;
  ::_exit(128 + sig);
}

// Installs end_at_once for SIGINT and SIGTERM over asio's handler (which
// the signal set restores to the default action when it is destroyed).
// A handler of our own, not the default action: the kernel drops
// default-action signals sent to a PID namespace's init, which the server
// is in a container started without --init.
void arm_end_at_once() {
  auto line = format_log_line(
      current_log_format(), "error",
      "a second signal: exiting without waiting for the stop", wall_clock_ms());
  second_signal_size = std::min(line.size(), sizeof second_signal_line);
  std::memcpy(second_signal_line, line.data(), second_signal_size);
  struct sigaction sa {};
  sa.sa_handler = end_at_once;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Stops the node however main leaves (a failed start-up included).
struct node_stopper {
  caf::actor_system& sys;
  crdt::node& n;
  ~node_stopper() {
    stop_or_exit(sys, n);
  }
};

// Prints what start-up created (the generated password only this once).
void report(const bootstrap_request& req, const bootstrap_result& r) {
  if (r.created_organization)
    std::cout << "crdt-store: created organization " << req.organization_id
              << " (" << req.organization_name << ")" << std::endl;
  if (r.created_account)
    std::cout << "crdt-store: created admin account " << r.account_id << " <"
              << normalize_email(req.admin_email) << ">" << std::endl;
  if (r.deferred)
    std::cout << "crdt-store: no admin account here yet: sync is on and "
                 "DEFAULT_ORGANIZATION_ADMIN_PASSWORD is unset, so it is "
                 "expected from the group's hub (set the password to create "
                 "it on this node instead)"
              << std::endl;
  if (!r.generated_password.empty())
    std::cout << "crdt-store: generated admin password (shown only now, "
                 "store it safely): "
              << r.generated_password << std::endl;
}

} // namespace

int main(int argc, char** argv) {
#ifndef CRDT_JEMALLOC
  // Without jemalloc (CMakeLists.txt), glibc's malloc: sync answers and
  // bodies are large, short-lived buffers (a page is 512 KiB by default).
  // Below a fixed 4 MiB mmap threshold they are reused from the heap
  // instead of being mapped, faulted in and unmapped on every round (each
  // unmap flushes the TLB of every core: measured as the largest kernel
  // cost of a sync). glibc would otherwise raise the threshold on its own
  // and keep ever larger buffers; the trim threshold returns free heap tops
  // past 16 MiB, and fewer arenas keep the many threads from each hoarding
  // their own free memory. jemalloc needs none of this: it keeps freed
  // extents for reuse and returns them to the system after ten idle
  // seconds.
  mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
  mallopt(M_ARENA_MAX, 4);
#endif
  auto loaded = load_settings(argc, argv);
  if (!loaded)
    return fail(describe(loaded.error()));
  auto& cfg = *loaded;
  if (cfg.help) {
    std::cout << help_text();
    return 0;
  }
  set_log_format(*parse_log_format(cfg.str("LOG_FORMAT")));
  auto schemas = load_schema_dir(cfg.str("SCHEMA_DIR"));
  if (!schemas)
    return fail(describe(schemas.error()));
  node_options opts;
  opts.store.path = cfg.str("DB_SQLITE_FILE");
  opts.store.synchronous = cfg.str("SQLITE_SYNCHRONOUS");
  // Organizations and accounts replicate like the user's tables.
  add_builtin_tables(*schemas);
  opts.schemas = std::move(*schemas);
  if (cfg.check) {
    if (!file_exists(opts.store.path))
      return fail("check: no database at " + opts.store.path);
    // Offline only: opening migrates and lays out tables, which must not
    // happen behind a running node's writer.
    bool busy = false;
    if (auto problem = lock_database(opts.store.path, &busy); !problem.empty())
      return fail("check: " + problem
                  + (busy ? "; stop it first (the check runs on a database "
                            "no process uses)"
                          : ""));
    // An offline check commits no definitions: the folder's new ones wait
    // for the next start.
    auto store = write_store::open(opts.store, opts.schemas, nullptr, false);
    if (!store)
      return fail(describe(store.error()));
    auto verdict = (*store)->check();
    if (!verdict)
      return fail("check of " + opts.store.path + ": "
                  + describe(verdict.error()));
    std::cout << "crdt-store: check of " << opts.store.path << ": " << *verdict
              << std::endl;
    return 0;
  }
  if (auto problem = lock_database(opts.store.path); !problem.empty())
    return fail(problem);
  if (cfg.rebuild) {
    auto store = write_store::open(opts.store, opts.schemas);
    if (!store)
      return fail(describe(store.error()));
    if (auto err = (*store)->rebuild())
      return fail(describe(err));
    std::cout << "crdt-store: rebuilt every table of " << opts.store.path
              << " from its message log" << std::endl;
    return 0;
  }
  opts.info = {cfg.str("GROUP_ID"), cfg.str("DATABASE"),
               cfg.str("DEFAULT_ORGANIZATION_ID"), cfg.str("SYNC_SECRET"),
               cfg.str("JWT_SECRET"), cfg.str("METRICS_TOKEN")};
  opts.max_drift_ms = cfg.integer("HLC_MAX_DRIFT_MS");
  opts.write_queue_limit
      = static_cast<size_t>(cfg.integer("WRITE_QUEUE_LIMIT"));
  opts.readers = static_cast<size_t>(cfg.integer("READERS"));
  opts.token_ttl = cfg.integer("TOKEN_TTL_SECONDS");
  opts.sync_page_bytes = static_cast<size_t>(cfg.integer("SYNC_PAGE_BYTES"));
  opts.feed.max_subscribers
      = static_cast<size_t>(cfg.integer("FEED_MAX_SUBSCRIBERS"));
  opts.feed.heartbeat
      = std::chrono::milliseconds(cfg.integer("FEED_HEARTBEAT_MS"));
  opts.feed.replay_limit
      = static_cast<uint64_t>(cfg.integer("FEED_REPLAY_LIMIT"));
  // A long poll must end before its connection's idle deadline closes it.
  opts.feed.max_wait = std::chrono::milliseconds(
      std::min<int64_t>(120000, cfg.integer("IDLE_TIMEOUT_MS") * 3 / 4));
  for (const auto& key : sync_setting_keys())
    if (cfg.origin[key] != "default")
      opts.declared_sync[key] = cfg.str(key);
  opts.hub_database.urls = pg::split_database_urls(cfg.str("HUB_DATABASE_URL"));
  opts.hub_database.pool
      = static_cast<size_t>(cfg.integer("HUB_DATABASE_POOL"));
  opts.hub_database.timeout_ms = cfg.integer("HUB_DATABASE_TIMEOUT_MS");
  if (!opts.hub_database.urls.empty()
      && (cfg.origin["GROUP_ID"] == "default"
          || cfg.str("GROUP_ID") == setting_default("GROUP_ID")))
    return fail("HUB_DATABASE_URL is set but GROUP_ID is not: a hub process "
                "serves its own group from its SQLite file, not from "
                "PostgreSQL, so give it a group of its own that no node "
                "syncs with (GROUP_ID=hub-1), or nodes of the default group "
                "would be split between the processes");
  for (size_t i = 0; i < opts.hub_database.urls.size(); ++i) {
    const auto& url = opts.hub_database.urls[i];
    auto shown = pg::redact_conninfo(url);
    auto problem = pg::check_conninfo(url);
    // libpq may quote the part it cannot parse, password included.
    if (!problem.empty() && shown != url)
      problem = "libpq cannot parse it";
    if (problem.empty() && opts.hub_database.urls.size() > 1
        && url.rfind("postgres", 0) != 0)
      problem = "several databases must each be a postgresql:// URI";
    if (!problem.empty())
      return fail("HUB_DATABASE_URL: " + shown + ": " + problem);
    // Creates or upgrades the tables now; a database that cannot be reached
    // yet is connected to on the first /sync call (503 until then).
    auto probe = pg_hub_store::open(url, opts.hub_database.timeout_ms, i,
                                    opts.hub_database.urls.size());
    std::string where = "hub database " + std::to_string(i + 1) + " of "
                        + std::to_string(opts.hub_database.urls.size()) + " ("
                        + pg::redact_conninfo(url) + ")";
    if (probe)
      std::cout << "crdt-store: relayed groups are kept in " << where
                << std::endl;
    else if (is(probe.error(), ec::unavailable))
      std::cerr << "crdt-store: " << where << " cannot be reached yet: "
                << describe(probe.error())
                << "; /sync of relayed groups answers 503 until it can"
                << std::endl;
    else
      return fail(where + ": " + describe(probe.error()));
  }
  if (!opts.hub_database.urls.empty())
    std::cout << "crdt-store: this node's own group " << cfg.str("GROUP_ID")
              << " stays in " << cfg.str("DB_SQLITE_FILE")
              << " (relayed groups kept there before HUB_DATABASE_URL are "
                 "no longer served from it: their nodes refill PostgreSQL)"
              << std::endl;

  caf::actor_system_config caf_cfg;
  auto caf_file = caf_config_path(cfg);
  if (auto err = caf_cfg.parse(caf::actor_system_config::string_list{},
                               caf_file.empty() ? nullptr : caf_file.c_str()))
    return fail("CAF config " + caf_file + ": " + caf_cfg.render(err));
  // Declared after the actor system, so destroyed first: its pending
  // handlers hold connections, and with them session actors and the sync
  // client's callbacks, which the system waits for when it goes.
  caf::actor_system sys{caf_cfg};
  boost::asio::io_context ioc;
  auto client = std::make_shared<hub_client>(ioc, std::chrono::seconds(10));
  if (!cfg.str("SYNC_SECRET").empty())
    client->header("X-Sync-Secret", cfg.str("SYNC_SECRET"));
  opts.transport = client;
  auto n = spawn_node(sys, std::move(opts));
  if (!n)
    return fail(describe(n.error()));
  node_stopper stopper{sys, *n};

  // The default organization and its first admin, on first start.
  bootstrap_request breq{
      cfg.str("DEFAULT_ORGANIZATION_ID"), cfg.str("DEFAULT_ORGANIZATION_NAME"),
      cfg.str("DEFAULT_ORGANIZATION_ADMIN_EMAIL"),
      cfg.str("DEFAULT_ORGANIZATION_ADMIN_PASSWORD"),
      n->sync_settings().enabled && !n->sync_settings().endpoint.empty()};
  auto founded = bootstrap(sys, *n, breq);
  if (!founded)
    return fail("cannot create the default organization: "
                + describe(founded.error()));
  report(breq, *founded);
  n->start_sync();

  server_options hopts;
  hopts.host = cfg.str("HOST");
  hopts.port = static_cast<unsigned short>(cfg.integer("PORT"));
  hopts.body_limit = static_cast<size_t>(cfg.integer("BODY_LIMIT"));
  hopts.sync_body_limit = static_cast<size_t>(cfg.integer("SYNC_BODY_LIMIT"));
  hopts.max_connections = static_cast<size_t>(cfg.integer("MAX_CONNECTIONS"));
  hopts.header_timeout
      = std::chrono::milliseconds(cfg.integer("HEADER_TIMEOUT_MS"));
  hopts.idle_timeout = std::chrono::milliseconds(cfg.integer("IDLE_TIMEOUT_MS"));
  hopts.access_log = cfg.boolean("ACCESS_LOG");
  hopts.stream_queue_bytes
      = static_cast<size_t>(cfg.integer("FEED_QUEUE_BYTES"));
  {
    std::string problem; // checked with the other settings already
    if (auto cors = parse_cors_origins(cfg.str("CORS_ORIGINS"), problem))
      hopts.cors = std::move(*cors);
    if (auto proxies
        = parse_trusted_proxies(cfg.str("TRUSTED_PROXIES"), problem))
      hopts.trusted_proxies = std::move(*proxies);
  }
  fit_descriptor_limit(hopts.max_connections);
  auto lst = std::make_shared<listener>(ioc, sys, n->shared(), hopts);
  if (auto err = lst->open())
    return fail(describe(err));
  lst->run();
  std::cout << "crdt-store: node " << n->id() << " of group "
            << cfg.str("GROUP_ID") << " listening on " << hopts.host << ":"
            << lst->port() << " (database " << cfg.str("DB_SQLITE_FILE")
            << ", CAF config "
            << (caf_file.empty() ? "built-in defaults" : caf_file) << ")"
            << std::endl;
  if (cfg.str("SYNC_SECRET").empty() && !loopback_address(hopts.host))
    std::cout << "crdt-store: SYNC_SECRET is unset, so /sync answers only "
                 "callers on this machine; set it on the hub and its nodes "
                 "to sync over the network"
              << std::endl;

  boost::asio::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec)
      return;
    // The stop waits for what is under way (a large commit can take
    // seconds); a second signal should not wait with it: the next one ends
    // the process at once, like a crash (what was acknowledged is durable).
    arm_end_at_once();
    std::cout << "crdt-store: stopping (a second SIGINT or SIGTERM ends the "
                 "process at once)"
              << std::endl;
    lst->stop();
    ioc.stop();
  });
  std::vector<std::thread> threads;
  for (int64_t i = 1; i < cfg.integer("HTTP_THREADS"); ++i)
    threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads)
    t.join();
  lst->close_all();
  stop_or_exit(sys, *n);
  std::cout << "crdt-store: stopped" << std::endl;
  return 0;
}
