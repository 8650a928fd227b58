// The scenario runner: resolves node selectors, performs each step through the world and the
// nodes' RESP ports, evaluates wait-until conditions by polling what the nodes say, runs the
// checks, and reconstructs each failover's stages from the timeline.
#include "harness/runner.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "harness/admin.hpp"
#include "harness/admin_steps.hpp"
#include "harness/fault_steps.hpp"
#include "harness/lost_writes.hpp"
#include "harness/workload.hpp"
#include "node/strings.hpp"

namespace slotlab::harness {

namespace {

class Run {
 public:
  Run(const Scenario& sc, World& world, std::uint64_t seed, const RunOptions& opt)
      : sc_(sc), world_(world), opt_(opt), pool_(world), rng_seed_(seed) {}

  RunResult go();

 private:
  Millis rel_now() const { return world_.now_ms() - world_.start_time_ms(); }
  // The running nodes of the cluster: create's, plus add-node's, minus del-node's (spares not
  // added yet and removed nodes know no cluster). Before create: every running node.
  std::vector<Endpoint> running_endpoints() const {
    std::vector<Endpoint> out;
    for (const auto& n : world_.node_names())
      if (world_.running(n) && (members_.empty() || members_.count(n) != 0)) out.push_back(world_.endpoint(n));
    return out;
  }
  std::vector<NodeObservation> observe_running(bool with_replication = true) {
    return observe(pool_, running_endpoints(), opt_.command_timeout_ms, with_replication);
  }
  std::string name_of_id(const std::string& id) const {
    for (const auto& n : world_.node_names())
      if (world_.node_id(n) == id) return n;
    return {};
  }
  std::string name_of_endpoint_or_id(const NodeLine& l) const {
    std::string n = name_of_id(l.id);
    return n.empty() ? l.id : n;
  }
  std::string name_of_endpoint(const Endpoint& e) const {
    for (const auto& n : world_.node_names())
      if (world_.endpoint(n) == e) return n;
    return {};
  }
  Result<std::string> resolve(const std::string& selector);
  Result<void> do_step(const Step& st, StepOutcome& out);
  Result<void> wait_until(const Step& st, const std::string& node, StepOutcome& out);
  bool condition_holds(const std::string& cond, const std::string& node, std::string& why);
  void build_failovers(RunResult& r);
  // Workloads (load-keys, start-workload, stop-workload) and the acknowledged-writes check.
  Result<void> workload_step(const Step& st, StepOutcome& out);
  bool stop_workloads(Millis timeout_ms);
  std::vector<FaultRecord> faults() const;
  CheckResult check_acknowledged_writes();
  std::vector<CheckResult> run_checks(const std::vector<std::string>& names);
  void summarize_workloads(RunResult& r);

