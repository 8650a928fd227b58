// redis-cli --cluster create, step by step as redis-cli 7.0.15 does it (clusterManagerCommandCreate):
//  1. every node: INFO (cluster_enabled:1), CLUSTER NODES + INFO (load), INFO without "db0:" and
//     CLUSTER INFO with cluster_known_nodes:1 (empty);
//  2. interleave nodes by IP, first N/(R+1) are primaries, slots split with an lround cursor;
//  3. replicas assigned avoiding the primary's IP, then the anti-affinity optimizer (random swaps);
//  4. primaries: one CLUSTER ADDSLOTS with every slot; replicas: CLUSTER REPLICATE (fails now:
//     they don't know their primary yet; retried after the join);
//  5. CLUSTER SET-CONFIG-EPOCH 1..N (reply ignored);
//  6. every node but the first: CLUSTER MEET <first-ip> <first-port> [<bus-port>];
//  7. one second, then wait for the join, then the pending REPLICATEs.
#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>

#include "harness/admin.hpp"
#include "node/types.hpp"

namespace slotlab::harness {

namespace {

struct PlanNode {
  Endpoint ep;
  std::string id;
  int bus_port = 0;
  std::vector<std::pair<int, int>> slots;  // primaries only, one range
  std::string replicate;                   // primary id for replicas
  bool dirty = false;
};

int anti_affinity_score(const std::vector<PlanNode*>& nodes, std::vector<PlanNode*>* offending) {
  // Group by IP, then by "master id" (own id for primaries, replicate for replicas).
  std::map<std::string, std::vector<PlanNode*>> by_ip;
  for (PlanNode* n : nodes) by_ip[n->ep.ip].push_back(n);
  int score = 0;
  for (auto& [ip, group] : by_ip) {
    std::map<std::string, std::string> related;  // key -> types ("m" first, then "s"s)
    std::vector<std::string> order;
    for (PlanNode* n : group) {
      const std::string& key = n->replicate.empty() ? n->id : n->replicate;
      auto it = related.find(key);
      if (it == related.end()) {
        it = related.emplace(key, "").first;
        order.push_back(key);
      }
      if (!n->replicate.empty()) {
        it->second += "s";
      } else {
        it->second = "m" + it->second;
      }
    }
    for (const std::string& key : order) {
      const std::string& types = related[key];
      if (types.size() < 2) continue;
      if (types[0] == 'm') {
        score += 10000 * static_cast<int>(types.size() - 1);
      } else {
        score += static_cast<int>(types.size());
      }
      if (offending == nullptr) continue;
      for (PlanNode* n : nodes) {
        if (n->replicate == key && n->ep.ip == ip) {
          offending->push_back(n);
          break;
        }
      }
    }
  }
  return score;
}

}  // namespace

Result<void> wait_for_cluster_join(AdminContext& ctx, const std::vector<Endpoint>& nodes, const Endpoint& meet_target) {
  Driver& driver = ctx.pool.driver();
  ctx.say("Waiting for the cluster to join");
  Millis start = driver.now_ms();
  int counter = 0;
  // redis-cli reports unreachable peers after 20 + 0.15*N polls; we additionally re-send MEET
  // to any node that still does not know all the others, then keep waiting until the deadline.
  int check_after = 20 + static_cast<int>(static_cast<double>(nodes.size()) * 0.15);
  std::string last_problem;
  while (true) {
    std::string first_sig;
    bool consistent = true;
    std::vector<Endpoint> lagging;
    for (const Endpoint& e : nodes) {
      auto r = ctx.pool.call(e, {"CLUSTER", "NODES"}, ctx.command_timeout_ms);
      if (!r || r->is_error()) {
        consistent = false;
        last_problem = fmt::format("{} did not answer CLUSTER NODES: {}", e.str(), r ? r->str : r.error().message);
        continue;
      }
      std::string sig = config_signature(r->str);
      auto parsed = parse_cluster_nodes(r->str);
      if (parsed && parsed->size() < nodes.size()) lagging.push_back(e);
      if (parsed) {
        for (const auto& n : *parsed) {
          if (n.has_flag("handshake")) last_problem = fmt::format("{} is still in handshake with {}:{}", e.str(), n.ip, n.port);
        }
      }
      if (first_sig.empty() && consistent) {
        first_sig = sig;
      } else if (sig != first_sig) {
        consistent = false;
        last_problem = fmt::format("{} does not agree about the slots configuration yet", e.str());
      }
    }
    if (consistent && !first_sig.empty()) return {};
    if (driver.now_ms() - start > ctx.join_timeout_ms) {
      return make_error(Errc::timeout, fmt::format("the cluster did not join within {} ms: {}", ctx.join_timeout_ms,
                                                   last_problem.empty() ? "unknown reason" : last_problem));
    }
    if (++counter > check_after) {
      for (const Endpoint& e : lagging) {
        if (e == meet_target) continue;
        ctx.say(fmt::format("Node {} does not know every node yet: sending CLUSTER MEET {} {} again", e.str(),
                            meet_target.ip, meet_target.port));
        (void)ctx.pool.call(e, {"CLUSTER", "MEET", meet_target.ip, std::to_string(meet_target.port)}, ctx.command_timeout_ms);
      }
      counter = 0;
    }
    driver.sleep_ms(1000);
  }
}

Result<CreatePlan> create_cluster(AdminContext& ctx, const std::vector<Endpoint>& endpoints, int replicas) {
  std::vector<PlanNode> nodes(endpoints.size());
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    PlanNode& n = nodes[i];
    n.ep = endpoints[i];
    auto info = ctx.pool.call(n.ep, {"INFO"}, ctx.command_timeout_ms);
    if (!info) return make_error(Errc::io, fmt::format("[ERR] Node {}: {}", n.ep.str(), info.error().message));
    if (info->is_error()) return make_error(Errc::state, fmt::format("[ERR] Node {}: {}", n.ep.str(), info->str));
    auto fields = parse_info(info->str);
    if (fields["cluster_enabled"] != "1") {
      return make_error(Errc::state, fmt::format("[ERR] Node {} is not configured as a cluster node.", n.ep.str()));
    }
    auto cn = ctx.pool.call(n.ep, {"CLUSTER", "NODES"}, ctx.command_timeout_ms);
    if (!cn || cn->is_error())
      return make_error(Errc::state, fmt::format("[ERR] Node {}: {}", n.ep.str(), cn ? cn->str : cn.error().message));
    auto lines = parse_cluster_nodes(cn->str);
    if (!lines) return lines.error();
    for (const auto& l : *lines) {
      if (l.myself()) {
        n.id = l.id;
        n.bus_port = l.bus_port;
      }
    }
    (void)ctx.pool.call(n.ep, {"INFO"}, ctx.command_timeout_ms);
    auto ci = ctx.pool.call(n.ep, {"CLUSTER", "INFO"}, ctx.command_timeout_ms);
    if (!ci || ci->is_error()) return make_error(Errc::state, fmt::format("[ERR] Node {}: CLUSTER INFO failed", n.ep.str()));
    if (info->str.find("db0:") != std::string::npos || parse_info(ci->str)["cluster_known_nodes"] != "1") {
      return make_error(Errc::state, fmt::format("[ERR] Node {} is not empty. Either the node already knows other "
                                                 "nodes (check with CLUSTER NODES) or contains some key in database 0.",
                                                 n.ep.str()));
    }
  }

