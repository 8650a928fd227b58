// slotlab-node assembled: one Node hosted by the EventLoop with real files, clock, randomness, log
// and process, started the way redis-server's main() / initServer() / clusterInit() start a node.
//
// Start-up order (each failure logs redis-server's message and makes run() return 1):
//   1. open the log; log "Redis is starting", the version line, "Configuration loaded" and the
//      directives slotlab ignores; raise the open-files limit for maxclients
//   2. listen on `port` on every `bind` address (port 0: no data port, as in Redis)
//   3. cluster mode: flock the cluster-config-file ("Sorry, the cluster configuration file ... is
//      already used by a different Redis Cluster node ..."), load or create nodes.conf
//      (Node::start), listen on the bus port (cluster-port, or port + 10000)
//   4. write the pidfile; "Server initialized", "Ready to accept connections"; run the loop
// SIGTERM / SIGINT shut down like SHUTDOWN (nodes.conf saved), the pidfile is removed, and run()
// returns 0. The host enforces protected mode and maxclients; the node enforces everything else
// (timeout, query buffer limit, client-output-buffer-limit per class through Transport::abort).
#pragma once

#include <memory>
#include <string>

#include "daemon/config_file.hpp"
#include "daemon/daemon_log.hpp"
#include "daemon/daemon_process.hpp"
#include "daemon/event_loop.hpp"
#include "daemon/file_storage.hpp"
#include "daemon/real_random.hpp"

namespace slotlab {
class Node;
}

namespace slotlab::daemon {

// Redis's DENIED reply to a non-loopback client in protected mode (networking.c).
extern const char* const kProtectedModeDenied;

struct ServerOptions {
  DaemonConfig config;
  std::string executable;             // for INFO
  bool started_without_args = false;  // "Warning: no config file specified, using the default config..."
  bool daemonized = false;            // stderr goes to the log file (assertion messages)
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts the node and runs until it shuts down; returns the process exit code.
  int run();

 private:
  int start();  // 0 on success, else the exit code
  void on_shutdown_signal(int signo);
  std::string accept_filter(ListenerKind kind, const Endpoint& peer);

  ServerOptions options_;
  EventLoop loop_;
  DaemonLog log_;
  FileStorage storage_;
  RealRandom random_;
  std::unique_ptr<DaemonProcess> process_;
  ActorHost* host_ = nullptr;
  std::unique_ptr<Node> node_;
  bool shutdown_requested_ = false;
  std::string pidfile_;
};

}  // namespace slotlab::daemon
