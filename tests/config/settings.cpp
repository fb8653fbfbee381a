// Settings (SPEC section 8): the .env parser, the precedence flag > env >
// .env > default, validation with a message naming the setting, and the
// --help / --rebuild flags.

#include "config/settings.hpp"

#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

using namespace crdt;

namespace {

// Runs in an empty temporary working directory with none of the settings in
// the environment; restores both afterwards.
struct fixture {
  fixture() {
    old_cwd = std::filesystem::current_path();
    dir = std::filesystem::temp_directory_path()
          / ("settings-tests-" + random_node_id());
    std::filesystem::create_directories(dir);
    std::filesystem::current_path(dir);
    for (const auto& s : setting_specs()) {
      if (const char* v = std::getenv(s.key))
        saved_env[s.key] = v;
      unsetenv(s.key);
    }
  }

  ~fixture() {
    std::error_code ignored;
    std::filesystem::current_path(old_cwd, ignored);
    std::filesystem::remove_all(dir, ignored);
    for (const auto& s : setting_specs()) {
      auto it = saved_env.find(s.key);
      if (it != saved_env.end())
        setenv(s.key, it->second.c_str(), 1);
      else
        unsetenv(s.key);
    }
  }

  caf::expected<settings> load(std::vector<std::string> args) {
    std::vector<char*> argv{const_cast<char*>("crdt-store")};
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    return load_settings(static_cast<int>(argv.size() - 1), argv.data());
  }

  settings must_load(std::vector<std::string> args) {
    auto s = load(std::move(args));
    if (!s)
      BOOST_FAIL(describe(s.error()));
    return std::move(*s);
  }

  static void write_dotenv(const std::string& text) {
    std::ofstream out{".env", std::ios::binary};
    out << text;
  }

