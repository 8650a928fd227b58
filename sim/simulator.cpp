// Simulator: the event loop, host lifecycle, ticks, harness timers, the per-incarnation Env
// implementations and the trace (simulator.hpp).
#include "sim/simulator.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "node/assert_context.hpp"

namespace slotlab::sim {

namespace {
// Purposes of the Rng streams split from the run seed. Changing a value changes every run.
constexpr std::uint64_t kStreamNetwork = 1;
constexpr std::uint64_t kStreamHostRandom = 2;
constexpr std::uint64_t kStreamTickPhase = 3;
constexpr std::uint64_t kStreamDisk = 4;

std::uint64_t hash_text(std::string_view s) { return hash_bytes(s, true); }
}  // namespace

// ---------------------------------------------------------------------------------------------
// The Env of one incarnation of a host's process. Each component forwards to the simulator with
// its host id; after the process dies (alive == false) calls from a lingering destructor are
// ignored.

struct Simulator::Incarnation {
  // host_clock_us without the host lookup: clusterCron reads the clock once per node per tick
  // (as Redis's mstime() per iteration), 10 x N^2 calls per simulated second at N nodes. The
  // pointed-to values are the simulator's and the host's own, which outlive the incarnation.
  struct SimClock final : Clock {
    const std::int64_t* epoch_us;
    const std::int64_t* now;
    const std::int64_t* offset_us;
    SimClock(const Simulator* s, const std::int64_t* host_offset_us)
        : epoch_us(&s->config_.clock_epoch_us), now(&s->ctx_.now_us), offset_us(host_offset_us) {}
    std::int64_t now_us() const override { return *epoch_us + *now + *offset_us; }
    Millis now_ms() const override { return now_us() / 1000; }
  };

  struct SimTransport final : Transport {
    Network* net;
    HostId host;
    const bool* alive;
    SimTransport(Network* n, HostId h, const bool* a) : net(n), host(h), alive(a) {}
    ConnId connect(const Endpoint& to) override { return *alive ? net->connect(host, to) : kNoConn; }
    void send(ConnId conn, std::string&& bytes) override {
      if (*alive) net->send(host, conn, std::move(bytes));
    }
    void close(ConnId conn) override {
      if (*alive) net->close(host, conn);
    }
    Endpoint local_address(ConnId conn) const override { return net->local_address(host, conn); }
    Endpoint peer_address(ConnId conn) const override { return net->peer_address(host, conn); }
    std::uint64_t pending_bytes(ConnId conn) const override { return net->pending_bytes(host, conn); }
  };

  struct SimRandom final : Random {
    Rng rng;
    explicit SimRandom(Rng r) : rng(r) {}
    std::uint64_t generate() override { return rng.next_u64(); }
  };

  struct SimLog final : Log {
    Simulator* sim;
    HostId host;
    SimLog(Simulator* s, HostId h) : sim(s), host(h) {}
    void log(LogLevel level, std::string_view message) override { sim->append_log(host, level, message); }
  };

  struct SimObserver final : Observer {
    Simulator* sim;
    HostId host;
    const bool* alive;
    SimObserver(Simulator* s, HostId h, const bool* a) : sim(s), host(h), alive(a) {}
    void on_trace(const TraceEvent& event) override {
      if (*alive) sim->record_trace(host, event);
    }
  };

  struct SimProcess final : Process {
    Simulator* sim;
    HostId host;
    std::uint32_t start;
    const bool* alive;
    SimProcess(Simulator* s, HostId h, std::uint32_t st, const bool* a) : sim(s), host(h), start(st), alive(a) {}
    void crash(std::string_view reason) override {
      if (*alive) sim->request_stop(host, start, std::string(reason), DiskLoss::unsynced);
    }
    void shutdown(int exit_code) override {
      if (*alive) sim->request_stop(host, start, "shutdown, exit code " + std::to_string(exit_code), DiskLoss::none);
    }
    std::int64_t pid() const override {
      return 1000 + static_cast<std::int64_t>(index_of(host)) * 1000 + static_cast<std::int64_t>(start);
    }
    std::string executable() const override { return "/sim/slotlab-node"; }
  };

