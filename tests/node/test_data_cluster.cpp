// The keyspace as the cluster sees it: COUNTKEYSINSLOT/GETKEYSINSLOT, the refusals of FLUSHSLOTS,
// RESET, REPLICATE when keys exist, keys of slots lost to a newer owner, and a replica applying
// its primary's replication stream (offsets, MULTI/EXEC split across reads, expiry left to the
// primary, a full resync flushing old data). Tagged [data].
#include <catch2/catch.hpp>

#include "node/bus_message.hpp"
#include "test_data_helpers.hpp"

using namespace slotlab;
using namespace slotlab::testing;

namespace {

void start_member(FakeHost& h, char me) {
  h.storage.files["nodes.conf"] = cluster_nodes_conf(me);
  h.start(clustered_config());
  h.advance(2100);
  REQUIRE(h.node->cluster().state == ClusterHealth::ok);
}

ConnId bus_link_to(FakeHost& h, const std::string& ip) {
  for (auto& [id, c] : h.transport.conns)
    if (c.outbound && c.to.port == 16379 && c.to.ip == ip && !c.closed) return id;
  return kNoConn;
}

}  // namespace

TEST_CASE("COUNTKEYSINSLOT and GETKEYSINSLOT report the keys of a slot in insertion order", "[data]") {
  FakeHost h;
  start_member(h, 'a');
  std::string k = key_in(0, 5460);
  int slot = key_hash_slot(k);
  std::vector<std::string> keys = {"{" + k + "}3", "{" + k + "}1", "{" + k + "}2"};
  for (const auto& key : keys) CHECK(h.cmd({"SET", key, "v"}) == "+OK\r\n");
  std::string s = std::to_string(slot);
  CHECK(h.cmd({"CLUSTER", "COUNTKEYSINSLOT", s}) == ":3\r\n");
  CHECK(h.cmd({"CLUSTER", "GETKEYSINSLOT", s, "2"}) ==
        fmt::format("*2\r\n${}\r\n{}\r\n${}\r\n{}\r\n", keys[0].size(), keys[0], keys[1].size(), keys[1]));
  CHECK(h.cmd({"CLUSTER", "GETKEYSINSLOT", s, "10"}).rfind("*3\r\n", 0) == 0);
  CHECK(h.cmd({"CLUSTER", "GETKEYSINSLOT", s, "0"}) == "*0\r\n");
  CHECK(h.cmd({"CLUSTER", "COUNTKEYSINSLOT", "16384"}) == "-ERR Invalid slot\r\n");
  CHECK(h.cmd({"CLUSTER", "COUNTKEYSINSLOT", "x"}) == "-ERR value is not an integer or out of range\r\n");
  CHECK(h.cmd({"CLUSTER", "GETKEYSINSLOT", s, "-1"}) == "-ERR Invalid slot or number of keys\r\n");
}

TEST_CASE("FLUSHSLOTS, RESET and REPLICATE refuse a primary that holds keys", "[data]") {
  FakeHost h;
  start_member(h, 'a');
  std::string k = key_in(0, 5460);
  h.cmd({"SET", k, "v"});
  CHECK(h.cmd({"CLUSTER", "FLUSHSLOTS"}) == "-ERR DB must be empty to perform CLUSTER FLUSHSLOTS.\r\n");
  CHECK(h.cmd({"CLUSTER", "RESET"}) == "-ERR CLUSTER RESET can't be called with master nodes containing keys\r\n");
  CHECK(h.cmd({"CLUSTER", "DELSLOTSRANGE", "0", "5460"}) == "+OK\r\n");
  // No slots any more, but keys: still not an empty node.
  CHECK(h.cmd({"CLUSTER", "REPLICATE", id_of('b')}) ==
        "-ERR To set a master the node must be empty and without assigned slots.\r\n");
  CHECK(h.cmd({"FLUSHALL"}) == "+OK\r\n");
  CHECK(h.cmd({"CLUSTER", "FLUSHSLOTS"}) == "+OK\r\n");
  CHECK(h.cmd({"CLUSTER", "REPLICATE", id_of('b')}) == "+OK\r\n");
  CHECK(h.node->is_replica());
}

TEST_CASE("a primary that loses slots to a newer owner deletes their keys and keeps the rest", "[data]") {
  FakeHost h;
  start_member(h, 'a');
  std::string lost = key_in(0, 100), kept = key_in(200, 5460);
  h.cmd({"SET", lost, "v"});
  h.cmd({"SET", kept, "v"});
  // b claims slots 0-100 on top of its own, with a configEpoch above ours.
  bus::Message m;
  m.hdr.type = bus::MsgType::pong;
  NodeId::parse(id_of('b'), m.hdr.sender);
  m.hdr.current_epoch = 5;
  m.hdr.config_epoch = 5;
  for (int s = 0; s <= 100; ++s) m.hdr.myslots.set(static_cast<Slot>(s));
  for (int s = 5461; s <= 10922; ++s) m.hdr.myslots.set(static_cast<Slot>(s));
  m.hdr.port = 6379;
  m.hdr.cport = 16379;
  m.hdr.flags = 1;
  ConnId link = bus_link_to(h, "10.0.0.2");
  REQUIRE(link != kNoConn);
  h.node->on_bytes(link, bus::encode(m));
  REQUIRE_FALSE(h.node->is_replica());
  CHECK(h.node->cluster().myself->numslots == 5460 - 100);
  CHECK(h.cmd({"DBSIZE"}) == ":1\r\n");
  CHECK(h.cmd({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(key_hash_slot(lost))}) == ":0\r\n");
  CHECK(h.cmd({"GET", kept}) == "$1\r\nv\r\n");
}

