// Cluster administration, written once as a RESP client over the Transport seam, sending what
// redis-cli --cluster sends (reference doc section 1). The same code runs as a scenario step in
// the simulator and against real slotlab-node or redis-server processes.
//
// Unlike redis-cli, every wait is bounded: a node that does not join is re-sent CLUSTER MEET, and
// a failure names the node and what it answered.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "harness/client.hpp"
#include "harness/cluster_view.hpp"

namespace slotlab::harness {

struct AdminContext {
  ClientPool& pool;
  std::function<std::uint64_t()> random;  // seeded by the world (redis-cli uses rand())
  std::vector<std::string>* log = nullptr; // redis-cli-like output lines, for reports
  Millis command_timeout_ms = 5000;
  Millis join_timeout_ms = 60000;          // --cluster-timeout

  void say(std::string line) const {
    if (log != nullptr) log->push_back(std::move(line));
  }
};

struct CreatePlan {
  std::vector<Endpoint> primaries;
  std::vector<std::pair<Endpoint, Endpoint>> replicas;  // (replica, its primary)
  std::vector<std::pair<int, int>> slot_ranges;         // per primary
};

// redis-cli --cluster create <nodes...> --cluster-replicas R
Result<CreatePlan> create_cluster(AdminContext& ctx, const std::vector<Endpoint>& nodes, int replicas);

// Waits until every node reports the same config signature (clusterManagerWaitForClusterJoin),
// re-sending CLUSTER MEET <first> to nodes that do not know everyone yet. Bounded.
Result<void> wait_for_cluster_join(AdminContext& ctx, const std::vector<Endpoint>& nodes, const Endpoint& meet_target);

}  // namespace slotlab::harness
