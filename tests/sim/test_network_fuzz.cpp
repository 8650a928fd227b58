// A randomized check of the network's contract under every fault at once. Actors open, use and
// close connections at random and verify what each connection delivers: callbacks in a legal
// order (accept/connected once, nothing after a close, on_closed at most once), bytes complete and
// in order even when sends are split. After the faults stop, every actor's view of its open
// connections must equal the network's table, nothing may be pending, and the two ends of every
// connection must agree on what was sent.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sim/simulator.hpp"
#include "test_actors.hpp"

using namespace slotlab;
using namespace slotlab::sim;
using namespace slotlab::sim::testing;

namespace {

class Prober : public Actor {
 public:
  struct Conn {
    bool outbound = false;
    bool connected = false;
    std::string in_buffer;
    std::string peer_tag;
    std::uint64_t next_expected = 0;
    std::uint64_t next_send = 0;
  };

  Prober(Env& env, std::string name, std::vector<Endpoint> peers)
      : env_(env), name_(std::move(name)), peers_(std::move(peers)) {}

  void on_accept(ListenerKind, ConnId conn, const Endpoint&) override {
    check_fresh(conn, "accept");
    conns_[conn] = Conn{};
  }
  void on_connected(ConnId conn) override {
    Conn* c = live(conn, "connected");
    if (c == nullptr) return;
    if (!c->outbound || c->connected) violation("on_connected twice or on an accepted conn " + std::to_string(conn));
    c->connected = true;
  }
  void on_bytes(ConnId conn, std::string_view bytes) override {
    Conn* c = live(conn, "bytes");
    if (c == nullptr) return;
    if (c->outbound && !c->connected) violation("bytes before on_connected on " + std::to_string(conn));
    c->in_buffer.append(bytes);
    for (;;) {
      const auto end = c->in_buffer.find('|');
      if (end == std::string::npos) break;
      std::string msg = c->in_buffer.substr(0, end);
      msg.erase(0, msg.find_first_not_of('.'));  // padding of the previous message
      c->in_buffer.erase(0, end + 1);
      const auto hash = msg.find('#');
      const std::string tag = msg.substr(0, hash);
      const std::uint64_t seq = std::stoull(msg.substr(hash + 1));
      if (c->peer_tag.empty()) c->peer_tag = tag;
      if (tag != c->peer_tag) violation("two senders on one connection: " + tag + " vs " + c->peer_tag);
      if (seq != c->next_expected)
        violation("out of order on " + name_ + ":" + std::to_string(conn) + ": got " + std::to_string(seq) +
                  ", expected " + std::to_string(c->next_expected));
      c->next_expected = seq + 1;
    }
  }
  void on_closed(ConnId conn, CloseReason reason) override {
    if (live(conn, "closed") == nullptr) return;
    ++closes_[static_cast<int>(reason)];
    conns_.erase(conn);
    dead_.insert(conn);
  }
  void on_tick() override {
    if (quiet) return;
    const std::uint64_t action = env_.random.below(10);
    if (action < 2 && !peers_.empty()) {
      const ConnId id = env_.transport.connect(peers_[env_.random.below(peers_.size())]);
      check_fresh(id, "connect");
      Conn c;
      c.outbound = true;
      conns_[id] = c;
    } else if (action < 9 && !conns_.empty()) {
      for (int i = 0; i < 3; ++i) send_one(pick());
    } else if (!conns_.empty()) {
      const ConnId id = pick();
      env_.transport.close(id);
      conns_.erase(id);
      dead_.insert(id);
    }
  }

  void probe_all() {
    for (ConnId id : open_ids()) send_one(id);
  }
  std::vector<ConnId> open_ids() const {
    std::vector<ConnId> ids;
    for (const auto& [id, c] : conns_) ids.push_back(id);
    return ids;
  }
  const std::map<ConnId, Conn>& conns() const { return conns_; }
  std::string tag_of(ConnId id) const { return name_ + ":" + std::to_string(id); }
  Env& env() { return env_; }

  bool quiet = false;
  std::vector<std::string> violations;
  std::map<int, int> closes_;

