// redis-cli --cluster reshard, and the slot move that reshard, rebalance and fix share.
//
// Slot move (clusterManagerMoveSlot, redis-cli.c L4413):
//  1. CLUSTER SETSLOT s IMPORTING <source> on the target, then SETSLOT s MIGRATING <target> on the
//     source: from now on the source answers ASK for keys it no longer has;
//  2. on the source, CLUSTER GETKEYSINSLOT s <pipeline>, then MIGRATE <target ip> <port> "" 0
//     <timeout> [AUTH pw] KEYS k..., until no key is left. BUSYKEY (the target has the key) is
//     resolved by comparing DEBUG DIGEST-VALUE on both sides: equal values (or --cluster-replace)
//     are overwritten with REPLACE, different ones stop the move. Another error is looked into with
//     CLUSTER SLOTS: a slot nobody serves is given to the target when fixing, and MIGRATE retried;
//  3. CLUSTER SETSLOT s NODE <target> on the target first (if it crashed before learning it owns
//     the slot while the source had already let go, the slot would have no owner: redis #7116),
//     then on the source (which may already have turned into a replica after losing its last
//     slot: "ERR Please use SETSLOT only with masters." is fine, redis #9223), then on every other
//     primary so that clients are not redirected to the old owner while gossip catches up.
// Cold moves (fix) skip steps 1 and 3.
//
// Reshard (clusterManagerCommandReshard, L6656): load, check (any problem aborts), resolve the
// target and the sources ("all": every primary but the target), compute the table
// (clusterManagerComputeReshardTable) and move each slot of it.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "harness/admin.hpp"
#include "harness/admin_internal.hpp"

namespace slotlab::harness {

using namespace admin_detail;

namespace {

constexpr const char* kHashZero = "0000000000000000000000000000000000000000";

Result<resp::Value> send_migrate(AdminContext& ctx, const AdminNode& source, const AdminNode& target,
                                 const std::vector<resp::Value>& keys, bool replace, const MoveOptions& o) {
  Argv argv{"MIGRATE", target.endpoint.ip, std::to_string(target.endpoint.port), "", "0", std::to_string(o.timeout_ms)};
  if (replace) argv.emplace_back("REPLACE");
  if (!ctx.pool.password().empty()) {
    argv.emplace_back("AUTH");
    argv.push_back(ctx.pool.password());
  }
  argv.emplace_back("KEYS");
  for (const resp::Value& k : keys) argv.push_back(k.str);
  // MIGRATE may take up to its own timeout before it answers.
  return send(ctx, source.endpoint, argv, o.timeout_ms + ctx.command_timeout_ms);
}

// clusterManagerCompareKeysValues: the keys whose values differ on the two nodes (a key missing on
// one side, digest all zeros, is not a difference).
Result<std::vector<std::string>> compare_key_values(AdminContext& ctx, const AdminNode& a, const AdminNode& b,
                                                    const std::vector<resp::Value>& keys) {
  Argv argv{"DEBUG", "DIGEST-VALUE"};
  for (const resp::Value& k : keys) argv.push_back(k.str);
  auto ra = send(ctx, a.endpoint, argv);
  if (!ra) return ra.error();
  auto rb = send(ctx, b.endpoint, argv);
  if (!rb) return rb.error();
  if (ra->is_error()) say_reply_error(ctx, a.endpoint, ra->str);
  if (rb->is_error()) say_reply_error(ctx, b.endpoint, rb->str);
  if (ra->is_error()) return reply_error(a.endpoint, ra->str);
  if (rb->is_error()) return reply_error(b.endpoint, rb->str);
  if (ra->elements.size() != keys.size() || rb->elements.size() != keys.size()) {
    return make_error(Errc::protocol, fmt::format("DEBUG DIGEST-VALUE on {} and {} answered {} and {} digests for {} keys",
                                                  a.addr(), b.addr(), ra->elements.size(), rb->elements.size(), keys.size()));
  }
  std::vector<std::string> diffs;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string& h1 = ra->elements[i].str;
    const std::string& h2 = rb->elements[i].str;
    if (h1 == kHashZero || h2 == kHashZero) continue;
    if (h1 != h2) diffs.push_back(keys[i].str);
  }
  return diffs;
}

// clusterManagerMigrateKeysInSlot. `dots` gets a '.' per migrated key (verbose moves).
Result<void> migrate_keys_in_slot(AdminContext& ctx, ClusterTopology& topo, const AdminNode& source,
                                  const AdminNode& target, int slot, const MoveOptions& o, std::string* dots) {
  while (true) {
    auto keys = send(ctx, source.endpoint, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), std::to_string(o.pipeline)});
    if (!keys) return keys.error();
    if (keys->is_error()) {
      say_reply_error(ctx, source.endpoint, keys->str);
      return reply_error(source.endpoint, keys->str);
    }
    if (keys->elements.empty()) return {};
    auto migrate = send_migrate(ctx, source, target, keys->elements, false, o);
    if (!migrate) return migrate.error();
    if (migrate->is_error()) {
      bool is_busy = migrate->str.find("BUSYKEY") != std::string::npos;
      bool not_served = false;
      if (!is_busy) {
        // Is the slot served at all, in the source's configuration?
        auto served_by = get_slot_owner(ctx, topo, source, slot);
        if (!served_by) {
          say_reply_error(ctx, source.endpoint, served_by.error().message);
        } else if (*served_by == nullptr) {
          not_served = true;
        }
      }
      if (!is_busy && !not_served) {
        say_reply_error(ctx, source.endpoint, migrate->str);
        return reply_error(source.endpoint, migrate->str);
      }
      if (o.fixing && not_served) {
        ctx.say(fmt::format("*** Slot was not served, setting owner to node {}.", target.addr()));
        (void)set_slot(ctx, source, slot, "node", target.id);
      }
      if (is_busy) {
        ctx.say("*** Target key exists");
        if (!o.replace) {
          ctx.say("*** Checking key values on both nodes...");
          auto diffs = compare_key_values(ctx, source, target, keys->elements);
          if (!diffs) {
            ctx.say("*** Value check failed!");
            return diffs.error();
          }
          if (!diffs->empty()) {
            ctx.say(fmt::format("*** Found {} key(s) in both source node and target node having different values.",
                                diffs->size()));
            ctx.say(fmt::format("    Source node: {}", source.addr()));
            ctx.say(fmt::format("    Target node: {}", target.addr()));
            ctx.say("    Keys(s):");
            for (const auto& k : *diffs) ctx.say(fmt::format("    - {}", k));
            ctx.say("Please fix the above key(s) manually and try again or relaunch the command ");
            ctx.say("with --cluster-replace option to force key overriding.");
            return make_error(Errc::state, fmt::format("slot {}: {} key(s) exist on {} with different values than on {}: {}",
                                                       slot, diffs->size(), target.addr(), source.addr(), join(*diffs, ", ")));
          }
        }
        ctx.say("*** Replacing target keys...");
      }
      migrate = send_migrate(ctx, source, target, keys->elements, is_busy, o);
      if (!migrate) return migrate.error();
      if (migrate->is_error()) {
        say_reply_error(ctx, source.endpoint, migrate->str);
        return reply_error(source.endpoint, migrate->str);
      }
    }
    if (dots != nullptr) dots->append(keys->elements.size(), '.');
    if (o.keys_moved != nullptr) *o.keys_moved += keys->elements.size();
  }
}

}  // namespace