  std::filesystem::path old_cwd, dir;
  std::map<std::string, std::string> saved_env;
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(settings_tests, fixture)

// -- .env ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(dotenv_comments_blank_lines_and_plain_values) {
  auto kv = parse_dotenv("# a comment\n"
                         "   # an indented comment\n"
                         "\n"
                         "   \n"
                         "PORT=3061\n"
                         "  GROUP_ID = shop  \n"
                         "SYNC_ENDPOINT=http://h:1/x?a=b\n"
                         "EMPTY=\n"
                         "noequals\n"
                         "#PORT=9999\n");
  BOOST_CHECK_EQUAL(kv.size(), 4u);
  BOOST_CHECK_EQUAL(kv["PORT"], "3061");
  BOOST_CHECK_EQUAL(kv["GROUP_ID"], "shop");
  BOOST_CHECK_EQUAL(kv["SYNC_ENDPOINT"],
                    "http://h:1/x?a=b"); // first '=' splits
  BOOST_CHECK_EQUAL(kv.count("EMPTY"), 1u);
  BOOST_CHECK_EQUAL(kv["EMPTY"], "");
  BOOST_CHECK_EQUAL(kv.count("noequals"), 0u);
  BOOST_CHECK(parse_dotenv("").empty());
  BOOST_CHECK(parse_dotenv("# only\n# comments").empty());
  // The last assignment of a key wins; a final line without newline counts.
  kv = parse_dotenv("PORT=1\nPORT=2");
  BOOST_CHECK_EQUAL(kv["PORT"], "2");
}

BOOST_AUTO_TEST_CASE(dotenv_quotes_and_export) {
  auto kv = parse_dotenv("DATABASE=\"quoted value\"\n"
                         "GROUP_ID='single # not a comment'\n"
                         "export HOST=0.0.0.0\n"
                         "export SCHEMA_DIR = \"my schemas\"\n"
                         "DEFAULT_ORGANIZATION_NAME=\"\"\n"
                         "KEEP=\"half\n"
                         "INNER=a\"b\"c\n");
  BOOST_CHECK_EQUAL(kv["DATABASE"], "quoted value");
  BOOST_CHECK_EQUAL(kv["GROUP_ID"], "single # not a comment");
  BOOST_CHECK_EQUAL(kv["HOST"], "0.0.0.0");
  BOOST_CHECK_EQUAL(kv.count("export HOST"), 0u);
  BOOST_CHECK_EQUAL(kv["SCHEMA_DIR"], "my schemas");
  BOOST_CHECK_EQUAL(kv["DEFAULT_ORGANIZATION_NAME"], "");
  BOOST_CHECK_EQUAL(kv["KEEP"], "\"half"); // unbalanced: kept as written
  BOOST_CHECK_EQUAL(kv["INNER"], "a\"b\"c");
}

// Blanks are trimmed around keys and values alike, tabs as well as spaces,
// also after `export` (which, as in a shell, may be followed by several).
BOOST_AUTO_TEST_CASE(dotenv_blanks_are_trimmed_consistently) {
  auto kv = parse_dotenv("export  SCHEMA_DIR=s\n"
                         "export\tGROUP_ID=g\n"
                         "PORT=3061\t\n"
                         "\tDATABASE\t=\tdb\t\r\n");
  BOOST_CHECK_EQUAL(kv.size(), 4u);
  auto get = [&](const std::string& key) {
    auto it = kv.find(key);
    return it == kv.end() ? std::string{"<missing>"} : it->second;
  };
  BOOST_CHECK_EQUAL(get("SCHEMA_DIR"), "s");
  BOOST_CHECK_EQUAL(get("GROUP_ID"), "g");
  BOOST_CHECK_EQUAL(get("PORT"), "3061");
  BOOST_CHECK_EQUAL(get("DATABASE"), "db");
}

BOOST_AUTO_TEST_CASE(dotenv_crlf_line_ends) {
  auto kv = parse_dotenv("# comment\r\n"
                         "\r\n"
                         "PORT=3061\r\n"
                         "DATABASE=\"Prod DB\"\r\n"
                         "export GROUP_ID=g\r\n"
                         "EMPTY=\r\n"
                         "LAST=x\r");
  BOOST_CHECK_EQUAL(kv.size(), 5u);
  BOOST_CHECK_EQUAL(kv["PORT"], "3061");
  BOOST_CHECK_EQUAL(kv["DATABASE"], "Prod DB");
  BOOST_CHECK_EQUAL(kv["GROUP_ID"], "g");
  BOOST_CHECK_EQUAL(kv["EMPTY"], "");
  BOOST_CHECK_EQUAL(kv["LAST"], "x");
  for (const auto& [k, v] : kv) {
    BOOST_CHECK_MESSAGE(!contains(k, "\r"), k);
    BOOST_CHECK_MESSAGE(!contains(v, "\r"), k);
  }
  // Read through load_settings as well: a CRLF .env gives clean values.
  write_dotenv("PORT=3061\r\nSYNC_TIMER_MS=500\r\n");
  auto s = must_load({});
  BOOST_CHECK_EQUAL(s.integer("PORT"), 3061);
  BOOST_CHECK_EQUAL(s.integer("SYNC_TIMER_MS"), 500);
}

// -- precedence ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(defaults_apply_without_any_source) {
  auto s = must_load({});
  BOOST_CHECK(!s.help);
  BOOST_CHECK(!s.rebuild);
  for (const auto& spec : setting_specs()) {
    BOOST_CHECK_EQUAL(s.str(spec.key), spec.fallback);
    BOOST_CHECK_EQUAL(s.origin.at(spec.key), "default");
  }
  BOOST_CHECK_EQUAL(s.integer("PORT"), 3060);
  BOOST_CHECK_EQUAL(s.str("DB_SQLITE_FILE"), "db/sql.sqlite");
  BOOST_CHECK_EQUAL(s.str("GROUP_ID"), "my_group");
  BOOST_CHECK_EQUAL(s.integer("SYNC_TIMER_MS"), 30000);
  BOOST_CHECK_EQUAL(s.str("DATABASE"), "Test");
  BOOST_CHECK_EQUAL(s.str("DEFAULT_ORGANIZATION_ID"),
                    "01JBHKXHYSKPP247HZZWHA3JCT");
  BOOST_CHECK_EQUAL(s.str("SCHEMA_DIR"), "schema");
  BOOST_CHECK(!s.boolean("SYNC_ENABLED"));
}