 private:
  ConnId pick() {
    auto it = conns_.begin();
    std::advance(it, static_cast<long>(env_.random.below(conns_.size())));
    return it->first;
  }
  void send_one(ConnId id) {
    Conn& c = conns_[id];
    std::string msg = tag_of(id) + "#" + std::to_string(c.next_send++) + "|";
    msg.append(static_cast<std::size_t>(env_.random.below(200)), '.');  // padding, skipped by the receiver
    env_.transport.send(id, std::move(msg));
  }
  void check_fresh(ConnId id, const char* what) {
    if (id == kNoConn) violation(std::string(what) + " returned id 0");
    if (conns_.count(id) != 0 || dead_.count(id) != 0)
      violation(std::string(what) + " reused id " + std::to_string(id) + " on " + name_);
  }
  Conn* live(ConnId id, const char* what) {
    auto it = conns_.find(id);
    if (it != conns_.end()) return &it->second;
    violation(std::string(what) + " on " + (dead_.count(id) != 0 ? "closed" : "unknown") + " conn " +
              std::to_string(id) + " at " + name_);
    return nullptr;
  }
  void violation(std::string v) { violations.push_back(std::move(v)); }

  Env& env_;
  std::string name_;
  std::vector<Endpoint> peers_;
  std::map<ConnId, Conn> conns_;
  std::set<ConnId> dead_;
};

NetworkStats run_fuzz(std::uint64_t seed) {
  INFO("seed " << seed);
  // Three network shapes: ordinary, zero latency (everything at the same instant: only sequence
  // numbers order events), and slow with short timeouts (timeouts race deliveries).
  SimConfig cfg;
  cfg.net.connect_timeout_us = 2'000'000;
  cfg.net.retransmit_timeout_us = 6'000'000;
  cfg.net.split_sends_per_million = 200'000;
  if (seed % 3 == 1) {
    cfg.net.latency_min_us = 0;
    cfg.net.latency_mean_extra_us = 0;
  } else if (seed % 3 == 2) {
    cfg.net.latency_min_us = 1'000;
    cfg.net.latency_mean_extra_us = 20'000;
    cfg.net.connect_timeout_us = 300'000;
    cfg.net.retransmit_timeout_us = 700'000;
  }
  Simulator sim(seed, cfg);
  const int n = 6;
  std::vector<HostId> hosts;
  for (int i = 0; i < n; ++i) {
    std::vector<Endpoint> peers;
    for (int j = 0; j < n; ++j) peers.push_back({"10.0.0." + std::to_string(j + 1), 7000});
    peers.push_back({"10.0.0.99", 7000});  // nobody
    peers.push_back({"10.0.0.1", 7999});   // closed port
    const std::string name = "n" + std::to_string(i);
    auto h = sim.add_host(host_cfg(name, "10.0.0." + std::to_string(i + 1)),
                          [peers, name](Env& env) { return std::make_unique<Prober>(env, name, peers); });
    REQUIRE(h.ok());
    hosts.push_back(*h);
    REQUIRE(sim.start(*h).ok());
  }
  std::vector<std::string> violations;
  auto collect = [&](HostId h) {
    if (auto* p = sim.actor_as<Prober>(h)) {
      for (auto& v : p->violations) violations.push_back(v);
      p->violations.clear();
    }
  };

  Rng nemesis = Rng(seed).split(0xFA17);
  for (std::int64_t t = 250'000; t < 30'000'000; t += 250'000) {
    sim.run_until(t);
    const HostId h = hosts[nemesis.below(n)];
    const HostId g = hosts[nemesis.below(n)];
    collect(h);
    switch (nemesis.below(12)) {
      case 0:
        if (sim.is_running(h)) REQUIRE(sim.crash(h, "nemesis", nemesis.below(2) == 0 ? DiskLoss::none : DiskLoss::unsynced).ok());
        break;
      case 1:
        if (sim.state(h) == HostState::stopped) REQUIRE(sim.restart(h).ok());
        break;
      case 2:
        if (sim.is_paused(h))
          REQUIRE(sim.resume(h).ok());
        else if (sim.is_running(h))
          REQUIRE(sim.pause(h).ok());
        break;
      case 3:
        if (h != g) REQUIRE(sim.partition({{h}, {g}}).ok());
        break;
      case 4:
        REQUIRE(sim.block_link(h, g).ok());
        break;
      case 5:
      case 6:
        sim.heal();
        break;
      case 7:
        REQUIRE(sim.set_link_latency(h, g, static_cast<std::int64_t>(nemesis.below(50'000))).ok());
        break;
      case 8:
        REQUIRE(sim.reset_connections(h, g).ok());
        break;
      default:
        break;
    }
  }
  // Quiet down: no faults, everyone up, no new actions; everything in flight settles.
  sim.heal();
  for (HostId h : hosts) {
    if (sim.is_paused(h)) REQUIRE(sim.resume(h).ok());
    if (sim.state(h) == HostState::stopped) REQUIRE(sim.restart(h).ok());
  }
  sim.run_for(2'000'000);  // a fault-free stretch with traffic, so restarted hosts connect again
  for (HostId h : hosts) actor_of<Prober>(sim, h).quiet = true;
  sim.run_for(5'000'000);
  // A keepalive round: a half-open connection (its peer's FIN was lost to a retransmit timeout)
  // only learns of it by sending, as in TCP; after this nothing may stay half-open.
  for (HostId h : hosts) actor_of<Prober>(sim, h).probe_all();
  sim.run_for(1'000'000);

  for (HostId h : hosts) collect(h);
  for (const auto& v : violations) FAIL_CHECK(v);
  CHECK(violations.empty());

  // The actors' view equals the network's, nothing pending, both ends agree on the byte streams.
  std::map<std::pair<std::string, std::string>, std::pair<std::string, const Prober::Conn*>> by_addr;
  int open = 0;
  for (HostId h : hosts) {
    auto& p = actor_of<Prober>(sim, h);
    CHECK(p.open_ids() == sim.network().connections(h));
    CHECK(sim.network().held_deliveries(h) == 0);
    for (const auto& [id, c] : p.conns()) {
      ++open;
      Transport& t = p.env().transport;
      CHECK(t.pending_bytes(id) == 0);
      CHECK((!c.outbound || c.connected));
      CHECK(c.in_buffer.find_first_not_of('.') == std::string::npos);  // only padding left
      by_addr[{t.local_address(id).str(), t.peer_address(id).str()}] = {p.tag_of(id), &c};
    }
  }
  for (const auto& [addr, mine] : by_addr) {
    auto other = by_addr.find({addr.second, addr.first});
    REQUIRE(other != by_addr.end());
    const Prober::Conn& a = *mine.second;
    const Prober::Conn& b = *other->second.second;
    CHECK(a.next_send == b.next_expected);
    if (a.next_send > 0) CHECK(b.peer_tag == mine.first);
  }
  NetworkStats st = sim.network_stats();
  st.live_pipes = static_cast<std::uint64_t>(open);  // (reused as "open connections at the end")
  return st;
}

NetworkStats run_seeds(std::uint64_t first, std::uint64_t last) {
  NetworkStats total;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    const NetworkStats s = run_fuzz(seed);
    total.stalls += s.stalls;
    total.resets += s.resets;
    total.refused += s.refused;
    total.connect_timeouts += s.connect_timeouts;
    total.retransmit_timeouts += s.retransmit_timeouts;
    total.chunks_delivered += s.chunks_delivered;
    total.live_pipes += s.live_pipes;
  }
  return total;
}

}  // namespace

TEST_CASE("network fuzz: the stream contract holds under random faults", "[sim][network][fuzz]") {
  const NetworkStats total = run_seeds(1, 60);
  // The faults reached every path of the state machine.
  CHECK(total.stalls > 0);
  CHECK(total.resets > 0);
  CHECK(total.refused > 0);
  CHECK(total.connect_timeouts > 0);
  CHECK(total.retransmit_timeouts > 0);
  CHECK(total.chunks_delivered > 10'000);
  CHECK(total.live_pipes > 50);  // plenty of connections were open for the final consistency check
}

// 5,000 seeds, ~10 s: run after touching network.cpp (`sim_tests "[.fuzz-long]"`).
TEST_CASE("network fuzz: 5000 seeds", "[.fuzz-long][sim]") { run_seeds(1, 5000); }
