// redis-cli --cluster fix: the check (admin_check.cpp) with repairs, as redis-cli 7.0.15 does them.
//
// Open slots (clusterManagerFixOpenSlot, redis-cli.c L5387). For the slot:
//  1. owners: primaries that claim it, or hold keys of it (COUNTKEYSINSLOT on the others);
//     a single one is "the owner";
//  2. migrating / importing: primaries with the slot open that way; a primary with keys in the slot
//     that is neither open nor the owner counts as importing;
//  3. no owner: the primary with the most keys (COUNTKEYSINSLOT) becomes it: SETSLOT STABLE, then
//     the MULTI/DELSLOTS/ADDSLOTS/BUMPEPOCH/EXEC transaction;
//  4. several owners: every other one gets DELSLOTS, SETSLOT NODE <owner>, SETSLOT IMPORTING
//     <owner>, and becomes an importing node;
//  then one of:
//  - case 1, one migrating and one importing: move the slot from the first to the second;
//  - case 2, none migrating, some importing: move their keys to the owner (cold), SETSLOT STABLE
//    on them, then SETSLOT NODE <owner> on every other primary;
//  - case 3, one migrating, several importing without keys: if one of them is the migration's
//    destination move the slot there and close it on the others, else close it everywhere;
//  - case 4, one migrating (the owner, or without keys), none importing: SETSLOT STABLE on it;
//  - anything else: "[ERR] Sorry, redis-cli can't fix this slot yet".
// Uncovered slots (clusterManagerFixSlotsCoverage, L5185): GETKEYSINSLOT <slot> 1 on every
// primary, then slots with keys nowhere go to a random primary, slots with keys in one primary to
// that one, slots with keys in several to the one with the most keys, the others' keys moved
// there (cold). An owner is set with the MULTI transaction.
// Multiple owners (clusterManagerFixMultipleSlotOwners): the one with the most keys keeps it.
#include <algorithm>

#include <fmt/format.h>

#include "harness/admin.hpp"
#include "harness/admin_internal.hpp"

namespace slotlab::harness {

namespace admin_detail {

namespace {

void remove_node(std::vector<AdminNode*>& list, const AdminNode* n) {
  auto it = std::find(list.begin(), list.end(), n);
  if (it != list.end()) list.erase(it);
}

bool has_open(const std::vector<std::pair<int, std::string>>& states, int slot) {
  return std::any_of(states.begin(), states.end(), [&](const auto& s) { return s.first == slot; });
}

// clusterManagerGetNodeWithMostKeysInSlot: among the primaries of `nodes`, the one with the most
// keys in the slot (the first on a tie, including 0). An error reply ends the search: nullptr.
Result<AdminNode*> node_with_most_keys(AdminContext& ctx, const std::vector<AdminNode*>& nodes, int slot) {
  AdminNode* best = nullptr;
  std::int64_t most = 0;
  for (AdminNode* n : nodes) {
    if (n->replica) continue;
    auto r = send(ctx, n->endpoint, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)});
    if (!r) return r.error();
    if (r->is_error()) {
      say_reply_error(ctx, n->endpoint, r->str);
      return static_cast<AdminNode*>(nullptr);
    }
    if (r->integer > most || best == nullptr) {
      most = r->integer;
      best = n;
    }
  }
  return best;
}

std::vector<AdminNode*> all_nodes(ClusterTopology& topo) {
  std::vector<AdminNode*> out;
  for (auto& n : topo.nodes) out.push_back(&n);
  return out;
}

// clusterManagerDelSlot with ignore_unassigned_err: an error is fine when the node's CLUSTER SLOTS
// shows the slot unassigned.
Result<void> del_slot_ignoring_unassigned(AdminContext& ctx, ClusterTopology& topo, const AdminNode& n, int slot) {
  auto r = send(ctx, n.endpoint, {"CLUSTER", "DELSLOTS", std::to_string(slot)});
  if (!r) return r.error();
  if (!r->is_error()) return {};
  auto owner = get_slot_owner(ctx, topo, n, slot);
  if (owner && *owner == nullptr) return {};
  if (!owner) say_reply_error(ctx, n.endpoint, owner.error().message);
  say_reply_error(ctx, n.endpoint, r->str);
  return reply_error(n.endpoint, r->str);
}

// Case 2, case 3 and the multi-owner fix read counts without failing on an error reply
// (clusterManagerCountKeysInSlot returns -1 after printing it).
std::int64_t count_or_minus_one(AdminContext& ctx, const AdminNode& n, int slot) {
  auto c = count_keys_in_slot(ctx, n, slot);
  return c ? *c : -1;
}

}  // namespace

