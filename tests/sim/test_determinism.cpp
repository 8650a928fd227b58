// Determinism: the same seed replays the same run bit for bit (trace hash, trace, counters) even
// with chatty hosts and random faults; a different seed gives a different run.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "sim/simulator.hpp"
#include "test_actors.hpp"

using namespace slotlab;
using namespace slotlab::sim;
using namespace slotlab::sim::testing;

namespace {

// Keeps a connection to every other host, sends a message of random size to one of them each
// tick, answers every message, writes to its disk, reconnects when a connection dies.
class Chatty : public Actor {
 public:
  Chatty(Env& env, std::vector<Endpoint> peers) : env_(env), peers_(std::move(peers)) {
    for (std::size_t i = 0; i < peers_.size(); ++i) dial(i);
  }
  void on_accept(ListenerKind, ConnId conn, const Endpoint&) override { inbound_[conn] = true; }
  void on_connected(ConnId conn) override { env_.transport.send(conn, "hello"); }
  void on_bytes(ConnId conn, std::string_view bytes) override {
    received_ += bytes.size();
    if (inbound_.count(conn) != 0) {
      env_.transport.send(conn, "ack:" + std::to_string(bytes.size()));
      (void)env_.storage.append("log", std::string(bytes.substr(0, 8)));
      if (env_.random.below(4) == 0) (void)env_.storage.fsync("log");
    }
  }
  void on_closed(ConnId conn, CloseReason) override {
    inbound_.erase(conn);
    for (std::size_t i = 0; i < out_.size(); ++i)
      if (out_[i] == conn) out_[i] = kNoConn;
  }
  void on_tick() override {
    for (std::size_t i = 0; i < out_.size(); ++i)
      if (out_[i] == kNoConn && env_.random.below(3) == 0) dial(i);
    const std::size_t i = env_.random.below(out_.size());
    if (out_[i] != kNoConn)
      env_.transport.send(out_[i], std::string(static_cast<std::size_t>(1 + env_.random.below(3000)), 'x'));
    if (env_.random.below(50) == 0) {
      TraceEvent ev;
      ev.kind = TraceKind::state_changed;
      ev.value = static_cast<std::int64_t>(received_);
      env_.observer.on_trace(ev);
    }
  }

 private:
  void dial(std::size_t i) {
    if (out_.size() < peers_.size()) out_.resize(peers_.size(), kNoConn);
    out_[i] = env_.transport.connect(peers_[i]);
  }
  Env& env_;
  std::vector<Endpoint> peers_;
  std::vector<ConnId> out_;
  std::map<ConnId, bool> inbound_;
  std::uint64_t received_ = 0;
};

struct RunResult {
  std::uint64_t hash;
  std::uint64_t events;
  std::size_t trace_size;
  std::uint64_t bytes_delivered;
};

RunResult run(std::uint64_t seed) {
  SimConfig cfg;
  cfg.torn_writes = true;
  cfg.net.connect_timeout_us = 3'000'000;
  cfg.net.retransmit_timeout_us = 8'000'000;
  Simulator sim(seed, cfg);
  const int n = 5;
  std::vector<HostId> hosts;
  for (int i = 0; i < n; ++i) {
    std::vector<Endpoint> peers;
    for (int j = 0; j < n; ++j)
      if (j != i) peers.push_back({"10.0.0." + std::to_string(j + 1), 7000});
    auto h = sim.add_host(host_cfg("n" + std::to_string(i), "10.0.0." + std::to_string(i + 1)),
                          [peers](Env& env) { return std::make_unique<Chatty>(env, peers); });
    REQUIRE(h.ok());
    hosts.push_back(*h);
    REQUIRE(sim.start(*h).ok());
  }
  // A nemesis driven by its own stream of the seed: crash/restart, pause/resume, partitions,
  // one-way blocks, latency, resets, clock jumps.
  Rng nemesis = Rng(seed).split(0xBAD);
  for (std::int64_t t = 500'000; t < 20'000'000; t += 500'000) {
    sim.run_until(t);
    const HostId h = hosts[nemesis.below(n)];
    const HostId g = hosts[nemesis.below(n)];
    switch (nemesis.below(9)) {
      case 0:
        if (sim.is_running(h)) (void)sim.crash(h, "nemesis");
        break;
      case 1:
        for (HostId x : hosts)
          if (sim.state(x) == HostState::stopped) (void)sim.restart(x);
        break;
      case 2:
        if (sim.is_paused(h)) (void)sim.resume(h); else (void)sim.pause(h);
        break;
      case 3:
        (void)sim.partition({{h}, {g}});
        break;
      case 4:
        (void)sim.block_link(h, g);
        break;
      case 5:
        sim.heal();
        break;
      case 6:
        (void)sim.set_link_latency(h, g, static_cast<std::int64_t>(nemesis.below(20'000)));
        break;
      case 7:
        (void)sim.reset_connections(h, g);
        break;
      case 8:
        (void)sim.set_clock_offset(h, nemesis.uniform(-2'000'000, 2'000'000));
        break;
    }
  }
  sim.heal();
  for (HostId x : hosts) {
    if (sim.is_paused(x)) (void)sim.resume(x);
    if (sim.state(x) == HostState::stopped) (void)sim.restart(x);
  }
  sim.run_for(5'000'000);
  return RunResult{sim.trace_hash(), sim.events_processed(), sim.trace().size(),
                   sim.network_stats().bytes_delivered};
}

}  // namespace

TEST_CASE("determinism: same seed, same trace hash; different seed, different hash", "[sim][determinism]") {
  const RunResult a = run(1234);
  const RunResult b = run(1234);
  const RunResult c = run(1235);
  CHECK(a.hash == b.hash);
  CHECK(a.events == b.events);
  CHECK(a.trace_size == b.trace_size);
  CHECK(a.bytes_delivered == b.bytes_delivered);
  CHECK(a.hash != c.hash);
  // The run did something: plenty of traffic, and the nemesis crashed hosts.
  CHECK(a.bytes_delivered > 100'000);
  CHECK(a.trace_size > 5);
}

TEST_CASE("determinism: a quiet run differs by seed only through latencies and phases", "[sim][determinism]") {
  auto hash_of = [](std::uint64_t seed) {
    Simulator sim(seed);
    auto a = sim.add_host(host_cfg("a", "10.0.0.1"), recorder());
    auto b = sim.add_host(host_cfg("b", "10.0.0.2"), recorder(true));
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(sim.start(*a).ok());
    REQUIRE(sim.start(*b).ok());
    auto& ra = actor_of<Recorder>(sim, *a);
    const ConnId c = ra.connect({"10.0.0.2", 7000});
    sim.run_for(1'000);
    for (int i = 0; i < 10; ++i) ra.send(c, "ping");
    sim.run_for(1'000'000);
    return sim.trace_hash();
  };
  CHECK(hash_of(1) == hash_of(1));
  CHECK(hash_of(1) != hash_of(2));
}
