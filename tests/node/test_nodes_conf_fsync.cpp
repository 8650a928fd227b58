// nodes.conf saves follow Redis 7.0.15's clusterSaveConfig(do_fsync): only the callers that pass
// CLUSTER_TODO_FSYNC_CONFIG (or call clusterSaveConfigOrDie(1)) sync. Slot bookkeeping (ADDSLOTS,
// DELSLOTS, SETSLOT ...) saves without fsync; an epoch change (BUMPEPOCH, SETSLOT NODE closing an
// import), SAVECONFIG and RESET sync. Here: ADDSLOTS/DELSLOTS, BUMPEPOCH, SAVECONFIG, RESET.
#include <catch2/catch.hpp>

#include "fake_env.hpp"

using namespace slotlab;
using namespace slotlab::testing;

namespace {
NodeConfig cluster_config() {
  NodeConfig cfg;
  cfg.cluster_enabled = true;
  cfg.port = 6379;
  return cfg;
}
bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }
}  // namespace

TEST_CASE("nodes.conf is fsynced only where Redis fsyncs it", "[persistence][nodesconf]") {
  FakeHost h;
  Node& n = h.start(cluster_config());
  (void)n;
  // A new node writes its first nodes.conf durably (clusterInit: clusterSaveConfigOrDie(1)).
  REQUIRE(h.storage.fsyncs >= 1);
  REQUIRE(h.storage.durable.count("nodes.conf") == 1);

  int fsyncs = h.storage.fsyncs;
  int unsynced = h.storage.unsynced_renames;
  SECTION("ADDSLOTS and DELSLOTS save without fsync") {
    REQUIRE(h.cmd({"CLUSTER", "ADDSLOTS", "1", "2", "3"}) == "+OK\r\n");
    CHECK(h.storage.fsyncs == fsyncs);
    CHECK(h.storage.unsynced_renames == unsynced + 1);
    CHECK(has(h.storage.files["nodes.conf"], "connected 1-3\n"));           // what a kill -9 keeps
    CHECK_FALSE(has(h.storage.durable["nodes.conf"], "connected 1-3\n"));  // what a power loss may keep
    REQUIRE(h.cmd({"CLUSTER", "DELSLOTS", "2"}) == "+OK\r\n");
    CHECK(h.storage.fsyncs == fsyncs);
    CHECK(h.storage.unsynced_renames == unsynced + 2);

    SECTION("an epoch bump then syncs, and the durable file catches up") {
      REQUIRE(h.cmd({"CLUSTER", "BUMPEPOCH"}).rfind("+BUMPED 1", 0) == 0);
      CHECK(h.storage.fsyncs == fsyncs + 1);
      CHECK(h.storage.unsynced_renames == unsynced + 2);
      CHECK(has(h.storage.durable["nodes.conf"], "connected 1 3\n"));
      CHECK(has(h.storage.durable["nodes.conf"], "vars currentEpoch 1 lastVoteEpoch 0\n"));
    }
  }
  SECTION("SAVECONFIG and RESET sync") {
    REQUIRE(h.cmd({"CLUSTER", "SAVECONFIG"}) == "+OK\r\n");
    CHECK(h.storage.fsyncs == fsyncs + 1);
    REQUIRE(h.cmd({"CLUSTER", "ADDSLOTS", "7"}) == "+OK\r\n");
    CHECK(h.storage.fsyncs == fsyncs + 1);
    REQUIRE(h.cmd({"CLUSTER", "DELSLOTS", "7"}) == "+OK\r\n");
    REQUIRE(h.cmd({"CLUSTER", "RESET", "HARD"}) == "+OK\r\n");
    CHECK(h.storage.fsyncs == fsyncs + 2);
    CHECK(h.storage.durable["nodes.conf"] == h.storage.files["nodes.conf"]);
  }
}
