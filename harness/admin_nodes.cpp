// redis-cli --cluster add-node and del-node.
//
// add-node (clusterManagerCommandAddNode, redis-cli.c L6403):
//  1. load the cluster from the existing node and check it: any problem aborts;
//  2. for a replica, pick its primary now (the given id, or the first primary with the fewest
//     replicas), so that a bad id aborts before the new node is touched;
//  3. the new node: INFO (cluster_enabled:1), CLUSTER NODES (its id), INFO (no "db0:") and
//     CLUSTER INFO (cluster_known_nodes:1): it must be empty;
//  4. for a primary, the cluster's functions: FUNCTION DUMP on the existing node (an error means
//     a server without functions: skipped), FUNCTION LIST on the new one (must be empty), FUNCTION
//     RESTORE there;
//  5. CLUSTER MEET <first node's ip> <port> [<bus port> if not port+10000] on the new node;
//  6. for a replica: one second, wait for the join, CLUSTER REPLICATE <primary>.
// Unlike redis-cli, step 6's wait is bounded and also done for a primary, and it waits for the
// new node itself to be known (not only for the slot configuration to agree): a node that has
// not joined after redis-cli's check period is sent CLUSTER MEET again (the next loaded node each
// time). The add-node of the seed walkthrough reported "[OK] New node added correctly." for a
// node that never joined; here that is an error naming the node and what it answered.
//
// del-node (clusterManagerCommandDeleteNode, L6558): the node must serve no slots; each of its
// replicas is told CLUSTER REPLICATE <the primary with the fewest replicas>, every other node
// CLUSTER FORGET <id>, and the node itself CLUSTER RESET SOFT. Two deliberate differences: the
// node being removed is never picked as the new primary of its own replicas (redis-cli can pick
// it when every primary has as many replicas, and then fails on "Can't forget my master!"), and a
// primary's replica count grows as replicas are re-pointed to it, so they are spread.
#include <fmt/format.h>

#include "harness/admin.hpp"
#include "harness/admin_internal.hpp"
#include "node/strings.hpp"

namespace slotlab::harness {

using namespace admin_detail;

namespace {

// Whether the new node has joined: every loaded node lists it (out of handshake), it lists every
// loaded node, and all agree on the slot configuration (clusterManagerIsConfigConsistent).
// `problem` says what is missing; `strangers` gets the loaded nodes that do not know the new one.
bool joined(AdminContext& ctx, const ClusterTopology& topo, const Endpoint& new_ep, const std::string& new_id,
            std::string& problem, std::vector<const AdminNode*>& strangers) {
  strangers.clear();
  std::string first_sig;
  bool ok = true;
  auto note = [&](std::string p) {
    if (ok) problem = std::move(p);
    ok = false;
  };
  std::vector<Endpoint> all;
  for (const AdminNode& n : topo.nodes) all.push_back(n.endpoint);
  all.push_back(new_ep);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Endpoint& e = all[i];
    auto r = send(ctx, e, {"CLUSTER", "NODES"});
    if (!r || r->is_error()) {
      note(fmt::format("{} did not answer CLUSTER NODES: {}", e.str(), r ? r->str : r.error().message));
      continue;
    }
    std::string sig = config_signature(r->str);
    if (i == 0) {
      first_sig = sig;
    } else if (sig.empty() || sig != first_sig) {
      note(fmt::format("{} does not agree about the slots configuration yet", e.str()));
    }
    auto lines = parse_cluster_nodes(r->str);
    if (!lines) {
      note(fmt::format("{}: {}", e.str(), lines.error().message));
      continue;
    }
    if (e == new_ep) {
      for (const AdminNode& n : topo.nodes) {
        bool known = false;
        for (const NodeLine& l : *lines)
          if (l.id == n.id && !l.has_flag("handshake")) known = true;
        if (!known) note(fmt::format("{} does not know {} ({}) yet", new_ep.str(), n.addr(), n.id));
      }
      continue;
    }
    bool knows_new = false;
    for (const NodeLine& l : *lines) {
      if (l.id == new_id && !l.has_flag("handshake") && !l.has_flag("noaddr")) knows_new = true;
    }
    if (!knows_new) {
      note(fmt::format("{} does not know {} ({}) yet", e.str(), new_ep.str(), new_id));
      strangers.push_back(&topo.nodes[i]);
    }
  }
  return ok;
}

Argv meet_command(const AdminNode& n) {
  Argv meet{"CLUSTER", "MEET", n.endpoint.ip, std::to_string(n.endpoint.port)};
  if (n.bus_port != 0 && n.bus_port != n.endpoint.port + kBusPortIncr) meet.push_back(std::to_string(n.bus_port));
  return meet;
}

Result<void> wait_for_new_node(AdminContext& ctx, const ClusterTopology& topo, const Endpoint& new_ep,
                               const std::string& new_id, AddNodeReport& report) {
  Driver& driver = ctx.pool.driver();
  ctx.say("Waiting for the cluster to join");
  Millis deadline = driver.now_ms() + ctx.join_timeout_ms;
  // redis-cli reports unreachable nodes after this many polls; we re-send CLUSTER MEET then.
  int check_after = 20 + static_cast<int>(static_cast<float>(topo.nodes.size() + 1) * 0.15f);
  int polls = 0;
  std::size_t next_target = 1;  // the first MEET went to nodes[0]
  std::string problem;
  std::string last_meet_answer;
  std::vector<const AdminNode*> strangers;
  while (true) {
    if (joined(ctx, topo, new_ep, new_id, problem, strangers)) return {};
    if (driver.now_ms() >= deadline) {
      std::string msg = fmt::format("node {} ({}) did not join the cluster within {} ms: {}", new_ep.str(), new_id,
                                    ctx.join_timeout_ms, problem);
      if (!last_meet_answer.empty()) msg += fmt::format("; it answered the last CLUSTER MEET with {}", last_meet_answer);
      ctx.say("[ERR] " + msg);
      return make_error(Errc::timeout, msg);
    }
    if (++polls > check_after) {
      // A node that forgot the new one (CLUSTER FORGET, e.g. by an earlier del-node of the same
      // node) ignores gossip about it for 60 s, but accepts a MEET from it: the new node meets every
      // node that does not know it yet, or, when all know it, the next one in turn.
      std::vector<const AdminNode*> targets = strangers;
      if (targets.empty()) targets.push_back(&topo.nodes[next_target++ % topo.nodes.size()]);
      for (const AdminNode* target : targets) {
        ctx.say(fmt::format("Node {} has not joined yet ({}): sending CLUSTER MEET {} {} again", new_ep.str(), problem,
                            target->endpoint.ip, target->endpoint.port));
        auto r = send(ctx, new_ep, meet_command(*target));
        last_meet_answer = r ? r->describe() : r.error().message;
        ++report.meets_sent;
      }
      polls = 0;
    }
    driver.sleep_ms(1000);
  }
}

}  // namespace

