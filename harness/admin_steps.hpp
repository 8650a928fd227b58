// The admin steps of a scenario (cluster-check, cluster-info, fix, reshard, rebalance, add-node,
// del-node, call, set-timeout): node selectors resolved to endpoints and ids when the step runs,
// the operation run through the same admin code as `slotlab cluster ...`, its redis-cli-like
// output kept in the step's log.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "harness/runner.hpp"

namespace slotlab::harness {

// What an admin step needs from the run.
struct AdminStepEnv {
  World& world;
  ClientPool& pool;
  Millis command_timeout_ms = 5000;
  // Selector ("n3", "primary-of-slot:S", "@last") -> node name.
  std::function<Result<std::string>(const std::string&)> resolve;
  // Names of the nodes that are in the cluster (create's nodes, then add-node / del-node), in
  // which the default entry node is chosen.
  std::set<std::string>& members;
};

// Runs st (an admin step); `node` is st.node already resolved (add-node, del-node).
Result<void> run_admin_step(const Step& st, const std::string& node, AdminStepEnv& env, StepOutcome& out);

}  // namespace slotlab::harness
