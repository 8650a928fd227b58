// reshard and rebalance on a simulated cluster with a spare primary: the reshard table and the
// rebalance arithmetic are redis-cli's, every slot move sends what clusterManagerMoveSlot sends,
// and the cluster agrees afterwards.
#include "admin_lab.hpp"

#include <set>

using namespace slotlab;
using namespace slotlab::harness;
using slotlab::harness::testing::AdminLab;
using slotlab::harness::testing::require_same_commands;

namespace {

AdminNode fake_node(const std::string& id, int first, int last) {
  AdminNode n;
  n.id = id;
  for (int s = first; s <= last; ++s) n.slots.set(static_cast<std::size_t>(s));
  n.slot_count = last - first + 1;
  return n;
}

// The commands of one slot move (not cold, not fixing, no keys): IMPORTING on the target,
// MIGRATING on the source, GETKEYSINSLOT on the source, then NODE on the target, the source and
// every other primary in load order.
void append_move(std::vector<std::string>& want, int slot, const std::string& src, const std::string& dst,
                 const std::vector<std::string>& primaries_in_order) {
  want.push_back(fmt::format("{}: CLUSTER SETSLOT {} importing <{}>", dst, slot, src));
  want.push_back(fmt::format("{}: CLUSTER SETSLOT {} migrating <{}>", src, slot, dst));
  want.push_back(fmt::format("{}: CLUSTER GETKEYSINSLOT {} 10", src, slot));
  want.push_back(fmt::format("{}: CLUSTER SETSLOT {} node <{}>", dst, slot, dst));
  want.push_back(fmt::format("{}: CLUSTER SETSLOT {} node <{}>", src, slot, dst));
  for (const auto& n : primaries_in_order)
    if (n != src && n != dst) want.push_back(fmt::format("{}: CLUSTER SETSLOT {} node <{}>", n, slot, dst));
}

std::vector<std::string> primaries(AdminLab& lab, const std::vector<std::string>& order) {
  std::vector<std::string> out;
  for (const auto& n : order)
    if (!lab.is_replica(n)) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("the reshard table is redis-cli's", "[admin]") {
  AdminNode a = fake_node("a", 0, 5460);
  AdminNode b = fake_node("b", 5461, 10922);
  AdminNode c = fake_node("c", 10923, 16383);
  // Sorted by slot count, stable: b (5462), a, c. b gives ceil(10/16384*5462) = 4, the others
  // floor(3.33) = 3, lowest slots first.
  auto t = compute_reshard_table({&a, &b, &c}, 10);
  std::vector<std::pair<int, std::string>> got;
  for (const auto& m : t) got.emplace_back(m.slot, m.source_id);
  CHECK(got == std::vector<std::pair<int, std::string>>{{5461, "b"}, {5462, "b"}, {5463, "b"}, {5464, "b"},
                                                        {0, "a"},    {1, "a"},    {2, "a"},
                                                        {10923, "c"}, {10924, "c"}, {10925, "c"}});
  // The first source's share is rounded up, so the table can be cut at `slots`.
  auto t2 = compute_reshard_table({&a, &c}, 3);
  REQUIRE(t2.size() == 3);
  CHECK(t2[0].source_id == "a");
  CHECK(t2[1].source_id == "a");
  CHECK(t2[2].source_id == "c");
  // One source: exactly its lowest slots.
  auto t3 = compute_reshard_table({&c}, 4096);
  REQUIRE(t3.size() == 4096);
  CHECK(t3.front().slot == 10923);
  CHECK(t3.back().slot == 10923 + 4095);
  // No slots anywhere: nothing to move.
  AdminNode empty = fake_node("e", 1, 0);
  CHECK(compute_reshard_table({&empty}, 5).empty());
}

TEST_CASE("reshard moves exactly N slots to a new primary, with redis-cli's commands", "[admin]") {
  AdminLab lab(31, 3, 1, 1);
  lab.create();
  REQUIRE(add_node(lab.ctx(), lab.ep("n7"), lab.ep("n1")).ok());
  lab.wait_healthy({"n1", "n2", "n3", "n4", "n5", "n6", "n7"});
  auto order = lab.load_order("n1");
  auto prim = primaries(lab, order);
  lab.record();
  lab.log().clear();
  ReshardOptions o;
  o.from = {"all"};
  o.to = lab.id("n7");
  o.slots = 10;
  auto r = reshard(lab.ctx(), lab.ep("n1"), o);
  auto sent = lab.stop_recording();
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(r->moved == 10);
  REQUIRE(r->plan.size() == 10);

  std::vector<std::string> want = AdminLab::load_commands(order);
  for (const auto& n : order) want.push_back(n + ": CLUSTER NODES");
  for (const auto& m : r->plan) append_move(want, m.slot, lab.name_of_id(m.source_id), "n7", prim);
  require_same_commands(sent, want);
  // The plan: n2 (the most slots) gives 4, n1 and n3 give 3 each, lowest first.
  std::multiset<std::string> sources;
  for (const auto& m : r->plan) sources.insert(lab.name_of_id(m.source_id));
  CHECK(sources.count("n2") == 4);
  CHECK(sources.count("n1") == 3);
  CHECK(sources.count("n3") == 3);
  CHECK(r->plan[0].slot == 5461);
  CHECK(lab.logged("Ready to move 10 slots."));
  CHECK(lab.logged(fmt::format("    Moving slot 5461 from {}", lab.id("n2"))));
  CHECK(lab.logged(fmt::format("Moving slot 5461 from {} to {}: ", lab.ep("n2").str(), lab.ep("n7").str())));

  // Everyone agrees: n7 has the 10 slots.
  CHECK(lab.slot_count("n7") == 10);
  for (const auto& m : r->plan) CHECK(lab.owns("n7", m.slot));
  lab.wait_healthy({"n1", "n2", "n3", "n4", "n5", "n6", "n7"});
  auto check = check_cluster(lab.ctx(), lab.ep("n3"));
  REQUIRE(check.ok());
  CHECK(check->ok);
}

TEST_CASE("reshard from given sources, skipping the target as a source and refusing bad ids", "[admin]") {
  AdminLab lab(32, 3, 0, 0);
  lab.create();
  ReshardOptions o;
  o.from = {lab.id("n1"), lab.id("n3")};
  o.to = lab.id("n3");
  o.slots = 7;
  auto r = reshard(lab.ctx(), lab.ep("n2"), o);
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(lab.logged("*** It is not possible to use the target node as source node."));
  CHECK(r->moved == 7);
  for (const auto& m : r->plan) CHECK(m.source_id == lab.id("n1"));
  CHECK(r->plan.front().slot == 0);
  CHECK(r->plan.back().slot == 6);
  CHECK(lab.wait_agree({"n1", "n2", "n3"}));
  CHECK(lab.slot_count("n3") == 5461 + 7);
  CHECK(lab.slot_count("n1") == 5461 - 7);

  ReshardOptions bad = o;
  bad.from = {std::string(40, 'b')};
  auto r2 = reshard(lab.ctx(), lab.ep("n2"), bad);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message ==
        fmt::format("*** The specified node ({}) is not known or not a master, please retry.", std::string(40, 'b')));
  ReshardOptions only_target = o;
  only_target.from = {lab.id("n3")};
  auto r3 = reshard(lab.ctx(), lab.ep("n2"), only_target);
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.error().message == "*** No source nodes given, operation aborted.");
}

