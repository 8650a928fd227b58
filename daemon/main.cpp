// slotlab-node: a Redis Cluster 7.0.15 node as a daemon, started like redis-server:
//
//   slotlab-node [/path/to/redis.conf] [--option value ...]
//
// The configuration file is read first, then the command-line options as if appended to it. A bad
// directive stops start-up with redis-server's "FATAL CONFIG FILE ERROR" report and exit code 1.
// Then: chdir to `dir`, daemonize if asked, and hand over to Server (server.hpp).
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "daemon/config_file.hpp"
#include "daemon/daemon_log.hpp"
#include "daemon/daemon_process.hpp"
#include "daemon/server.hpp"

namespace {

void print_version() {
  std::printf("Redis server v=7.0.15 sha=00000000:0 malloc=libc bits=64 build=0 (slotlab-node)\n");
}

void print_usage() {
  std::fprintf(stderr,
               "Usage: ./slotlab-node [/path/to/redis.conf] [options] [-]\n"
               "       ./slotlab-node - (read config from stdin: not supported)\n"
               "       ./slotlab-node -v or --version\n"
               "       ./slotlab-node -h or --help\n\n"
               "Examples:\n"
               "       ./slotlab-node (run the server with default conf)\n"
               "       ./slotlab-node /etc/redis/6379.conf\n"
               "       ./slotlab-node --port 7777\n"
               "       ./slotlab-node --port 7777 --cluster-enabled yes --cluster-config-file nodes-7777.conf\n"
               "       ./slotlab-node /etc/myredis.conf --loglevel verbose -\n"
               "       ./slotlab-node /etc/myredis.conf --loglevel verbose\n\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace slotlab::daemon;
  ::signal(SIGPIPE, SIG_IGN);
  tzset();

  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  CommandLine cl = parse_command_line(args);
  switch (cl.action) {
    case CommandLine::Action::version: print_version(); return 0;
    case CommandLine::Action::help: print_usage(); return 1;
    case CommandLine::Action::error: std::fprintf(stderr, "%s\n", cl.error.c_str()); return 1;
    case CommandLine::Action::run: break;
  }

  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) {
    std::fprintf(stderr, "getcwd: %s\n", std::strerror(errno));
    return 1;
  }
  LoadedConfig loaded = load_daemon_config(cl, cwd);
  if (loaded.error) {
    if (loaded.error->fatal_format) {
      std::fputs(loaded.error->report().c_str(), stderr);
    } else {
      // Redis logs this one as a log line, to stdout (the log file is not known yet).
      std::string line =
          log_prefix(static_cast<int>(::getpid()), 'M', slotlab::LogLevel::warning) + loaded.error->reason + "\n";
      std::fputs(line.c_str(), stdout);
    }
    return 1;
  }
  // Like Redis (whose `dir` directive chdirs while the file is read): relative paths that follow,
  // and core dumps, land in the node's directory.
  if (::chdir(loaded.config.dir.c_str()) != 0) {
    std::fprintf(stderr, "chdir %s: %s\n", loaded.config.dir.c_str(), std::strerror(errno));
    return 1;
  }
  ServerOptions options;
  options.daemonized = loaded.config.node.daemonize;
  options.started_without_args = argc == 1;
  options.executable = executable_path(argv[0]);
  options.config = std::move(loaded.config);
  std::fflush(stdout);
  if (options.daemonized) daemonize();
  Server server(std::move(options));
  int rc = server.run();
  std::fflush(stdout);
  return rc;
}
