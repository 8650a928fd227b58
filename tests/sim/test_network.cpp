// The virtual network's TCP semantics: ordering with latency, connect outcomes, closes after
// pending bytes, stalls under partitions and one-way blocks, timeouts, resets, ConnId rules.
#include <catch2/catch.hpp>

#include <set>
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

void ok(Result<void> r) {
  if (!r.ok()) FAIL(r.error().message);
}

struct Pair {
  Simulator sim;
  HostId a;
  HostId b;
  explicit Pair(std::uint64_t seed = 1, SimConfig cfg = {}, bool b_echo = false) : sim(seed, cfg) {
    a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
    b = must(sim.add_host(host_cfg("b", "10.0.0.2"), recorder(b_echo)));
    ok(sim.start(a));
    ok(sim.start(b));
  }
  Recorder& ra() { return actor_of<Recorder>(sim, a); }
  Recorder& rb() { return actor_of<Recorder>(sim, b); }
  // a connects to b's data port and both sides see the connection established.
  std::pair<ConnId, ConnId> connect() {
    const std::size_t before = rb().of(Cb::accept).size();
    const ConnId c = ra().connect({"10.0.0.2", 7000});
    REQUIRE(sim.run_until([&] { return !ra().of(Cb::connected, c).empty(); }, sim.now_us() + 1'000'000));
    const auto accepts = rb().of(Cb::accept);
    REQUIRE(accepts.size() == before + 1);
    return {c, accepts.back().conn};
  }
};

std::string chunk(int i) { return "chunk-" + std::to_string(i) + ";"; }

std::string chunks(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += chunk(i);
  return s;
}

}  // namespace

