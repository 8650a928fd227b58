// Manual failover, both sides (Redis cluster.c: resetManualFailover, manualFailoverCheckTimeout,
// clusterHandleManualFailover, clusterSendMFStart; the command is in cluster_command.cpp).
//
// The default CLUSTER FAILOVER loses no acknowledged write: (1) the replica sends MFSTART; (2) the
// primary pauses writes for 10 s and pings the replica every 100 ms with the PAUSED flag and its
// final replication offset; (3) when the replica has processed exactly that offset it starts an
// election with FORCEACK (primaries vote although its primary is not FAIL; a majority is still
// needed); (4) everything is abandoned after 5 s. FORCE skips steps 1-3; TAKEOVER skips the vote.
#include "node/node.hpp"

namespace slotlab {

void Node::reset_manual_failover() {
  if (cluster_.mf_replica != nullptr) {
    // We were the primary of a manual failover and paused writes: resume, whatever the outcome.
    paused_until_ms_ = 0;
  }
  cluster_.mf_end_ms = 0;
  cluster_.mf_can_start = false;
  cluster_.mf_replica = nullptr;
  cluster_.mf_primary_offset = -1;
}

void Node::manual_failover_check_timeout() {
  if (cluster_.mf_end_ms != 0 && cluster_.mf_end_ms < now_ms()) {
    log(LogLevel::warning, "Manual failover timed out.");
    trace(TraceKind::manual_failover_aborted, NodeId{}, 0, 0, fmt::format("timed out after {} ms", kManualFailoverTimeoutMs));
    reset_manual_failover();
  }
}

void Node::handle_manual_failover() {
  if (cluster_.mf_end_ms == 0) return;
  if (cluster_.mf_can_start) return;  // the election code takes it from here
  if (cluster_.mf_primary_offset == -1) return;  // waiting for the paused primary's offset
  if (cluster_.mf_primary_offset == replica_processed_offset()) {
    cluster_.mf_can_start = true;
    log(LogLevel::warning, "All master replication stream processed, manual failover can start.");
    do_before_sleep(kTodoHandleFailover);
    return;
  }
  do_before_sleep(kTodoHandleManualFailover);
}

void Node::send_mfstart(ClusterNode* node) {
  if (node->link == nullptr) return;
  bus::Message msg;
  msg.hdr = build_header(bus::MsgType::mfstart);
  send_message(node->link, bus::encode(msg), bus::MsgType::mfstart);
}

bool Node::clients_paused_for_failover() const { return paused_until_ms_ != 0 && now_ms() < paused_until_ms_; }

}  // namespace slotlab
