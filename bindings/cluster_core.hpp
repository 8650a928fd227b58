// The engine behind the Python package `slotlab` (bindings/module.cpp) and its C++ benchmark: one
// cluster in one world (the simulator, or real slotlab-node / redis-server processes on loopback),
// built like `slotlab run`'s `create` step and then driven by hand: let time pass, read what each
// node says about itself, send commands, inject faults, run the admin operations.
//
// Nothing here knows about Python. Expected failures are Result errors whose Errc the module maps
// onto Python exception classes; names given by the user are validated here before they reach
// the simulator (whose own checks are assertions, meant for our bugs).
//
// Time: `now_ms()` is world time since the world started (simulated ms in the simulator). Every
// call that talks to a node lets world time pass until the reply arrives; reading `nodes()` in the
// simulator does not (it reads the nodes' state directly, as CLUSTER NODES would render it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/admin.hpp"
#include "harness/checks.hpp"
#include "harness/client.hpp"
#include "harness/cluster_client.hpp"
#include "harness/world.hpp"

namespace slotlab::harness {
class SimWorld;
class RealWorld;
}  // namespace slotlab::harness

namespace slotlab::bindings {

using harness::Argv;

// Longest span of world time one call may ask for (~317 years): keeps microsecond arithmetic far
// from overflow whatever a caller passes.
inline constexpr Millis kMaxMillis = 10'000'000'000'000;
using harness::World;

struct ClusterOptions {
  int masters = 3;
  int replicas = 1;             // per primary
  int spares = 0;               // extra empty nodes, for add_node
  Millis node_timeout_ms = 2000;
  std::uint64_t seed = 1;
  std::map<std::string, std::string> config;  // more redis.conf directives for every node
  // "sim", or the path of a server binary for real processes (slotlab-node, redis-server).
  std::string world = "sim";
  std::uint16_t base_port = 0;  // real world: 0 picks free loopback ports
  Millis command_timeout_ms = 5000;
  Millis ready_timeout_ms = 60000;  // create + wait until healthy
};

// One node as it reports itself (its myself line of CLUSTER NODES, CLUSTER INFO).
struct NodeInfo {
  int index = 0;                // 0-based position in the world
  std::string name;             // "n1"
  std::string address;          // "10.0.0.2:6379"
  bool running = false;
  bool paused = false;
  bool member = false;          // in the cluster (created or added, not deleted)
  std::string id;               // its id (last known id when not running)
  std::string role;             // "primary", "replica", or "" when not running
  std::string primary;          // id of its primary, replicas only
  std::vector<std::pair<int, int>> slots;
  std::uint64_t epoch = 0;      // configEpoch
  std::uint64_t current_epoch = 0;
  std::vector<std::string> flags;
  std::string cluster_state;    // "ok" / "fail"
  std::string error;            // why the state could not be read (real world)
};

// Invoked between chunks of simulated time (and with the GIL held, by the module); returning
// false stops the run (the module then raises the pending Python exception).
using Interrupt = std::function<bool()>;

class ClusterCore {
 public:
  // Starts the nodes, creates the cluster (redis-cli --cluster create) and waits until it is
  // healthy and every replica is in sync with its primary.
  static Result<std::unique_ptr<ClusterCore>> create(const ClusterOptions& options, const Interrupt& interrupt = {});
  ~ClusterCore();
  ClusterCore(const ClusterCore&) = delete;
  ClusterCore& operator=(const ClusterCore&) = delete;

  const ClusterOptions& options() const { return options_; }
  World& world() { return *world_; }
  bool simulated() const { return sim_ != nullptr; }
  Millis now_ms() const;

  // --- time ---
  // Lets `ms` of world time pass, asking `interrupt` every chunk_ms of it. False if interrupted.
  bool run_for(Millis ms, const Interrupt& interrupt = {}, Millis chunk_ms = 1000);
  // Lets time pass until something may have changed (a node recorded an event) or until_ms.
  void wait_for_change(Millis until_ms);

  // --- nodes ---
  // "n3", a 0-based index as text ("#2"), a node id or a unique id prefix (>= 6 chars) -> name.
  Result<std::string> resolve(const std::string& selector) const;
  Result<std::string> resolve_index(std::int64_t index) const;
  std::vector<NodeInfo> nodes();
  Result<NodeInfo> node(const std::string& name);
  std::string describe();  // one line per node, for timeout messages

  // --- commands ---
  Result<resp::Value> command(const std::string& name, const Argv& argv, Millis timeout_ms = 0);

