// The seam between the node and the world (DESIGN.md "The seam: a sans-IO node").
//
// A Node never reads a clock, opens a socket or a file, sleeps, spawns a thread or draws randomness
// except through the Env its host gives it. Two hosts implement these interfaces: sim/ (virtual
// time, virtual network and disks, seeded randomness) and daemon/ (epoll, real sockets and files).
//
// Delivery is never re-entrant: nothing a node does through Env calls back into the node in the
// same stack. Connection completions, bytes and closes arrive later as separate events
// (Node::on_connected, on_bytes, on_closed).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "node/result.hpp"
#include "node/types.hpp"

namespace slotlab {

using ConnId = std::uint64_t;
inline constexpr ConnId kNoConn = 0;

// Wall-clock-like time as the node sees it. In the simulator it is virtual and may be skewed per
// node (a clock-skew fault); in the daemon it is the real clock (Redis's mstime()/ustime()).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Millis now_ms() const = 0;
  virtual std::int64_t now_us() const = 0;
};

// Connection-oriented, ordered, reliable byte streams (TCP semantics).
//  - connect() returns an id at once; later the host calls Node::on_connected(id), or
//    Node::on_closed(id, ...) if the connection could not be made.
//  - send() queues bytes; they arrive in order at the peer while the connection lives.
//  - close() is immediate for us; the host does NOT call on_closed for a close we asked for.
//  - The peer's close, a reset or a timeout arrives as Node::on_closed(id, reason).
class Transport {
 public:
  virtual ~Transport() = default;
  virtual ConnId connect(const Endpoint& to) = 0;
  // connect() for a connection on which a TCP host leaves Nagle's algorithm on (no TCP_NODELAY).
  // Redis 7.0.15 sets TCP_NODELAY on client, replica, MIGRATE and accepted cluster bus sockets but
  // not on the cluster bus links it opens itself (clusterCron: connCreateSocket + connConnect), so
  // a burst of PINGs/PONGs on an outgoing link waits for the peer's ACK. Hosts without a TCP stack
  // (the simulator) treat it as connect().
  virtual ConnId connect_with_nagle(const Endpoint& to) { return connect(to); }
  virtual void send(ConnId conn, std::string&& bytes) = 0;
  virtual void close(ConnId conn) = 0;
  // Closes at once, dropping output not yet sent (a client over its output-buffer limit). Hosts
  // that cannot drop queued bytes may fall back to close().
  virtual void abort(ConnId conn) { close(conn); }
  // Our own address on this connection as the peer sees it (getsockname); Redis uses it to learn
  // its IP from the first MEET.
  virtual Endpoint local_address(ConnId conn) const = 0;
  // The peer's address (getpeername).
  virtual Endpoint peer_address(ConnId conn) const = 0;
  // Bytes queued for sending and not yet handed to the network (output-buffer limits, INFO).
  virtual std::uint64_t pending_bytes(ConnId conn) const = 0;
};

// A small file API over the node's own directory, with an explicit fsync so the simulator can lose
// what was not synced when a process crashes. Names are plain file names, or "<dir>/<file>" for a
// file in a subdirectory created with make_dir (the AOF's appenddirname).
class Storage {
 public:
  virtual ~Storage() = default;
  virtual Result<std::string> read(std::string_view name) = 0;                  // whole file
  virtual Result<void> write(std::string_view name, std::string_view data) = 0;  // create or truncate, then write
  virtual Result<void> append(std::string_view name, std::string_view data) = 0;
  virtual Result<void> fsync(std::string_view name) = 0;
  // Atomically replaces `to` with `from` (rename(2)). Durable once it returns (we model the
  // directory fsync that a careful writer does after a rename as part of rename).
  virtual Result<void> rename(std::string_view from, std::string_view to) = 0;
  // rename(2) without the durability: atomic for readers and across a crash of the process alone
  // (the kernel keeps it), but neither `from`'s data nor the new directory entry is synced, so a
  // power loss may bring `to`'s previous durable content back. This is what Redis's
  // clusterSaveConfig(do_fsync=0) amounts to. Default: the durable rename (only more durable).
  virtual Result<void> rename_unsynced(std::string_view from, std::string_view to) { return rename(from, to); }
  virtual Result<void> remove(std::string_view name) = 0;
  virtual bool exists(std::string_view name) const = 0;
  // Creates the subdirectory `name` if missing (mkdir -p of one level; an existing directory is
  // fine) and makes its entry durable. Hosts whose names are flat keys need not do anything.
  virtual Result<void> make_dir(std::string_view name) {
    (void)name;
    return {};
  }
};

// Seeded randomness. The simulator splits one generator per node from the run seed.
class Random {
 public:
  static constexpr int kLookahead = 32;

