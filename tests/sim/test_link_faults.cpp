// Lossy links (Network::set_link_fault): what TCP makes of delay, jitter, drops, duplicates and
// reordering — in-order, complete byte streams whose only visible effect is delay (an RTO per lost
// segment, with exponential backoff), a timeout when every retransmission is lost, and no change
// at all (random draws, trace hash) when no fault is set.
#include <catch2/catch.hpp>

#include <string>

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

struct Lab {
  Simulator sim;
  HostId a;
  HostId b;
  explicit Lab(std::uint64_t seed = 1, SimConfig cfg = {}) : sim(seed, cfg) {
    a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
    b = must(sim.add_host(host_cfg("b", "10.0.0.2"), recorder()));
    REQUIRE(sim.start(a).ok());
    REQUIRE(sim.start(b).ok());
  }
  Recorder& ra() { return actor_of<Recorder>(sim, a); }
  Recorder& rb() { return actor_of<Recorder>(sim, b); }
  std::pair<ConnId, ConnId> connect(std::uint16_t port = 7000) {
    const std::size_t before = rb().of(Cb::accept).size();
    const ConnId c = ra().connect({"10.0.0.2", port});
    REQUIRE(sim.run_until([&] { return !ra().of(Cb::connected, c).empty() || !ra().of(Cb::closed, c).empty(); },
                          sim.now_us() + 200'000'000));
    REQUIRE(!ra().of(Cb::connected, c).empty());
    REQUIRE(rb().of(Cb::accept).size() == before + 1);
    return {c, rb().of(Cb::accept).back().conn};
  }
  void fault(LinkClass cls, const LinkFault& f) {
    sim.network().set_link_fault(a, b, cls, f);
    sim.network().set_link_fault(b, a, cls, f);
  }
};

std::string numbered(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "m" + std::to_string(i) + ";";
  return s;
}

// Sends n small messages `gap_us` apart and returns the one-way delay of each.
std::vector<std::int64_t> send_series(Lab& lab, ConnId c, ConnId s, int n, std::int64_t gap_us = 1000) {
  std::vector<std::int64_t> sent;
  for (int i = 0; i < n; ++i) {
    sent.push_back(lab.sim.now_us());
    lab.ra().send(c, "m" + std::to_string(i) + ";");
    lab.sim.run_for(gap_us);
  }
  lab.sim.run_for(600'000'000);
  REQUIRE(lab.rb().received[s] == numbered(n));  // complete and in order, whatever the link did
  std::vector<std::int64_t> delays;
  std::size_t got = 0;
  for (const auto& r : lab.rb().of(Cb::bytes, s)) {
    // Each on_bytes carries one or more whole messages (a message is one send).
    std::size_t k = 0;
    while ((k = r.bytes.find(';', k)) != std::string::npos) {
      delays.push_back(r.t_us - sent[got++]);
      ++k;
    }
  }
  REQUIRE(delays.size() == static_cast<std::size_t>(n));
  return delays;
}

}  // namespace

