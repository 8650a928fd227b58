// Names of the structured trace events (env.hpp TraceKind).
#include "node/env.hpp"

namespace slotlab {

const char* trace_kind_name(TraceKind kind) {
  switch (kind) {
    case TraceKind::node_started: return "node_started";
    case TraceKind::pfail_marked: return "pfail_marked";
    case TraceKind::pfail_cleared: return "pfail_cleared";
    case TraceKind::fail_marked: return "fail_marked";
    case TraceKind::fail_cleared: return "fail_cleared";
    case TraceKind::election_scheduled: return "election_scheduled";
    case TraceKind::election_started: return "election_started";
    case TraceKind::failover_refused: return "failover_refused";
    case TraceKind::vote_granted: return "vote_granted";
    case TraceKind::vote_refused: return "vote_refused";
    case TraceKind::auth_ack_received: return "auth_ack_received";
    case TraceKind::promoted: return "promoted";
    case TraceKind::role_changed: return "role_changed";
    case TraceKind::config_epoch_changed: return "config_epoch_changed";
    case TraceKind::slots_changed: return "slots_changed";
    case TraceKind::state_changed: return "state_changed";
    case TraceKind::node_added: return "node_added";
    case TraceKind::node_removed: return "node_removed";
    case TraceKind::manual_failover_started: return "manual_failover_started";
    case TraceKind::manual_failover_aborted: return "manual_failover_aborted";
    case TraceKind::config_saved: return "config_saved";
    case TraceKind::replication_up: return "replication_up";
    case TraceKind::replication_down: return "replication_down";
    case TraceKind::crashed: return "crashed";
    case TraceKind::restarted: return "restarted";
  }
  return "unknown";
}

}  // namespace slotlab