  int node_len = static_cast<int>(nodes.size());
  int masters_count = node_len / (replicas + 1);
  if (masters_count < 3) {
    return make_error(Errc::invalid_argument,
                      fmt::format("*** ERROR: Invalid configuration for cluster creation.\n*** Redis Cluster requires "
                                  "at least 3 master nodes.\n*** This is not possible with {} nodes and {} replicas "
                                  "per node.\n*** At least {} nodes are required.",
                                  node_len, replicas, 3 * (replicas + 1)));
  }
  ctx.say(fmt::format(">>> Performing hash slots allocation on {} nodes...", node_len));

  // Interleave by IP.
  std::vector<std::string> ips;
  std::map<std::string, std::deque<PlanNode*>> ip_nodes;
  for (PlanNode& n : nodes) {
    if (ip_nodes.find(n.ep.ip) == ip_nodes.end()) ips.push_back(n.ep.ip);
    ip_nodes[n.ep.ip].push_back(&n);
  }
  std::vector<PlanNode*> interleaved;
  while (static_cast<int>(interleaved.size()) < node_len) {
    for (const std::string& ip : ips) {
      auto& q = ip_nodes[ip];
      if (!q.empty()) {
        interleaved.push_back(q.front());
        q.pop_front();
      }
    }
  }
  std::vector<PlanNode*> masters(interleaved.begin(), interleaved.begin() + masters_count);
  std::vector<PlanNode*> rest(interleaved.begin() + masters_count, interleaved.end());

