// Implementation of checks.hpp.
#include "harness/checks.hpp"

#include <map>
#include <set>

#include <fmt/format.h>

#include "node/types.hpp"

namespace slotlab::harness {

CheckResult check_slot_coverage(const std::vector<NodeObservation>& obs) {
  CheckResult r{"slot-coverage", true, ""};
  int reachable = 0;
  for (const auto& o : obs) {
    if (!o.reachable) continue;
    ++reachable;
    std::vector<bool> covered(kSlotCount, false);
    for (const auto& n : o.nodes)
      for (auto [a, b] : n.slots)
        for (int s = a; s <= b && s < kSlotCount; ++s)
          if (s >= 0) covered[static_cast<std::size_t>(s)] = true;
    int missing = 0, first_missing = -1;
    for (int s = 0; s < kSlotCount; ++s) {
      if (!covered[static_cast<std::size_t>(s)]) {
        if (first_missing < 0) first_missing = s;
        ++missing;
      }
    }
    if (missing > 0) {
      r.passed = false;
      r.detail = fmt::format("{} sees {} unassigned slots (first: {})", o.endpoint.str(), missing, first_missing);
      return r;
    }
  }
  if (reachable == 0) {
    r.passed = false;
    r.detail = "no node reachable";
    return r;
  }
  r.detail = fmt::format("[OK] All 16384 slots covered in the view of {} nodes.", reachable);
  return r;
}

CheckResult check_agreement(const std::vector<NodeObservation>& obs) {
  CheckResult r{"agreement", true, ""};
  std::string first;
  std::string first_ep;
  for (const auto& o : obs) {
    if (!o.reachable) continue;
    std::string sig = config_signature(o.nodes_text);
    if (first_ep.empty()) {
      first = sig;
      first_ep = o.endpoint.str();
    } else if (sig != first) {
      r.passed = false;
      r.detail = fmt::format("[ERR] Nodes don't agree about configuration: {} and {} differ", first_ep, o.endpoint.str());
      return r;
    }
  }
  if (first_ep.empty()) {
    r.passed = false;
    r.detail = "no node reachable";
    return r;
  }
  r.detail = "[OK] All nodes agree about slots configuration.";
  return r;
}

CheckResult check_state_ok(const std::vector<NodeObservation>& obs) {
  CheckResult r{"cluster-state-ok", true, ""};
  int n = 0;
  for (const auto& o : obs) {
    if (!o.reachable) continue;
    ++n;
    auto it = o.cluster_info.find("cluster_state");
    if (it == o.cluster_info.end() || it->second != "ok") {
      r.passed = false;
      r.detail = fmt::format("{} reports cluster_state:{}", o.endpoint.str(),
                             it == o.cluster_info.end() ? "?" : it->second);
      return r;
    }
  }
  r.passed = n > 0;
  r.detail = n > 0 ? fmt::format("cluster_state:ok on {} nodes", n) : "no node reachable";
  return r;
}

CheckResult check_epochs(const std::vector<NodeObservation>& obs) {
  CheckResult r{"epochs-converged", true, ""};
  std::string current;
  std::string first_ep;
  std::map<std::uint64_t, std::string> primary_epochs;  // configEpoch -> primary id
  for (const auto& o : obs) {
    if (!o.reachable) continue;
    auto it = o.cluster_info.find("cluster_current_epoch");
    std::string e = it == o.cluster_info.end() ? "?" : it->second;
    if (first_ep.empty()) {
      current = e;
      first_ep = o.endpoint.str();
    } else if (e != current) {
      r.passed = false;
      r.detail = fmt::format("cluster_current_epoch differs: {} on {}, {} on {}", current, first_ep, e, o.endpoint.str());
      return r;
    }
    const NodeLine* me = o.myself();
    if (me != nullptr && me->is_primary() && !me->slots.empty()) {
      auto [pos, inserted] = primary_epochs.emplace(me->config_epoch, me->id);
      if (!inserted && pos->second != me->id) {
        r.passed = false;
        r.detail = fmt::format("primaries {} and {} share configEpoch {}", pos->second, me->id, me->config_epoch);
        return r;
      }
    }
  }
  if (first_ep.empty()) {
    r.passed = false;
    r.detail = "no node reachable";
    return r;
  }
  r.detail = fmt::format("currentEpoch {} everywhere; {} primaries with distinct configEpochs", current, primary_epochs.size());
  return r;
}

CheckResult check_single_owner(const std::vector<NodeObservation>& obs) {
  CheckResult r{"single-owner", true, ""};
  std::vector<std::string> owner(kSlotCount);
  for (const auto& o : obs) {
    if (!o.reachable) continue;
    const NodeLine* me = o.myself();
    if (me == nullptr || !me->is_primary()) continue;
    for (auto [a, b] : me->slots) {
      for (int s = a; s <= b && s < kSlotCount; ++s) {
        if (s < 0) continue;
        auto& cur = owner[static_cast<std::size_t>(s)];
        if (!cur.empty() && cur != me->id) {
          r.passed = false;
          r.detail = fmt::format("slot {} is claimed by primaries {} and {}", s, cur, me->id);
          return r;
        }
        cur = me->id;
      }
    }
  }
  r.detail = "no slot claimed by two primaries";
  return r;
}

CheckResult check_all_reachable(const std::vector<NodeObservation>& obs) {
  CheckResult r{"all-reachable", true, ""};
  for (const auto& o : obs) {
    if (!o.reachable) {
      r.passed = false;
      r.detail = fmt::format("{} unreachable: {}", o.endpoint.str(), o.error);
      return r;
    }
  }
  r.detail = fmt::format("{} nodes answer", obs.size());
  return r;
}

const std::vector<std::string>& known_check_names() {
  static const std::vector<std::string> names = {"slot-coverage", "agreement", "cluster-state-ok",
                                                 "epochs-converged", "single-owner", "all-reachable",
                                                 "acknowledged-writes", "liveness", "no-failover"};
  return names;
}

const std::vector<std::string>& observation_check_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& n : known_check_names())
      if (n != "acknowledged-writes" && n != "liveness" && n != "no-failover") out.push_back(n);
    return out;
  }();
  return names;
}

std::vector<CheckResult> run_named_checks(const std::vector<std::string>& names, const std::vector<NodeObservation>& obs) {
  std::vector<CheckResult> out;
  for (const auto& n : names) {
    if (n == "acknowledged-writes" || n == "liveness" || n == "no-failover") continue;  // the runner's (workloads, whole run)
    if (n == "slot-coverage") {
      out.push_back(check_slot_coverage(obs));
    } else if (n == "agreement") {
      out.push_back(check_agreement(obs));
    } else if (n == "cluster-state-ok") {
      out.push_back(check_state_ok(obs));
    } else if (n == "epochs-converged") {
      out.push_back(check_epochs(obs));
    } else if (n == "single-owner") {
      out.push_back(check_single_owner(obs));
    } else if (n == "all-reachable") {
      out.push_back(check_all_reachable(obs));
    }
  }
  return out;
}

}  // namespace slotlab::harness