Result<void> move_slot(AdminContext& ctx, ClusterTopology& topo, AdminNode& source, AdminNode& target, int slot,
                       unsigned flags, const MoveOptions& options) {
  bool quiet = (flags & kMoveQuiet) != 0;
  bool cold = (flags & kMoveCold) != 0;
  std::string line = fmt::format("Moving slot {} from {} to {}: ", slot, source.addr(), target.addr());
  auto fail = [&](const Error& e) -> Result<void> {
    if (!quiet) ctx.say(line);
    return make_error(e.code, fmt::format("moving slot {} from {} to {}: {}", slot, source.addr(), target.addr(), e.message));
  };
  std::string s = std::to_string(slot);
  if (!cold) {
    if (auto r = send_ok(ctx, target.endpoint, {"CLUSTER", "SETSLOT", s, "importing", source.id}, 0, true); !r) return fail(r.error());
    if (auto r = send_ok(ctx, source.endpoint, {"CLUSTER", "SETSLOT", s, "migrating", target.id}, 0, true); !r) return fail(r.error());
  }
  if (auto r = migrate_keys_in_slot(ctx, topo, source, target, slot, options, (flags & kMoveVerbose) != 0 ? &line : nullptr); !r)
    return fail(r.error());
  if (!quiet) ctx.say(line);
  if (!cold) {
    // The target first, then the source, then every other primary (see the top of the file).
    if (auto r = send_ok(ctx, target.endpoint, {"CLUSTER", "SETSLOT", s, "node", target.id}, 0, true); !r) return fail(r.error());
    auto r = send(ctx, source.endpoint, {"CLUSTER", "SETSLOT", s, "node", target.id});
    if (!r) return fail(r.error());
    static const std::string kAcceptable = "ERR Please use SETSLOT only with masters.";
    if (r->is_error() && r->str.rfind(kAcceptable, 0) != 0) {
      say_reply_error(ctx, source.endpoint, r->str);
      if ((flags & kMoveIgnoreSourceNodeError) == 0) return fail(reply_error(source.endpoint, r->str));
    }
    for (AdminNode& n : topo.nodes) {
      if (&n == &target || &n == &source || n.replica) continue;
      if (auto o = send_ok(ctx, n.endpoint, {"CLUSTER", "SETSLOT", s, "node", target.id}, 0, true); !o) return fail(o.error());
    }
  }
  if ((flags & kMoveUpdate) != 0) {
    source.slots.reset(static_cast<std::size_t>(slot));
    target.slots.set(static_cast<std::size_t>(slot));
  }
  return {};
}

