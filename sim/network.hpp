// The virtual network: connection-oriented byte streams with TCP semantics between simulated hosts.
//
// It owns every connection ("pipe"), each host's kernel-side view of its sockets (ConnId table,
// ephemeral ports, listeners, what a stopped process's kernel holds), link faults, and the
// delivery of connection events to actors. The simulator owns processes and time; it tells the
// network when a host's process starts, pauses, resumes or dies.
//
// The model, in the terms of DESIGN.md ("Partitions ... stall or reset connections the way a real
// network does; they do not drop bytes from the middle of a stream"):
//
//  1. A pipe has two ends (0 = the connecting side, 1 = the accepting side) and two directions;
//     direction s carries items from end s to end 1-s, strictly in order. Items are SYN, SYN-ACK,
//     data chunks, FIN, RST and "refused" (the RST answering a SYN nobody listens for).
//  2. Each item gets a one-way latency (min + exponential(mean extra) + per-link extra) and is
//     delivered at max(previous delivery on that direction, now + latency): latency never
//     reorders a stream. Only the head of a direction has an event in the queue.
//  3. A blocked path (partition or one-way block) stalls a direction when its head is due: the
//     items wait, in order, and are re-timed from the moment the path opens (TCP retransmission).
//     A stalled SYN is bounded by the connect timeout; stalled bytes by retransmit_timeout_us
//     (tcp_retries2): then the sending end dies with on_closed(timeout) and the other end learns
//     nothing until it sends (its bytes then meet a dead socket and come back as a reset).
//  4. An item reaching an end whose socket is gone (closed by its actor, crashed, timed out) is
//     answered with an RST on the reverse direction if it was data or a SYN-ACK, as a kernel does.
//     A FIN or RST reaching a live end closes it: the actor gets on_closed(peer_closed | reset).
//  5. A paused (SIGSTOPped) host's kernel still works: it accepts connections, acknowledges bytes
//     and records closes, but the actor callbacks wait in a per-host FIFO until resume().
//  6. An end stays in its host's ConnId table until the actor closes it or receives on_closed for
//     it; a pipe is freed when neither end is in a table (at the end of the current event, so a
//     handler never sees its pipe recycled under it).
//
// Simplifications, on purpose: a one-way block stalls only the blocked direction (ACKs are assumed
// to flow, so the sender of a delivered stream never times out); a reset has no retransmit timer
// (it stands for the resets the peer's retransmissions keep provoking, and waits for the path);
// a crashed process's kernel sends what was queued, then FIN (no RST-on-unread-data); receive
// windows are unbounded, so pending_bytes() counts every byte not yet read by the peer's actor
// (a real kernel would absorb a few MB in socket buffers first).
//
// Lossy links (set_link_fault): delay, jitter, drop, duplicate and reorder per directed host pair
// and per kind of connection (cluster bus or data port). The links are TCP, so these faults are
// applied below the stream and the application sees what TCP makes of them:
//  - delay/jitter: added to every segment's one-way latency; TCP still delivers in order, so a
//    segment never overtakes the one sent before it (jitter only ever delays).
//  - drop: a lost segment is not lost to the application: it is retransmitted after the
//    retransmission timeout, RTO = SRTT + max(4 * RTTVAR, 200 ms) (Linux's TCP_RTO_MIN), doubling
//    on every consecutive loss of the same segment up to 120 s (TCP_RTO_MAX); a SYN or SYN-ACK
//    starts at 1 s (TCP_TIMEOUT_INIT) and gives up with the connect timeout. After tcp_retries2
//    (15) lost retransmissions the sending end dies with on_closed(timeout), as on a partition.
//    Not modelled: fast retransmit / SACK / tail loss probes, which repair a loss in about one
//    round trip when more data follows it; every loss here costs an RTO (the case of the small
//    request/response messages the cluster bus and clients exchange). A send() larger than one
//    MSS (1448 bytes) counts as several segments, each of which may be lost, up to 64 segments.
//  - duplicate: the receiving TCP discards a duplicate segment (it answers it with a duplicate
//    ACK, which alone triggers nothing): the application sees no difference at all. Duplicates
//    are counted in NetworkStats::duplicates_discarded.
//  - reorder: a segment held back by the link arrives reorder_gap later than it would have; the
//    receiving TCP holds the segments that overtook it (head-of-line blocking), so the
//    application sees the gap as delay of that segment and of everything after it.
// Link faults draw from their own random stream, and only when a fault is set on the link: with
// no link fault set, runs consume exactly the random numbers (and give the trace hashes) they
// gave before link faults existed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "node/env.hpp"
#include "sim/conn_table.hpp"
#include "sim/core.hpp"
#include "sim/rng.hpp"

