// Checkers over what the harness observed through RESP (so they mean the same in every world):
// slot coverage, agreement (redis-cli's config signature), cluster_state:ok everywhere, epoch
// convergence, at most one primary per slot.
#pragma once

#include <string>
#include <vector>

#include "harness/cluster_view.hpp"

namespace slotlab::harness {

struct CheckResult {
  std::string name;
  bool passed = false;
  std::string detail;  // what held, or what is wrong and where
};

// All 16384 slots assigned, in the view of every reachable node.
CheckResult check_slot_coverage(const std::vector<NodeObservation>& obs);
// Every reachable node computes the same config signature.
CheckResult check_agreement(const std::vector<NodeObservation>& obs);
// cluster_state:ok on every reachable node.
CheckResult check_state_ok(const std::vector<NodeObservation>& obs);
// Equal cluster_current_epoch everywhere; distinct configEpochs among slot-serving primaries.
CheckResult check_epochs(const std::vector<NodeObservation>& obs);
// Each slot is served by one primary in the union of the nodes' own claims (myself lines).
CheckResult check_single_owner(const std::vector<NodeObservation>& obs);
// Every reachable node is reachable (used for "all nodes are up" expectations).
CheckResult check_all_reachable(const std::vector<NodeObservation>& obs);

// The checks over observations. "acknowledged-writes" (every acknowledged write of the scenario's
// workloads is readable) needs the workloads' histories: the runner evaluates it, not this function.
std::vector<CheckResult> run_named_checks(const std::vector<std::string>& names, const std::vector<NodeObservation>& obs);
const std::vector<std::string>& known_check_names();
// The names run_named_checks evaluates itself: every known check but "acknowledged-writes".
const std::vector<std::string>& observation_check_names();

}  // namespace slotlab::harness
