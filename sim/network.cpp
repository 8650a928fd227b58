// The virtual network: pipes, per-direction item queues, stalls, resets and deliveries to actors.
// The model and its simplifications are described in network.hpp.
#include "sim/network.hpp"

#include <algorithm>
#include <utility>

#include "node/buffer_pool.hpp"
#include "node/result.hpp"

namespace slotlab::sim {

namespace {
constexpr std::uint32_t kEphemeralLow = 32768;   // Linux ip_local_port_range
constexpr std::uint32_t kEphemeralHigh = 60999;
constexpr std::uint32_t kEphemeralCount = kEphemeralHigh - kEphemeralLow + 1;
}  // namespace

Network::Network(SimContext& ctx, NetworkConfig config, Rng rng)
    : ctx_(ctx), config_(config), rng_(rng), fault_rng_(rng.split(0x6c696e6b2d666c74ull)) {}  // "link-flt"

// ---------------------------------------------------------------------------------------------
// Hosts

void Network::add_host(HostId host, const std::string& ip, std::vector<Listener> listeners) {
  SLOTLAB_ASSERT(index_of(host) == hosts_.size());
  NetHost h;
  h.ip = ip;
  h.listeners = std::move(listeners);
  hosts_.push_back(std::move(h));
  hosts_by_ip_[ip].push_back(host);
  group_of_host_.push_back(0);
  ++link_version_;
}

void Network::host_up(HostId host) {
  NetHost& h = net_host(host);
  h.running = true;
  h.paused = false;
  h.dying = false;
  h.actor = nullptr;
}

void Network::set_actor(HostId host, Actor* actor) { net_host(host).actor = actor; }

void Network::set_dying(HostId host) { net_host(host).dying = true; }

void Network::host_down(HostId host) {
  NetHost& h = net_host(host);
  h.running = false;
  h.paused = false;
  h.dying = false;
  h.actor = nullptr;
  // What the kernel held for the stopped process is gone with the process; the senders' kernels
  // had those bytes acknowledged, so they no longer count as pending for them.
  for (std::size_t i = h.held_head; i < h.held.size(); ++i) {
    const Held& cb = h.held[i];
    Pipe& p = pipe(cb.slot);
    if (cb.kind == Callback::bytes && p.live && p.gen == cb.gen) p.dirs[cb.dir].pending_bytes -= cb.bytes.size();
  }
  h.held.clear();
  h.held_head = 0;

  // The kernel closes every socket of the dead process, in ConnId order (deterministic).
  std::vector<std::pair<ConnId, std::uint32_t>> ends = h.conns.entries();
  std::sort(ends.begin(), ends.end());
  for (const auto& [id, ref] : ends) {
    const std::uint32_t slot = ref >> 1;
    const int side = static_cast<int>(ref & 1);
    Pipe& p = pipe(slot);
    End& e = p.ends[side];
    Dir& out = p.dirs[side];
    if (e.sock == Sock::connecting) {
      clear_dir(out);  // an unfinished connect is just abandoned
      out.finished = true;
    } else if (e.sock == Sock::established && !out.finished) {
      enqueue(slot, side, ItemKind::fin, {});
      out.finished = true;
    }
    e.sock = Sock::closed;
    unmap_end(slot, side);
  }
}

void Network::pause(HostId host) { net_host(host).paused = true; }

void Network::resume(HostId host) {
  NetHost& h = net_host(host);
  h.paused = false;
  if (h.held_head < h.held.size() && !h.drain_scheduled) {
    h.drain_scheduled = true;
    ctx_.schedule(ctx_.now_us, EventKind::net_drain, index_of(host));
  }
}

std::size_t Network::held_deliveries(HostId host) const {
  const NetHost& h = net_host(host);
  return h.held.size() - h.held_head;
}

std::vector<ConnId> Network::connections(HostId host) const {
  std::vector<ConnId> ids;
  const NetHost& h = net_host(host);
  ids.reserve(h.conns.size());
  for (const auto& [id, ref] : h.conns.entries()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Pipes and ends

std::uint32_t Network::alloc_pipe() {
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    if ((pipe_count_ & (kChunkSize - 1)) == 0) chunks_.push_back(std::make_unique<Pipe[]>(kChunkSize));
    slot = pipe_count_++;
  }
  Pipe& p = pipe(slot);
  p.live = true;
  ++stats_.live_pipes;
  return slot;
}

void Network::maybe_release(std::uint32_t slot) {
  Pipe& p = pipe(slot);
  if (p.live && !p.releasing && !p.ends[0].mapped && !p.ends[1].mapped) {
    p.releasing = true;
    to_release_.push_back(slot);
  }
}

void Network::end_event() {
  for (std::uint32_t slot : to_release_) {
    Pipe& p = pipe(slot);
    p.releasing = false;
    if (p.ends[0].mapped || p.ends[1].mapped) continue;  // defensive: re-adopted meanwhile
    ++p.gen;  // every event and held callback naming the old generation becomes stale
    p.live = false;
    p.resolved = false;
    p.connect_timer = false;
    p.connect_started_us = 0;
    p.listener = ListenerKind::data;
    p.ends[0] = End{};
    p.ends[1] = End{};
    for (Dir& d : p.dirs) {
      std::vector<Item> items = std::move(d.items);
      items.clear();
      d = Dir{};
      d.items = std::move(items);  // keep the capacity for the next connection in this slot
    }
    p.unresolved_target.reset();
    free_slots_.push_back(slot);
    --stats_.live_pipes;
  }
  to_release_.clear();
}

const Network::End* Network::find_end(HostId host, ConnId conn, std::uint32_t* slot_out, int* side_out) const {
  if (index_of(host) >= hosts_.size()) return nullptr;
  const NetHost& h = net_host(host);
  const std::uint32_t* ref = h.conns.find(conn);
  if (ref == nullptr) return nullptr;
  *slot_out = *ref >> 1;
  *side_out = static_cast<int>(*ref & 1);
  return &pipe(*slot_out).ends[*side_out];
}

ConnId Network::map_end(std::uint32_t slot, int side) {
  End& e = pipe(slot).ends[side];
  NetHost& h = net_host(e.host);
  e.id = h.next_conn++;
  e.mapped = true;
  h.conns.insert(e.id, slot * 2 + static_cast<std::uint32_t>(side));
  return e.id;
}

void Network::unmap_end(std::uint32_t slot, int side) {
  End& e = pipe(slot).ends[side];
  if (!e.mapped) return;
  e.mapped = false;
  net_host(e.host).conns.erase(e.id);
  maybe_release(slot);
}

std::uint16_t Network::ephemeral_port(HostId host) {
  NetHost& h = net_host(host);
  const std::uint32_t n = h.next_port++;
  return static_cast<std::uint16_t>(kEphemeralLow + n % kEphemeralCount);
}

Endpoint Network::endpoint_of(const Pipe& p, int side) const {
  if (side == 1 && !p.resolved) return p.unresolved_target ? *p.unresolved_target : Endpoint{};
  const End& e = p.ends[side];
  return Endpoint{net_host(e.host).ip, e.port};
}

// ---------------------------------------------------------------------------------------------
// Transport

ConnId Network::connect(HostId host, const Endpoint& to) {
  ++stats_.connects;
  const std::uint32_t slot = alloc_pipe();
  Pipe& p = pipe(slot);
  End& client = p.ends[0];
  client.host = host;
  client.port = ephemeral_port(host);
  client.sock = Sock::connecting;
  const ConnId id = map_end(slot, 0);
  p.connect_started_us = ctx_.now_us;

  auto it = hosts_by_ip_.find(to.ip);
  if (it == hosts_by_ip_.end()) {
    // Nobody has this address: SYNs go unanswered until the connect timeout.
    p.resolved = false;
    p.unresolved_target = std::make_unique<Endpoint>(to);
  } else {
    // Several hosts may share an IP (127.0.0.1 with one port each): pick the one listening on the
    // port, else the first (whose kernel will refuse).
    HostId target = it->second.front();
    for (HostId cand : it->second) {
      const auto& ls = net_host(cand).listeners;
      if (std::any_of(ls.begin(), ls.end(), [&](const Listener& l) { return l.port == to.port; })) {
        target = cand;
        break;
      }
    }
    p.resolved = true;
    p.ends[1].host = target;
    p.ends[1].port = to.port;
    enqueue(slot, 0, ItemKind::syn, {});
  }
  // The connect timeout is armed only when it can matter: now for an unknown address, otherwise
  // when the handshake stalls (stall()) or is slower than the timeout (enqueue()). A million
  // successful connects leave no million timers behind in the queue.
  if (!p.resolved) arm_connect_timeout(slot);
  return id;
}

void Network::send(HostId host, ConnId conn, std::string&& bytes) {
  std::uint32_t slot = 0;
  int side = 0;
  const End* e = find_end(host, conn, &slot, &side);
  if (e == nullptr || bytes.empty()) return;
  if (e->sock != Sock::connecting && e->sock != Sock::established) return;  // EPIPE: ignored
  Dir& d = pipe(slot).dirs[side];
  if (d.finished) return;
  ++stats_.chunks_sent;
  stats_.bytes_sent += bytes.size();
  if (config_.split_sends_per_million != 0 && bytes.size() > 1 && rng_.chance(config_.split_sends_per_million)) {
    const auto cut = static_cast<std::size_t>(1 + rng_.below(bytes.size() - 1));
    std::string first = bytes.substr(0, cut);
    bytes.erase(0, cut);
    enqueue(slot, side, ItemKind::data, std::move(first));
  }
  enqueue(slot, side, ItemKind::data, std::move(bytes));
}

void Network::close(HostId host, ConnId conn) {
  std::uint32_t slot = 0;
  int side = 0;
  if (find_end(host, conn, &slot, &side) == nullptr) return;
  Pipe& p = pipe(slot);
  End& e = p.ends[side];
  Dir& out = p.dirs[side];
  if (e.sock == Sock::connecting) {
    // close() during SYN_SENT abandons the attempt; if the peer already accepted, our kernel
    // answers its SYN-ACK with a reset.
    clear_dir(out);
    out.finished = true;
  } else if (e.sock == Sock::established && !out.finished) {
    enqueue(slot, side, ItemKind::fin, {});
    out.finished = true;
  }
  e.sock = Sock::closed;
  unmap_end(slot, side);
}

Endpoint Network::local_address(HostId host, ConnId conn) const {
  std::uint32_t slot = 0;
  int side = 0;
  if (find_end(host, conn, &slot, &side) == nullptr) return {};
  return endpoint_of(pipe(slot), side);
}

Endpoint Network::peer_address(HostId host, ConnId conn) const {
  std::uint32_t slot = 0;
  int side = 0;
  if (find_end(host, conn, &slot, &side) == nullptr) return {};
  return endpoint_of(pipe(slot), 1 - side);
}

std::uint64_t Network::pending_bytes(HostId host, ConnId conn) const {
  std::uint32_t slot = 0;
  int side = 0;
  if (find_end(host, conn, &slot, &side) == nullptr) return 0;
  return pipe(slot).dirs[side].pending_bytes;
}

// ---------------------------------------------------------------------------------------------
// Directions: latency, ordering, stalls

void Network::refresh_link(Dir& d, HostId from, HostId to) {
  if (d.link_version == link_version_) return;
  d.link_version = link_version_;
  const std::uint32_t f = index_of(from);
  const std::uint32_t t = index_of(to);
  d.link_blocked = group_of_host_[f] != group_of_host_[t] ||
                   (!blocked_links_.empty() && blocked_links_.count({f, t}) != 0);
  d.link_extra_us = 0;
  if (!link_extra_us_.empty()) {
    auto it = link_extra_us_.find({std::min(f, t), std::max(f, t)});
    if (it != link_extra_us_.end()) d.link_extra_us = it->second;
  }
}

std::int64_t Network::draw_latency(Dir& d, HostId from, HostId to) {
  refresh_link(d, from, to);
  return config_.latency_min_us + rng_.exponential(config_.latency_mean_extra_us) + d.link_extra_us;
}

void Network::enqueue(std::uint32_t slot, int dir, ItemKind kind, std::string&& bytes) {
  Pipe& p = pipe(slot);
  Dir& d = p.dirs[dir];
  Item item;
  item.kind = kind;
  item.sent_at_us = ctx_.now_us;
  if (kind == ItemKind::data) d.pending_bytes += bytes.size();
  item.bytes = std::move(bytes);
  if (p.resolved) {
    std::int64_t latency = draw_latency(d, p.ends[dir].host, p.ends[1 - dir].host);
    if (!link_faults_.empty()) {
      bool doomed = false;
      latency += link_fault_delay(p, dir, item, doomed);
      if (doomed && kind != ItemKind::syn && kind != ItemKind::syn_ack) {
        // tcp_retries2 exhausted: the sender gives up at most retransmit_timeout after sending.
        latency = std::min(latency, config_.retransmit_timeout_us);
        item.doomed = true;
      }
    }
    const std::int64_t t = std::max(d.last_deliver_us, ctx_.now_us + latency);
    d.last_deliver_us = t;
    item.deliver_at_us = t;
  }
  const bool handshake = kind == ItemKind::syn || kind == ItemKind::syn_ack || kind == ItemKind::refused;
  if (handshake && p.resolved && item.deliver_at_us >= p.connect_started_us + config_.connect_timeout_us)
    arm_connect_timeout(slot);  // a huge link latency outlasts the SYN retries
  d.items.push_back(std::move(item));
  if (p.resolved && !d.scheduled && !d.stalled) schedule_head(slot, dir);
}

void Network::clear_dir(Dir& d) {
  d.items.clear();
  d.head = 0;
  d.pending_bytes = 0;
  d.rst_sent = false;
  d.stalled = false;  // any StallRef to it is now stale; `scheduled` stays as is (see on_deliver)
}

void Network::schedule_head(std::uint32_t slot, int dir) {
  Pipe& p = pipe(slot);
  Dir& d = p.dirs[dir];
  if (d.empty()) return;
  d.scheduled = true;
  ctx_.schedule(d.items[d.head].deliver_at_us, EventKind::net_deliver, slot, p.gen, 0,
                static_cast<std::uint8_t>(dir));
}

void Network::stall(std::uint32_t slot, int dir) {
  Pipe& p = pipe(slot);
  Dir& d = p.dirs[dir];
  d.stalled = true;
  ++d.stall_token;
  ++stats_.stalls;
  stalled_.push_back(StallRef{slot, p.gen, static_cast<std::uint8_t>(dir)});
  if (p.ends[0].sock == Sock::connecting) arm_connect_timeout(slot);  // SYN or its answer is stuck
  // A reset has no retransmission timer: it stands for the resets the peer's retransmissions keep
  // provoking, and the first one to get through ends the connection. It waits for the path.
  if (d.items[d.head].kind == ItemKind::rst) return;
  // TCP gives up on bytes unacknowledged for ~tcp_retries2 worth of retransmissions, counted
  // from the oldest one's first transmission.
  const std::int64_t give_up = d.items[d.head].sent_at_us + config_.retransmit_timeout_us;
  ctx_.schedule(give_up, EventKind::net_retransmit_timeout, slot, p.gen, d.stall_token,
                static_cast<std::uint8_t>(dir));
}

void Network::unstall_ready() {
  std::vector<StallRef> keep;
  for (const StallRef& ref : stalled_) {
    Pipe& p = pipe(ref.slot);
    if (!p.live || p.gen != ref.gen) continue;
    Dir& d = p.dirs[ref.dir];
    if (!d.stalled) continue;
    const HostId from = p.ends[ref.dir].host;
    const HostId to = p.ends[1 - ref.dir].host;
    refresh_link(d, from, to);
    if (d.link_blocked) {
      keep.push_back(ref);
      continue;
    }
    d.stalled = false;
    // Retransmission: everything held leaves again from now, in order.
    std::int64_t last = ctx_.now_us;
    for (std::size_t i = d.head; i < d.items.size(); ++i) {
      Item& it = d.items[i];
      const std::int64_t t = std::max({last, it.deliver_at_us, ctx_.now_us + draw_latency(d, from, to)});
      it.deliver_at_us = t;
      last = t;
    }
    d.last_deliver_us = std::max(d.last_deliver_us, last);
    if (!d.scheduled) schedule_head(ref.slot, ref.dir);
  }
  stalled_ = std::move(keep);
}

// ---------------------------------------------------------------------------------------------
// Events

void Network::handle(const Event& e) {
  switch (e.kind) {
    case EventKind::net_deliver:
      on_deliver(e.a, e.b, e.d);
      return;
    case EventKind::net_connect_timeout:
      on_connect_timeout(e.a, e.b);
      return;
    case EventKind::net_retransmit_timeout:
      on_retransmit_timeout(e.a, e.b, e.c, e.d);
      return;
    case EventKind::net_notify_close:
      on_notify_close(e.a, e.b, e.d, static_cast<CloseReason>(e.c));
      return;
    case EventKind::net_drain:
      on_drain(host_id(e.a));
      return;
    default:
      SLOTLAB_ASSERT_MSG(false, "not a network event");
  }
}

void Network::on_deliver(std::uint32_t slot, std::uint32_t gen, int dir) {
  Pipe& p = pipe(slot);
  if (!p.live || p.gen != gen) return;
  Dir& d = p.dirs[dir];
  d.scheduled = false;
  if (d.empty() || d.stalled) return;  // cleared by a reset or timeout since
  if (d.items[d.head].deliver_at_us > ctx_.now_us) {
    schedule_head(slot, dir);  // the queue was cleared and refilled after this event was made
    return;
  }
  refresh_link(d, p.ends[dir].host, p.ends[1 - dir].host);
  if (d.link_blocked) {
    stall(slot, dir);
    return;
  }
  if (d.items[d.head].doomed) {
    // A lossy link lost this segment and every retransmission of it: TCP gives up, exactly as
    // for bytes stalled behind a partition.
    ++stats_.fault_give_ups;
    d.stalled = true;
    ++d.stall_token;
    on_retransmit_timeout(slot, gen, d.stall_token, dir);
    return;
  }
  Item item = std::move(d.items[d.head]);
  ++d.head;
  if (d.empty()) {
    d.items.clear();
    d.head = 0;
  } else if (d.head >= 64 && d.head * 2 >= d.items.size()) {
    d.items.erase(d.items.begin(), d.items.begin() + d.head);
    d.head = 0;
  }
  if (!d.empty()) schedule_head(slot, dir);
  arrive(slot, dir, std::move(item));
}

// `item` came on direction `dir` and reaches end 1 - dir's kernel.
void Network::arrive(std::uint32_t slot, int dir, Item&& item) {
  Pipe& p = pipe(slot);
  const int side = 1 - dir;
  End& dst = p.ends[side];
  switch (item.kind) {
    case ItemKind::syn: {
      if (dst.sock != Sock::none) return;
      const NetHost& h = net_host(dst.host);
      const Listener* listener = nullptr;
      if (h.running)
        for (const Listener& l : h.listeners)
          if (l.port == dst.port) listener = &l;
      if (listener == nullptr) {
        ++stats_.refused;
        p.dirs[side].finished = true;
        enqueue(slot, side, ItemKind::refused, {});
        return;
      }
      ++stats_.accepts;
      p.listener = listener->kind;
      dst.sock = Sock::established;
      map_end(slot, side);
      enqueue(slot, side, ItemKind::syn_ack, {});  // before on_accept: the client's on_connected precedes any reply
      deliver(slot, side, Callback::accept, CloseReason::peer_closed, dir, {});
      return;
    }
    case ItemKind::syn_ack:
      if (dst.sock == Sock::connecting) {
        dst.sock = Sock::established;
        deliver(slot, side, Callback::connected, CloseReason::peer_closed, dir, {});
      } else if (dst.sock == Sock::closed) {
        send_rst_back(slot, dir);
      }
      return;
    case ItemKind::data:
      if (dst.sock == Sock::established) {
        deliver(slot, side, Callback::bytes, CloseReason::peer_closed, dir, std::move(item.bytes));
      } else {
        p.dirs[dir].pending_bytes -= item.bytes.size();
        if (dst.sock == Sock::closed) send_rst_back(slot, dir);
      }
      return;
    case ItemKind::fin:
      if (dst.sock == Sock::connecting || dst.sock == Sock::established) {
        dst.sock = Sock::closed;
        p.dirs[side].finished = true;  // the actor gets on_closed: nothing more will be sent
        deliver(slot, side, Callback::closed, CloseReason::peer_closed, dir, {});
      }
      return;
    case ItemKind::rst:
    case ItemKind::refused:
      if (dst.sock == Sock::connecting || dst.sock == Sock::established) {
        dst.sock = Sock::closed;
        clear_dir(p.dirs[side]);  // a reset discards what we had queued for the peer
        p.dirs[side].finished = true;
        const CloseReason reason = item.kind == ItemKind::refused ? CloseReason::refused : CloseReason::reset;
        if (reason == CloseReason::reset) ++stats_.resets;
        deliver(slot, side, Callback::closed, reason, dir, {});
      }
      return;
  }
}

// Something arrived on `dir` at a socket that no longer exists: its kernel answers with a reset.
void Network::send_rst_back(std::uint32_t slot, int dir) {
  Pipe& p = pipe(slot);
  const int back = 1 - dir;
  const End& sender = p.ends[dir];
  if (sender.sock != Sock::connecting && sender.sock != Sock::established) return;  // nobody to tell
  Dir& d = p.dirs[back];
  if (d.rst_sent) return;
  d.rst_sent = true;
  enqueue(slot, back, ItemKind::rst, {});
}

void Network::arm_connect_timeout(std::uint32_t slot) {
  Pipe& p = pipe(slot);
  if (p.connect_timer) return;
  p.connect_timer = true;
  ctx_.schedule(p.connect_started_us + config_.connect_timeout_us, EventKind::net_connect_timeout, slot, p.gen);
}

void Network::on_connect_timeout(std::uint32_t slot, std::uint32_t gen) {
  Pipe& p = pipe(slot);
  if (!p.live || p.gen != gen) return;
  End& client = p.ends[0];
  if (client.sock != Sock::connecting) return;
  ++stats_.connect_timeouts;
  client.sock = Sock::closed;
  clear_dir(p.dirs[0]);
  p.dirs[0].finished = true;
  deliver(slot, 0, Callback::closed, CloseReason::timeout, 0, {});
}

void Network::on_retransmit_timeout(std::uint32_t slot, std::uint32_t gen, std::uint32_t token, int dir) {
  Pipe& p = pipe(slot);
  if (!p.live || p.gen != gen) return;
  Dir& d = p.dirs[dir];
  if (!d.stalled || d.stall_token != token) return;
  ++stats_.retransmit_timeouts;
  bool had_rst = false;
  for (std::size_t i = d.head; i < d.items.size(); ++i) had_rst = had_rst || d.items[i].kind == ItemKind::rst;
  clear_dir(d);
  d.finished = true;
  if (had_rst) {
    // The dead socket behind this direction still answers the peer's retransmissions with
    // resets (see stall()): keep one, stalled until the path opens.
    Item rst;
    rst.kind = ItemKind::rst;
    rst.sent_at_us = ctx_.now_us;
    rst.deliver_at_us = ctx_.now_us;
    d.items.push_back(std::move(rst));
    d.rst_sent = true;
    d.stalled = true;
    stalled_.push_back(StallRef{slot, p.gen, static_cast<std::uint8_t>(dir)});
  }
  End& sender = p.ends[dir];
  if (sender.sock == Sock::connecting || sender.sock == Sock::established) {
    sender.sock = Sock::closed;
    deliver(slot, dir, Callback::closed, CloseReason::timeout, dir, {});
  }
}

void Network::on_notify_close(std::uint32_t slot, std::uint32_t gen, int side, CloseReason reason) {
  Pipe& p = pipe(slot);
  if (!p.live || p.gen != gen || !p.ends[side].mapped) return;
  deliver(slot, side, Callback::closed, reason, side, {});
}

void Network::on_drain(HostId host) {
  NetHost& h = net_host(host);
  h.drain_scheduled = false;
  while (h.held_head < h.held.size() && h.running && !h.paused && !h.dying) {
    Held cb = std::move(h.held[h.held_head++]);
    dispatch(host, cb);
  }
  if (h.held_head == h.held.size()) {
    h.held.clear();
    h.held_head = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Delivery to actors

bool Network::deliverable_now(const NetHost& h) const {
  return h.running && !h.paused && h.held_head == h.held.size();
}

void Network::deliver(std::uint32_t slot, int side, Callback kind, CloseReason reason, int dir,
                      std::string&& bytes) {
  Pipe& p = pipe(slot);
  End& e = p.ends[side];
  NetHost& h = net_host(e.host);
  Held cb;
  cb.conn = e.id;
  cb.slot = slot;
  cb.gen = p.gen;
  cb.kind = kind;
  cb.reason = reason;
  cb.side = static_cast<std::uint8_t>(side);
  cb.dir = static_cast<std::uint8_t>(dir);
  cb.bytes = std::move(bytes);
  if (h.running && (h.paused || h.held_head < h.held.size())) {
    h.held.push_back(std::move(cb));  // the kernel keeps it for the stopped process
    return;
  }
  dispatch(e.host, cb);
  recycle_buffer(std::move(cb.bytes));  // storage only (node/buffer_pool.hpp)
}

void Network::dispatch(HostId host, Held& cb) {
  Pipe& p = pipe(cb.slot);
  const bool alive = p.live && p.gen == cb.gen;
  if (!alive) return;
  if (cb.kind == Callback::bytes) p.dirs[cb.dir].pending_bytes -= cb.bytes.size();
  End& e = p.ends[cb.side];
  if (!e.mapped || e.id != cb.conn) return;  // the actor closed it meanwhile
  NetHost& h = net_host(host);
  if (cb.kind == Callback::closed) unmap_end(cb.slot, cb.side);  // the id is dead for the actor from now
  if (!h.running || h.dying || h.actor == nullptr) return;

  std::uint64_t x = static_cast<std::uint64_t>(ctx_.now_us);
  ctx_.fold(x ^ (static_cast<std::uint64_t>(index_of(host)) << 40) ^
            (static_cast<std::uint64_t>(cb.kind) << 36) ^ (static_cast<std::uint64_t>(cb.reason) << 32));
  ctx_.fold(cb.conn);
  if (cb.kind == Callback::bytes) ctx_.fold(hash_bytes(cb.bytes, ctx_.hash_full_payloads));

  ctx_.in_actor = true;
  ctx_.current_host = host;
  ++ctx_.actor_calls;
  Actor& actor = *h.actor;
  switch (cb.kind) {
    case Callback::accept:
      actor.on_accept(p.listener, cb.conn, endpoint_of(p, 1 - cb.side));
      break;
    case Callback::connected:
      actor.on_connected(cb.conn);
      break;
    case Callback::bytes:
      ++stats_.chunks_delivered;
      stats_.bytes_delivered += cb.bytes.size();
      actor.on_bytes(cb.conn, cb.bytes);
      break;
    case Callback::closed:
      actor.on_closed(cb.conn, cb.reason);
      break;
  }
  ctx_.in_actor = false;
}

// ---------------------------------------------------------------------------------------------
// Faults

bool Network::path_blocked(HostId from, HostId to) const {
  const std::uint32_t f = index_of(from);
  const std::uint32_t t = index_of(to);
  return group_of_host_[f] != group_of_host_[t] || blocked_links_.count({f, t}) != 0;
}

void Network::set_partition(std::vector<std::uint32_t> group_of_host) {
  SLOTLAB_ASSERT(group_of_host.size() == hosts_.size());
  group_of_host_ = std::move(group_of_host);
  ++link_version_;
  unstall_ready();
}

void Network::block_link(HostId from, HostId to) {
  blocked_links_.insert({index_of(from), index_of(to)});
  ++link_version_;
}

void Network::unblock_link(HostId from, HostId to) {
  blocked_links_.erase({index_of(from), index_of(to)});
  ++link_version_;
  unstall_ready();
}

void Network::heal() {
  std::fill(group_of_host_.begin(), group_of_host_.end(), 0);
  blocked_links_.clear();
  ++link_version_;
  unstall_ready();
}

void Network::set_link_latency(HostId a, HostId b, std::int64_t extra_us) {
  const std::uint32_t x = std::min(index_of(a), index_of(b));
  const std::uint32_t y = std::max(index_of(a), index_of(b));
  if (extra_us == 0)
    link_extra_us_.erase({x, y});
  else
    link_extra_us_[{x, y}] = extra_us;
  ++link_version_;
}

// ---------------------------------------------------------------------------------------------
// Lossy links (the TCP model is in network.hpp's header comment)

namespace {
constexpr std::int64_t kRtoMinUs = 200'000;        // Linux TCP_RTO_MIN
constexpr std::int64_t kRtoMaxUs = 120'000'000;    // Linux TCP_RTO_MAX
constexpr std::int64_t kRtoInitUs = 1'000'000;     // Linux TCP_TIMEOUT_INIT (SYN, SYN-ACK)
constexpr int kSynRetries = 6;                     // tcp_syn_retries
constexpr int kDataRetries = 15;                   // tcp_retries2
constexpr std::size_t kMss = 1448;                 // Ethernet MTU 1500 minus IP/TCP headers and timestamps
constexpr std::size_t kMaxLossySegments = 64;
}  // namespace

LinkClass Network::link_class(const Pipe& p) const {
  for (const Listener& l : net_host(p.ends[1].host).listeners)
    if (l.port == p.ends[1].port) return l.kind == ListenerKind::bus ? LinkClass::bus : LinkClass::data;
  return LinkClass::data;
}

const LinkFault* Network::link_fault(HostId from, HostId to, LinkClass cls) const {
  auto it = link_faults_.find({index_of(from), index_of(to), static_cast<std::uint8_t>(cls)});
  return it == link_faults_.end() ? nullptr : &it->second;
}

void Network::set_link_fault(HostId from, HostId to, LinkClass cls, const LinkFault& fault) {
  const std::tuple<std::uint32_t, std::uint32_t, std::uint8_t> key{index_of(from), index_of(to), static_cast<std::uint8_t>(cls)};
  if (fault.any())
    link_faults_[key] = fault;
  else
    link_faults_.erase(key);
}

void Network::clear_link_faults() { link_faults_.clear(); }

std::int64_t Network::link_fault_delay(const Pipe& p, int dir, const Item& item, bool& doomed) {
  const HostId from = p.ends[dir].host;
  const HostId to = p.ends[1 - dir].host;
  const LinkClass cls = link_class(p);
  const LinkFault* f = link_fault(from, to, cls);
  if (f == nullptr) return 0;
  std::int64_t extra = f->delay_us;
  if (f->jitter_us > 0) extra += fault_rng_.uniform(0, f->jitter_us);
  if (f->duplicate_per_million != 0 && item.kind != ItemKind::rst && fault_rng_.chance(f->duplicate_per_million)) {
    ++stats_.duplicates_discarded;  // the receiver's TCP drops the copy: nothing reaches the application
  }
  if (f->reorder_per_million != 0 && fault_rng_.chance(f->reorder_per_million)) {
    ++stats_.segments_reordered;
    extra += f->reorder_gap_us;  // what overtook it waits in the receiver's out-of-order queue
  }
  // A reset is never retransmitted (the peer's next segment provokes another): no loss modelled.
  if (f->drop_per_million == 0 || item.kind == ItemKind::rst || item.kind == ItemKind::refused) return extra;
  const bool handshake = item.kind == ItemKind::syn || item.kind == ItemKind::syn_ack;
  // RTO from the link's round trip as TCP would have measured it: SRTT + max(4 * RTTVAR, RTO_MIN),
  // with SRTT the mean round trip (both directions' base latency and fault delay, half the jitter)
  // and RTTVAR a quarter of the round trip's jitter span.
  std::int64_t rto = kRtoInitUs;
  if (!handshake) {
    const LinkFault* back = link_fault(to, from, cls);
    const std::int64_t jitter_rt = f->jitter_us + (back != nullptr ? back->jitter_us : 0);
    const std::int64_t srtt = 2 * (config_.latency_min_us + config_.latency_mean_extra_us) + f->delay_us +
                              (back != nullptr ? back->delay_us : 0) + jitter_rt / 2;
    rto = srtt + std::max(jitter_rt, kRtoMinUs);  // 4 * RTTVAR with RTTVAR = jitter_rt / 4
  }
  rto = std::min(rto, kRtoMaxUs);
  // The first transmission: each of the send's segments may be lost (the first loss is enough:
  // everything behind it waits for its retransmission).
  std::size_t segments = 1;
  if (item.kind == ItemKind::data) segments = std::min(kMaxLossySegments, std::max<std::size_t>(1, (item.bytes.size() + kMss - 1) / kMss));
  bool lost = false;
  for (std::size_t s = 0; s < segments && !lost; ++s) lost = fault_rng_.chance(f->drop_per_million);
  const int max_retries = handshake ? kSynRetries : kDataRetries;
  int retries = 0;
  while (lost) {
    ++stats_.segments_dropped;
    if (retries == max_retries) {
      doomed = true;
      // For a handshake the connect timeout (armed by enqueue) ends it; data gives up in on_deliver.
      return extra + (handshake ? config_.connect_timeout_us : config_.retransmit_timeout_us);
    }
    extra += rto;
    rto = std::min(2 * rto, kRtoMaxUs);
    ++retries;
    lost = fault_rng_.chance(f->drop_per_million);  // the retransmission of the lost segment
  }
  return extra;
}

void Network::reset_connections(HostId a, HostId b) {
  // Every pipe between a and b, found through either host's table, in (host, ConnId) order.
  std::vector<std::uint32_t> slots;
  for (HostId h : {a, b}) {
    std::vector<std::pair<ConnId, std::uint32_t>> ends = net_host(h).conns.entries();
    std::sort(ends.begin(), ends.end());
    for (const auto& [id, ref] : ends) {
      const std::uint32_t slot = ref >> 1;
      const Pipe& p = pipe(slot);
      if (!p.resolved) continue;
      const HostId x = p.ends[0].host;
      const HostId y = p.ends[1].host;
      if (((x == a && y == b) || (x == b && y == a)) && std::find(slots.begin(), slots.end(), slot) == slots.end())
        slots.push_back(slot);
    }
  }
  for (std::uint32_t slot : slots) {
    Pipe& p = pipe(slot);
    for (int side = 0; side < 2; ++side) {
      clear_dir(p.dirs[side]);
      p.dirs[side].finished = true;
    }
    for (int side = 0; side < 2; ++side) {
      End& e = p.ends[side];
      if (!e.mapped || (e.sock != Sock::connecting && e.sock != Sock::established)) continue;
      e.sock = Sock::closed;
      ++stats_.resets;
      ctx_.schedule(ctx_.now_us, EventKind::net_notify_close, slot, p.gen,
                    static_cast<std::uint32_t>(CloseReason::reset), static_cast<std::uint8_t>(side));
    }
  }
}

}  // namespace slotlab::sim
