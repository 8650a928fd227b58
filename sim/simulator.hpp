// Simulator: a deterministic discrete-event world that hosts any number of Actors (Redis nodes,
// harness client multiplexers, test actors) on virtual hosts, in one thread, in virtual time.
//
// It owns virtual time and the event queue, each host's process lifecycle (start, crash, restart,
// pause/resume, the Env an incarnation runs with), ticks, harness timers, the run's trace and its
// hash. The network (network.hpp) and the disks (disk.hpp) are its parts, in their own files.
//
// Determinism: one seed fixes everything. Events run in (virtual time, sequence) order; every
// random draw comes from Rng streams derived from (seed, purpose, host index, start count); no
// decision depends on the iteration order of an unordered container; time is integer microseconds.
// The trace hash folds every actor callback (time, host, kind, connection, bytes) and every
// Observer event, so two runs of the same seed can be compared with one number.
//
// Lifetimes (see README in the report): a host's SimDisk, clock offset and log lines belong to the
// host and survive crashes. Everything an actor can reach through Env (clock, transport, random,
// log, observer, process objects) belongs to one *incarnation*: created by start()/restart() just
// before the factory runs, destroyed right after the actor on crash or shutdown. So an Env& stays
// valid for exactly the lifetime of the actor it was given to.
//
// Re-entrancy: actor callbacks never nest. What an actor does through Env only schedules later
// events; Process::crash()/shutdown() take effect when the current callback has returned. Harness
// calls that create or destroy actors are refused while an actor callback runs.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/env.hpp"
#include "node/result.hpp"
#include "sim/core.hpp"
#include "sim/disk.hpp"
#include "sim/network.hpp"
#include "sim/rng.hpp"

namespace slotlab::sim {

struct HostConfig {
  std::string name;  // for logs and traces; "h<index>" if empty; must be unique
  std::string ip;    // hosts may share an IP if their listening ports differ
  std::vector<std::pair<std::uint16_t, ListenerKind>> listeners;
  std::int64_t tick_period_us = 100'000;  // Redis hz 10
};

using ActorFactory = std::function<std::unique_ptr<Actor>(Env&)>;

struct SimConfig {
  NetworkConfig net;
  // What hosts' clocks read at virtual time 0 (2023-11-14T22:13:20Z): a realistic wall clock, since
  // Redis treats 0 as "never" in places.
  std::int64_t clock_epoch_us = 1'700'000'000'000'000;
  std::size_t log_lines_per_host = 2000;  // the last N lines are kept per host
  bool echo_logs = false;                 // also print log lines to stderr
  bool hash_full_payloads = false;        // trace hash over every payload byte (default: sampled)
  bool torn_writes = false;               // initial torn-write switch of every host's disk
};

enum class HostState : std::uint8_t {
  created,  // added, never started
  running,
  paused,   // SIGSTOP: process alive, nothing delivered, no ticks
  stopped,  // crashed or shut down; restart() brings it back with the same disk
};

// What a crash does to the disk: unsynced = power loss / machine crash (only fsynced data
// survives, torn writes if enabled); none = the process alone dies (kill -9), the page cache keeps
// every write.
enum class DiskLoss : std::uint8_t { unsynced, none };

struct TraceRecord {
  std::int64_t time_us = 0;
  HostId host{};
  TraceEvent event;
};

struct LogLine {
  std::int64_t time_us = 0;
  LogLevel level = LogLevel::notice;
  std::string text;
};

// Identifies a harness timer; 0 is never a valid id.
using TimerId = std::uint64_t;

class Simulator {
 public:
  explicit Simulator(std::uint64_t seed, SimConfig config = {});
  Simulator(std::uint64_t seed, NetworkConfig net);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  std::uint64_t seed() const { return seed_; }
  const SimConfig& config() const { return config_; }
  void set_echo_logs(bool on) { config_.echo_logs = on; }  // verbose: also print log lines to stderr

  // --- hosts and processes ---
  // Adds a host (not started). Errors: empty IP, duplicate name, an (IP, port) already listened
  // on, non-positive tick period, empty factory.
  Result<HostId> add_host(HostConfig config, ActorFactory factory);
  // Creates the actor with a fresh Env (the disk is kept), opens the listeners, schedules the
  // first tick at a random phase in [0, tick_period). start() is for a created host, restart()
  // for a stopped one.
  Result<void> start(HostId host);
  Result<void> restart(HostId host);
  // The process dies now: actor destroyed, memory lost, disk per `loss`; the kernel closes its
  // connections (peers get peer_closed after the bytes already sent), new connects are refused.
  Result<void> crash(HostId host, std::string_view reason, DiskLoss loss = DiskLoss::unsynced);
  // SIGSTOP / SIGCONT. While paused the kernel accepts connections and buffers bytes; on resume
  // what it held is delivered in order, then one tick fires if any was due meanwhile.
  Result<void> pause(HostId host);
  Result<void> resume(HostId host);

