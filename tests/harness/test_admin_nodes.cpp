// add-node and del-node on a simulated cluster with spare nodes: the effect (the node joins as a
// primary or as a replica of the given / least-replicated primary; a removed node is forgotten
// everywhere and its replicas re-pointed) and the commands, compared with what redis-cli sends
// (clusterManagerCommandAddNode / clusterManagerCommandDeleteNode).
#include "admin_lab.hpp"

using namespace slotlab;
using namespace slotlab::harness;
using slotlab::harness::testing::AdminLab;
using slotlab::harness::testing::require_same_commands;

namespace {

// What redis-cli sends for add-node up to and including CLUSTER MEET: load, the check's
// signatures, the new node's INFO / CLUSTER NODES / INFO / CLUSTER INFO, for a primary FUNCTION
// DUMP on the existing node (an error here: skipped), CLUSTER MEET.
std::vector<std::string> add_node_prefix(AdminLab& lab, const std::vector<std::string>& order, const std::string& new_node,
                                         bool primary) {
  std::vector<std::string> want = AdminLab::load_commands(order);
  for (const auto& n : order) want.push_back(n + ": CLUSTER NODES");
  for (const char* c : {"INFO", "CLUSTER NODES", "INFO", "CLUSTER INFO"}) want.push_back(new_node + ": " + c);
  if (primary) want.push_back(order[0] + ": FUNCTION DUMP");
  want.push_back(fmt::format("{}: CLUSTER MEET {} {}", new_node, lab.ep(order[0]).ip, lab.ep(order[0]).port));
  return want;
}

// The wait for the join: rounds of CLUSTER NODES on every loaded node then the new one. Returns
// how many commands it took, checking their shape.
std::size_t skip_join_polls(const std::vector<std::string>& sent, std::size_t from, const std::vector<std::string>& order,
                            const std::string& new_node) {
  std::vector<std::string> round;
  for (const auto& n : order) round.push_back(n + ": CLUSTER NODES");
  round.push_back(new_node + ": CLUSTER NODES");
  std::size_t i = from;
  int rounds = 0;
  while (i + round.size() <= sent.size() && std::equal(round.begin(), round.end(), sent.begin() + static_cast<std::ptrdiff_t>(i))) {
    i += round.size();
    ++rounds;
  }
  CHECK(rounds >= 1);
  return i;
}

bool lists(AdminLab& lab, const std::string& viewer, const std::string& id) {
  auto r = lab.send(viewer, {"CLUSTER", "NODES"});
  return r.str.find(id) != std::string::npos;
}

}  // namespace

TEST_CASE("add-node as a primary: commands and the node joins", "[admin]") {
  AdminLab lab(21, 3, 0, 1);
  lab.create();
  auto order = lab.load_order("n1");
  lab.record();
  auto r = add_node(lab.ctx(), lab.ep("n4"), lab.ep("n1"));
  auto sent = lab.stop_recording();
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(r->id == lab.id("n4"));
  CHECK(r->meets_sent == 1);
  CHECK(r->primary_id.empty());
  auto want = add_node_prefix(lab, order, "n4", true);
  REQUIRE(sent.size() > want.size());
  require_same_commands(std::vector<std::string>(sent.begin(), sent.begin() + static_cast<std::ptrdiff_t>(want.size())), want);
  std::size_t end = skip_join_polls(sent, want.size(), order, "n4");
  CHECK(end == sent.size());
  CHECK(lab.logged(">>> Failed retrieving Functions from the cluster, skip this step"));
  CHECK(lab.logged("[OK] New node added correctly."));
  // Everyone knows it, it is an empty primary.
  for (const char* n : {"n1", "n2", "n3"}) CHECK(lists(lab, n, lab.id("n4")));
  CHECK_FALSE(lab.is_replica("n4"));
  CHECK(lab.slot_count("n4") == 0);
  lab.wait_healthy({"n1", "n2", "n3", "n4"});
}

