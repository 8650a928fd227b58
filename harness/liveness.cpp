// Faults as spans, the liveness checker, availability per fault and the client-side failover
// stages: computed after the run from the steps, the nodes' timeline and the client operations.
#include "harness/liveness.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "harness/runner.hpp"

namespace slotlab::harness {

namespace {

Millis step_end(const StepOutcome& s) { return s.start_ms + s.duration_ms; }

std::string join_names(const std::vector<std::string>& v, const char* sep = ",") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

nlohmann::json opt(const std::optional<Millis>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

Millis node_timeout_of(const std::map<std::string, std::string>& config) {
  auto it = config.find("cluster-node-timeout");
  if (it == config.end()) return 15000;
  try {
    return std::stoll(it->second);
  } catch (...) {
    return 15000;  // validated when the scenario was loaded; not reached
  }
}

const std::set<std::string> kLingeringFaults = {"delay",      "jitter",     "drop-rate",  "duplicate",        "reorder",
                                                "clock-skew", "clock-jump", "disk-fault", "drop-bus-messages"};

std::vector<FaultSpan> fault_spans(const std::vector<StepOutcome>& steps) {
  std::vector<FaultSpan> out;
  auto close_open = [&](const std::string& kind_a, const std::string& kind_b, const std::string& node, Millis at) {
    for (FaultSpan& f : out) {
      if (f.end_ms || (f.kind != kind_a && f.kind != kind_b)) continue;
      if (!node.empty() && std::find(f.nodes.begin(), f.nodes.end(), node) == f.nodes.end()) continue;
      f.end_ms = at;
    }
  };
  for (const StepOutcome& s : steps) {
    if (!s.ok) continue;
    if (s.action == "crash" || s.action == "kill" || s.action == "pause") {
      FaultSpan f;
      f.kind = s.action;
      f.nodes = {s.node};
      f.step = s.index;
      f.start_ms = step_end(s);  // the process is dead / stopped when the step ends
      f.label = fmt::format("{} {}", s.action, s.node);
      out.push_back(f);
    } else if (s.action == "partition") {
      FaultSpan f;
      f.kind = "partition";
      f.nodes = s.affected;
      f.step = s.index;
      f.start_ms = step_end(s);
      f.label = fmt::format("partition ({} cut off)", join_names(s.affected));
      out.push_back(f);
    } else if (kLingeringFaults.count(s.action) != 0) {
      // Link, clock, disk and bus-message faults (the simulator's fault steps): in effect until
      // clear-faults, or until a later step of the same kind on the same node(s) changes it.
      std::string who = s.node.empty() ? "*" : s.node;
      close_open(s.action, s.action, who == "*" ? "" : who, step_end(s));
      FaultSpan f;
      f.kind = s.action;
      f.nodes = {who};
      f.step = s.index;
      f.start_ms = step_end(s);
      if (s.action == "clock-jump") f.end_ms = f.start_ms;  // instantaneous
      f.label = who == "*" ? s.action : fmt::format("{} {}", s.action, who);
      out.push_back(f);
    } else if (s.action == "clear-faults") {
      for (FaultSpan& f : out)
        if (!f.end_ms && kLingeringFaults.count(f.kind) != 0) f.end_ms = s.start_ms;
    } else if (s.action == "restart") {
      close_open("crash", "kill", s.node, s.start_ms);
    } else if (s.action == "resume") {
      close_open("pause", "pause", s.node, s.start_ms);
    } else if (s.action == "heal") {
      close_open("partition", "partition", "", s.start_ms);
    }
  }
  return out;
}

namespace {

// Replays the timeline: which nodes report cluster_state ok. Which nodes should be running comes
// from the steps (a node is down from its crash/kill step to its restart step), so that a node
// being restarted counts from the restart step on, before it has reported anything.
struct StateReplay {
  const std::vector<FaultSpan>* faults = nullptr;
  Millis now = 0;
  std::map<std::string, bool> state_ok;  // latest state_changed
  std::set<std::string> members;

  bool running(const std::string& n) const {
    for (const FaultSpan& f : *faults) {
      if (f.kind != "crash" && f.kind != "kill") continue;
      if (std::find(f.nodes.begin(), f.nodes.end(), n) == f.nodes.end()) continue;
      if (now >= f.start_ms && (!f.end_ms || now < *f.end_ms)) return false;
    }
    return true;
  }
  void apply(const TimelineEvent& e) {
    switch (e.kind) {
      case TraceKind::node_started:
      case TraceKind::restarted:
      case TraceKind::crashed:
        state_ok[e.node] = false;  // a node starts with cluster_state:fail
        break;
      case TraceKind::state_changed:
        state_ok[e.node] = e.value == 1;
        break;
      default:
        break;
    }
  }
  // Every running member ok; `why` names the first that is not.
  bool all_ok(std::string& why) const {
    bool any = false;
    for (const auto& m : members) {
      if (!running(m)) continue;
      any = true;
      auto s = state_ok.find(m);
      if (s == state_ok.end() || !s->second) {
        why = m + " reports cluster_state:fail";
        return false;
      }
    }
    if (!any) why = "no node of the cluster is running";
    return any;
  }
};

// Membership changes at the end of create / add-node / del-node steps, in time order.
struct MembershipChange {
  Millis at_ms;
  bool add;
  std::vector<std::string> nodes;
};

std::vector<MembershipChange> membership_changes(const std::vector<StepOutcome>& steps, int created) {
  std::vector<MembershipChange> out;
  for (const StepOutcome& s : steps) {
    if (!s.ok) continue;
    if (s.action == "create") {
      MembershipChange c{step_end(s), true, {}};
      for (int i = 1; i <= created; ++i) c.nodes.push_back(fmt::format("n{}", i));
      out.push_back(c);
    } else if (s.action == "add-node" && !s.node.empty()) {
      out.push_back({step_end(s), true, {s.node}});
    } else if (s.action == "del-node" && !s.node.empty()) {
      out.push_back({step_end(s), false, {s.node}});
    }
  }
  return out;
}

void compute_liveness(RunResult& r, Millis nt, int replicas, int created, bool full_coverage) {
  LivenessResult& l = r.liveness;
  l.node_timeout_ms = nt;
  l.coverage_implied = full_coverage;
  if (r.timeline.empty() || r.steps.empty()) {
    l.detail = "not evaluated: the run recorded no timeline";
    return;
  }
  l.evaluated = true;
  bool no_faults = r.faults.empty();
  if (no_faults) {
    l.heal_ms = r.world_time_ms;
    l.heal_what = "no fault: evaluated at the end of the run";
    l.budget_ms = 0;
  } else {
    for (const FaultSpan& f : r.faults) {
      Millis t = f.end_ms ? *f.end_ms : f.start_ms;
      if (t >= l.heal_ms) {
        l.heal_ms = t;
        l.heal_what = f.end_ms ? fmt::format("{} undone", f.label) : fmt::format("{} (never undone)", f.label);
      }
    }
    Millis rank_delay = 1000 + 1000 * std::max(0, replicas - 1);
    l.budget_ms = nt * 3 / 2 + nt + rank_delay + std::max<Millis>(2 * nt, 2000) + std::clamp<Millis>(nt, 500, 5000) + 1000;
  }
  l.deadline_ms = l.heal_ms + l.budget_ms;

  // Replay the timeline; the first moment at or after the heal when every running member is ok.
  StateReplay st;
  st.faults = &r.faults;
  auto changes = membership_changes(r.steps, created);
  std::size_t ci = 0;
  auto apply_changes_until = [&](Millis t) {
    st.now = t;
    for (; ci < changes.size() && changes[ci].at_ms <= t; ++ci) {
      for (const auto& n : changes[ci].nodes) {
        if (changes[ci].add) st.members.insert(n);
        else st.members.erase(n);
      }
    }
  };
  std::string why;
  std::optional<Millis> ok_since;  // for the no-fault case: since when it has held
  bool evaluated_at_heal = false;
  for (const TimelineEvent& e : r.timeline) {
    if (!evaluated_at_heal && e.t_ms > l.heal_ms) {
      apply_changes_until(l.heal_ms);
      evaluated_at_heal = true;
      if (!no_faults && st.all_ok(why)) {
        l.state_ok_ms = l.heal_ms;
        break;
      }
    }
    apply_changes_until(e.t_ms);
    st.apply(e);
    if (no_faults) {
      bool ok = st.all_ok(why);
      if (ok && !ok_since) ok_since = e.t_ms;
      if (!ok) ok_since.reset();
    } else if (e.t_ms >= l.heal_ms && st.all_ok(why)) {
      l.state_ok_ms = e.t_ms;
      break;
    }
  }
  if (!evaluated_at_heal) {
    apply_changes_until(l.heal_ms);
    if (no_faults) {
      bool ok = st.all_ok(why);
      if (ok && !ok_since) ok_since = l.heal_ms;
      if (!ok) ok_since.reset();
    } else if (st.all_ok(why)) {
      l.state_ok_ms = l.heal_ms;
    }
  }
  if (no_faults) l.state_ok_ms = ok_since;

  // A client served: the first operation started after the heal that succeeded.
  for (const ClientOpSample& op : r.client_ops) {
    if (op.start_ms < l.heal_ms && !no_faults) continue;
    if (no_faults && op.start_ms < l.heal_ms - 5000) continue;  // the last 5 s of a fault-free run
    l.client_measured = true;
    if (op.outcome == 0 && (!l.client_served_ms || op.end_ms < *l.client_served_ms)) l.client_served_ms = op.end_ms;
  }

  bool state_in_time = l.state_ok_ms && (no_faults || *l.state_ok_ms <= l.deadline_ms);
  bool client_in_time = !l.client_measured || (l.client_served_ms && (no_faults || *l.client_served_ms <= l.deadline_ms));
  l.passed = state_in_time && client_in_time;
  std::string cov = full_coverage ? "" : " (cluster-require-full-coverage no: state ok does not imply coverage)";
  if (no_faults) {
    l.detail = l.state_ok_ms ? fmt::format("no fault; every running node reports cluster_state:ok since {} ms{}", *l.state_ok_ms, cov)
                             : fmt::format("no fault, but at the end of the run {}", why);
  } else if (!l.state_ok_ms) {
    l.detail = fmt::format("after {} at {} ms, the cluster was not ok everywhere by the end of the run ({} ms, deadline {} ms): {}",
                           l.heal_what, l.heal_ms, r.world_time_ms, l.deadline_ms, why);
  } else {
    l.detail = fmt::format("{} at {} ms; cluster_state:ok on every running node {} ms later{}", l.heal_what, l.heal_ms,
                           *l.state_ok_ms - l.heal_ms, cov);
    if (l.client_measured)
      l.detail += l.client_served_ms ? fmt::format(", a client served {} ms later", *l.client_served_ms - l.heal_ms)
                                     : ", but no client operation succeeded afterwards";
    else
      l.detail += ", no workload ran afterwards (client service not timed)";
    l.detail += fmt::format("; deadline {} ms after (node timeout {} ms)", l.budget_ms, nt);
    if (!l.passed) l.detail += ": MISSED";
  }
}

void compute_failover_client_stages(RunResult& r) {
  for (FailoverRecord& f : r.failovers) {
    // Votes: the last AUTH ACK the promoted replica received before its promotion.
    if (f.promotion_ms && !f.promoted_node.empty()) {
      for (const TimelineEvent& e : r.timeline) {
        Millis dt = e.t_ms - f.crash_at_ms;
        if (dt < 0) continue;
        if (dt > *f.promotion_ms) break;
        if (e.kind == TraceKind::auth_ack_received && e.node == f.promoted_node) f.votes_ms = dt;
      }
    }
    // Clients: served again by the first successful op that ends after the last failing op that
    // started between the crash and the next fault (the last error's end if none succeeds).
    Millis window_end = r.world_time_ms + 1;
    for (const FaultSpan& s : r.faults)
      if (s.start_ms > f.crash_at_ms) window_end = std::min(window_end, s.start_ms);
    std::optional<Millis> last_error;
    for (const ClientOpSample& op : r.client_ops) {
      if (op.start_ms < f.crash_at_ms - 1 || op.start_ms >= window_end || op.outcome == 0) continue;
      f.clients_saw_errors = true;
      if (!last_error || op.end_ms > *last_error) last_error = op.end_ms;
    }
    if (last_error) {
      std::optional<Millis> served;
      for (const ClientOpSample& op : r.client_ops)
        if (op.outcome == 0 && op.end_ms > *last_error && (!served || op.end_ms < *served)) served = op.end_ms;
      f.clients_ok_ms = (served ? *served : *last_error) - f.crash_at_ms;
    }
  }
}

void compute_availability(RunResult& r) {
  for (std::size_t i = 0; i < r.faults.size(); ++i) {
    const FaultSpan& s = r.faults[i];
    Millis next = r.world_time_ms;
    for (const FaultSpan& o : r.faults)
      if (o.start_ms > s.start_ms) next = std::min(next, o.start_ms);
    Millis end = s.end_ms ? *s.end_ms : s.start_ms;
    bool have_end = s.end_ms.has_value();
    for (const FailoverRecord& f : r.failovers) {
      bool same = std::find(s.nodes.begin(), s.nodes.end(), f.failed_node) != s.nodes.end() &&
                  f.crash_at_ms >= r.steps[s.step].start_ms && f.crash_at_ms <= s.start_ms + 1;
      if (same && f.all_ok_ms) {
        end = std::max(end, f.crash_at_ms + *f.all_ok_ms);
        have_end = true;
      }
    }
    if (!have_end) end = next;
    end = std::min(end, next);
    AvailabilityWindow w;
    w.fault = s.label;
    w.start_ms = s.start_ms;
    w.end_ms = std::max(end, s.start_ms);
    for (const ClientOpSample& op : r.client_ops) {
      if (op.start_ms >= w.start_ms && op.start_ms <= w.end_ms) {
        ++w.ops;
        if (op.outcome == 0) ++w.ok;
        else if (op.outcome == 1) ++w.failed;
        else ++w.unknown;
      }
      if (op.start_ms >= w.start_ms && op.start_ms < next && op.outcome != 0) {
        if (!w.first_error_ms || op.end_ms < *w.first_error_ms) w.first_error_ms = op.end_ms;
        if (!w.last_error_ms || op.end_ms > *w.last_error_ms) w.last_error_ms = op.end_ms;
      }
    }
    w.failed_fraction = w.ops == 0 ? 0.0 : static_cast<double>(w.failed + w.unknown) / static_cast<double>(w.ops);
    if (w.first_error_ms) w.error_span_ms = *w.last_error_ms - *w.first_error_ms;
    r.availability.push_back(w);
  }
}

}  // namespace

void analyse_run(RunResult& r, Millis node_timeout_ms, int replicas, int created, bool require_full_coverage) {
  r.node_timeout_ms = node_timeout_ms;
  std::sort(r.client_ops.begin(), r.client_ops.end(), [](const ClientOpSample& a, const ClientOpSample& b) {
    return a.start_ms != b.start_ms ? a.start_ms < b.start_ms : a.end_ms < b.end_ms;
  });
  r.faults = fault_spans(r.steps);
  compute_failover_client_stages(r);
  compute_availability(r);
  compute_liveness(r, node_timeout_ms, replicas, created, require_full_coverage);
}

nlohmann::json liveness_json(const LivenessResult& l) {
  if (!l.evaluated) return {{"evaluated", false}, {"detail", l.detail}};
  return {{"evaluated", true},
          {"passed", l.passed},
          {"node_timeout_ms", l.node_timeout_ms},
          {"heal_ms", l.heal_ms},
          {"heal", l.heal_what},
          {"budget_ms", l.budget_ms},
          {"deadline_ms", l.deadline_ms},
          {"state_ok_ms", opt(l.state_ok_ms)},
          {"client_served_ms", opt(l.client_served_ms)},
          {"client_measured", l.client_measured},
          {"coverage_implied_by_state", l.coverage_implied},
          {"formula", "heal + 1.5*NT + NT + (1000 + 1000*(replicas-1)) + max(2*NT, 2000) + clamp(NT, 500, 5000) + 1000"},
          {"detail", l.detail}};
}

nlohmann::json availability_json(const std::vector<AvailabilityWindow>& a) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& w : a) {
    out.push_back({{"fault", w.fault},
                   {"start_ms", w.start_ms},
                   {"end_ms", w.end_ms},
                   {"ops", w.ops},
                   {"ok", w.ok},
                   {"failed", w.failed},
                   {"unknown", w.unknown},
                   {"failed_fraction", w.failed_fraction},
                   {"first_error_ms", opt(w.first_error_ms)},
                   {"last_error_ms", opt(w.last_error_ms)},
                   {"error_span_ms", w.error_span_ms}});
  }
  return out;
}

nlohmann::json faults_json(const std::vector<FaultSpan>& f) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : f) {
    out.push_back({{"kind", s.kind}, {"nodes", s.nodes}, {"step", s.step}, {"start_ms", s.start_ms},
                   {"end_ms", opt(s.end_ms)}, {"label", s.label}});
  }
  return out;
}

