#include "config/settings.hpp"

#include "protocol/error.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace crdt;

namespace {

// Runs in an empty temporary working directory with a clean environment
// for the keys under test.
struct fixture {
  fixture() {
    old = std::filesystem::current_path();
    dir = std::filesystem::temp_directory_path() / ("settings-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::filesystem::current_path(dir);
    for (const auto& s : setting_specs())
      unsetenv(s.key);
  }
  ~fixture() {
    std::filesystem::current_path(old);
    std::filesystem::remove_all(dir);
    for (const auto& s : setting_specs())
      unsetenv(s.key);
  }
  caf::expected<settings> load(std::vector<std::string> args) {
    std::vector<char*> argv{const_cast<char*>("crdt-store")};
    for (auto& a : args)
      argv.push_back(a.data());
    return load_settings(static_cast<int>(argv.size()), argv.data());
  }
  std::filesystem::path old, dir;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(settings_tests, fixture)

BOOST_AUTO_TEST_CASE(dotenv_lines) {
  auto kv = parse_dotenv("# comment\n\nPORT=1\r\nexport HOST = 0.0.0.0\n"
                         "DATABASE=\"quoted value\"\nGROUP_ID='g'\nnoequals\n");
  BOOST_CHECK_EQUAL(kv["PORT"], "1");
  BOOST_CHECK_EQUAL(kv["HOST"], "0.0.0.0");
  BOOST_CHECK_EQUAL(kv["DATABASE"], "quoted value");
  BOOST_CHECK_EQUAL(kv["GROUP_ID"], "g");
  BOOST_CHECK_EQUAL(kv.count("noequals"), 0u);
}

BOOST_AUTO_TEST_CASE(flags_beat_environment_beat_dotenv_beat_defaults) {
  auto s = load({});
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(s->str("PORT"), "3060");
  std::ofstream{".env"} << "PORT=4001\nDATABASE=dotenv\nGROUP_ID=dotenv\n";
  s = load({});
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(s->integer("PORT"), 4001);
  setenv("PORT", "4002", 1);
  setenv("DATABASE", "env", 1);
  s = load({"--port=4003"});
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(s->integer("PORT"), 4003);
  BOOST_CHECK_EQUAL(s->str("DATABASE"), "env");
  BOOST_CHECK_EQUAL(s->str("GROUP_ID"), "dotenv");
  BOOST_CHECK_EQUAL(s->origin.at("PORT"), "flag");
  s = load({"--SYNC-TIMER-MS", "250", "--sync-enabled=yes"});
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(s->integer("SYNC_TIMER_MS"), 250);
  BOOST_CHECK(s->boolean("SYNC_ENABLED"));
}

BOOST_AUTO_TEST_CASE(bad_values_name_the_setting) {
  for (auto [key, value] : std::vector<std::pair<const char*, const char*>>{
         {"PORT", "abc"}, {"PORT", "70000"}, {"SYNC_TIMER_MS", "0"},
         {"SYNC_ENDPOINT", "ftp://x"}, {"SYNC_ENABLED", "maybe"},
         {"SQLITE_SYNCHRONOUS", "OFF"}}) {
    setenv(key, value, 1);
    auto s = load({});
    BOOST_CHECK_MESSAGE(!s, key);
    if (!s)
      BOOST_CHECK(describe(s.error()).find(key) != std::string::npos);
    unsetenv(key);
  }
  BOOST_CHECK(!load({"--no-such-setting=1"}));
  BOOST_CHECK(!load({"stray"}));
  BOOST_CHECK(!load({"--port"}));
}

BOOST_AUTO_TEST_CASE(help_and_rebuild_flags) {
  setenv("PORT", "abc", 1);
  auto s = load({"--help"});
  BOOST_REQUIRE(s); // --help works even with a bad setting around
  BOOST_CHECK(s->help);
  unsetenv("PORT");
  s = load({"--rebuild"});
  BOOST_REQUIRE(s);
  BOOST_CHECK(s->rebuild);
  auto text = help_text();
  for (const auto& spec : setting_specs())
    BOOST_CHECK(text.find(spec.key) != std::string::npos);
  BOOST_CHECK(validate_setting("SYNC_TIMER_MS", "-1").size() > 0);
  BOOST_CHECK(validate_setting("SYNC_TIMER_MS", "10").empty());
  BOOST_CHECK(validate_setting("ANYTHING_ELSE", "x").empty());
}

BOOST_AUTO_TEST_SUITE_END()