TEST_CASE("add-node as a replica of the primary with the fewest replicas", "[admin]") {
  AdminLab lab(22, 3, 0, 1);
  lab.create();
  auto order = lab.load_order("n2");
  lab.record();
  AddNodeOptions o;
  o.replica = true;
  auto r = add_node(lab.ctx(), lab.ep("n4"), lab.ep("n2"), o);
  auto sent = lab.stop_recording();
  INFO(lab.log_text());
  REQUIRE(r.ok());
  // No primary has a replica: the first loaded one is chosen.
  CHECK(r->primary_id == lab.id(order[0]));
  CHECK(lab.logged(fmt::format("Automatically selected master {}", lab.ep(order[0]).str())));
  auto want = add_node_prefix(lab, order, "n4", false);
  require_same_commands(std::vector<std::string>(sent.begin(), sent.begin() + static_cast<std::ptrdiff_t>(want.size())), want);
  std::size_t end = skip_join_polls(sent, want.size(), order, "n4");
  require_same_commands(std::vector<std::string>(sent.begin() + static_cast<std::ptrdiff_t>(end), sent.end()),
                        {fmt::format("n4: CLUSTER REPLICATE <{}>", order[0])});
  CHECK(lab.is_replica("n4"));
  CHECK(lab.primary_of("n4") == order[0]);
}

TEST_CASE("add-node as a replica of a given primary, then one more where there are fewest", "[admin]") {
  AdminLab lab(23, 3, 0, 2);
  lab.create();
  AddNodeOptions o;
  o.replica = true;
  o.primary_id = lab.id("n3");
  auto r = add_node(lab.ctx(), lab.ep("n4"), lab.ep("n1"), o);
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(lab.primary_of("n4") == "n3");
  // n3 has a replica now; the fewest are on the first loaded primary that is not n3.
  auto order = lab.load_order("n1");
  std::string expected;
  for (const auto& n : order)
    if (n != "n3" && n != "n4" && expected.empty()) expected = n;
  AddNodeOptions any;
  any.replica = true;
  auto r2 = add_node(lab.ctx(), lab.ep("n5"), lab.ep("n1"), any);
  REQUIRE(r2.ok());
  CHECK(lab.primary_of("n5") == expected);
}

TEST_CASE("add-node refuses a node that is not empty and an unknown primary id", "[admin]") {
  AdminLab lab(24, 3, 0, 1);
  lab.create();
  auto r = add_node(lab.ctx(), lab.ep("n2"), lab.ep("n1"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == fmt::format("[ERR] Node {} is not empty. Either the node already knows other nodes (check "
                                         "with CLUSTER NODES) or contains some key in database 0.",
                                         lab.ep("n2").str()));
  AddNodeOptions o;
  o.replica = true;
  o.primary_id = std::string(40, 'f');
  auto r2 = add_node(lab.ctx(), lab.ep("n4"), lab.ep("n1"), o);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message == "[ERR] No such master ID " + std::string(40, 'f'));
}

TEST_CASE("add-node re-sends CLUSTER MEET to a node that did not join", "[admin]") {
  AdminLab lab(25, 3, 0, 1);
  lab.create();
  // The new node cannot reach the entry node while the first MEET's handshake lasts (as when
  // redis-cli was given an address the new node cannot reach): it never joins by itself.
  auto& sim = lab.world().simulator();
  auto n4 = lab.world().host("n4");
  auto n1 = lab.world().host("n1");
  REQUIRE(sim.block_link(n4, n1).ok());
  sim.schedule(sim.now_us() + 8'000'000, [&sim, n4, n1] { (void)sim.unblock_link(n4, n1); });
  auto r = add_node(lab.ctx(), lab.ep("n4"), lab.ep("n1"));
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(r->meets_sent == 4);  // the first, then one to each of the 3 nodes that do not know it
  CHECK(lab.logged(fmt::format("Node {} has not joined yet", lab.ep("n4").str())));
  lab.wait_healthy({"n1", "n2", "n3", "n4"});
}