  // --- faults ---
  Result<void> crash(const std::string& name);    // sim: dies, unsynced disk writes lost; real: DEBUG SEGFAULT
  Result<void> kill(const std::string& name);     // SIGKILL: the page cache keeps every write
  Result<void> restart(const std::string& name);
  Result<void> pause(const std::string& name);    // SIGSTOP
  Result<void> resume(const std::string& name);   // SIGCONT
  // Cluster nodes in different groups cannot talk (nodes in no group form one more group). The
  // test's own client host is never cut off. one_way: only traffic from groups[0] to groups[1].
  Result<void> partition(const std::vector<std::vector<std::string>>& groups, bool one_way);
  Result<void> heal();
  Result<void> delay(const std::string& a, const std::string& b, Millis extra_ms);
  Result<void> clock_skew(const std::string& name, Millis offset_ms);

  // --- admin operations (redis-cli --cluster) ---
  Result<nlohmann::json> reshard(const std::vector<std::string>& from, const std::string& to, int slots);
  Result<nlohmann::json> add_node(const std::string& name, const std::string& replica_of);  // "" primary, "any"
  Result<nlohmann::json> del_node(const std::string& name);
  // CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica, then (if wait) until it says it is a primary.
  Result<nlohmann::json> failover(const std::string& name, const std::string& option, bool wait);
  Result<nlohmann::json> rebalance(const std::vector<std::pair<std::string, double>>& weights, bool use_empty_masters,
                                   double threshold, bool simulate);
  Result<nlohmann::json> cluster_check();  // redis-cli --cluster check
  Result<nlohmann::json> fix();

  // The checkers (slot coverage, agreement, ...) over the running member nodes.
  std::vector<harness::CheckResult> check(const std::vector<std::string>& names);
  nlohmann::json events() const;
  std::optional<std::uint64_t> trace_hash() const { return world_->trace_hash(); }
  std::vector<std::string> members() const { return {members_.begin(), members_.end()}; }
  std::vector<Endpoint> member_endpoints() const;
  std::string work_dir() const;  // real world: where the nodes' directories are
  void stop();                     // real world: stops every process (idempotent)

  // The healthy condition of scenarios (all reachable, state ok, agreement, coverage).
  bool healthy(std::string& why);
  Result<void> wait_healthy(Millis timeout_ms, const Interrupt& interrupt = {}, bool replicas_in_sync = false);
  // Every running member replica reports master_link_status:up.
  bool replicas_in_sync(std::string& why);

 private:
  explicit ClusterCore(ClusterOptions options);
  Result<void> build(const Interrupt& interrupt);
  harness::AdminContext admin_context(std::vector<std::string>* log);
  Result<Endpoint> entry();
  std::string name_of_id(const std::string& id) const;
  Result<std::string> id_of(const std::string& name);
  Result<void> known(const std::string& name) const;  // a node name of this world

  ClusterOptions options_;
  std::unique_ptr<World> world_;
  harness::SimWorld* sim_ = nullptr;
  harness::RealWorld* real_ = nullptr;
  std::unique_ptr<harness::ClientPool> pool_;
  std::set<std::string> members_;
  std::set<std::string> paused_;  // real world
  bool stopped_ = false;
};

// A cluster-aware client (MOVED/ASK-following, harness/cluster_client.hpp) with a blocking call:
// the command is sent and world time passes until its outcome is known.
struct ClientReply {
  enum class Kind : std::uint8_t { ok, failed, unknown };
  Kind kind = Kind::unknown;
  resp::Value reply;
  std::string error;
  std::string served_by;  // node name
  int redirects = 0;
};

class ClientCore {
 public:
  ClientCore(ClusterCore& cluster, harness::ClusterClientOptions options);
  ~ClientCore();
  ClientReply execute(const Argv& argv, std::size_t key_index, Millis timeout_ms);

 private:
  ClusterCore& cluster_;
  harness::ClusterClientOptions options_;
  std::unique_ptr<harness::ClusterClient> client_;
};

// `slotlab run --json` for a scenario given as JSON text or as a file path. world: "sim", or the
// path of a server binary. `prepare` sees the world before the run (the module arms its signal
// check there). *bad_scenario tells a scenario that cannot be read or is invalid from other errors.
Result<nlohmann::json> run_scenario_json(const std::string& text_or_path, bool is_path, std::uint64_t seed,
                                         const std::string& world, bool timeline,
                                         const std::function<void(World&)>& prepare = {}, bool* bad_scenario = nullptr,
                                         std::uint16_t base_port = 0);

// Free loopback ports: base, base+1, ... base+count-1 and each +10000 (the bus) can be bound now.
Result<std::uint16_t> find_free_ports(int count);
// The slotlab-node binary this build made (compiled in), or $SLOTLAB_NODE.
std::string default_node_binary();

}  // namespace slotlab::bindings
