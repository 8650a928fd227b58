// slotlab-node's start-up, signal handling and shut-down (see server.hpp).
#include "daemon/server.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "node/assert_context.hpp"
#include "node/node.hpp"

namespace slotlab::daemon {

const char* const kProtectedModeDenied =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the "
    "default user. In this mode connections are only accepted from the loopback interface. If you want to connect "
    "from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode "
    "sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the "
    "same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. "
    "Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by "
    "editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the "
    "server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' "
    "option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above "
    "things in order for the server to start accepting connections from the outside.\r\n";

namespace {

constexpr int kMinReservedFds = 32;  // CONFIG_MIN_RESERVED_FDS

std::string in_dir(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return dir == "/" ? "/" + path : dir + "/" + path;
}

// Redis's adjustOpenFilesLimit, in short: room for maxclients plus a few reserved descriptors.
void adjust_open_files_limit(std::int64_t maxclients, Log& log) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const rlim_t want = static_cast<rlim_t>(maxclients + kMinReservedFds);
  const rlim_t old = lim.rlim_cur;
  if (old >= want) return;
  rlim_t best = old;
  rlimit raised{want, std::max(want, lim.rlim_max)};  // raising the hard limit works for root
  if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
    best = want;
  } else if (lim.rlim_max > old) {
    rlimit capped{lim.rlim_max, lim.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &capped) == 0) best = lim.rlim_max;
  }
  if (best >= want) {
    log.log(LogLevel::notice, fmt::format("Increased maximum number of open files to {} (it was originally set to {}).",
                                          static_cast<unsigned long long>(best), static_cast<unsigned long long>(old)));
  } else {
    log.log(LogLevel::warning,
            fmt::format("You requested maxclients of {} requiring at least {} max file descriptors. Server can't set "
                        "maximum open files to {}; current maximum open files is {}. If you need higher maxclients "
                        "increase 'ulimit -n'.",
                        maxclients, static_cast<unsigned long long>(want), static_cast<unsigned long long>(want),
                        static_cast<unsigned long long>(best)));
  }
}

