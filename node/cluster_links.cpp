// The cluster bus links (Redis cluster.c: createClusterLink, freeClusterLink,
// setClusterNodeToInboundClusterLink, clusterLinkConnectHandler, clusterReadHandler,
// clusterSendMessage, clusterBroadcastMessage, clusterNodeCronHandleReconnect).
//
// Each node pair has two TCP connections. We open one to every known node (outbound: our PINGs
// and MEETs, their PONGs) and accept one from each (inbound: their PINGs, our PONGs). A link is
// freed on any I/O error or protocol violation and the cron reconnects outbound links on its next
// run, 100 ms later. Framing follows clusterReadHandler: the first 8 bytes must carry the "RCmb"
// signature and a length of at least 2256, otherwise the link is closed; a full packet that fails
// validation is dropped and the link kept.
#include "node/node.hpp"

namespace slotlab {

ClusterLink* Node::create_link(ClusterNode* node, ConnId conn, bool inbound) {
  auto link = std::make_unique<ClusterLink>();
  link->conn = conn;
  link->ctime_ms = now_ms();
  link->inbound = inbound;
  link->node = node;
  link->connected = inbound;
  ClusterLink* raw = link.get();
  if (!inbound) node->link = raw;
  links_.insert(conn, std::move(link));
  return raw;
}

void Node::free_link(ClusterLink* link) {
  if (link->node != nullptr) {
    if (link->node->link == link) {
      SLOTLAB_ASSERT(!link->inbound);
      link->node->link = nullptr;
    } else if (link->node->inbound_link == link) {
      SLOTLAB_ASSERT(link->inbound);
      link->node->inbound_link = nullptr;
    }
  }
  SLOTLAB_ASSERT_MSG(links_.find(link->conn) == link, "freeing an unknown cluster link");
  if (!link->closed_by_peer) env_.transport.close(link->conn);
  links_.take(link->conn);  // destroys the link
}

void Node::set_inbound_link(ClusterNode* node, ClusterLink* link) {
  SLOTLAB_ASSERT(link->node == nullptr && link->inbound);
  if (node->inbound_link != nullptr) {
    // The peer reconnected before we noticed the old inbound link die: keep the new one.
    logf(LogLevel::debug, "Replacing inbound link from node {}", node->name.view());
    free_link(node->inbound_link);
  }
  node->inbound_link = link;
  link->node = node;
}

void Node::link_on_connected(ClusterLink* link) {
  ClusterNode* node = link->node;
  link->connected = true;
  if (!link->pending_out.empty()) {
    env_.transport.send(link->conn, std::move(link->pending_out));
    link->pending_out.clear();
  }
  // Queue a PING (a MEET for a node we were told to meet) at once: crucial to avoid false
  // positives in failure detection. Keep an older pending ping time if there was one.
  Millis old_ping_sent = node->ping_sent_ms;
  send_ping(link, (node->flags & kNodeMeet) != 0 ? bus::MsgType::meet : bus::MsgType::ping);
  if (old_ping_sent != 0) node->ping_sent_ms = old_ping_sent;
  // After the first packet we stop sending MEET: if no PONG ever comes, we send nothing more.
  node->flags &= static_cast<std::uint16_t>(~kNodeMeet);
  logf(LogLevel::debug, "Connecting with Node {} at {}:{}", node->name.view(), node->ip, node->cport);
}

void Node::link_on_bytes(ClusterLink* link, std::string_view bytes) {
  // Fast path: nothing buffered and whole packets in `bytes` are processed in place.
  std::string_view input = bytes;
  bool using_buffer = !link->rcvbuf.empty();
  if (using_buffer) {
    link->rcvbuf.append(bytes.data(), bytes.size());
    input = link->rcvbuf;
  }
  std::size_t consumed = 0;
  while (true) {
    std::string_view rest = input.substr(consumed);
    if (rest.size() < 8) break;
    bus::Frame frame = bus::check_frame(rest);
    if (frame.verdict == bus::FrameVerdict::close_link) {
      log(LogLevel::warning, "Bad message length or signature received from Cluster bus.");
      free_link(link);
      return;
    }
    if (frame.verdict == bus::FrameVerdict::need_more || rest.size() < frame.totlen) break;
    std::string_view packet = rest.substr(0, frame.totlen);
    consumed += frame.totlen;

    auto raw_type = static_cast<std::uint16_t>((static_cast<unsigned char>(packet[12]) << 8) |
                                               static_cast<unsigned char>(packet[13]));
    if (raw_type < kMessageTypeCount) cluster_.stats_received[raw_type]++;
    if (static_cast<int>(raw_type) == drop_packet_filter_ ||
        (dropped_bus_types_ != 0 && raw_type < 32 && ((dropped_bus_types_ >> raw_type) & 1u) != 0)) {
      log(LogLevel::warning, "Dropping packet that matches debug drop filter");
      continue;
    }
    // Decoded into one Message per node, reused packet after packet (its 4 KB of bitmaps and its
    // gossip vector are not rebuilt for every packet). Handlers never re-enter link_on_bytes.
    if (auto decoded = bus::decode_into(packet, rx_message_); !decoded) {
      logf(LogLevel::warning, "Dropping invalid cluster bus packet: {}", decoded.error().message);
      continue;
    }
    if (!process_packet(link, rx_message_, frame.totlen)) return;  // the link was freed
  }
  if (using_buffer) {
    link->rcvbuf.erase(0, consumed);
  } else if (consumed < bytes.size()) {
    link->rcvbuf.assign(bytes.data() + consumed, bytes.size() - consumed);
  }
}

void Node::send_message(ClusterLink* link, std::string&& bytes, bus::MsgType type) {
  if (link == nullptr) return;
  auto t = static_cast<std::uint16_t>(type);
  if (t < kMessageTypeCount) cluster_.stats_sent[t]++;
  if (!link->connected) {
    link->pending_out.append(bytes);
    return;
  }
  env_.transport.send(link->conn, std::move(bytes));
}

void Node::broadcast_message(const std::string& bytes, bus::MsgType type) {
  for (ClusterNode* node : cluster_.order) {
    if ((node->flags & (kNodeMyself | kNodeHandshake)) != 0) continue;
    if (node->link == nullptr) continue;
    std::string copy = bytes;
    send_message(node->link, std::move(copy), type);
  }
}

// Returns true if the node was deleted (an expired handshake).
bool Node::handle_reconnect(ClusterNode* node, Millis handshake_timeout_ms, Millis now) {
  if ((node->flags & (kNodeMyself | kNodeNoaddr)) != 0) return false;
  if (node->timed_out()) cluster_.stats_pfail_nodes++;
  if (node->in_handshake() && now - node->ctime_ms > handshake_timeout_ms) {
    del_node(node);
    return true;
  }
  if (node->link == nullptr) {
    if (node->ip.empty() || node->cport == 0) {
      // connect() would fail synchronously: claim a ping is pending so that failure detection
      // still works, exactly as Redis does.
      if (node->ping_sent_ms == 0) node->ping_sent_ms = now;
      return false;
    }
    ConnId conn = env_.transport.connect_with_nagle(Endpoint{node->ip, node->cport});
    create_link(node, conn, /*inbound=*/false);
  }
  return false;
}

}  // namespace slotlab
