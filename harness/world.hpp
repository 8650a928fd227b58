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


// A change to the lossy-link faults of some links (the delay, jitter, drop-rate, duplicate and
// reorder steps): only the fields that are set change; a value of 0 clears that fault.
struct LinkFaultChange {
  std::optional<Millis> delay_ms;
  std::optional<Millis> jitter_ms;
  std::optional<std::uint32_t> drop_per_million;
  std::optional<std::uint32_t> duplicate_per_million;
  std::optional<std::uint32_t> reorder_per_million;
  std::optional<Millis> reorder_gap_ms;
};

// The harness's own client connections, as a member of a link step's `from`/`to`.
inline const std::string kClientsSelector = "clients";

// Steps only the simulator can perform (fault injection below the processes).
inline bool is_sim_only_action(const std::string& action) {
  return action == "partition" || action == "heal" || action == "delay" || action == "jitter" ||
         action == "drop-rate" || action == "duplicate" || action == "reorder" || action == "clock-skew" ||
         action == "clock-jump" || action == "disk-fault" || action == "drop-bus-messages" || action == "clear-faults";
}

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
  // Lossy links between the nodes named in `from` and those in `to` (kClientsSelector: the
  // harness's clients), both ways unless one_way; `links` is "bus", "data" or "all".
  virtual Result<void> change_link_faults(const std::vector<std::string>& from, const std::vector<std::string>& to,
                                          bool one_way, const std::string& links, const LinkFaultChange& change) {
    (void)from, (void)to, (void)one_way, (void)links, (void)change;
    return make_error(Errc::state, fmt::format("the {} world cannot inject link faults", kind()));
  }
  // The node's wall clock reads `offset_ms` off the true time (relative: moves it by offset_ms).
  virtual Result<void> clock_offset(const std::string& name, std::int64_t offset_ms, bool relative) {
    (void)offset_ms, (void)relative;
    return make_error(Errc::state, fmt::format("the {} world cannot change the clock of {}", kind(), name));
  }
  // "none", "fsync-lost", "fsync-failed", "write-failed" (see scenarios/README.md).
  virtual Result<void> disk_fault(const std::string& name, const std::string& fault) {
    (void)fault;
    return make_error(Errc::state, fmt::format("the {} world cannot inject disk faults into {}", kind(), name));
  }
  // Received cluster bus messages of the types in `type_mask` (bit = message type) are dropped.
  virtual Result<void> drop_bus_messages(const std::string& name, std::uint32_t type_mask) {
    (void)type_mask;
    return make_error(Errc::state, fmt::format("the {} world cannot filter the bus messages of {}", kind(), name));
  }
  // Clears the faults of the given kinds: "links", "clocks", "disks", "bus-messages".
  virtual Result<void> clear_faults(const std::vector<std::string>& kinds) {
    (void)kinds;
    return make_error(Errc::state, fmt::format("the {} world cannot clear injected faults", kind()));
  }
  // Whether this world can perform a scenario action (checked for every step before a run starts).
  virtual bool supports(const std::string& action) const { return !is_sim_only_action(action); }
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