BOOST_AUTO_TEST_CASE(flag_beats_env_beats_dotenv_beats_default) {
  write_dotenv("PORT=4001\nDATABASE=dotenv\nGROUP_ID=dotenv\n"
               "SYNC_TIMER_MS=1000\nNOT_A_SETTING=ignored\n");
  setenv("PORT", "4002", 1);
  setenv("DATABASE", "env", 1);
  auto s = must_load({"--port=4003"});
  // PORT in all three: the flag.
  BOOST_CHECK_EQUAL(s.integer("PORT"), 4003);
  BOOST_CHECK_EQUAL(s.origin.at("PORT"), "flag");
  // DATABASE in env and .env: the environment.
  BOOST_CHECK_EQUAL(s.str("DATABASE"), "env");
  BOOST_CHECK_EQUAL(s.origin.at("DATABASE"), "env");
  // GROUP_ID only in .env.
  BOOST_CHECK_EQUAL(s.str("GROUP_ID"), "dotenv");
  BOOST_CHECK_EQUAL(s.origin.at("GROUP_ID"), ".env");
  // Nowhere: the default.
  BOOST_CHECK_EQUAL(s.str("SCHEMA_DIR"), "schema");
  BOOST_CHECK_EQUAL(s.origin.at("SCHEMA_DIR"), "default");
  // Unknown keys in .env are not settings.
  BOOST_CHECK_EQUAL(s.values.count("NOT_A_SETTING"), 0u);
  // Each layer taken away reveals the next.
  s = must_load({});
  BOOST_CHECK_EQUAL(s.integer("PORT"), 4002);
  unsetenv("PORT");
  s = must_load({});
  BOOST_CHECK_EQUAL(s.integer("PORT"), 4001);
  std::filesystem::remove(".env");
  s = must_load({});
  BOOST_CHECK_EQUAL(s.integer("PORT"), 3060);
  BOOST_CHECK_EQUAL(s.str("DATABASE"), "env");
  // An empty environment value still counts as given.
  setenv("SYNC_ENDPOINT", "", 1);
  s = must_load({});
  BOOST_CHECK_EQUAL(s.origin.at("SYNC_ENDPOINT"), "env");
}

BOOST_AUTO_TEST_CASE(flag_spellings) {
  auto s = must_load({"--SYNC-TIMER-MS", "250", "--sync-enabled=yes",
                      "--group_id=g", "--DB_SQLITE_FILE=x/y.sqlite",
                      "--database", "a=b"});
  BOOST_CHECK_EQUAL(s.integer("SYNC_TIMER_MS"), 250);
  BOOST_CHECK(s.boolean("SYNC_ENABLED"));
  BOOST_CHECK_EQUAL(s.str("GROUP_ID"), "g");
  BOOST_CHECK_EQUAL(s.str("DB_SQLITE_FILE"), "x/y.sqlite");
  BOOST_CHECK_EQUAL(s.str("DATABASE"), "a=b");
  for (const auto& key : {"SYNC_TIMER_MS", "SYNC_ENABLED", "GROUP_ID",
                          "DB_SQLITE_FILE", "DATABASE"})
    BOOST_CHECK_EQUAL(s.origin.at(key), "flag");
  // A later flag overrides an earlier one.
  s = must_load({"--port=1", "--port=2"});
  BOOST_CHECK_EQUAL(s.integer("PORT"), 2);
  // Booleans in their usual spellings.
  for (auto [text, want] :
       std::vector<std::pair<const char*, bool>>{{"true", true},
                                                 {"TRUE", true},
                                                 {"1", true},
                                                 {"on", true},
                                                 {"false", false},
                                                 {"0", false},
                                                 {"no", false},
                                                 {"Off", false}}) {
    s = must_load({std::string{"--sync-enabled="} + text});
    BOOST_CHECK_MESSAGE(s.boolean("SYNC_ENABLED") == want, text);
  }
}