  virtual ~Random() = default;
  // The stream: values the generator made ahead for peek() come first, in order, so peeking never
  // changes the sequence next_u64() returns.
  std::uint64_t next_u64() {
    if (ahead_count_ == 0) return generate();
    std::uint64_t v = ahead_[ahead_head_];
    ahead_head_ = (ahead_head_ + 1) % kLookahead;
    --ahead_count_;
    return v;
  }
  // Uniform in [0, n); n > 0. Lemire-free simple modulo is fine for our n << 2^64, and it is
  // identical on every standard library (unlike std::uniform_int_distribution).
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next_u64() % n; }
  // What the k-th next call of below(n) will return (k = 0: the next one), without consuming it;
  // k < kLookahead. For prefetch hints (the gossip section's random picks), never for decisions.
  std::uint64_t peek_below(int k, std::uint64_t n) { return n == 0 ? 0 : peek_u64(k) % n; }
  // What the k-th next call of next_u64() will return, without consuming it; k < kLookahead.
  std::uint64_t peek_u64(int k) {
    while (ahead_count_ <= k) {
      ahead_[(ahead_head_ + ahead_count_) % kLookahead] = generate();
      ++ahead_count_;
    }
    return ahead_[(ahead_head_ + k) % kLookahead];
  }

 protected:
  virtual std::uint64_t generate() = 0;

 private:
  std::array<std::uint64_t, kLookahead> ahead_{};
  int ahead_head_ = 0;
  int ahead_count_ = 0;
};

enum class LogLevel : std::uint8_t { debug, verbose, notice, warning };

class Log {
 public:
  virtual ~Log() = default;
  virtual void log(LogLevel level, std::string_view message) = 0;
};

// Structured events for the harness's timelines and checkers (failover stages, refused votes with
// their reason...). The daemon turns them into log lines; the simulator records them in its trace.
enum class TraceKind : std::uint8_t {
  node_started,
  pfail_marked,         // about: the node we now consider possibly failing
  pfail_cleared,
  fail_marked,          // about, value = number of failure reports that made the quorum
  fail_cleared,
  election_scheduled,   // value = delay ms, epoch = rank
  election_started,     // epoch = election epoch (currentEpoch after the bump)
  failover_refused,     // detail = reason (Redis's cant_failover_reason)
  vote_granted,         // about = requesting replica, epoch = its request epoch
  vote_refused,         // about = requesting replica, detail = reason
  auth_ack_received,    // about = voter
  promoted,             // epoch = new configEpoch
  role_changed,         // about = new primary (null if we are a primary now)
  config_epoch_changed, // epoch = new config epoch, about = whose
  slots_changed,        // value = number of slots we own
  state_changed,        // value = 1 ok, 0 fail
  node_added,           // about
  node_removed,         // about
  manual_failover_started,
  manual_failover_aborted,  // detail = reason
  config_saved,         // nodes.conf written: something in our view of the cluster changed
  replication_up,       // about = our primary: the replication link is connected
  replication_down,     // about = our primary
  crashed,              // emitted by hosts
  restarted,
};

// Stable snake_case names ("pfail_marked"), used in logs, JSON results and reports.
const char* trace_kind_name(TraceKind kind);

struct TraceEvent {
  TraceKind kind;
  NodeId about;
  std::uint64_t epoch = 0;
  std::int64_t value = 0;
  std::string detail;
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_trace(const TraceEvent& event) = 0;
};

// What a crash or a shutdown means is the host's business: the simulator discards the node's
// memory and keeps its disk; the daemon really dies. Both calls take effect after the current
// event handler returns, never inside it.
class Process {
 public:
  virtual ~Process() = default;
  virtual void crash(std::string_view reason) = 0;  // DEBUG SEGFAULT
  virtual void shutdown(int exit_code) = 0;         // SHUTDOWN
  virtual std::int64_t pid() const = 0;             // INFO's process_id
  // CONFIG REWRITE: the host owns the configuration file (if any). `directives` are the lines
  // "name value" of every directive whose value differs from its default.
  virtual Result<void> rewrite_config(const std::vector<std::string>& directives) {
    (void)directives;
    return make_error(Errc::state, "The server is running without a config file");
  }
  // Static facts about the process for INFO server (executable, config_file, os).
  virtual std::string executable() const { return {}; }
  virtual std::string config_file() const { return {}; }
};

// Which listening socket accepted a connection.
enum class ListenerKind : std::uint8_t { data, bus };

// Why a connection ended, as far as the host can tell.
enum class CloseReason : std::uint8_t {
  peer_closed,  // orderly FIN from the peer, or its process died and its kernel closed the socket
  reset,        // RST (e.g. the peer's process is gone and we sent data)
  refused,      // connect(): nobody listens there (ECONNREFUSED)
  timeout,      // connect() or retransmissions gave up
  local_error,  // a local failure (EMFILE, buffer limit ...)
};

// What a host drives: the node implements it, and so do the harness's client multiplexers that
// live inside the simulator. The host calls these one at a time, never re-entrantly.
class Actor {
 public:
  virtual ~Actor() = default;
  virtual void on_accept(ListenerKind kind, ConnId conn, const Endpoint& peer) = 0;
  virtual void on_connected(ConnId conn) = 0;
  virtual void on_bytes(ConnId conn, std::string_view bytes) = 0;
  virtual void on_closed(ConnId conn, CloseReason reason) = 0;
  // Every 100 ms (Redis's hz 10 serverCron/clusterCron period), with a per-host phase.
  virtual void on_tick() = 0;
};

struct Env {
  Clock& clock;
  Transport& transport;
  Storage& storage;
  Random& random;
  Log& log;
  Observer& observer;
  Process& process;
};

}  // namespace slotlab