TEST_CASE("add-node fails, naming the node, when it cannot join at all", "[admin]") {
  AdminLab lab(26, 3, 0, 1);
  lab.create();
  auto& sim = lab.world().simulator();
  auto n4 = lab.world().host("n4");
  for (const char* n : {"n1", "n2", "n3"}) REQUIRE(sim.block_link(n4, lab.world().host(n)).ok());
  lab.ctx().join_timeout_ms = 30000;
  auto r = add_node(lab.ctx(), lab.ep("n4"), lab.ep("n1"));
  REQUIRE_FALSE(r.ok());
  INFO(r.error().message);
  CHECK(r.error().code == Errc::timeout);
  CHECK(r.error().message.find(fmt::format("node {} ({}) did not join the cluster within 30000 ms", lab.ep("n4").str(),
                                           lab.id("n4"))) == 0);
  CHECK(r.error().message.find("does not know") != std::string::npos);
}

TEST_CASE("del-node refuses a node that serves slots", "[admin]") {
  AdminLab lab(27, 3, 0, 0);
  lab.create();
  auto order = lab.load_order("n1");
  lab.record();
  auto r = del_node(lab.ctx(), lab.ep("n1"), lab.id("n2"));
  auto sent = lab.stop_recording();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == fmt::format("[ERR] Node {} is not empty! Reshard data away and try again.", lab.ep("n2").str()));
  require_same_commands(sent, AdminLab::load_commands(order));
  auto r2 = del_node(lab.ctx(), lab.ep("n1"), std::string(40, 'a'));
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message == "[ERR] No such node ID " + std::string(40, 'a'));
}

TEST_CASE("del-node removes an empty primary everywhere and re-points its replica", "[admin]") {
  AdminLab lab(28, 3, 1, 2);
  lab.create();
  REQUIRE(add_node(lab.ctx(), lab.ep("n7"), lab.ep("n1")).ok());
  AddNodeOptions o;
  o.replica = true;
  o.primary_id = lab.id("n7");
  REQUIRE(add_node(lab.ctx(), lab.ep("n8"), lab.ep("n1"), o).ok());
  lab.wait_healthy({"n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"});
  REQUIRE(lab.primary_of("n8") == "n7");

  auto order = lab.load_order("n1");
  lab.record();
  lab.log().clear();
  auto r = del_node(lab.ctx(), lab.ep("n1"), lab.id("n7"));
  auto sent = lab.stop_recording();
  INFO(lab.log_text());
  REQUIRE(r.ok());
  // Every primary has one replica; n7 is not a candidate: the first other loaded primary.
  std::string new_primary;
  for (const auto& n : order)
    if (new_primary.empty() && n != "n7" && !lab.is_replica(n)) new_primary = n;
  REQUIRE(r->repointed.size() == 1);
  CHECK(r->repointed[0].first == lab.id("n8"));
  CHECK(r->repointed[0].second == lab.id(new_primary));

  std::vector<std::string> want = AdminLab::load_commands(order);
  for (const auto& n : order) {
    if (n == "n7") continue;
    if (n == "n8") want.push_back(fmt::format("n8: CLUSTER REPLICATE <{}>", new_primary));
    want.push_back(n + ": CLUSTER FORGET <n7>");
  }
  want.push_back("n7: CLUSTER RESET SOFT");
  require_same_commands(sent, want);
  CHECK(lab.logged(fmt::format(">>> {} as replica of {}", lab.ep("n8").str(), lab.ep(new_primary).str())));

  // Forgotten everywhere, and it stays forgotten; n8 follows its new primary.
  lab.world().sleep_ms(5000);
  for (const char* n : {"n1", "n2", "n3", "n4", "n5", "n6", "n8"}) CHECK_FALSE(lists(lab, n, lab.id("n7")));
  CHECK(lab.primary_of("n8") == new_primary);
  CHECK(lab.send("n7", {"CLUSTER", "INFO"}).str.find("cluster_known_nodes:1\r\n") != std::string::npos);
  lab.wait_healthy({"n1", "n2", "n3", "n4", "n5", "n6", "n8"});
}
