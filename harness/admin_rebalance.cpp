// redis-cli --cluster rebalance (clusterManagerCommandRebalance, redis-cli.c L6843):
//  1. load; apply the weights (id or unique id prefix = weight; default 1); primaries without
//     slots get weight 0 and stay out unless --cluster-use-empty-masters;
//  2. check quietly: any problem aborts;
//  3. each involved primary's balance = slots it has - slots it should have, where it should have
//     (int)(16384 / total weight * its weight); nothing happens unless some primary is off by
//     more than the threshold (percent of its slots; an empty primary expecting more than 1 slot
//     always is);
//  4. rounding leaves the balances summing to more than 0: the receivers (balance <= 0) take one
//     more each until they sum to 0;
//  5. sort by balance (receivers first, givers last) and pair the first receiver with the last
//     giver, moving min(|receiver|, |giver|) slots (a reshard table with that one source), until
//     the indexes meet.
// The arithmetic is redis-cli's float arithmetic, so the numbers of slots moved are the same.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "harness/admin.hpp"
#include "harness/admin_internal.hpp"

namespace slotlab::harness {

using namespace admin_detail;

Result<RebalanceReport> rebalance(AdminContext& ctx, const Endpoint& entry, const RebalanceOptions& options) {
  auto topo = load_cluster(ctx, entry);
  if (!topo) return topo.error();
  std::vector<float> weight(topo->nodes.size(), 1.0f);
  auto index_of = [&](const AdminNode* n) { return static_cast<std::size_t>(n - topo->nodes.data()); };
  for (const auto& [name, w] : options.weights) {
    AdminNode* n = topo->find_prefix(name);
    if (n == nullptr) {
      std::string msg = fmt::format("*** No such master node {}", name);
      ctx.say(msg);
      return make_error(Errc::not_found, msg);
    }
    weight[index_of(n)] = w;
  }
  float total_weight = 0;
  std::vector<AdminNode*> involved;
  for (AdminNode& n : topo->nodes) {
    if (n.replica) continue;
    if (!options.use_empty_masters && n.slot_count == 0) {
      weight[index_of(&n)] = 0;
      continue;
    }
    total_weight += weight[index_of(&n)];
    involved.push_back(&n);
  }
  CheckReport check;
  if (auto r = check_topology(ctx, *topo, true, false, check); !r) return r.error();
  if (!check.errors.empty()) {
    ctx.say("*** Please fix your cluster problems before rebalancing");
    return make_error(Errc::state, fmt::format("*** Please fix your cluster problems before rebalancing: {}", join(check.errors, "; ")));
  }

  RebalanceReport report;
  report.total_weight = total_weight;
  std::vector<int> balance(topo->nodes.size(), 0);
  bool threshold_reached = false;
  int total_balance = 0;
  for (AdminNode* n : involved) {
    auto expected = static_cast<int>((static_cast<float>(kSlotCount) / total_weight) * weight[index_of(n)]);
    balance[index_of(n)] = n->slot_count - expected;
    total_balance += balance[index_of(n)];
    // How far (in percent) the node is from what it should have.
    bool over = false;
    if (options.threshold > 0) {
      if (n->slot_count > 0) {
        double err_perc = std::fabs(100 - (100.0 * expected / n->slot_count));
        if (err_perc > options.threshold) over = true;
      } else if (expected > 1) {
        over = true;
      }
    }
    if (over) threshold_reached = true;
  }
  if (!threshold_reached) {
    ctx.say(fmt::format("*** No rebalancing needed! All nodes are within the {:.2f}% threshold.", options.threshold));
    for (AdminNode* n : involved) report.balance.emplace_back(n->id, balance[index_of(n)]);
    return report;
  }
  report.needed = true;
  // Rounding: make the receivers take what the givers have in excess.
  while (total_balance > 0) {
    int before = total_balance;
    for (AdminNode* n : involved) {
      if (balance[index_of(n)] <= 0 && total_balance > 0) {
        --balance[index_of(n)];
        --total_balance;
      }
    }
    if (total_balance == before) break;  // nobody can take more (redis-cli would spin here)
  }
  std::vector<AdminNode*> sorted = involved;
  // qsort in glibc 2.36 is a merge sort: equal balances keep their order.
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](AdminNode* a, AdminNode* b) { return balance[index_of(a)] < balance[index_of(b)]; });
  for (AdminNode* n : sorted) report.balance.emplace_back(n->id, balance[index_of(n)]);
  ctx.say(fmt::format(">>> Rebalancing across {} nodes. Total weight = {:.2f}", involved.size(), total_weight));

  MoveOptions move;
  move.pipeline = options.pipeline;
  move.timeout_ms = options.timeout_ms;
  move.replace = options.replace;
  int dst_idx = 0;
  int src_idx = static_cast<int>(sorted.size()) - 1;
  while (dst_idx < src_idx) {
    AdminNode* dst = sorted[static_cast<std::size_t>(dst_idx)];
    AdminNode* src = sorted[static_cast<std::size_t>(src_idx)];
    int db = std::abs(balance[index_of(dst)]);
    int sb = std::abs(balance[index_of(src)]);
    int numslots = std::min(db, sb);
    if (numslots > 0) {
      ctx.say(fmt::format("Moving {} slots from {} to {}", numslots, src->addr(), dst->addr()));
      report.transfers.push_back(RebalanceTransfer{src->id, dst->id, numslots});
      auto table = compute_reshard_table({src}, numslots);
      if (static_cast<int>(table.size()) != numslots) {
        std::string msg = "*** Assertion failed: Reshard table != number of slots";
        ctx.say(msg);
        return make_error(Errc::state, fmt::format("{} ({} planned from {}, {} wanted)", msg, table.size(), src->addr(), numslots));
      }
      std::string progress;
      if (options.simulate) {
        progress.assign(table.size(), '#');
      } else {
        for (const ReshardMove& m : table) {
          auto r = move_slot(ctx, *topo, *src, *dst, m.slot, kMoveQuiet | kMoveUpdate, move);
          if (!r) {
            ctx.say(progress);
            ctx.say("*** clusterManagerMoveSlot: " + r.error().message);
            return r.error();
          }
          progress += '#';
          ++report.moved;
        }
      }
      ctx.say(progress);
    }
    balance[index_of(dst)] += numslots;
    balance[index_of(src)] -= numslots;
    if (balance[index_of(dst)] == 0) ++dst_idx;
    if (balance[index_of(src)] == 0) --src_idx;
  }
  return report;
}

}  // namespace slotlab::harness
