// Helpers shared by the daemon tests: temporary directories, free loopback ports, files, and
// finding the slotlab-node binary. Everything binds to 127.0.0.1 only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace slotlab::daemon::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its content at the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/slotlab-daemon-XXXXXX";
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

// A port on 127.0.0.1 that was free a moment ago (bind to port 0 and read it back). With
// `also_plus` != 0, port + also_plus must be free too (the cluster bus port).
inline std::uint16_t free_port(int also_plus = 0) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0) {
      socklen_t len = sizeof(sin);
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
      port = ntohs(sin.sin_port);
    }
    ::close(fd);
    if (port == 0) continue;
    if (also_plus == 0) return port;
    if (port + also_plus > 65535) continue;
    int fd2 = ::socket(AF_INET, SOCK_STREAM, 0);
    sin.sin_port = htons(static_cast<std::uint16_t>(port + also_plus));
    bool ok = ::bind(fd2, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0;
    ::close(fd2);
    if (ok) return port;
  }
  return 0;
}

inline std::string source_dir() {
#ifdef SLOTLAB_SOURCE_DIR
  return SLOTLAB_SOURCE_DIR;
#else
  return ".";
#endif
}

// slotlab-node: $SLOTLAB_NODE_BINARY, the SLOTLAB_NODE_BINARY compile definition, or the build
// tree next to this test executable (<build>/tests/daemon_tests -> <build>/daemon/slotlab-node).
inline std::string node_binary() {
  if (const char* env = std::getenv("SLOTLAB_NODE_BINARY"); env != nullptr && *env != '\0') return env;
#ifdef SLOTLAB_NODE_BINARY
  return SLOTLAB_NODE_BINARY;
#else
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  for (auto dir = self.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    auto candidate = dir / "daemon" / "slotlab-node";
    if (std::filesystem::exists(candidate, ec)) return candidate.string();
  }
  return {};
#endif
}

}  // namespace slotlab::daemon::test
