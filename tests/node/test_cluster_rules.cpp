// One node against a fake Env: the failure detector, the vote rules and the replica election,
// each case taken from the Redis 7.0 rules in ../shared/reference/redis-cluster-7.0.md section 3.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fake_env.hpp"
#include "node/rdb.hpp"

using namespace slotlab;
using namespace slotlab::testing;

namespace {

std::string id_of(char c) { return std::string(40, c); }

// Three primaries A (0-5460, epoch 1), B (5461-10922, epoch 2), C (10923-16383, epoch 3) and their
// replicas a, b, c; currentEpoch 3. `me` picks which line carries "myself".
std::string nodes_conf(char me, std::uint64_t last_vote = 0) {
  auto flags = [&](char who, const char* role) { return who == me ? fmt::format("myself,{}", role) : std::string(role); };
  std::string s;
  s += fmt::format("{} 10.0.0.1:6379@16379 {} - 0 0 1 connected 0-5460\n", id_of('a'), flags('a', "master"));
  s += fmt::format("{} 10.0.0.2:6379@16379 {} - 0 0 2 connected 5461-10922\n", id_of('b'), flags('b', "master"));
  s += fmt::format("{} 10.0.0.3:6379@16379 {} - 0 0 3 connected 10923-16383\n", id_of('c'), flags('c', "master"));
  s += fmt::format("{} 10.0.0.4:6379@16379 {} {} 0 0 1 connected\n", id_of('d'), flags('d', "slave"), id_of('a'));
  s += fmt::format("{} 10.0.0.5:6379@16379 {} {} 0 0 2 connected\n", id_of('e'), flags('e', "slave"), id_of('b'));
  s += fmt::format("{} 10.0.0.6:6379@16379 {} {} 0 0 3 connected\n", id_of('f'), flags('f', "slave"), id_of('c'));
  s += fmt::format("vars currentEpoch 3 lastVoteEpoch {}\n", last_vote);
  return s;
}

NodeConfig cluster_config() {
  NodeConfig cfg;
  cfg.cluster_enabled = true;
  cfg.cluster_node_timeout_ms = 2000;
  cfg.port = 6379;
  cfg.enable_debug_command = "yes";
  return cfg;
}

bus::SlotBitmap slots(int a, int b) {
  bus::SlotBitmap bm;
  for (int s = a; s <= b; ++s) bm.set(static_cast<Slot>(s));
  return bm;
}

struct Peer {
  char name;
  int first, last;  // slots (primaries), or of its primary (replicas)
  std::uint64_t config_epoch;
  char primary = 0;  // 0 for primaries
};

const Peer kPeers[] = {{'a', 0, 5460, 1},     {'b', 5461, 10922, 2}, {'c', 10923, 16383, 3},
                       {'d', 0, 5460, 1, 'a'}, {'e', 5461, 10922, 2, 'b'}, {'f', 10923, 16383, 3, 'c'}};

const Peer& peer(char n) {
  for (const auto& p : kPeers)
    if (p.name == n) return p;
  throw std::logic_error("no such peer");
}

bus::Message message_from(char from, bus::MsgType type, std::uint64_t current_epoch) {
  const Peer& p = peer(from);
  bus::Message m;
  m.hdr.type = type;
  NodeId::parse(id_of(from), m.hdr.sender);
  m.hdr.current_epoch = current_epoch;
  m.hdr.config_epoch = p.config_epoch;
  m.hdr.myslots = slots(p.first, p.last);
  if (p.primary != 0) NodeId::parse(id_of(p.primary), m.hdr.slaveof);
  m.hdr.port = 6379;
  m.hdr.cport = 16379;
  m.hdr.flags = p.primary != 0 ? 2 : 1;
  return m;
}

struct Cluster {
  FakeHost host;
  std::map<char, ConnId> inbound;   // peer -> inbound link conn
  std::map<char, ConnId> outbound;  // peer -> our outbound link conn