Result<void> fix_open_slot(AdminContext& ctx, ClusterTopology& topo, int slot, const FixOptions& options) {
  MoveOptions move = move_options(options);
  ctx.say(fmt::format(">>> Fixing open slot {}", slot));
  std::vector<AdminNode*> owners;
  std::vector<AdminNode*> migrating;
  std::vector<AdminNode*> importing;
  std::vector<std::string> migrating_str;
  std::vector<std::string> importing_str;
  AdminNode* owner = nullptr;

  for (AdminNode& n : topo.nodes) {
    if (n.replica) continue;
    if (n.owns(slot)) {
      owners.push_back(&n);
      continue;
    }
    auto count = count_keys_in_slot(ctx, n, slot);
    if (!count) return count.error();
    if (*count > 0) {
      ctx.say(fmt::format("*** Found keys about slot {} in non-owner node {}!", slot, n.addr()));
      owners.push_back(&n);
    }
  }
  if (owners.size() == 1) owner = owners[0];

  for (AdminNode& n : topo.nodes) {
    if (n.replica) continue;
    bool is_migrating = has_open(n.migrating, slot);
    bool is_importing = !is_migrating && has_open(n.importing, slot);
    if (is_migrating) {
      migrating_str.push_back(n.addr());
      migrating.push_back(&n);
    } else if (is_importing) {
      importing_str.push_back(n.addr());
      importing.push_back(&n);
    } else if (&n != owner) {
      // Keys in the slot on a node that neither owns it nor has it open: an importing node.
      auto count = count_keys_in_slot(ctx, n, slot);
      if (!count) return count.error();
      if (*count > 0) {
        ctx.say(fmt::format("*** Found keys about slot {} in node {}!", slot, n.addr()));
        importing_str.push_back(n.addr());
        importing.push_back(&n);
      }
    }
  }
  if (!migrating_str.empty()) ctx.say("Set as migrating in: " + join(migrating_str, ","));
  if (!importing_str.empty()) ctx.say("Set as importing in: " + join(importing_str, ","));

  if (owner == nullptr) {
    ctx.say(">>> No single clear owner for the slot, selecting an owner by # of keys...");
    auto most = node_with_most_keys(ctx, all_nodes(topo), slot);
    if (!most) return most.error();
    owner = *most;
    if (owner == nullptr) {
      std::string msg = "[ERR] Can't select a slot owner. Impossible to fix.";
      ctx.say(msg);
      return make_error(Errc::state, fmt::format("slot {}: {}", slot, msg));
    }
    ctx.say(fmt::format("*** Configuring {} as the slot owner", owner->addr()));
    if (auto r = set_slot(ctx, *owner, slot, "STABLE"); !r) return r.error();
    if (auto r = set_slot_owner(ctx, *owner, slot, false); !r) return r.error();
    owner->slots.set(static_cast<std::size_t>(slot));
    remove_node(migrating, owner);
    remove_node(importing, owner);
  }

  // Several owners: keep one, make the others importing nodes so a base case below applies.
  if (owners.size() > 1) {
    for (AdminNode* n : owners) {
      if (n == owner) continue;
      if (auto r = del_slot_ignoring_unassigned(ctx, topo, *n, slot); !r) return r.error();
      n->slots.reset(static_cast<std::size_t>(slot));
      if (auto r = set_slot(ctx, *n, slot, "node", owner->id); !r) return r.error();
      if (auto r = set_slot(ctx, *n, slot, "importing", owner->id); !r) return r.error();
      remove_node(importing, n);
      importing.push_back(n);
      remove_node(migrating, n);
    }
  }

  unsigned move_flags = kMoveVerbose | kMoveIgnoreSourceNodeError;
  if (migrating.size() == 1 && importing.size() == 1) {
    AdminNode* src = migrating[0];
    AdminNode* dst = importing[0];
    ctx.say(fmt::format(">>> Case 1: Moving slot {} from {} to {}", slot, src->addr(), dst->addr()));
    return move_slot(ctx, topo, *src, *dst, slot, move_flags | kMoveUpdate, move);
  }
  if (migrating.empty() && !importing.empty()) {
    ctx.say(fmt::format(">>> Case 2: Moving all the {} slot keys to its owner {}", slot, owner->addr()));
    for (AdminNode* n : importing) {
      if (n == owner) continue;
      if (auto r = move_slot(ctx, topo, *n, *owner, slot, move_flags | kMoveCold, move); !r) return r.error();
      ctx.say(fmt::format(">>> Setting {} as STABLE in {}", slot, n->addr()));
      if (auto r = set_slot(ctx, *n, slot, "STABLE"); !r) return r.error();
    }
    // Moved cold: tell every other primary who owns the slot now.
    for (AdminNode& n : topo.nodes) {
      if (&n == owner || n.replica) continue;
      if (auto r = set_slot(ctx, n, slot, "NODE", owner->id); !r) return r.error();
    }
    return {};
  }
  bool unhandled = false;
  if (migrating.size() == 1 && importing.size() > 1) {
    AdminNode* src = migrating[0];
    std::string target_id;
    for (const auto& [s, peer] : src->migrating)
      if (s == slot) target_id = peer;
    AdminNode* dst = nullptr;
    bool try_to_fix = true;
    for (AdminNode* n : importing) {
      if (count_or_minus_one(ctx, *n, slot) > 0) {
        try_to_fix = false;
        break;
      }
      if (n->id == target_id) dst = n;
    }
    if (!try_to_fix) {
      unhandled = true;
    } else if (dst != nullptr) {
      ctx.say(fmt::format(">>> Case 3: Moving slot {} from {} to {} and closing it on all the other importing nodes.",
                          slot, src->addr(), dst->addr()));
      if (auto r = move_slot(ctx, topo, *src, *dst, slot, move_flags, move); !r) return r.error();
      for (AdminNode* n : importing) {
        if (n == dst) continue;
        if (auto r = set_slot(ctx, *n, slot, "STABLE"); !r) return r.error();
      }
      return {};
    } else {
      ctx.say(fmt::format(">>> Case 3: Closing slot {} on both migrating and importing nodes.", slot));
      if (auto r = set_slot(ctx, *src, slot, "STABLE"); !r) return r.error();
      for (AdminNode* n : importing)
        if (auto r = set_slot(ctx, *n, slot, "STABLE"); !r) return r.error();
      return {};
    }
  }
  if (!unhandled) {
    bool try_to_close = importing.empty() && migrating.size() == 1;
    if (try_to_close && migrating[0] != owner) {
      // A migrating node that is not the owner: closable only without keys.
      auto keys = send_ok(ctx, migrating[0]->endpoint, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "10"});
      if (!keys) return keys.error();
      try_to_close = keys->elements.empty();
    }
    if (try_to_close) {
      AdminNode* n = migrating[0];
      ctx.say(fmt::format(">>> Case 4: Closing slot {} on {}", slot, n->addr()));
      auto r = send_ok(ctx, n->endpoint, {"CLUSTER", "SETSLOT", std::to_string(slot), "STABLE"});
      if (!r) return r.error();
      return {};
    }
  }
  std::string msg = fmt::format(
      "[ERR] Sorry, redis-cli can't fix this slot yet (work in progress). Slot is set as migrating in {}, as "
      "importing in {}, owner is {}",
      join(migrating_str, ","), join(importing_str, ","), owner->addr());
  ctx.say(msg);
  return make_error(Errc::state, fmt::format("slot {}: {}", slot, msg));
}

