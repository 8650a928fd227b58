// Cluster routing of client commands on one node of a six-node cluster described by nodes.conf:
// CRC16 and hash tags, MOVED, ASK, ASKING, TRYAGAIN, CROSSSLOT, the CLUSTERDOWN variants, READONLY
// replicas, routing inside MULTI/EXEC, and READONLY refusals on replicas. Tagged [routing].
#include <catch2/catch.hpp>

#include "test_data_helpers.hpp"

using namespace slotlab;
using namespace slotlab::testing;

namespace {

// Node `me` of the nodes.conf cluster, past the writable delay so cluster_state is ok.
void start_member(FakeHost& h, char me, NodeConfig cfg = clustered_config()) {
  h.storage.files["nodes.conf"] = cluster_nodes_conf(me);
  h.start(std::move(cfg));
  h.advance(2100);
  REQUIRE(h.node->cluster().state == ClusterHealth::ok);
}

std::string moved(int slot, const std::string& to) { return fmt::format("-MOVED {} {}:6379\r\n", slot, to); }
std::string ask(int slot, const std::string& to) { return fmt::format("-ASK {} {}:6379\r\n", slot, to); }
const std::string kCrossSlot = "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
const std::string kTryAgain = "-TRYAGAIN Multiple keys request during rehashing of slot\r\n";

}  // namespace

TEST_CASE("CLUSTER KEYSLOT: CRC16 and hash tags as the cluster spec's test vectors", "[routing]") {
  CHECK(crc16_xmodem("123456789") == 0x31C3);
  FakeHost h;
  h.start(clustered_config());
  CHECK(h.cmd({"CLUSTER", "KEYSLOT", "123456789"}) == ":12739\r\n");
  CHECK(h.cmd({"CLUSTER", "KEYSLOT", "foo"}) == ":12182\r\n");
  CHECK(h.cmd({"CLUSTER", "KEYSLOT", "{user1000}.following"}) == h.cmd({"CLUSTER", "KEYSLOT", "{user1000}.followers"}));
  CHECK(key_hash_slot("{user1000}.following") == key_hash_slot("user1000"));
  // An empty tag hashes the whole key; the first '{' pairs with the first '}' after it.
  CHECK(key_hash_slot("foo{}{bar}") == (crc16_xmodem("foo{}{bar}") & 16383));
  CHECK(key_hash_slot("foo{{bar}}zap") == (crc16_xmodem("{bar") & 16383));
  CHECK(key_hash_slot("foo{bar}{zap}") == (crc16_xmodem("bar") & 16383));
  CHECK(key_hash_slot("foo{bar") == (crc16_xmodem("foo{bar") & 16383));
}

TEST_CASE("keys of other primaries get MOVED and multi-key commands need one slot", "[routing]") {
  FakeHost h;
  start_member(h, 'a');
  std::string mine = key_in(0, 5460);
  CHECK(h.cmd({"SET", mine, "v"}) == "+OK\r\n");
  CHECK(h.cmd({"GET", mine}) == "$1\r\nv\r\n");
  CHECK(h.cmd({"GET", "foo"}) == moved(12182, "10.0.0.3"));
  CHECK(h.cmd({"SET", "foo", "x"}) == moved(12182, "10.0.0.3"));
  std::string bs = key_in(5461, 10922);
  CHECK(h.cmd({"DEL", bs}) == moved(key_hash_slot(bs), "10.0.0.2"));
  CHECK(h.cmd({"MSET", mine, "1", "foo", "2"}) == kCrossSlot);
  CHECK(h.cmd({"MGET", "foo", mine}) == kCrossSlot);
  // Hash tags put keys together: served, or moved as one.
  std::string tag = "{" + mine + "}";
  CHECK(h.cmd({"MSET", tag + "a", "1", tag + "b", "2"}) == "+OK\r\n");
  CHECK(h.cmd({"MGET", "{foo}a", "{foo}b"}) == moved(12182, "10.0.0.3"));
  // The same key twice is one key.
  CHECK(h.cmd({"MGET", "foo", "foo"}) == moved(12182, "10.0.0.3"));
  // Commands without keys are never routed.
  CHECK(h.cmd({"DBSIZE"}) == ":3\r\n");
  CHECK(h.cmd({"KEYS", "*"}).rfind("*3\r\n", 0) == 0);
  // The preferred endpoint type decides what a redirection names.
  CHECK(h.cmd({"CONFIG", "SET", "cluster-preferred-endpoint-type", "unknown-endpoint"}) == "+OK\r\n");
  CHECK(h.cmd({"GET", "foo"}) == "-MOVED 12182 :6379\r\n");
}