  explicit Cluster(char me, std::uint64_t last_vote = 0) {
    host.storage.files["nodes.conf"] = nodes_conf(me, last_vote);
    host.start(cluster_config());
    host.clock.now += 100;
    host.node->on_tick();  // the cron opens outbound links to everyone
    for (auto& [id, c] : host.transport.conns) {
      if (!c.outbound || c.to.port != 16379) continue;
      char who = static_cast<char>('a' + (c.to.ip.back() - '1'));
      outbound[who] = id;
      host.node->on_connected(id);
    }
    // Everyone answers our first PINGs, so nobody is PFAIL.
    for (auto& [who, conn] : outbound) pong(who);
  }
  void deliver(char from, const bus::Message& m) {
    auto it = inbound.find(from);
    if (it == inbound.end()) {
      ConnId c = host.transport.add_inbound(Endpoint{fmt::format("10.0.0.{}", from - 'a' + 1), 40000});
      host.node->on_accept(ListenerKind::bus, c, Endpoint{fmt::format("10.0.0.{}", from - 'a' + 1), 40000});
      it = inbound.emplace(from, c).first;
    }
    host.node->on_bytes(it->second, bus::encode(m));
  }
  void pong(char from) {
    auto m = message_from(from, bus::MsgType::pong, 3);
    host.node->on_bytes(outbound.at(from), bus::encode(m));
  }
  void fail_message(char from, char about) {
    auto m = message_from(from, bus::MsgType::fail, 3);
    NodeId::parse(id_of(about), m.fail_about);
    deliver(from, m);
  }
  const ClusterNode* node(char n) const {
    NodeId id;
    NodeId::parse(id_of(n), id);
    return host.node->cluster().lookup(id);
  }
  std::vector<bus::Message> sent_to(char n) { return host.transport.messages(outbound.at(n)); }
  int acks_to(char n) {
    int k = 0;
    for (const auto& m : sent_to(n))
      if (m.hdr.type == bus::MsgType::failover_auth_ack) ++k;
    return k;
  }
};

}  // namespace

TEST_CASE("a primary votes for a replica of a FAIL primary, once per epoch", "[vote]") {
  Cluster cl('a');
  cl.fail_message('c', 'b');
  REQUIRE(cl.node('b')->failed());
  auto req = message_from('e', bus::MsgType::failover_auth_request, 4);
  cl.deliver('e', req);
  CHECK(cl.acks_to('e') == 1);
  CHECK(cl.host.node->cluster().last_vote_epoch == 4);
  // The vote is durable: nodes.conf was fsynced with lastVoteEpoch 4 when the ACK left.
  CHECK(cl.host.storage.durable["nodes.conf"].find("lastVoteEpoch 4") != std::string::npos);
  CHECK(cl.host.observer.count(TraceKind::vote_granted) == 1);

  // Same epoch again (from the other replica of b, were there one): refused.
  cl.deliver('e', req);
  CHECK(cl.acks_to('e') == 1);
  REQUIRE(cl.host.observer.last(TraceKind::vote_refused) != nullptr);
  CHECK(cl.host.observer.last(TraceKind::vote_refused)->detail == "already voted for epoch 4");
}

TEST_CASE("votes are refused with Redis's reasons", "[vote]") {
  SECTION("request epoch older than ours") {
    Cluster cl('a');
    cl.fail_message('c', 'b');
    auto req = message_from('e', bus::MsgType::failover_auth_request, 2);
    cl.deliver('e', req);
    CHECK(cl.acks_to('e') == 0);
    CHECK(cl.host.observer.last(TraceKind::vote_refused)->detail == "reqEpoch (2) < curEpoch(3)");
  }
  SECTION("its primary is not FAIL") {
    Cluster cl('a');
    cl.deliver('e', message_from('e', bus::MsgType::failover_auth_request, 4));
    CHECK(cl.acks_to('e') == 0);
    CHECK(cl.host.observer.last(TraceKind::vote_refused)->detail == "its master is up");
  }
  SECTION("FORCEACK (manual failover) votes although the primary is up") {
    Cluster cl('a');
    auto req = message_from('e', bus::MsgType::failover_auth_request, 4);
    req.hdr.mflags[0] |= bus::kMflagForceAck;
    cl.deliver('e', req);
    CHECK(cl.acks_to('e') == 1);
  }
  SECTION("the requester is a primary") {
    Cluster cl('a');
    cl.deliver('c', message_from('c', bus::MsgType::failover_auth_request, 4));
    CHECK(cl.host.observer.last(TraceKind::vote_refused)->detail == "it is a master node");
  }
  SECTION("already voted for a replica of that primary within 2 x node-timeout") {
    Cluster cl('a');
    cl.fail_message('c', 'b');
    cl.deliver('e', message_from('e', bus::MsgType::failover_auth_request, 4));
    REQUIRE(cl.acks_to('e') == 1);
    cl.host.clock.now += 1000;
    cl.deliver('e', message_from('e', bus::MsgType::failover_auth_request, 5));
    CHECK(cl.acks_to('e') == 1);
    CHECK(cl.host.observer.last(TraceKind::vote_refused)->detail ==
          "can't vote about this master before 3000 milliseconds");
    cl.host.clock.now += 3001;
    cl.deliver('e', message_from('e', bus::MsgType::failover_auth_request, 6));
    CHECK(cl.acks_to('e') == 2);
  }
  SECTION("a claimed slot is owned with a newer configEpoch") {
    Cluster cl('a');
    cl.fail_message('c', 'b');
    auto req = message_from('e', bus::MsgType::failover_auth_request, 4);
    req.hdr.myslots = slots(10923, 10923);  // C's slot, epoch 3 > the request's 2
    cl.deliver('e', req);
    CHECK(cl.acks_to('e') == 0);
    CHECK(cl.host.observer.last(TraceKind::vote_refused)->detail == "slot 10923 epoch (3) > reqEpoch (2)");
  }
  SECTION("a replica never votes") {
    Cluster cl('d');
    cl.fail_message('c', 'b');
    cl.deliver('e', message_from('e', bus::MsgType::failover_auth_request, 4));
    CHECK(cl.acks_to('e') == 0);
    CHECK(cl.host.observer.count(TraceKind::vote_refused) == 0);
  }
}

