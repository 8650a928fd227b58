// Micro benchmarks of the simulator's own overhead (hidden: run with `sim_tests "[.bench]"`).
// They print figures; they never fail on timing (STYLE.md: timing belongs in benchmarks).
//
//  1. 6 hosts pinging each other every 100 ms (an idle 6-node cluster's shape): events per second
//     and simulated/real speed.
//  2. The same 6 hosts with an idle cluster bus's traffic (1 ping per second per host).
//  3. 1,000 hosts exchanging ~266,000 messages of 12 KB per simulated second (the 1,000-node,
//     15 s node-timeout bus load of simulation-anchors.md section 4), each host connected to all
//     999 others (a full mesh: ~1M connections, as a Redis Cluster bus has): the network's cost
//     without any node logic. Setup (1M connects) is not timed.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "sim/simulator.hpp"
#include "test_actors.hpp"

using namespace slotlab;
using namespace slotlab::sim;
using namespace slotlab::sim::testing;

namespace {

// On each tick sends `per_tick` pings of `size` bytes to peers picked at random; answers each
// ping with a pong of the same size. A message is one send (no framing needed: one chunk each).
class Pinger : public Actor {
 public:
  Pinger(Env& env, std::vector<Endpoint> peers, int per_tick, std::size_t size, int every_ticks)
      : env_(env), peers_(std::move(peers)), per_tick_(per_tick), size_(size), every_ticks_(every_ticks) {
    for (const auto& p : peers_) out_.push_back(env_.transport.connect(p));
  }
  void on_accept(ListenerKind, ConnId, const Endpoint&) override {}
  void on_connected(ConnId) override {}
  void on_bytes(ConnId conn, std::string_view bytes) override {
    ++received_;
    if (bytes[0] == 'P') {
      std::string pong(bytes.size(), 'p');
      env_.transport.send(conn, std::move(pong));
    }
  }
  void on_closed(ConnId, CloseReason) override {}
  void on_tick() override {
    if (++ticks_ % every_ticks_ != 0) return;
    for (int i = 0; i < per_tick_; ++i) {
      const std::size_t k = per_tick_ >= static_cast<int>(out_.size()) ? static_cast<std::size_t>(i) % out_.size()
                                                                       : env_.random.below(out_.size());
      std::string ping(size_, 'P');
      env_.transport.send(out_[k], std::move(ping));
    }
  }
  std::uint64_t received_ = 0;

 private:
  Env& env_;
  std::vector<Endpoint> peers_;
  std::vector<ConnId> out_;
  int per_tick_;
  std::size_t size_;
  int every_ticks_;
  int ticks_ = 0;
};

std::string ip_of(int i) { return "10." + std::to_string(i / 65536) + "." + std::to_string((i / 256) % 256) + "." + std::to_string(i % 256); }

struct Figures {
  double wall_s;
  double sim_s;
  std::uint64_t events;
  std::uint64_t messages;
};

Figures run_mesh(int hosts, int peers_per_host, int per_tick, std::size_t size, std::int64_t sim_us, std::uint64_t seed,
                 int every_ticks = 1) {
  Simulator sim(seed);
  std::vector<HostId> ids;
  for (int i = 0; i < hosts; ++i) {
    std::vector<Endpoint> peers;
    for (int k = 1; k <= peers_per_host; ++k) peers.push_back({ip_of((i + k) % hosts), 7000});
    auto h = sim.add_host(host_cfg("n" + std::to_string(i), ip_of(i)),
                          [peers, per_tick, size, every_ticks](Env& env) {
                            return std::make_unique<Pinger>(env, peers, per_tick, size, every_ticks);
                          });
    REQUIRE(h.ok());
    ids.push_back(*h);
  }
  for (HostId h : ids) REQUIRE(sim.start(h).ok());
  sim.run_for(200'000);  // connections established
  const std::uint64_t events0 = sim.events_processed();
  const std::uint64_t msgs0 = sim.network_stats().chunks_delivered;
  const auto t0 = std::chrono::steady_clock::now();
  sim.run_for(sim_us);
  const auto t1 = std::chrono::steady_clock::now();
  Figures f;
  f.wall_s = std::chrono::duration<double>(t1 - t0).count();
  f.sim_s = static_cast<double>(sim_us) / 1e6;
  f.events = sim.events_processed() - events0;
  f.messages = sim.network_stats().chunks_delivered - msgs0;
  return f;
}

void print(const char* name, const Figures& f) {
  std::printf("%s: %.1f simulated s in %.3f s wall = %.0fx real time; %llu events (%.2f M events/s), "
              "%llu messages (%.0f messages per simulated s)\n",
              name, f.sim_s, f.wall_s, f.sim_s / f.wall_s, static_cast<unsigned long long>(f.events),
              static_cast<double>(f.events) / f.wall_s / 1e6, static_cast<unsigned long long>(f.messages),
              static_cast<double>(f.messages) / f.sim_s);
}

}  // namespace

TEST_CASE("bench: 6 hosts pinging each other every 100 ms", "[.bench][sim]") {
  // Every tick each host pings all 5 peers with a 2 KB message (a 6-node bus PING is ~2.3 KB).
  const Figures f = run_mesh(6, 5, 5, 2300, 1000 * 1'000'000LL, 1);
  print("6 hosts, 5 pings/tick/host", f);
  CHECK(f.messages > 0);
}

TEST_CASE("bench: 6 hosts shaped like an idle cluster bus", "[.bench][sim]") {
  // Each host pings one random peer per second (clusterCron's random ping), answered by a pong:
  // 12 messages and 60 ticks per simulated second. The simulator's share of an idle cluster run.
  const Figures f = run_mesh(6, 5, 1, 2300, 10'000 * 1'000'000LL, 1, 10);
  print("6 hosts, 1 ping/s/host", f);
  CHECK(f.messages > 0);
}

TEST_CASE("bench: 1000 hosts exchanging 266k messages of 12 KB per simulated second", "[.bench][sim]") {
  // 1,000 hosts x 10 ticks/s x 13.3 pings, each answered: ~266k messages/s, 12,700 bytes each.
  const Figures f = run_mesh(1000, 999, 13, 12'700, 5 * 1'000'000LL, 1);
  print("1000 hosts, 12.7 KB ping/pong", f);
  CHECK(f.messages > 0);
}