std::string assert_context(void* arg) {
  const Node* node = static_cast<const Node*>(arg);
  return fmt::format("slotlab-node pid {} port {} node {}", ::getpid(), node->config().port,
                     node->cluster().myself != nullptr ? std::string(node->id().view()) : std::string("?"));
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() { set_assert_context(nullptr, nullptr); }

std::string Server::accept_filter(ListenerKind kind, const Endpoint& peer) {
  if (kind != ListenerKind::data || node_ == nullptr) return {};
  const NodeConfig& cfg = node_->config();
  // maxclients: acceptCommonHandler counts clients and cluster connections alike.
  if (host_ != nullptr && static_cast<std::int64_t>(host_->connection_count()) >= cfg.maxclients) {
    return "-ERR max number of clients reached\r\n";
  }
  // Protected mode (clientAcceptHandler): no password and not from the loopback interface.
  if (cfg.protected_mode && cfg.requirepass.empty() && peer.ip != "127.0.0.1" && peer.ip != "::1") {
    return kProtectedModeDenied;
  }
  return {};
}

void Server::on_shutdown_signal(int signo) {
  if (shutdown_requested_) {
    if (signo == SIGINT) {
      log_.log(LogLevel::warning, "You insist... exiting now.");
      std::exit(1);
    }
    return;
  }
  shutdown_requested_ = true;
  log_.log(LogLevel::warning, signo == SIGINT    ? "Received SIGINT scheduling shutdown..."
                              : signo == SIGTERM ? "Received SIGTERM scheduling shutdown..."
                                                 : "Received shutdown signal, scheduling shutdown...");
  if (process_->exit_code()) return;  // a SHUTDOWN is already under way
  // The node's SHUTDOWN path: saves nodes.conf, logs, and asks us (Process::shutdown) to exit.
  (void)node_->execute_for_test({"SHUTDOWN"});
  if (!process_->exit_code()) process_->shutdown(0);
}

int Server::start() {
  const DaemonConfig& cfg = options_.config;
  const NodeConfig& ncfg = cfg.node;

  // 1. Log.
  if (auto r = log_.open(in_dir(cfg.dir, ncfg.logfile)); !r) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  if (options_.daemonized && !ncfg.logfile.empty()) ::dup2(log_.fd(), STDERR_FILENO);
  log_.set_level(parse_log_level(ncfg.loglevel));
  if (!loop_.ok()) {
    log_.log(LogLevel::warning, "Failed creating the event loop. Error message: '" + loop_.error() + "'");
    return 1;
  }
  loop_.set_log(&log_);
  log_.log(LogLevel::warning, "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
  log_.log(
      LogLevel::warning,
      fmt::format("Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid={}, just started (slotlab-node)",
                  ::getpid()));
  if (options_.started_without_args) {
    log_.log(LogLevel::warning,
             fmt::format("Warning: no config file specified, using the default config. In order to specify a config "
                         "file use {} /path/to/redis.conf",
                         options_.executable));
  } else {
    log_.log(LogLevel::warning, "Configuration loaded");
  }
  if (!cfg.ignored.empty()) {
    std::string list;
    for (const auto& name : cfg.ignored) list += (list.empty() ? "" : ", ") + name;
    log_.log(LogLevel::notice, "Ignoring directives slotlab does not implement: " + list);
  }
  adjust_open_files_limit(ncfg.maxclients, log_);

  if (auto r = storage_.open(cfg.dir); !r) {
    log_.log(LogLevel::warning, fmt::format("Can't open the working directory {}: {}", cfg.dir, r.error().message));
    return 1;
  }

  // The node and its host.
  HostOptions ho;
  ho.name = "node";
  ho.tcp_keepalive_s = ncfg.tcp_keepalive_s;
  ho.listen_backlog = cfg.tcp_backlog;
  host_ = &loop_.add_host(ho);
  process_ = std::make_unique<DaemonProcess>(loop_, log_, cfg.config_file, options_.executable);
  Env env{loop_.wall_clock(), *host_, storage_, random_, log_, log_, *process_};
  node_ = std::make_unique<Node>(env, ncfg);
  host_->attach(*node_);
  process_->set_node(node_.get());
  set_assert_context(&assert_context, node_.get());
  const Node* node = node_.get();
  log_.set_role_source([node] { return node->cluster().myself != nullptr && node->is_replica() ? 'S' : 'M'; });
  log_.set_level_source([node] { return parse_log_level(node->config().loglevel); });
  host_->set_accept_filter([this](ListenerKind kind, const Endpoint& peer) { return accept_filter(kind, peer); });

  // 2. The data port.
  bool listening = false;
  if (ncfg.port != 0 && !ncfg.bind.empty()) {
    auto r = host_->listen(ListenerKind::data, ncfg.bind, ncfg.port);
    if (!r) {
      log_.log(LogLevel::warning, "Warning: " + r.error().message);
      log_.log(LogLevel::warning, fmt::format("Failed listening on port {} (TCP), aborting.", ncfg.port));
      return 1;
    }
    listening = true;
  }

  // 3. Cluster: lock nodes.conf, load or create it (Node::start), the bus port.
  if (ncfg.cluster_enabled) {
    if (auto r = storage_.lock(ncfg.cluster_config_file); !r) {
      if (r.error().code == Errc::state) {
        log_.log(LogLevel::warning,
                 fmt::format("Sorry, the cluster configuration file {} is already used by a different Redis Cluster "
                             "node. Please make sure that different nodes use different cluster configuration files.",
                             ncfg.cluster_config_file));
      } else {
        log_.log(LogLevel::warning, fmt::format("Can't open {} in order to acquire a lock: {}",
                                                ncfg.cluster_config_file, r.error().message));
      }
      return 1;
    }
  }
  if (auto r = node_->start(); !r) {
    log_.log(LogLevel::warning, r.error().message);
    return 1;
  }
  if (ncfg.cluster_enabled) {
    std::vector<std::string> bind = ncfg.bind.empty() ? std::vector<std::string>{"*", "-::*"} : ncfg.bind;
    auto r = host_->listen(ListenerKind::bus, bind, ncfg.bus_port());
    if (!r) {
      log_.log(LogLevel::warning, "Warning: " + r.error().message);
      log_.log(LogLevel::warning, fmt::format("Failed listening on port {} (cluster), aborting.", ncfg.bus_port()));
      return 1;
    }
  }

  // 4. Pidfile, signals, ready.
  if (options_.daemonized || !ncfg.pidfile.empty()) {
    pidfile_ = in_dir(cfg.dir, ncfg.pidfile.empty() ? std::string("/var/run/slotlab-node.pid") : ncfg.pidfile);
    if (auto r = write_pidfile(pidfile_); !r) {
      log_.log(LogLevel::warning, "Failed to write PID file: " + r.error().message);
      pidfile_.clear();
    } else {
      process_->set_pidfile(pidfile_);
    }
  }
  install_crash_handlers(log_.fd(), options_.daemonized ? pidfile_ : std::string());
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  auto on_signal = [this](int signo) { on_shutdown_signal(signo); };
  if (!loop_.on_signal(SIGTERM, on_signal) || !loop_.on_signal(SIGINT, on_signal)) {
    log_.log(LogLevel::warning, fmt::format("Can't set up signal handling: {}", std::strerror(errno)));
  }
  log_.log(LogLevel::warning, "Server initialized");
  if (listening) log_.log(LogLevel::notice, "Ready to accept connections");
  return 0;
}

int Server::run() {
  int rc = start();
  if (rc != 0) {
    storage_.unlock_all();
    return rc;
  }
  loop_.run_forever();
  loop_.flush();
  if (host_ != nullptr) host_->close_listeners();
  if (!pidfile_.empty()) {
    log_.log(LogLevel::notice, "Removing the pid file.");
    ::unlink(pidfile_.c_str());
  }
  storage_.unlock_all();
  return process_->exit_code().value_or(0);
}

}  // namespace slotlab::daemon
