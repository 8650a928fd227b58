// The daemon's event loop: one thread, one epoll instance, hosting one or more Actors over real
// TCP sockets (DESIGN.md "The seam"). It is the real-world counterpart of the simulator's event
// queue, and the harness drives it from the top the same way (run_until while waiting for a reply).
//
// Each hosted actor gets an ActorHost, which is that actor's Transport: non-blocking connects
// reported later as on_connected / on_closed, per-connection output buffers written when the socket
// is writable, reads delivered as on_bytes, peer closes and resets as on_closed with a reason, and a
// tick every 100 ms. Nothing is delivered re-entrantly: what an actor does through its Transport
// (connect, send, close) at most queues work; completions arrive as later events from the loop.
//
// Performance notes (the daemon is benchmarked against redis-server): epoll is level-triggered;
// sends are buffered and written once per connection per loop iteration, right before the loop
// sleeps (Redis's handleClientsWithPendingWrites); a send into an empty buffer swaps strings instead
// of copying, so a steady request/reply stream does not allocate; reads go into one shared buffer
// and are capped per connection and iteration so one client cannot starve the others.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "node/env.hpp"
#include "node/result.hpp"

namespace slotlab::daemon {

class EventLoop;

// The real wall clock (Redis's mstime()/ustime()): what Clock::now_ms() means for a real node.
class RealClock final : public Clock {
 public:
  Millis now_ms() const override;
  std::int64_t now_us() const override;
};

// Monotonic milliseconds (CLOCK_MONOTONIC): the loop's own time for timers and deadlines.
Millis monotonic_ms();

// client-output-buffer-limit for one class: a connection whose unsent output reaches hard_bytes,
// or stays at or above soft_bytes for more than soft_seconds, is closed (0 disables a limit).
struct OutputLimit {
  std::uint64_t hard_bytes = 0;
  std::uint64_t soft_bytes = 0;
  std::int64_t soft_seconds = 0;
  bool enabled() const { return hard_bytes != 0 || soft_bytes != 0; }
};

struct HostOptions {
  std::string name;                       // used in the loop's own log lines
  std::int64_t tcp_keepalive_s = 300;     // SO_KEEPALIVE idle time (Redis's tcp-keepalive); 0: off
  int listen_backlog = 511;               // tcp-backlog
  OutputLimit data_output_limit;          // applied to connections accepted on a data listener
  Millis tick_period_ms = kCronPeriodMs;  // on_tick period; 0: no ticks
};

// Decides at accept time whether a connection is refused before the actor hears of it (protected
// mode, maxclients). Returns the bytes to write before closing, or an empty string to accept.
using AcceptFilter = std::function<std::string(ListenerKind kind, const Endpoint& peer)>;

// One actor's view of the loop: its Transport, its listeners, its tick.
class ActorHost final : public Transport {
 public:
  ActorHost(EventLoop& loop, HostOptions options);
  ~ActorHost() override;
  ActorHost(const ActorHost&) = delete;
  ActorHost& operator=(const ActorHost&) = delete;

  // The actor that receives this host's events. Events that arrive before attach() are dropped
  // (there is nobody to give them to); attach before listening or connecting.
  void attach(Actor& actor);
  Actor* actor() const { return actor_; }
  EventLoop& loop() const { return loop_; }
  const HostOptions& options() const { return options_; }

  // Listens on every address (IPv4 or IPv6 numeric; "*" and "::*" mean any; a leading "-" marks
  // an address as optional, as in Redis's bind). Port 0 asks the kernel for a free port. Returns
  // the bound port (of the first socket). On failure nothing stays open and the error reads like
  // redis-server's: "Could not create server TCP listening socket 127.0.0.1:7000: bind: Address
  // already in use".
  Result<std::uint16_t> listen(ListenerKind kind, const std::vector<std::string>& addresses, std::uint16_t port);
  void close_listeners();
  void set_accept_filter(AcceptFilter filter) { accept_filter_ = std::move(filter); }
  // Changes the output-buffer limit of one connection (e.g. once it is known to be a replica).
  void set_output_limit(ConnId conn, const OutputLimit& limit);
  // Live connections of this host (accepted and outgoing), for maxclients.
  std::size_t connection_count() const { return live_conns_; }

  // Transport
  ConnId connect(const Endpoint& to) override;
  ConnId connect_with_nagle(const Endpoint& to) override;
  void send(ConnId conn, std::string&& bytes) override;
  void close(ConnId conn) override;
  void abort(ConnId conn) override;
  Endpoint local_address(ConnId conn) const override;
  Endpoint peer_address(ConnId conn) const override;
  std::uint64_t pending_bytes(ConnId conn) const override;

 private:
  friend class EventLoop;
  EventLoop& loop_;
  HostOptions options_;
  Actor* actor_ = nullptr;
  AcceptFilter accept_filter_;
  std::vector<std::uint64_t> listener_keys_;
  std::size_t live_conns_ = 0;
  std::int64_t next_tick_ms_ = 0;  // monotonic
  ConnId do_connect(const Endpoint& to, bool nodelay);
};

// The loop. Not thread-safe: one thread owns it, as in Redis.
class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // False if the kernel refused an epoll instance (the error says why); nothing works then.
  bool ok() const { return epoll_fd_ >= 0; }
  const std::string& error() const { return error_; }