// -- validation ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bad_values_fail_naming_the_setting) {
  struct {
    const char* key;
    const char* value;
  } cases[] = {
      {"PORT", "abc"},
      {"PORT", "70000"},
      {"PORT", "-1"},
      {"PORT", "30 60"},
      {"PORT", ""},
      {"SYNC_TIMER_MS", "0"},
      {"SYNC_TIMER_MS", "-5"},
      {"SYNC_TIMER_MS", "1s"},
      {"SYNC_ENDPOINT", "ftp://x"},
      {"SYNC_ENDPOINT", "127.0.0.1:3061"},
      {"SYNC_ENABLED", "maybe"},
      {"TRUSTED_PROXIES", "nginx"},
      {"TRUSTED_PROXIES", "10.0.0.0/40"},
      {"SQLITE_SYNCHRONOUS", "OFF"},
      {"BODY_LIMIT", "0"},
      {"READERS", "many"},
      {"HLC_MAX_DRIFT_MS", "0"},
      {"SYNC_ENDPOINT", "http://"},
      {"SYNC_ENDPOINT", "http://:3061"},
      {"SYNC_ENDPOINT", "http://hub:0"},
      {"SYNC_ENDPOINT", "http://hub:99999"},
      {"SYNC_ENDPOINT", "http://hub:port"},
      {"SYNC_ENDPOINT", "http://hub:"},
      {"SYNC_ENDPOINT", "http://h ub"},
      {"SYNC_ENDPOINT", "http://hub/x?y"},
      {"SYNC_ENDPOINT", "http://user@hub"},
      {"SYNC_ENDPOINT", "http://[::1"},
      {"TOKEN_TTL_SECONDS", "0"},
      {"TOKEN_TTL_SECONDS", "1h"},
      {"TOKEN_TTL_SECONDS", "2592001"},
      {"TOKEN_TTL_SECONDS", "9223372036854775807"},
      {"JWT_SECRET", "too-short"},
      {"DEFAULT_ORGANIZATION_ADMIN_EMAIL", "admin"},
      {"DEFAULT_ORGANIZATION_ADMIN_EMAIL", ""},
      {"DEFAULT_ORGANIZATION_ADMIN_PASSWORD", "short"},
      {"DEFAULT_ORGANIZATION_ID", ""},
      {"DEFAULT_ORGANIZATION_ID", "a b"},
      {"GROUP_ID", ""},
      {"GROUP_ID", "x/y"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.key << "='" << c.value << "'") {
      // From the environment ...
      setenv(c.key, c.value, 1);
      auto s = load({});
      BOOST_REQUIRE(!s);
      BOOST_CHECK(is(s.error(), ec::bad_request));
      auto text = describe(s.error());
      BOOST_CHECK_MESSAGE(contains(text, c.key), text);
      BOOST_CHECK_MESSAGE(contains(text, "env"), text);
      BOOST_CHECK(!validate_setting(c.key, c.value).empty());
      unsetenv(c.key);
      // ... from a flag ...
      s = load({std::string{"--"} + c.key + "=" + c.value});
      BOOST_REQUIRE(!s);
      BOOST_CHECK_MESSAGE(contains(describe(s.error()), c.key),
                          describe(s.error()));
      // ... and from .env.
      write_dotenv(std::string{c.key} + "=\"" + c.value + "\"\n");
      s = load({});
      BOOST_REQUIRE(!s);
      BOOST_CHECK_MESSAGE(contains(describe(s.error()), c.key),
                          describe(s.error()));
      std::filesystem::remove(".env");
    }
  }
  // A bad value hidden by a good one of higher precedence does not matter.
  setenv("PORT", "abc", 1);
  BOOST_CHECK(load({"--port=3000"}));
  unsetenv("PORT");
  // Good values at the edges.
  for (auto [key, value] : std::vector<std::pair<const char*, const char*>>{
           {"PORT", "0"},
           {"PORT", "65535"},
           {"SYNC_TIMER_MS", "1"},
           {"SYNC_ENDPOINT", ""},
           {"SYNC_ENDPOINT", "http://127.0.0.1:3061"},
           {"SQLITE_SYNCHRONOUS", "NORMAL"},
           {"SYNC_ENDPOINT", "http://hub"},
           {"SYNC_ENDPOINT", "http://hub:3060/base/"},
           {"SYNC_ENDPOINT", "http://[::1]:3061"},
           {"SYNC_ENDPOINT", "http://my-hub.example.org:65535"},
           {"TOKEN_TTL_SECONDS", "1"},
           {"TOKEN_TTL_SECONDS", "2592000"},
           {"JWT_SECRET", ""},
           {"JWT_SECRET", "0123456789abcdef0123456789abcdef"},
           {"DEFAULT_ORGANIZATION_ADMIN_PASSWORD", ""},
           {"DEFAULT_ORGANIZATION_ADMIN_PASSWORD", "12345678"},
           {"DEFAULT_ORGANIZATION_ADMIN_EMAIL", "Ops@Example.org"},
           {"GROUP_ID", "app-schema-v2"}}) {
    BOOST_CHECK_MESSAGE(validate_setting(key, value).empty(), key);
    BOOST_CHECK_MESSAGE(load({std::string{"--"} + key + "=" + value}), key);
  }
  BOOST_CHECK(validate_setting("ANYTHING_ELSE", "x").empty());
}