TEST_CASE("a replica applies its primary's stream and counts every byte", "[data]") {
  FakeHost h;
  start_member(h, 'd');
  ConnId link = sync_replica_link(h, "10.0.0.1");
  REQUIRE(link != kNoConn);
  REQUIRE(h.node->primary_link_up());
  CHECK(h.node->replication_offset() == 100);
  std::string k = key_in(0, 5460);
  std::string set = resp::encode_command({"SET", k, "v"});
  std::string stream = resp::encode_command({"SELECT", "0"}) + set;
  h.node->on_bytes(link, stream);
  CHECK(h.node->replication_offset() == 100 + static_cast<std::int64_t>(stream.size()));
  Conn c(h);
  CHECK(c({"READONLY"}) == "+OK\r\n");
  CHECK(c({"GET", k}) == "$1\r\nv\r\n");
  CHECK(c({"DBSIZE"}) == ":1\r\n");
  // The brief's literal bytes, for a key the replica's primary serves.
  h.node->on_bytes(link, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  CHECK(c({"DBSIZE"}) == ":2\r\n");
  CHECK(h.cmd({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(key_hash_slot("k"))}) == ":1\r\n");

  // A transaction split across reads is applied when EXEC arrives, all at once.
  std::string tx = resp::encode_command({"MULTI"}) + resp::encode_command({"INCR", "{" + k + "}n"}) +
                   resp::encode_command({"INCR", "{" + k + "}n"}) + resp::encode_command({"EXEC"});
  std::size_t cut = tx.size() - 6;
  h.node->on_bytes(link, tx.substr(0, cut));
  CHECK(c({"GET", "{" + k + "}n"}) == "$-1\r\n");
  h.node->on_bytes(link, tx.substr(cut));
  CHECK(c({"GET", "{" + k + "}n"}) == "$1\r\n2\r\n");

  // Expiry is the primary's call: an expired key is hidden from readers but kept until DEL.
  std::string e = "{" + k + "}e";
  h.node->on_bytes(link, resp::encode_command({"SET", e, "v", "PXAT", std::to_string(h.clock.now + 50)}));
  CHECK(c({"GET", e}) == "$1\r\nv\r\n");
  h.advance(200);
  CHECK(c({"GET", e}) == "$-1\r\n");
  CHECK(c({"EXISTS", e}) == ":0\r\n");
  CHECK(c({"DBSIZE"}) == ":4\r\n");
  h.node->on_bytes(link, resp::encode_command({"DEL", e}));
  CHECK(c({"DBSIZE"}) == ":3\r\n");
  // Writes from clients are refused on the replica.
  CHECK(c({"SET", k, "x"}) == fmt::format("-MOVED {} 10.0.0.1:6379\r\n", key_hash_slot(k)));
  CHECK(c({"GET", k}) == "$1\r\nv\r\n");
}

TEST_CASE("a replica full resync flushes what it had, and so does CLUSTER RESET of a replica", "[data]") {
  FakeHost h;
  start_member(h, 'd');
  ConnId link = sync_replica_link(h, "10.0.0.1");
  REQUIRE(link != kNoConn);
  h.node->on_bytes(link, resp::encode_command({"SET", "k", "v"}));
  CHECK(h.cmd({"DBSIZE"}) == ":1\r\n");
  // The link drops; the replica reconnects and the primary answers with a full resync.
  h.node->on_closed(link, CloseReason::peer_closed);
  ConnId again = kNoConn;
  for (auto& [id, conn] : h.transport.conns)
    if (conn.outbound && conn.to.port == 6379 && conn.to.ip == "10.0.0.1" && id != link && !conn.closed) again = id;
  REQUIRE(again != kNoConn);
  h.node->on_connected(again);
  h.node->on_bytes(again, "+PONG\r\n");
  h.node->on_bytes(again, "+OK\r\n+OK\r\n");
  h.node->on_bytes(again, "+FULLRESYNC " + std::string(40, '8') + " 500\r\n");
  std::string rdb = rdb::encode_empty({{"redis-ver", "7.0.15"}});
  h.node->on_bytes(again, fmt::format("${}\r\n", rdb.size()) + rdb);
  REQUIRE(h.node->primary_link_up());
  CHECK(h.cmd({"DBSIZE"}) == ":0\r\n");
  h.node->on_bytes(again, resp::encode_command({"SET", "k", "v"}));
  CHECK(h.cmd({"DBSIZE"}) == ":1\r\n");
  CHECK(h.cmd({"CLUSTER", "RESET"}) == "+OK\r\n");
  CHECK_FALSE(h.node->is_replica());
  CHECK(h.cmd({"DBSIZE"}) == ":0\r\n");
}