TEST_CASE("link faults: delay and jitter delay every segment but never reorder the stream", "[sim][network][faults]") {
  Lab lab(3);
  auto [c, s] = lab.connect();
  LinkFault f;
  f.delay_us = 40'000;
  f.jitter_us = 30'000;
  lab.fault(LinkClass::data, f);
  auto d = send_series(lab, c, s, 200);
  std::int64_t lo = INT64_MAX, hi = 0;
  for (auto x : d) lo = std::min(lo, x), hi = std::max(hi, x);
  CHECK(lo >= 40'030);
  CHECK(hi <= 40'000 + 30'000 + 10'000);  // base latency is 30 us + exponential(40 us)
  CHECK(hi - lo > 15'000);                // jitter shows
  CHECK(lab.sim.network_stats().segments_dropped == 0);
}

TEST_CASE("link faults: a dropped segment arrives one RTO (200 ms min) later, backing off on repeated loss",
          "[sim][network][faults]") {
  Lab lab(5);
  auto [c, s] = lab.connect();
  LinkFault f;
  f.drop_per_million = 300'000;  // 30 %
  lab.fault(LinkClass::data, f);
  // 2 s apart: each message's fate is its own (no head-of-line blocking behind an earlier loss).
  auto d = send_series(lab, c, s, 300, 2'000'000);
  const auto& st = lab.sim.network_stats();
  CHECK(st.segments_dropped > 50);
  // Without a loss a message takes ~70 us; a lost one waits for its retransmission: 200 ms + RTT
  // for one loss, 200 + 400 ms for two in a row, ... (and what follows it waits too: in order).
  int direct = 0, one_rto = 0, backoff = 0, odd = 0;
  for (auto x : d) {
    if (x < 5'000) ++direct;
    else if (x >= 200'000 && x < 205'000) ++one_rto;
    else if (x >= 600'000 && x < 605'000) ++backoff;
    else ++odd;
  }
  CHECK(direct > 150);
  CHECK(one_rto > 40);
  CHECK(backoff > 5);
  CHECK(odd < 25);  // three or more losses in a row (1.4 s, 3 s, ...)
  CHECK(lab.ra().of(Cb::closed).empty());  // nothing gave up
}

TEST_CASE("link faults: duplicates are invisible, reordering is head-of-line delay", "[sim][network][faults]") {
  Lab lab(7);
  auto [c, s] = lab.connect();
  LinkFault f;
  f.duplicate_per_million = 500'000;
  lab.fault(LinkClass::data, f);
  auto d = send_series(lab, c, s, 100);
  for (auto x : d) CHECK(x < 5'000);
  CHECK(lab.sim.network_stats().duplicates_discarded > 20);
  CHECK(lab.rb().of(Cb::bytes, s).size() == 100);  // not one extra delivery

  f = LinkFault{};
  f.reorder_per_million = 200'000;
  f.reorder_gap_us = 25'000;
  lab.fault(LinkClass::data, f);
  lab.rb().received[s].clear();
  auto [c2, s2] = lab.connect();
  auto d2 = send_series(lab, c2, s2, 200);
  int held = 0;
  for (auto x : d2) held += x >= 20'000 ? 1 : 0;
  CHECK(held > 20);  // the held-back segments, and those queued behind them
  CHECK(lab.sim.network_stats().segments_reordered > 20);
}

TEST_CASE("link faults: faults apply per class and per direction", "[sim][network][faults]") {
  Lab lab(9);
  LinkFault f;
  f.delay_us = 100'000;
  lab.sim.network().set_link_fault(lab.a, lab.b, LinkClass::bus, f);  // a -> b, bus only
  auto [c, s] = lab.connect(7000);                                    // data: unaffected
  auto d = send_series(lab, c, s, 5);
  for (auto x : d) CHECK(x < 5'000);
  auto [cb, sb] = lab.connect(17000);  // bus
  auto db = send_series(lab, cb, sb, 5);
  for (auto x : db) CHECK(x >= 100'000);
  // b -> a on the bus connection is not delayed.
  const std::int64_t t0 = lab.sim.now_us();
  lab.rb().send(sb, "back");
  lab.sim.run_for(50'000);
  auto back = lab.ra().of(Cb::bytes, cb);
  REQUIRE(back.size() == 1);
  CHECK(back[0].t_us - t0 < 5'000);
  // Clearing.
  lab.sim.network().clear_link_faults();
  CHECK(lab.sim.network().link_fault(lab.a, lab.b, LinkClass::bus) == nullptr);
}

TEST_CASE("link faults: a link that loses everything times the sender out, like a partition", "[sim][network][faults]") {
  SimConfig cfg;
  cfg.net.retransmit_timeout_us = 30'000'000;
  Lab lab(11, cfg);
  auto [c, s] = lab.connect();
  LinkFault f;
  f.drop_per_million = 1'000'000;
  lab.fault(LinkClass::data, f);
  const std::int64_t t0 = lab.sim.now_us();
  lab.ra().send(c, "lost forever");
  lab.sim.run_for(60'000'000);
  auto closed = lab.ra().of(Cb::closed, c);
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::timeout);
  CHECK(closed[0].t_us - t0 <= 30'000'000 + 1'000);
  CHECK(lab.rb().received[s].empty());
  CHECK(lab.sim.network_stats().fault_give_ups == 1);
  // A new connection cannot be made either: the SYN retries run out (connect timeout).
  const ConnId c2 = lab.ra().connect({"10.0.0.2", 7000});
  lab.sim.run_for(200'000'000);
  auto closed2 = lab.ra().of(Cb::closed, c2);
  REQUIRE(closed2.size() == 1);
  CHECK(closed2[0].reason == CloseReason::timeout);
}

TEST_CASE("link faults: none set means the same random draws and trace hash as before", "[sim][network][faults]") {
  auto run = [](bool touch) {
    Lab lab(13);
    if (touch) {
      // Setting and clearing a fault, or a fault on a pair that carries no traffic, changes nothing.
      LinkFault f;
      f.drop_per_million = 500'000;
      lab.sim.network().set_link_fault(lab.b, lab.b, LinkClass::data, f);
      lab.sim.network().set_link_fault(lab.a, lab.b, LinkClass::data, f);
      lab.sim.network().set_link_fault(lab.a, lab.b, LinkClass::data, LinkFault{});
    }
    auto [c, s] = lab.connect();
    for (int i = 0; i < 50; ++i) {
      lab.ra().send(c, numbered(i));
      lab.sim.run_for(500);
    }
    lab.sim.run_for(1'000'000);
    return lab.sim.trace_hash();
  };
  CHECK(run(false) == run(true));
}
