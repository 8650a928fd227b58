// redis-cli --cluster check (clusterManagerCommandCheck / clusterManagerCheckCluster, redis-cli.c
// L5756) and the keys table check and info print (clusterManagerShowClusterInfo). The check, in
// redis-cli's order:
//  1. the node summary ("M: id ip:port", slots, replicas), unless quiet;
//  2. agreement: CLUSTER NODES on every loaded node, stopping at the first whose config signature
//     differs from the first node's (or has none);
//  3. open slots: every [slot->-id] / [slot-<-id] of the loaded nodes' own lines; in fix mode each
//     open slot is repaired (clusterManagerFixOpenSlot);
//  4. coverage: the union of the loaded nodes' slots; in fix mode uncovered slots get an owner;
//  5. with --cluster-search-multiple-owners, COUNTKEYSINSLOT on every primary for every slot it
//     does not claim: a primary holding keys of a slot counts as an owner.
// The same function serves reshard, rebalance and add-node, which refuse to run on a cluster
// that does not pass it.
#include <map>
#include <optional>

#include <fmt/format.h>

#include "harness/admin.hpp"
#include "harness/admin_internal.hpp"

namespace slotlab::harness {

namespace admin_detail {

namespace {

// clusterManagerIsConfigConsistent: every node's signature equal to the first's. A node that
// does not answer, or lists no slots at all, makes the cluster inconsistent.
bool config_consistent(AdminContext& ctx, const ClusterTopology& topo) {
  if (topo.nodes.size() <= 1) return true;
  std::string first;
  for (std::size_t i = 0; i < topo.nodes.size(); ++i) {
    auto r = send(ctx, topo.nodes[i].endpoint, {"CLUSTER", "NODES"});
    if (!r || r->is_error()) return false;
    std::string sig = config_signature(r->str);
    if (sig.empty()) return false;
    if (i == 0) {
      first = std::move(sig);
    } else if (sig != first) {
      return false;
    }
  }
  return true;
}

Error refuse_unreachable(AdminContext& ctx, const char* what, int unreachable) {
  std::string msg = fmt::format(
      "*** Fixing {} with {} unreachable masters is dangerous: redis-cli will assume that slots about masters that "
      "are not reachable are not covered, and will try to reassign them to the reachable nodes. This can cause data "
      "loss and is rarely what you want to do. If you really want to proceed use the "
      "--cluster-fix-with-unreachable-masters option.",
      what, unreachable);
  ctx.say(msg);
  return make_error(Errc::state, msg);
}

}  // namespace

Result<void> check_topology(AdminContext& ctx, ClusterTopology& topo, bool quiet, bool search_multiple_owners,
                            CheckReport& report, const FixOptions* fix, FixReport* fixed) {
  if (topo.nodes.empty()) return make_error(Errc::state, "no nodes loaded");
  auto on_error = [&](std::string err) {
    ctx.say(err);
    report.errors.push_back(std::move(err));
  };
  // A repair that fails does not stop the check (as in redis-cli); the first failure is
  // returned at the end.
  std::optional<Error> repair_error;
  auto repair_failed = [&](const Error& e) {
    if (!repair_error) repair_error = e;
  };
  bool refuse = fix != nullptr && topo.unreachable_primaries > 0 && !fix->fix_with_unreachable_masters;

  ctx.say(fmt::format(">>> Performing Cluster Check (using node {})", topo.nodes[0].addr()));
  bool result = true;
  if (!quiet) {
    for (const AdminNode& n : topo.nodes)
      for (auto& line : describe_node(n)) ctx.say(std::move(line));
  }
  report.agree = config_consistent(ctx, topo);
  if (!report.agree) {
    on_error("[ERR] Nodes don't agree about configuration!");
    result = false;
  } else {
    ctx.say("[OK] All nodes agree about slots configuration.");
  }

  ctx.say(">>> Check for open slots...");
  std::map<int, std::string> open;  // redis-cli keeps them in a dict; we go in slot order
  for (const AdminNode& n : topo.nodes) {
    for (int pass = 0; pass < 2; ++pass) {
      bool migrating = pass == 0;
      const auto& states = migrating ? n.migrating : n.importing;
      if (states.empty()) continue;
      std::vector<std::string> slots;
      for (const auto& [slot, peer] : states) {
        open[slot] = peer;
        slots.push_back(std::to_string(slot));
        report.open.push_back(OpenSlotState{n.id, n.endpoint, slot, migrating, peer});
      }
      on_error(fmt::format("[WARNING] Node {} has slots in {} state {}.", n.addr(), migrating ? "migrating" : "importing",
                           join(slots, ",")));
    }
  }
  if (!open.empty()) {
    result = false;
    std::vector<std::string> slots;
    for (const auto& [slot, peer] : open) {
      slots.push_back(std::to_string(slot));
      report.open_slots.push_back(slot);
    }
    ctx.say(fmt::format("[WARNING] The following slots are open: {}.", join(slots, ",")));
    if (fix != nullptr) {
      if (refuse) return refuse_unreachable(ctx, "open slots", topo.unreachable_primaries);
      for (const auto& [slot, peer] : open) {
        auto r = fix_open_slot(ctx, topo, slot, *fix);
        result = r.ok();
        if (!r) {
          repair_failed(r.error());
          break;
        }
        if (fixed != nullptr) fixed->fixed_open_slots.push_back(slot);
      }
    }
  }

  ctx.say(">>> Check slots coverage...");
  std::bitset<kSlotCount> covered;
  for (const AdminNode& n : topo.nodes) covered |= n.slots;
  if (covered.all()) {
    ctx.say(fmt::format("[OK] All {} slots covered.", kSlotCount));
  } else {
    on_error(fmt::format("[ERR] Not all {} slots are covered by nodes.", kSlotCount));
    result = false;
    for (int s = 0; s < kSlotCount; ++s)
      if (!covered.test(static_cast<std::size_t>(s))) report.uncovered_slots.push_back(s);
    if (fix != nullptr) {
      if (refuse) return refuse_unreachable(ctx, "slots coverage", topo.unreachable_primaries);
      std::vector<int> newly;
      auto r = fix_slots_coverage(ctx, topo, report.uncovered_slots, *fix, newly);
      if (!r) {
        repair_failed(r.error());
      } else if (*r > 0) {
        result = true;
      }
      if (fixed != nullptr) fixed->covered_slots = std::move(newly);
    }
  }

  if (search_multiple_owners) {
    ctx.say(">>> Check for multiple slot owners...");
    int with_multiple_owners = 0;
    for (int slot = 0; slot < kSlotCount; ++slot) {
      std::vector<AdminNode*> owners;
      for (AdminNode& n : topo.nodes) {
        if (n.replica) continue;
        if (n.owns(slot)) {
          owners.push_back(&n);
          continue;
        }
        // A primary holding keys of the slot counts as an owner; an error counts as no keys.
        auto count = count_keys_in_slot(ctx, n, slot);
        if (count && *count > 0) owners.push_back(&n);
      }
      if (owners.size() <= 1) continue;
      result = false;
      ctx.say(fmt::format("[WARNING] Slot {} has {} owners:", slot, owners.size()));
      std::vector<std::string> ids;
      for (const AdminNode* n : owners) {
        ctx.say(fmt::format("    {}", n->addr()));
        ids.push_back(n->id);
      }
      report.multiple_owners.emplace_back(slot, std::move(ids));
      ++with_multiple_owners;
      if (fix != nullptr) {
        auto r = fix_multiple_slot_owners(ctx, topo, slot, owners, *fix);
        result = r.ok();
        if (!r) {
          ctx.say(fmt::format("Failed to fix multiple owners for slot {}", slot));
          repair_failed(r.error());
          break;
        }
        --with_multiple_owners;
        if (fixed != nullptr) fixed->fixed_multiple_owners.push_back(slot);
      }
    }
    if (with_multiple_owners == 0) ctx.say("[OK] No multiple owners found.");
  }
  report.ok = result;
  if (repair_error) return *repair_error;
  return {};
}

Result<InfoReport> show_cluster_info(AdminContext& ctx, const ClusterTopology& topo) {
  InfoReport info;
  for (const AdminNode& n : topo.nodes) {
    if (n.replica || n.id.empty()) continue;
    PrimaryKeys p;
    p.id = n.id;
    p.endpoint = n.endpoint;
    p.slots = n.slot_count;
    for (const AdminNode& r : topo.nodes)
      if (&r != &n && r.replica && r.primary_id == n.id) ++p.replicas;
    auto reply = send(ctx, n.endpoint, {"DBSIZE"});
    if (!reply || reply->type != resp::Type::integer) {
      std::string err = !reply ? reply.error().message : reply->is_error() ? reply->str : reply->describe();
      say_reply_error(ctx, n.endpoint, err);
      return make_error(!reply ? reply.error().code : Errc::state,
                        fmt::format("Node {} answered DBSIZE with: {}", n.addr(), err));
    }
    p.keys = reply->integer;
    ctx.say(fmt::format("{} ({}...) -> {} keys | {} slots | {} slaves.", n.addr(), n.id.substr(0, 8), p.keys, p.slots,
                        p.replicas));
    info.keys += p.keys;
    info.primaries.push_back(std::move(p));
  }
  ctx.say(fmt::format("[OK] {} keys in {} masters.", info.keys, info.primaries.size()));
  ctx.say(fmt::format("{:.2f} keys per slot on average.", static_cast<float>(info.keys) / static_cast<float>(kSlotCount)));
  return info;
}

void record_keys(const InfoReport& info, ClusterTopology& topo) {
  for (const PrimaryKeys& p : info.primaries)
    if (AdminNode* n = topo.find(p.id)) n->keys = p.keys;
}

}  // namespace admin_detail

Result<CheckReport> check_cluster(AdminContext& ctx, const Endpoint& entry, const CheckOptions& options) {
  // What was printed is also the report's `lines`.
  CheckReport report;
  std::vector<std::string> own;
  AdminContext c = ctx;
  if (c.log == nullptr) c.log = &own;
  std::size_t start = c.log->size();
  auto topo = load_cluster(c, entry);
  if (!topo) return topo.error();
  // An error in the keys table is printed; the check goes on.
  if (auto info = admin_detail::show_cluster_info(c, *topo)) admin_detail::record_keys(*info, *topo);
  auto r = admin_detail::check_topology(c, *topo, false, options.search_multiple_owners, report);
  if (!r) return r.error();
  report.lines.assign(c.log->begin() + static_cast<std::ptrdiff_t>(start), c.log->end());
  report.topology = std::move(*topo);
  return report;
}

}  // namespace slotlab::harness
