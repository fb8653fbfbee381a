#include "config/settings.hpp"

#include "auth/accounts.hpp"
#include "protocol/cors.hpp"
#include "protocol/forwarded.hpp"
#include "protocol/endpoint.hpp"
#include "protocol/error.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace crdt {

namespace {

// The machine's cores, as a default value.
const char* cores() {
  static const std::string text
      = std::to_string(std::max(1u, std::thread::hardware_concurrency()));
  return text.c_str();
}

} // namespace

const std::vector<setting_spec>& setting_specs() {
  static const std::vector<setting_spec> specs{
      {"PORT", "3060", "HTTP port"},
      {"HOST", "127.0.0.1",
       "address to listen on (0.0.0.0 to accept connections from the network)"},
      {"DB_SQLITE_FILE", "db/sql.sqlite",
       "SQLite file; parent folders are created"},
      {"SCHEMA_DIR", "schema", "folder of table definitions (*.json)"},
      {"DATABASE", "Test", "name of the database, reported by /health"},
      {"GROUP_ID", "my_group", "CRDT group to replicate with"},
      {"SYNC_ENABLED", "false", "run the background sync"},
      {"SYNC_ENDPOINT", "", "base URL of the hub (/sync is appended)"},
      {"SYNC_TIMER_MS", "30000", "sync period in milliseconds"},
      {"SYNC_SECRET", "",
       "shared secret of the group's /sync: a hub refuses calls without it "
       "(401), a node sends it (X-Sync-Secret header)"},
      {"SYNC_BACKOFF_MAX_MS", "5000",
       "cap of the back-off (ms) after failed sync rounds"},
      {"HLC_MAX_DRIFT_MS", "60000",
       "how far (ms) the clock may run ahead of physical time"},
      {"DEFAULT_ORGANIZATION_ID", "01JBHKXHYSKPP247HZZWHA3JCT",
       "organization created on first start"},
      {"DEFAULT_ORGANIZATION_NAME", "Super Organization", "its name"},
      {"DEFAULT_ORGANIZATION_ADMIN_EMAIL", "admin@example.com",
       "first admin account"},
      {"DEFAULT_ORGANIZATION_ADMIN_PASSWORD", "",
       "its password, at least 8 characters (generated and printed once when "
       "unset); used only when the account is created"},
      {"JWT_SECRET", "",
       "key signing the bearer tokens, at least 32 characters; give every "
       "node of a group the same one so that each accepts the others' "
       "tokens (unset: a random key is generated and kept in the database, "
       "and tokens work on this node only)"},
      {"TOKEN_TTL_SECONDS", "3600", "lifetime of a bearer token in seconds"},
      {"BODY_LIMIT", "1048576", "largest request body in bytes (413 above)"},
      {"SYNC_BODY_LIMIT", "67108864",
       "largest POST /sync body in bytes (413 above); clients of the "
       "crdt-example-app format send their whole merkle trie"},
      {"MAX_CONNECTIONS", "4096",
       "open HTTP connections; more are answered 503 and closed (the "
       "descriptor limit is raised to fit, within the hard limit)"},
      {"HEADER_TIMEOUT_MS", "10000",
       "time a client has to send a whole request head (ms), from its "
       "first byte or from connecting"},
      {"IDLE_TIMEOUT_MS", "60000",
       "time a keep-alive connection may wait for its next request (ms)"},
      {"SYNC_PAGE_BYTES", "524288",
       "the JSON size of the messages in one sync call, both what a node "
       "sends and what a hub answers (at least one message per call)"},
      {"WRITE_QUEUE_LIMIT", "10000",
       "uncommitted write batches above which writes get 503"},
      {"SQLITE_SYNCHRONOUS", "FULL",
       "FULL: a commit survives power loss; NORMAL: survives a crash, faster"},
      {"HTTP_THREADS", cores(),
       "Asio threads serving HTTP (default: one per core)"},
      {"READERS", "2", "read-only SQLite connections (reader actors)"},
      {"CAF_CONFIG", "",
       "CAF tuning file (default: config/caf.ini beside the sources or in "
       "the working directory)"},
      {"LOG_FORMAT", "text",
       "text, or json: every log line a JSON object (time, level, msg; "
       "requests with their id, route, status and duration)"},
      {"ACCESS_LOG", "true", "log one line per answered request"},
      {"METRICS_TOKEN", "",
       "bearer token, at least 32 characters, that may read GET /metrics "
       "besides the admins of the default organization (unset: only they)"},
      {"CORS_ORIGINS", "",
       "web origins whose pages may call the API from a browser: * or "
       "comma-separated origins such as https://app.example.com (unset: "
       "none, no CORS headers)"},
      {"TRUSTED_PROXIES", "",
       "reverse proxies (addresses or networks such as 10.0.0.0/8, "
       "comma-separated) whose X-Forwarded-For names the client, for the "
       "login throttle and the access log (unset: none)"},
      {"FEED_MAX_SUBSCRIBERS", "1000",
       "change feed streams and long polls open at once; more get 503"},
      {"FEED_HEARTBEAT_MS", "15000",
       "a change feed stream sends a comment line this often (ms) when "
       "nothing changes, so that proxies and clients know it is alive"},
      {"FEED_QUEUE_BYTES", "1048576",
       "bytes of events a feed stream may have waiting for a slow client; "
       "beyond, it gets an error event and is closed"},
      {"FEED_REPLAY_LIMIT", "10000000",
       "log positions a feed may replay to catch a client up; a since "
       "further back answers 409 (list again, then follow from now)"},
      {"HUB_DATABASE_URL", "",
       "PostgreSQL for the groups this node relays as a hub: a libpq URI "
       "(postgresql://user:password@host:5432/db) or connection string; "
       "several URIs separated by spaces spread the groups over several "
       "servers. Every hub process given the same value serves the same "
       "groups (unset: relayed groups are kept in the SQLite file)"},
      {"HUB_DATABASE_POOL", "4",
       "connections to each hub database (requests beyond wait their turn)"},
      {"HUB_DATABASE_TIMEOUT_MS", "10000",
       "statement timeout of the hub database's connections (ms); a call "
       "that runs longer is answered 503"},
      {"SYNC_SECRET_FILE", "",
       "a file holding SYNC_SECRET (Docker and compose secrets)"},
      {"JWT_SECRET_FILE", "", "a file holding JWT_SECRET"},
      {"METRICS_TOKEN_FILE", "", "a file holding METRICS_TOKEN"},
      {"HUB_DATABASE_URL_FILE", "", "a file holding HUB_DATABASE_URL"},
      {"DEFAULT_ORGANIZATION_ADMIN_PASSWORD_FILE", "",
       "a file holding DEFAULT_ORGANIZATION_ADMIN_PASSWORD"},
  };
  return specs;
}