TEST_CASE("PFAIL after node-timeout without a PONG, FAIL with a majority of primaries", "[faildet]") {
  Cluster cl('a');
  // Time passes; everyone but b keeps answering.
  for (int i = 0; i < 30; ++i) {
    cl.host.advance(100);
    for (char p : {'c', 'd', 'e', 'f'}) cl.pong(p);
  }
  const ClusterNode* b = cl.node('b');
  REQUIRE(b->timed_out());  // PFAIL: a ping pending for more than 2000 ms
  CHECK_FALSE(b->failed());
  CHECK(cl.host.observer.count(TraceKind::pfail_marked) == 1);

  // A report from a replica does not count.
  auto gossip_from_d = message_from('d', bus::MsgType::ping, 3);
  bus::GossipEntry g;
  NodeId::parse(id_of('b'), g.name);
  g.flags = 1 | 4;  // master, PFAIL
  g.ip = bus::IpString::from("10.0.0.2");
  g.port = 6379;
  g.cport = 16379;
  gossip_from_d.gossip.push_back(g);
  cl.deliver('d', gossip_from_d);
  CHECK_FALSE(b->failed());

  // One report from primary C + ourselves (a primary) = 2 >= 3/2+1: FAIL, and it is broadcast.
  auto gossip_from_c = message_from('c', bus::MsgType::ping, 3);
  gossip_from_c.gossip.push_back(g);
  cl.host.transport.clear_sent();
  cl.deliver('c', gossip_from_c);
  CHECK(b->failed());
  CHECK_FALSE(b->timed_out());
  bool fail_broadcast = false;
  for (const auto& m : cl.sent_to('c'))
    if (m.hdr.type == bus::MsgType::fail && m.fail_about.str() == id_of('b')) fail_broadcast = true;
  CHECK(fail_broadcast);

  // cluster_state turns fail: B's slots are owned by a FAIL node.
  cl.host.advance(100);
  CHECK(cl.host.node->cluster().state == ClusterHealth::fail);
}

TEST_CASE("failure reports expire after 2 x node-timeout", "[faildet]") {
  Cluster cl('d');  // a replica: its own opinion does not count, so one report is not enough
  bus::GossipEntry g;
  NodeId::parse(id_of('b'), g.name);
  g.flags = 1 | 4;
  g.ip = bus::IpString::from("10.0.0.2");
  g.port = 6379;
  g.cport = 16379;
  auto m = message_from('c', bus::MsgType::ping, 3);
  m.gossip.push_back(g);
  cl.deliver('c', m);
  CHECK(cl.host.cmd({"CLUSTER", "COUNT-FAILURE-REPORTS", id_of('b')}) == ":1\r\n");
  cl.host.clock.now += 4000;
  CHECK(cl.host.cmd({"CLUSTER", "COUNT-FAILURE-REPORTS", id_of('b')}) == ":1\r\n");
  cl.host.clock.now += 1;
  CHECK(cl.host.cmd({"CLUSTER", "COUNT-FAILURE-REPORTS", id_of('b')}) == ":0\r\n");
}

