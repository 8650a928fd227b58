// Replica promotion: the election a replica runs when its primary is FAIL, and the vote a primary
// gives (Redis cluster.c: clusterGetSlaveRank, clusterHandleSlaveFailover,
// clusterRequestFailoverAuth, clusterSendFailoverAuthIfNeeded, clusterFailoverReplaceYourMaster).
//
// Why it is safe: an election epoch is currentEpoch + 1, and a primary votes at most once per
// epoch (lastVoteEpoch, fsynced before the ACK leaves) and at most once per failed primary every
// 2 x node-timeout. A replica needs ACKs from a majority of the slot-serving primaries, so at most
// one replica wins a given epoch, and its new configEpoch beats the old primary's in every
// ownership comparison ("last failover wins"). The start delay (500 ms + random 0-500 ms + 1 s per
// better-ranked sibling) lets the FAIL message spread and lets the most up-to-date replica go
// first.
#include "node/node.hpp"

namespace slotlab {

int Node::replica_rank() const {
  const ClusterNode* me = cluster_.myself;
  SLOTLAB_ASSERT(me->is_replica());
  const ClusterNode* primary = me->primary;
  if (primary == nullptr) return 0;
  std::int64_t myoffset = replica_processed_offset();
  int rank = 0;
  for (const ClusterNode* r : primary->replicas) {
    if (r != me && !r->cant_failover() && r->repl_offset > myoffset) ++rank;
  }
  return rank;
}

void Node::request_failover_auth() {
  bus::Message msg;
  msg.hdr = build_header(bus::MsgType::failover_auth_request);
  // A manual failover asks primaries to vote even though our primary is not FAIL.
  if (cluster_.mf_end_ms != 0) msg.hdr.mflags[0] |= bus::kMflagForceAck;
  broadcast_message(bus::encode(msg), bus::MsgType::failover_auth_request);
}

void Node::send_failover_auth(ClusterNode* node) {
  if (node->link == nullptr) return;
  bus::Message msg;
  msg.hdr = build_header(bus::MsgType::failover_auth_ack);
  send_message(node->link, bus::encode(msg), bus::MsgType::failover_auth_ack);
}

void Node::send_failover_auth_if_needed(ClusterNode* node, const bus::Message& request) {
  ClusterNode* me = cluster_.myself;
  ClusterNode* primary = node->primary;
  std::uint64_t request_current_epoch = request.hdr.current_epoch;
  std::uint64_t request_config_epoch = request.hdr.config_epoch;
  bool force_ack = (request.hdr.mflags[0] & bus::kMflagForceAck) != 0;
  Millis now = now_ms();

  // Only primaries serving slots vote: they are what the quorum counts.
  if (me->is_replica() || me->numslots == 0) return;

  auto refuse = [&](std::string reason) {
    logf(LogLevel::warning, "Failover auth denied to {}: {}", node->name.view(), reason);
    trace(TraceKind::vote_refused, node->name, request_current_epoch, 0, std::move(reason));
  };

  if (request_current_epoch < cluster_.current_epoch.v) {
    refuse(fmt::format("reqEpoch ({}) < curEpoch({})", request_current_epoch, cluster_.current_epoch.v));
    return;
  }
  if (cluster_.last_vote_epoch == cluster_.current_epoch.v) {
    refuse(fmt::format("already voted for epoch {}", cluster_.current_epoch.v));
    return;
  }
  if (node->is_primary() || primary == nullptr || (!primary->failed() && !force_ack)) {
    if (node->is_primary()) {
      refuse("it is a master node");
    } else if (primary == nullptr) {
      refuse("I don't know its master");
    } else {
      refuse("its master is up");
    }
    return;
  }
  // Not strictly needed for safety, but makes the base case linear: one vote per failed primary
  // every 2 x node-timeout.
  if (now - primary->voted_time_ms < config_.cluster_node_timeout_ms * 2) {
    refuse(fmt::format("can't vote about this master before {} milliseconds",
                       config_.cluster_node_timeout_ms * 2 - (now - primary->voted_time_ms)));
    return;
  }
  // The requester's claimed slots must not be owned by anyone with a newer configEpoch.
  for (int j = 0; j < kSlotCount; ++j) {
    if (!request.hdr.myslots.test(static_cast<Slot>(j))) continue;
    if (is_slot_unclaimed(j)) continue;
    const ClusterNode* owner = cluster_.slots[static_cast<std::size_t>(j)];
    if (owner->config_epoch.v <= request_config_epoch) continue;
    refuse(fmt::format("slot {} epoch ({}) > reqEpoch ({})", j, owner->config_epoch.v, request_config_epoch));
    return;
  }

  cluster_.last_vote_epoch = cluster_.current_epoch.v;
  primary->voted_time_ms = now;
  // The vote must be durable before the ACK leaves: a restarted primary must not vote twice in
  // the same epoch. Redis defers the fsync to beforeSleep, which runs before the reply is written
  // to the socket; we save here for the same ordering.
  save_nodes_conf_or_die(true);
  send_failover_auth(node);
  logf(LogLevel::warning, "Failover auth granted to {} for epoch {}", node->name.view(), cluster_.current_epoch.v);
  trace(TraceKind::vote_granted, node->name, cluster_.current_epoch.v);
}

void Node::log_cant_failover(CantFailoverReason reason) {
  static constexpr Millis kRelogPeriodMs = 60 * 5 * 1000;
  Millis now = now_ms();
  if (reason != cluster_.cant_failover_reason) {
    trace(TraceKind::failover_refused, cluster_.myself->primary != nullptr ? cluster_.myself->primary->name : NodeId{},
          0, static_cast<std::int64_t>(reason), describe(reason));
  }
  if (reason == cluster_.cant_failover_reason && now - cluster_.cant_failover_logged_ms < kRelogPeriodMs) return;
  cluster_.cant_failover_reason = reason;
  // Stay quiet while the primary failed only recently: this log is for stalled replicas.
  Millis nolog_fail_time = config_.cluster_node_timeout_ms + 5000;
  const ClusterNode* primary = cluster_.myself->primary;
  if (primary != nullptr && primary->failed() && now - primary->fail_time_ms < nolog_fail_time) return;
  cluster_.cant_failover_logged_ms = now;
  logf(LogLevel::warning, "Currently unable to failover: {}", describe(reason));
}

void Node::failover_replace_your_primary() {
  ClusterNode* me = cluster_.myself;
  ClusterNode* old_primary = me->primary;
  if (me->is_primary() || old_primary == nullptr) return;

  // 1) Become a primary.
  set_node_as_primary(me);
  replication_unset_primary();
  // 2) Claim the old primary's slots.
  for (int j = 0; j < kSlotCount; ++j) {
    if (old_primary->slots.test(static_cast<Slot>(j))) {
      del_slot(j);
      add_slot(me, j);
    }
  }
  trace(TraceKind::promoted, old_primary->name, me->config_epoch.v, me->numslots);
  trace(TraceKind::role_changed, NodeId{});
  // 3) Update state, save with fsync.
  update_cluster_state();
  save_nodes_conf_or_die(true);
  // 4) Tell everyone at once.
  broadcast_pong(false);
  // 5) A manual failover, if any, is over.
  reset_manual_failover();
}

void Node::handle_replica_failover() {
  ClusterNode* me = cluster_.myself;
  Millis now = now_ms();
  Millis auth_age = now - cluster_.failover_auth_time_ms;
  int needed_quorum = cluster_.size / 2 + 1;
  bool manual_failover = cluster_.mf_end_ms != 0 && cluster_.mf_can_start;
  cluster_.todo_before_sleep &= ~static_cast<std::uint32_t>(kTodoHandleFailover);

  // Time to collect votes, and the wait before retrying: max(2 x node-timeout, 2 s) and twice that.
  Millis auth_timeout = std::max<Millis>(config_.cluster_node_timeout_ms * 2, 2000);
  Millis auth_retry_time = auth_timeout * 2;

  if (me->is_primary() || me->primary == nullptr || (!me->primary->failed() && !manual_failover) ||
      (config_.cluster_replica_no_failover && !manual_failover) || me->primary->numslots == 0) {
    cluster_.cant_failover_reason = CantFailoverReason::none;
    return;
  }

  // How long we have been without news from our primary, in whole seconds as Redis counts it.
  Millis data_age;
  Millis unixtime_ms = (now / 1000) * 1000;
  if (primary_link_.state == PrimaryLink::State::connected) {
    data_age = unixtime_ms - (primary_link_.last_interaction_ms / 1000) * 1000;
  } else {
    data_age = unixtime_ms - (primary_link_.down_since_ms / 1000) * 1000;
  }
  // Being disconnected for the node-timeout it took to flag FAIL is the baseline.
  if (data_age > config_.cluster_node_timeout_ms) data_age -= config_.cluster_node_timeout_ms;

  if (config_.cluster_replica_validity_factor != 0 &&
      data_age > config_.repl_ping_replica_period_s * 1000 +
                     config_.cluster_node_timeout_ms * config_.cluster_replica_validity_factor) {
    if (!manual_failover) {
      log_cant_failover(CantFailoverReason::data_age);
      return;
    }
  }

  if (auth_age > auth_retry_time) {
    cluster_.failover_auth_time_ms = now + 500 + static_cast<Millis>(env_.random.below(500));
    cluster_.failover_auth_count = 0;
    cluster_.failover_auth_sent = false;
    cluster_.failover_auth_rank = replica_rank();
    cluster_.failover_auth_time_ms += cluster_.failover_auth_rank * 1000;
    if (cluster_.mf_end_ms != 0) {
      cluster_.failover_auth_time_ms = now;
      cluster_.failover_auth_rank = 0;
      do_before_sleep(kTodoHandleFailover);
    }
    logf(LogLevel::warning, "Start of election delayed for {} milliseconds (rank #{}, offset {}).",
         cluster_.failover_auth_time_ms - now, cluster_.failover_auth_rank, replica_processed_offset());
    trace(TraceKind::election_scheduled, me->primary->name, static_cast<std::uint64_t>(cluster_.failover_auth_rank),
          cluster_.failover_auth_time_ms - now);
    // Let sibling replicas learn our offset so their ranks are right.
    broadcast_pong(true);
    return;
  }

  // A sibling told us a better offset since we scheduled: move back accordingly.
  if (!cluster_.failover_auth_sent && cluster_.mf_end_ms == 0) {
    int newrank = replica_rank();
    if (newrank > cluster_.failover_auth_rank) {
      Millis added = static_cast<Millis>(newrank - cluster_.failover_auth_rank) * 1000;
      cluster_.failover_auth_time_ms += added;
      cluster_.failover_auth_rank = newrank;
      logf(LogLevel::warning, "Replica rank updated to #{}, added {} milliseconds of delay.", newrank, added);
    }
  }

  if (now < cluster_.failover_auth_time_ms) {
    log_cant_failover(CantFailoverReason::waiting_delay);
    return;
  }
  if (auth_age > auth_timeout) {
    log_cant_failover(CantFailoverReason::expired);
    return;
  }

  if (!cluster_.failover_auth_sent) {
    cluster_.current_epoch.v++;
    cluster_.failover_auth_epoch = cluster_.current_epoch.v;
    logf(LogLevel::warning, "Starting a failover election for epoch {}.", cluster_.current_epoch.v);
    trace(TraceKind::election_started, me->primary->name, cluster_.current_epoch.v);
    request_failover_auth();
    cluster_.failover_auth_sent = true;
    do_before_sleep(kTodoSaveConfig | kTodoUpdateState | kTodoFsyncConfig);
    return;
  }

  if (cluster_.failover_auth_count >= needed_quorum) {
    log(LogLevel::warning, "Failover election won: I'm the new master.");
    if (me->config_epoch.v < cluster_.failover_auth_epoch) {
      me->config_epoch.v = cluster_.failover_auth_epoch;
      logf(LogLevel::warning, "configEpoch set to {} after successful failover", me->config_epoch.v);
      trace(TraceKind::config_epoch_changed, me->name, me->config_epoch.v);
    }
    failover_replace_your_primary();
  } else {
    log_cant_failover(CantFailoverReason::waiting_votes);
  }
}

}  // namespace slotlab