namespace slotlab::sim {

struct NetworkConfig {
  std::int64_t latency_min_us = 30;          // one-way latency = min + exponential(mean extra)
  std::int64_t latency_mean_extra_us = 40;
  std::int64_t connect_timeout_us = 127'000'000;          // Linux: 6 SYN retries, 1+2+...+64 s
  std::int64_t retransmit_timeout_us = 15 * 60 * 1'000'000LL;  // tcp_retries2 = 15, ~15 minutes
  // Probability (per million sends) that a send() arrives as two on_bytes at a random cut, as TCP
  // segmentation may do: exercises the receivers' framing. 0 = one on_bytes per send().
  std::uint32_t split_sends_per_million = 0;
};

// Which kind of connection a link fault applies to: by the listener the connection was made to.
enum class LinkClass : std::uint8_t { data = 0, bus = 1 };

// Faults of one direction of a link (see the header comment for what TCP makes of each).
struct LinkFault {
  std::int64_t delay_us = 0;               // added to every segment's one-way latency
  std::int64_t jitter_us = 0;              // plus uniform [0, jitter_us]
  std::uint32_t drop_per_million = 0;      // probability that a segment (transmission) is lost
  std::uint32_t duplicate_per_million = 0;
  std::uint32_t reorder_per_million = 0;   // probability that a segment is held back
  std::int64_t reorder_gap_us = 10'000;    // how much later a held-back segment arrives
  bool any() const {
    return delay_us != 0 || jitter_us != 0 || drop_per_million != 0 || duplicate_per_million != 0 ||
           reorder_per_million != 0;
  }
};

struct Listener {
  std::uint16_t port = 0;
  ListenerKind kind = ListenerKind::data;
};

struct NetworkStats {
  std::uint64_t connects = 0;         // connect() calls
  std::uint64_t accepts = 0;          // connections accepted by a kernel
  std::uint64_t refused = 0;
  std::uint64_t connect_timeouts = 0;
  std::uint64_t retransmit_timeouts = 0;
  std::uint64_t resets = 0;           // RSTs delivered to a live end
  std::uint64_t chunks_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t chunks_delivered = 0;  // on_bytes calls
  std::uint64_t bytes_delivered = 0;
  std::uint64_t stalls = 0;           // times a direction's head met a blocked path
  // Link faults (set_link_fault)
  std::uint64_t segments_dropped = 0;      // lost transmissions (each cost one RTO)
  std::uint64_t duplicates_discarded = 0;  // duplicated segments discarded by the receiving TCP
  std::uint64_t segments_reordered = 0;    // segments held back (head-of-line blocking)
  std::uint64_t fault_give_ups = 0;        // connections given up after too many lost retransmissions
  std::uint64_t live_pipes = 0;
};

class Network {
 public:
  Network(SimContext& ctx, NetworkConfig config, Rng rng);
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const NetworkConfig& config() const { return config_; }

  // --- hosts (the simulator validates its arguments before calling) ---
  void add_host(HostId host, const std::string& ip, std::vector<Listener> listeners);
  // The process runs: listeners are open and deliveries go to `actor` (which may be attached
  // later with set_actor, while the factory builds it).
  void host_up(HostId host);
  void set_actor(HostId host, Actor* actor);
  // A crash or shutdown was requested: nothing more is delivered to the actor.
  void set_dying(HostId host);
  // The process is gone: its kernel closes every socket (FIN after what was queued), refuses new
  // connections and forgets what it held for the actor.
  void host_down(HostId host);
  void pause(HostId host);
  void resume(HostId host);  // schedules the delivery of what was held, in order