TEST_CASE("FAIL of a primary with slots clears only after 2 x node-timeout; a replica's at once", "[faildet]") {
  Cluster cl('a');
  cl.fail_message('c', 'b');
  cl.fail_message('c', 'e');
  REQUIRE(cl.node('b')->failed());
  REQUIRE(cl.node('e')->failed());
  cl.pong('e');
  CHECK_FALSE(cl.node('e')->failed());
  cl.pong('b');
  CHECK(cl.node('b')->failed());
  cl.host.clock.now += 4001;
  cl.pong('b');
  CHECK_FALSE(cl.node('b')->failed());
}

namespace {
// Brings the replica's replication link up (PING, REPLCONF x2, PSYNC, empty RDB), as a primary would.
void sync_replica(Cluster& cl, char primary) {
  ConnId repl = kNoConn;
  for (auto& [id, c] : cl.host.transport.conns)
    if (c.outbound && c.to.port == 6379 && c.to.ip == fmt::format("10.0.0.{}", primary - 'a' + 1)) repl = id;
  REQUIRE(repl != kNoConn);
  cl.host.node->on_connected(repl);
  cl.host.node->on_bytes(repl, "+PONG\r\n");
  cl.host.node->on_bytes(repl, "+OK\r\n+OK\r\n");
  cl.host.node->on_bytes(repl, "+FULLRESYNC " + std::string(40, '7') + " 100\r\n");
  std::string rdb = rdb::encode_empty({{"redis-ver", "7.0.15"}});
  cl.host.node->on_bytes(repl, fmt::format("${}\r\n", rdb.size()) + rdb);
  INFO(fmt::format("{}", fmt::join(cl.host.log.lines, "\n")));
  REQUIRE(cl.host.node->primary_link_up());
  CHECK(cl.host.node->replication_offset() == 100);
}
}  // namespace

TEST_CASE("a replica of a FAIL primary waits 500-1000 ms, bumps the epoch, asks for votes and wins", "[election]") {
  Cluster cl('e');
  cl.host.node->on_tick();
  sync_replica(cl, 'b');
  // The primary dies: the replication link drops, then b is marked FAIL.
  for (auto& [id, c] : cl.host.transport.conns)
    if (c.outbound && c.to.port == 6379 && !c.closed) cl.host.node->on_closed(id, CloseReason::peer_closed);
  cl.fail_message('c', 'b');
  cl.host.advance(100);
  const TraceEvent* sched = cl.host.observer.last(TraceKind::election_scheduled);
  REQUIRE(sched != nullptr);
  CHECK(sched->value >= 500);
  CHECK(sched->value < 1000);
  CHECK(sched->epoch == 0);  // rank 0: no sibling with a better offset

  cl.host.transport.clear_sent();
  cl.host.advance(1000);
  const TraceEvent* started = cl.host.observer.last(TraceKind::election_started);
  REQUIRE(started != nullptr);
  CHECK(started->epoch == 4);
  CHECK(cl.host.node->cluster().current_epoch.v == 4);
  int requests = 0;
  for (const auto& m : cl.sent_to('a'))
    if (m.hdr.type == bus::MsgType::failover_auth_request) {
      ++requests;
      CHECK((m.hdr.mflags[0] & bus::kMflagForceAck) == 0);
      CHECK(m.hdr.current_epoch == 4);
    }
  CHECK(requests == 1);

  // ACKs from A and C (a majority of 3) make it the primary with configEpoch 4.
  cl.deliver('a', message_from('a', bus::MsgType::failover_auth_ack, 4));
  CHECK(cl.host.node->is_replica());
  cl.deliver('c', message_from('c', bus::MsgType::failover_auth_ack, 4));
  CHECK_FALSE(cl.host.node->is_replica());
  CHECK(cl.host.node->cluster().myself->config_epoch.v == 4);
  CHECK(cl.host.node->cluster().myself->numslots == 5462);
  CHECK(cl.host.observer.count(TraceKind::promoted) == 1);
}

TEST_CASE("a replica that never synced refuses to fail over (data age)", "[election]") {
  Cluster cl('e');
  cl.fail_message('c', 'b');
  cl.host.advance(2000);
  CHECK(cl.host.observer.count(TraceKind::election_started) == 0);
  const TraceEvent* why = cl.host.observer.last(TraceKind::failover_refused);
  REQUIRE(why != nullptr);
  CHECK(why->value == static_cast<std::int64_t>(CantFailoverReason::data_age));
}

