// The real world: every node of the topology is a real process on loopback — slotlab-node, or any
// redis-server-compatible binary such as Debian's /usr/bin/redis-server — started in its own
// directory, talked to over real sockets through the daemon's epoll loop. Crashes are real
// signals (DEBUG SEGFAULT, SIGKILL), restarts reuse the node's directory.
//
// The timeline comes from the nodes' logs: slotlab-node writes structured trace lines at loglevel
// verbose; for redis-server the Redis log lines that mark the same events are recognised
// ("Marking node ... as failing", "Starting a failover election", "Failover election won", ...).
#pragma once

#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include <sys/types.h>

#include "daemon/event_loop.hpp"
#include "harness/world.hpp"

namespace slotlab::harness {

struct RealWorldOptions {
  std::string server;            // path of the binary; empty: slotlab-node next to this program
  std::uint16_t base_port = 30001;  // node nI listens on base_port + I - 1 (bus: +10000)
  std::string work_dir;          // empty: a fresh directory under /tmp
  bool keep_dirs = false;        // keep node directories (logs, nodes.conf) after stop_all
  std::string log_level = "verbose";
  std::string password;          // requirepass/masterauth for every node, AUTH for the harness
  bool new_session = false;      // start each process in its own session (slotlab launch: the
                                 // nodes must not get the terminal's Ctrl-C or hang-up)
};

class RealWorld final : public World {
 public:
  RealWorld(std::uint64_t seed, RealWorldOptions options);
  ~RealWorld() override;

  // Driver
  Millis now_ms() const override { return loop_.now_ms(); }
  bool run_until(const std::function<bool()>& pred, Millis deadline_ms) override;
  ClientMux& mux() override { return *mux_; }
  void schedule(Millis at_ms, std::function<void()> fn) override;

  // World
  std::string kind() const override { return "real"; }
  Result<void> start(const Topology& topology) override;
  const std::vector<std::string>& node_names() const override { return names_; }
  Endpoint endpoint(const std::string& name) const override;
  bool running(const std::string& name) const override;
  Result<void> kill(const std::string& name) override;
  Result<void> restart(const std::string& name) override;
  bool wait_for_exit(const std::string& name, Millis timeout_ms) override;
  // A whitelist: the step kinds real processes can be put through. Anything else (partitions,
  // link faults, clock skew, disk faults, and any kind added later) is refused before the run
  // starts, until someone implements it here.
  bool supports(const std::string& action) const override;
  static const std::set<std::string>& supported_actions();
  std::uint64_t random() override;
  Millis start_time_ms() const override { return start_ms_; }
  std::vector<TimelineEvent> timeline() const override;
  std::string node_id(const std::string& name) const override;
  void stop_all() override;
  Millis poll_interval_ms() const override { return 50; }

  // Lets the processes outlive this object (`slotlab launch`): they are no longer stopped by
  // stop_all() or the destructor, and the work directory is kept. The caller records their PIDs.
  void detach();

  const std::string& work_dir() const { return work_dir_; }
  const std::string& server() const { return options_.server; }
  pid_t pid(const std::string& name) const;
  Result<void> pause(const std::string& name) override;
  Result<void> resume(const std::string& name) override;
  // Resolves the default server binary: slotlab-node next to (or in ../daemon/ of) this program.
  static std::string default_server();

 private:
  struct Proc {
    std::string name;
    std::string dir;
    std::uint16_t port = 0;
    std::vector<std::string> args;
    pid_t pid = -1;
    bool alive = false;
    std::string id;  // cached CLUSTER MYID
  };
  Result<void> spawn(Proc& p);
  void reap();
  Proc& proc(const std::string& name);
  const Proc& proc(const std::string& name) const;

  RealWorldOptions options_;
  std::uint64_t rng_;
  mutable daemon::EventLoop loop_;
  daemon::ActorHost* host_ = nullptr;
  std::unique_ptr<ClientMux> mux_;
  std::vector<std::string> names_;
  std::map<std::string, Proc> procs_;
  std::string work_dir_;
  bool own_dir_ = false;
  Millis start_ms_ = 0;       // loop time at start()
  Millis start_wall_ms_ = 0;  // wall clock at start(), to place log timestamps
  struct Timer {
    Millis at_ms;
    std::uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Timer& o) const { return at_ms != o.at_ms ? at_ms > o.at_ms : seq > o.seq; }
  };
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::uint64_t timer_seq_ = 0;
};

}  // namespace slotlab::harness
