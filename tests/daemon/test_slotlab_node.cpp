// Process-level tests of the slotlab-node binary, driven with the stock /usr/bin/redis-cli:
// PING / CLUSTER INFO / CLUSTER MYID, DEBUG SEGFAULT really killing the process by SIGSEGV and a
// restart loading the same node id from nodes.conf, the nodes.conf lock against a second process,
// SIGTERM shutting down cleanly (pidfile removed, exit 0), start-up errors (bad directive, port in
// use) with redis-server's messages and exit code 1, protected mode, CONFIG REWRITE.
//
// Every process is started by this file, bound to 127.0.0.1 only, and killed by its pid.
// Tagged [daemon][process].
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "daemon_test_util.hpp"

using namespace slotlab::daemon;
using slotlab::daemon::test::TempDir;

namespace {

const char* const kRedisCli = "/usr/bin/redis-cli";

std::string trim_nl(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Runs a program, waits for it, returns its stdout and stderr (merged) and its wait status.
struct RunResult {
  std::string out;
  int status = -1;
};

RunResult run_program(const std::vector<std::string>& argv, int timeout_ms = 10000) {
  RunResult r;
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return r;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], STDOUT_FILENO);
    ::dup2(pipefd[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  ::fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (true) {
    ssize_t n = ::read(pipefd[0], buf, sizeof(buf));
    if (n > 0) {
      r.out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    int st = 0;
    pid_t w = ::waitpid(pid, &st, WNOHANG);
    if (w == pid) {
      while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0) r.out.append(buf, static_cast<std::size_t>(n));
      r.status = st;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      r.status = st;
      r.out += "\n(timed out)";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::close(pipefd[0]);
  return r;
}

std::string cli(std::uint16_t port, const std::vector<std::string>& cmd) {
  std::vector<std::string> argv = {kRedisCli, "-h", "127.0.0.1", "-p", std::to_string(port)};
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  return trim_nl(run_program(argv, 5000).out);
}

// A slotlab-node child process; killed (by pid) if the test leaves it running.
class NodeProcess {
 public:
  NodeProcess(const std::vector<std::string>& args, const std::string& output_file) {
    std::string binary = test::node_binary();
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      std::vector<std::string> all = {binary};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (const auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~NodeProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exited_; }
  // Waits for the process to end; returns its wait status, or -1 on timeout.
  int wait(int timeout_ms = 10000) {
    if (exited_) return status_;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        status_ = st;
        return st;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  // Waits until the node answers PING (or exits).
  bool wait_ready(std::uint16_t port, int timeout_ms = 10000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (cli(port, {"ping"}) == "PONG") return true;
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        status_ = st;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
};

std::vector<std::string> node_args(std::uint16_t port, const TempDir& dir) {
  return {"--port",
          std::to_string(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          "nodes-" + std::to_string(port) + ".conf",
          "--dir",
          dir.path(),
          "--enable-debug-command",
          "yes"};
}

bool is_node_id(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

TEST_CASE("slotlab-node answers redis-cli, dies by SIGSEGV on DEBUG SEGFAULT, restarts with its id",
          "[daemon][process]") {
  REQUIRE_FALSE(test::node_binary().empty());
  TempDir dir;
  std::uint16_t port = test::free_port(10000);
  REQUIRE(port != 0);
  std::string id;
  {
    NodeProcess node(node_args(port, dir), dir.file("out.log"));
    REQUIRE(node.wait_ready(port));
    std::string info = cli(port, {"cluster", "info"});
    CHECK(info.find("cluster_state:fail") != std::string::npos);
    CHECK(info.find("cluster_known_nodes:1") != std::string::npos);
    id = cli(port, {"cluster", "myid"});
    CHECK(is_node_id(id));
    CHECK(cli(port, {"config", "get", "cluster-enabled"}) == "cluster-enabled\nyes");

    (void)cli(port, {"debug", "segfault"});
    int st = node.wait();
    REQUIRE(st != -1);
    CHECK(WIFSIGNALED(st));
    CHECK(WTERMSIG(st) == SIGSEGV);
    std::string out = test::read_file(dir.file("out.log"));
    CHECK(out.find("Ready to accept connections") != std::string::npos);
    CHECK(out.find("=== REDIS BUG REPORT START: Cut & paste starting from here ===") != std::string::npos);
    CHECK(out.find("crashed by signal: 11") != std::string::npos);
    CHECK(out.find("DEBUG SEGFAULT") != std::string::npos);
  }
  // The restart reads nodes.conf: same id.
  NodeProcess again(node_args(port, dir), dir.file("out2.log"));
  REQUIRE(again.wait_ready(port));
  CHECK(cli(port, {"cluster", "myid"}) == id);
}

TEST_CASE("a second slotlab-node on the same nodes.conf is refused", "[daemon][process]") {
  TempDir dir;
  std::uint16_t port = test::free_port(10000);
  std::uint16_t port2 = test::free_port(10000);
  REQUIRE(port != 0);
  REQUIRE(port2 != 0);
  REQUIRE(port != port2);
  NodeProcess first(node_args(port, dir), dir.file("first.log"));
  REQUIRE(first.wait_ready(port));
  auto args = node_args(port2, dir);
  args[7] = "nodes-" + std::to_string(port) + ".conf";  // the first node's file
  NodeProcess second(args, dir.file("second.log"));
  int st = second.wait();
  REQUIRE(st != -1);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 1);
  CHECK(test::read_file(dir.file("second.log"))
            .find("Sorry, the cluster configuration file nodes-" + std::to_string(port) +
                  ".conf is already used by a different Redis Cluster node. Please make sure that different nodes use "
                  "different cluster configuration files.") != std::string::npos);
  CHECK(cli(port, {"ping"}) == "PONG");  // the first one is unaffected
}

TEST_CASE("SIGTERM shuts slotlab-node down cleanly", "[daemon][process]") {
  TempDir dir;
  std::uint16_t port = test::free_port(10000);
  REQUIRE(port != 0);
  auto args = node_args(port, dir);
  args.insert(args.end(), {"--pidfile", "node.pid"});
  NodeProcess node(args, dir.file("out.log"));
  REQUIRE(node.wait_ready(port));
  CHECK(trim_nl(test::read_file(dir.file("node.pid"))) == std::to_string(node.pid()));
  ::kill(node.pid(), SIGTERM);
  int st = node.wait();
  REQUIRE(st != -1);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  CHECK_FALSE(std::filesystem::exists(dir.file("node.pid")));
  std::string out = test::read_file(dir.file("out.log"));
  CHECK(out.find("Received SIGTERM scheduling shutdown...") != std::string::npos);
  CHECK(out.find("Removing the pid file.") != std::string::npos);
  CHECK(test::read_file(dir.file("nodes-" + std::to_string(port) + ".conf")).find("myself") != std::string::npos);
}

TEST_CASE("slotlab-node start-up errors read like redis-server's", "[daemon][process]") {
  TempDir dir;
  std::uint16_t port = test::free_port(10000);
  REQUIRE(port != 0);

  // A misspelt directive in a config file.
  test::write_file(dir.file("bad.conf"), "port " + std::to_string(port) + "\nclustr-enabled yes\n");
  RunResult bad = run_program({test::node_binary(), dir.file("bad.conf")});
  CHECK(WIFEXITED(bad.status));
  CHECK(WEXITSTATUS(bad.status) == 1);
  CHECK(bad.out ==
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
        "Reading the configuration file, at line 2\n"
        ">>> 'clustr-enabled yes'\n"
        "Bad directive or wrong number of arguments\n");

  // The data port already in use.
  NodeProcess holder(node_args(port, dir), dir.file("holder.log"));
  REQUIRE(holder.wait_ready(port));
  RunResult busy = run_program({test::node_binary(), "--port", std::to_string(port), "--bind", "127.0.0.1"});
  CHECK(WIFEXITED(busy.status));
  CHECK(WEXITSTATUS(busy.status) == 1);
  CHECK(busy.out.find("Warning: Could not create server TCP listening socket 127.0.0.1:" + std::to_string(port) +
                      ": bind: Address already in use") != std::string::npos);
  CHECK(busy.out.find("Failed listening on port " + std::to_string(port) + " (TCP), aborting.") != std::string::npos);
}

TEST_CASE("slotlab-node accepts the seed redis.conf and CONFIG REWRITE keeps its comments", "[daemon][process]") {
  TempDir dir;
  std::uint16_t port = test::free_port(10000);
  REQUIRE(port != 0);
  std::string seed = test::read_file(test::source_dir() + "/tests/daemon/seed_redis.conf");
  REQUIRE(!seed.empty());
  // The seed unchanged, plus what a test needs: no daemonizing, our port, loopback only.
  test::write_file(dir.file("redis.conf"), "# slotlab test node\n" + seed);
  NodeProcess node({dir.file("redis.conf"), "--daemonize", "no", "--port", std::to_string(port), "--bind", "127.0.0.1",
                    "--dir", dir.path(), "--cluster-config-file", "nodes.conf"},
                   dir.file("out.log"));
  REQUIRE(node.wait_ready(port));
  std::string log = test::read_file(dir.file("varlogredisredis.log"));
  CHECK(log.find("Ignoring directives slotlab does not implement: activerehashing") != std::string::npos);
  CHECK(log.find("Ready to accept connections") != std::string::npos);

  CHECK(cli(port, {"config", "set", "cluster-node-timeout", "5000"}) == "OK");
  CHECK(cli(port, {"config", "rewrite"}) == "OK");
  std::string rewritten = test::read_file(dir.file("redis.conf"));
  CHECK(rewritten.rfind("# slotlab test node\n", 0) == 0);
  CHECK(rewritten.find("cluster-node-timeout 5000\n") != std::string::npos);
  CHECK(rewritten.find("cluster-node-timeout 15000") == std::string::npos);
  CHECK(rewritten.find("activerehashing yes\n") != std::string::npos);
  CHECK(rewritten.find("port " + std::to_string(port) + "\n") != std::string::npos);
}

TEST_CASE("protected mode refuses non-loopback clients without a password", "[daemon][process]") {
  TempDir dir;
  std::uint16_t port = test::free_port(10000);
  REQUIRE(port != 0);
  NodeProcess node({"--port", std::to_string(port), "--bind", "127.0.0.1", "--dir", dir.path()}, dir.file("out.log"));
  REQUIRE(node.wait_ready(port));
  // A client whose address is 127.0.0.2: on the loopback interface, but not 127.0.0.1 (Redis
  // compares the address text).
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.2", &src.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) == 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) got.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  CHECK(got.rfind("-DENIED Redis is running in protected mode because protected mode is enabled", 0) == 0);
  CHECK(cli(port, {"ping"}) == "PONG");  // 127.0.0.1 is fine
}