  std::size_t host_count() const { return hosts_.size(); }
  bool valid(HostId host) const { return index_of(host) < hosts_.size(); }
  std::optional<HostId> find_host(std::string_view name) const;
  const HostConfig* host_config(HostId host) const;
  HostState state(HostId host) const;        // created for an unknown id
  bool is_running(HostId host) const;        // process alive (running or paused)
  bool is_paused(HostId host) const;
  std::uint32_t starts(HostId host) const;   // how many times the host was started

  // --- network faults ---
  // Symmetric partition: traffic between hosts of different groups stalls (TCP retransmits). Hosts
  // named in no group together form one more group. Replaces the previous partition; one-way
  // blocks are kept.
  Result<void> partition(const std::vector<std::vector<HostId>>& groups);
  Result<void> block_link(HostId from, HostId to);    // one way: from -> to stalls
  Result<void> unblock_link(HostId from, HostId to);
  void heal();                                        // no partition, no blocks
  Result<void> set_link_latency(HostId a, HostId b, std::int64_t extra_us);  // both ways; 0 clears
  // A middlebox reset: every connection between a and b dies; both live ends get on_closed(reset).
  Result<void> reset_connections(HostId a, HostId b);
  bool path_blocked(HostId from, HostId to) const;

  // --- time ---
  std::int64_t now_us() const { return ctx_.now_us; }
  void run_for(std::int64_t duration_us);
  void run_until(std::int64_t t_us);  // runs every event at or before t_us, then now = t_us
  // Checks pred before the first event and after every event; true as soon as it holds, false if
  // deadline_us is reached (now = deadline_us then).
  bool run_until(const std::function<bool()>& pred, std::int64_t deadline_us);
  bool step();  // one queue event; false if the queue is empty
  // A harness timer: fn runs at top level (never inside an actor callback) at at_us (>= now).
  TimerId schedule(std::int64_t at_us, std::function<void()> fn);
  bool cancel(TimerId timer);
  std::size_t queued_events() const { return ctx_.queue.size(); }

  // --- clocks ---
  // What host's Clock reads = clock_epoch + virtual now + offset. May be changed at any time (a
  // jump); kept across restarts (it is the machine's clock).
  Result<void> set_clock_offset(HostId host, std::int64_t offset_us);
  std::int64_t host_clock_us(HostId host) const;

  // --- introspection ---
  Actor* actor(HostId host) const;  // nullptr unless running or paused
  template <class T>
  T* actor_as(HostId host) const { return dynamic_cast<T*>(actor(host)); }
  SimDisk* disk(HostId host);  // nullptr for an unknown id
  const std::deque<LogLine>& logs(HostId host) const;
  const std::vector<TraceRecord>& trace() const { return trace_; }
  std::uint64_t trace_hash() const { return ctx_.trace_hash; }
  std::uint64_t events_processed() const { return events_processed_; }
  std::uint64_t actor_calls() const { return ctx_.actor_calls; }
  const NetworkStats& network_stats() const { return network_.stats(); }
  Network& network() { return network_; }
  const Network& network() const { return network_; }
  // "seed=… t=…us host=…": printed with assertion failures and by failing tests.
  std::string describe_position() const;

 private:
  struct Incarnation;
  struct Host;
  struct PendingStop {
    HostId host;
    std::uint32_t start;
    std::string reason;
    DiskLoss loss;
  };
  struct TimerSlot {
    std::function<void()> fn;
    std::uint32_t gen = 1;
    bool live = false;
  };
  friend struct Incarnation;

  Result<void> check_host(HostId host, const char* op) const;
  Result<void> check_top_level(const char* op) const;
  Result<void> start_host(HostId host, bool is_restart);
  void stop_host(HostId host, std::string_view reason, DiskLoss loss);
  void request_stop(HostId host, std::uint32_t start, std::string reason, DiskLoss loss);
  void schedule_tick(HostId host, std::int64_t at_us);
  void on_tick(HostId host, std::uint32_t start, std::uint32_t token);
  void on_timer(std::uint32_t slot, std::uint32_t gen);
  bool run_one(std::int64_t limit_us);
  void finish_event();
  void enter_run();
  void append_log(HostId host, LogLevel level, std::string_view text);
  void record_trace(HostId host, TraceEvent event);
  static std::string assert_context(void* self);

  std::uint64_t seed_;
  SimConfig config_;
  Rng root_;
  SimContext ctx_;
  Network network_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<PendingStop> pending_stops_;
  std::vector<TimerSlot> timers_;
  std::vector<std::uint32_t> free_timers_;
  std::vector<TraceRecord> trace_;
  std::uint64_t events_processed_ = 0;
  bool in_run_ = false;
  std::deque<LogLine> no_logs_;
};

}  // namespace slotlab::sim
