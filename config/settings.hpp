#pragma once

#include <caf/expected.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace crdt {

/// One configuration key: its default and what it means.
struct setting_spec {
  const char* key;
  const char* fallback;
  const char* help;
};

/// Every setting the server knows, in the order --help lists them.
const std::vector<setting_spec>& setting_specs();

/// The settings that are secrets: each may instead be given as the name
/// of a file holding it, in `<KEY>_FILE` (the Docker and compose secrets
/// convention).
const std::vector<std::string>& secret_setting_keys();

/// The default of a setting ("" for an unknown key).
std::string setting_default(const std::string& key);

/// The resolved configuration: defaults, overridden by `.env`, overridden
/// by the environment, overridden by command-line flags; a secret given as
/// `<KEY>_FILE` is read from that file.
struct settings {
  std::map<std::string, std::string> values;
  /// Where each value came from ("default", ".env", "env", "flag").
  std::map<std::string, std::string> origin;
  /// `--rebuild`: rebuild the tables from the message log and exit.
  bool rebuild = false;
  /// `--check`: check the database (integrity, tries against the log) and
  /// exit, 0 when sound.
  bool check = false;
  /// `--help`: print the settings and exit.
  bool help = false;

  const std::string& str(const std::string& key) const;

  // Typed views; load() has already checked every value.
  int64_t integer(const std::string& key) const;
  bool boolean(const std::string& key) const;
};

/// Resolves the configuration from `argv`, the environment and the `.env`
/// file in the working directory. Fails with one line naming the setting.
caf::expected<settings> load_settings(int argc, char** argv);

/// Why `value` is not acceptable for setting `key`; empty when it is (or
/// when the key is not a known setting).
std::string validate_setting(const std::string& key, const std::string& value);

/// The settings kept in `config_sync` and changeable at run time.
const std::vector<std::string>& sync_setting_keys();

/// True for a key of sync_setting_keys().
bool is_sync_setting(const std::string& key);

/// The sync settings, comma-separated, for messages.
std::string sync_setting_list();

/// The sync client's settings; the first four change at runtime through
/// config_sync.
struct sync_config {
  bool enabled = false;
  /// Base URL of the hub, e.g. http://127.0.0.1:3061.
  std::string endpoint;
  /// Period between rounds.
  int64_t timer_ms = 30000;
  /// Cap of the back-off after failed rounds.
  int64_t backoff_max_ms = 5000;
  /// This node's group and id.
  std::string group;
  std::string node_id;
  /// Messages per call when draining the outbox (about 700 KB of JSON,
  /// under the hub's default 1 MiB body limit).
  uint32_t batch = 4000;
  /// The JSON size of the messages of one call at most, sent or asked for.
  size_t page_bytes = 512 * 1024;
  /// Bound on the recursive reconciliation of one round.
  int max_depth = 32;
};

/// Applies a sync setting to `cfg`, by the same rule validate_setting()
/// checks values with; false (and `cfg` unchanged) when the key is not a
/// sync setting or the value is not acceptable.
bool apply_sync_setting(sync_config& cfg, const std::string& key,
                        const std::string& value);

/// The --help text.
std::string help_text();

/// Parses `KEY=VALUE` lines (comments, blank lines, optional quotes and
/// `export ` allowed).
std::map<std::string, std::string> parse_dotenv(const std::string& text);

} // namespace crdt