  float slots_per_node = static_cast<float>(kSlotCount) / static_cast<float>(masters_count);
  long first = 0;
  float cursor = 0.0f;
  for (int i = 0; i < masters_count; ++i) {
    long last = std::lround(cursor + slots_per_node - 1);
    if (last > kSlotCount || i == masters_count - 1) last = kSlotCount - 1;
    if (last < first) last = first;
    ctx.say(fmt::format("Master[{}] -> Slots {} - {}", i, first, last));
    masters[static_cast<std::size_t>(i)]->slots = {{static_cast<int>(first), static_cast<int>(last)}};
    masters[static_cast<std::size_t>(i)]->dirty = true;
    first = last + 1;
    cursor += slots_per_node;
  }

  // Rotate, then assign replicas preferring a different IP from the primary.
  if (!rest.empty()) std::rotate(rest.begin(), rest.begin() + 1, rest.end());
  std::size_t offset = 0;  // redis-cli advances the array start when it takes a same-IP node
  int available = static_cast<int>(rest.size());
  for (int pass = 0; pass < 2; ++pass) {
    bool assign_unused = pass == 1;
    if (assign_unused) {
      if (available <= 0) break;
      ctx.say("Adding extra replicas...");
    }
    for (PlanNode* m : masters) {
      int assigned = 0;
      while (assigned < replicas) {
        if (available == 0) break;
        PlanNode* found = nullptr;
        long first_idx = -1;
        for (std::size_t j = offset; j < rest.size(); ++j) {
          PlanNode* cand = rest[j];
          if (cand == nullptr) continue;
          if (cand->ep.ip != m->ep.ip) {
            found = cand;
            rest[j] = nullptr;
            break;
          }
          if (first_idx < 0) first_idx = static_cast<long>(j);
        }
        PlanNode* replica = found;
        if (replica == nullptr && first_idx >= 0) {
          replica = rest[static_cast<std::size_t>(first_idx)];
          offset = static_cast<std::size_t>(first_idx) + 1;
        }
        if (replica == nullptr) break;
        ++assigned;
        --available;
        replica->replicate = m->id;
        replica->dirty = true;
        ctx.say(fmt::format("Adding replica {} to {}", replica->ep.str(), m->ep.str()));
        if (assign_unused) break;
      }
    }
  }

  // Anti-affinity optimizer: random swaps of replicas' primaries while it helps.
  std::vector<PlanNode*> all;
  for (PlanNode& n : nodes) all.push_back(&n);
  if (anti_affinity_score(all, nullptr) != 0) {
    ctx.say(">>> Trying to optimize slaves allocation for anti-affinity");
    int maxiter = 500 * node_len;
    while (maxiter > 0) {
      std::vector<PlanNode*> offenders;
      int score = anti_affinity_score(all, &offenders);
      if (score == 0 || offenders.empty()) break;
      PlanNode* a = offenders[ctx.random() % offenders.size()];
      std::vector<PlanNode*> others;
      for (PlanNode* n : all)
        if (n != a && !n->replicate.empty()) others.push_back(n);
      if (others.empty()) break;
      PlanNode* b = others[ctx.random() % others.size()];
      std::swap(a->replicate, b->replicate);
      int new_score = anti_affinity_score(all, nullptr);
      if (new_score > score) std::swap(a->replicate, b->replicate);
      --maxiter;
    }
    int score = anti_affinity_score(all, nullptr);
    if (score == 0) {
      ctx.say("[OK] Perfect anti-affinity obtained!");
    } else if (score >= 10000) {
      ctx.say("[WARNING] Some slaves are in the same host as their master");
    } else {
      ctx.say("[WARNING] Some slaves of the same master are in the same host");
    }
  }