std::string liveness_markdown(const RunResult& r) {
  std::string out;
  const LivenessResult& l = r.liveness;
  out += "\n## Liveness\n\n";
  if (!l.evaluated) {
    out += l.detail + "\n";
  } else {
    out += fmt::format("**{}**: {}.\n\n", l.passed ? "ok" : "FAIL", l.detail);
    if (l.budget_ms > 0)
      out += fmt::format("Deadline = heal + 1.5·NT + NT + (1000 + 1000·(replicas−1)) + max(2·NT, 2000) + clamp(NT, 500, 5000) "
                         "+ 1000 ms = {} + {} = {} ms (NT = {} ms).\n",
                         l.heal_ms, l.budget_ms, l.deadline_ms, l.node_timeout_ms);
  }
  if (!r.availability.empty()) {
    out += "\n## Availability per fault\n\n| fault | window (ms) | client ops | failed | unknown | failed fraction | errors seen (ms) | error span (ms) |\n"
           "|---|---|---|---|---|---|---|---|\n";
    for (const auto& w : r.availability) {
      out += fmt::format("| {} | {}–{} | {} | {} | {} | {:.1f}% | {} | {} |\n", w.fault, w.start_ms, w.end_ms, w.ops, w.failed,
                         w.unknown, 100.0 * w.failed_fraction,
                         w.first_error_ms ? fmt::format("{}–{}", *w.first_error_ms, *w.last_error_ms) : std::string("none"),
                         w.error_span_ms);
    }
  }
  if (r.lost_writes && !r.lost_writes->losses.empty()) {
    const auto& ls = r.lost_writes->losses;
    out += fmt::format("\n## Lost writes, one by one{}\n\n| key | acknowledged at (ms) | by | found | cause | permitted |\n"
                       "|---|---|---|---|---|---|\n",
                       ls.size() >= LostWritesSummary::kMaxLossesReported ? fmt::format(" (first {})", ls.size()) : "");
    for (const auto& w : ls) {
      out += fmt::format("| {} | {} | {}:{} | {} | {} | {} |\n", w.key, w.acked_ms, w.acked_by.ip, w.acked_by.port,
                         w.found.empty() ? "missing" : w.found, w.cause, w.permitted ? "yes" : "**no**");
    }
  }
  return out;
}

}  // namespace slotlab::harness