const std::vector<std::string>& secret_setting_keys() {
  static const std::vector<std::string> keys{
    "SYNC_SECRET", "JWT_SECRET", "DEFAULT_ORGANIZATION_ADMIN_PASSWORD",
    "METRICS_TOKEN", "HUB_DATABASE_URL"};
  return keys;
}

namespace {

enum class kind {
  text,
  port,
  positive,
  non_negative,
  boolean,
  sync_mode,
  url,
  email,
  password,
  secret,
  identifier,
  lifetime,
  log_format,
  origins,
  proxies,
};

kind kind_of(const std::string& key) {
  if (key == "PORT")
    return kind::port;
  if (key == "SYNC_TIMER_MS" || key == "SYNC_BACKOFF_MAX_MS"
      || key == "BODY_LIMIT" || key == "SYNC_BODY_LIMIT"
      || key == "SYNC_PAGE_BYTES" || key == "WRITE_QUEUE_LIMIT"
      || key == "HTTP_THREADS" || key == "READERS" || key == "HLC_MAX_DRIFT_MS"
      || key == "MAX_CONNECTIONS" || key == "HEADER_TIMEOUT_MS"
      || key == "IDLE_TIMEOUT_MS" || key == "FEED_MAX_SUBSCRIBERS"
      || key == "FEED_HEARTBEAT_MS" || key == "FEED_QUEUE_BYTES"
      || key == "FEED_REPLAY_LIMIT" || key == "HUB_DATABASE_POOL"
      || key == "HUB_DATABASE_TIMEOUT_MS")
    return kind::positive;
  if (key == "TOKEN_TTL_SECONDS")
    return kind::lifetime;
  if (key == "DEFAULT_ORGANIZATION_ADMIN_EMAIL")
    return kind::email;
  if (key == "DEFAULT_ORGANIZATION_ADMIN_PASSWORD")
    return kind::password;
  if (key == "JWT_SECRET" || key == "METRICS_TOKEN")
    return kind::secret;
  if (key == "LOG_FORMAT")
    return kind::log_format;
  if (key == "DEFAULT_ORGANIZATION_ID" || key == "GROUP_ID")
    return kind::identifier;
  if (key == "SYNC_ENABLED" || key == "ACCESS_LOG")
    return kind::boolean;
  if (key == "SQLITE_SYNCHRONOUS")
    return kind::sync_mode;
  if (key == "SYNC_ENDPOINT")
    return kind::url;
  if (key == "CORS_ORIGINS")
    return kind::origins;
  if (key == "TRUSTED_PROXIES")
    return kind::proxies;
  return kind::text;
}

std::optional<int64_t> to_int(const std::string& s) {
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc{} || ptr != s.data() + s.size())
    return std::nullopt;
  return out;
}