  // --- the Transport of one host ---
  ConnId connect(HostId host, const Endpoint& to);
  void send(HostId host, ConnId conn, std::string&& bytes);
  void close(HostId host, ConnId conn);
  Endpoint local_address(HostId host, ConnId conn) const;
  Endpoint peer_address(HostId host, ConnId conn) const;
  std::uint64_t pending_bytes(HostId host, ConnId conn) const;

  // --- faults ---
  // group_of_host[i] is host i's group; traffic between different groups stalls.
  void set_partition(std::vector<std::uint32_t> group_of_host);
  void block_link(HostId from, HostId to);
  void unblock_link(HostId from, HostId to);
  void heal();
  void set_link_latency(HostId a, HostId b, std::int64_t extra_us);
  // Lossy link from -> to for connections of class `cls` (one direction; a fault with nothing set
  // clears it). clear_link_faults() clears every one.
  void set_link_fault(HostId from, HostId to, LinkClass cls, const LinkFault& fault);
  void clear_link_faults();
  const LinkFault* link_fault(HostId from, HostId to, LinkClass cls) const;
  void reset_connections(HostId a, HostId b);
  bool path_blocked(HostId from, HostId to) const;

  // --- the event loop ---
  void handle(const Event& event);
  void end_event();

  // --- introspection ---
  const NetworkStats& stats() const { return stats_; }
  std::vector<ConnId> connections(HostId host) const;  // ids the host's actor holds, sorted
  std::size_t held_deliveries(HostId host) const;

 private:
  enum class ItemKind : std::uint8_t { syn, syn_ack, data, fin, rst, refused };
  enum class Sock : std::uint8_t { none, connecting, established, closed };

  struct Item {
    std::string bytes;
    std::int64_t deliver_at_us = 0;
    std::int64_t sent_at_us = 0;
    ItemKind kind = ItemKind::data;
    bool doomed = false;  // a link fault lost every retransmission: the sender gives up at delivery time
  };
  struct Dir {
    std::vector<Item> items;
    std::uint32_t head = 0;
    std::uint64_t pending_bytes = 0;  // data bytes sent and not yet delivered to the peer's actor
    std::int64_t last_deliver_us = 0;
    std::int64_t link_extra_us = 0;   // cached per link-config version
    std::uint32_t link_version = 0;
    std::uint32_t stall_token = 0;
    bool link_blocked = false;
    bool scheduled = false;  // an event for the head is in the queue
    bool stalled = false;    // the head met a blocked path; waits for the path to open
    bool finished = false;   // FIN/abort queued: no more data from this side
    bool rst_sent = false;
    bool empty() const { return head == items.size(); }
  };
  struct End {
    ConnId id = kNoConn;
    HostId host{};
    std::uint16_t port = 0;
    Sock sock = Sock::none;
    bool mapped = false;  // in the host's ConnId table: the actor may use the id
  };
  struct Pipe {
    std::uint32_t gen = 1;
    bool live = false;
    bool releasing = false;
    bool resolved = false;  // the target IP belongs to a host
    bool connect_timer = false;  // a connect-timeout event is queued (only when it can matter)
    std::int64_t connect_started_us = 0;
    ListenerKind listener = ListenerKind::data;
    End ends[2];
    Dir dirs[2];
    std::unique_ptr<Endpoint> unresolved_target;
  };
  enum class Callback : std::uint8_t { accept, connected, bytes, closed };
  struct Held {
    std::string bytes;
    ConnId conn = kNoConn;
    std::uint32_t slot = 0;
    std::uint32_t gen = 0;
    Callback kind = Callback::bytes;
    CloseReason reason = CloseReason::peer_closed;
    std::uint8_t side = 0;  // which end of the pipe the callback is for
    std::uint8_t dir = 0;   // for bytes: the direction they came on (pending accounting)
  };
  struct NetHost {
    std::string ip;
    std::vector<Listener> listeners;
    Actor* actor = nullptr;
    bool running = false;
    bool paused = false;
    bool dying = false;
    ConnTable conns;                                  // id -> slot * 2 + side (lookup only)
    ConnId next_conn = 1;                             // never reset: ids are never reused
    std::uint32_t next_port = 0;
    std::vector<Held> held;
    std::size_t held_head = 0;
    bool drain_scheduled = false;
  };
  struct StallRef {
    std::uint32_t slot;
    std::uint32_t gen;
    std::uint8_t dir;
  };