Result<AddNodeReport> add_node(AdminContext& ctx, const Endpoint& new_ep, const Endpoint& existing,
                               const AddNodeOptions& options) {
  ctx.say(fmt::format(">>> Adding node {} to cluster {}", new_ep.str(), existing.str()));
  auto topo = load_cluster(ctx, existing);
  if (!topo) return topo.error();
  CheckReport check;
  if (auto r = check_topology(ctx, *topo, false, false, check); !r) return r.error();
  if (!check.ok) {
    return make_error(Errc::state, fmt::format("the cluster at {} does not pass the check: {}", existing.str(),
                                               check.errors.empty() ? "see the check output" : join(check.errors, "; ")));
  }
  const AdminNode* primary = nullptr;
  if (options.replica) {
    if (!options.primary_id.empty()) {
      primary = topo->find(options.primary_id);
      if (primary == nullptr) {
        std::string msg = fmt::format("[ERR] No such master ID {}", options.primary_id);
        ctx.say(msg);
        return make_error(Errc::not_found, msg);
      }
    } else {
      primary = topo->primary_with_fewest_replicas();
      if (primary == nullptr) return make_error(Errc::state, fmt::format("the cluster at {} has no primary", existing.str()));
      ctx.say(fmt::format("Automatically selected master {}", primary->addr()));
    }
  }

  AddNodeReport report;
  if (auto c = ctx.pool.get(new_ep).ensure_connected(ctx.command_timeout_ms); !c) {
    std::string msg = fmt::format("[ERR] Sorry, can't connect to node {}", new_ep.str());
    ctx.say(msg);
    return make_error(c.error().code, msg + ": " + c.error().message);
  }
  auto info = send(ctx, new_ep, {"INFO"});
  if (!info) return info.error();
  if (info->is_error() || parse_info(info->str)["cluster_enabled"] != "1") {
    std::string msg = fmt::format("[ERR] Node {} {}", new_ep.str(), info->is_error() ? info->str : "is not configured as a cluster node.");
    ctx.say(msg);
    return make_error(Errc::state, msg);
  }
  auto nodes_text = send_ok(ctx, new_ep, {"CLUSTER", "NODES"});
  if (!nodes_text) return nodes_text.error();
  auto lines = parse_cluster_nodes(nodes_text->str);
  if (!lines) return make_error(Errc::protocol, fmt::format("Node {}: invalid CLUSTER NODES reply: {}", new_ep.str(), lines.error().message));
  for (const NodeLine& l : *lines)
    if (l.myself()) report.id = l.id;
  // clusterManagerNodeIsEmpty: no keys, and knows nobody.
  auto info2 = send(ctx, new_ep, {"INFO"});
  if (!info2) return info2.error();
  std::string not_empty;
  if (info2->is_error()) {
    not_empty = info2->str;
  } else if (info2->str.find("db0:") != std::string::npos) {
    not_empty = "is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0.";
  } else {
    auto ci = send(ctx, new_ep, {"CLUSTER", "INFO"});
    if (!ci) return ci.error();
    if (ci->is_error()) {
      not_empty = ci->str;
    } else if (parse_info(ci->str)["cluster_known_nodes"] != "1") {
      not_empty = "is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0.";
    }
  }
  if (!not_empty.empty()) {
    std::string msg = fmt::format("[ERR] Node {} {}", new_ep.str(), not_empty);
    ctx.say(msg);
    return make_error(Errc::state, msg);
  }
  const AdminNode& first = topo->nodes[0];

  if (primary == nullptr) {
    // A replica gets the functions from its primary; a primary gets them from the cluster.
    ctx.say(">>> Getting functions from cluster");
    auto dump = send(ctx, existing, {"FUNCTION", "DUMP"});
    if (!dump || dump->is_error()) {
      ctx.say(fmt::format(">>> Failed retrieving Functions from the cluster, skip this step as Redis version do not "
                          "support function command (error = '{}')",
                          !dump ? dump.error().message : dump->str));
    } else {
      ctx.say(fmt::format(">>> Send FUNCTION LIST to {} to verify there is no functions in it", new_ep.str()));
      auto list = send(ctx, new_ep, {"FUNCTION", "LIST"});
      if (!list || list->is_error()) {
        std::string msg = fmt::format(">>> Failed on CLUSTER LIST (error = '{}')", !list ? list.error().message : list->str);
        ctx.say(msg);
        return make_error(Errc::state, fmt::format("Node {}: {}", new_ep.str(), msg));
      }
      if (!list->elements.empty()) {
        std::string msg = ">>> New node already contains functions and can not be added to the cluster. Use FUNCTION FLUSH and try again.";
        ctx.say(msg);
        return make_error(Errc::state, fmt::format("Node {}: {}", new_ep.str(), msg));
      }
      ctx.say(fmt::format(">>> Send FUNCTION RESTORE to {}", new_ep.str()));
      auto restore = send(ctx, new_ep, {"FUNCTION", "RESTORE", dump->str});
      if (!restore || restore->is_error()) {
        std::string msg = fmt::format(">>> Failed loading functions to the new node (error = '{}')",
                                      !restore ? restore.error().message : restore->str);
        ctx.say(msg);
        return make_error(Errc::state, fmt::format("Node {}: {}", new_ep.str(), msg));
      }
    }
  }

  ctx.say(fmt::format(">>> Send CLUSTER MEET to node {} to make it join the cluster.", new_ep.str()));
  if (auto r = send_ok(ctx, new_ep, meet_command(first)); !r) return r.error();
  report.meets_sent = 1;
  ctx.pool.driver().sleep_ms(1000);
  if (auto w = wait_for_new_node(ctx, *topo, new_ep, report.id, report); !w) return w.error();
  if (primary != nullptr) {
    ctx.say(fmt::format(">>> Configure node as replica of {}.", primary->addr()));
    if (auto r = send_ok(ctx, new_ep, {"CLUSTER", "REPLICATE", primary->id}); !r) return r.error();
    report.primary_id = primary->id;
  }
  ctx.say("[OK] New node added correctly.");
  return report;
}

