// A world the harness can run a scenario in: the simulator (sim_world.hpp), real slotlab-node
// processes or real redis-server processes (real_world.hpp, with the daemon). The runner only talks
// to this interface and to the nodes' RESP ports, so a scenario means the same thing everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/client.hpp"
#include "harness/scenario.hpp"
#include "node/env.hpp"

namespace slotlab::harness {

// One entry of the timeline: something a node reported about itself or about another node
// (node/env.hpp TraceKind), or a fault the world applied.
struct TimelineEvent {
  Millis t_ms = 0;            // world time, relative to the start of the run
  std::string node;           // which node reported it ("n3")
  TraceKind kind = TraceKind::node_started;
  std::string about;          // node name the event is about, if any (or its id if unknown)
  std::uint64_t epoch = 0;
  std::int64_t value = 0;
  std::string detail;
};


class World : public Driver {
 public:
  virtual std::string kind() const = 0;  // "sim" or "real"
  // Starts every node of the topology (empty, unconfigured: the scenario's create step builds
  // the cluster).
  virtual Result<void> start(const Topology& topology) = 0;
  virtual const std::vector<std::string>& node_names() const = 0;
  virtual Endpoint endpoint(const std::string& name) const = 0;
  virtual bool running(const std::string& name) const = 0;
  virtual Result<void> kill(const std::string& name) = 0;     // SIGKILL: no chance to save anything
  virtual Result<void> restart(const std::string& name) = 0;  // same directory, same config
  // SIGSTOP / SIGCONT: the process stays alive but runs nothing (a GC-like pause).
  virtual Result<void> pause(const std::string& name) {
    return make_error(Errc::state, fmt::format("the {} world cannot pause {}", kind(), name));
  }
  virtual Result<void> resume(const std::string& name) {
    return make_error(Errc::state, fmt::format("the {} world cannot resume {}", kind(), name));
  }
  // Cuts the links between nodes of different groups (TCP stalls, as a network partition does);
  // with `one_way`, only traffic from the first group to the others. Nodes in no group keep their
  // links; the harness's own client connections are never cut. heal() restores every link.
  virtual Result<void> partition(const std::vector<std::vector<std::string>>& groups, bool one_way) {
    (void)groups;
    (void)one_way;
    return make_error(Errc::state, fmt::format("the {} world cannot partition the network", kind()));
  }
  virtual Result<void> heal() { return make_error(Errc::state, fmt::format("the {} world cannot heal a partition", kind())); }
  // Whether this world can perform a scenario action (checked for every step before a run starts).
  virtual bool supports(const std::string& action) const { return action != "partition" && action != "heal"; }
  // After a DEBUG SEGFAULT: waits until the world sees the process gone.
  virtual bool wait_for_exit(const std::string& name, Millis timeout_ms) = 0;
  // Seeded randomness for harness decisions (redis-cli's rand()).
  virtual std::uint64_t random() = 0;
  // Time origin of the timeline.
  virtual Millis start_time_ms() const = 0;
  virtual std::vector<TimelineEvent> timeline() const = 0;
  virtual std::optional<std::uint64_t> trace_hash() const { return std::nullopt; }
  // Node id as the world knows it (from the node's own state or from CLUSTER MYID).
  virtual std::string node_id(const std::string& name) const = 0;
  virtual void stop_all() = 0;
  // Lets time pass until something may have changed or until `until_ms`. A world that cannot
  // tell (real processes) just waits; the simulator returns as soon as any node records an event
  // (its view of the cluster changed, a link came up...), so conditions are evaluated exactly when
  // they can become true and not on every poll.
  // How long a wait-until may go without re-evaluating its condition.
  virtual Millis poll_interval_ms() const { return 100; }
  virtual void wait_for_change(Millis until_ms) {
    run_until([] { return false; }, until_ms);
  }
};

}  // namespace slotlab::harness