TEST_CASE("reshard refuses a cluster with an open slot", "[admin]") {
  AdminLab lab(33, 3, 0, 0);
  lab.create();
  lab.must("n1", {"CLUSTER", "SETSLOT", "5", "MIGRATING", lab.id("n2")});
  ReshardOptions o;
  o.from = {"all"};
  o.to = lab.id("n3");
  o.slots = 1;
  auto r = reshard(lab.ctx(), lab.ep("n1"), o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("*** Please fix your cluster problems before resharding") == 0);
  CHECK(r.error().message.find("has slots in migrating state 5.") != std::string::npos);
}

TEST_CASE("a source that loses its last slot becomes a replica and SETSLOT's refusal is tolerated", "[admin]") {
  AdminLab lab(34, 3, 0, 1);
  lab.create();
  REQUIRE(add_node(lab.ctx(), lab.ep("n4"), lab.ep("n1")).ok());
  ReshardOptions give;
  give.from = {lab.id("n1")};
  give.to = lab.id("n4");
  give.slots = 3;
  REQUIRE(reshard(lab.ctx(), lab.ep("n1"), give).ok());
  lab.wait_healthy({"n1", "n2", "n3", "n4"});
  // Move them back. The target (n1) is told first and announces its new epoch; with the harness
  // slow to reach n4, that PONG gets there first: n4, left without slots, turns into n1's
  // replica, and answers its own SETSLOT NODE with "ERR Please use SETSLOT only with masters."
  // (redis #9223), which the move accepts.
  auto& sim = lab.world().simulator();
  auto harness_host = sim.find_host("harness");
  REQUIRE(harness_host);
  REQUIRE(sim.set_link_latency(*harness_host, lab.world().host("n4"), 20'000).ok());
  ReshardOptions back;
  back.from = {lab.id("n4")};
  back.to = lab.id("n1");
  back.slots = 3;
  auto r = reshard(lab.ctx(), lab.ep("n2"), back);
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(r->moved == 3);
  lab.wait_healthy({"n1", "n2", "n3", "n4"});
  CHECK(lab.slot_count("n4") == 0);
  CHECK(lab.is_replica("n4"));  // cluster-allow-replica-migration: the emptied primary follows n1
  CHECK(lab.primary_of("n4") == "n1");
}

TEST_CASE("rebalance leaves a cluster within the threshold alone and empty primaries out", "[admin]") {
  AdminLab lab(35, 3, 0, 1);
  lab.create();
  REQUIRE(add_node(lab.ctx(), lab.ep("n4"), lab.ep("n1")).ok());
  lab.wait_healthy({"n1", "n2", "n3", "n4"});
  auto order = lab.load_order("n1");
  lab.record();
  lab.log().clear();
  auto r = rebalance(lab.ctx(), lab.ep("n1"));
  auto sent = lab.stop_recording();
  REQUIRE(r.ok());
  CHECK_FALSE(r->needed);
  CHECK(lab.logged("*** No rebalancing needed! All nodes are within the 2.00% threshold."));
  std::vector<std::string> want = AdminLab::load_commands(order);
  for (const auto& n : order) want.push_back(n + ": CLUSTER NODES");
  require_same_commands(sent, want);
  CHECK_FALSE(lab.logged("   slots:"));  // the check is quiet: no node summary
}

TEST_CASE("rebalance with an empty primary evens the slots out, moving from the most loaded", "[admin]") {
  AdminLab lab(36, 3, 0, 1);
  lab.create();
  REQUIRE(add_node(lab.ctx(), lab.ep("n4"), lab.ep("n1")).ok());
  lab.wait_healthy({"n1", "n2", "n3", "n4"});
  auto order = lab.load_order("n1");
  auto prim = primaries(lab, order);

  // Simulate first: the plan, and nothing but the load and the check is sent.
  RebalanceOptions o;
  o.use_empty_masters = true;
  o.simulate = true;
  lab.record();
  auto sim = rebalance(lab.ctx(), lab.ep("n1"), o);
  auto sim_sent = lab.stop_recording();
  REQUIRE(sim.ok());
  CHECK(sim->needed);
  CHECK(sim->moved == 0);
  CHECK(sim_sent.size() == AdminLab::load_commands(order).size() + order.size());
  // 16384 / 4 = 4096 each: n2 gives 1366, n1 and n3 1365; n4 receives all.
  int total = 0;
  std::map<std::string, int> given;
  for (const auto& t : sim->transfers) {
    CHECK(t.target_id == lab.id("n4"));
    given[lab.name_of_id(t.source_id)] += t.slots;
    total += t.slots;
  }
  CHECK(total == 4096);
  CHECK(given["n1"] == 1365);
  CHECK(given["n2"] == 1366);
  CHECK(given["n3"] == 1365);
  // The last in balance order (the biggest giver, n2) goes first.
  CHECK(sim->transfers.front().source_id == lab.id("n2"));
  CHECK(lab.logged(">>> Rebalancing across 4 nodes. Total weight = 4.00"));
  CHECK(lab.logged(fmt::format("Moving 1366 slots from {} to {}", lab.ep("n2").str(), lab.ep("n4").str())));

  o.simulate = false;
  lab.record();
  auto r = rebalance(lab.ctx(), lab.ep("n1"), o);
  auto sent = lab.stop_recording();
  REQUIRE(r.ok());
  CHECK(r->moved == 4096);
  // The commands: each transfer moves the source's lowest slots, one slot move each.
  std::vector<std::string> want = AdminLab::load_commands(order);
  for (const auto& n : order) want.push_back(n + ": CLUSTER NODES");
  std::map<std::string, int> next_slot{{"n1", 0}, {"n2", 5461}, {"n3", 10923}};
  for (const auto& t : r->transfers) {
    std::string src = lab.name_of_id(t.source_id);
    for (int k = 0; k < t.slots; ++k) append_move(want, next_slot[src]++, src, "n4", prim);
  }
  require_same_commands(sent, want);
  lab.wait_healthy({"n1", "n2", "n3", "n4"});
  for (const char* n : {"n1", "n2", "n3", "n4"}) CHECK(lab.slot_count(n) == 4096);
  auto again = rebalance(lab.ctx(), lab.ep("n2"));
  REQUIRE(again.ok());
  CHECK_FALSE(again->needed);
}

TEST_CASE("rebalance follows the weights", "[admin]") {
  AdminLab lab(37, 3, 0, 0);
  lab.create();
  RebalanceOptions o;
  o.weights = {{lab.id("n1").substr(0, 12), 2.0f}};  // a unique prefix is enough, as in redis-cli
  o.simulate = true;
  auto r = rebalance(lab.ctx(), lab.ep("n2"), o);
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(r->needed);
  CHECK(r->total_weight == 4.0f);
  // n1 should have 16384/4*2 = 8192 (2731 more), the others 4096: n2 gives 1366, n3 1365.
  REQUIRE(r->transfers.size() == 2);
  CHECK(r->transfers[0].source_id == lab.id("n2"));
  CHECK(r->transfers[0].target_id == lab.id("n1"));
  CHECK(r->transfers[0].slots == 1366);
  CHECK(r->transfers[1].source_id == lab.id("n3"));
  CHECK(r->transfers[1].slots == 1365);
  CHECK(lab.logged(">>> Rebalancing across 3 nodes. Total weight = 4.00"));
  CHECK(lab.logged(std::string(1366, '#')));

  RebalanceOptions bad;
  bad.weights = {{"zzzz", 1.0f}};
  auto r2 = rebalance(lab.ctx(), lab.ep("n2"), bad);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message == "*** No such master node zzzz");
}
