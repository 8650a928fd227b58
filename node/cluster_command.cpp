// CLUSTER <subcommand> (Redis cluster.c clusterCommand and its reply helpers), with Redis 7.0's
// reply texts and errors: redis-cli --cluster and the Redis test suite match on them.
#include "node/commands.hpp"
#include "node/crc.hpp"

namespace slotlab {

namespace {
constexpr const char* kMessageTypeNames[kMessageTypeCount] = {
    "ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update", "mfstart", "module", "publishshard"};

// getSlotOrReply
int slot_or_reply(const std::string& arg, resp::Writer& w) {
  auto v = parse_ll(arg);
  if (!v || *v < 0 || *v >= kSlotCount) {
    w.error("ERR Invalid or out of range slot");
    return -1;
  }
  return static_cast<int>(*v);
}

const char* const kClusterHelp[] = {
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node to being a master.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "LINKS",
    "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes of a link",
    "HELP",
    "    Prints this help.",
};
}  // namespace

std::string Node::cluster_info_text() const {
  // Counted per node rather than per slot: every assigned slot is in exactly one node's bitmap
  // (check_invariants), so the sums are the same as Redis's scan of the slot table.
  int assigned = 0, ok = 0, pfail = 0, fail = 0;
  for (const ClusterNode* n : cluster_.order) {
    if (n->numslots == 0) continue;
    assigned += n->numslots;
    if (n->failed()) {
      fail += n->numslots;
    } else if (n->timed_out()) {
      pfail += n->numslots;
    } else {
      ok += n->numslots;
    }
  }
  const ClusterNode* me = cluster_.myself;
  std::uint64_t myepoch = (me->is_replica() && me->primary != nullptr) ? me->primary->config_epoch.v : me->config_epoch.v;
  std::string info = fmt::format(
      "cluster_state:{}\r\ncluster_slots_assigned:{}\r\ncluster_slots_ok:{}\r\ncluster_slots_pfail:{}\r\n"
      "cluster_slots_fail:{}\r\ncluster_known_nodes:{}\r\ncluster_size:{}\r\ncluster_current_epoch:{}\r\n"
      "cluster_my_epoch:{}\r\n",
      cluster_.state == ClusterHealth::ok ? "ok" : "fail", assigned, ok, pfail, fail, cluster_.nodes.size(),
      cluster_.size, cluster_.current_epoch.v, myepoch);
  std::uint64_t tot_sent = 0, tot_recv = 0;
  for (int i = 0; i < kMessageTypeCount; ++i) {
    auto n = cluster_.stats_sent[static_cast<std::size_t>(i)];
    if (n == 0) continue;
    tot_sent += n;
    fmt::format_to(std::back_inserter(info), "cluster_stats_messages_{}_sent:{}\r\n", kMessageTypeNames[i], n);
  }
  fmt::format_to(std::back_inserter(info), "cluster_stats_messages_sent:{}\r\n", tot_sent);
  for (int i = 0; i < kMessageTypeCount; ++i) {
    auto n = cluster_.stats_received[static_cast<std::size_t>(i)];
    if (n == 0) continue;
    tot_recv += n;
    fmt::format_to(std::back_inserter(info), "cluster_stats_messages_{}_received:{}\r\n", kMessageTypeNames[i], n);
  }
  fmt::format_to(std::back_inserter(info), "cluster_stats_messages_received:{}\r\n", tot_recv);
  fmt::format_to(std::back_inserter(info), "total_cluster_links_buffer_limit_exceeded:{}\r\n",
                 cluster_.stat_links_buffer_limit_exceeded);
  return info;
}

namespace {
void node_to_node_reply(resp::Writer& w, const ClusterNode* node, const std::string& endpoint_type) {
  w.array(4);
  if (endpoint_type == "hostname") {
    w.bulk(node->hostname.empty() ? std::string("?") : node->hostname);
  } else if (endpoint_type == "unknown-endpoint") {
    w.null_bulk();
  } else {
    w.bulk(node->ip);
  }
  w.integer(node->port);
  w.bulk(node->name.view());
  int length = 0;
  if (endpoint_type != "ip") ++length;
  if (endpoint_type != "hostname" && !node->hostname.empty()) ++length;
  w.array(static_cast<std::size_t>(length) * 2);  // a map in RESP2 is a flat array
  if (endpoint_type != "ip") {
    w.bulk("ip");
    w.bulk(node->ip);
  }
  if (endpoint_type != "hostname" && !node->hostname.empty()) {
    w.bulk("hostname");
    w.bulk(node->hostname);
  }
}
}  // namespace

void Node::cluster_reply_slots(resp::Writer& w) {
  // Ranges from the slot table; each with the owner then its available replicas.
  struct Range {
    int start, end;
    const ClusterNode* owner;
  };
  std::vector<Range> ranges;
  const ClusterNode* n = nullptr;
  int start = -1;
  for (int i = 0; i <= kSlotCount; ++i) {
    const ClusterNode* cur = i < kSlotCount ? cluster_.slots[static_cast<std::size_t>(i)] : nullptr;
    if (n == nullptr) {
      if (i == kSlotCount) break;
      n = cur;
      start = i;
      continue;
    }
    if (i == kSlotCount || cur != n) {
      ranges.push_back({start, i - 1, n});
      if (i == kSlotCount) break;
      n = cur;
      start = i;
    }
  }
  auto available = [&](const ClusterNode* r) {
    if (r->failed()) return false;
    std::int64_t off = r->is_myself() ? replica_processed_offset() : r->repl_offset;
    return off != 0;
  };
  w.array(ranges.size());
  for (const Range& r : ranges) {
    std::vector<const ClusterNode*> reps;
    for (const ClusterNode* rep : r.owner->replicas)
      if (available(rep)) reps.push_back(rep);
    w.array(3 + reps.size());
    w.integer(r.start);
    w.integer(r.end);
    node_to_node_reply(w, r.owner, config_.cluster_preferred_endpoint_type);
    for (const ClusterNode* rep : reps) node_to_node_reply(w, rep, config_.cluster_preferred_endpoint_type);
  }
}

void Node::cluster_reply_shards(resp::Writer& w) {
  std::vector<const ClusterNode*> primaries;
  for (const auto& [id, node] : cluster_.nodes)
    if (node->is_primary()) primaries.push_back(node.get());
  w.array(primaries.size());
  for (const ClusterNode* p : primaries) {
    // slots: start/end pairs of this primary from the slot table
    std::vector<int> pairs;
    int start = -1;
    for (int i = 0; i <= kSlotCount; ++i) {
      bool mine = i < kSlotCount && cluster_.slots[static_cast<std::size_t>(i)] == p;
      if (mine && start < 0) start = i;
      if (!mine && start >= 0) {
        pairs.push_back(start);
        pairs.push_back(i - 1);
        start = -1;
      }
    }
    w.array(4);
    w.bulk("slots");
    w.array(pairs.size());
    for (int v : pairs) w.integer(v);
    w.bulk("nodes");
    std::vector<const ClusterNode*> members{p};
    for (const ClusterNode* r : p->replicas) members.push_back(r);
    w.array(members.size());
    for (const ClusterNode* m : members) {
      std::int64_t offset = m->is_myself() ? replication_offset() : m->repl_offset;
      const char* health = m->failed() ? "fail" : (m->is_replica() && offset == 0 ? "loading" : "online");
      std::string endpoint = config_.cluster_preferred_endpoint_type == "hostname"
                                 ? (m->hostname.empty() ? "?" : m->hostname)
                                 : (config_.cluster_preferred_endpoint_type == "ip" ? m->ip : "");
      std::size_t fields = 7 + (m->hostname.empty() ? 0 : 1);
      w.array(fields * 2);
      w.bulk("id");
      w.bulk(m->name.view());
      w.bulk("port");
      w.integer(m->port);
      w.bulk("ip");
      w.bulk(m->ip);
      w.bulk("endpoint");
      w.bulk(endpoint);
      if (!m->hostname.empty()) {
        w.bulk("hostname");
        w.bulk(m->hostname);
      }
      w.bulk("role");
      w.bulk(m->is_replica() ? "replica" : "master");
      w.bulk("replication-offset");
      w.integer(offset);
      w.bulk("health");
      w.bulk(health);
    }
  }
}

void Node::cmd_cluster(Client& c, const Argv& argv, resp::Writer& w) {
  (void)c;
  if (!config_.cluster_enabled) {
    w.error("ERR This instance has cluster support disabled");
    return;
  }
  const std::string& sub = argv[1];
  const std::size_t argc = argv.size();
  ClusterNode* me = cluster_.myself;
  auto syntax_error = [&] {
    w.error(fmt::format("ERR unknown subcommand or wrong number of arguments for '{:.128}'. Try CLUSTER HELP.", sub));
  };
  auto lookup = [&](const std::string& id) -> ClusterNode* {
    NodeId nid;
    if (!NodeId::parse(id, nid)) return nullptr;
    return cluster_.lookup(nid);
  };

  if (equals_nocase(sub, "help")) {
    w.array(std::size(kClusterHelp) + 1);
    w.simple("CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    for (const char* line : kClusterHelp) w.simple(line);
  } else if (equals_nocase(sub, "meet") && (argc == 4 || argc == 5)) {
    auto port = parse_ll(argv[3]);
    if (!port) {
      w.error(fmt::format("ERR Invalid TCP base port specified: {}", argv[3]));
      return;
    }
    std::int64_t cport = *port + kBusPortIncr;
    if (argc == 5) {
      auto cp = parse_ll(argv[4]);
      if (!cp) {
        w.error(fmt::format("ERR Invalid TCP bus port specified: {}", argv[4]));
        return;
      }
      cport = *cp;
    }
    if (!start_handshake(argv[2], static_cast<int>(*port), static_cast<int>(cport))) {
      w.error(fmt::format("ERR Invalid node address specified: {}:{}", argv[2], argv[3]));
      return;
    }
    w.simple("OK");
  } else if (equals_nocase(sub, "nodes") && argc == 2) {
    w.verbatim(cluster_nodes_text());
  } else if (equals_nocase(sub, "myid") && argc == 2) {
    w.bulk(me->name.view());
  } else if (equals_nocase(sub, "slots") && argc == 2) {
    cluster_reply_slots(w);
  } else if (equals_nocase(sub, "shards") && argc == 2) {
    cluster_reply_shards(w);
  } else if (equals_nocase(sub, "flushslots") && argc == 2) {
    if (db(0).size() != 0) {
      w.error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
      return;
    }
    del_node_slots(me);
    trace(TraceKind::slots_changed, me->name, 0, me->numslots);
    do_before_sleep(kTodoUpdateState | kTodoSaveConfig);
    w.simple("OK");
  } else if ((equals_nocase(sub, "addslots") || equals_nocase(sub, "delslots")) && argc >= 3) {
    bool del = equals_nocase(sub, "delslots");
    std::vector<unsigned char> slots(kSlotCount, 0);
    std::vector<int> parsed;
    parsed.reserve(argc - 2);
    for (std::size_t j = 2; j < argc; ++j) {
      int s = slot_or_reply(argv[j], w);
      if (s < 0) return;
      parsed.push_back(s);
    }
    for (int s : parsed) {
      auto idx = static_cast<std::size_t>(s);
      if (del && cluster_.slots[idx] == nullptr) {
        w.error(fmt::format("ERR Slot {} is already unassigned", s));
        return;
      }
      if (!del && cluster_.slots[idx] != nullptr) {
        w.error(fmt::format("ERR Slot {} is already busy", s));
        return;
      }
      if (slots[idx]++ == 1) {
        w.error(fmt::format("ERR Slot {} specified multiple times", s));
        return;
      }
    }
    for (int j = 0; j < kSlotCount; ++j) {
      if (slots[static_cast<std::size_t>(j)] == 0) continue;
      cluster_.open_slots.set_importing(j, nullptr);
      bool ok = del ? del_slot(j) : add_slot(me, j);
      SLOTLAB_ASSERT(ok);
    }
    trace(TraceKind::slots_changed, me->name, 0, me->numslots);
    do_before_sleep(kTodoUpdateState | kTodoSaveConfig);
    w.simple("OK");
  } else if ((equals_nocase(sub, "addslotsrange") || equals_nocase(sub, "delslotsrange")) && argc >= 4) {
    if (argc % 2 == 1) {
      w.error(fmt::format("ERR wrong number of arguments for 'cluster|{}' command", to_lower(sub)));
      return;
    }
    bool del = equals_nocase(sub, "delslotsrange");
    std::vector<unsigned char> slots(kSlotCount, 0);
    for (std::size_t j = 2; j < argc; j += 2) {
      int a = slot_or_reply(argv[j], w);
      if (a < 0) return;
      int b = slot_or_reply(argv[j + 1], w);
      if (b < 0) return;
      if (a > b) {
        w.error(fmt::format("ERR start slot number {} is greater than end slot number {}", a, b));
        return;
      }
      for (int s = a; s <= b; ++s) {
        auto idx = static_cast<std::size_t>(s);
        if (del && cluster_.slots[idx] == nullptr) {
          w.error(fmt::format("ERR Slot {} is already unassigned", s));
          return;
        }
        if (!del && cluster_.slots[idx] != nullptr) {
          w.error(fmt::format("ERR Slot {} is already busy", s));
          return;
        }
        if (slots[idx]++ == 1) {
          w.error(fmt::format("ERR Slot {} specified multiple times", s));
          return;
        }
      }
    }
    for (int j = 0; j < kSlotCount; ++j) {
      if (slots[static_cast<std::size_t>(j)] == 0) continue;
      cluster_.open_slots.set_importing(j, nullptr);
      bool ok = del ? del_slot(j) : add_slot(me, j);
      SLOTLAB_ASSERT(ok);
    }
    trace(TraceKind::slots_changed, me->name, 0, me->numslots);
    do_before_sleep(kTodoUpdateState | kTodoSaveConfig);
    w.simple("OK");
  } else if (equals_nocase(sub, "setslot") && argc >= 4) {
    if (me->is_replica()) {
      w.error("ERR Please use SETSLOT only with masters.");
      return;
    }
    int slot = slot_or_reply(argv[2], w);
    if (slot < 0) return;
    auto idx = static_cast<std::size_t>(slot);
    const std::string& action = argv[3];
    if (equals_nocase(action, "migrating") && argc == 5) {
      if (cluster_.slots[idx] != me) {
        w.error(fmt::format("ERR I'm not the owner of hash slot {}", slot));
        return;
      }
      ClusterNode* n = lookup(argv[4]);
      if (n == nullptr) {
        w.error(fmt::format("ERR I don't know about node {}", argv[4]));
        return;
      }
      if (n->is_replica()) {
        w.error("ERR Target node is not a master");
        return;
      }
      cluster_.open_slots.set_migrating(slot, n);
    } else if (equals_nocase(action, "importing") && argc == 5) {
      if (cluster_.slots[idx] == me) {
        w.error(fmt::format("ERR I'm already the owner of hash slot {}", slot));
        return;
      }
      ClusterNode* n = lookup(argv[4]);
      if (n == nullptr) {
        w.error(fmt::format("ERR I don't know about node {}", argv[4]));
        return;
      }
      if (n->is_replica()) {
        w.error("ERR Target node is not a master");
        return;
      }
      cluster_.open_slots.set_importing(slot, n);
    } else if (equals_nocase(action, "stable") && argc == 4) {
      cluster_.open_slots.set_importing(slot, nullptr);
      cluster_.open_slots.set_migrating(slot, nullptr);
    } else if (equals_nocase(action, "node") && argc == 5) {
      ClusterNode* n = lookup(argv[4]);
      if (n == nullptr) {
        w.error(fmt::format("ERR Unknown node {}", argv[4]));
        return;
      }
      if (n->is_replica()) {
        w.error("ERR Target node is not a master");
        return;
      }
      // Keys of a slot we serve must have moved before the slot can go to another node.
      if (cluster_.slots[idx] == me && n != me && db(0).count_in_slot(static_cast<Slot>(slot)) != 0) {
        w.error(fmt::format("ERR Can't assign hashslot {} to a different node while I still hold keys for this hash slot.",
                            slot));
        return;
      }
      // With no keys left, a migrating slot is closed by assigning it.
      if (db(0).count_in_slot(static_cast<Slot>(slot)) == 0) cluster_.open_slots.set_migrating(slot, nullptr);
      bool slot_was_mine = cluster_.slots[idx] == me;
      del_slot(slot);
      add_slot(n, slot);
      if (slot_was_mine && n != me && me->numslots == 0 && config_.cluster_allow_replica_migration) {
        logf(LogLevel::warning, "Configuration change detected. Reconfiguring myself as a replica of {}",
             n->name.view());
        set_my_primary(n);
        do_before_sleep(kTodoSaveConfig | kTodoUpdateState | kTodoFsyncConfig);
      }
      if (n == me && cluster_.open_slots.importing(slot) != nullptr) {
        // A manually migrated slot: take a new epoch so the new owner wins everywhere.
        if (bump_config_epoch_without_consensus()) {
          logf(LogLevel::warning, "configEpoch updated after importing slot {}", slot);
        }
        cluster_.open_slots.set_importing(slot, nullptr);
        broadcast_pong(false);
      }
      trace(TraceKind::slots_changed, me->name, 0, me->numslots);
    } else {
      w.error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
      return;
    }
    do_before_sleep(kTodoSaveConfig | kTodoUpdateState);
    w.simple("OK");
  } else if (equals_nocase(sub, "bumpepoch") && argc == 2) {
    bool bumped = bump_config_epoch_without_consensus();
    w.simple(fmt::format("{} {}", bumped ? "BUMPED" : "STILL", me->config_epoch.v));
  } else if (equals_nocase(sub, "info") && argc == 2) {
    w.verbatim(cluster_info_text());
  } else if (equals_nocase(sub, "saveconfig") && argc == 2) {
    auto r = save_nodes_conf(true);
    if (r) {
      w.simple("OK");
    } else {
      w.error("ERR error saving the cluster node config: " + r.error().message);
    }
  } else if (equals_nocase(sub, "keyslot") && argc == 3) {
    w.integer(key_hash_slot(argv[2]));
  } else if (equals_nocase(sub, "countkeysinslot") && argc == 3) {
    auto slot = parse_ll(argv[2]);
    if (!slot) {
      w.error("ERR value is not an integer or out of range");
      return;
    }
    if (*slot < 0 || *slot >= kSlotCount) {
      w.error("ERR Invalid slot");
      return;
    }
    w.integer(static_cast<std::int64_t>(db(0).count_in_slot(static_cast<Slot>(*slot))));
  } else if (equals_nocase(sub, "getkeysinslot") && argc == 4) {
    auto slot = parse_ll(argv[2]);
    auto maxkeys = parse_ll(argv[3]);
    if (!slot || !maxkeys) {
      w.error("ERR value is not an integer or out of range");
      return;
    }
    if (*slot < 0 || *slot >= kSlotCount || *maxkeys < 0) {
      w.error("ERR Invalid slot or number of keys");
      return;
    }
    // Insertion order within the slot, as Redis's slot_to_keys lists.
    auto keys = db(0).keys_in_slot(static_cast<Slot>(*slot), static_cast<std::size_t>(*maxkeys));
    w.bulk_array(keys);
  } else if (equals_nocase(sub, "forget") && argc == 3) {
    ClusterNode* n = lookup(argv[2]);
    if (n == nullptr) {
      w.error(fmt::format("ERR Unknown node {}", argv[2]));
      return;
    }
    if (n == me) {
      w.error("ERR I tried hard but I can't forget myself...");
      return;
    }
    if (me->is_replica() && me->primary == n) {
      w.error("ERR Can't forget my master!");
      return;
    }
    blacklist_add(n->name);
    del_node(n);
    do_before_sleep(kTodoUpdateState | kTodoSaveConfig);
    w.simple("OK");
  } else if (equals_nocase(sub, "replicate") && argc == 3) {
    ClusterNode* n = lookup(argv[2]);
    if (n == nullptr) {
      w.error(fmt::format("ERR Unknown node {}", argv[2]));
      return;
    }
    if (n == me) {
      w.error("ERR Can't replicate myself");
      return;
    }
    if (n->is_replica()) {
      w.error("ERR I can only replicate a master, not a replica.");
      return;
    }
    if (me->is_primary() && (me->numslots != 0 || db(0).size() != 0)) {
      w.error("ERR To set a master the node must be empty and without assigned slots.");
      return;
    }
    set_my_primary(n);
    do_before_sleep(kTodoUpdateState | kTodoSaveConfig);
    w.simple("OK");
  } else if ((equals_nocase(sub, "slaves") || equals_nocase(sub, "replicas")) && argc == 3) {
    ClusterNode* n = lookup(argv[2]);
    if (n == nullptr) {
      w.error(fmt::format("ERR Unknown node {}", argv[2]));
      return;
    }
    if (n->is_replica()) {
      w.error("ERR The specified node is not a master");
      return;
    }
    w.array(n->replicas.size());
    for (const ClusterNode* r : n->replicas) w.bulk(node_description(r));
  } else if (equals_nocase(sub, "count-failure-reports") && argc == 3) {
    ClusterNode* n = lookup(argv[2]);
    if (n == nullptr) {
      w.error(fmt::format("ERR Unknown node {}", argv[2]));
      return;
    }
    w.integer(failure_reports_count(n));
  } else if (equals_nocase(sub, "failover") && (argc == 2 || argc == 3)) {
    bool force = false, takeover = false;
    if (argc == 3) {
      if (equals_nocase(argv[2], "force")) {
        force = true;
      } else if (equals_nocase(argv[2], "takeover")) {
        takeover = true;
        force = true;
      } else {
        w.error("ERR syntax error");
        return;
      }
    }
    if (me->is_primary()) {
      w.error("ERR You should send CLUSTER FAILOVER to a replica");
      return;
    }
    if (me->primary == nullptr) {
      w.error("ERR I'm a replica but my master is unknown to me");
      return;
    }
    if (!force && (me->primary->failed() || me->primary->link == nullptr)) {
      w.error("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE");
      return;
    }
    reset_manual_failover();
    cluster_.mf_end_ms = now_ms() + kManualFailoverTimeoutMs;
    if (takeover) {
      // No agreement at all: a new epoch of our own, take the slots, tell everyone.
      log(LogLevel::warning, "Taking over the master (user request).");
      trace(TraceKind::manual_failover_started, me->primary->name, 0, 0, "TAKEOVER");
      bump_config_epoch_without_consensus();
      failover_replace_your_primary();
    } else if (force) {
      log(LogLevel::warning, "Forced failover user request accepted.");
      trace(TraceKind::manual_failover_started, me->primary->name, 0, 0, "FORCE");
      cluster_.mf_can_start = true;
    } else {
      log(LogLevel::warning, "Manual failover user request accepted.");
      trace(TraceKind::manual_failover_started, me->primary->name, 0, 0, "default");
      send_mfstart(me->primary);
    }
    w.simple("OK");
  } else if (equals_nocase(sub, "set-config-epoch") && argc == 3) {
    auto epoch = parse_ll(argv[2]);
    if (!epoch) {
      w.error("ERR value is not an integer or out of range");
      return;
    }
    if (*epoch < 0) {
      w.error(fmt::format("ERR Invalid config epoch specified: {}", *epoch));
    } else if (cluster_.nodes.size() > 1) {
      w.error("ERR The user can assign a config epoch only when the node does not know any other node.");
    } else if (me->config_epoch.v != 0) {
      w.error("ERR Node config epoch is already non-zero");
    } else {
      me->config_epoch.v = static_cast<std::uint64_t>(*epoch);
      logf(LogLevel::warning, "configEpoch set to {} via CLUSTER SET-CONFIG-EPOCH", me->config_epoch.v);
      trace(TraceKind::config_epoch_changed, me->name, me->config_epoch.v, 0, "SET-CONFIG-EPOCH");
      if (cluster_.current_epoch.v < me->config_epoch.v) cluster_.current_epoch.v = me->config_epoch.v;
      do_before_sleep(kTodoUpdateState | kTodoSaveConfig);
      w.simple("OK");
    }
  } else if (equals_nocase(sub, "reset") && (argc == 2 || argc == 3)) {
    bool hard = false;
    if (argc == 3) {
      if (equals_nocase(argv[2], "hard")) {
        hard = true;
      } else if (!equals_nocase(argv[2], "soft")) {
        w.error("ERR syntax error");
        return;
      }
    }
    if (me->is_primary() && db(c.db).size() != 0) {
      w.error("ERR CLUSTER RESET can't be called with master nodes containing keys");
      return;
    }
    cluster_reset(hard);
    w.simple("OK");
  } else if (equals_nocase(sub, "links") && argc == 2) {
    std::vector<const ClusterLink*> links;
    for (const auto& [id, node] : cluster_.nodes) {
      if (node->link != nullptr) links.push_back(node->link);
      if (node->inbound_link != nullptr) links.push_back(node->inbound_link);
    }
    w.array(links.size());
    for (const ClusterLink* l : links) {
      w.array(12);
      w.bulk("direction");
      w.bulk(l->inbound ? "from" : "to");
      w.bulk("node");
      w.bulk(l->node->name.view());
      w.bulk("create-time");
      w.integer(l->ctime_ms);
      w.bulk("events");
      w.bulk(l->connected ? "r" : "w");
      w.bulk("send-buffer-allocated");
      w.integer(static_cast<std::int64_t>(env_.transport.pending_bytes(l->conn)));
      w.bulk("send-buffer-used");
      w.integer(static_cast<std::int64_t>(env_.transport.pending_bytes(l->conn)));
    }
  } else {
    syntax_error();
  }
}

}  // namespace slotlab