Result<int> fix_slots_coverage(AdminContext& ctx, ClusterTopology& topo, const std::vector<int>& uncovered,
                               const FixOptions& options, std::vector<int>& covered) {
  MoveOptions move = move_options(options);
  ctx.say(">>> Fixing slots coverage...");
  // Which primaries have keys in each uncovered slot.
  std::vector<std::pair<int, std::vector<AdminNode*>>> with_keys;
  for (int slot : uncovered) {
    std::vector<AdminNode*> nodes;
    for (AdminNode& n : topo.nodes) {
      if (n.replica) continue;
      auto r = send_ok(ctx, n.endpoint, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "1"});
      if (!r) return r.error();
      if (!r->elements.empty()) nodes.push_back(&n);
    }
    with_keys.emplace_back(slot, std::move(nodes));
  }
  std::bitset<kSlotCount> none;
  std::bitset<kSlotCount> single;
  std::bitset<kSlotCount> multi;
  for (const auto& [slot, nodes] : with_keys) {
    auto& set = nodes.empty() ? none : nodes.size() == 1 ? single : multi;
    set.set(static_cast<std::size_t>(slot));
  }
  int fixed = 0;
  std::vector<AdminNode*> primaries;
  for (AdminNode& n : topo.nodes)
    if (!n.replica) primaries.push_back(&n);

  if (none.any()) {
    ctx.say("The following uncovered slots have no keys across the cluster:");
    ctx.say(slots_string(none));
    for (const auto& [slot, nodes] : with_keys) {
      if (!nodes.empty()) continue;
      if (primaries.empty()) return make_error(Errc::state, "no primary to cover the slots with");
      // clusterManagerNodeMasterRandom (rand() there; the world's seeded generator here).
      AdminNode* n = primaries[ctx.random() % primaries.size()];
      ctx.say(fmt::format(">>> Covering slot {} with {}", slot, n->addr()));
      if (auto r = set_slot_owner(ctx, *n, slot, false); !r) return r.error();
      n->slots.set(static_cast<std::size_t>(slot));
      covered.push_back(slot);
      ++fixed;
    }
  }
  if (single.any()) {
    ctx.say("The following uncovered slots have keys in just one node:");
    ctx.say(slots_string(single));
    for (const auto& [slot, nodes] : with_keys) {
      if (nodes.size() != 1) continue;
      AdminNode* n = nodes[0];
      ctx.say(fmt::format(">>> Covering slot {} with {}", slot, n->addr()));
      if (auto r = set_slot_owner(ctx, *n, slot, false); !r) return r.error();
      n->slots.set(static_cast<std::size_t>(slot));
      covered.push_back(slot);
      ++fixed;
    }
  }
  if (multi.any()) {
    ctx.say("The following uncovered slots have keys in multiple nodes:");
    ctx.say(slots_string(multi));
    for (const auto& [slot, nodes] : with_keys) {
      if (nodes.size() < 2) continue;
      auto most = node_with_most_keys(ctx, nodes, slot);
      if (!most) return most.error();
      AdminNode* target = *most;
      if (target == nullptr) return make_error(Errc::state, fmt::format("slot {}: cannot tell which node has the most keys", slot));
      ctx.say(fmt::format(">>> Covering slot {} moving keys to {}", slot, target->addr()));
      if (auto r = set_slot_owner(ctx, *target, slot, true); !r) return r.error();
      target->slots.set(static_cast<std::size_t>(slot));
      for (AdminNode* src : nodes) {
        if (src == target) continue;
        if (auto r = set_slot(ctx, *src, slot, "NODE", target->id); !r) return r.error();
        // Importing, although its keys go away, so that MIGRATE is not redirected.
        if (auto r = set_slot(ctx, *src, slot, "IMPORTING", target->id); !r) return r.error();
        if (auto r = move_slot(ctx, topo, *src, *target, slot, kMoveVerbose | kMoveCold, move); !r) return r.error();
        if (auto r = set_slot(ctx, *src, slot, "STABLE"); !r) return r.error();
      }
      covered.push_back(slot);
      ++fixed;
    }
  }
  return fixed;
}