  Incarnation(Simulator* sim, HostId host, std::uint32_t start, Storage& storage, Rng random_rng,
              const std::int64_t* clock_offset_us)
      : clock(sim, clock_offset_us),
        transport(&sim->network_, host, &alive),
        random(random_rng),
        log(sim, host),
        observer(sim, host, &alive),
        process(sim, host, start, &alive),
        env{clock, transport, storage, random, log, observer, process} {}

  bool alive = true;
  SimClock clock;
  SimTransport transport;
  SimRandom random;
  SimLog log;
  SimObserver observer;
  SimProcess process;
  Env env;
  std::unique_ptr<Actor> actor;  // destroyed before the Env it references
};

struct Simulator::Host {
  HostConfig config;
  ActorFactory factory;
  HostState state = HostState::created;
  std::uint32_t starts = 0;      // incarnation number of the current/last process
  std::uint32_t tick_token = 0;  // bumps invalidate queued ticks
  bool tick_missed = false;      // a tick came due while paused
  bool dying = false;            // crash/shutdown requested by the actor, not yet executed
  std::int64_t clock_offset_us = 0;
  std::unique_ptr<SimDisk> disk;
  std::unique_ptr<Incarnation> inc;
  std::deque<LogLine> logs;
};

// ---------------------------------------------------------------------------------------------
// Construction

Simulator::Simulator(std::uint64_t seed, SimConfig config)
    : seed_(seed),
      config_(std::move(config)),
      root_(seed),
      network_(ctx_, config_.net, root_.split(kStreamNetwork)) {
  ctx_.hash_full_payloads = config_.hash_full_payloads;
  ctx_.fold(seed);
}

Simulator::Simulator(std::uint64_t seed, NetworkConfig net) : Simulator(seed, SimConfig{net}) {}

Simulator::~Simulator() {
  // Actors first (they may hold Env references), then everything else.
  for (auto& h : hosts_) {
    if (h->inc) {
      h->inc->alive = false;
      h->inc->actor.reset();
    }
  }
  set_assert_context(nullptr, nullptr);
}

std::string Simulator::assert_context(void* self) { return static_cast<Simulator*>(self)->describe_position(); }

std::string Simulator::describe_position() const {
  std::string s = "seed=" + std::to_string(seed_) + " t=" + std::to_string(ctx_.now_us) + "us";
  if (ctx_.in_actor && valid(ctx_.current_host))
    s += " host=" + hosts_[index_of(ctx_.current_host)]->config.name;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Hosts

Result<void> Simulator::check_host(HostId host, const char* op) const {
  if (valid(host)) return {};
  return make_error(Errc::invalid_argument, std::string(op) + ": unknown host id " + std::to_string(index_of(host)) +
                                                " (" + std::to_string(hosts_.size()) + " hosts)");
}

Result<void> Simulator::check_top_level(const char* op) const {
  if (!ctx_.in_actor) return {};
  return make_error(Errc::state, std::string(op) +
                                     ": called from inside an actor callback; use Simulator::schedule() to act "
                                     "at top level");
}

Result<HostId> Simulator::add_host(HostConfig config, ActorFactory factory) {
  const auto index = static_cast<std::uint32_t>(hosts_.size());
  if (config.name.empty()) config.name = "h" + std::to_string(index);
  if (config.ip.empty()) return make_error(Errc::invalid_argument, "add_host " + config.name + ": empty IP");
  if (config.tick_period_us <= 0)
    return make_error(Errc::invalid_argument, "add_host " + config.name + ": tick_period_us must be positive");
  if (!factory) return make_error(Errc::invalid_argument, "add_host " + config.name + ": no actor factory");
  for (const auto& h : hosts_) {
    if (h->config.name == config.name)
      return make_error(Errc::invalid_argument, "add_host: duplicate host name " + config.name);
    if (h->config.ip != config.ip) continue;
    for (const auto& [port, kind] : config.listeners)
      for (const auto& [other_port, other_kind] : h->config.listeners)
        if (port == other_port)
          return make_error(Errc::invalid_argument, "add_host " + config.name + ": " + config.ip + ":" +
                                                        std::to_string(port) + " already listened on by " +
                                                        h->config.name);
  }
  for (std::size_t i = 0; i < config.listeners.size(); ++i)
    for (std::size_t j = i + 1; j < config.listeners.size(); ++j)
      if (config.listeners[i].first == config.listeners[j].first)
        return make_error(Errc::invalid_argument, "add_host " + config.name + ": port " +
                                                      std::to_string(config.listeners[i].first) + " listed twice");

  const HostId id = host_id(index);
  auto host = std::make_unique<Host>();
  std::vector<Listener> listeners;
  for (const auto& [port, kind] : config.listeners) listeners.push_back(Listener{port, kind});
  network_.add_host(id, config.ip, std::move(listeners));
  host->config = std::move(config);
  host->factory = std::move(factory);
  host->disk = std::make_unique<SimDisk>(root_.split(kStreamDisk).split(index));
  host->disk->set_torn_writes(config_.torn_writes);
  hosts_.push_back(std::move(host));
  return id;
}

Result<void> Simulator::start(HostId host) {
  if (auto ok = check_host(host, "start"); !ok) return ok;
  if (auto ok = check_top_level("start"); !ok) return ok;
  const Host& h = *hosts_[index_of(host)];
  if (h.state != HostState::created)
    return make_error(Errc::state, "start " + h.config.name + ": already started (use restart after a crash)");
  return start_host(host, false);
}

Result<void> Simulator::restart(HostId host) {
  if (auto ok = check_host(host, "restart"); !ok) return ok;
  if (auto ok = check_top_level("restart"); !ok) return ok;
  const Host& h = *hosts_[index_of(host)];
  if (h.state != HostState::stopped)
    return make_error(Errc::state, "restart " + h.config.name + ": not stopped (crash it first, or start a new host)");
  return start_host(host, true);
}

Result<void> Simulator::start_host(HostId host, bool is_restart) {
  Host& h = *hosts_[index_of(host)];
  const std::uint32_t index = index_of(host);
  const std::uint32_t start = h.starts + 1;
  // Fresh but deterministic randomness for each incarnation: (seed, host index, start count).
  Rng random = root_.split(kStreamHostRandom).split(index).split(start);
  auto inc = std::make_unique<Incarnation>(this, host, start, *h.disk, random, &h.clock_offset_us);

  const HostState previous = h.state;
  h.state = HostState::running;
  h.starts = start;
  h.dying = false;
  h.tick_missed = false;
  network_.host_up(host);
  h.inc = std::move(inc);

  // The factory may already connect and send (the events come later), but may not re-enter the
  // simulator's lifecycle calls.
  ctx_.in_actor = true;
  ctx_.current_host = host;
  std::unique_ptr<Actor> actor = h.factory(h.inc->env);
  ctx_.in_actor = false;
  if (!actor) {
    h.inc->alive = false;
    network_.host_down(host);
    h.inc.reset();
    h.state = previous;
    h.starts = start - 1;
    network_.end_event();
    return make_error(Errc::state, "start " + h.config.name + ": the actor factory returned nothing");
  }
  h.inc->actor = std::move(actor);
  network_.set_actor(host, h.inc->actor.get());
  if (h.dying) network_.set_dying(host);  // the constructor already asked to crash

  Rng phase = root_.split(kStreamTickPhase).split(index).split(start);
  ++h.tick_token;
  schedule_tick(host, ctx_.now_us + static_cast<std::int64_t>(phase.below(static_cast<std::uint64_t>(h.config.tick_period_us))));
  if (is_restart) {
    TraceEvent ev;
    ev.kind = TraceKind::restarted;
    ev.value = start;
    record_trace(host, std::move(ev));
    append_log(host, LogLevel::notice, "*** restarted (start " + std::to_string(start) + ")");
  }
  return {};
}

Result<void> Simulator::crash(HostId host, std::string_view reason, DiskLoss loss) {
  if (auto ok = check_host(host, "crash"); !ok) return ok;
  if (auto ok = check_top_level("crash"); !ok) return ok;
  const Host& h = *hosts_[index_of(host)];
  if (h.state != HostState::running && h.state != HostState::paused)
    return make_error(Errc::state, "crash " + h.config.name + ": not running");
  stop_host(host, reason, loss);
  network_.end_event();
  return {};
}

void Simulator::request_stop(HostId host, std::uint32_t start, std::string reason, DiskLoss loss) {
  Host& h = *hosts_[index_of(host)];
  if (h.starts != start || h.dying) return;
  if (h.state != HostState::running && h.state != HostState::paused) return;
  h.dying = true;
  network_.set_dying(host);
  pending_stops_.push_back(PendingStop{host, start, std::move(reason), loss});
}

void Simulator::stop_host(HostId host, std::string_view reason, DiskLoss loss) {
  Host& h = *hosts_[index_of(host)];
  h.state = HostState::stopped;
  h.dying = false;
  ++h.tick_token;
  network_.host_down(host);  // the kernel closes the sockets first: the actor is already gone for peers
  if (h.inc) {
    h.inc->alive = false;     // Env calls from the destructor are ignored
    ctx_.in_actor = true;     // a destructor is actor code: no lifecycle calls from it
    ctx_.current_host = host;
    h.inc->actor.reset();
    ctx_.in_actor = false;
    h.inc.reset();
  }
  if (loss == DiskLoss::unsynced) h.disk->crash();
  TraceEvent ev;
  ev.kind = TraceKind::crashed;
  ev.detail = std::string(reason);
  ev.value = loss == DiskLoss::unsynced ? 1 : 0;
  record_trace(host, std::move(ev));
  append_log(host, LogLevel::warning, "*** process stopped: " + std::string(reason));
}

Result<void> Simulator::pause(HostId host) {
  if (auto ok = check_host(host, "pause"); !ok) return ok;
  if (auto ok = check_top_level("pause"); !ok) return ok;
  Host& h = *hosts_[index_of(host)];
  if (h.state != HostState::running) return make_error(Errc::state, "pause " + h.config.name + ": not running");
  h.state = HostState::paused;
  network_.pause(host);
  return {};
}

Result<void> Simulator::resume(HostId host) {
  if (auto ok = check_host(host, "resume"); !ok) return ok;
  if (auto ok = check_top_level("resume"); !ok) return ok;
  Host& h = *hosts_[index_of(host)];
  if (h.state != HostState::paused) return make_error(Errc::state, "resume " + h.config.name + ": not paused");
  h.state = HostState::running;
  network_.resume(host);  // schedules the held deliveries first...
  if (h.tick_missed) {    // ...then one prompt tick: Redis's overdue timer fires once, not in a burst
    h.tick_missed = false;
    ++h.tick_token;
    schedule_tick(host, ctx_.now_us);
  }
  return {};
}

std::optional<HostId> Simulator::find_host(std::string_view name) const {
  for (std::size_t i = 0; i < hosts_.size(); ++i)
    if (hosts_[i]->config.name == name) return host_id(static_cast<std::uint32_t>(i));
  return std::nullopt;
}

const HostConfig* Simulator::host_config(HostId host) const {
  return valid(host) ? &hosts_[index_of(host)]->config : nullptr;
}

HostState Simulator::state(HostId host) const {
  return valid(host) ? hosts_[index_of(host)]->state : HostState::created;
}

bool Simulator::is_running(HostId host) const {
  const HostState s = state(host);
  return s == HostState::running || s == HostState::paused;
}

bool Simulator::is_paused(HostId host) const { return state(host) == HostState::paused; }

std::uint32_t Simulator::starts(HostId host) const { return valid(host) ? hosts_[index_of(host)]->starts : 0; }

Actor* Simulator::actor(HostId host) const {
  if (!valid(host)) return nullptr;
  const Host& h = *hosts_[index_of(host)];
  return h.inc ? h.inc->actor.get() : nullptr;
}

SimDisk* Simulator::disk(HostId host) { return valid(host) ? hosts_[index_of(host)]->disk.get() : nullptr; }

const std::deque<LogLine>& Simulator::logs(HostId host) const {
  return valid(host) ? hosts_[index_of(host)]->logs : no_logs_;
}

// ---------------------------------------------------------------------------------------------
// Network faults

Result<void> Simulator::partition(const std::vector<std::vector<HostId>>& groups) {
  // Unnamed hosts share group 0; group i of the argument becomes i + 1.
  std::vector<std::uint32_t> group_of(hosts_.size(), 0);
  std::vector<bool> seen(hosts_.size(), false);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (HostId h : groups[g]) {
      if (auto ok = check_host(h, "partition"); !ok) return ok;
      if (seen[index_of(h)])
        return make_error(Errc::invalid_argument,
                          "partition: host " + hosts_[index_of(h)]->config.name + " is in two groups");
      seen[index_of(h)] = true;
      group_of[index_of(h)] = static_cast<std::uint32_t>(g + 1);
    }
  }
  network_.set_partition(std::move(group_of));
  return {};
}

Result<void> Simulator::block_link(HostId from, HostId to) {
  if (auto ok = check_host(from, "block_link"); !ok) return ok;
  if (auto ok = check_host(to, "block_link"); !ok) return ok;
  network_.block_link(from, to);
  return {};
}

Result<void> Simulator::unblock_link(HostId from, HostId to) {
  if (auto ok = check_host(from, "unblock_link"); !ok) return ok;
  if (auto ok = check_host(to, "unblock_link"); !ok) return ok;
  network_.unblock_link(from, to);
  return {};
}

void Simulator::heal() { network_.heal(); }

Result<void> Simulator::set_link_latency(HostId a, HostId b, std::int64_t extra_us) {
  if (auto ok = check_host(a, "set_link_latency"); !ok) return ok;
  if (auto ok = check_host(b, "set_link_latency"); !ok) return ok;
  if (extra_us < 0) return make_error(Errc::invalid_argument, "set_link_latency: negative extra latency");
  network_.set_link_latency(a, b, extra_us);
  return {};
}

Result<void> Simulator::reset_connections(HostId a, HostId b) {
  if (auto ok = check_host(a, "reset_connections"); !ok) return ok;
  if (auto ok = check_host(b, "reset_connections"); !ok) return ok;
  network_.reset_connections(a, b);
  return {};
}

bool Simulator::path_blocked(HostId from, HostId to) const {
  return valid(from) && valid(to) && network_.path_blocked(from, to);
}

Result<void> Simulator::set_clock_offset(HostId host, std::int64_t offset_us) {
  if (auto ok = check_host(host, "set_clock_offset"); !ok) return ok;
  hosts_[index_of(host)]->clock_offset_us = offset_us;
  return {};
}

std::int64_t Simulator::host_clock_us(HostId host) const {
  const std::int64_t offset = valid(host) ? hosts_[index_of(host)]->clock_offset_us : 0;
  return config_.clock_epoch_us + ctx_.now_us + offset;
}

// ---------------------------------------------------------------------------------------------
// Logs and trace

void Simulator::append_log(HostId host, LogLevel level, std::string_view text) {
  Host& h = *hosts_[index_of(host)];
  if (config_.echo_logs) {
    const long long t = ctx_.now_us;
    std::fprintf(stderr, "[%lld.%06lld] %s: %.*s\n", t / 1'000'000, t % 1'000'000, h.config.name.c_str(),
                 static_cast<int>(text.size()), text.data());
  }
  if (config_.log_lines_per_host == 0) return;
  if (h.logs.size() >= config_.log_lines_per_host) h.logs.pop_front();
  h.logs.push_back(LogLine{ctx_.now_us, level, std::string(text)});
}

void Simulator::record_trace(HostId host, TraceEvent event) {
  ctx_.fold(static_cast<std::uint64_t>(ctx_.now_us) ^ (static_cast<std::uint64_t>(index_of(host)) << 40) ^
            (std::uint64_t{0xFF} << 32) ^ static_cast<std::uint64_t>(event.kind));
  ctx_.fold(hash_text(event.about.view()));
  ctx_.fold(event.epoch);
  ctx_.fold(static_cast<std::uint64_t>(event.value));
  ctx_.fold(hash_text(event.detail));
  trace_.push_back(TraceRecord{ctx_.now_us, host, std::move(event)});
}

// ---------------------------------------------------------------------------------------------
// Ticks and timers

void Simulator::schedule_tick(HostId host, std::int64_t at_us) {
  const Host& h = *hosts_[index_of(host)];
  ctx_.schedule(at_us, EventKind::tick, index_of(host), h.starts, h.tick_token);
}

void Simulator::on_tick(HostId host, std::uint32_t start, std::uint32_t token) {
  Host& h = *hosts_[index_of(host)];
  if (h.starts != start || h.tick_token != token || !h.inc || !h.inc->actor) return;
  if (h.state == HostState::paused) {
    h.tick_missed = true;  // the chain stops; resume() restarts it
    return;
  }
  if (h.state != HostState::running || h.dying) return;
  ctx_.fold(static_cast<std::uint64_t>(ctx_.now_us) ^ (static_cast<std::uint64_t>(index_of(host)) << 40) ^
            (std::uint64_t{0xEE} << 32));
  ctx_.in_actor = true;
  ctx_.current_host = host;
  ++ctx_.actor_calls;
  h.inc->actor->on_tick();
  ctx_.in_actor = false;
  schedule_tick(host, ctx_.now_us + h.config.tick_period_us);
}

TimerId Simulator::schedule(std::int64_t at_us, std::function<void()> fn) {
  std::uint32_t slot;
  if (!free_timers_.empty()) {
    slot = free_timers_.back();
    free_timers_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(timers_.size());
    timers_.emplace_back();
  }
  TimerSlot& t = timers_[slot];
  t.fn = std::move(fn);
  t.live = true;
  ctx_.schedule(at_us, EventKind::timer, slot, t.gen);
  return (static_cast<TimerId>(t.gen) << 32) | slot;
}

bool Simulator::cancel(TimerId timer) {
  const auto slot = static_cast<std::uint32_t>(timer & 0xFFFFFFFFu);
  const auto gen = static_cast<std::uint32_t>(timer >> 32);
  if (slot >= timers_.size()) return false;
  TimerSlot& t = timers_[slot];
  if (!t.live || t.gen != gen) return false;
  t.live = false;
  t.fn = nullptr;
  ++t.gen;
  free_timers_.push_back(slot);
  return true;
}

void Simulator::on_timer(std::uint32_t slot, std::uint32_t gen) {
  TimerSlot& t = timers_[slot];
  if (!t.live || t.gen != gen) return;
  std::function<void()> fn = std::move(t.fn);
  t.fn = nullptr;
  t.live = false;
  ++t.gen;
  free_timers_.push_back(slot);
  if (fn) fn();  // may schedule more timers (timers_ may grow: `t` is not used after this)
}

// ---------------------------------------------------------------------------------------------
// The event loop

void Simulator::enter_run() {
  SLOTLAB_ASSERT_MSG(!in_run_ && !ctx_.in_actor,
                     "Simulator::run_*/step called from inside the simulation (a timer or an actor); "
                     "schedule work instead");
  set_assert_context(&Simulator::assert_context, this);
}

void Simulator::finish_event() {
  while (!pending_stops_.empty()) {
    std::vector<PendingStop> stops = std::move(pending_stops_);
    pending_stops_.clear();
    for (const PendingStop& s : stops) {
      const Host& h = *hosts_[index_of(s.host)];
      if (h.starts == s.start && (h.state == HostState::running || h.state == HostState::paused))
        stop_host(s.host, s.reason, s.loss);
    }
  }
  network_.end_event();
}

bool Simulator::run_one(std::int64_t limit_us) {
  finish_event();  // a crash requested outside the loop (e.g. by an actor's constructor)
  if (ctx_.queue.empty() || ctx_.queue.top().time_us > limit_us) return false;
  const Event e = ctx_.queue.pop();
  ctx_.now_us = e.time_us;
  ++events_processed_;
  in_run_ = true;
  switch (e.kind) {
    case EventKind::tick:
      on_tick(host_id(e.a), e.b, e.c);
      break;
    case EventKind::timer:
      on_timer(e.a, e.b);
      break;
    default:
      network_.handle(e);
      break;
  }
  in_run_ = false;
  finish_event();
  return true;
}

bool Simulator::step() {
  enter_run();
  return run_one(INT64_MAX);
}

void Simulator::run_until(std::int64_t t_us) {
  enter_run();
  while (run_one(t_us)) {
  }
  if (ctx_.now_us < t_us) ctx_.now_us = t_us;
}

void Simulator::run_for(std::int64_t duration_us) { run_until(ctx_.now_us + std::max<std::int64_t>(duration_us, 0)); }

bool Simulator::run_until(const std::function<bool()>& pred, std::int64_t deadline_us) {
  enter_run();
  if (pred()) return true;
  while (run_one(deadline_us)) {
    if (pred()) return true;
  }
  if (ctx_.now_us < deadline_us) ctx_.now_us = deadline_us;
  return pred();
}

}  // namespace slotlab::sim