BOOST_AUTO_TEST_CASE(unknown_flags_and_arguments_fail) {
  struct {
    std::vector<std::string> args;
    const char* says;
  } cases[] = {
      {{"--no-such-setting=1"}, "no-such-setting"},
      {{"--no-such-setting", "1"}, "no-such-setting"},
      {{"stray"}, "stray"},
      {{"-p", "3000"}, "-p"},
      {{"--port"}, "port"},
      {{"--=x"}, "--"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.args[0]) {
      auto s = load(c.args);
      BOOST_REQUIRE(!s);
      BOOST_CHECK(is(s.error(), ec::bad_request));
      BOOST_CHECK_MESSAGE(contains(describe(s.error()), c.says),
                          describe(s.error()));
    }
  }
}

// -- --help, --rebuild --------------------------------------------------------

BOOST_AUTO_TEST_CASE(help_and_rebuild_set_their_flags) {
  auto s = must_load({"--rebuild"});
  BOOST_CHECK(s.rebuild);
  BOOST_CHECK(!s.help);
  s = must_load({"--help"});
  BOOST_CHECK(s.help);
  BOOST_CHECK(!s.rebuild);
  BOOST_CHECK(must_load({"-h"}).help);
  s = must_load({"--rebuild", "--port=3001"});
  BOOST_CHECK(s.rebuild);
  BOOST_CHECK_EQUAL(s.integer("PORT"), 3001);
  // --help works even with a bad setting around.
  setenv("PORT", "abc", 1);
  auto h = load({"--help"});
  BOOST_REQUIRE(h);
  BOOST_CHECK(h->help);
  BOOST_CHECK(!load({"--rebuild"})); // but --rebuild validates
  unsetenv("PORT");
  // The help text lists every setting with its default.
  auto text = help_text();
  for (const auto& spec : setting_specs()) {
    BOOST_CHECK_MESSAGE(contains(text, spec.key), spec.key);
    if (*spec.fallback)
      BOOST_CHECK_MESSAGE(contains(text, spec.fallback), spec.key);
  }
  BOOST_CHECK(contains(text, "--rebuild"));
  BOOST_CHECK(contains(text, "--help"));
}