std::vector<ReshardMove> compute_reshard_table(const std::vector<const AdminNode*>& sources, int slots) {
  std::vector<ReshardMove> moved;
  std::vector<const AdminNode*> sorted = sources;
  int total = 0;
  for (const AdminNode* n : sources) total += n->slot_count;
  if (total == 0) return moved;
  // qsort in glibc 2.36 (Debian 12's) is a merge sort: equal counts keep their order.
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const AdminNode* a, const AdminNode* b) { return a->slot_count > b->slot_count; });
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const AdminNode* node = sorted[i];
    // float arithmetic, as redis-cli: numslots / tot_slots * slots_count.
    float n = static_cast<float>(slots) / static_cast<float>(total) * static_cast<float>(node->slot_count);
    n = i == 0 ? std::ceil(n) : std::floor(n);
    int max = static_cast<int>(n);
    int count = 0;
    for (int s = 0; s < kSlotCount; ++s) {
      if (!node->owns(s)) continue;
      if (count >= max || static_cast<int>(moved.size()) >= slots) break;
      moved.push_back(ReshardMove{s, node->id});
      ++count;
    }
  }
  return moved;
}

namespace {

// clusterNodeForResharding. nullptr with an Error: unknown or not a primary (fatal); nullptr
// without: the target named as a source (skipped).
Result<AdminNode*> node_for_resharding(AdminContext& ctx, ClusterTopology& topo, const std::string& id,
                                       const AdminNode* target) {
  AdminNode* n = topo.find(id);
  if (n == nullptr || n->replica) {
    std::string msg = fmt::format("*** The specified node ({}) is not known or not a master, please retry.", id);
    ctx.say(msg);
    return make_error(n == nullptr ? Errc::not_found : Errc::invalid_argument, msg);
  }
  if (target != nullptr && n->id == target->id) {
    ctx.say("*** It is not possible to use the target node as source node.");
    return static_cast<AdminNode*>(nullptr);
  }
  return n;
}

}  // namespace

Result<ReshardReport> reshard(AdminContext& ctx, const Endpoint& entry, const ReshardOptions& options) {
  auto topo = load_cluster(ctx, entry);
  if (!topo) return topo.error();
  CheckReport check;
  if (auto r = check_topology(ctx, *topo, false, false, check); !r) return r.error();
  if (!check.errors.empty()) {
    ctx.say("*** Please fix your cluster problems before resharding");
    return make_error(Errc::state, fmt::format("*** Please fix your cluster problems before resharding: {}", join(check.errors, "; ")));
  }
  if (options.slots <= 0 || options.slots > kSlotCount) {
    return make_error(Errc::invalid_argument, fmt::format("the number of slots to move must be between 1 and {}, not {}",
                                                          kSlotCount, options.slots));
  }
  auto target_r = node_for_resharding(ctx, *topo, options.to, nullptr);
  if (!target_r) return target_r.error();
  AdminNode& target = **target_r;

  std::vector<const AdminNode*> sources;
  bool all = false;
  for (const std::string& id : options.from) {
    if (id == "all") {
      all = true;
      break;
    }
    auto src = node_for_resharding(ctx, *topo, id, &target);
    if (!src) return src.error();
    if (*src != nullptr) sources.push_back(*src);
  }
  if (all) {
    sources.clear();
    for (const AdminNode& n : topo->nodes) {
      if (n.replica || n.id == target.id) continue;
      sources.push_back(&n);
    }
  }
  if (sources.empty()) {
    std::string msg = "*** No source nodes given, operation aborted.";
    ctx.say(msg);
    return make_error(Errc::invalid_argument, msg);
  }
  ctx.say(fmt::format("Ready to move {} slots.", options.slots));
  ctx.say("  Source nodes:");
  for (const AdminNode* src : sources)
    for (auto& l : describe_node(*src, 4)) ctx.say(std::move(l));
  ctx.say("  Destination node:");
  for (auto& l : describe_node(target, 4)) ctx.say(std::move(l));
  ReshardReport report;
  report.plan = compute_reshard_table(sources, options.slots);
  ctx.say("  Resharding plan:");
  for (const ReshardMove& m : report.plan) ctx.say(fmt::format("    Moving slot {} from {}", m.slot, m.source_id));

  MoveOptions move;
  move.pipeline = options.pipeline;
  move.timeout_ms = options.timeout_ms;
  move.replace = options.replace;
  move.keys_moved = &report.keys_moved;
  for (const ReshardMove& m : report.plan) {
    AdminNode* src = topo->find(m.source_id);
    auto r = move_slot(ctx, *topo, *src, target, m.slot, kMoveVerbose, move);
    if (!r) {
      ctx.say("clusterManagerMoveSlot failed: " + r.error().message);
      return r.error();
    }
    ++report.moved;
  }
  return report;
}

}  // namespace slotlab::harness
