// redis.conf in redis-server's form: the command line (`slotlab-node [/path/to/redis.conf]
// [--option value ...]`), the file syntax (sdssplitargs quoting, '#' comments, case-insensitive
// names, `include`), the start-up error report, and CONFIG REWRITE's in-place rewriting.
//
// The rules are Redis 7.0.15's (src/server.c main(), src/config.c loadServerConfig /
// loadServerConfigFromString / rewriteConfig, src/sds.c sdssplitargs / sdscatrepr):
//  - the file is read first, then "\n", then the command-line options as lines "name value";
//    errors name the line in that combined text;
//  - a directive slotlab implements goes through the node's table (node/config.hpp), so the file,
//    CONFIG GET/SET and the simulator's overrides share one parser per directive;
//  - a directive Redis 7.0 knows that slotlab does not implement is checked like Redis checks it
//    and then ignored (listed once in the log); anything else is fatal;
//  - `save` lines accumulate, and the first one replaces the defaults; `bind` takes several
//    addresses; MULTI_ARG directives also accept their arguments as one quoted string.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/event_loop.hpp"
#include "node/config.hpp"

namespace slotlab::daemon {

// sdssplitargs: splits a line into arguments with "double" (escapes \n \r \t \b \a \xHH \\ \")
// and 'single' quotes; nullopt on unbalanced quotes or a closing quote not followed by a space.
std::optional<std::vector<std::string>> split_args(std::string_view line);
// sdscatrepr: the argument in double quotes, escaped so that split_args reads it back.
std::string quote_arg(std::string_view arg);

// Everything the daemon takes from its configuration.
struct DaemonConfig {
  NodeConfig node;
  std::string config_file;           // absolute path; empty when started without a file
  std::string dir = ".";             // absolute directory after the `dir` lines (cwd if none)
  int tcp_backlog = 511;
  std::vector<std::string> ignored;  // directives accepted without effect, first-seen order
};

// A fatal configuration problem, reported as redis-server reports it.
struct ConfigError {
  int line = 0;           // 1-based line in the text being parsed; 0: not about one line
  std::string line_text;  // the trimmed line
  std::string reason;
  bool fatal_format = true;  // false: a plain message (e.g. "Fatal error, can't open config file")
  // "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 12\n
  //  >>> 'clustr-enabled yes'\nBad directive or wrong number of arguments\n"
  std::string report() const;
};

// What redis-server's main() makes of argv[1..].
struct CommandLine {
  enum class Action : std::uint8_t { run, version, help, error };
  Action action = Action::run;
  std::string config_file;  // as given, empty if none
  std::string options;      // "--port 7000 --save" -> "port \"7000\" \nsave \"\""
  bool has_args = false;    // argc >= 2: the options are appended to the file text
  std::string error;        // for Action::error
};
CommandLine parse_command_line(const std::vector<std::string>& args);

// Loads configuration text on top of the defaults, the way loadServerConfig does. `cwd` is the
// directory relative paths (`dir`, `include`, the config file) are resolved against.
class ConfigLoader {
 public:
  explicit ConfigLoader(std::string cwd);

  // The file (may be empty: no file), then "\n" + options if has_options. The file name is made
  // absolute and remembered as config_file.
  std::optional<ConfigError> load(const std::string& file, const std::string& options, bool has_options);
  // Parses text as one config string (tests, include).
  std::optional<ConfigError> load_string(std::string_view text);
  // Checks run once after everything was parsed (log file can be opened, replicaof vs cluster).
  std::optional<ConfigError> finish();

  const DaemonConfig& config() const { return config_; }
  DaemonConfig& config() { return config_; }

 private:
  std::optional<ConfigError> apply(const std::vector<std::string>& argv);
  std::optional<ConfigError> include(const std::string& path);
  std::string absolute(const std::string& path) const;
  void note_ignored(const std::string& name);

  DaemonConfig config_;
  bool save_loaded_ = false;  // the first `save` line replaces the defaults
  bool replicaof_set_ = false;
  int include_depth_ = 0;
};

// The whole command line -> configuration, as redis-server does it at start-up.
struct LoadedConfig {
  DaemonConfig config;
  std::optional<ConfigError> error;
};
LoadedConfig load_daemon_config(const CommandLine& cl, const std::string& cwd);

// CONFIG REWRITE (rewriteConfig): the new text of the config file. `directives` are the node's
// "name value" lines for every directive whose value differs from its default. Comments, blank
// lines and directives slotlab does not rewrite are kept; the first line of a rewritten directive
// is replaced and its other lines blanked; new directives are appended after a
// "# Generated by CONFIG REWRITE" line; lines Redis would not understand become "# ??? <line>".
std::string rewrite_config_text(std::string_view old_text, const std::vector<std::string>& directives);

// Writes `content` to `path` atomically (temporary file, fsync, rename, fsync of the directory).
Result<void> write_file_atomically(const std::string& path, std::string_view content);

}  // namespace slotlab::daemon
