// Implementation of the real world (see real_world.hpp).
#include "harness/real_world.hpp"

#include <csignal>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "daemon/daemon_log.hpp"
#include "node/strings.hpp"

extern char** environ;

namespace slotlab::harness {

namespace {

// "12345:M 25 Nov 2026 08:52:34.672 * message" -> unix ms, message. Redis prints local time.
bool parse_log_line(const std::string& line, Millis& wall_ms, std::string& message) {
  auto colon = line.find(':');
  if (colon == std::string::npos || colon + 2 >= line.size()) return false;
  std::string rest = line.substr(colon + 3);  // after "pid:R "
  std::tm tm{};
  const char* end = strptime(rest.c_str(), "%d %b %Y %H:%M:%S", &tm);
  if (end == nullptr || *end != '.') return false;
  int ms = std::atoi(end + 1);
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == -1) return false;
  wall_ms = static_cast<Millis>(t) * 1000 + ms;
  const char* p = end + 1;
  while (*p >= '0' && *p <= '9') ++p;
  if (*p == ' ') ++p;
  if (*p != '\0') ++p;  // level character
  if (*p == ' ') ++p;
  message = p;
  return true;
}

// Redis's own log lines for the events the timeline needs.
bool redis_event(const std::string& msg, TraceEvent& ev) {
  auto id_after = [&](std::string_view marker) -> std::string {
    auto pos = msg.find(marker);
    if (pos == std::string::npos) return {};
    pos += marker.size();
    return msg.substr(pos, 40);
  };
  auto set_about = [&](const std::string& id) { NodeId::parse(id, ev.about); };
  if (msg.rfind("*** NODE ", 0) == 0 && msg.find("possibly failing") != std::string::npos) {
    ev.kind = TraceKind::pfail_marked;
    set_about(id_after("*** NODE "));
    return true;
  }
  if (msg.rfind("Marking node ", 0) == 0 && msg.find("as failing") != std::string::npos) {
    ev.kind = TraceKind::fail_marked;
    set_about(id_after("Marking node "));
    return true;
  }
  if (msg.rfind("FAIL message received from", 0) == 0) {
    ev.kind = TraceKind::fail_marked;
    set_about(id_after(" about "));
    return true;
  }
  if (msg.rfind("Start of election delayed for", 0) == 0) {
    ev.kind = TraceKind::election_scheduled;
    return true;
  }
  if (msg.rfind("Starting a failover election for epoch", 0) == 0) {
    ev.kind = TraceKind::election_started;
    return true;
  }
  if (msg.rfind("Failover election won", 0) == 0) {
    ev.kind = TraceKind::promoted;
    return true;
  }
  if (msg.rfind("Failover auth granted to ", 0) == 0) {
    ev.kind = TraceKind::vote_granted;
    set_about(id_after("Failover auth granted to "));
    return true;
  }
  if (msg.rfind("Cluster state changed: ", 0) == 0) {
    ev.kind = TraceKind::state_changed;
    ev.value = msg.find("ok") != std::string::npos ? 1 : 0;
    return true;
  }
  return false;
}

}  // namespace

std::string RealWorld::default_server() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto dir = self.parent_path();
    for (auto cand : {dir / "slotlab-node", dir / ".." / "daemon" / "slotlab-node"}) {
      if (std::filesystem::exists(cand, ec)) return std::filesystem::weakly_canonical(cand, ec).string();
    }
  }
  return "slotlab-node";
}

const std::set<std::string>& RealWorld::supported_actions() {
  // Each entry is something this world really does: CLUSTER/DEBUG commands over sockets, signals
  // (crash = DEBUG SEGFAULT, kill = SIGKILL, pause/resume = SIGSTOP/SIGCONT), process restarts in
  // the node's directory, the admin operations and workloads over client connections. The fault
  // steps below the processes (links, clocks, disks, bus filters, partitions) are the simulator's.
  static const std::set<std::string> a = {
      "create",         "wait-until",    "sleep",     "check",        "crash",   "kill",      "restart",
      "pause",          "resume",        "failover",  "load-keys",    "start-workload", "stop-workload",
      "cluster-check",  "cluster-info",  "fix",       "reshard",      "rebalance", "add-node", "del-node",
      "call",           "set-timeout",   "set-config"};  // set-config: a real CONFIG SET on each node
  return a;
}

bool RealWorld::supports(const std::string& action) const { return supported_actions().count(action) != 0; }

RealWorld::RealWorld(std::uint64_t seed, RealWorldOptions options) : options_(std::move(options)), rng_(seed * 0x9E3779B97F4A7C15ull + 1) {
  if (options_.server.empty()) options_.server = default_server();
  host_ = &loop_.add_host(daemon::HostOptions{});
  mux_ = std::make_unique<ClientMux>(*host_);
  host_->attach(*mux_);
  if (options_.work_dir.empty()) {
    char tmpl[] = "/tmp/slotlab-real-XXXXXX";
    char* d = mkdtemp(tmpl);
    work_dir_ = d != nullptr ? d : "/tmp/slotlab-real";
    own_dir_ = true;
  } else {
    work_dir_ = options_.work_dir;
    std::filesystem::create_directories(work_dir_);
  }
}