TEST_CASE("network: echo over a connection, in order, with latency", "[sim][network]") {
  Pair p(11, {}, /*b_echo=*/true);
  const std::int64_t t0 = p.sim.now_us();
  const ConnId c = p.ra().connect({"10.0.0.2", 7000});
  CHECK(c != kNoConn);
  REQUIRE(p.sim.run_until([&] { return !p.ra().of(Cb::connected, c).empty(); }, 1'000'000));

  const auto accept = p.rb().of(Cb::accept).at(0);
  const auto connected = p.ra().of(Cb::connected).at(0);
  // The server accepts after one one-way latency, the client is connected after a round trip.
  CHECK(accept.t_us - t0 >= 30);
  CHECK(connected.t_us - t0 >= 60);
  CHECK(connected.t_us > accept.t_us);
  CHECK(accept.peer.ip == "10.0.0.1");
  CHECK(accept.peer.port >= 32768);
  CHECK(accept.listener == ListenerKind::data);
  // Addresses as getsockname/getpeername would give them.
  Transport& ta = p.ra().env().transport;
  Transport& tb = p.rb().env().transport;
  CHECK(ta.peer_address(c) == Endpoint{"10.0.0.2", 7000});
  CHECK(ta.local_address(c) == accept.peer);
  CHECK(tb.local_address(accept.conn) == Endpoint{"10.0.0.2", 7000});

  for (int i = 0; i < 200; ++i) p.ra().send(c, chunk(i));
  CHECK(ta.pending_bytes(c) == chunks(0, 200).size());
  p.sim.run_for(100'000);
  CHECK(p.rb().received[accept.conn] == chunks(0, 200));
  CHECK(p.ra().received[c] == chunks(0, 200));
  CHECK(ta.pending_bytes(c) == 0);
  // Every chunk arrived separately, none before the round trip.
  const auto bytes = p.ra().of(Cb::bytes, c);
  CHECK(bytes.size() == 200);
  CHECK(p.ra().of(Cb::closed).empty());
  CHECK(p.rb().of(Cb::closed).empty());
}

TEST_CASE("network: the bus listener is reported as such", "[sim][network]") {
  Pair p;
  const ConnId c = p.ra().connect({"10.0.0.2", 17000});
  p.sim.run_for(10'000);
  CHECK(p.ra().of(Cb::connected, c).size() == 1);
  REQUIRE(p.rb().of(Cb::accept).size() == 1);
  CHECK(p.rb().of(Cb::accept)[0].listener == ListenerKind::bus);
}

TEST_CASE("network: connect to a crashed host or a closed port is refused after a round trip", "[sim][network]") {
  Pair p;
  ok(p.sim.crash(p.b, "test"));
  const std::int64_t t0 = p.sim.now_us();
  const ConnId c = p.ra().connect({"10.0.0.2", 7000});
  p.sim.run_for(1'000'000);
  auto closed = p.ra().of(Cb::closed, c);
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::refused);
  CHECK(closed[0].t_us - t0 >= 60);
  CHECK(closed[0].t_us - t0 < 10'000);
  CHECK(p.ra().of(Cb::connected).empty());

  // Restarted, but nobody listens on 7001.
  ok(p.sim.restart(p.b));
  const ConnId c2 = p.ra().connect({"10.0.0.2", 7001});
  p.sim.run_for(1'000'000);
  REQUIRE(p.ra().of(Cb::closed, c2).size() == 1);
  CHECK(p.ra().of(Cb::closed, c2)[0].reason == CloseReason::refused);
  CHECK(p.rb().of(Cb::accept).empty());
}

TEST_CASE("network: connect to an unknown IP times out after connect_timeout", "[sim][network]") {
  SimConfig cfg;
  cfg.net.connect_timeout_us = 3'000'000;
  Pair p(1, cfg);
  const ConnId c = p.ra().connect({"10.9.9.9", 7000});
  p.ra().send(c, "queued before the connect completes");
  CHECK(p.ra().env().transport.peer_address(c) == Endpoint{"10.9.9.9", 7000});
  p.sim.run_for(2'999'000);
  CHECK(p.ra().of(Cb::closed).empty());
  p.sim.run_for(2'000);
  auto closed = p.ra().of(Cb::closed, c);
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::timeout);
  CHECK(closed[0].t_us == 3'000'000);
}

TEST_CASE("network: the peer's close arrives after the bytes it sent before closing", "[sim][network]") {
  Pair p;
  auto [c, s] = p.connect();
  for (int i = 0; i < 50; ++i) p.rb().send(s, chunk(i));
  p.rb().close(s);
  // The closer's transport forgets the id at once.
  CHECK(p.rb().env().transport.pending_bytes(s) == 0);
  CHECK(p.rb().env().transport.peer_address(s) == Endpoint{});
  p.sim.run_for(100'000);
  CHECK(p.ra().received[c] == chunks(0, 50));
  REQUIRE(!p.ra().records.empty());
  const Record& last = p.ra().records.back();
  CHECK(last.kind == Cb::closed);
  CHECK(last.conn == c);
  CHECK(last.reason == CloseReason::peer_closed);
  // The closer gets no callback for its own close.
  CHECK(p.rb().of(Cb::closed).empty());
  // Sends on a closed id are ignored, not crashes.
  p.rb().send(s, "late");
  p.ra().send(c, "late");
  p.sim.run_for(100'000);
  CHECK(p.ra().of(Cb::closed).size() == 1);
}

TEST_CASE("network: bytes racing the peer's FIN end in exactly one close", "[sim][network]") {
  Pair p;
  auto [c, s] = p.connect();
  p.rb().close(s);
  p.ra().send(c, "racing the FIN");  // sent before a learns of the close
  p.sim.run_for(100'000);
  auto closed = p.ra().of(Cb::closed, c);
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::peer_closed);
  CHECK(p.rb().of(Cb::bytes).empty());  // nothing is delivered to the closer
}

TEST_CASE("network: a partition stalls both ways and delivers everything in order after heal", "[sim][network]") {
  Pair p;
  auto [c, s] = p.connect();
  p.ra().send(c, chunks(0, 10));
  p.sim.run_for(10'000);
  CHECK(p.rb().received[s] == chunks(0, 10));

  ok(p.sim.partition({{p.a}, {p.b}}));
  CHECK(p.sim.path_blocked(p.a, p.b));
  CHECK(p.sim.path_blocked(p.b, p.a));
  for (int i = 10; i < 60; ++i) p.ra().send(c, chunk(i));
  p.rb().send(s, "reply during the partition");
  p.sim.run_for(30'000'000);
  CHECK(p.rb().received[s] == chunks(0, 10));
  CHECK(p.ra().received[c].empty());
  CHECK(p.ra().env().transport.pending_bytes(c) == chunks(10, 60).size());
  CHECK(p.ra().of(Cb::closed).empty());
  CHECK(p.rb().of(Cb::closed).empty());

  const std::int64_t healed_at = p.sim.now_us();
  p.sim.heal();
  p.sim.run_for(100'000);
  CHECK(p.rb().received[s] == chunks(0, 60));
  CHECK(p.ra().received[c] == "reply during the partition");
  CHECK(p.ra().env().transport.pending_bytes(c) == 0);
  // Delivered after the heal, not before.
  for (const auto& r : p.rb().of(Cb::bytes, s))
    if (r.bytes != chunks(0, 10)) CHECK(r.t_us >= healed_at + 30);
}

TEST_CASE("network: hosts left out of the partition groups form their own group", "[sim][network]") {
  Simulator sim(3);
  HostId a = must(sim.add_host(host_cfg("a", "10.0.0.1"), recorder()));
  HostId b = must(sim.add_host(host_cfg("b", "10.0.0.2"), recorder()));
  HostId c = must(sim.add_host(host_cfg("c", "10.0.0.3"), recorder()));
  ok(sim.partition({{a}}));
  CHECK(sim.path_blocked(a, b));
  CHECK(sim.path_blocked(c, a));
  CHECK_FALSE(sim.path_blocked(b, c));
  CHECK_FALSE(sim.partition({{a}, {a, b}}).ok());
  CHECK_FALSE(sim.partition({{host_id(9)}}).ok());
}

TEST_CASE("network: a one-way block stalls only that direction", "[sim][network]") {
  Pair p;
  auto [c, s] = p.connect();
  ok(p.sim.block_link(p.a, p.b));
  p.ra().send(c, "a to b");
  p.rb().send(s, "b to a");
  p.sim.run_for(5'000'000);
  CHECK(p.rb().received[s].empty());
  CHECK(p.ra().received[c] == "b to a");
  ok(p.sim.unblock_link(p.a, p.b));
  p.sim.run_for(10'000);
  CHECK(p.rb().received[s] == "a to b");
}

TEST_CASE("network: a connect across a partition times out unless healed in time", "[sim][network]") {
  SimConfig cfg;
  cfg.net.connect_timeout_us = 2'000'000;
  Pair p(5, cfg);
  ok(p.sim.partition({{p.a}, {p.b}}));
  const ConnId c1 = p.ra().connect({"10.0.0.2", 7000});
  p.sim.run_for(2'500'000);
  auto closed = p.ra().of(Cb::closed, c1);
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::timeout);
  p.sim.heal();
  p.sim.run_for(1'000'000);
  CHECK(p.rb().of(Cb::accept).empty());  // the abandoned SYN never turns into a connection

  // Healed before the timeout: the stalled SYN goes through and the connection works.
  ok(p.sim.partition({{p.a}, {p.b}}));
  const ConnId c2 = p.ra().connect({"10.0.0.2", 7000});
  p.sim.run_for(1'000'000);
  p.sim.heal();
  p.sim.run_for(100'000);
  CHECK(p.ra().of(Cb::connected, c2).size() == 1);
  CHECK(p.rb().of(Cb::accept).size() == 1);
  p.sim.run_for(3'000'000);
  CHECK(p.ra().of(Cb::closed, c2).empty());
}

TEST_CASE("network: bytes stalled past the retransmit timeout kill the sender's end; the peer learns by sending",
          "[sim][network]") {
  SimConfig cfg;
  cfg.net.retransmit_timeout_us = 5'000'000;
  Pair p(9, cfg);
  auto [c, s] = p.connect();
  ok(p.sim.partition({{p.a}, {p.b}}));
  const std::int64_t sent_at = p.sim.now_us();
  p.ra().send(c, "never acknowledged");
  p.sim.run_for(10'000'000);
  auto closed = p.ra().of(Cb::closed, c);
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::timeout);
  CHECK(closed[0].t_us == sent_at + 5'000'000);
  CHECK(p.rb().of(Cb::closed).empty());  // b knows nothing

  p.sim.heal();
  p.sim.run_for(1'000'000);
  CHECK(p.rb().of(Cb::closed).empty());
  CHECK(p.rb().received[s].empty());  // the timed-out bytes are gone

  // b sends on its half-open connection: a's kernel answers with a reset after a round trip.
  const std::int64_t t1 = p.sim.now_us();
  p.rb().send(s, "anyone there?");
  p.sim.run_for(100'000);
  auto reset = p.rb().of(Cb::closed, s);
  REQUIRE(reset.size() == 1);
  CHECK(reset[0].reason == CloseReason::reset);
  CHECK(reset[0].t_us - t1 >= 60);
  CHECK(p.ra().of(Cb::bytes).empty());
}

TEST_CASE("network: reset_connections closes both ends with reset", "[sim][network]") {
  Pair p;
  auto [c, s] = p.connect();
  auto [c2, s2] = p.connect();
  p.ra().send(c, "in flight, dropped by the reset");
  ok(p.sim.reset_connections(p.a, p.b));
  p.sim.run_for(100'000);
  for (ConnId id : {c, c2}) {
    auto r = p.ra().of(Cb::closed, id);
    REQUIRE(r.size() == 1);
    CHECK(r[0].reason == CloseReason::reset);
  }
  for (ConnId id : {s, s2}) {
    auto r = p.rb().of(Cb::closed, id);
    REQUIRE(r.size() == 1);
    CHECK(r[0].reason == CloseReason::reset);
  }
  CHECK(p.rb().of(Cb::bytes).empty());
  CHECK(p.sim.network().connections(p.a).empty());
  CHECK(p.sim.network().connections(p.b).empty());
}

TEST_CASE("network: a crashed peer's kernel closes its connections after delivering what it sent", "[sim][network]") {
  Pair p;
  auto [c, s] = p.connect();
  p.rb().send(s, "last words");
  ok(p.sim.crash(p.b, "kill -9"));
  p.sim.run_for(100'000);
  CHECK(p.ra().received[c] == "last words");
  auto closed = p.ra().of(Cb::closed, c);
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::peer_closed);
  CHECK(p.ra().records.back().kind == Cb::closed);
}

TEST_CASE("network: ConnIds are never 0 and never reused by a host, even across restarts", "[sim][network]") {
  Pair p;
  std::set<ConnId> client_ids;
  std::set<ConnId> server_ids;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) {
      auto [c, s] = p.connect();
      CHECK(c != kNoConn);
      CHECK(s != kNoConn);
      CHECK(client_ids.insert(c).second);
      CHECK(server_ids.insert(s).second);
      if (i % 2 == 0)
        p.ra().close(c);
      else
        p.rb().close(s);
      p.sim.run_for(1'000);
    }
    ok(p.sim.crash(p.b, "round"));
    ok(p.sim.restart(p.b));
    p.sim.run_for(10'000);
  }
  CHECK(client_ids.size() == 60);
  CHECK(server_ids.size() == 60);
  // Every pipe was released.
  p.sim.run_for(1'000'000);
  CHECK(p.sim.network_stats().live_pipes == 0);
}

TEST_CASE("network: per-link extra latency delays delivery", "[sim][network]") {
  Pair p;
  auto [c, s] = p.connect();
  ok(p.sim.set_link_latency(p.a, p.b, 50'000));
  const std::int64_t t0 = p.sim.now_us();
  p.ra().send(c, "slow");
  p.sim.run_for(200'000);
  auto got = p.rb().of(Cb::bytes, s);
  REQUIRE(got.size() == 1);
  CHECK(got[0].t_us - t0 >= 50'030);
  CHECK_FALSE(p.sim.set_link_latency(p.a, p.b, -1).ok());
}

TEST_CASE("network: hosts may share an IP when their ports differ", "[sim][network]") {
  Simulator sim(2);
  HostId a = must(sim.add_host(host_cfg("a", "127.0.0.1", 7000), recorder()));
  HostId b = must(sim.add_host(host_cfg("b", "127.0.0.1", 7001), recorder()));
  CHECK_FALSE(sim.add_host(host_cfg("c", "127.0.0.1", 7001), recorder()).ok());
  ok(sim.start(a));
  ok(sim.start(b));
  const ConnId c = actor_of<Recorder>(sim, a).connect({"127.0.0.1", 7001});
  sim.run_for(10'000);
  CHECK(actor_of<Recorder>(sim, a).of(Cb::connected, c).size() == 1);
  CHECK(actor_of<Recorder>(sim, b).of(Cb::accept).size() == 1);
}

TEST_CASE("network: a FIN lost to the retransmit timeout leaves the peer half-open until it sends", "[sim][network]") {
  SimConfig cfg;
  cfg.net.retransmit_timeout_us = 5'000'000;
  Pair p(13, cfg);
  auto [c, s] = p.connect();
  ok(p.sim.block_link(p.b, p.a));
  p.rb().close(s);  // the FIN stalls on b -> a, then b's kernel gives up on it
  p.sim.run_for(10'000'000);
  CHECK(p.ra().of(Cb::closed).empty());
  // a sends: its bytes reach b's dead socket, whose reset is stuck behind the block. A reset has
  // no retransmit timer (a's retransmissions keep provoking new ones): it waits for the path.
  p.ra().send(c, "hello?");
  p.sim.run_for(20'000'000);
  CHECK(p.ra().of(Cb::closed).empty());
  CHECK(p.ra().env().transport.pending_bytes(c) == 0);
  ok(p.sim.unblock_link(p.b, p.a));
  p.sim.run_for(100'000);
  auto closed = p.ra().of(Cb::closed, c);
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].reason == CloseReason::reset);
}
