// Admin steps of the scenario runner (see admin_steps.hpp and scenarios/README.md).
#include "harness/admin_steps.hpp"

#include <map>

#include <fmt/format.h>

#include "harness/admin.hpp"

namespace slotlab::harness {

namespace {

class AdminStep {
 public:
  AdminStep(const Step& st, const std::string& node, AdminStepEnv& env, StepOutcome& out)
      : st_(st), node_(node), env_(env), out_(out),
        ctx_{env.pool, [&w = env.world] { return w.random(); }, &out.log, env.command_timeout_ms, 60000} {}

  Result<void> run();

 private:
  Error fail(const Error& e) const { return make_error(e.code, fmt::format("{}: {} failed: {}", st_.path, st_.action, e.message)); }
  Error bad_field(const std::string& field, const std::string& what) const {
    return make_error(Errc::invalid_argument, fmt::format("{}.{}: {}", st_.path, field, what));
  }
  // A selector resolved to a node name; `field` names it in errors.
  Result<std::string> name(const std::string& selector, const std::string& field) {
    auto r = env_.resolve(selector);
    if (!r) return bad_field(field, r.error().message);
    return r;
  }
  Result<std::string> id(const std::string& selector, const std::string& field) {
    auto n = name(selector, field);
    if (!n) return n.error();
    std::string i = env_.world.node_id(*n);
    if (i.empty()) return bad_field(field, fmt::format("{} has no node id (never started?)", *n));
    return i;
  }
  std::string name_of_id(const std::string& id) const {
    for (const auto& n : env_.world.node_names())
      if (env_.world.node_id(n) == id) return n;
    return id.substr(0, 8);
  }
  // The entry node: `via`, or the first running member other than the step's node.
  Result<Endpoint> entry() {
    if (!st_.admin.via.empty()) {
      auto n = name(st_.admin.via, "via");
      if (!n) return n.error();
      if (!env_.world.running(*n)) return bad_field("via", fmt::format("{} is not running", *n));
      return env_.world.endpoint(*n);
    }
    for (const auto& n : env_.world.node_names()) {
      if (n == node_ || env_.members.count(n) == 0 || !env_.world.running(n)) continue;
      return env_.world.endpoint(n);
    }
    return make_error(Errc::state, fmt::format("{}: no running cluster node to connect to (give one with \"via\")", st_.path));
  }

  Result<void> cluster_check(const Endpoint& e);
  Result<void> fix(const Endpoint& e);
  Result<void> reshard(const Endpoint& e);
  Result<void> rebalance(const Endpoint& e);
  Result<void> add_node(const Endpoint& e);
  Result<void> del_node(const Endpoint& e);
  Result<void> call(const Endpoint& e);

