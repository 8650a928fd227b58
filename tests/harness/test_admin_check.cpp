// Loading a cluster, check and info against a simulated cluster: what the operations report, and
// the exact commands they send compared with what redis-cli 7.0.15 sends (clusterManager-
// LoadInfoFromNode, clusterManagerCommandCheck, clusterManagerShowClusterInfo).
#include "admin_lab.hpp"

using namespace slotlab;
using namespace slotlab::harness;
using slotlab::harness::testing::AdminLab;
using slotlab::harness::testing::require_same_commands;

TEST_CASE("load_cluster describes every node by its own CLUSTER NODES line", "[admin]") {
  AdminLab lab(1, 3, 1, 0);
  lab.create();
  auto order = lab.load_order("n2");
  lab.record();
  auto topo = load_cluster(lab.ctx(), lab.ep("n2"));
  auto sent = lab.stop_recording();
  REQUIRE(topo.ok());
  // INFO and CLUSTER NODES on the entry, then CLUSTER NODES on every node it lists.
  require_same_commands(sent, AdminLab::load_commands(order));

  REQUIRE(topo->nodes.size() == 6);
  CHECK(topo->unreachable_primaries == 0);
  int primaries = 0;
  int slots = 0;
  for (std::size_t i = 0; i < topo->nodes.size(); ++i) {
    const AdminNode& n = topo->nodes[i];
    CHECK(lab.name_of(n.endpoint) == order[i]);
    CHECK(n.id == lab.id(order[i]));
    CHECK(n.bus_port == n.endpoint.port + 10000);
    if (n.replica) {
      CHECK(n.slot_count == 0);
      CHECK(topo->find(n.primary_id) != nullptr);
    } else {
      ++primaries;
      slots += n.slot_count;
      CHECK(n.replica_count == 1);
      CHECK(static_cast<int>(n.slots.count()) == n.slot_count);
    }
  }
  CHECK(primaries == 3);
  CHECK(slots == 16384);
  CHECK(topo->find(lab.id("n1")) == &topo->nodes[std::find(order.begin(), order.end(), "n1") - order.begin()]);
  CHECK(topo->find_prefix(lab.id("n3").substr(0, 10))->id == lab.id("n3"));
}

TEST_CASE("load_cluster drops a failed primary and counts it as unreachable", "[admin]") {
  AdminLab lab(2, 3, 0, 0);
  lab.create();
  REQUIRE(lab.world().kill("n3").ok());
  lab.pool().drop(lab.ep("n3"));
  auto topo = load_cluster(lab.ctx(), lab.ep("n1"));
  REQUIRE(topo.ok());
  CHECK(topo->nodes.size() == 2);
  CHECK(topo->unreachable_primaries == 1);
  REQUIRE(topo->dropped.size() == 1);
  CHECK(topo->dropped[0].find(lab.ep("n3").str()) != std::string::npos);
  CHECK(lab.logged("Could not connect to Redis at " + lab.ep("n3").str()));
}

TEST_CASE("check on a healthy cluster: redis-cli's report and commands", "[admin]") {
  AdminLab lab(3, 3, 1, 0);
  lab.create();
  auto order = lab.load_order("n1");
  lab.record();
  auto report = check_cluster(lab.ctx(), lab.ep("n1"));
  auto sent = lab.stop_recording();
  REQUIRE(report.ok());
  INFO(lab.log_text());
  CHECK(report->ok);
  CHECK(report->agree);
  CHECK(report->errors.empty());
  CHECK(report->open_slots.empty());
  CHECK(report->uncovered_slots.empty());

  // Load; DBSIZE on each primary (the info table); CLUSTER NODES on each node (signatures).
  std::vector<std::string> want = AdminLab::load_commands(order);
  for (const auto& n : order)
    if (!lab.is_replica(n)) want.push_back(n + ": DBSIZE");
  for (const auto& n : order) want.push_back(n + ": CLUSTER NODES");
  require_same_commands(sent, want);

  const auto& lines = report->lines;
  auto has = [&](const std::string& s) { return std::find(lines.begin(), lines.end(), s) != lines.end(); };
  CHECK(has(fmt::format(">>> Performing Cluster Check (using node {})", lab.ep("n1").str())));
  CHECK(has("[OK] All nodes agree about slots configuration."));
  CHECK(has(">>> Check for open slots..."));
  CHECK(has(">>> Check slots coverage..."));
  CHECK(has("[OK] All 16384 slots covered."));
  CHECK(has("[OK] 0 keys in 3 masters."));
  CHECK(has("0.00 keys per slot on average."));
  // The node summary: "M: <id> <addr>", "   slots:[0-5460] (5461 slots) master", replicas.
  const AdminNode* n1 = report->topology.find(lab.id("n1"));
  REQUIRE(n1 != nullptr);
  CHECK(has(fmt::format("M: {} {}", lab.id("n1"), lab.ep("n1").str())));
  CHECK(has("   slots:[0-5460] (5461 slots) master"));
  CHECK(has("   1 additional replica(s)"));
  CHECK(has(fmt::format("{} ({}...) -> 0 keys | 5461 slots | 1 slaves.", lab.ep("n1").str(), lab.id("n1").substr(0, 8))));
  for (const auto& n : report->topology.nodes) {
    if (!n.replica) continue;
    CHECK(has(fmt::format("S: {} {}", n.id, n.addr())));
    CHECK(has(fmt::format("   replicates {}", n.primary_id)));
  }
}