RealWorld::~RealWorld() { stop_all(); }

std::uint64_t RealWorld::random() {
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return rng_;
}

bool RealWorld::run_until(const std::function<bool()>& pred, Millis deadline_ms) {
  while (true) {
    // Fire due timers first: they may make pred true.
    while (!timers_.empty() && timers_.top().at_ms <= loop_.now_ms()) {
      auto fn = timers_.top().fn;
      timers_.pop();
      fn();
    }
    if (pred()) return true;
    Millis now = loop_.now_ms();
    if (now >= deadline_ms) return false;
    Millis until = deadline_ms;
    if (!timers_.empty()) until = std::min(until, timers_.top().at_ms);
    if (loop_.run_until(pred, until)) return true;
  }
}

void RealWorld::schedule(Millis at_ms, std::function<void()> fn) { timers_.push(Timer{at_ms, timer_seq_++, std::move(fn)}); }

RealWorld::Proc& RealWorld::proc(const std::string& name) { return procs_.at(name); }
const RealWorld::Proc& RealWorld::proc(const std::string& name) const { return procs_.at(name); }

Result<void> RealWorld::spawn(Proc& p) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(options_.server.c_str()));
  for (auto& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  std::string out = p.dir + "/stdout.log";
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, p.dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  if (options_.new_session) posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, options_.server.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return make_error(Errc::io, fmt::format("cannot start {}: {}", options_.server, std::strerror(rc)));
  p.pid = pid;
  p.alive = true;
  // Up when it answers PING (or -NOAUTH/-LOADING: it is listening).
  Millis deadline = loop_.now_ms() + 15000;
  while (loop_.now_ms() < deadline) {
    reap();
    if (!p.alive) {
      std::ifstream log(p.dir + "/stdout.log");
      std::stringstream ss;
      ss << log.rdbuf();
      return make_error(Errc::state, fmt::format("{} exited at start-up: {}", p.name, ss.str()));
    }
    RespConnection c(*this, Endpoint{"127.0.0.1", p.port});
    auto r = c.call({"PING"}, 500);
    if (r) return {};
    sleep_ms(50);
  }
  return make_error(Errc::timeout, fmt::format("{} ({}) did not answer PING within 15 s", p.name, options_.server));
}

void RealWorld::reap() {
  for (auto& [name, p] : procs_) {
    if (!p.alive) continue;
    int status = 0;
    pid_t r = waitpid(p.pid, &status, WNOHANG);
    if (r == p.pid) p.alive = false;
  }
}

Result<void> RealWorld::start(const Topology& topology) {
  if (!procs_.empty()) return make_error(Errc::state, "the world is already started");
  start_ms_ = loop_.now_ms();
  start_wall_ms_ = loop_.wall_clock().now_ms();
  int total = topology.primaries * (1 + topology.replicas) + topology.spares;
  for (int i = 1; i <= total; ++i) {
    Proc p;
    p.name = fmt::format("n{}", i);
    p.port = static_cast<std::uint16_t>(options_.base_port + i - 1);
    p.dir = fmt::format("{}/{}", work_dir_, p.name);
    std::filesystem::create_directories(p.dir);
    p.args = {"--port",        std::to_string(p.port),
              "--bind",        "127.0.0.1",
              "--cluster-enabled", "yes",
              "--cluster-config-file", "nodes.conf",
              "--dir",         p.dir,
              "--logfile",     "node.log",
              "--loglevel",    options_.log_level,
              "--daemonize",   "no",
              "--enable-debug-command", "yes",
              "--save",        ""};
    if (!options_.password.empty()) {
      for (const char* k : {"--requirepass", "--masterauth"}) {
        p.args.emplace_back(k);
        p.args.push_back(options_.password);
      }
    }
    for (const auto& [k, v] : topology.config) {
      p.args.push_back("--" + k);
      p.args.push_back(v);
    }
    names_.push_back(p.name);
    auto [it, ok] = procs_.emplace(p.name, std::move(p));
    if (auto r = spawn(it->second); !r) return r;
  }
  return {};
}

Endpoint RealWorld::endpoint(const std::string& name) const { return Endpoint{"127.0.0.1", proc(name).port}; }

bool RealWorld::running(const std::string& name) const {
  const_cast<RealWorld*>(this)->reap();
  auto it = procs_.find(name);
  return it != procs_.end() && it->second.alive;
}

pid_t RealWorld::pid(const std::string& name) const { return proc(name).pid; }

Result<void> RealWorld::kill(const std::string& name) {
  Proc& p = proc(name);
  if (!p.alive) return make_error(Errc::state, name + " is not running");
  ::kill(p.pid, SIGKILL);
  int status = 0;
  waitpid(p.pid, &status, 0);
  p.alive = false;
  return {};
}

Result<void> RealWorld::pause(const std::string& name) {
  Proc& p = proc(name);
  if (!p.alive) return make_error(Errc::state, name + " is not running");
  if (::kill(p.pid, SIGSTOP) != 0) return make_error(Errc::io, fmt::format("SIGSTOP {}: {}", name, std::strerror(errno)));
  return {};
}

