// Test helpers that hold slotlab's persistence formats against the real Redis 7.0 tools: temporary
// directories, running /usr/bin/redis-check-rdb and redis-check-aof, and a redis-server child
// process with a minimal RESP client.
//
// Every redis-server is started by this file on 127.0.0.1 and a port picked here, with its own
// --dir, and stopped by its pid (SIGTERM, then SIGKILL) when the RealRedis object goes away. Tests
// that need the binaries call available() and WARN + return when they are missing.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace slotlab::testing::real {

inline constexpr const char* kRedisServer = "/usr/bin/redis-server";
inline constexpr const char* kRedisCheckRdb = "/usr/bin/redis-check-rdb";
inline constexpr const char* kRedisCheckAof = "/usr/bin/redis-check-aof";

inline bool executable(const char* path) { return ::access(path, X_OK) == 0; }

// A fresh directory under $TMPDIR (or /tmp), removed with its content at the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/slotlab-rdb-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    path_ = p != nullptr ? std::string(p) : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// Runs a shell command line; returns its exit status and captured stdout+stderr.
struct RunResult {
  int status = -1;
  std::string output;
};
inline RunResult run(const std::string& command) {
  RunResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// A port on 127.0.0.1 that was free a moment ago.
inline std::uint16_t free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0) {
      socklen_t len = sizeof(sin);
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
      port = ntohs(sin.sin_port);
    }
    ::close(fd);
    if (port != 0) return port;
  }
  return 0;
}

// A RESP2 reply.
struct Reply {
  char type = 0;  // '+', '-', ':', '$', '*'; 0 when the connection failed
  std::string str;
  long long integer = 0;
  bool null = false;
  std::vector<Reply> elements;

  bool ok() const { return type != 0 && type != '-'; }
  std::vector<std::string> strings() const {
    std::vector<std::string> out;
    for (const auto& e : elements) out.push_back(e.str);
    return out;
  }
};

// A blocking RESP client on one connection (5 s socket timeouts).
class Client {
 public:
  Client() = default;
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connect(std::uint16_t port) {
    close();
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
      close();
      return false;
    }
    return true;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    in_.clear();
    pos_ = 0;
  }

  Reply call(const std::vector<std::string>& argv) {
    std::string req = "*" + std::to_string(argv.size()) + "\r\n";
    for (const auto& a : argv) req += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    std::size_t off = 0;
    while (off < req.size()) {
      ssize_t n = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return {};
      off += static_cast<std::size_t>(n);
    }
    Reply r;
    if (!read_reply(r)) return {};
    return r;
  }

 private:
  bool fill() {
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  bool line(std::string& out) {
    while (true) {
      auto crlf = in_.find("\r\n", pos_);
      if (crlf != std::string::npos) {
        out = in_.substr(pos_, crlf - pos_);
        pos_ = crlf + 2;
        return true;
      }
      if (!fill()) return false;
    }
  }
  bool read_reply(Reply& r) {
    std::string l;
    if (!line(l) || l.empty()) return false;
    r.type = l[0];
    std::string rest = l.substr(1);
    switch (r.type) {
      case '+':
      case '-':
        r.str = rest;
        break;
      case ':':
        r.integer = std::stoll(rest);
        break;
      case '$': {
        long long n = std::stoll(rest);
        if (n < 0) {
          r.null = true;
          break;
        }
        while (in_.size() - pos_ < static_cast<std::size_t>(n) + 2)
          if (!fill()) return false;
        r.str = in_.substr(pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n) + 2;
        break;
      }
      case '*': {
        long long n = std::stoll(rest);
        if (n < 0) {
          r.null = true;
          break;
        }
        for (long long i = 0; i < n; ++i) {
          Reply e;
          if (!read_reply(e)) return false;
          r.elements.push_back(std::move(e));
        }
        break;
      }
      default:
        return false;
    }
    if (pos_ == in_.size()) {
      in_.clear();
      pos_ = 0;
    }
    return true;
  }

  int fd_ = -1;
  std::string in_;
  std::size_t pos_ = 0;
};

// A redis-server child process. start() waits until it answers PING.
class RealRedis {
 public:
  static bool available() { return executable(kRedisServer); }

  RealRedis() = default;
  ~RealRedis() { stop(); }
  RealRedis(const RealRedis&) = delete;
  RealRedis& operator=(const RealRedis&) = delete;

  // `dir` is the server's working directory; `extra` are more "--name value" arguments.
  bool start(const std::string& dir, const std::vector<std::string>& extra = {}) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_port();
      std::vector<std::string> args{kRedisServer, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                    "--dir", dir, "--save", "", "--daemonize", "no",
                                    "--logfile", dir + "/redis.log", "--protected-mode", "no"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      pid_ = ::fork();
      if (pid_ == 0) {
        ::execv(argv[0], argv.data());
        ::_exit(127);
      }
      if (pid_ < 0) return false;
      for (int i = 0; i < 200; ++i) {  // up to 10 s
        if (client_.connect(port_)) {
          Reply r = client_.call({"PING"});
          if (r.type == '+') return true;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // it died (port taken, bad file ...)
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      stop();
    }
    return false;
  }

  void stop() {
    client_.close();
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  Reply call(const std::vector<std::string>& argv) { return client_.call(argv); }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  Client client_;
};

}  // namespace slotlab::testing::real