  // Flush node configs: ADDSLOTS for primaries, REPLICATE for replicas (expected to fail now).
  auto flush = [&](PlanNode& n) -> Result<bool> {
    if (!n.dirty) return false;
    if (!n.replicate.empty()) {
      auto r = ctx.pool.call(n.ep, {"CLUSTER", "REPLICATE", n.replicate}, ctx.command_timeout_ms);
      if (!r) return r.error();
      if (r->is_error()) return false;  // retried after the join
    } else if (!n.slots.empty()) {
      Argv cmd{"CLUSTER", "ADDSLOTS"};
      for (auto [a, b] : n.slots)
        for (int s = a; s <= b; ++s) cmd.push_back(std::to_string(s));
      auto r = ctx.pool.call(n.ep, cmd, ctx.command_timeout_ms);
      if (!r) return r.error();
      if (r->is_error()) return make_error(Errc::state, fmt::format("Node {} replied: {}", n.ep.str(), r->str));
    }
    n.dirty = false;
    return true;
  };
  for (PlanNode& n : nodes) {
    auto f = flush(n);
    if (!f) return make_error(f.error().code, fmt::format("Node {}: {}", n.ep.str(), f.error().message));
  }
  ctx.say(">>> Nodes configuration updated");
  ctx.say(">>> Assign a different config epoch to each node");
  int config_epoch = 1;
  for (PlanNode& n : nodes) {
    (void)ctx.pool.call(n.ep, {"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(config_epoch++)}, ctx.command_timeout_ms);
  }
  ctx.say(">>> Sending CLUSTER MEET messages to join the cluster");
  const PlanNode& firstn = nodes[0];
  Argv meet{"CLUSTER", "MEET", firstn.ep.ip, std::to_string(firstn.ep.port)};
  if (firstn.bus_port != 0 && firstn.bus_port != firstn.ep.port + kBusPortIncr) meet.push_back(std::to_string(firstn.bus_port));
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    auto r = ctx.pool.call(nodes[i].ep, meet, ctx.command_timeout_ms);
    if (!r) return make_error(Errc::io, fmt::format("Failed to send CLUSTER MEET command to {}: {}", nodes[i].ep.str(),
                                                    r.error().message));
    if (r->is_error()) return make_error(Errc::state, fmt::format("Node {} replied to CLUSTER MEET: {}", nodes[i].ep.str(), r->str));
  }
  ctx.pool.driver().sleep_ms(1000);
  if (auto j = wait_for_cluster_join(ctx, endpoints, firstn.ep); !j) return j.error();
  for (PlanNode& n : nodes) {
    if (!n.dirty) continue;
    auto f = flush(n);
    if (!f) return make_error(f.error().code, fmt::format("Node {}: {}", n.ep.str(), f.error().message));
    if (n.dirty) {
      return make_error(Errc::state, fmt::format("Node {} refused CLUSTER REPLICATE {} after the join", n.ep.str(), n.replicate));
    }
  }

  CreatePlan plan;
  std::map<std::string, Endpoint> by_id;
  for (PlanNode& n : nodes) by_id[n.id] = n.ep;
  for (PlanNode* m : masters) {
    plan.primaries.push_back(m->ep);
    plan.slot_ranges.push_back(m->slots.front());
  }
  for (PlanNode& n : nodes)
    if (!n.replicate.empty()) plan.replicas.emplace_back(n.ep, by_id[n.replicate]);
  return plan;
}

}  // namespace slotlab::harness