  const Step& st_;
  const std::string& node_;
  AdminStepEnv& env_;
  StepOutcome& out_;
  AdminContext ctx_;
};

Result<void> AdminStep::run() {
  auto e = entry();
  if (!e) return e.error();
  const std::string& a = st_.action;
  if (a == "cluster-check") return cluster_check(*e);
  if (a == "cluster-info") {
    auto r = cluster_info(ctx_, *e);
    if (!r) return fail(r.error());
    out_.detail = fmt::format("{} keys in {} primaries", r->keys, r->primaries.size());
    return {};
  }
  if (a == "fix") return fix(*e);
  if (a == "reshard") return reshard(*e);
  if (a == "rebalance") return rebalance(*e);
  if (a == "add-node") return add_node(*e);
  if (a == "del-node") return del_node(*e);
  if (a == "call") return call(*e);
  if (a == "set-timeout") {
    auto r = set_timeout(ctx_, *e, st_.admin.ms);
    if (!r) return fail(r.error());
    out_.detail = fmt::format("cluster-node-timeout {} ms: {} OK, {} ERR{}", st_.admin.ms, r->ok_count, r->err_count,
                              r->errors.empty() ? "" : " (" + r->errors.front() + ")");
    return {};
  }
  return make_error(Errc::invalid_argument, fmt::format("{}: unknown admin action {}", st_.path, a));
}

Result<void> AdminStep::cluster_check(const Endpoint& e) {
  CheckOptions o;
  o.search_multiple_owners = st_.admin.search_multiple_owners;
  auto r = check_cluster(ctx_, e, o);
  if (!r) return fail(r.error());
  if (!r->ok) {
    std::string why;
    for (const auto& err : r->errors) why += (why.empty() ? "" : "; ") + err;
    if (why.empty() && !r->multiple_owners.empty()) why = fmt::format("{} slot(s) with several owners", r->multiple_owners.size());
    out_.detail = why;
    return make_error(Errc::state, fmt::format("{}: cluster-check: {}", st_.path, why));
  }
  out_.detail = fmt::format("[OK] {} nodes agree, all slots covered, no open slots", r->topology.nodes.size());
  return {};
}

Result<void> AdminStep::fix(const Endpoint& e) {
  FixOptions o;
  o.search_multiple_owners = st_.admin.search_multiple_owners;
  o.fix_with_unreachable_masters = st_.admin.fix_with_unreachable_masters;
  o.pipeline = static_cast<int>(st_.admin.pipeline);
  o.timeout_ms = st_.admin.timeout_ms;
  o.replace = st_.admin.replace;
  auto r = fix_cluster(ctx_, e, o);
  if (!r) return fail(r.error());
  out_.detail = fmt::format("{} open slot(s) fixed, {} slot(s) covered, {} multiple-owner slot(s) fixed",
                            r->fixed_open_slots.size(), r->covered_slots.size(), r->fixed_multiple_owners.size());
  if (!r->ok) {
    std::string why;
    for (const auto& err : r->found.errors) why += (why.empty() ? "" : "; ") + err;
    return make_error(Errc::state, fmt::format("{}: fix did not leave a sane cluster: {}", st_.path, why));
  }
  return {};
}

Result<void> AdminStep::reshard(const Endpoint& e) {
  ReshardOptions o;
  for (std::size_t i = 0; i < st_.admin.from.size(); ++i) {
    const std::string& sel = st_.admin.from[i];
    if (sel == "all") {
      o.from.push_back("all");
      continue;
    }
    auto i_d = id(sel, st_.admin.from.size() == 1 ? "from" : fmt::format("from[{}]", i));
    if (!i_d) return i_d.error();
    o.from.push_back(*i_d);
  }
  auto to = id(st_.admin.to, "to");
  if (!to) return to.error();
  o.to = *to;
  o.slots = static_cast<int>(st_.admin.slots);
  o.pipeline = static_cast<int>(st_.admin.pipeline);
  o.timeout_ms = st_.admin.timeout_ms;
  o.replace = st_.admin.replace;
  auto r = harness::reshard(ctx_, e, o);
  if (!r) return fail(r.error());
  std::map<std::string, int> per_source;
  for (const auto& m : r->plan) ++per_source[name_of_id(m.source_id)];
  std::string from;
  for (const auto& [n, c] : per_source) from += fmt::format("{}{} from {}", from.empty() ? "" : ", ", c, n);
  out_.detail = fmt::format("moved {} slot(s) and {} key(s) to {}{}", r->moved, r->keys_moved, name_of_id(o.to),
                            from.empty() ? "" : " (" + from + ")");
  return {};
}

Result<void> AdminStep::rebalance(const Endpoint& e) {
  RebalanceOptions o;
  for (const auto& [sel, w] : st_.admin.weights) {
    auto i = id(sel, "weights." + sel);
    if (!i) return i.error();
    o.weights.emplace_back(*i, static_cast<float>(w));
  }
  o.use_empty_masters = st_.admin.use_empty_masters;
  o.threshold = static_cast<float>(st_.admin.threshold);
  o.simulate = st_.admin.simulate;
  o.pipeline = static_cast<int>(st_.admin.pipeline);
  o.timeout_ms = st_.admin.timeout_ms;
  o.replace = st_.admin.replace;
  auto r = harness::rebalance(ctx_, e, o);
  if (!r) return fail(r.error());
  if (!r->needed) {
    out_.detail = fmt::format("no rebalancing needed (threshold {}%)", st_.admin.threshold);
    return {};
  }
  std::string moves;
  int planned = 0;
  for (const auto& t : r->transfers) {
    moves += fmt::format("{}{} {}->{}", moves.empty() ? "" : ", ", t.slots, name_of_id(t.source_id), name_of_id(t.target_id));
    planned += t.slots;
  }
  out_.detail = fmt::format("{} {} slot(s): {}", o.simulate ? "would move" : "moved", o.simulate ? planned : r->moved, moves);
  return {};
}

Result<void> AdminStep::add_node(const Endpoint& e) {
  AddNodeOptions o;
  if (!st_.admin.replica_of.empty()) {
    o.replica = true;
    if (st_.admin.replica_of != "any") {
      auto i = id(st_.admin.replica_of, "replica-of");
      if (!i) return i.error();
      o.primary_id = *i;
    }
  }
  if (!env_.world.running(node_)) return make_error(Errc::state, fmt::format("{}: {} is not running", st_.path, node_));
  ctx_.join_timeout_ms = 60000;
  auto r = harness::add_node(ctx_, env_.world.endpoint(node_), e, o);
  if (!r) return fail(r.error());
  env_.members.insert(node_);
  out_.detail = o.replica ? fmt::format("{} joined as a replica of {}", node_, name_of_id(r->primary_id))
                          : fmt::format("{} joined as a primary", node_);
  if (r->meets_sent > 1) out_.detail += fmt::format(" (after {} CLUSTER MEETs)", r->meets_sent);
  return {};
}

Result<void> AdminStep::del_node(const Endpoint& e) {
  std::string i = env_.world.node_id(node_);
  if (i.empty()) return bad_field("node", fmt::format("{} has no node id", node_));
  auto r = harness::del_node(ctx_, e, i);
  if (!r) return fail(r.error());
  env_.members.erase(node_);
  out_.detail = fmt::format("{} removed: forgotten by {} node(s)", node_, r->forgets_sent);
  for (const auto& [replica, primary] : r->repointed)
    out_.detail += fmt::format(", {} now replicates {}", name_of_id(replica), name_of_id(primary));
  return {};
}

Result<void> AdminStep::call(const Endpoint& e) {
  CallOptions o;
  o.only_masters = st_.admin.only == "primaries";
  o.only_replicas = st_.admin.only == "replicas";
  auto r = cluster_call(ctx_, e, st_.admin.args, o);
  if (!r) return fail(r.error());
  std::string summary;
  for (const auto& reply : *r) {
    std::string what = reply.answered ? reply.reply.describe() : "Failed!";
    if (what.size() > 60) what = what.substr(0, 57) + "...";
    summary += fmt::format("{}{}: {}", summary.empty() ? "" : "; ", name_of_id(reply.id), what);
  }
  out_.detail = summary;
  return {};
}

}  // namespace

Result<void> run_admin_step(const Step& st, const std::string& node, AdminStepEnv& env, StepOutcome& out) {
  AdminStep step(st, node, env, out);
  return step.run();
}

}  // namespace slotlab::harness
