// redis-server's log format for the daemon (see daemon_log.hpp).
#include "daemon/daemon_log.hpp"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "daemon/event_loop.hpp"
#include "node/strings.hpp"

namespace slotlab::daemon {

TraceKind trace_kind_from_name(std::string_view name, bool& ok) {
  ok = true;
  for (int k = 0; k <= static_cast<int>(TraceKind::restarted); ++k) {
    auto kind = static_cast<TraceKind>(k);
    if (name == trace_kind_name(kind)) return kind;
  }
  ok = false;
  return TraceKind::node_started;
}

std::string format_trace(const TraceEvent& e, Millis wall_ms) {
  std::string about = e.about.is_null() ? std::string("-") : e.about.str();
  std::string detail;
  detail.reserve(e.detail.size() + 2);
  detail.push_back('"');
  for (char c : e.detail) {
    if (c == '\n') {
      detail += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') detail.push_back('\\');
    detail.push_back(c);
  }
  detail.push_back('"');
  return fmt::format("trace ms={} kind={} about={} epoch={} value={} detail={}", wall_ms, trace_kind_name(e.kind),
                     about, e.epoch, e.value, detail);
}

std::optional<ParsedTrace> parse_trace(std::string_view line) {
  auto at = line.find("trace ms=");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(at + 6);
  ParsedTrace out;
  // key=value fields up to detail, which is last and quoted.
  auto field = [&](std::string_view key) -> std::optional<std::string_view> {
    if (rest.substr(0, key.size() + 1) != std::string(key) + "=") return std::nullopt;
    rest.remove_prefix(key.size() + 1);
    auto sp = rest.find(' ');
    std::string_view v = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    return v;
  };
  auto ms = field("ms");
  auto kind = field("kind");
  auto about = field("about");
  auto epoch = field("epoch");
  auto value = field("value");
  if (!ms || !kind || !about || !epoch || !value) return std::nullopt;
  auto ms_v = parse_ll(*ms);
  auto epoch_v = parse_ll(*epoch);
  auto value_v = parse_ll(*value);
  bool kind_ok = false;
  out.event.kind = trace_kind_from_name(*kind, kind_ok);
  if (!ms_v || !epoch_v || !value_v || !kind_ok) return std::nullopt;
  out.wall_ms = *ms_v;
  out.event.epoch = static_cast<std::uint64_t>(*epoch_v);
  out.event.value = *value_v;
  if (*about != "-" && !NodeId::parse(*about, out.event.about)) return std::nullopt;
  if (rest.substr(0, 8) != "detail=\"") return std::nullopt;
  rest.remove_prefix(8);
  std::string detail;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    char c = rest[i];
    if (c == '"') {
      out.event.detail = std::move(detail);
      return out;
    }
    if (c == '\\' && i + 1 < rest.size()) {
      char n = rest[++i];
      detail.push_back(n == 'n' ? '\n' : n);
      continue;
    }
    detail.push_back(c);
  }
  return std::nullopt;  // unterminated detail
}

std::string log_prefix(int pid, char role, LogLevel level) {
  static constexpr char kLevelChars[] = ".-*#";
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm t{};
  time_t secs = tv.tv_sec;
  localtime_r(&secs, &t);
  char date[64];
  std::size_t off = std::strftime(date, sizeof(date), "%d %b %Y %H:%M:%S.", &t);
  std::snprintf(date + off, sizeof(date) - off, "%03d", static_cast<int>(tv.tv_usec / 1000));
  return fmt::format("{}:{} {} {} ", pid, role, date, kLevelChars[static_cast<int>(level)]);
}

LogLevel parse_log_level(std::string_view name) {
  if (name == "debug") return LogLevel::debug;
  if (name == "verbose") return LogLevel::verbose;
  if (name == "warning") return LogLevel::warning;
  return LogLevel::notice;
}

DaemonLog::DaemonLog() = default;

DaemonLog::~DaemonLog() {
  if (own_fd_) ::close(fd_);
}

Result<void> DaemonLog::open(const std::string& logfile) {
  if (logfile.empty()) {
    if (own_fd_) ::close(fd_);
    fd_ = 1;
    own_fd_ = false;
    return {};
  }
  int fd = ::open(logfile.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(Errc::io, fmt::format("Can't open the log file: {}", std::strerror(errno)));
  if (own_fd_) ::close(fd_);
  fd_ = fd;
  own_fd_ = true;
  return {};
}

bool DaemonLog::enabled(LogLevel level) const {
  LogLevel min = level_source_ ? level_source_() : level_;
  return static_cast<int>(level) >= static_cast<int>(min);
}

void DaemonLog::log(LogLevel level, std::string_view message) {
  if (!enabled(level)) return;
  char role = role_source_ ? role_source_() : 'M';
  line_ = log_prefix(static_cast<int>(::getpid()), role, level);
  line_.append(message);
  line_.push_back('\n');
  raw(line_);
}

void DaemonLog::raw(std::string_view text) {
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd_, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to log: nothing else we can do
    off += static_cast<std::size_t>(n);
  }
}

void DaemonLog::on_trace(const TraceEvent& event) {
  if (!enabled(LogLevel::verbose)) return;
  log(LogLevel::verbose, format_trace(event, RealClock().now_ms()));
}

}  // namespace slotlab::daemon