TEST_CASE("a migrating slot: present keys are served, missing ones ASK, mixed ones TRYAGAIN", "[routing]") {
  FakeHost h;
  start_member(h, 'a');
  std::string k1 = key_in(0, 5460);
  int slot = key_hash_slot(k1);
  std::string t1 = "{" + k1 + "}1", t2 = "{" + k1 + "}2";
  h.cmd({"SET", k1, "v"});
  h.cmd({"SET", t1, "v"});
  h.cmd({"SET", "{" + k1 + "}e", "v", "PX", "5"});
  CHECK(h.cmd({"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", id_of('b')}) == "+OK\r\n");
  CHECK(h.cmd({"GET", k1}) == "$1\r\nv\r\n");
  CHECK(h.cmd({"GET", t2}) == ask(slot, "10.0.0.2"));
  CHECK(h.cmd({"SET", t2, "x"}) == ask(slot, "10.0.0.2"));
  CHECK(h.cmd({"MGET", t1, t2}) == kTryAgain);
  CHECK(h.cmd({"MGET", t1, k1}) == "*2\r\n$1\r\nv\r\n$1\r\nv\r\n");
  CHECK(h.cmd({"DEL", t2, "{" + k1 + "}3"}) == ask(slot, "10.0.0.2"));
  // An expired key counts as missing (and routing does not delete it).
  h.clock.now += 10;
  CHECK(h.cmd({"GET", "{" + k1 + "}e"}) == ask(slot, "10.0.0.2"));
  CHECK(h.cmd({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}) == ":3\r\n");
  // Keys still here: the slot cannot be given away.
  CHECK(h.cmd({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", id_of('b')}) ==
        fmt::format("-ERR Can't assign hashslot {} to a different node while I still hold keys for this hash slot.\r\n",
                    slot));
}

TEST_CASE("an importing slot is served only after ASKING, which lasts one command", "[routing]") {
  FakeHost h;
  start_member(h, 'a');
  std::string k = key_in(5461, 10922);
  int slot = key_hash_slot(k);
  CHECK(h.cmd({"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", id_of('b')}) == "+OK\r\n");
  Conn c(h);
  CHECK(c({"GET", k}) == moved(slot, "10.0.0.2"));
  CHECK(c({"ASKING"}) == "+OK\r\n");
  CHECK(c({"SET", k, "v"}) == "+OK\r\n");
  CHECK(c({"GET", k}) == moved(slot, "10.0.0.2"));  // one-shot
  CHECK(c({"ASKING"}) == "+OK\r\n");
  CHECK(c({"GET", k}) == "$1\r\nv\r\n");
  // A multi-key command with missing keys cannot be served even after ASKING.
  std::string t = "{" + k + "}x";
  CHECK(c({"ASKING"}) == "+OK\r\n");
  CHECK(c({"MGET", k, t}) == kTryAgain);
  // ASKING also expires after a command that fails (the flag is reset after every command).
  CHECK(c({"ASKING"}) == "+OK\r\n");
  CHECK(c({"NOSUCH"}).rfind("-ERR unknown command", 0) == 0);
  CHECK(c({"GET", k}) == moved(slot, "10.0.0.2"));
  // ASKING then MULTI: it covers the transaction.
  CHECK(c({"ASKING"}) == "+OK\r\n");
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"GET", k}) == "+QUEUED\r\n");
  CHECK(c({"EXEC"}) == "*1\r\n$1\r\nv\r\n");
  CHECK(c({"GET", k}) == moved(slot, "10.0.0.2"));
}