TEST_CASE("an election without a majority expires and is retried after 2 x auth timeout", "[election]") {
  Cluster cl('e');
  cl.host.node->on_tick();
  sync_replica(cl, 'b');
  for (auto& [id, c] : cl.host.transport.conns)
    if (c.outbound && c.to.port == 6379 && !c.closed) cl.host.node->on_closed(id, CloseReason::peer_closed);
  cl.fail_message('c', 'b');
  cl.host.advance(1100);
  REQUIRE(cl.host.observer.count(TraceKind::election_started) == 1);
  // Only one vote: not enough. auth timeout = max(2 x 2000, 2000) = 4000; retry after 8000.
  cl.deliver('a', message_from('a', bus::MsgType::failover_auth_ack, 4));
  cl.host.advance(7000);
  CHECK(cl.host.observer.count(TraceKind::election_started) == 1);
  cl.host.advance(3000);
  CHECK(cl.host.observer.count(TraceKind::election_started) == 2);
  CHECK(cl.host.node->cluster().current_epoch.v == 5);
}

TEST_CASE("configEpoch collision: the smaller node id moves to a new epoch", "[epoch]") {
  Cluster cl('a');
  // Make b's known epoch equal ours (what SET-CONFIG-EPOCH mistakes or a TAKEOVER race produce).
  cl.host.storage.files["nodes.conf"].clear();
  FakeHost& h = cl.host;
  std::string conf = nodes_conf('a');
  auto pos = conf.find(" 0 0 2 connected 5461-10922");
  conf.replace(pos, 10, " 0 0 1 con");
  h.storage.files["nodes.conf"] = conf;
  h.start(cluster_config());
  REQUIRE(cl.node('b')->config_epoch.v == 1);
  auto m = message_from('b', bus::MsgType::ping, 3);
  m.hdr.config_epoch = 1;
  cl.inbound.clear();
  cl.deliver('b', m);
  // 'a...' < 'b...': we move.
  CHECK(cl.host.node->cluster().myself->config_epoch.v == 4);
  CHECK(cl.host.node->cluster().current_epoch.v == 4);
}

TEST_CASE("an older slot claim is answered with an UPDATE about the newer owner", "[epoch]") {
  Cluster cl('a');
  auto m = message_from('c', bus::MsgType::ping, 3);
  m.hdr.config_epoch = 0;
  m.hdr.myslots = slots(5461, 5470);  // B's slots, B has epoch 2
  cl.host.transport.clear_sent();
  cl.deliver('c', m);
  bool update = false;
  for (const auto& msg : cl.sent_to('c'))
    if (msg.hdr.type == bus::MsgType::update && msg.update_node.str() == id_of('b') && msg.update_config_epoch == 2)
      update = true;
  CHECK(update);
}

TEST_CASE("CLUSTER NODES and nodes.conf round trip byte for byte", "[nodesconf]") {
  FakeHost host;
  host.storage.files["nodes.conf"] = nodes_conf('a');
  host.start(cluster_config());
  std::string saved_before = host.storage.files["nodes.conf"];
  REQUIRE(host.cmd({"CLUSTER", "SAVECONFIG"}) == "+OK\r\n");
  std::string text = host.storage.files["nodes.conf"];
  CHECK(text.find(id_of('a') + " 10.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-5460\n") != std::string::npos);
  CHECK(text.find(id_of('e') + " 10.0.0.5:6379@16379 slave " + id_of('b') + " 0 0 2 disconnected\n") != std::string::npos);
  CHECK(text.substr(text.size() - 36) == "vars currentEpoch 3 lastVoteEpoch 0\n");
  (void)saved_before;
}

TEST_CASE("corrupt nodes.conf is refused with the line and the reason", "[nodesconf]") {
  FakeHost host;
  host.storage.files["nodes.conf"] = id_of('a') + " 10.0.0.1:6379@16379 myself,master,bogus - 0 0 1 connected\n";
  host.node = std::make_unique<Node>(host.env(), cluster_config());
  auto r = host.node->start();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("line 1") != std::string::npos);
  CHECK(r.error().message.find("Unknown flag 'bogus'") != std::string::npos);
}

