// Process for the daemon, crash reports, pidfile and daemonize (see daemon_process.hpp).
#include "daemon/daemon_process.hpp"

#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "daemon/config_file.hpp"
#include "node/node.hpp"

namespace slotlab::daemon {

namespace {

constexpr const char* kBugReportStart = "\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n";
constexpr const char* kBugReportEnd =
    "\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n"
    "       Please report the crash by opening an issue on github:\n\n"
    "           http://github.com/redis/redis/issues\n\n"
    "  If a Redis module was involved, please open in the module's repo instead.\n\n"
    "  Suspect RAM error? Use redis-server --test-memory to verify it.\n\n"
    "  Some other issues could be detected by redis-server --check-system\n";

// State for the genuine-crash handler: plain data only (async-signal-safe use).
int g_crash_log_fd = 2;
char g_crash_pidfile[PATH_MAX] = {0};

void write_fd(int fd, const char* s, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, s, n);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return;
    }
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

void write_str(int fd, const char* s) { write_fd(fd, s, std::strlen(s)); }

// Formats a non-negative or negative int without allocating.
void write_int(int fd, long v) {
  char buf[32];
  int i = sizeof(buf);
  bool neg = v < 0;
  unsigned long u = neg ? static_cast<unsigned long>(-(v + 1)) + 1 : static_cast<unsigned long>(v);
  do {
    buf[--i] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0 && i > 1);
  if (neg) buf[--i] = '-';
  write_fd(fd, buf + i, sizeof(buf) - static_cast<std::size_t>(i));
}

void crash_handler(int sig, siginfo_t* info, void*) {
  int fd = g_crash_log_fd;
  write_str(fd, kBugReportStart);
  write_int(fd, static_cast<long>(::getpid()));
  write_str(fd, ":M # Redis 7.0.15 crashed by signal: ");
  write_int(fd, sig);
  write_str(fd, ", si_code: ");
  write_int(fd, info != nullptr ? info->si_code : 0);
  write_str(fd, "\n");
  if (info != nullptr && info->si_code == SI_USER) {
    write_str(fd, "Killed by PID: ");
    write_int(fd, static_cast<long>(info->si_pid));
    write_str(fd, ", UID: ");
    write_int(fd, static_cast<long>(info->si_uid));
    write_str(fd, "\n");
  }
  if (sig == SIGABRT) write_str(fd, "(SIGABRT: most likely a failed slotlab assertion; see stderr)\n");
  write_str(fd, "\n------ STACK TRACE ------\n");
  void* frames[64];
  int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, fd);
  write_str(fd, kBugReportEnd);
  if (g_crash_pidfile[0] != '\0') ::unlink(g_crash_pidfile);
  // SA_RESETHAND restored the default action: die by the same signal (core dump if enabled).
  ::raise(sig);
}

}  // namespace

DaemonProcess::DaemonProcess(EventLoop& loop, DaemonLog& log, std::string config_file, std::string executable)
    : loop_(loop), log_(log), config_file_(std::move(config_file)), executable_(std::move(executable)) {}

std::int64_t DaemonProcess::pid() const { return static_cast<std::int64_t>(::getpid()); }

void DaemonProcess::crash(std::string_view reason) {
  if (crashing_) return;
  crashing_ = true;
  std::string why(reason);
  loop_.defer([this, why] {
    write_crash_report(why);
    die_by_sigsegv();
  });
}

void DaemonProcess::write_crash_report(std::string_view reason) {
  log_.raw(kBugReportStart);
  log_.log(LogLevel::warning, "Redis 7.0.15 crashed by signal: 11, si_code: 0");
  log_.log(LogLevel::warning, fmt::format("Crashed on purpose: {} (slotlab-node raises SIGSEGV itself)", reason));
  if (node_ != nullptr) {
    std::string info = "\n------ INFO OUTPUT ------\n";
    info += node_->info_text("all");
    info += "\n";
    log_.raw(info);
  }
  log_.raw(kBugReportEnd);
}

void DaemonProcess::die_by_sigsegv() {
  if (!pidfile_.empty()) ::unlink(pidfile_.c_str());
  struct sigaction act {};
  sigemptyset(&act.sa_mask);
  act.sa_handler = SIG_DFL;
  sigaction(SIGSEGV, &act, nullptr);
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, SIGSEGV);
  sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
  ::raise(SIGSEGV);
  ::_exit(128 + SIGSEGV);  // not reached
}

void DaemonProcess::shutdown(int exit_code) {
  if (exit_code_) return;
  exit_code_ = exit_code;
  loop_.defer([this] { loop_.stop(); });
}

Result<void> DaemonProcess::rewrite_config(const std::vector<std::string>& directives) {
  if (config_file_.empty()) return make_error(Errc::state, "The server is running without a config file");
  std::string old_text;
  int fd = ::open(config_file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) {
    return make_error(Errc::io, fmt::format("Rewriting config file: {}", std::strerror(errno)));
  }
  if (fd >= 0) {
    char buf[16 * 1024];
    while (true) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      old_text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
  }
  std::string content = rewrite_config_text(old_text, directives);
  auto r = write_file_atomically(config_file_, content);
  if (!r) {
    log_.log(LogLevel::warning, fmt::format("CONFIG REWRITE failed: {}", r.error().message));
    return make_error(Errc::io, "Rewriting config file: " + r.error().message);
  }
  log_.log(LogLevel::notice, "CONFIG REWRITE executed with success.");
  return {};
}

void install_crash_handlers(int log_fd, const std::string& pidfile) {
  g_crash_log_fd = log_fd;
  std::snprintf(g_crash_pidfile, sizeof(g_crash_pidfile), "%s", pidfile.c_str());
  struct sigaction act {};
  sigemptyset(&act.sa_mask);
  act.sa_flags = SA_NODEFER | SA_RESETHAND | SA_SIGINFO;
  act.sa_sigaction = crash_handler;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &act, nullptr);
}

Result<void> write_pidfile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(Errc::io, std::strerror(errno));
  std::string text = fmt::format("{}\n", ::getpid());
  write_fd(fd, text.data(), text.size());
  ::close(fd);
  return {};
}

void daemonize() {
  pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(stderr, "fork: %s\n", std::strerror(errno));
    std::exit(1);
  }
  if (pid > 0) ::_exit(0);  // the parent returns to the shell
  ::setsid();
  pid = ::fork();
  if (pid < 0) ::_exit(1);
  if (pid > 0) ::_exit(0);  // the session leader goes: the daemon can never get a terminal back
  int fd = ::open("/dev/null", O_RDWR);
  if (fd >= 0) {
    ::dup2(fd, STDIN_FILENO);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO) ::close(fd);
  }
}

std::string executable_path(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
  if (argv0 == nullptr) return {};
  if (argv0[0] == '/') return argv0;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return argv0;
  return std::string(cwd) + "/" + argv0;
}

}  // namespace slotlab::daemon
