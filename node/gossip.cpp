// Heartbeats and gossip (Redis cluster.c: clusterBuildMessageHdr, clusterSendPing,
// clusterBroadcastPong, clusterProcessPacket, clusterProcessGossipSection,
// clusterProcessPingExtensions, nodeUpdateAddressIfNeeded, clusterStartHandshake, clusterCron).
//
// Every PING/PONG/MEET carries the sender's full view of itself (epochs, slot bitmap, primary,
// replication offset) plus a gossip section about max(3, N/10) random other nodes and every node
// it considers PFAIL. That is how failure reports spread, how slot ownership converges, and how a
// node learns about nodes it never met. The cron pings one of five random nodes each second (the
// one with the oldest PONG) and any node whose PONG is older than node-timeout/2, so that in one
// node-timeout every pair exchanges several packets.
#include <algorithm>
#include <cstring>

#include "node/node.hpp"

namespace slotlab {

namespace {
bool ip_equal_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Redis's inet_pton + inet_ntop normalisation for CLUSTER MEET addresses. IPv4 dotted quads are
// checked and printed back canonically; IPv6 is accepted if it parses as a hextet sequence and
// printed in lower case (a full RFC 5952 compression is not needed to compare our own strings).
bool normalize_ip(const std::string& ip, std::string& out) {
  // IPv4
  int parts = 0;
  unsigned vals[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  bool ok = true;
  while (i <= ip.size() && parts < 4) {
    std::size_t start = i;
    unsigned v = 0;
    while (i < ip.size() && ip[i] >= '0' && ip[i] <= '9') {
      v = v * 10 + static_cast<unsigned>(ip[i] - '0');
      if (v > 255) ok = false;
      ++i;
    }
    if (i == start || i - start > 3) ok = false;
    vals[parts++] = v;
    if (i == ip.size()) break;
    if (ip[i] != '.') {
      ok = false;
      break;
    }
    ++i;
  }
  if (ok && parts == 4 && i == ip.size()) {
    out = fmt::format("{}.{}.{}.{}", vals[0], vals[1], vals[2], vals[3]);
    return true;
  }
  // IPv6 (coarse): hex digits, ':' and at most one "::", optionally an embedded IPv4 tail.
  if (ip.find(':') == std::string::npos || ip.size() > 45) return false;
  int colons = 0;
  for (char c : ip) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (c == ':') {
      ++colons;
    } else if (!hex && c != '.') {
      return false;
    }
  }
  if (colons < 2 || colons > 7) return false;
  out.clear();
  for (char c : ip) out.push_back((c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c);
  return true;
}
}  // namespace

bus::Header Node::build_header(bus::MsgType type) const {
  const ClusterNode* me = cluster_.myself;
  const ClusterNode* primary = (me->is_replica() && me->primary != nullptr) ? me->primary : me;
  bus::Header hdr;
  hdr.type = type;
  hdr.sender = me->name;
  if (!config_.cluster_announce_ip.empty()) hdr.myip = bus::IpString::from(config_.cluster_announce_ip);
  hdr.myslots = primary->slots;
  if (me->primary != nullptr) hdr.slaveof = me->primary->name;
  hdr.port = config_.cluster_announce_port != 0 ? config_.cluster_announce_port : config_.port;
  hdr.pport = 0;
  hdr.cport = config_.cluster_announce_bus_port != 0 ? config_.cluster_announce_bus_port : config_.bus_port();
  hdr.flags = me->flags;
  hdr.state = static_cast<std::uint8_t>(cluster_.state);
  hdr.current_epoch = cluster_.current_epoch.v;
  hdr.config_epoch = primary->config_epoch.v;
  hdr.offset = static_cast<std::uint64_t>(me->is_replica() ? replica_processed_offset() : master_repl_offset_);
  if (me->is_primary() && cluster_.mf_end_ms != 0) hdr.mflags[0] |= bus::kMflagPaused;
  return hdr;
}

namespace {
bus::GossipEntry gossip_entry_for(const ClusterNode* n) {
  bus::GossipEntry g;
  g.name = n->name;
  g.ping_sent_s = static_cast<std::uint32_t>(n->ping_sent_ms / 1000);
  g.pong_received_s = static_cast<std::uint32_t>(n->pong_received_ms / 1000);
  g.ip = bus::IpString::from(n->ip);
  g.port = n->port;
  g.cport = n->cport;
  g.flags = n->flags;
  g.pport = n->pport;
  return g;
}
}  // namespace

void Node::send_ping(ClusterLink* link, bus::MsgType type) {
  ++pings_sent_;
  int nodes = static_cast<int>(cluster_.order.size());
  int freshnodes = nodes - 2;
  // 1/10 of the nodes, at least 3: with N/10 entries per packet and ~8 packets per pair in the
  // 2 x node-timeout report window, a PFAIL node collects reports from a majority of primaries.
  int wanted = std::max(3, nodes / 10);
  wanted = std::min(wanted, freshnodes);
  int pfail_wanted = cluster_.stats_pfail_nodes;

  // One Message per node, reused: send_ping sets every field a PING/PONG/MEET encodes (header,
  // gossip, hostname) and no other field is ever set on it.
  bus::Message& msg = tx_ping_;
  msg.gossip.clear();
  msg.hostname.reset();
  if (!link->inbound && type == bus::MsgType::ping) link->node->ping_sent_ms = now_ms();
  msg.hdr = build_header(type);
  msg.gossip.reserve(static_cast<std::size_t>(std::max(0, wanted) + pfail_wanted));

  int maxiterations = wanted * 3;
  // Prefetch hints (issue 7): the random picks are known in advance (Random::peek_u64 does not
  // consume the stream), so each pick's record is requested a few draws before it is used. Two
  // stages, because the node table's pointer array is itself cold: the slot of the pick 30 draws
  // ahead, then the record of the pick 16 draws ahead (its slot has arrived by then). Each pick's
  // index is computed once, when it is first peeked, and kept in `ring` (one modulo per draw
  // instead of three); the draw itself still consumes the stream, and the value consumed is
  // checked to be the one peeked. Only the draws this loop can make are peeked (the peeked values
  // stay in the stream for whoever draws next).
  constexpr int kSlotAhead = 30;
  constexpr int kRecordAhead = 16;
  constexpr int kRing = 32;
  static_assert(kSlotAhead < Random::kLookahead && kSlotAhead <= kRing);
  const int max_draws = freshnodes > 0 && wanted > 0 ? std::max(0, maxiterations) : 0;
  const std::uint64_t table_size = cluster_.order.size();
  std::array<std::uint64_t, kRing> ring_raw{};
  std::array<std::uint64_t, kRing> ring_index{};
  int draws = 0;
  auto peek = [&](int d) {  // pick number d (d >= draws), peeked and its slot prefetched
    const std::uint64_t raw = env_.random.peek_u64(d - draws);
    ring_raw[static_cast<std::size_t>(d % kRing)] = raw;
    ring_index[static_cast<std::size_t>(d % kRing)] = raw % table_size;
    __builtin_prefetch(&cluster_.order[raw % table_size]);
  };
  auto prefetch_record = [&](int d) {
    const char* p = reinterpret_cast<const char*>(cluster_.order[ring_index[static_cast<std::size_t>(d % kRing)]]);
    __builtin_prefetch(p);
    __builtin_prefetch(p + 64);
    __builtin_prefetch(p + 128);
  };
  for (int d = 0; d < std::min(kSlotAhead, max_draws); ++d) peek(d);
  for (int d = 0; d < std::min(kRecordAhead, max_draws); ++d) prefetch_record(d);
  while (freshnodes > 0 && static_cast<int>(msg.gossip.size()) < wanted && maxiterations-- > 0) {
    const int d = draws;
    // below(table_size) is next_u64() % table_size, and the pick was peeked from that very value.
    const std::uint64_t raw = env_.random.next_u64();
    SLOTLAB_ASSERT(raw == ring_raw[static_cast<std::size_t>(d % kRing)]);
    ClusterNode* candidate = cluster_.order[ring_index[static_cast<std::size_t>(d % kRing)]];
    ++draws;
    if (d + kSlotAhead < max_draws) peek(d + kSlotAhead);
    if (d + kRecordAhead < max_draws) prefetch_record(d + kRecordAhead);
    if (candidate == cluster_.myself) continue;
    if (candidate->timed_out()) continue;  // PFAIL nodes are appended below
    if ((candidate->flags & (kNodeHandshake | kNodeNoaddr)) != 0 ||
        (candidate->link == nullptr && candidate->numslots == 0)) {
      --freshnodes;  // not exactly right, but saves CPU (as in Redis)
      continue;
    }
    if (candidate->last_in_ping_gossip == pings_sent_) continue;
    msg.gossip.push_back(gossip_entry_for(candidate));
    candidate->last_in_ping_gossip = pings_sent_;
    --freshnodes;
  }
  if (pfail_wanted > 0) {
    for (ClusterNode* n : cluster_.order) {
      if (pfail_wanted <= 0) break;
      if ((n->flags & (kNodeHandshake | kNodeNoaddr)) != 0) continue;
      if (!n->timed_out()) continue;
      msg.gossip.push_back(gossip_entry_for(n));
      --pfail_wanted;
    }
  }
  if (!cluster_.myself->hostname.empty()) msg.hostname = cluster_.myself->hostname;
  send_message(link, bus::encode(msg), type);
}

void Node::broadcast_pong(bool local_replicas_only) {
  ClusterNode* me = cluster_.myself;
  for (ClusterNode* node : cluster_.order) {
    if (node->link == nullptr) continue;
    if (node == me || node->in_handshake()) continue;
    if (local_replicas_only) {
      bool local = node->is_replica() && node->primary != nullptr &&
                   (node->primary == me || node->primary == me->primary);
      if (!local) continue;
    }
    send_ping(node->link, bus::MsgType::pong);
  }
}

// nodeIp2String: the announced ip if the packet carries one, else the peer address of the link.
std::string Node::peer_ip_for(ClusterLink* link, const bus::Header& hdr) const {
  std::string_view announced = hdr.myip.view();
  if (!announced.empty()) return std::string(announced);
  return env_.transport.peer_address(link->conn).ip;
}

bool Node::node_update_address_if_needed(ClusterNode* node, ClusterLink* link, const bus::Header& hdr) {
  // Only when the packet came on a link other than our outbound one: this compares the node's
  // address with the one its PINGs come from.
  if (link == node->link) return false;
  std::string ip = peer_ip_for(link, hdr);
  if (ip.empty()) return false;
  if (node->port == hdr.port && node->cport == hdr.cport && node->pport == hdr.pport && ip == node->ip) return false;
  node->ip = ip;
  node->port = hdr.port;
  node->pport = hdr.pport;
  node->cport = hdr.cport;
  if (node->link != nullptr) free_link(node->link);
  node->flags &= static_cast<std::uint16_t>(~kNodeNoaddr);
  logf(LogLevel::warning, "Address updated for node {}, now {}:{}", node->name.view(), node->ip, node->port);
  if (cluster_.myself->is_replica() && cluster_.myself->primary == node) replication_set_primary(node->ip, node->port);
  return true;
}

bool Node::handshake_in_progress(const std::string& ip, int port, int cport) const {
  for (const ClusterNode* n : cluster_.order) {
    if (!n->in_handshake()) continue;
    if (ip_equal_nocase(n->ip, ip) && n->port == port && n->cport == cport) return true;
  }
  return false;
}

// CLUSTER MEET: add a HANDSHAKE|MEET node with a random name at that address; the cron connects,
// sends MEET, and the first PONG gives it its real name. Returns false with no node added if the
// address is invalid (the caller reports it) or a handshake to it is already in progress.
bool Node::start_handshake(const std::string& ip, int port, int cport) {
  std::string norm;
  if (!normalize_ip(ip, norm)) return false;
  if (port <= 0 || port > 65535 || cport <= 0 || cport > 65535) return false;
  if (handshake_in_progress(norm, port, cport)) return true;
  auto n = create_node(nullptr, kNodeHandshake | kNodeMeet);
  n->ip = norm;
  n->port = static_cast<std::uint16_t>(port);
  n->cport = static_cast<std::uint16_t>(cport);
  add_node(std::move(n));
  return true;
}

void Node::process_ping_extensions(const bus::Message& msg, ClusterLink* link) {
  ClusterNode* sender = link->node != nullptr ? link->node : cluster_.lookup(msg.hdr.sender);
  if (sender == nullptr) return;
  for (std::uint16_t t : msg.unknown_extension_types) logf(LogLevel::warning, "Received unknown extension type {}", t);
  // No HOSTNAME extension means the sender has no announced hostname (7.0 behaviour).
  if (msg.hostname) {
    sender->hostname = *msg.hostname;
  } else {
    sender->hostname.clear();
  }
}

void Node::process_gossip_section(const bus::Message& msg, ClusterLink* link) {
  ClusterNode* sender = link->node != nullptr ? link->node : cluster_.lookup(msg.hdr.sender);
  ClusterNode* me = cluster_.myself;
  Millis now = now_ms();
  // The entries' lookups are pipelined (issue 7): hash entry i+24 and prefetch its index cell,
  // prefetch the record of entry i+12 (its cell has arrived by then), then process entry i. In a
  // big simulation every cell and record is a cache miss; this overlaps them. Hints only.
  const std::size_t count = msg.gossip.size();
  constexpr std::size_t kCellAhead = 24;
  constexpr std::size_t kNodeAhead = 12;
  std::array<std::uint64_t, kCellAhead> hashes{};
  for (std::size_t i = 0; i < std::min(count, kCellAhead); ++i) {
    hashes[i] = NodeIndex::hash(msg.gossip[i].name);
    cluster_.by_name.prefetch_cell(hashes[i]);
  }
  for (std::size_t i = 0; i < std::min(count, kNodeAhead); ++i) cluster_.by_name.prefetch_node(hashes[i]);
  for (std::size_t i = 0; i < count; ++i) {
    const bus::GossipEntry& g = msg.gossip[i];
    const std::uint64_t h = hashes[i % kCellAhead];
    if (i + kNodeAhead < count) cluster_.by_name.prefetch_node(hashes[(i + kNodeAhead) % kCellAhead]);
    if (i + kCellAhead < count) {
      hashes[i % kCellAhead] = NodeIndex::hash(msg.gossip[i + kCellAhead].name);
      cluster_.by_name.prefetch_cell(hashes[i % kCellAhead]);
    }
    std::uint16_t flags = g.flags;
    ClusterNode* node = cluster_.by_name.find(g.name, h);
    if (node != nullptr) {
      // Failure reports count only when they come from primaries.
      if (sender != nullptr && sender->is_primary() && node != me) {
        if ((flags & (kNodeFail | kNodePfail)) != 0) {
          if (add_failure_report(node, sender)) {
            logf(LogLevel::verbose, "Node {} reported node {} as not reachable.", sender->name.view(), node->name.view());
          }
          mark_node_as_failing_if_needed(node);
        } else if (del_failure_report(node, sender)) {
          logf(LogLevel::verbose, "Node {} reported node {} is back online.", sender->name.view(), node->name.view());
        }
      }
      // If we have no ping pending and no failure reports, borrow the sender's fresher PONG time
      // (not from the future, with 500 ms tolerance): fewer pings in big clusters.
      if ((flags & (kNodeFail | kNodePfail)) == 0 && node->ping_sent_ms == 0 && failure_reports_count(node) == 0) {
        Millis pongtime = static_cast<Millis>(g.pong_received_s) * 1000;
        if (pongtime <= now + 500 && pongtime > node->pong_received_ms) node->pong_received_ms = pongtime;
      }
      // A node we cannot reach, gossiped at a different address by someone who can: switch.
      std::string_view gip = g.ip.view();
      if ((node->flags & (kNodeFail | kNodePfail)) != 0 && (flags & kNodeNoaddr) == 0 &&
          (flags & (kNodeFail | kNodePfail)) == 0 &&
          (!ip_equal_nocase(node->ip, gip) || node->port != g.port || node->cport != g.cport)) {
        if (node->link != nullptr) free_link(node->link);
        node->ip = std::string(gip);
        node->port = g.port;
        node->pport = g.pport;
        node->cport = g.cport;
        node->flags &= static_cast<std::uint16_t>(~kNodeNoaddr);
      }
    } else {
      // Learn about a node only from a known sender (otherwise we could join another cluster
      // whose addresses got reused), never a NOADDR one, never a FORGET-blacklisted one.
      if (sender != nullptr && (flags & kNodeNoaddr) == 0 && !blacklist_exists(g.name)) {
        auto n = create_node(&g.name, flags);
        n->ip = std::string(g.ip.view());
        n->port = g.port;
        n->pport = g.pport;
        n->cport = g.cport;
        add_node(std::move(n));
      }
    }
  }
}

// clusterProcessPacket, after the packet passed validation. Returns false if `link` was freed.
bool Node::process_packet(ClusterLink* link, const bus::Message& msg, std::uint32_t /*totlen*/) {
  const bus::Header& hdr = msg.hdr;
  const bus::MsgType type = hdr.type;
  const Millis now = now_ms();
  ClusterNode* me = cluster_.myself;
  std::uint64_t sender_current_epoch = 0;
  std::uint64_t sender_config_epoch = 0;

  // getNodeFromLinkAndMsg
  ClusterNode* sender = nullptr;
  if (link->node != nullptr && !link->node->in_handshake()) {
    sender = link->node;
  } else {
    sender = cluster_.lookup(hdr.sender);
    if (sender != nullptr && link->node == nullptr) set_inbound_link(sender, link);
  }

  if (sender != nullptr) sender->data_received_ms = now;
  if (sender != nullptr && !sender->in_handshake()) {
    sender_current_epoch = hdr.current_epoch;
    sender_config_epoch = hdr.config_epoch;
    if (sender_current_epoch > cluster_.current_epoch.v) cluster_.current_epoch.v = sender_current_epoch;
    if (sender_config_epoch > sender->config_epoch.v) {
      sender->config_epoch.v = sender_config_epoch;
      do_before_sleep(kTodoSaveConfig | kTodoFsyncConfig);
    }
    sender->repl_offset = static_cast<std::int64_t>(hdr.offset);
    sender->repl_offset_time_ms = now;
    // A replica in a manual failover learns the paused primary's offset from its first PAUSED packet.
    if (cluster_.mf_end_ms != 0 && me->is_replica() && me->primary == sender &&
        (hdr.mflags[0] & bus::kMflagPaused) != 0 && cluster_.mf_primary_offset == -1) {
      cluster_.mf_primary_offset = sender->repl_offset;
      do_before_sleep(kTodoHandleManualFailover);
      logf(LogLevel::warning, "Received replication offset for paused master manual failover: {}",
           cluster_.mf_primary_offset);
    }
  }

  if (type == bus::MsgType::ping || type == bus::MsgType::meet) {
    // Learn our own address from MEETs (other nodes connect to our official address), or from
    // any PING while we know none. Not when an address is announced.
    if ((type == bus::MsgType::meet || me->ip.empty()) && config_.cluster_announce_ip.empty()) {
      std::string ip = env_.transport.local_address(link->conn).ip;
      if (!ip.empty() && ip != me->ip) {
        me->ip = ip;
        logf(LogLevel::warning, "IP address for this node updated to {}", me->ip);
        do_before_sleep(kTodoSaveConfig);
      }
    }
    if (sender == nullptr && type == bus::MsgType::meet) {
      auto n = create_node(nullptr, kNodeHandshake);
      n->ip = peer_ip_for(link, hdr);
      n->port = hdr.port;
      n->pport = hdr.pport;
      n->cport = hdr.cport;
      add_node(std::move(n));
      do_before_sleep(kTodoSaveConfig);
      // We trust a MEET's gossip even though we don't know the sender yet.
      process_gossip_section(msg, link);
    }
    send_ping(link, bus::MsgType::pong);
  }

  if (type == bus::MsgType::ping || type == bus::MsgType::pong || type == bus::MsgType::meet) {
    if (!link->inbound) {
      if (link->node->in_handshake()) {
        if (sender != nullptr) {
          // We already know this node under its real name: update its address and drop the
          // handshake node (and with it this link).
          logf(LogLevel::verbose, "Handshake: we already know node {}, updating the address if needed.",
               sender->name.view());
          if (node_update_address_if_needed(sender, link, hdr)) do_before_sleep(kTodoSaveConfig | kTodoUpdateState);
          del_node(link->node);
          return false;
        }
        rename_node(link->node, hdr.sender);
        logf(LogLevel::debug, "Handshake with node {} completed.", link->node->name.view());
        link->node->flags &= static_cast<std::uint16_t>(~kNodeHandshake);
        link->node->flags |= static_cast<std::uint16_t>(hdr.flags & (kNodePrimary | kNodeReplica));
        do_before_sleep(kTodoSaveConfig);
      } else if (!(link->node->name == hdr.sender)) {
        // The node at this address has another id now: forget the address, drop the link.
        logf(LogLevel::debug, "PONG contains mismatching sender ID. About node {} added {} ms ago, having flags {}",
             link->node->name.view(), now - link->node->ctime_ms, link->node->flags);
        ClusterNode* n = link->node;
        n->flags |= kNodeNoaddr;
        n->ip.clear();
        n->port = 0;
        n->pport = 0;
        n->cport = 0;
        free_link(link);
        do_before_sleep(kTodoSaveConfig);
        return false;
      }
    }

    // NOFAILOVER is dynamic: trust the latest value from the sender (it feeds replica ranks).
    if (sender != nullptr) {
      sender->flags &= static_cast<std::uint16_t>(~kNodeNofailover);
      sender->flags |= static_cast<std::uint16_t>(hdr.flags & kNodeNofailover);
    }

    if (sender != nullptr && type == bus::MsgType::ping && !sender->in_handshake() &&
        node_update_address_if_needed(sender, link, hdr)) {
      do_before_sleep(kTodoSaveConfig | kTodoUpdateState);
    }

    if (!link->inbound && type == bus::MsgType::pong) {
      ClusterNode* n = link->node;
      n->pong_received_ms = now;
      n->ping_sent_ms = 0;
      if (n->timed_out()) {
        n->flags &= static_cast<std::uint16_t>(~kNodePfail);
        trace(TraceKind::pfail_cleared, n->name);
        do_before_sleep(kTodoSaveConfig | kTodoUpdateState);
      } else if (n->failed()) {
        clear_node_failure_if_needed(n);
      }
    }

    // Role changes: primary <-> replica, or a replica's primary changed.
    if (sender != nullptr) {
      if (hdr.slaveof.is_null()) {
        set_node_as_primary(sender);
      } else {
        ClusterNode* primary = cluster_.lookup(hdr.slaveof);
        if (sender->is_primary()) {
          del_node_slots(sender);
          sender->flags &= static_cast<std::uint16_t>(~(kNodePrimary | kNodeMigrateTo));
          sender->flags |= kNodeReplica;
          do_before_sleep(kTodoSaveConfig | kTodoUpdateState);
        }
        if (primary != nullptr && sender->primary != primary) {
          if (sender->primary != nullptr) node_remove_replica(sender->primary, sender);
          node_add_replica(primary, sender);
          sender->primary = primary;
          do_before_sleep(kTodoSaveConfig);
        }
      }
    }

    // Slots: compare the sender's claim with our view only when they differ.
    ClusterNode* sender_primary = nullptr;
    bool dirty_slots = false;
    if (sender != nullptr) {
      sender_primary = sender->is_primary() ? sender : sender->primary;
      if (sender_primary != nullptr) dirty_slots = !(sender_primary->slots == hdr.myslots);
    }
    if (sender != nullptr && sender->is_primary() && dirty_slots) {
      update_slots_config_with(sender, sender_config_epoch, hdr.myslots);
    }
    // The reverse: the sender claims slots we know are owned with a greater configEpoch (e.g. an
    // old primary coming back after a partition). Tell it, one UPDATE per packet.
    if (sender != nullptr && dirty_slots) {
      for (int j = 0; j < kSlotCount; ++j) {
        if (!hdr.myslots.test(static_cast<Slot>(j))) continue;
        ClusterNode* owner = cluster_.slots[static_cast<std::size_t>(j)];
        if (owner == sender || is_slot_unclaimed(j)) continue;
        if (owner->config_epoch.v > sender_config_epoch) {
          logf(LogLevel::verbose, "Node {} has old slots configuration, sending an UPDATE message about {}",
               sender->name.view(), owner->name.view());
          send_update(sender->link, owner);
          break;
        }
      }
    }

    if (sender != nullptr && me->is_primary() && sender->is_primary() && sender_config_epoch == me->config_epoch.v) {
      handle_config_epoch_collision(sender);
    }

    if (sender != nullptr) {
      process_gossip_section(msg, link);
      process_ping_extensions(msg, link);
    }
  } else if (type == bus::MsgType::fail) {
    if (sender != nullptr) {
      ClusterNode* failing = cluster_.lookup(msg.fail_about);
      if (failing != nullptr && (failing->flags & (kNodeFail | kNodeMyself)) == 0) {
        logf(LogLevel::notice, "FAIL message received from {} about {}", hdr.sender.view(), msg.fail_about.view());
        failing->flags |= kNodeFail;
        failing->fail_time_ms = now;
        failing->flags &= static_cast<std::uint16_t>(~kNodePfail);
        trace(TraceKind::fail_marked, failing->name, 0, 0, "FAIL message from " + hdr.sender.str());
        do_before_sleep(kTodoSaveConfig | kTodoUpdateState);
      }
    } else {
      logf(LogLevel::notice, "Ignoring FAIL message from unknown node {} about {}", hdr.sender.view(),
           msg.fail_about.view());
    }
  } else if (type == bus::MsgType::publish || type == bus::MsgType::publishshard) {
    // Pub/Sub is not implemented by slotlab: the message is accepted and discarded, as a node with
    // no subscribers does.
  } else if (type == bus::MsgType::failover_auth_request) {
    if (sender == nullptr) return true;
    send_failover_auth_if_needed(sender, msg);
  } else if (type == bus::MsgType::failover_auth_ack) {
    if (sender == nullptr) return true;
    // Count the vote only from a primary serving slots, for this election or a later one.
    if (sender->is_primary() && sender->numslots > 0 && sender_current_epoch >= cluster_.failover_auth_epoch) {
      cluster_.failover_auth_count++;
      trace(TraceKind::auth_ack_received, sender->name, sender_current_epoch, cluster_.failover_auth_count);
      do_before_sleep(kTodoHandleFailover);
    }
  } else if (type == bus::MsgType::mfstart) {
    // Only a replica of ours may ask us to pause for its manual failover.
    if (sender == nullptr || sender->primary != me) return true;
    reset_manual_failover();
    cluster_.mf_end_ms = now + kManualFailoverTimeoutMs;
    cluster_.mf_replica = sender;
    paused_until_ms_ = now + kManualFailoverTimeoutMs * kManualFailoverPauseMult;
    logf(LogLevel::warning, "Manual failover requested by replica {}.", sender->name.view());
    trace(TraceKind::manual_failover_started, sender->name);
    // Tell the replica our offset at once (this packet carries PAUSED).
    send_ping(link, bus::MsgType::ping);
  } else if (type == bus::MsgType::update) {
    if (sender == nullptr) return true;
    ClusterNode* n = cluster_.lookup(msg.update_node);
    if (n == nullptr) return true;
    std::uint64_t reported = msg.update_config_epoch;
    if (n->config_epoch.v >= reported) return true;
    if (n->is_replica()) set_node_as_primary(n);
    n->config_epoch.v = reported;
    do_before_sleep(kTodoSaveConfig | kTodoFsyncConfig);
    update_slots_config_with(n, reported, msg.update_slots);
  } else if (type == bus::MsgType::module) {
    // No modules in slotlab: ignored like a Redis without a registered receiver.
  } else {
    logf(LogLevel::warning, "Received unknown packet type: {}", static_cast<int>(type));
  }
  return true;
}

// clusterCron, every 100 ms.
void Node::cluster_cron() {
  Millis now = now_ms();
  ClusterNode* me = cluster_.myself;
  me->hostname = config_.cluster_announce_hostname;
  Millis handshake_timeout = std::max<Millis>(config_.cluster_node_timeout_ms, 1000);
  const Millis node_timeout = config_.cluster_node_timeout_ms;

  cluster_.stats_pfail_nodes = 0;
  {
    // Reconnect / expire handshakes. Iterate over a snapshot: expired handshakes are deleted.
    std::vector<ClusterNode*> snapshot = cluster_.order;
    // Prefetch hints (issue 7): in a big simulation each record is a cache miss on every tick.
    constexpr std::size_t kAhead = 24;  // ~5 ns of work per node: far enough ahead to cover a DRAM miss
    for (std::size_t i = 0; i < std::min(kAhead, snapshot.size()); ++i) prefetch_hot(snapshot[i]);
    for (std::size_t i = 0; i < snapshot.size(); ++i) {
      if (i + kAhead < snapshot.size()) prefetch_hot(snapshot[i + kAhead]);
      handle_reconnect(snapshot[i], handshake_timeout, now);
    }
  }

  // Once a second, ping the node with the oldest PONG among five random ones.
  if (tick_count_ % 10 == 0) {
    ClusterNode* min_pong_node = nullptr;
    Millis min_pong = 0;
    for (int j = 0; j < 5; ++j) {
      ClusterNode* n = cluster_.order[env_.random.below(cluster_.order.size())];
      if (n->link == nullptr || n->ping_sent_ms != 0) continue;
      if ((n->flags & (kNodeMyself | kNodeHandshake)) != 0) continue;
      if (min_pong_node == nullptr || min_pong > n->pong_received_ms) {
        min_pong_node = n;
        min_pong = n->pong_received_ms;
      }
    }
    if (min_pong_node != nullptr) {
      logf(LogLevel::debug, "Pinging node {}", min_pong_node->name.view());
      send_ping(min_pong_node->link, bus::MsgType::ping);
    }
  }

  int orphaned_primaries = 0;
  int max_replicas = 0;
  int this_replicas = 0;
  bool update_state = false;
  for (std::size_t i = 0; i < cluster_.order.size(); ++i) {
    ClusterNode* node = cluster_.order[i];
    now = now_ms();
    if ((node->flags & (kNodeMyself | kNodeNoaddr | kNodeHandshake)) != 0) continue;

    if (me->is_replica() && node->is_primary() && !node->failed()) {
      int okreplicas = count_non_failing_replicas(node);
      if (okreplicas == 0 && node->numslots > 0 && (node->flags & kNodeMigrateTo) != 0) ++orphaned_primaries;
      max_replicas = std::max(max_replicas, okreplicas);
      if (me->primary == node) this_replicas = okreplicas;
    }

    // No data at all for node-timeout/2 while a ping is pending: the link may be stuck even if
    // the node is alive; reconnect (on the next cron).
    Millis ping_delay = now - node->ping_sent_ms;
    Millis data_delay = now - node->data_received_ms;
    // (Redis tests the link's age first; the same conjunction with the link record, a separate
    // allocation, read last, which in a big simulation saves a cache miss per node per tick.)
    if (node->link != nullptr && node->ping_sent_ms != 0 && ping_delay > node_timeout / 2 &&
        data_delay > node_timeout / 2 && now - node->link->ctime_ms > node_timeout) {
      free_link(node->link);
    }

    if (node->link != nullptr && node->ping_sent_ms == 0 && now - node->pong_received_ms > node_timeout / 2) {
      send_ping(node->link, bus::MsgType::ping);
      continue;
    }

    if (cluster_.mf_end_ms != 0 && me->is_primary() && cluster_.mf_replica == node && node->link != nullptr) {
      send_ping(node->link, bus::MsgType::ping);
      continue;
    }

    if (node->ping_sent_ms == 0) continue;

    // Any data counts as proof of life, not only PONGs.
    Millis node_delay = std::min(ping_delay, data_delay);
    if (node_delay > node_timeout) {
      if ((node->flags & (kNodePfail | kNodeFail)) == 0) {
        logf(LogLevel::debug, "*** NODE {} possibly failing", node->name.view());
        node->flags |= kNodePfail;
        update_state = true;
        trace(TraceKind::pfail_marked, node->name, 0, node_delay);
      }
    }
  }

  // A replica whose replication is off starts it once it knows its primary's address.
  if (me->is_replica() && primary_link_.state == PrimaryLink::State::none && me->primary != nullptr &&
      me->primary->has_addr()) {
    replication_set_primary(me->primary->ip, me->primary->port);
  }

  manual_failover_check_timeout();

  if (me->is_replica()) {
    handle_manual_failover();
    handle_replica_failover();
    if (orphaned_primaries > 0 && max_replicas >= 2 && this_replicas == max_replicas &&
        config_.cluster_allow_replica_migration) {
      handle_replica_migration(max_replicas);
    }
  }

  if (update_state || cluster_.state == ClusterHealth::fail) update_cluster_state();
}

}  // namespace slotlab
