// The fault steps of a scenario (delay, jitter, drop-rate, duplicate, reorder, clock-skew,
// clock-jump, disk-fault, drop-bus-messages, set-config, clear-faults): selectors resolved when
// the step runs, the fault applied through the world (simulator only) or, for set-config, a real
// CONFIG SET sent to each node over RESP (any world).
#pragma once

#include <functional>
#include <set>
#include <string>

#include "harness/runner.hpp"

namespace slotlab::harness {

struct FaultStepEnv {
  World& world;
  ClientPool& pool;
  Millis command_timeout_ms = 5000;
  std::function<Result<std::string>(const std::string&)> resolve;  // selector -> node name
  const std::set<std::string>& members;  // nodes in the cluster (empty before create: every node)
};

// Runs st (a fault step); `node` is st.node already resolved (empty when the step has none).
Result<void> run_fault_step(const Step& st, const std::string& node, FaultStepEnv& env, StepOutcome& out);

}  // namespace slotlab::harness