  // A new host, to be attached to its actor (the actor usually needs the host's Transport in its
  // constructor, hence two steps). Hosts live as long as the loop.
  ActorHost& add_host(HostOptions options = {});
  // add_host + attach, for actors built before their transport is needed.
  ActorHost& add_actor(Actor& actor, HostOptions options = {});
  // The host attached to `actor`, or nullptr.
  ActorHost* host_of(const Actor& actor) const;
  // Shorthand for host_of(actor)->listen(...).
  Result<std::uint16_t> listen(Actor& actor, ListenerKind kind, const std::vector<std::string>& addresses,
                               std::uint16_t port);

  // Runs one iteration: delivers queued events, waits up to timeout_ms for I/O or the next tick,
  // handles what is ready, flushes output. Returns whether any event reached an actor.
  bool run_once(Millis timeout_ms);
  // Runs until pred() holds (checked before starting and after every delivered event) or the
  // monotonic deadline (now_ms() scale) passes. Returns whether pred() held.
  bool run_until(const std::function<bool()>& pred, Millis deadline_ms);
  // Runs until stop() is called (from an event handler, a deferred task or a signal handler set
  // with on_signal).
  void run_forever();
  void stop() { stopping_ = true; }
  bool stopping() const { return stopping_; }

  // The loop's clock: monotonic milliseconds, the scale of run_until's deadline.
  Millis now_ms() const { return monotonic_ms(); }
  // The wall clock handed to actors as Env::clock.
  Clock& wall_clock() { return wall_clock_; }

  // Runs `task` after the event being delivered returns (or at the start of the next iteration
  // when called outside an event): how Process::crash/shutdown take effect "after the current
  // event handler returns".
  void defer(std::function<void()> task);
  // Handles `signo` in the loop (signalfd): the signal is blocked for the thread and `handler`
  // runs from the loop like any event. Returns false if it could not be set up. The blocked mask
  // is inherited by children: a process that forks and execs must unblock the signal in the child.
  bool on_signal(int signo, std::function<void(int)> handler);
  // Where the loop reports what it does on its own (connections closed for output limits, accept
  // errors). Default: nowhere.
  void set_log(Log* log) { log_ = log; }

  // Writes pending output of every connection now (also done automatically each iteration).
  void flush();

  // Statistics (INFO-like, tests).
  std::uint64_t connections_accepted() const { return stat_accepted_; }
  std::uint64_t connections_rejected() const { return stat_rejected_; }

 private:
  friend class ActorHost;
  struct Conn;
  struct Listener;
  struct Pending {
    enum class Kind : std::uint8_t { connected, closed } kind;
    ActorHost* host;
    ConnId conn;
    CloseReason reason;
  };

  // Pointer to a predicate checked after each delivery, or nullptr.
  using Pred = const std::function<bool()>*;
  // One iteration; returns true as soon as *pred holds.
  bool step(Millis timeout_ms, Pred pred, bool& delivered);
  bool deliver_pending(Pred pred, bool& delivered);
  bool after_delivery(Pred pred);
  void run_deferred();
  bool run_ticks(Pred pred, bool& delivered);
  bool handle_io(std::uint64_t key, std::uint32_t events, Pred pred, bool& delivered);
  bool handle_accept(Listener& listener, Pred pred, bool& delivered);
  bool handle_readable(Conn& c, Pred pred, bool& delivered);
  void handle_writable(Conn& c);
  void handle_connect_result(Conn& c);
  void handle_signals();

  Conn* find_conn(ConnId id) const;
  Conn* find_live_conn(ActorHost& host, ConnId id) const;
  ConnId new_conn(ActorHost& host, int fd, bool accepted, ListenerKind kind);
  void mark_for_flush(Conn& c);
  // Writes as much as the socket takes; false if the connection failed (then it is destroyed and,
  // unless the actor closed it already, on_closed is queued).
  bool write_out(Conn& c);
  void update_interest(Conn& c, bool want_write);
  // Ends a connection the actor did not close: frees it and queues on_closed(reason).
  void fail_conn(Conn& c, CloseReason reason);
  void destroy_conn(ConnId id);
  void check_output_limit(Conn& c, Millis now_ms);
  void logf_warning(const std::string& message);

  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  std::string error_;
  RealClock wall_clock_;
  Log* log_ = nullptr;
  std::vector<std::unique_ptr<ActorHost>> hosts_;
  std::unordered_map<ConnId, std::unique_ptr<Conn>> conns_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Listener>> listeners_;
  std::deque<Pending> pending_;
  std::vector<ConnId> flush_list_;
  std::vector<ConnId> closing_;  // closed by their actor, still draining output
  std::vector<std::function<void()>> deferred_;
  std::unordered_map<int, std::function<void(int)>> signal_handlers_;
  std::vector<char> read_buf_;
  ConnId next_conn_id_ = 1;
  std::uint64_t next_listener_id_ = 1;
  bool stopping_ = false;
  bool delivering_ = false;
  std::uint64_t stat_accepted_ = 0;
  std::uint64_t stat_rejected_ = 0;
};

}  // namespace slotlab::daemon
