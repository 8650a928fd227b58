// Failure detection and the cluster state (Redis cluster.c: failure reports,
// markNodeAsFailingIfNeeded, clearNodeFailureIfNeeded, clusterSendFail, clusterUpdateState).
//
// PFAIL is a local opinion: a ping has been pending, and nothing at all has arrived from the node,
// for more than node-timeout (cluster_cron sets it). FAIL is a weak agreement: we believe PFAIL
// and a majority of the primaries that serve slots reported PFAIL or FAIL in their gossip within
// the last 2 x node-timeout. Whoever reaches the majority broadcasts FAIL, which every node
// accepts without counting, so the cluster converges even though the agreement is not atomic.
// Without a majority no replica can get elected anyway, and PFAIL/FAIL are cleared when the node
// answers again.
#include <algorithm>

#include "node/node.hpp"

namespace slotlab {

static constexpr int kFailReportValidityMult = 2;
static constexpr int kFailUndoTimeMult = 2;
static constexpr Millis kMaxRejoinDelayMs = 5000;
static constexpr Millis kMinRejoinDelayMs = 500;
static constexpr Millis kWritableDelayMs = 2000;

bool Node::add_failure_report(ClusterNode* failing, ClusterNode* sender) {
  Millis now = now_ms();
  for (auto& fr : failing->fail_reports) {
    if (fr.sender == sender) {
      fr.time_ms = now;
      return false;
    }
  }
  failing->fail_reports.push_back({sender, now});
  return true;
}

void Node::cleanup_failure_reports(ClusterNode* node) {
  Millis maxtime = config_.cluster_node_timeout_ms * kFailReportValidityMult;
  Millis now = now_ms();
  node->fail_reports.remove_if([&](const FailureReport& fr) { return now - fr.time_ms > maxtime; });
}

bool Node::del_failure_report(ClusterNode* node, ClusterNode* sender) {
  auto& v = node->fail_reports;
  auto it = std::find_if(v.begin(), v.end(), [&](const FailureReport& fr) { return fr.sender == sender; });
  if (it == v.end()) return false;
  v.erase(it);
  cleanup_failure_reports(node);
  return true;
}

int Node::failure_reports_count(ClusterNode* node) {
  cleanup_failure_reports(node);
  return static_cast<int>(node->fail_reports.size());
}

void Node::mark_node_as_failing_if_needed(ClusterNode* node) {
  int needed_quorum = cluster_.size / 2 + 1;
  if (!node->timed_out()) return;  // we can reach it
  if (node->failed()) return;      // already failing
  int failures = failure_reports_count(node);
  if (cluster_.myself->is_primary()) ++failures;  // count ourselves as a voter
  if (failures < needed_quorum) return;

  logf(LogLevel::notice, "Marking node {} as failing (quorum reached).", node->name.view());
  node->flags &= static_cast<std::uint16_t>(~kNodePfail);
  node->flags |= kNodeFail;
  node->fail_time_ms = now_ms();
  trace(TraceKind::fail_marked, node->name, 0, failures);
  // Broadcast even as a replica: the reports came from primaries, we only help them propagate.
  send_fail(node->name);
  do_before_sleep(kTodoUpdateState | kTodoSaveConfig);
}

void Node::clear_node_failure_if_needed(ClusterNode* node) {
  Millis now = now_ms();
  SLOTLAB_ASSERT(node->failed());
  // Replicas and slot-less primaries: clear as soon as they are reachable again.
  if (node->is_replica() || node->numslots == 0) {
    logf(LogLevel::notice, "Clear FAIL state for node {}: {} is reachable again.", node->name.view(),
         node->is_replica() ? "replica" : "master without slots");
    node->flags &= static_cast<std::uint16_t>(~kNodeFail);
    trace(TraceKind::fail_cleared, node->name);
    do_before_sleep(kTodoUpdateState | kTodoSaveConfig);
  }
  // A primary still serving slots: nobody failed it over in 2 x node-timeout, so it is ours again.
  if (node->is_primary() && node->numslots > 0 &&
      now - node->fail_time_ms > config_.cluster_node_timeout_ms * kFailUndoTimeMult) {
    logf(LogLevel::notice,
         "Clear FAIL state for node {}: is reachable again and nobody is serving its slots after some time.",
         node->name.view());
    node->flags &= static_cast<std::uint16_t>(~kNodeFail);
    trace(TraceKind::fail_cleared, node->name);
    do_before_sleep(kTodoUpdateState | kTodoSaveConfig);
  }
}

void Node::send_fail(const NodeId& about) {
  bus::Message msg;
  msg.hdr = build_header(bus::MsgType::fail);
  msg.fail_about = about;
  broadcast_message(bus::encode(msg), bus::MsgType::fail);
}

// clusterUpdateState: FAIL if (full coverage is required and a slot is unassigned or owned by a
// FAIL node) or if fewer than a majority of the slot-serving primaries are reachable. A primary
// that was in the minority waits clamp(node-timeout, 0.5 s, 5 s) before turning OK, to give the
// cluster a chance to tell it it was failed over; a primary that just started waits 2 s.
void Node::update_cluster_state() {
  Millis now = now_ms();
  cluster_.todo_before_sleep &= ~static_cast<std::uint32_t>(kTodoUpdateState);
  ClusterNode* me = cluster_.myself;

  if (cluster_.first_update_state_ms == 0) cluster_.first_update_state_ms = now;
  if (me->is_primary() && cluster_.state == ClusterHealth::fail &&
      now - cluster_.first_update_state_ms < kWritableDelayMs)
    return;

  ClusterHealth new_state = ClusterHealth::ok;

  // Full coverage (Redis walks the 16384 slots: FAIL if one is unassigned or its owner is FAIL)
  // is read from the nodes instead, with the same answer: the slot table names node n exactly
  // where n's bitmap has the bit (add_slot / del_slot change both) and numslots counts those bits,
  // so the slots are all assigned iff the numslots add up to 16384, and some slot's owner is FAIL
  // iff a FAIL node has numslots > 0. N nodes instead of 16384 slots, in the loop that is here
  // anyway; during a join every node runs this on every cron (issue 7).
  int reachable = 0;
  int assigned = 0;
  bool failed_owner = false;
  cluster_.size = 0;
  for (const ClusterNode* n : cluster_.order) {
    if (n->numslots > 0) {
      assigned += n->numslots;
      if (n->failed()) failed_owner = true;
    }
    if (n->is_primary() && n->numslots > 0) {
      ++cluster_.size;
      if ((n->flags & (kNodeFail | kNodePfail)) == 0) ++reachable;
    }
  }
  if (config_.cluster_require_full_coverage && (assigned != kSlotCount || failed_owner)) new_state = ClusterHealth::fail;
  int needed_quorum = cluster_.size / 2 + 1;
  if (reachable < needed_quorum) {
    new_state = ClusterHealth::fail;
    cluster_.among_minority_time_ms = now;
  }

  if (new_state != cluster_.state) {
    Millis rejoin_delay = std::clamp(config_.cluster_node_timeout_ms, kMinRejoinDelayMs, kMaxRejoinDelayMs);
    if (new_state == ClusterHealth::ok && me->is_primary() && now - cluster_.among_minority_time_ms < rejoin_delay) {
      return;
    }
    logf(LogLevel::warning, "Cluster state changed: {}", new_state == ClusterHealth::ok ? "ok" : "fail");
    cluster_.state = new_state;
    trace(TraceKind::state_changed, me->name, 0, new_state == ClusterHealth::ok ? 1 : 0);
  }
}

}  // namespace slotlab