Result<void> RealWorld::resume(const std::string& name) {
  Proc& p = proc(name);
  if (!p.alive) return make_error(Errc::state, name + " is not running");
  if (::kill(p.pid, SIGCONT) != 0) return make_error(Errc::io, fmt::format("SIGCONT {}: {}", name, std::strerror(errno)));
  return {};
}

Result<void> RealWorld::restart(const std::string& name) {
  Proc& p = proc(name);
  reap();
  if (p.alive) return make_error(Errc::state, name + " is already running");
  return spawn(p);
}

bool RealWorld::wait_for_exit(const std::string& name, Millis timeout_ms) {
  return run_until([&] { return !running(name); }, loop_.now_ms() + timeout_ms);
}

std::string RealWorld::node_id(const std::string& name) const {
  auto& p = const_cast<Proc&>(proc(name));
  if (p.alive) {
    RespConnection c(const_cast<RealWorld&>(*this), Endpoint{"127.0.0.1", p.port}, options_.password);
    auto r = c.call({"CLUSTER", "MYID"}, 2000);
    if (r && r->type == resp::Type::bulk) p.id = r->str;
  }
  if (p.id.empty()) {
    // Not running: the id its nodes.conf holds.
    std::ifstream conf(p.dir + "/nodes.conf");
    std::string line;
    while (std::getline(conf, line)) {
      auto parts = split_spaces(line);
      if (parts.size() >= 3 && parts[2].find("myself") != std::string_view::npos) p.id = std::string(parts[0]);
    }
  }
  return p.id;
}

std::vector<TimelineEvent> RealWorld::timeline() const {
  std::map<std::string, std::string> id_to_name;
  for (const auto& n : names_) {
    std::string id = node_id(n);
    if (!id.empty()) id_to_name[id] = n;
  }
  std::map<std::uint16_t, std::string> port_to_name;
  for (const auto& n : names_) port_to_name[proc(n).port] = n;
  std::vector<TimelineEvent> out;
  for (const auto& n : names_) {
    std::ifstream log(proc(n).dir + "/node.log");
    std::string line;
    // Redis's election lines do not name the failed primary; a replica's last "Connecting to
    // MASTER ip:port" does, so the events are attributed to it as slotlab-node's traces are.
    std::string primary;
    while (std::getline(log, line)) {
      TraceEvent ev{};
      Millis wall = 0;
      bool found = false;
      if (auto t = daemon::parse_trace(line)) {
        ev = t->event;
        wall = t->wall_ms;
        found = true;
      } else {
        std::string msg;
        if (parse_log_line(line, wall, msg)) {
          constexpr std::string_view kConnecting = "Connecting to MASTER ";
          if (msg.rfind(kConnecting, 0) == 0) {
            auto colon = msg.rfind(':');
            int port = colon == std::string::npos ? 0 : std::atoi(msg.c_str() + colon + 1);
            auto it = port_to_name.find(static_cast<std::uint16_t>(port));
            primary = it == port_to_name.end() ? std::string() : it->second;
          }
          found = redis_event(msg, ev);
        }
        if (found && ev.about.is_null() && !primary.empty() &&
            (ev.kind == TraceKind::election_scheduled || ev.kind == TraceKind::election_started ||
             ev.kind == TraceKind::promoted)) {
          TimelineEvent e;
          e.t_ms = wall - start_wall_ms_;
          e.node = n;
          e.kind = ev.kind;
          e.about = primary;
          out.push_back(std::move(e));
          continue;
        }
      }
      if (!found) continue;
      TimelineEvent e;
      e.t_ms = wall - start_wall_ms_;
      e.node = n;
      e.kind = ev.kind;
      if (!ev.about.is_null()) {
        auto it = id_to_name.find(ev.about.str());
        e.about = it == id_to_name.end() ? ev.about.str() : it->second;
      }
      e.epoch = ev.epoch;
      e.value = ev.value;
      e.detail = ev.detail;
      out.push_back(std::move(e));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const TimelineEvent& a, const TimelineEvent& b) { return a.t_ms < b.t_ms; });
  return out;
}

void RealWorld::detach() {
  for (auto& [name, p] : procs_) p.alive = false;
  own_dir_ = false;
}

void RealWorld::stop_all() {
  reap();
  for (auto& [name, p] : procs_)
    if (p.alive) ::kill(p.pid, SIGTERM);
  Millis deadline = loop_.now_ms() + 5000;
  bool any = true;
  while (any && loop_.now_ms() < deadline) {
    reap();
    any = false;
    for (auto& [name, p] : procs_) any = any || p.alive;
    if (any) loop_.run_once(20);
  }
  for (auto& [name, p] : procs_) {
    if (!p.alive) continue;
    ::kill(p.pid, SIGKILL);
    int status = 0;
    waitpid(p.pid, &status, 0);
    p.alive = false;
  }
  if (own_dir_ && !options_.keep_dirs && !work_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
    own_dir_ = false;
  }
}

}  // namespace slotlab::harness