TEST_CASE("CLUSTER commands reply as Redis 7.0 does", "[commands]") {
  FakeHost host;
  host.start(cluster_config());
  CHECK(host.cmd({"CLUSTER", "ADDSLOTS", "0", "1", "2"}) == "+OK\r\n");
  CHECK(host.cmd({"CLUSTER", "ADDSLOTS", "2"}) == "-ERR Slot 2 is already busy\r\n");
  CHECK(host.cmd({"CLUSTER", "ADDSLOTS", "16384"}) == "-ERR Invalid or out of range slot\r\n");
  CHECK(host.cmd({"CLUSTER", "DELSLOTS", "5"}) == "-ERR Slot 5 is already unassigned\r\n");
  CHECK(host.cmd({"CLUSTER", "ADDSLOTSRANGE", "10", "5"}) == "-ERR start slot number 10 is greater than end slot number 5\r\n");
  CHECK(host.cmd({"CLUSTER", "ADDSLOTSRANGE", "10", "20", "15", "30"}) == "-ERR Slot 15 specified multiple times\r\n");
  CHECK(host.cmd({"CLUSTER", "KEYSLOT", "foo"}) == ":12182\r\n");
  CHECK(host.cmd({"CLUSTER", "KEYSLOT", "{user1000}.following"}) == host.cmd({"CLUSTER", "KEYSLOT", "{user1000}.followers"}));
  CHECK(host.cmd({"CLUSTER", "MEET", "1.2.3.4", "notaport"}) == "-ERR Invalid TCP base port specified: notaport\r\n");
  CHECK(host.cmd({"CLUSTER", "MEET", "not-an-ip", "6379"}) == "-ERR Invalid node address specified: not-an-ip:6379\r\n");
  CHECK(host.cmd({"CLUSTER", "SET-CONFIG-EPOCH", "5"}) == "+OK\r\n");
  CHECK(host.cmd({"CLUSTER", "SET-CONFIG-EPOCH", "6"}) == "-ERR Node config epoch is already non-zero\r\n");
  CHECK(host.cmd({"CLUSTER", "BUMPEPOCH"}) == "+STILL 5\r\n");
  CHECK(host.cmd({"CLUSTER", "FAILOVER"}) == "-ERR You should send CLUSTER FAILOVER to a replica\r\n");
  CHECK(host.cmd({"CLUSTER", "FORGET", host.node->id().str()}) == "-ERR I tried hard but I can't forget myself...\r\n");
  CHECK(host.cmd({"CLUSTER", "REPLICATE", std::string(40, 'z')}) == "-ERR Unknown node " + std::string(40, 'z') + "\r\n");
  CHECK(host.cmd({"CLUSTER", "NOPE"}) == "-ERR unknown subcommand 'NOPE'. Try CLUSTER HELP.\r\n");
  CHECK(host.cmd({"CLUSTER", "MEET", "1.2.3.4"}) == "-ERR wrong number of arguments for 'cluster|meet' command\r\n");
  CHECK(host.cmd({"GETX"}) == "-ERR unknown command 'GETX', with args beginning with: \r\n");
  std::string info = host.cmd({"CLUSTER", "INFO"});
  CHECK(info.find("cluster_state:fail\r\ncluster_slots_assigned:3\r\n") != std::string::npos);
  CHECK(info.find("cluster_my_epoch:5\r\n") != std::string::npos);
  CHECK(host.cmd({"INFO", "cluster"}).find("cluster_enabled:1\r\n") != std::string::npos);
}

TEST_CASE("DEBUG SEGFAULT asks the host to crash and produces no reply", "[commands]") {
  FakeHost host;
  host.start(cluster_config());
  CHECK(host.cmd({"DEBUG", "SEGFAULT"}).empty());
  CHECK(host.process.crashed);
}

TEST_CASE("CONFIG GET/SET cluster-node-timeout", "[commands]") {
  FakeHost host;
  host.start(cluster_config());
  CHECK(host.cmd({"CONFIG", "GET", "cluster-node-timeout"}) == "*2\r\n$20\r\ncluster-node-timeout\r\n$4\r\n2000\r\n");
  CHECK(host.cmd({"CONFIG", "SET", "cluster-node-timeout", "3000"}) == "+OK\r\n");
  CHECK(host.node->config().cluster_node_timeout_ms == 3000);
  CHECK(host.cmd({"CONFIG", "SET", "cluster-node-timeout", "abc"}).rfind("-ERR CONFIG SET failed (possibly related to argument 'cluster-node-timeout')", 0) == 0);
}