  static constexpr std::uint32_t kChunkBits = 10;
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;

  Pipe& pipe(std::uint32_t slot) { return chunks_[slot >> kChunkBits][slot & (kChunkSize - 1)]; }
  const Pipe& pipe(std::uint32_t slot) const { return chunks_[slot >> kChunkBits][slot & (kChunkSize - 1)]; }
  NetHost& net_host(HostId h) { return hosts_[index_of(h)]; }
  const NetHost& net_host(HostId h) const { return hosts_[index_of(h)]; }

  std::uint32_t alloc_pipe();
  void maybe_release(std::uint32_t slot);
  const End* find_end(HostId host, ConnId conn, std::uint32_t* slot_out, int* side_out) const;
  ConnId map_end(std::uint32_t slot, int side);
  void unmap_end(std::uint32_t slot, int side);
  std::uint16_t ephemeral_port(HostId host);

  std::int64_t draw_latency(Dir& d, HostId from, HostId to);
  void refresh_link(Dir& d, HostId from, HostId to);
  void enqueue(std::uint32_t slot, int dir, ItemKind kind, std::string&& bytes);
  // Extra delay a link fault adds to one item on direction `dir` of the pipe (0 without a fault);
  // sets `doomed` when every retransmission was lost.
  std::int64_t link_fault_delay(const Pipe& p, int dir, const Item& item, bool& doomed);
  LinkClass link_class(const Pipe& p) const;
  void clear_dir(Dir& d);
  void schedule_head(std::uint32_t slot, int dir);
  void stall(std::uint32_t slot, int dir);
  void unstall_ready();

  void on_deliver(std::uint32_t slot, std::uint32_t gen, int dir);
  void arrive(std::uint32_t slot, int dir, Item&& item);
  void send_rst_back(std::uint32_t slot, int dir);
  void arm_connect_timeout(std::uint32_t slot);
  void on_connect_timeout(std::uint32_t slot, std::uint32_t gen);
  void on_retransmit_timeout(std::uint32_t slot, std::uint32_t gen, std::uint32_t token, int dir);
  void on_notify_close(std::uint32_t slot, std::uint32_t gen, int side, CloseReason reason);
  void on_drain(HostId host);

  // Hands a callback to the end's actor now, or to its host's held FIFO.
  void deliver(std::uint32_t slot, int side, Callback kind, CloseReason reason, int dir,
               std::string&& bytes);
  bool deliverable_now(const NetHost& h) const;
  void dispatch(HostId host, Held& cb);
  Endpoint endpoint_of(const Pipe& p, int side) const;

  SimContext& ctx_;
  NetworkConfig config_;
  Rng rng_;
  std::vector<NetHost> hosts_;
  std::unordered_map<std::string, std::vector<HostId>> hosts_by_ip_;  // resolved once per connect

  std::vector<std::unique_ptr<Pipe[]>> chunks_;
  std::uint32_t pipe_count_ = 0;  // slots ever created
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint32_t> to_release_;

  // Link configuration; version bumps invalidate each direction's cached view.
  std::uint32_t link_version_ = 1;
  std::vector<std::uint32_t> group_of_host_;
  std::set<std::pair<std::uint32_t, std::uint32_t>> blocked_links_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::int64_t> link_extra_us_;  // key (min, max)
  // Lossy links, key (from, to, class); their own random stream (see the header comment).
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint8_t>, LinkFault> link_faults_;
  Rng fault_rng_;
  std::vector<StallRef> stalled_;

  NetworkStats stats_;
};

}  // namespace slotlab::sim