TEST_CASE("CLUSTERDOWN: unassigned slots, a failed cluster, reads allowed when down", "[routing]") {
  NodeConfig cfg = clustered_config();
  FakeHost h;
  h.start(cfg);
  CHECK(h.cmd({"CLUSTER", "ADDSLOTSRANGE", "0", "8000"}) == "+OK\r\n");
  h.advance(2100);
  REQUIRE(h.node->cluster().state == ClusterHealth::fail);
  std::string mine = key_in(0, 8000);
  std::string unassigned = key_in(8001, 16383);
  CHECK(h.cmd({"GET", unassigned}) == "-CLUSTERDOWN Hash slot not served\r\n");
  CHECK(h.cmd({"GET", mine}) == "-CLUSTERDOWN The cluster is down\r\n");
  CHECK(h.cmd({"PING"}) == "+PONG\r\n");  // no keys: served
  CHECK(h.cmd({"CONFIG", "SET", "cluster-allow-reads-when-down", "yes"}) == "+OK\r\n");
  CHECK(h.cmd({"GET", mine}) == "$-1\r\n");
  CHECK(h.cmd({"SET", mine, "v"}) == "-CLUSTERDOWN The cluster is down and only accepts read commands\r\n");
  CHECK(h.cmd({"GET", unassigned}) == "-CLUSTERDOWN Hash slot not served\r\n");
}

TEST_CASE("routing inside MULTI: per queued command, and once more for EXEC", "[routing]") {
  FakeHost h;
  start_member(h, 'a');
  std::string k1 = key_in(0, 5460), k2 = key_in(0, 5460, 1);
  REQUIRE(key_hash_slot(k1) != key_hash_slot(k2));
  Conn c(h);
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"GET", "foo"}) == moved(12182, "10.0.0.3"));
  CHECK(c({"EXEC"}) == "-EXECABORT Transaction discarded because of previous errors.\r\n");
  // Each command alone is fine, together they span two slots: EXEC answers CROSSSLOT and the
  // transaction is gone.
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"SET", k1, "1"}) == "+QUEUED\r\n");
  CHECK(c({"SET", k2, "2"}) == "+QUEUED\r\n");
  CHECK(c({"EXEC"}) == kCrossSlot);
  CHECK(c({"EXEC"}) == "-ERR EXEC without MULTI\r\n");
  CHECK(c({"EXISTS", k1}) == ":0\r\n");
  // Same slot: fine.
  std::string t = "{" + k1 + "}";
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"SET", t + "a", "1"}) == "+QUEUED\r\n");
  CHECK(c({"INCR", t + "b"}) == "+QUEUED\r\n");
  CHECK(c({"EXEC"}) == "*2\r\n+OK\r\n:1\r\n");
}

TEST_CASE("replicas: MOVED to the primary, READONLY clients read their primary's slots", "[routing]") {
  FakeHost h;
  start_member(h, 'd');  // replica of a (0-5460)
  std::string ak = key_in(0, 5460), bk = key_in(5461, 10922);
  int aslot = key_hash_slot(ak), bslot = key_hash_slot(bk);
  Conn c(h);
  CHECK(c({"GET", ak}) == moved(aslot, "10.0.0.1"));
  CHECK(c({"READONLY"}) == "+OK\r\n");
  CHECK(c({"GET", ak}) == "$-1\r\n");
  CHECK(c({"SET", ak, "v"}) == moved(aslot, "10.0.0.1"));
  CHECK(c({"GET", bk}) == moved(bslot, "10.0.0.2"));
  // A read-only transaction reads here; one with a write goes to the primary.
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"GET", ak}) == "+QUEUED\r\n");
  CHECK(c({"EXEC"}) == "*1\r\n$-1\r\n");
  // Writes without keys meet the read-only replica rule.
  CHECK(c({"FLUSHALL"}) == "-READONLY You can't write against a read only replica.\r\n");
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"FLUSHDB"}) == "-READONLY You can't write against a read only replica.\r\n");
  CHECK(c({"EXEC"}) == "-EXECABORT Transaction discarded because of previous errors.\r\n");
  CHECK(c({"READWRITE"}) == "+OK\r\n");
  CHECK(c({"GET", ak}) == moved(aslot, "10.0.0.1"));
}
