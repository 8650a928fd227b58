// Node entry points: what the host calls (accept, connect completion, bytes, close, tick), how a
// connection is routed to the client, bus-link or replication code, and the work deferred to
// "before sleep" (Redis's beforeSleep/clusterBeforeSleep): elections that may have reached quorum,
// the cluster state, and saving nodes.conf once per event instead of once per change.
#include "node/node.hpp"

#include "node/aof.hpp"

#include <algorithm>

namespace slotlab {

const char* describe(CantFailoverReason reason) {
  switch (reason) {
    case CantFailoverReason::none: return "none";
    case CantFailoverReason::data_age:
      return "Disconnected from master for longer than allowed. Please check the "
             "'cluster-replica-validity-factor' configuration option.";
    case CantFailoverReason::waiting_delay: return "Waiting the delay before I can start a new failover.";
    case CantFailoverReason::expired: return "Failover attempt expired.";
    case CantFailoverReason::waiting_votes: return "Waiting for votes, but majority still not reached.";
  }
  return "Unknown reason code.";
}

Node::Node(Env env, NodeConfig config) : env_(env), config_(std::move(config)) {}

Node::~Node() = default;

void Node::log(LogLevel level, std::string_view message) { env_.log.log(level, message); }

void Node::trace(TraceKind kind, const NodeId& about, std::uint64_t epoch, std::int64_t value, std::string detail) {
  TraceEvent ev{kind, about, epoch, value, std::move(detail)};
  env_.observer.on_trace(ev);
}

NodeId Node::random_node_id() {
  // getRandomHexChars: 40 characters from "0123456789abcdef".
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[kNodeIdLen];
  for (int i = 0; i < kNodeIdLen; i += 16) {
    std::uint64_t r = env_.random.next_u64();
    for (int j = 0; j < 16 && i + j < kNodeIdLen; ++j) {
      buf[i + j] = kHex[r & 15];
      r >>= 4;
    }
  }
  return NodeId::from_bytes(buf);
}

Result<void> Node::start() {
  SLOTLAB_ASSERT(!started_);
  start_time_ms_ = now_ms();
  run_id_ = std::string(random_node_id().view());
  dbs_.clear();
  for (std::int64_t i = 0; i < std::max<std::int64_t>(1, config_.databases); ++i) dbs_.push_back(std::make_unique<Keyspace>());
  cluster_.first_update_state_ms = 0;
  replication_change_replid();

  if (config_.cluster_enabled) {
    auto loaded = load_nodes_conf();
    if (!loaded) return loaded.error();
    if (!*loaded) {
      ClusterNode* me = add_node(create_node(nullptr, kNodeMyself | kNodePrimary));
      cluster_.myself = me;
      logf(LogLevel::notice, "No cluster configuration found, I'm {}", me->name.view());
      auto saved = save_nodes_conf(true);
      if (!saved) {
        return make_error(Errc::io, "Fatal: can't update cluster config file: " + saved.error().message);
      }
    }
  } else {
    // Standalone: keep a "myself" record so introspection works; nothing is persisted.
    cluster_.myself = add_node(create_node(nullptr, kNodeMyself | kNodePrimary));
  }

  ClusterNode* me = cluster_.myself;
  me->port = config_.cluster_announce_port != 0 ? config_.cluster_announce_port : config_.port;
  me->pport = 0;
  me->cport = config_.cluster_announce_bus_port != 0 ? config_.cluster_announce_bus_port : config_.bus_port();
  if (!config_.cluster_announce_ip.empty()) me->ip = config_.cluster_announce_ip;
  me->hostname = config_.cluster_announce_hostname;
  reset_manual_failover();
  update_myself_flags();
  if (auto loaded = load_data_from_disk(); !loaded) return loaded.error();
  verify_cluster_config_with_data();
  started_ = true;
  trace(TraceKind::node_started, me->name);
  before_sleep();
  return {};
}

void Node::on_accept(ListenerKind kind, ConnId conn, const Endpoint& peer) {
  if (crashed_ || !started_) {
    env_.transport.close(conn);
    return;
  }
  if (kind == ListenerKind::bus) {
    if (!config_.cluster_enabled) {
      env_.transport.close(conn);
      return;
    }
    logf(LogLevel::verbose, "Accepting cluster node connection from {}:{}", peer.ip, peer.port);
    create_link(nullptr, conn, /*inbound=*/true);
  } else {
    create_client(conn, peer);
  }
  before_sleep();
}

void Node::on_connected(ConnId conn) {
  if (crashed_ || !started_) return;
  if (ClusterLink* link = links_.find(conn)) {
    link_on_connected(link);
  } else if (conn == primary_link_.conn) {
    primary_link_on_connected();
  } else if (MigrateSocket* m = migrate_socket_for(conn)) {
    migrate_on_connected(*m);
  }
  before_sleep();
}

void Node::on_bytes(ConnId conn, std::string_view bytes) {
  if (crashed_ || !started_) return;
  if (ClusterLink* link = links_.find(conn)) {
    link_on_bytes(link, bytes);
  } else if (auto ct = clients_.find(conn); ct != clients_.end()) {
    client_on_bytes(*ct->second, bytes);
  } else if (conn == primary_link_.conn && conn != kNoConn) {
    primary_link_on_bytes(bytes);
  } else if (MigrateSocket* m = migrate_socket_for(conn)) {
    migrate_on_bytes(*m, bytes);
  }
  before_sleep();
}

void Node::on_closed(ConnId conn, CloseReason reason) {
  if (crashed_ || !started_) return;
  if (ClusterLink* link = links_.find(conn)) {
    if (!link->inbound && !link->connected && link->node != nullptr) {
      logf(LogLevel::verbose, "Connection with Node {} at {}:{} failed: {}", link->node->name.view(),
           link->node->ip, link->node->cport,
           reason == CloseReason::refused ? "Connection refused" : "Connection timed out");
    } else {
      log(LogLevel::debug, "I/O error reading from node link: connection closed");
    }
    link->closed_by_peer = true;
    free_link(link);
  } else if (auto ct = clients_.find(conn); ct != clients_.end()) {
    free_client(*ct->second, /*close_conn=*/false);
  } else if (conn == primary_link_.conn && conn != kNoConn) {
    primary_link_on_closed(reason);
  } else if (MigrateSocket* m = migrate_socket_for(conn)) {
    migrate_on_closed(*m);
  }
  before_sleep();
}

void Node::on_tick() {
  if (crashed_ || !started_) return;
  ++tick_count_;
  last_cron_ms_ = now_ms();
  // serverCron at hz 10: clusterCron every 100 ms, replicationCron every 1000 ms.
  clients_cron();
  active_expire_cycle();  // databasesCron (primaries only)
  migrate_cron();
  if (config_.cluster_enabled) cluster_cron();
  if (tick_count_ % 10 == 0) replication_cron();
  persistence_cron();
  before_sleep();
}

void Node::before_sleep() {
  if (crashed_ || !started_) return;
  process_blocked_clients();
  free_clients_to_close();
  if (crashed_ || !config_.cluster_enabled) return;
  std::uint32_t flags = cluster_.todo_before_sleep;
  cluster_.todo_before_sleep = 0;
  if ((flags & kTodoHandleManualFailover) != 0) {
    if (cluster_.myself->is_replica()) {
      handle_manual_failover();
      handle_replica_failover();
    }
  } else if ((flags & kTodoHandleFailover) != 0) {
    handle_replica_failover();
  }
  if ((flags & kTodoUpdateState) != 0) update_cluster_state();
  if ((flags & kTodoSaveConfig) != 0) save_nodes_conf_or_die((flags & kTodoFsyncConfig) != 0);
  // Work requested by the handlers above stays in todo_before_sleep for the next event, as in Redis.
}

void Node::check_invariants() const {
  SLOTLAB_ASSERT(cluster_.myself != nullptr);
  SLOTLAB_ASSERT(cluster_.lookup(cluster_.myself->name) == cluster_.myself);
  SLOTLAB_ASSERT(cluster_.current_epoch.v >= cluster_.myself->config_epoch.v || !config_.cluster_enabled ||
                 cluster_.myself->is_replica());
  // One owner per slot: every assigned slot is set in its owner's bitmap, and the bitmaps hold
  // no more bits than the table assigns, so no slot has a second owner.
  // Eight slots at a time: when one node owns all eight (the usual case), its bitmap byte must be
  // 0xFF; otherwise slot by slot. The same check as one test() per slot, several times faster.
  int assigned = 0;
  for (int b = 0; b < kSlotCount / 8; ++b) {
    const ClusterNode* const* owners = cluster_.slots.data() + b * 8;
    const ClusterNode* first = owners[0];
    // Written out, without an early exit: a straight line of loads, XORs and ORs.
    const auto f = reinterpret_cast<std::uintptr_t>(first);
    auto x = [&](int k) { return reinterpret_cast<std::uintptr_t>(owners[k]) ^ f; };
    const std::uintptr_t diff = x(1) | x(2) | x(3) | x(4) | x(5) | x(6) | x(7);
    if (first != nullptr && diff == 0 && first->slots.bytes[static_cast<std::size_t>(b)] == 0xFF) {
      assigned += 8;
      continue;
    }
    for (int k = 0; k < 8; ++k) {
      const int s = b * 8 + k;
      const ClusterNode* owner = owners[k];
      if (owner == nullptr) continue;
      ++assigned;
      SLOTLAB_ASSERT_MSG(owner->slots.test(static_cast<Slot>(s)),
                         fmt::format("slot {} owned by {} but not in its bitmap", s, owner->name.view()));
    }
  }
  SLOTLAB_ASSERT(nodes_by_name_.size() == cluster_.nodes.size());
  {
    std::size_t i = 0;
    for (const auto& [id, n] : cluster_.nodes) SLOTLAB_ASSERT(nodes_by_name_[i++] == n.get());
  }
  int in_bitmaps = 0;
  for (const ClusterNode* n : cluster_.order) {
    SLOTLAB_ASSERT(n->numslots == static_cast<int>(n->slots.count()));
    in_bitmaps += n->numslots;
    if (n->primary != nullptr) {
      SLOTLAB_ASSERT(std::find(n->primary->replicas.begin(), n->primary->replicas.end(), n) !=
                     n->primary->replicas.end());
    }
  }
  SLOTLAB_ASSERT_MSG(in_bitmaps == assigned, fmt::format("{} slots in bitmaps, {} in the table", in_bitmaps, assigned));
}

}  // namespace slotlab