Result<void> fix_multiple_slot_owners(AdminContext& ctx, ClusterTopology& topo, int slot,
                                      const std::vector<AdminNode*>& owners, const FixOptions& options) {
  MoveOptions move = move_options(options);
  ctx.say(fmt::format(">>> Fixing multiple owners for slot {}...", slot));
  auto most = node_with_most_keys(ctx, owners, slot);
  AdminNode* owner = most && *most != nullptr ? *most : owners.front();
  ctx.say(fmt::format(">>> Setting slot {} owner: {}", slot, owner->addr()));
  if (auto r = set_slot_owner(ctx, *owner, slot, false); !r) return r.error();
  for (AdminNode& n : topo.nodes) {
    if (&n == owner || n.replica) continue;
    std::int64_t count = count_or_minus_one(ctx, n, slot);
    if (count < 0) return make_error(Errc::state, fmt::format("slot {}: cannot count the keys on {}", slot, n.addr()));
    (void)del_slot_ignoring_unassigned(ctx, topo, n, slot);
    if (auto r = set_slot(ctx, n, slot, "node", owner->id); !r) return r.error();
    if (count > 0) {
      if (auto r = move_slot(ctx, topo, n, *owner, slot, kMoveVerbose | kMoveCold, move); !r) return r.error();
    }
  }
  return {};
}

}  // namespace admin_detail

Result<FixReport> fix_cluster(AdminContext& ctx, const Endpoint& entry, const FixOptions& options) {
  FixReport report;
  std::vector<std::string> own;
  AdminContext c = ctx;
  if (c.log == nullptr) c.log = &own;
  std::size_t start = c.log->size();
  auto topo = load_cluster(c, entry);
  if (!topo) return topo.error();
  if (auto info = admin_detail::show_cluster_info(c, *topo)) admin_detail::record_keys(*info, *topo);
  auto r = admin_detail::check_topology(c, *topo, false, options.search_multiple_owners, report.found, &options, &report);
  report.found.lines.assign(c.log->begin() + static_cast<std::ptrdiff_t>(start), c.log->end());
  if (!r) return r.error();
  report.ok = report.found.ok;
  report.found.ok = report.found.errors.empty() && report.found.multiple_owners.empty() && report.found.open_slots.empty();
  report.found.topology = std::move(*topo);
  return report;
}

}  // namespace slotlab::harness