  const Scenario& sc_;
  World& world_;
  RunOptions opt_;
  ClientPool pool_;
  std::uint64_t rng_seed_;
  std::string last_node_;
  struct CrashInfo {
    std::string node;
    std::string id;
    Millis at_ms;
    std::vector<std::pair<int, int>> slots;
  };
  std::vector<CrashInfo> crashes_;
  std::map<std::string, std::vector<std::pair<int, int>>> slots_at_crash_;
  std::set<std::string> members_;  // nodes in the cluster: create's, then add-node / del-node
  std::map<std::string, std::unique_ptr<Workload>> workloads_;  // by name; ordered
  std::optional<LostWriteReport> last_lost_;
  // pause and partition faults (crashes are in crashes_); until_ms is set by resume / heal.
  struct Outage {
    std::string node;
    std::string kind;  // "pause", "partition"
    Millis at_ms = 0;  // relative to the run start
    std::optional<Millis> until_ms;
  };
  std::vector<Outage> outages_;
  Millis node_timeout_ms() const {
    if (node_timeout_override_ms_) return *node_timeout_override_ms_;
    auto it = sc_.topology.config.find("cluster-node-timeout");
    return it == sc_.topology.config.end() ? 15000 : std::stoll(it->second);
  }
  // The largest cluster-node-timeout set by a set-config / set-timeout step so far (bounds the
  // stale-primary window of the lost-write attribution).
  std::optional<Millis> node_timeout_override_ms_;
  std::map<std::string, std::string> replica_seen_;  // primary -> the node replica-of:primary last named
  // Fault steps (harness/fault_steps.cpp), the no-failover check, and processes that exited on
  // their own (a disk fault makes redis-server exit(1) when nodes.conf cannot be saved).
  Result<void> fault_step(const Step& st, const std::string& node, StepOutcome& out);
  CheckResult check_no_failover() const;
  std::vector<FaultRecord> self_exits() const;
  void remember_primary_slots(const std::string& node) {
    for (const auto& o : observe_running()) {
      if (!(o.endpoint == world_.endpoint(node))) continue;
      if (const NodeLine* me = o.myself(); me != nullptr && me->is_primary()) slots_at_crash_[node] = me->slots;
    }
  }
};

std::vector<FaultRecord> Run::faults() const {
  std::vector<FaultRecord> out;
  for (const CrashInfo& c : crashes_) {
    FaultRecord f;
    f.endpoint = world_.endpoint(c.node);
    f.node = c.node;
    f.kind = "crash";
    f.at_ms = world_.start_time_ms() + c.at_ms;
    for (const TimelineEvent& ev : world_.timeline()) {
      if (ev.t_ms >= c.at_ms && ev.kind == TraceKind::promoted && ev.about == c.node) f.failed_over = true;
    }
    out.push_back(f);
  }
  // A paused or cut-off primary keeps acknowledging writes until it learns that a replica replaced
  // it (after it resumes / the partition heals, within about a node timeout): those writes, and the
  // ones not yet replicated when the outage began, are lost when it rejoins as a replica.
  for (const Outage& o : outages_) {
    FaultRecord f;
    f.endpoint = world_.endpoint(o.node);
    f.node = o.node;
    f.kind = o.kind;
    f.at_ms = world_.start_time_ms() + o.at_ms;
    f.until_ms = world_.start_time_ms() + (o.until_ms ? *o.until_ms : rel_now()) + 2 * node_timeout_ms();
    for (const TimelineEvent& ev : world_.timeline()) {
      if (ev.t_ms >= o.at_ms && ev.kind == TraceKind::promoted && ev.about == o.node) f.failed_over = true;
    }
    out.push_back(f);
  }
  for (FaultRecord& f : self_exits()) out.push_back(std::move(f));
  return out;
}

// A node that exited by itself (not a crash/kill step of the run): e.g. redis-server's exit(1)
// when nodes.conf cannot be saved (clusterSaveConfigOrDie) after a disk-fault step. For the
// lost-write attribution it is a crash at the time it exited.
std::vector<FaultRecord> Run::self_exits() const {
  std::vector<FaultRecord> out;
  const auto tl = world_.timeline();
  for (const TimelineEvent& ev : tl) {
    if (ev.kind != TraceKind::crashed || ev.detail.rfind("shutdown, exit code ", 0) != 0 || ev.detail == "shutdown, exit code 0")
      continue;
    FaultRecord f;
    f.endpoint = world_.endpoint(ev.node);
    f.node = ev.node;
    f.kind = "crash";
    f.at_ms = world_.start_time_ms() + ev.t_ms;
    for (const TimelineEvent& later : tl)
      if (later.t_ms >= ev.t_ms && later.kind == TraceKind::promoted && later.about == ev.node) f.failed_over = true;
    out.push_back(f);
  }
  return out;
}

// No replica was promoted during the run (automatic or manual failover): what a fault shorter
// than the node timeout (a flapping link, a short pause) must not cause.
CheckResult Run::check_no_failover() const {
  CheckResult c;
  c.name = "no-failover";
  c.passed = true;
  for (const TimelineEvent& ev : world_.timeline()) {
    if (ev.kind != TraceKind::promoted) continue;
    c.passed = false;
    c.detail = fmt::format("{} was promoted to primary at {} ms (replacing {})", ev.node, ev.t_ms - world_.start_time_ms(),
                           ev.about.empty() ? "?" : ev.about);
    return c;
  }
  c.detail = "no replica was promoted";
  return c;
}

Result<void> Run::fault_step(const Step& st, const std::string& node, StepOutcome& out) {
  // A disk fault may make the node exit (nodes.conf cannot be saved): remember what it serves, as
  // for a crash, so that failed-over and the failover record know.
  if (st.action == "disk-fault" && !node.empty() && world_.running(node)) remember_primary_slots(node);
  FaultStepEnv env{world_, pool_, opt_.command_timeout_ms, [this](const std::string& sel) { return resolve(sel); }, members_};
  auto r = run_fault_step(st, node, env, out);
  if (r && st.action == "set-config" && st.config_name == "cluster-node-timeout") {
    Millis v = std::stoll(st.config_value);
    node_timeout_override_ms_ = std::max(node_timeout_override_ms_.value_or(0), v);
  }
  if (!node.empty()) last_node_ = node;
  return r;
}

// Every acknowledged write of every workload so far must be readable (unknown-outcome writes may
// be present or absent); a loss is acceptable only when a fault of the run explains it.
CheckResult Run::check_acknowledged_writes() {
  CheckResult c;
  c.name = "acknowledged-writes";
  std::vector<OpRecord> history;
  for (const auto& [name, wl] : workloads_) history.insert(history.end(), wl->history().begin(), wl->history().end());
  LostWriteReport rep = check_lost_writes(world_, running_endpoints(), history, faults(), 60000);
  c.passed = rep.passed();
  c.detail = fmt::format("{} acknowledged, {} present, {} lost ({} permitted by the spec, {} unexplained), {} unreadable, "
                         "{} unknown-outcome ({} present)",
                         rep.acknowledged, rep.present, rep.lost, rep.lost_permitted, rep.lost_unexplained, rep.unreadable,
                         rep.unknown, rep.unknown_present);
  if (!rep.losses.empty()) {
    const LostWrite& l = rep.losses.front();
    c.detail += fmt::format("; e.g. {} acknowledged by {}:{} at {} ms: {}", l.key, l.acked_by.ip, l.acked_by.port,
                            l.acked_ms - world_.start_time_ms(), l.found.empty() ? "missing" : "holds " + l.found);
  }
  last_lost_ = std::move(rep);
  return c;
}

std::vector<CheckResult> Run::run_checks(const std::vector<std::string>& names) {
  std::vector<CheckResult> out = run_named_checks(names, observe_running());
  if (std::find(names.begin(), names.end(), "acknowledged-writes") != names.end()) out.push_back(check_acknowledged_writes());
  if (std::find(names.begin(), names.end(), "no-failover") != names.end()) out.push_back(check_no_failover());
  return out;
}

bool Run::stop_workloads(Millis timeout_ms) {
  for (auto& [name, wl] : workloads_) wl->stop();
  return world_.run_until(
      [this] {
        for (const auto& [name, wl] : workloads_)
          if (!wl->idle()) return false;
        return true;
      },
      world_.now_ms() + timeout_ms);
}

Result<void> Run::workload_step(const Step& st, StepOutcome& out) {
  if (st.action == "stop-workload") {
    auto it = workloads_.find(st.workload);
    if (it == workloads_.end()) return make_error(Errc::state, fmt::format("{}: no workload named '{}'", st.path, st.workload));
    Workload& wl = *it->second;
    wl.stop();
    if (!world_.run_until([&wl] { return wl.idle(); }, world_.now_ms() + 30000)) {
      return make_error(Errc::timeout, fmt::format("{}: workload '{}' still has operations in flight after 30 s", st.path, st.workload));
    }
    out.detail = fmt::format("{}: {} writes, {} ok, {} failed, {} unknown", st.workload, wl.history().size(),
                             wl.count(CommandOutcome::Kind::ok), wl.count(CommandOutcome::Kind::failed),
                             wl.count(CommandOutcome::Kind::unknown));
    return {};
  }
  WorkloadOptions o;
  o.name = st.workload;
  o.key_prefix = st.workload;
  o.clients = static_cast<int>(st.clients);
  o.value_bytes = static_cast<int>(st.value_bytes);
  o.think_ms = st.action == "load-keys" ? 0 : st.think_ms;
  if (st.action == "load-keys") o.max_ops = static_cast<std::uint64_t>(st.count);
  auto wl = std::make_unique<Workload>(world_, running_endpoints(), o);
  Workload& ref = *wl;
  workloads_[st.workload] = std::move(wl);
  ref.start();
  if (st.action == "start-workload") {
    out.detail = fmt::format("{}: {} clients writing unique keys", st.workload, o.clients);
    return {};
  }
  bool done = world_.run_until([&ref] { return !ref.running() && ref.idle(); }, world_.now_ms() + st.timeout_ms);
  std::size_t ok = ref.count(CommandOutcome::Kind::ok);
  out.detail = fmt::format("{} of {} keys written ({} failed, {} unknown)", ok, st.count, ref.count(CommandOutcome::Kind::failed),
                           ref.count(CommandOutcome::Kind::unknown));
  if (!done) {
    ref.stop();
    return make_error(Errc::timeout, fmt::format("{}: loading {} keys did not finish within {} ms: {}", st.path, st.count,
                                                 st.timeout_ms, out.detail));
  }
  if (ok != static_cast<std::size_t>(st.count)) {
    return make_error(Errc::state, fmt::format("{}: {}", st.path, out.detail));
  }
  return {};
}

void Run::summarize_workloads(RunResult& r) {
  for (const auto& [name, wl] : workloads_) {
    WorkloadSummary s;
    s.name = name;
    s.writes = wl->history().size();
    s.ok = wl->count(CommandOutcome::Kind::ok);
    s.failed = wl->count(CommandOutcome::Kind::failed);
    s.unknown = wl->count(CommandOutcome::Kind::unknown);
    // Availability: the longest stretch during which every completed write failed.
    Millis first_fail = -1;
    for (const OpRecord& op : wl->history()) {
      if (op.outcome == CommandOutcome::Kind::ok) {
        if (first_fail >= 0) s.longest_error_window_ms = std::max(s.longest_error_window_ms, op.end_ms - first_fail);
        first_fail = -1;
      } else if (first_fail < 0 && op.end_ms > 0) {
        first_fail = op.end_ms;
      }
    }
    r.workloads.push_back(s);
    for (const OpRecord& op : wl->history()) {
      if (op.end_ms <= 0) continue;  // never completed
      std::string err = op.error.substr(0, op.error.find(' '));
      r.client_ops.push_back({op.start_ms - world_.start_time_ms(), op.end_ms - world_.start_time_ms(),
                              static_cast<std::uint8_t>(op.outcome), err});
    }
  }
  if (last_lost_) {
    LostWritesSummary l;
    l.acknowledged = last_lost_->acknowledged;
    l.present = last_lost_->present;
    l.lost = last_lost_->lost;
    l.lost_permitted = last_lost_->lost_permitted;
    l.lost_unexplained = last_lost_->lost_unexplained;
    l.unreadable = last_lost_->unreadable;
    l.unknown = last_lost_->unknown;
    l.unknown_present = last_lost_->unknown_present;
    l.by_cause = last_lost_->by_cause;
    l.failed = last_lost_->failed;
    for (const LostWrite& w : last_lost_->losses) {
      if (l.losses.size() >= LostWritesSummary::kMaxLossesReported) break;
      LostWrite c = w;
      c.acked_ms -= world_.start_time_ms();
      c.acked_by_node = name_of_endpoint(w.acked_by);
      l.losses.push_back(std::move(c));
    }
    r.lost_writes = l;
  }
}

Result<std::string> Run::resolve(const std::string& selector) {
  if (selector == "@last") {
    if (last_node_.empty()) return make_error(Errc::invalid_argument, "@last used before any step targeted a node");
    return last_node_;
  }
  if (selector.rfind("replica-of:", 0) == 0) {
    // The lowest-numbered running node of the cluster that says it replicates the selected primary.
    auto primary = resolve(selector.substr(11));
    if (!primary) return primary.error();
    std::string pid = world_.node_id(*primary);
    std::map<std::string, std::string> replica_of;  // endpoint -> primary id
    for (const auto& o : observe_running(false)) {
      const NodeLine* me = o.myself();
      if (me != nullptr && me->is_replica()) replica_of[o.endpoint.str()] = me->primary_id;
    }
    for (const auto& n : world_.node_names()) {
      auto it = replica_of.find(world_.endpoint(n).str());
      if (it != replica_of.end() && it->second == pid) {
        replica_seen_[*primary] = n;
        return n;
      }
    }
    // None running: the replica this selector named last time, if it is down now (so that a
    // restart step can bring back a replica a kill step took away).
    if (auto it = replica_seen_.find(*primary); it != replica_seen_.end() && !world_.running(it->second)) return it->second;
    return make_error(Errc::state, fmt::format("no running node replicates {} ({})", *primary, selector));
  }
  if (selector[0] == 'n') {
    int idx = std::stoi(selector.substr(1));
    const auto& names = world_.node_names();
    if (idx < 1 || idx > static_cast<int>(names.size()))
      return make_error(Errc::invalid_argument, fmt::format("node {} does not exist", selector));
    return names[static_cast<std::size_t>(idx - 1)];
  }
  if (selector.rfind("primary-of-slot:", 0) == 0) {
    int slot = std::stoi(selector.substr(16));
    // Ask the running nodes who serves the slot; take the answer of the node that claims it.
    for (const auto& o : observe_running()) {
      const NodeLine* me = o.myself();
      if (me == nullptr || !me->is_primary()) continue;
      for (auto [a, b] : me->slots)
        if (slot >= a && slot <= b) return name_of_endpoint(o.endpoint);
    }
    return make_error(Errc::state, fmt::format("no running primary claims slot {}", slot));
  }
  return make_error(Errc::invalid_argument, fmt::format("bad node selector '{}'", selector));
}

bool Run::condition_holds(const std::string& cond, const std::string& node, std::string& why) {
  auto obs = observe_running(/*with_replication=*/cond == "replicas-in-sync");
  if (cond == "healthy") {
    for (auto* check : {check_all_reachable, check_state_ok, check_agreement, check_slot_coverage}) {
      CheckResult c = check(obs);
      if (!c.passed) {
        why = c.detail;
        return false;
      }
    }
    return true;
  }
  if (cond == "cluster-down") {
    // Every running node of the cluster answers and reports cluster_state:fail (for instance
    // because a whole shard is gone and cluster-require-full-coverage is yes).
    int n = 0;
    for (const auto& o : obs) {
      if (!o.reachable) continue;
      ++n;
      auto it = o.cluster_info.find("cluster_state");
      if (it == o.cluster_info.end() || it->second != "fail") {
        why = fmt::format("{} reports cluster_state:{}", o.endpoint.str(), it == o.cluster_info.end() ? "?" : it->second);
        return false;
      }
    }
    if (n == 0) why = "no node reachable";
    return n > 0;
  }
  if (cond == "no-orphaned-primary") {
    // In every running node's view, every primary that serves slots has a replica that is not
    // flagged fail or pfail, and that replica is in fact running (so a replica just killed, not
    // yet detected, does not count).
    std::set<std::string> running_ids;
    for (const auto& n : world_.node_names())
      if (world_.running(n)) running_ids.insert(world_.node_id(n));
    for (const auto& o : obs) {
      if (!o.reachable) {
        why = fmt::format("{} unreachable: {}", o.endpoint.str(), o.error);
        return false;
      }
      for (const auto& p : o.nodes) {
        if (!p.is_primary() || p.slots.empty() || p.has_flag("fail")) continue;
        bool has = false;
        for (const auto& r : o.nodes)
          if (r.is_replica() && r.primary_id == p.id && !r.has_flag("fail") && !r.has_flag("pfail") && running_ids.count(r.id) != 0)
            has = true;
        if (!has) {
          why = fmt::format("{} sees primary {} without a working replica", o.endpoint.str(), name_of_endpoint_or_id(p));
          return false;
        }
      }
    }
    return true;
  }
  if (cond == "replicas-in-sync") {
    for (const auto& o : obs) {
      if (!o.reachable) {
        why = fmt::format("{} unreachable: {}", o.endpoint.str(), o.error);
        return false;
      }
      const NodeLine* me = o.myself();
      if (me != nullptr && me->is_replica()) {
        auto it = o.replication.find("master_link_status");
        if (it == o.replication.end() || it->second != "up") {
          why = fmt::format("{} master_link_status:{}", o.endpoint.str(), it == o.replication.end() ? "?" : it->second);
          return false;
        }
      }
    }
    return !obs.empty();
  }
  if (cond == "failed-over") {
    // Every slot the node served when it crashed is now claimed by another primary, in the view
    // of every running node, and that primary claims it itself.
    auto it = slots_at_crash_.find(node);
    if (it == slots_at_crash_.end() || it->second.empty()) {
      why = fmt::format("{} served no slots when it failed", node);
      return false;
    }
    std::string failed_id = world_.node_id(node);
    for (const auto& o : obs) {
      if (!o.reachable) {
        why = fmt::format("{} unreachable", o.endpoint.str());
        return false;
      }
      for (auto [a, b] : it->second) {
        for (const auto& n : o.nodes) {
          if (n.id != failed_id || !n.is_primary()) continue;
          for (auto [x, y] : n.slots) {
            if (!(y < a || x > b)) {
              why = fmt::format("{} still sees {} serving slots {}-{}", o.endpoint.str(), node, x, y);
              return false;
            }
          }
        }
        bool covered = false;
        for (const auto& n : o.nodes) {
          if (n.id == failed_id || !n.is_primary()) continue;
          for (auto [x, y] : n.slots)
            if (x <= a && y >= b) covered = true;
        }
        if (!covered) {
          why = fmt::format("{} sees no new owner for slots {}-{}", o.endpoint.str(), a, b);
          return false;
        }
      }
    }
    return true;
  }
  if (cond == "is-replica") {
    std::string id = world_.node_id(node);
    std::string primary;
    for (const auto& o : obs) {
      if (!(o.endpoint == world_.endpoint(node))) continue;
      const NodeLine* me = o.myself();
      if (!o.reachable || me == nullptr) {
        why = fmt::format("{} unreachable", node);
        return false;
      }
      if (!me->is_replica()) {
        why = fmt::format("{} says it is {}", node, me->is_primary() ? "a primary" : "neither primary nor replica");
        return false;
      }
      primary = me->primary_id;
    }
    if (primary.empty()) {
      why = fmt::format("{} is not running", node);
      return false;
    }
    for (const auto& o : obs) {
      if (!o.reachable) continue;
      bool ok = false;
      for (const auto& n : o.nodes) {
        if (n.id == id && n.is_replica() && n.primary_id == primary && !n.has_flag("fail")) ok = true;
      }
      if (!ok) {
        why = fmt::format("{} does not see {} as a healthy replica of {}", o.endpoint.str(), node, primary);
        return false;
      }
    }
    return true;
  }
  why = "unknown condition " + cond;
  return false;
}

Result<void> Run::wait_until(const Step& st, const std::string& node, StepOutcome& out) {
  Millis deadline = world_.now_ms() + st.timeout_ms;
  std::string why;
  while (true) {
    if (condition_holds(st.condition, node, why)) {
      out.detail = fmt::format("{}{} after {} ms", st.condition, node.empty() ? "" : " " + node, rel_now() - out.start_ms);
      return {};
    }
    if (world_.now_ms() >= deadline) {
      return make_error(Errc::timeout, fmt::format("{}: '{}{}' not reached within {} ms: {}", st.path, st.condition,
                                                   node.empty() ? "" : " " + node, st.timeout_ms, why));
    }
    Millis poll = opt_.poll_interval_ms > 0 ? opt_.poll_interval_ms : world_.poll_interval_ms();
    world_.wait_for_change(std::min(world_.now_ms() + poll, deadline));
  }
}

Result<void> Run::do_step(const Step& st, StepOutcome& out) {
  std::string node;
  if (!st.node.empty()) {
    auto r = resolve(st.node);
    if (!r) return make_error(r.error().code, fmt::format("{}.node: {}", st.path, r.error().message));
    node = *r;
    out.node = node;
  }
  if (st.action == "create") {
    std::vector<Endpoint> eps;
    int n = sc_.topology.primaries * (1 + sc_.topology.replicas);
    for (int i = 0; i < n; ++i) eps.push_back(world_.endpoint(world_.node_names()[static_cast<std::size_t>(i)]));
    AdminContext ctx{pool_, [this] { return world_.random(); }, &out.log, opt_.command_timeout_ms, 60000};
    auto plan = create_cluster(ctx, eps, sc_.topology.replicas);
    if (!plan) return make_error(plan.error().code, fmt::format("{}: create failed: {}", st.path, plan.error().message));
    out.detail = fmt::format("{} primaries, {} replicas", plan->primaries.size(), plan->replicas.size());
    for (int i = 0; i < n; ++i) members_.insert(world_.node_names()[static_cast<std::size_t>(i)]);
    return {};
  }
  if (is_fault_action(st.action)) return fault_step(st, node, out);
  if (is_admin_action(st.action)) {
    AdminStepEnv env{world_, pool_, opt_.command_timeout_ms, [this](const std::string& s) { return resolve(s); }, members_};
    auto res = run_admin_step(st, node, env, out);
    if (res && st.action == "set-timeout")
      node_timeout_override_ms_ = std::max(node_timeout_override_ms_.value_or(0), st.admin.ms);
    return res;
  }
  if (st.action == "wait-until") return wait_until(st, node, out);
  if (st.action == "sleep") {
    world_.sleep_ms(st.duration_ms);
    out.detail = fmt::format("slept {} ms", st.duration_ms);
    return {};
  }
  if (st.action == "load-keys" || st.action == "start-workload" || st.action == "stop-workload") return workload_step(st, out);
  if (st.action == "pause" || st.action == "resume") {
    if (st.action == "pause") {
      remember_primary_slots(node);
      if (auto r = world_.pause(node); !r) return make_error(r.error().code, st.path + ": " + r.error().message);
      outages_.push_back({node, "pause", rel_now(), std::nullopt});
      if (!slots_at_crash_[node].empty()) crashes_.push_back({node, world_.node_id(node), rel_now(), slots_at_crash_[node]});
      out.detail = fmt::format("{} paused (SIGSTOP)", node);
    } else {
      if (auto r = world_.resume(node); !r) return make_error(r.error().code, st.path + ": " + r.error().message);
      for (Outage& o : outages_)
        if (o.node == node && o.kind == "pause" && !o.until_ms) o.until_ms = rel_now();
      out.detail = fmt::format("{} resumed (SIGCONT)", node);
    }
    last_node_ = node;
    return {};
  }
  if (st.action == "partition") {
    std::vector<std::vector<std::string>> groups;
    for (const auto& g : st.groups) {
      std::vector<std::string> names;
      for (const auto& sel : g) {
        auto r = resolve(sel);
        if (!r) return make_error(r.error().code, fmt::format("{}.groups: {}", st.path, r.error().message));
        names.push_back(*r);
      }
      groups.push_back(std::move(names));
    }
    // The minority side: every group but the largest (one way: the first group).
    std::size_t largest = 0;
    for (std::size_t g = 1; g < groups.size(); ++g)
      if (groups[g].size() > groups[largest].size()) largest = g;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (st.one_way ? g != 0 : g == largest) continue;
      for (const auto& n : groups[g]) {
        out.affected.push_back(n);
        remember_primary_slots(n);
        outages_.push_back({n, "partition", rel_now(), std::nullopt});
        if (!slots_at_crash_[n].empty()) crashes_.push_back({n, world_.node_id(n), rel_now(), slots_at_crash_[n]});
      }
    }
    if (auto r = world_.partition(groups, st.one_way); !r) return make_error(r.error().code, st.path + ": " + r.error().message);
    std::string desc;
    for (const auto& g : groups) {
      std::string names;
      for (const auto& n : g) names += (names.empty() ? "" : ",") + n;
      desc += (desc.empty() ? "" : (st.one_way ? " -/-> " : " | ")) + names;
    }
    out.detail = "partitioned " + desc;
    return {};
  }
  if (st.action == "heal") {
    if (auto r = world_.heal(); !r) return make_error(r.error().code, st.path + ": " + r.error().message);
    for (Outage& o : outages_)
      if (o.kind == "partition" && !o.until_ms) o.until_ms = rel_now();
    out.detail = "every link restored";
    return {};
  }
  if (st.action == "failover") {
    // CLUSTER FAILOVER [FORCE|TAKEOVER] sent to a replica, as an operator does from redis-cli;
    // then a bounded wait until the node says it is a primary.
    RespConnection& c = pool_.get(world_.endpoint(node));
    std::vector<std::string> cmd{"CLUSTER", "FAILOVER"};
    if (st.how != "default") cmd.push_back(to_upper(st.how));
    auto reply = c.call(cmd, opt_.command_timeout_ms);
    if (!reply) return make_error(reply.error().code, fmt::format("{}: {}: {}", st.path, node, reply.error().message));
    if (reply->is_error()) return make_error(Errc::state, fmt::format("{}: {} answered {}", st.path, node, reply->describe()));
    last_node_ = node;
    Millis deadline = world_.now_ms() + st.timeout_ms;
    std::string why;
    while (true) {
      for (const auto& o : observe_running(false)) {
        if (!(o.endpoint == world_.endpoint(node))) continue;
        const NodeLine* me = o.myself();
        if (me != nullptr && me->is_primary()) {
          out.detail = fmt::format("{} is a primary {} ms after CLUSTER FAILOVER{}", node, rel_now() - out.start_ms,
                                   st.how == "default" ? "" : " " + to_upper(st.how));
          return {};
        }
        why = o.reachable ? fmt::format("{} is still a replica", node) : fmt::format("{} unreachable: {}", node, o.error);
      }
      if (world_.now_ms() >= deadline) {
        return make_error(Errc::timeout, fmt::format("{}: {} not promoted within {} ms: {}", st.path, node, st.timeout_ms, why));
      }
      world_.wait_for_change(std::min(world_.now_ms() + world_.poll_interval_ms(), deadline));
    }
  }
  if (st.action == "check") {
    auto results = run_checks(st.checks);
    bool ok = true;
    std::string failed;
    for (const auto& c : results) {
      if (!c.passed) {
        ok = false;
        failed += (failed.empty() ? "" : "; ") + c.name + ": " + c.detail;
      }
    }
    out.detail = ok ? fmt::format("{} checks passed", results.size()) : failed;
    if (!ok) return make_error(Errc::state, fmt::format("{}: {}", st.path, failed));
    return {};
  }
  if (st.action == "crash" || st.action == "kill") {
    if (!world_.running(node)) return make_error(Errc::state, fmt::format("{}: {} is not running", st.path, node));
    // Remember what it served, for the failed-over condition and the failover record.
    for (const auto& o : observe_running()) {
      if (!(o.endpoint == world_.endpoint(node))) continue;
      if (const NodeLine* me = o.myself(); me != nullptr && me->is_primary()) slots_at_crash_[node] = me->slots;
    }
    last_node_ = node;
    crashes_.push_back({node, world_.node_id(node), rel_now(), slots_at_crash_[node]});
    if (st.action == "crash") {
      // DEBUG SEGFAULT as the operator sends it: no reply comes back, the process dies.
      RespConnection& c = pool_.get(world_.endpoint(node));
      if (auto r = c.ensure_connected(opt_.command_timeout_ms); !r) return make_error(r.error().code, st.path + ": " + r.error().message);
      // The node stops serving (bus and clients) the moment it executes DEBUG SEGFAULT, so the
      // crash is timed from here, as the simulator's instant crash is. redis-server then spends
      // ~1 s writing its bug report before the process is gone; timing from the exit would make
      // its failovers look ~1 s faster than they are.
      crashes_.back().at_ms = rel_now();
      c.send({"DEBUG", "SEGFAULT"});
      if (!world_.wait_for_exit(node, 10000)) {
        auto reply = c.read_reply(100);
        return make_error(Errc::state, fmt::format("{}: {} did not crash after DEBUG SEGFAULT{}", st.path, node,
                                                   reply ? ": it answered " + reply->describe() : ""));
      }
      pool_.drop(world_.endpoint(node));
      out.detail = fmt::format("{} crashed by DEBUG SEGFAULT", node);
    } else {
      if (auto r = world_.kill(node); !r) return make_error(r.error().code, st.path + ": " + r.error().message);
      pool_.drop(world_.endpoint(node));
      out.detail = fmt::format("{} killed (SIGKILL)", node);
      crashes_.back().at_ms = rel_now();
    }
    return {};
  }
  if (st.action == "restart") {
    if (world_.running(node)) return make_error(Errc::state, fmt::format("{}: {} is already running", st.path, node));
    if (auto r = world_.restart(node); !r) return make_error(r.error().code, st.path + ": " + r.error().message);
    last_node_ = node;
    pool_.drop(world_.endpoint(node));
    out.detail = fmt::format("{} restarted", node);
    return {};
  }
  return make_error(Errc::invalid_argument, fmt::format("{}: unknown action {}", st.path, st.action));
}

void Run::build_failovers(RunResult& r) {
  for (const CrashInfo& c : crashes_) {
    if (c.slots.empty()) continue;  // not a primary: no failover expected
    FailoverRecord f;
    f.failed_node = c.node;
    f.failed_id = c.id;
    f.crash_at_ms = c.at_ms;
    Millis end = INT64_MAX;
    // Until the same node's next fault (several nodes may fail at once: a partition, a shard).
    for (const CrashInfo& later : crashes_)
      if (later.node == c.node && later.at_ms > c.at_ms) end = std::min(end, later.at_ms);
    std::map<std::string, bool> state_ok;  // per node: latest cluster state
    for (const auto& ev : r.timeline) {
      if (ev.t_ms < c.at_ms) {
        if (ev.kind == TraceKind::state_changed) state_ok[ev.node] = ev.value == 1;
        continue;
      }
      if (ev.t_ms >= end) break;
      Millis dt = ev.t_ms - c.at_ms;
      bool about_failed = ev.about == c.node;
      if (ev.kind == TraceKind::pfail_marked && about_failed && !f.first_pfail_ms) f.first_pfail_ms = dt;
      if (ev.kind == TraceKind::fail_marked && about_failed && !f.fail_ms) f.fail_ms = dt;
      if (ev.kind == TraceKind::election_started && about_failed && !f.election_start_ms) f.election_start_ms = dt;
      if (ev.kind == TraceKind::auth_ack_received && f.election_start_ms && !f.promotion_ms) ++f.votes;
      if (ev.kind == TraceKind::promoted && about_failed && !f.promotion_ms) {
        f.promotion_ms = dt;
        f.promoted_node = ev.node;
        f.promoted_id = world_.node_id(ev.node);
        f.new_config_epoch = ev.epoch;
      }
      if (ev.kind == TraceKind::state_changed) state_ok[ev.node] = ev.value == 1;
      if (f.promotion_ms && !f.all_ok_ms && ev.kind == TraceKind::state_changed) {
        bool all = true;
        for (const auto& n : world_.node_names()) {
          if (n == c.node) continue;  // the crashed node is down (or restarting)
          if (!members_.empty() && members_.count(n) == 0) continue;  // not in the cluster (a spare)
          auto it = state_ok.find(n);
          if (it == state_ok.end() || !it->second) all = false;
        }
        if (all) f.all_ok_ms = dt;
      }
    }
    r.failovers.push_back(f);
  }
}

RunResult Run::go() {
  RunResult r;
  r.scenario = sc_.name;
  r.seed = rng_seed_;
  r.world = world_.kind();
  r.params = sc_.params;
  for (const Step& st : sc_.steps) {
    if (!world_.supports(st.action)) {
      r.aborted = true;
      r.failure = fmt::format("{}: the {} world cannot perform '{}' steps; nothing was started", st.path, world_.kind(), st.action);
      r.timeline = world_.timeline();
      return r;
    }
  }
  if (auto s = world_.start(sc_.topology); !s) {
    r.aborted = true;
    r.failure = "starting the nodes failed: " + s.error().message;
  } else {
    for (std::size_t i = 0; i < sc_.steps.size(); ++i) {
      const Step& st = sc_.steps[i];
      StepOutcome out;
      out.index = i;
      out.action = st.action;
      out.label = st.label;
      out.start_ms = rel_now();
      auto res = do_step(st, out);
      out.duration_ms = rel_now() - out.start_ms;
      out.ok = res.ok();
      if (!res) out.detail = res.error().message;
      r.steps.push_back(out);
      if (!res) {
        r.aborted = true;
        r.failure = res.error().message;
        break;
      }
    }
  }
  if (!r.aborted) {
    if (!stop_workloads(30000)) {
      r.aborted = true;
      r.failure = "workloads still had operations in flight 30 s after the last step";
    } else {
      r.checks = run_checks(sc_.final_checks);
    }
  }
  summarize_workloads(r);
  r.timeline = world_.timeline();
  r.trace_hash = world_.trace_hash();
  r.world_time_ms = rel_now();
  // Nodes that exited by themselves (a disk fault: nodes.conf could not be saved) get a failover
  // record too, when the harness knew what they served (disk-fault steps remember it).
  for (const FaultRecord& f : self_exits()) {
    auto it = slots_at_crash_.find(f.node);
    if (it == slots_at_crash_.end() || it->second.empty()) continue;
    crashes_.push_back({f.node, world_.node_id(f.node), f.at_ms - world_.start_time_ms(), it->second});
  }
  std::stable_sort(crashes_.begin(), crashes_.end(), [](const CrashInfo& a, const CrashInfo& b) { return a.at_ms < b.at_ms; });
  build_failovers(r);
  {
    auto cov = sc_.topology.config.find("cluster-require-full-coverage");
    analyse_run(r, node_timeout_ms(), sc_.topology.replicas, sc_.topology.primaries * (1 + sc_.topology.replicas),
                cov == sc_.topology.config.end() || cov->second == "yes");
    if (!r.aborted && std::find(sc_.final_checks.begin(), sc_.final_checks.end(), "liveness") != sc_.final_checks.end())
      r.checks.push_back({"liveness", r.liveness.passed, r.liveness.detail});
  }
  r.passed = !r.aborted && std::all_of(r.checks.begin(), r.checks.end(), [](const CheckResult& c) { return c.passed; });
  if (!r.passed && r.failure.empty()) {
    for (const auto& c : r.checks)
      if (!c.passed) {
        r.failure = c.name + ": " + c.detail;
        break;
      }
  }
  world_.stop_all();
  return r;
}

nlohmann::json opt_ms(const std::optional<Millis>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

RunResult run_scenario(const Scenario& scenario, World& world, std::uint64_t seed, const RunOptions& options) {
  Run run(scenario, world, seed, options);
  return run.go();
}

nlohmann::json to_json(const RunResult& r, bool include_timeline) {
  using nlohmann::json;
  json j;
  j["scenario"] = r.scenario;
  j["seed"] = r.seed;
  j["world"] = r.world;
  if (!r.params.empty()) j["params"] = r.params;
  j["passed"] = r.passed;
  j["failure"] = r.failure.empty() ? json(nullptr) : json(r.failure);
  j["world_time_ms"] = r.world_time_ms;
  j["trace_hash"] = r.trace_hash ? json(fmt::format("{:016x}", *r.trace_hash)) : json(nullptr);
  json steps = json::array();
  for (const auto& s : r.steps) {
    json js{{"index", s.index}, {"do", s.action},         {"start_ms", s.start_ms},
            {"duration_ms", s.duration_ms}, {"ok", s.ok}, {"detail", s.detail}};
    if (!s.label.empty()) js["label"] = s.label;
    if (!s.node.empty()) js["node"] = s.node;
    if (!s.log.empty()) js["log"] = s.log;
    steps.push_back(js);
  }
  j["steps"] = steps;
  json checks = json::array();
  for (const auto& c : r.checks) checks.push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
  j["checks"] = checks;
  json fos = json::array();
  for (const auto& f : r.failovers) {
    fos.push_back({{"failed_node", f.failed_node},
                   {"failed_id", f.failed_id},
                   {"promoted_node", f.promoted_node.empty() ? json(nullptr) : json(f.promoted_node)},
                   {"promoted_id", f.promoted_id.empty() ? json(nullptr) : json(f.promoted_id)},
                   {"crash_at_ms", f.crash_at_ms},
                   {"ms_to_first_pfail", opt_ms(f.first_pfail_ms)},
                   {"ms_to_fail", opt_ms(f.fail_ms)},
                   {"ms_to_election", opt_ms(f.election_start_ms)},
                   {"ms_to_promotion", opt_ms(f.promotion_ms)},
                   {"ms_to_all_ok", opt_ms(f.all_ok_ms)},
                   {"ms_to_votes", opt_ms(f.votes_ms)},
                   {"ms_to_clients_ok", opt_ms(f.clients_ok_ms)},
                   {"clients_saw_errors", f.clients_saw_errors},
                   {"votes", f.votes},
                   {"new_config_epoch", f.new_config_epoch}});
  }
  j["failovers"] = fos;
  json wls = json::array();
  for (const auto& w : r.workloads) {
    wls.push_back({{"name", w.name}, {"writes", w.writes}, {"ok", w.ok}, {"failed", w.failed}, {"unknown", w.unknown},
                   {"longest_error_window_ms", w.longest_error_window_ms}});
  }
  j["workloads"] = wls;
  if (r.lost_writes) {
    const LostWritesSummary& l = *r.lost_writes;
    j["lost_writes"] = {{"acknowledged", l.acknowledged}, {"present", l.present}, {"lost", l.lost},
                        {"lost_permitted", l.lost_permitted}, {"lost_unexplained", l.lost_unexplained},
                        {"unreadable", l.unreadable}, {"unknown", l.unknown}, {"unknown_present", l.unknown_present},
                        {"by_cause", l.by_cause}, {"failed", l.failed}};
    json losses = json::array();
    for (const auto& w : l.losses) {
      losses.push_back({{"key", w.key}, {"acked_ms", w.acked_ms}, {"acked_by", w.acked_by_node.empty() ? w.acked_by.str() : w.acked_by_node},
                        {"found", w.found}, {"cause", w.cause}, {"permitted", w.permitted}});
    }
    j["lost_writes"]["losses"] = losses;
  } else {
    j["lost_writes"] = nullptr;
  }
  j["node_timeout_ms"] = r.node_timeout_ms;
  j["faults"] = faults_json(r.faults);
  j["liveness"] = liveness_json(r.liveness);
  j["availability"] = availability_json(r.availability);
  if (include_timeline) {
    json tl = json::array();
    for (const auto& e : r.timeline) {
      json je{{"t_ms", e.t_ms}, {"node", e.node}, {"event", trace_kind_name(e.kind)}};
      if (!e.about.empty()) je["about"] = e.about;
      if (e.epoch != 0) je["epoch"] = e.epoch;
      if (e.value != 0) je["value"] = e.value;
      if (!e.detail.empty()) je["detail"] = e.detail;
      tl.push_back(je);
    }
    j["timeline"] = tl;
  }
  return j;
}

std::string summary_text(const RunResult& r) {
  std::string out = fmt::format("scenario {} (seed {}, {} world): {}\n", r.scenario, r.seed, r.world,
                                r.passed ? "PASSED" : "FAILED");
  if (!r.params.empty()) {
    std::string ps;
    for (auto it = r.params.begin(); it != r.params.end(); ++it) ps += fmt::format("{}{}={}", ps.empty() ? "" : ", ", it.key(), it.value().dump());
    out += "  params (drawn from the seed): " + ps + "\n";
  }
  for (const auto& s : r.steps) {
    out += fmt::format("  [{:>8} ms +{:>6} ms] {:<11} {}{}{}\n", s.start_ms, s.duration_ms, s.action,
                       s.node.empty() ? "" : s.node + ": ", s.ok ? "" : "FAILED: ", s.detail);
  }
  for (const auto& c : r.checks) out += fmt::format("  check {:<18} {} {}\n", c.name, c.passed ? "ok  " : "FAIL", c.detail);
  for (const auto& f : r.failovers) {
    auto ms = [](const std::optional<Millis>& v) { return v ? fmt::format("{} ms", *v) : std::string("-"); };
    out += fmt::format("  failover of {}: first PFAIL {}, FAIL {}, election {}, promotion of {} {}, all ok {}\n",
                       f.failed_node, ms(f.first_pfail_ms), ms(f.fail_ms), ms(f.election_start_ms),
                       f.promoted_node.empty() ? "?" : f.promoted_node, ms(f.promotion_ms), ms(f.all_ok_ms));
  }
  for (const auto& w : r.workloads) {
    out += fmt::format("  workload {}: {} writes, {} ok, {} failed, {} unknown; longest error window {} ms\n", w.name, w.writes,
                       w.ok, w.failed, w.unknown, w.longest_error_window_ms);
  }
  if (r.lost_writes) {
    const LostWritesSummary& l = *r.lost_writes;
    out += fmt::format("  lost writes: {} of {} acknowledged ({} permitted by the spec, {} unexplained), {} unreadable\n", l.lost,
                       l.acknowledged, l.lost_permitted, l.lost_unexplained, l.unreadable);
  }
  if (!r.failure.empty()) out += "  failure: " + r.failure + "\n";
  if (r.trace_hash) out += fmt::format("  trace hash {:016x}, {} ms of world time\n", *r.trace_hash, r.world_time_ms);
  return out;
}

std::string report_markdown(const RunResult& r, const std::string& scenario_description) {
  auto ms = [](const std::optional<Millis>& v) { return v ? fmt::format("{}", *v) : std::string("-"); };
  auto cell = [](std::string s) {
    for (auto& ch : s)
      if (ch == '|' || ch == '\n') ch = ' ';
    return s;
  };
  std::string out = fmt::format("# {} (seed {}, {} world): {}\n\n", r.scenario, r.seed, r.world, r.passed ? "PASSED" : "FAILED");
  if (!scenario_description.empty()) out += scenario_description + "\n\n";
  out += fmt::format("World time {} ms, wall-clock time {} ms", r.world_time_ms, r.wall_time_ms);
  if (r.trace_hash) out += fmt::format(", trace hash `{:016x}` (same seed, same hash)", *r.trace_hash);
  out += ".\n\n";
  if (!r.failure.empty()) out += "**Failure:** " + cell(r.failure) + "\n\n";
  out += fmt::format("Reproduce: `slotlab run scenarios/{}.json --seed {}{}`\n\n", r.scenario, r.seed,
                     r.world == "sim" ? "" : " --world real");
  out += "## Steps\n\n| # | step | node | start (ms) | duration (ms) | outcome |\n|---|---|---|---|---|---|\n";
  for (const auto& s : r.steps) {
    out += fmt::format("| {} | {}{} | {} | {} | {} | {}{} |\n", s.index, s.action, s.label.empty() ? "" : " — " + cell(s.label),
                       s.node, s.start_ms, s.duration_ms, s.ok ? "" : "**FAILED** ", cell(s.detail));
  }
  out += "\n## Checks\n\n| check | outcome | detail |\n|---|---|---|\n";
  for (const auto& c : r.checks) out += fmt::format("| {} | {} | {} |\n", c.name, c.passed ? "ok" : "**FAIL**", cell(c.detail));
  if (!r.failovers.empty()) {
    out += "\n## Failovers (ms after the crash)\n\n| failed | promoted | first PFAIL | FAIL | election | votes in | promotion | all ok | clients ok | votes | new configEpoch |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& f : r.failovers) {
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", f.failed_node,
                         f.promoted_node.empty() ? "-" : f.promoted_node, ms(f.first_pfail_ms), ms(f.fail_ms),
                         ms(f.election_start_ms), ms(f.votes_ms), ms(f.promotion_ms), ms(f.all_ok_ms),
                         f.clients_saw_errors ? ms(f.clients_ok_ms) : std::string("no errors"), f.votes, f.new_config_epoch);
    }
    out += "\n\"all ok\": every running node reports cluster_state:ok again, which needs every slot served by a "
           "primary it does not consider FAIL, i.e. every node agrees on the new owner. \"clients ok\": the first "
           "client operation served after the last one that failed (among those started after the crash, before the next fault).\n";
  }
  if (!r.workloads.empty()) {
    out += "\n## Workloads\n\n| workload | writes | ok | failed | unknown | longest error window (ms) |\n|---|---|---|---|---|---|\n";
    for (const auto& w : r.workloads)
      out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", w.name, w.writes, w.ok, w.failed, w.unknown, w.longest_error_window_ms);
  }
  if (r.lost_writes) {
    const LostWritesSummary& l = *r.lost_writes;
    out += fmt::format("\n## Lost writes\n\n{} acknowledged writes read back: {} present, {} lost ({} permitted by the "
                       "Redis Cluster spec, {} unexplained), {} unreadable; {} writes with an unknown outcome ({} present).\n",
                       l.acknowledged, l.present, l.lost, l.lost_permitted, l.lost_unexplained, l.unreadable, l.unknown,
                       l.unknown_present);
    for (const auto& [cause, n] : l.by_cause) out += fmt::format("- {}: {}\n", cause, n);
  }
  out += liveness_markdown(r);
  return out;
}

}  // namespace slotlab::harness