BOOST_AUTO_TEST_CASE(sync_settings_apply_by_the_rule_that_validates_them) {
  // What config_sync accepts at the API is exactly what the sync client
  // applies: one rule (a "yes" used to pass the check and then be
  // ignored by the sync actor, which knew only true/false/1/0).
  struct {
    const char* key;
    const char* value;
  } cases[] = {
      {"SYNC_ENABLED", "true"},
      {"SYNC_ENABLED", "yes"},
      {"SYNC_ENABLED", "On"},
      {"SYNC_ENABLED", "0"},
      {"SYNC_ENABLED", "maybe"},
      {"SYNC_ENDPOINT", "http://127.0.0.1:3061"},
      {"SYNC_ENDPOINT", "http://[::1]:3061/base"},
      {"SYNC_ENDPOINT", "https://hub"},
      {"SYNC_ENDPOINT", "http://"},
      {"SYNC_ENDPOINT", ""},
      {"SYNC_TIMER_MS", "250"},
      {"SYNC_TIMER_MS", "0"},
      {"SYNC_TIMER_MS", "1e3"},
      {"SYNC_BACKOFF_MAX_MS", "9000"},
      {"SYNC_BACKOFF_MAX_MS", "-1"},
      {"GROUP_ID", "other"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.key << "=" << c.value) {
      sync_config cfg;
      bool valid
          = is_sync_setting(c.key) && validate_setting(c.key, c.value).empty();
      BOOST_CHECK_EQUAL(apply_sync_setting(cfg, c.key, c.value), valid);
    }
  }
  sync_config cfg;
  BOOST_REQUIRE(apply_sync_setting(cfg, "SYNC_ENABLED", "yes"));
  BOOST_CHECK(cfg.enabled);
  BOOST_REQUIRE(apply_sync_setting(cfg, "SYNC_TIMER_MS", "250"));
  BOOST_CHECK_EQUAL(cfg.timer_ms, 250);
  BOOST_REQUIRE(apply_sync_setting(cfg, "SYNC_ENDPOINT", "http://[::1]:9"));
  BOOST_CHECK_EQUAL(cfg.endpoint, "http://[::1]:9");
  // A refused value leaves the settings as they were.
  BOOST_CHECK(!apply_sync_setting(cfg, "SYNC_TIMER_MS", "soon"));
  BOOST_CHECK_EQUAL(cfg.timer_ms, 250);
  BOOST_CHECK_EQUAL(setting_default("SYNC_TIMER_MS"), "30000");
}

// -- secrets from files ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(secrets_come_from_files_named_in_key_file) {
  const std::string key = "0123456789abcdef0123456789abcdef";
  {
    std::ofstream out{"jwt", std::ios::binary};
    out << key << "\r\n"; // the line end an editor leaves is not part of it
  }
  {
    std::ofstream out{"pw", std::ios::binary};
    out << "a password from a file\n";
  }
  setenv("JWT_SECRET_FILE", (dir / "jwt").c_str(), 1);
  auto s = must_load({"--default-organization-admin-password-file=pw"});
  BOOST_CHECK_EQUAL(s.str("JWT_SECRET"), key);
  BOOST_CHECK_EQUAL(s.str("DEFAULT_ORGANIZATION_ADMIN_PASSWORD"),
                    "a password from a file");
  BOOST_CHECK(contains(s.origin["JWT_SECRET"], "JWT_SECRET_FILE"));
  // Both the value and its file: which one was meant is unclear.
  setenv("JWT_SECRET", key.c_str(), 1);
  auto both = load({});
  BOOST_REQUIRE(!both);
  BOOST_CHECK_MESSAGE(contains(describe(both.error()), "not both"),
                      describe(both.error()));
  unsetenv("JWT_SECRET");
  // A file that cannot be read, or is empty, stops start-up naming it.
  setenv("JWT_SECRET_FILE", (dir / "missing").c_str(), 1);
  auto missing = load({});
  BOOST_REQUIRE(!missing);
  BOOST_CHECK(contains(describe(missing.error()), "JWT_SECRET_FILE"));
  { std::ofstream out{"empty"}; }
  setenv("JWT_SECRET_FILE", (dir / "empty").c_str(), 1);
  BOOST_CHECK(!load({}));
  // A secret that fails its check is named, but its value never shown.
  {
    std::ofstream out{"short"};
    out << "tiny-secret";
  }
  setenv("JWT_SECRET_FILE", (dir / "short").c_str(), 1);
  auto weak = load({});
  BOOST_REQUIRE(!weak);
  BOOST_CHECK(contains(describe(weak.error()), "JWT_SECRET"));
  BOOST_CHECK_MESSAGE(!contains(describe(weak.error()), "tiny-secret"),
                      describe(weak.error()));
  unsetenv("JWT_SECRET_FILE");
  setenv("SYNC_SECRET", "sync-secret-in-the-environment", 1);
  setenv("PORT", "bad", 1);
  auto other = load({});
  BOOST_REQUIRE(!other);
  BOOST_CHECK(!contains(describe(other.error()), "sync-secret"));
  unsetenv("SYNC_SECRET");
  unsetenv("PORT");
}

BOOST_AUTO_TEST_SUITE_END()