Result<DelNodeReport> del_node(AdminContext& ctx, const Endpoint& entry, const std::string& node_id) {
  ctx.say(fmt::format(">>> Removing node {} from cluster {}", node_id, entry.str()));
  auto topo = load_cluster(ctx, entry);
  if (!topo) return topo.error();
  AdminNode* node = topo->find(node_id);
  if (node == nullptr) {
    std::string msg = fmt::format("[ERR] No such node ID {}", node_id);
    ctx.say(msg);
    return make_error(Errc::not_found, msg);
  }
  if (node->slot_count != 0) {
    std::string msg = fmt::format("[ERR] Node {} is not empty! Reshard data away and try again.", node->addr());
    ctx.say(msg);
    return make_error(Errc::state, msg);
  }
  DelNodeReport report;
  ctx.say(">>> Sending CLUSTER FORGET messages to the cluster...");
  for (AdminNode& n : topo->nodes) {
    if (&n == node) continue;
    if (n.replica && equals_nocase(n.primary_id, node->id)) {
      AdminNode* primary = topo->primary_with_fewest_replicas(node);
      if (primary == nullptr) {
        return make_error(Errc::state, fmt::format("no other primary for {}, a replica of {}", n.addr(), node->addr()));
      }
      ctx.say(fmt::format(">>> {} as replica of {}", n.addr(), primary->addr()));
      if (auto r = send_ok(ctx, n.endpoint, {"CLUSTER", "REPLICATE", primary->id}); !r) return r.error();
      ++primary->replica_count;
      n.primary_id = primary->id;
      report.repointed.emplace_back(n.id, primary->id);
    }
    if (auto r = send_ok(ctx, n.endpoint, {"CLUSTER", "FORGET", node->id}); !r) return r.error();
    ++report.forgets_sent;
  }
  ctx.say(">>> Sending CLUSTER RESET SOFT to the deleted node.");
  if (auto r = send_ok(ctx, node->endpoint, {"CLUSTER", "RESET", "SOFT"}); !r) return r.error();
  return report;
}

}  // namespace slotlab::harness
