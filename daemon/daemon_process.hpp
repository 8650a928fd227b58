// What "the process" means for a real node (node/env.hpp Process): a crash really kills it by
// SIGSEGV after printing redis-server's bug report, a shutdown stops the loop and exits with the
// node's code, CONFIG REWRITE rewrites the file the daemon was started with.
//
// Both crash() and shutdown() take effect after the node's current event handler returns (through
// EventLoop::defer), never inside it, as the Process contract requires.
//
// Also here: handlers for genuine crashes (our own bugs: SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT
// from a failed SLOTLAB_ASSERT) that log a short bug report with a backtrace before dying by the
// same signal, and the pidfile / daemonize helpers of redis-server's main().
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/daemon_log.hpp"
#include "daemon/event_loop.hpp"
#include "node/env.hpp"

namespace slotlab {
class Node;
}

namespace slotlab::daemon {

class DaemonProcess final : public Process {
 public:
  DaemonProcess(EventLoop& loop, DaemonLog& log, std::string config_file, std::string executable);

  // For the crash report's INFO section.
  void set_node(const Node* node) { node_ = node; }
  // Removed when the process crashes (Redis does so when daemonized) or shuts down.
  void set_pidfile(std::string path) { pidfile_ = std::move(path); }
  const std::string& pidfile() const { return pidfile_; }

  void crash(std::string_view reason) override;
  void shutdown(int exit_code) override;
  std::int64_t pid() const override;
  Result<void> rewrite_config(const std::vector<std::string>& directives) override;
  std::string executable() const override { return executable_; }
  std::string config_file() const override { return config_file_; }

  // Set once shutdown() took effect: the code main() exits with.
  std::optional<int> exit_code() const { return exit_code_; }
  // The bug report redis-server prints when it crashes, for `reason` (e.g. "DEBUG SEGFAULT").
  void write_crash_report(std::string_view reason);

 private:
  [[noreturn]] void die_by_sigsegv();

  EventLoop& loop_;
  DaemonLog& log_;
  std::string config_file_;
  std::string executable_;
  std::string pidfile_;
  const Node* node_ = nullptr;
  std::optional<int> exit_code_;
  bool crashing_ = false;
};

// Installs the genuine-crash handlers; the report goes to `log_fd`, and `pidfile` (may be empty)
// is unlinked as redis-server does when it crashes daemonized.
void install_crash_handlers(int log_fd, const std::string& pidfile);

// redis-server's createPidFile: "<pid>\n". Failure is logged by the caller and is not fatal.
Result<void> write_pidfile(const std::string& path);

// Detaches from the terminal: fork, setsid, fork again (so the daemon can never reacquire a
// terminal), stdin/stdout/stderr to /dev/null. Only the grandchild returns.
void daemonize();

// The absolute path of the running executable (/proc/self/exe), for INFO's executable field.
std::string executable_path(const char* argv0);

}  // namespace slotlab::daemon
