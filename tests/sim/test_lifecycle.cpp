// Host lifecycle in the simulator: ticks and their phase, pause/resume, crashes requested by the
// actor itself, actors that act in their constructor, harness errors, clocks, logs and the trace.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "sim/simulator.hpp"
#include "test_actors.hpp"

using namespace slotlab;
using namespace slotlab::sim;
using namespace slotlab::sim::testing;

namespace {

HostId must(Result<HostId> r) {
  REQUIRE(r.ok());
  return *r;
}

void ok(Result<void> r) {
  if (!r.ok()) FAIL(r.error().message);
}

}  // namespace

TEST_CASE("lifecycle: ticks every period, first one at a phase inside the first period", "[sim][lifecycle]") {
  Simulator sim(21);
  HostId h = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
  ok(sim.start(h));
  auto& r = actor_of<Recorder>(sim, h);
  r.record_ticks = true;
  sim.run_for(1'000'000);
  const auto ticks = r.of(Cb::tick);
  REQUIRE(ticks.size() == 10);
  CHECK(ticks[0].t_us < 100'000);
  for (std::size_t i = 1; i < ticks.size(); ++i) CHECK(ticks[i].t_us - ticks[i - 1].t_us == 100'000);
}

TEST_CASE("lifecycle: hosts get different tick phases", "[sim][lifecycle]") {
  Simulator sim(4);
  std::set<std::int64_t> phases;
  std::vector<HostId> hosts;
  for (int i = 0; i < 8; ++i) {
    hosts.push_back(must(sim.add_host(host_cfg("n" + std::to_string(i), "10.0.0." + std::to_string(i + 1)), recorder())));
    ok(sim.start(hosts.back()));
    actor_of<Recorder>(sim, hosts.back()).record_ticks = true;
  }
  sim.run_for(100'000);
  for (HostId h : hosts) {
    auto t = actor_of<Recorder>(sim, h).of(Cb::tick);
    REQUIRE(t.size() == 1);
    phases.insert(t[0].t_us);
  }
  CHECK(phases.size() > 4);
}

TEST_CASE("lifecycle: a paused host's kernel accepts and buffers; resume delivers in order, then one tick",
          "[sim][lifecycle]") {
  Simulator sim(8);
  HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
  HostId b = must(sim.add_host(host_cfg("b", "10.0.0.2"), recorder()));
  ok(sim.start(a));
  ok(sim.start(b));
  auto& ra = actor_of<Recorder>(sim, a);
  auto& rb = actor_of<Recorder>(sim, b);
  rb.record_ticks = true;
  sim.run_for(1'000'000);
  const int ticks_before = rb.ticks;

  ok(sim.pause(b));
  CHECK(sim.is_paused(b));
  CHECK(sim.is_running(b));
  const ConnId c = ra.connect({"10.0.0.2", 7000});
  sim.run_for(10'000);
  CHECK(ra.of(Cb::connected, c).size() == 1);  // the kernel's backlog completes the handshake
  for (int i = 0; i < 5; ++i) ra.send(c, "m" + std::to_string(i) + ";");
  sim.run_for(2'000'000);
  CHECK(rb.ticks == ticks_before);
  CHECK(rb.of(Cb::accept).empty());
  CHECK(ra.env().transport.pending_bytes(c) == 15);  // not yet read by b's process
  CHECK(sim.network().held_deliveries(b) == 6);

  const std::int64_t resumed_at = sim.now_us();
  ok(sim.resume(b));
  sim.run_for(50'000);
  std::vector<Cb> kinds;
  for (const auto& r : rb.records)
    if (r.t_us >= resumed_at) kinds.push_back(r.kind);
  REQUIRE(kinds.size() == 7);
  CHECK(kinds[0] == Cb::accept);
  for (int i = 1; i <= 5; ++i) CHECK(kinds[static_cast<std::size_t>(i)] == Cb::bytes);
  CHECK(kinds[6] == Cb::tick);  // exactly one prompt tick, after the held events
  CHECK(rb.ticks == ticks_before + 1);
  CHECK(rb.received[rb.of(Cb::accept)[0].conn] == "m0;m1;m2;m3;m4;");
  CHECK(ra.env().transport.pending_bytes(c) == 0);
  for (const auto& r : rb.records)
    if (r.t_us >= resumed_at) CHECK(r.t_us == resumed_at);
  // Then ticks continue at the normal period.
  sim.run_for(1'000'000);
  CHECK(rb.ticks >= ticks_before + 10);
  CHECK(rb.ticks <= ticks_before + 11);
}

TEST_CASE("lifecycle: pause and resume are refused in the wrong state", "[sim][lifecycle]") {
  Simulator sim(1);
  HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
  CHECK_FALSE(sim.pause(a).ok());
  ok(sim.start(a));
  CHECK_FALSE(sim.resume(a).ok());
  ok(sim.pause(a));
  CHECK_FALSE(sim.pause(a).ok());
  ok(sim.crash(a, "killed while stopped"));  // SIGKILL works on a stopped process
  CHECK_FALSE(sim.resume(a).ok());
}

namespace {
// Crashes itself (Process::crash, like DEBUG SEGFAULT) when it receives "die".
class Suicidal : public Recorder {
 public:
  explicit Suicidal(Env& env) : Recorder(env) {
    on_bytes_fn = [](Recorder& self, ConnId, std::string_view bytes) {
      if (bytes == "die") {
        self.env().process.crash("DEBUG SEGFAULT");
        self.env().transport.send(self.records.back().conn, "after crash() returned");
      }
    };
  }
};
}  // namespace

TEST_CASE("lifecycle: Process::crash takes effect after the callback returns", "[sim][lifecycle]") {
  Simulator sim(3);
  HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
  HostId b = must(sim.add_host(host_cfg("b", "10.0.0.2"),
                               [](Env& env) { return std::make_unique<Suicidal>(env); }));
  ok(sim.start(a));
  ok(sim.start(b));
  auto& ra = actor_of<Recorder>(sim, a);
  const ConnId c = ra.connect({"10.0.0.2", 7000});
  sim.run_for(10'000);
  const std::int64_t pid_before = actor_of<Recorder>(sim, b).env().process.pid();
  ra.send(c, "die");
  ra.send(c, "never read");
  sim.run_for(100'000);
  CHECK_FALSE(sim.is_running(b));
  CHECK(sim.actor(b) == nullptr);
  REQUIRE(!sim.trace().empty());
  CHECK(sim.trace().back().event.kind == TraceKind::crashed);
  CHECK(sim.trace().back().event.detail == "DEBUG SEGFAULT");
  CHECK(sim.trace().back().host == b);
  // The peer sees the close; what the actor queued before dying was still sent by its kernel.
  CHECK(ra.received[c] == "after crash() returned");
  REQUIRE(ra.of(Cb::closed, c).size() == 1);
  CHECK(ra.of(Cb::closed, c)[0].reason == CloseReason::peer_closed);

  ok(sim.restart(b));
  CHECK(sim.starts(b) == 2);
  CHECK(actor_of<Recorder>(sim, b).env().process.pid() != pid_before);
  CHECK(sim.trace().back().event.kind == TraceKind::restarted);
}

namespace {
// Connects and sends from its constructor (a node that rejoins its cluster at startup).
class EagerClient : public Recorder {
 public:
  explicit EagerClient(Env& env) : Recorder(env) {
    conn = connect({"10.0.0.2", 7000});
    send(conn, "hello from the constructor");
  }
  ConnId conn = kNoConn;
};
}  // namespace

TEST_CASE("lifecycle: an actor may connect and send from its constructor", "[sim][lifecycle]") {
  Simulator sim(6);
  HostId b = must(sim.add_host(host_cfg("b", "10.0.0.2"), recorder()));
  HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"),
                               [](Env& env) { return std::make_unique<EagerClient>(env); }));
  ok(sim.start(b));
  ok(sim.start(a));
  sim.run_for(10'000);
  auto& ra = actor_of<EagerClient>(sim, a);
  auto& rb = actor_of<Recorder>(sim, b);
  CHECK(ra.of(Cb::connected, ra.conn).size() == 1);
  REQUIRE(rb.of(Cb::accept).size() == 1);
  CHECK(rb.received[rb.of(Cb::accept)[0].conn] == "hello from the constructor");
}

TEST_CASE("lifecycle: bad harness calls are errors, not crashes", "[sim][lifecycle]") {
  Simulator sim(1);
  const HostId ghost = host_id(3);
  CHECK_FALSE(sim.start(ghost).ok());
  CHECK(sim.start(ghost).error().code == Errc::invalid_argument);
  CHECK_FALSE(sim.crash(ghost, "x").ok());
  CHECK_FALSE(sim.restart(ghost).ok());
  CHECK_FALSE(sim.block_link(ghost, ghost).ok());
  CHECK_FALSE(sim.set_clock_offset(ghost, 5).ok());
  CHECK_FALSE(sim.reset_connections(ghost, ghost).ok());
  CHECK(sim.actor(ghost) == nullptr);
  CHECK(sim.disk(ghost) == nullptr);
  CHECK(sim.logs(ghost).empty());
  CHECK_FALSE(sim.is_running(ghost));

  CHECK_FALSE(sim.add_host(HostConfig{"x", "", {}, 100'000}, recorder()).ok());
  CHECK_FALSE(sim.add_host(host_cfg("x", "10.0.0.1"), nullptr).ok());
  HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
  CHECK_FALSE(sim.add_host(host_cfg("a", "10.0.0.9"), recorder()).ok());  // duplicate name
  CHECK(sim.find_host("a") == a);
  CHECK_FALSE(sim.restart(a).ok());  // never started
  CHECK_FALSE(sim.crash(a, "x").ok());
  ok(sim.start(a));
  CHECK_FALSE(sim.start(a).ok());
  CHECK_FALSE(sim.restart(a).ok());  // running
  ok(sim.crash(a, "x"));
  CHECK(sim.crash(a, "again").error().code == Errc::state);

  HostId n = must(sim.add_host(host_cfg("null", "10.0.0.3"), [](Env&) { return std::unique_ptr<Actor>(); }));
  CHECK_FALSE(sim.start(n).ok());
  CHECK(sim.state(n) == HostState::created);
}

TEST_CASE("lifecycle: lifecycle calls from inside an actor callback are refused", "[sim][lifecycle]") {
  Simulator sim(1);
  HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
  ok(sim.start(a));
  bool refused = false;
  actor_of<Recorder>(sim, a).on_tick_fn = [&](Recorder&) {
    if (!refused) refused = !sim.crash(a, "from a tick").ok();
  };
  sim.run_for(200'000);
  CHECK(refused);
  CHECK(sim.is_running(a));
  // From a harness timer it is fine.
  sim.schedule(sim.now_us() + 10, [&] { ok(sim.crash(a, "from a timer")); });
  sim.run_for(1'000);
  CHECK_FALSE(sim.is_running(a));
}

TEST_CASE("lifecycle: clock offsets skew what a host's clock reads", "[sim][lifecycle]") {
  Simulator sim(1);
  HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
  ok(sim.start(a));
  Clock& clock = actor_of<Recorder>(sim, a).env().clock;
  sim.run_for(1'234'567);
  CHECK(clock.now_us() == kEpochUs + 1'234'567);
  CHECK(clock.now_ms() == (kEpochUs + 1'234'567) / 1000);
  ok(sim.set_clock_offset(a, -30'000'000));
  CHECK(clock.now_us() == kEpochUs + 1'234'567 - 30'000'000);
  // The offset belongs to the machine: a restarted process reads the same skewed clock.
  ok(sim.crash(a, "x"));
  ok(sim.restart(a));
  CHECK(actor_of<Recorder>(sim, a).env().clock.now_us() == kEpochUs + 1'234'567 - 30'000'000);
}

TEST_CASE("lifecycle: logs keep the last lines per host with virtual time", "[sim][lifecycle]") {
  SimConfig cfg;
  cfg.log_lines_per_host = 3;
  Simulator sim(1, cfg);
  HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
  ok(sim.start(a));
  Log& log = actor_of<Recorder>(sim, a).env().log;
  for (int i = 0; i < 5; ++i) {
    log.log(LogLevel::notice, "line " + std::to_string(i));
    sim.run_for(1'000);
  }
  const auto& lines = sim.logs(a);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].text == "line 2");
  CHECK(lines[2].text == "line 4");
  CHECK(lines[2].time_us == 4'000);
}

TEST_CASE("lifecycle: Observer events land in the trace with time and host, and in the hash", "[sim][lifecycle]") {
  Simulator sim(1);
  HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
  ok(sim.start(a));
  sim.run_for(5'000);
  const std::uint64_t before = sim.trace_hash();
  TraceEvent ev;
  ev.kind = TraceKind::fail_marked;
  ev.value = 3;
  actor_of<Recorder>(sim, a).env().observer.on_trace(ev);
  REQUIRE(sim.trace().size() == 1);
  CHECK(sim.trace()[0].time_us == 5'000);
  CHECK(sim.trace()[0].host == a);
  CHECK(sim.trace()[0].event.value == 3);
  CHECK(sim.trace_hash() != before);
}

TEST_CASE("lifecycle: each incarnation draws fresh but reproducible randomness", "[sim][lifecycle]") {
  auto draws = [](std::uint64_t seed, int extra_hosts) {
    Simulator sim(seed);
    HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
    for (int i = 0; i < extra_hosts; ++i)
      (void)sim.add_host(host_cfg("x" + std::to_string(i), "10.1.0." + std::to_string(i + 1)), recorder());
    std::vector<std::uint64_t> out;
    ok(sim.start(a));
    out.push_back(actor_of<Recorder>(sim, a).env().random.next_u64());
    ok(sim.crash(a, "x"));
    ok(sim.restart(a));
    out.push_back(actor_of<Recorder>(sim, a).env().random.next_u64());
    return out;
  };
  const auto one = draws(77, 0);
  CHECK(one[0] != one[1]);
  CHECK(draws(77, 0) == one);
  CHECK(draws(77, 5) == one);  // other hosts do not shift this host's stream
  CHECK(draws(78, 0) != one);
}

namespace {
// Writes without fsync, then asks its host to shut it down (SHUTDOWN NOSAVE).
class Quitter : public Recorder {
 public:
  explicit Quitter(Env& env) : Recorder(env) {
    on_tick_fn = [](Recorder& self) {
      (void)self.env().storage.append("aof", "unsynced;");
      self.env().process.shutdown(0);
      self.env().process.shutdown(1);  // a second request is ignored
    };
  }
};
}  // namespace

TEST_CASE("lifecycle: Process::shutdown stops the host and keeps the page cache", "[sim][lifecycle]") {
  Simulator sim(2);
  HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"), [](Env& env) { return std::make_unique<Quitter>(env); }));
  ok(sim.start(a));
  sim.run_for(200'000);
  CHECK(sim.state(a) == HostState::stopped);
  REQUIRE(sim.trace().size() == 1);
  CHECK(sim.trace()[0].event.kind == TraceKind::crashed);
  CHECK(sim.trace()[0].event.detail == "shutdown, exit code 0");
  CHECK(sim.disk(a)->current_content("aof") == std::optional<std::string>("unsynced;"));
  CHECK(sim.logs(a).back().text.find("shutdown") != std::string::npos);
}