std::optional<bool> to_bool(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (s == "true" || s == "1" || s == "yes" || s == "on")
    return true;
  if (s == "false" || s == "0" || s == "no" || s == "off" || s.empty())
    return false;
  return std::nullopt;
}

// Returns an empty string when `value` is acceptable for `key`.
std::string check(const std::string& key, const std::string& value) {
  switch (kind_of(key)) {
  case kind::port: {
    auto n = to_int(value);
    if (!n || *n < 0 || *n > 65535)
      return "must be a port number (0-65535)";
    break;
  }
  case kind::positive: {
    auto n = to_int(value);
    if (!n || *n <= 0)
      return "must be a positive integer";
    break;
  }
  case kind::boolean:
    if (!to_bool(value))
      return "must be true or false";
    break;
  case kind::sync_mode:
    if (value != "FULL" && value != "NORMAL")
      return "must be FULL or NORMAL";
    break;
  case kind::origins: {
    std::string problem;
    if (!parse_cors_origins(value, problem))
      return problem;
    break;
  }
  case kind::proxies: {
    std::string problem;
    if (!parse_trusted_proxies(value, problem))
      return problem;
    break;
  }
  case kind::url:
    if (!value.empty() && !parse_endpoint(value))
      return "must be an http:// URL with a host and an optional port, "
             "such as http://127.0.0.1:3061";
    break;
  case kind::email: {
    auto problem = email_problem(normalize_email(value));
    if (!problem.empty())
      return problem;
    break;
  }
  case kind::password:
    if (!value.empty() && !password_problem(value).empty())
      return password_problem(value) + " (or unset, to generate one)";
    break;
  case kind::lifetime: {
    auto n = to_int(value);
    if (!n || *n <= 0 || *n > 30 * 24 * 3600)
      return "must be a number of seconds from 1 to 2592000 (30 days)";
    break;
  }
  case kind::log_format:
    if (value != "text" && value != "json")
      return "must be text or json";
    break;
  case kind::secret:
    if (!value.empty() && value.size() < 32)
      return "must be at least 32 characters (or unset)";
    break;
  case kind::identifier: {
    bool ok = !value.empty() && value.size() <= 128;
    for (unsigned char c : value)
      ok = ok && (std::isalnum(c) || c == '_' || c == '-' || c == '.');
    if (!ok)
      return "must be 1 to 128 letters, digits, '_', '-' or '.'";
    break;
  }
  default:
    break;
  }
  return {};
}

// The content of a secret file, without the line end an editor or `echo`
// leaves at its end.
caf::expected<std::string> read_secret_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(ec::bad_request, "cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (text.empty())
    return make_error(ec::bad_request, "the file is empty");
  return text;
}

bool known(const std::string& key) {
  for (const auto& s : setting_specs())
    if (key == s.key)
      return true;
  return false;
}

} // namespace

std::string setting_default(const std::string& key) {
  for (const auto& s : setting_specs())
    if (key == s.key)
      return s.fallback;
  return {};
}

std::map<std::string, std::string> parse_dotenv(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#')
      continue;
    line = line.substr(first);
    if (line.rfind("export", 0) == 0 && line.size() > 6
        && (line[6] == ' ' || line[6] == '\t'))
      line = line.substr(line.find_first_not_of(" \t", 6));
    auto eq = line.find('=');
    if (eq == std::string::npos)
      continue;
    auto key = line.substr(0, eq);
    auto val = line.substr(eq + 1);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t'))
      key.pop_back();
    while (!val.empty()
           && (val.back() == '\r' || val.back() == ' ' || val.back() == '\t'))
      val.pop_back();
    auto vfirst = val.find_first_not_of(" \t");
    val = vfirst == std::string::npos ? "" : val.substr(vfirst);
    if (val.size() >= 2
        && ((val.front() == '"' && val.back() == '"')
            || (val.front() == '\'' && val.back() == '\'')))
      val = val.substr(1, val.size() - 2);
    out[key] = val;
  }
  return out;
}

const std::string& settings::str(const std::string& key) const {
  static const std::string empty;
  auto it = values.find(key);
  return it == values.end() ? empty : it->second;
}

int64_t settings::integer(const std::string& key) const {
  return to_int(str(key)).value_or(0);
}