TEST_CASE("check reports slots left open by hand", "[admin]") {
  AdminLab lab(4, 3, 0, 0);
  lab.create();
  // n1 serves 0-5460: open slot 100 towards n2 on both sides, and 200 importing on n3 only.
  lab.must("n2", {"CLUSTER", "SETSLOT", "100", "IMPORTING", lab.id("n1")});
  lab.must("n1", {"CLUSTER", "SETSLOT", "100", "MIGRATING", lab.id("n2")});
  lab.must("n3", {"CLUSTER", "SETSLOT", "200", "IMPORTING", lab.id("n1")});
  auto report = check_cluster(lab.ctx(), lab.ep("n1"));
  REQUIRE(report.ok());
  INFO(lab.log_text());
  CHECK_FALSE(report->ok);
  CHECK(report->agree);  // open slots are not part of the signature
  CHECK(report->open_slots == std::vector<int>{100, 200});
  REQUIRE(report->open.size() == 3);
  CHECK(lab.logged(fmt::format("[WARNING] Node {} has slots in migrating state 100.", lab.ep("n1").str())));
  CHECK(lab.logged(fmt::format("[WARNING] Node {} has slots in importing state 100.", lab.ep("n2").str())));
  CHECK(lab.logged(fmt::format("[WARNING] Node {} has slots in importing state 200.", lab.ep("n3").str())));
  CHECK(lab.logged("[WARNING] The following slots are open: 100,200."));
  CHECK(report->errors.size() == 3);
  for (const auto& o : report->open) {
    if (o.migrating) {
      CHECK(lab.name_of(o.node) == "n1");
      CHECK(o.peer_id == lab.id("n2"));
    }
  }
}

TEST_CASE("check reports uncovered slots and disagreement", "[admin]") {
  AdminLab lab(5, 3, 0, 0);
  lab.create();
  // n1 stops claiming slot 7: it is uncovered in the nodes' own views, the others still think n1
  // has it, so the signatures differ too.
  lab.must("n1", {"CLUSTER", "DELSLOTS", "7"});
  auto report = check_cluster(lab.ctx(), lab.ep("n2"));
  REQUIRE(report.ok());
  INFO(lab.log_text());
  CHECK_FALSE(report->ok);
  CHECK_FALSE(report->agree);
  CHECK(report->uncovered_slots == std::vector<int>{7});
  CHECK(lab.logged("[ERR] Nodes don't agree about configuration!"));
  CHECK(lab.logged("[ERR] Not all 16384 slots are covered by nodes."));
}

TEST_CASE("check --cluster-search-multiple-owners counts keys of every slot on every other primary", "[admin]") {
  AdminLab lab(6, 3, 0, 0);
  lab.create();
  auto order = lab.load_order("n1");
  lab.record();
  CheckOptions o;
  o.search_multiple_owners = true;
  auto report = check_cluster(lab.ctx(), lab.ep("n1"), o);
  auto sent = lab.stop_recording();
  REQUIRE(report.ok());
  CHECK(report->ok);
  CHECK(report->multiple_owners.empty());
  CHECK(lab.logged(">>> Check for multiple slot owners..."));
  CHECK(lab.logged("[OK] No multiple owners found."));
  std::vector<std::string> want = AdminLab::load_commands(order);
  for (const auto& n : order) want.push_back(n + ": DBSIZE");
  for (const auto& n : order) want.push_back(n + ": CLUSTER NODES");
  for (int slot = 0; slot < 16384; ++slot) {
    for (const auto& n : order) {
      const AdminNode* an = report->topology.find(lab.id(n));
      if (!an->owns(slot)) want.push_back(fmt::format("{}: CLUSTER COUNTKEYSINSLOT {}", n, slot));
    }
  }
  require_same_commands(sent, want);
}

TEST_CASE("info: keys, slots and replicas per primary", "[admin]") {
  AdminLab lab(7, 3, 1, 0);
  lab.create();
  auto order = lab.load_order("n4");
  lab.record();
  auto info = cluster_info(lab.ctx(), lab.ep("n4"));
  auto sent = lab.stop_recording();
  REQUIRE(info.ok());
  REQUIRE(info->primaries.size() == 3);
  int slots = 0;
  for (const auto& p : info->primaries) {
    CHECK(p.keys == 0);
    CHECK(p.replicas == 1);
    slots += p.slots;
  }
  CHECK(slots == 16384);
  std::vector<std::string> want = AdminLab::load_commands(order);
  for (const auto& n : order)
    if (!lab.is_replica(n)) want.push_back(n + ": DBSIZE");
  require_same_commands(sent, want);
  CHECK(lab.logged("[OK] 0 keys in 3 masters."));
}
