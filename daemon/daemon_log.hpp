// The daemon's Log and Observer: redis-server's log format and levels, to `logfile` or stdout.
//
//   12345:M 25 Nov 2024 07:26:01.123 * Ready to accept connections
//   pid:role  day Mon year HH:MM:SS.mmm level-char message
//
// Level characters are Redis's ".-*#" (debug, verbose, notice, warning); the role is 'M' for a
// primary and 'S' for a replica, asked of the node at each line. Lines below `loglevel` (which
// CONFIG SET may change at run time, hence a callback) are dropped. The Observer's trace events
// (failover stages, refused votes with their reason...) become verbose lines in a fixed,
// machine-readable form the harness's real world can parse back:
//
//   trace ms=1732519561123 kind=vote_refused about=<node id> epoch=7 value=0 detail="..."
//
// (ms: the wall clock in Unix milliseconds; about: "-" when null; detail: quoted, \" \\ \n escaped).
// parse_trace() reads such a line back, for the harness's timeline of a real-world run.
//
// Unlike Redis (which reopens the file for every line) the file stays open; each line is one
// write(2) with O_APPEND, so lines from a crash handler or a second process never interleave.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "node/env.hpp"
#include "node/result.hpp"

namespace slotlab::daemon {

TraceKind trace_kind_from_name(std::string_view name, bool& ok);
// The trace line's text (without the log prefix).
std::string format_trace(const TraceEvent& event, Millis wall_ms);
// Reads a trace line back: a whole log line or just its "trace ..." text. nullopt if it is not one.
struct ParsedTrace {
  Millis wall_ms = 0;
  TraceEvent event;
};
std::optional<ParsedTrace> parse_trace(std::string_view line);
// "12345:M 25 Nov 2024 07:26:01.123 * " for the current time.
std::string log_prefix(int pid, char role, LogLevel level);
LogLevel parse_log_level(std::string_view name);  // "debug" | "verbose" | "notice" | "warning"

class DaemonLog final : public Log, public Observer {
 public:
  DaemonLog();
  ~DaemonLog() override;
  DaemonLog(const DaemonLog&) = delete;
  DaemonLog& operator=(const DaemonLog&) = delete;

  // "" logs to stdout. The file is created if needed and appended to.
  Result<void> open(const std::string& logfile);
  int fd() const { return fd_; }
  void set_level(LogLevel level) { level_ = level; }
  // When set, asked for the level at each line (CONFIG SET loglevel takes effect at once).
  void set_level_source(std::function<LogLevel()> source) { level_source_ = std::move(source); }
  void set_role_source(std::function<char()> source) { role_source_ = std::move(source); }
  bool enabled(LogLevel level) const;

  // Log
  void log(LogLevel level, std::string_view message) override;
  // Text written as is (the crash report's banners), at warning level.
  void raw(std::string_view text);
  // Observer
  void on_trace(const TraceEvent& event) override;

 private:
  int fd_ = 1;
  bool own_fd_ = false;
  LogLevel level_ = LogLevel::notice;
  std::function<LogLevel()> level_source_;
  std::function<char()> role_source_;
  std::string line_;  // reused buffer
};

}  // namespace slotlab::daemon