bool settings::boolean(const std::string& key) const {
  return to_bool(str(key)).value_or(false);
}

std::string validate_setting(const std::string& key, const std::string& value) {
  return check(key, value);
}

const std::vector<std::string>& sync_setting_keys() {
  static const std::vector<std::string> keys{
      "SYNC_ENABLED", "SYNC_ENDPOINT", "SYNC_TIMER_MS", "SYNC_BACKOFF_MAX_MS"};
  return keys;
}

bool is_sync_setting(const std::string& key) {
  const auto& keys = sync_setting_keys();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string sync_setting_list() {
  std::string out;
  for (const auto& k : sync_setting_keys())
    out += (out.empty() ? "" : ", ") + k;
  return out;
}

bool apply_sync_setting(sync_config& cfg, const std::string& key,
                        const std::string& value) {
  if (!is_sync_setting(key) || !check(key, value).empty())
    return false;
  if (key == "SYNC_ENABLED")
    cfg.enabled = *to_bool(value);
  else if (key == "SYNC_ENDPOINT")
    cfg.endpoint = value;
  else if (key == "SYNC_TIMER_MS")
    cfg.timer_ms = *to_int(value);
  else
    cfg.backoff_max_ms = *to_int(value);
  return true;
}

std::string help_text() {
  std::string out = "Usage: crdt-store [--rebuild | --check] [--KEY=VALUE ...]\n\n"
                    "Settings come from flags (--port=3061 or --PORT 3061),\n"
                    "then the environment, then ./.env, then the defaults:\n\n";
  for (const auto& s : setting_specs()) {
    out += "  ";
    out += s.key;
    out += " (default: ";
    out += *s.fallback ? s.fallback : "none";
    out += ")\n      ";
    out += s.help;
    out += "\n";
  }
  out += "\n  --rebuild  rebuild every table from the message log, then exit\n"
         "  --check    check the database (SQLite integrity, merkle tries\n"
         "             against the message log), then exit: 0 when sound\n"
         "  --help     this text\n";
  return out;
}

caf::expected<settings> load_settings(int argc, char** argv) {
  settings out;
  for (const auto& s : setting_specs()) {
    out.values[s.key] = s.fallback;
    out.origin[s.key] = "default";
  }
  {
    std::ifstream in{".env"};
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      for (auto& [k, v] : parse_dotenv(ss.str()))
        if (known(k)) {
          out.values[k] = v;
          out.origin[k] = ".env";
        }
    }
  }
  for (const auto& s : setting_specs())
    if (const char* v = std::getenv(s.key)) {
      out.values[s.key] = v;
      out.origin[s.key] = "env";
    }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (arg == "--rebuild") {
      out.rebuild = true;
      continue;
    }
    if (arg == "--check") {
      out.check = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0)
      return make_error(ec::bad_request,
                        "unexpected argument '" + arg + "' (see --help)");
    auto eq = arg.find('=');
    std::string key
        = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::string val;
    if (eq != std::string::npos) {
      val = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      val = argv[++i];
    } else {
      return make_error(ec::bad_request, "flag --" + key + " needs a value");
    }
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) {
      return c == '-' ? '_' : static_cast<char>(std::toupper(c));
    });
    if (!known(key))
      return make_error(ec::bad_request,
                        "unknown setting --" + arg.substr(2) + " (see --help)");
    out.values[key] = val;
    out.origin[key] = "flag";
  }
  if (out.help)
    return out; // --help works whatever else is set
  for (const auto& key : secret_setting_keys()) {
    auto file_key = key + "_FILE";
    const auto& path = out.values[file_key];
    if (path.empty())
      continue;
    if (out.origin[key] != "default")
      return make_error(ec::bad_request,
                        "set " + key + " or " + file_key + ", not both");
    auto text = read_secret_file(path);
    if (!text)
      return make_error(ec::bad_request,
                        "setting " + file_key + "='" + path + "' ("
                          + out.origin[file_key]
                          + "): " + describe(text.error()));
    out.values[key] = std::move(*text);
    out.origin[key] = out.origin[file_key] + " " + file_key;
  }
  for (const auto& [k, v] : out.values) {
    auto problem = check(k, v);
    if (problem.empty())
      continue;
    // A secret's value never goes into a message (it would reach logs).
    const auto& secrets = secret_setting_keys();
    auto shown = std::find(secrets.begin(), secrets.end(), k) == secrets.end()
                   ? "='" + v + "'"
                   : std::string{};
    return make_error(ec::bad_request, "setting " + k + shown + " ("
                                         + out.origin[k] + "): " + problem);
  }
  return out;
}

} // namespace crdt
