// fix on a simulated cluster: slots left half-open by hand with SETSLOT are closed the way
// clusterManagerFixOpenSlot closes them (its cases 1 to 4), with its commands; uncovered slots
// are covered with the MULTI/DELSLOTS/ADDSLOTS/BUMPEPOCH/EXEC transaction; unreachable primaries
// make fix refuse.
#include "admin_lab.hpp"

using namespace slotlab;
using namespace slotlab::harness;
using slotlab::harness::testing::AdminLab;
using slotlab::harness::testing::require_same_commands;

namespace {

// What fix sends before any repair: the load, DBSIZE on each primary, the signatures.
std::vector<std::string> check_prefix(AdminLab& lab, const std::vector<std::string>& order) {
  std::vector<std::string> want = AdminLab::load_commands(order);
  for (const auto& n : order)
    if (!lab.is_replica(n)) want.push_back(n + ": DBSIZE");
  for (const auto& n : order) want.push_back(n + ": CLUSTER NODES");
  return want;
}

// The two scans of clusterManagerFixOpenSlot: COUNTKEYSINSLOT on every primary that does not
// own the slot, then on every primary that neither has it open nor is the single owner.
void append_scans(std::vector<std::string>& want, const std::vector<std::string>& order, int slot,
                  const std::string& owner, const std::vector<std::string>& open_on) {
  for (const auto& n : order)
    if (n != owner) want.push_back(fmt::format("{}: CLUSTER COUNTKEYSINSLOT {}", n, slot));
  for (const auto& n : order) {
    if (n == owner || std::find(open_on.begin(), open_on.end(), n) != open_on.end()) continue;
    want.push_back(fmt::format("{}: CLUSTER COUNTKEYSINSLOT {}", n, slot));
  }
}

bool slot_open_anywhere(AdminLab& lab, const std::vector<std::string>& names, int slot) {
  for (const auto& n : names) {
    auto r = lab.send(n, {"CLUSTER", "NODES"});
    if (r.str.find(fmt::format("[{}-", slot)) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("fix case 4: a slot left migrating on its owner is closed", "[admin]") {
  AdminLab lab(41, 3, 0, 0);
  lab.create();
  lab.must("n1", {"CLUSTER", "SETSLOT", "100", "MIGRATING", lab.id("n2")});
  auto order = lab.load_order("n1");
  lab.record();
  auto r = fix_cluster(lab.ctx(), lab.ep("n1"));
  auto sent = lab.stop_recording();
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(r->ok);
  CHECK(r->fixed_open_slots == std::vector<int>{100});
  CHECK(r->found.open_slots == std::vector<int>{100});
  CHECK_FALSE(r->found.ok);
  auto want = check_prefix(lab, order);
  append_scans(want, order, 100, "n1", {"n1"});
  want.push_back("n1: CLUSTER SETSLOT 100 STABLE");
  require_same_commands(sent, want);
  CHECK(lab.logged(">>> Fixing open slot 100"));
  CHECK(lab.logged(fmt::format("Set as migrating in: {}", lab.ep("n1").str())));
  CHECK(lab.logged(fmt::format(">>> Case 4: Closing slot 100 on {}", lab.ep("n1").str())));
  CHECK_FALSE(slot_open_anywhere(lab, {"n1", "n2", "n3"}, 100));
  CHECK(lab.owns("n1", 100));
  auto check = check_cluster(lab.ctx(), lab.ep("n2"));
  REQUIRE(check.ok());
  CHECK(check->ok);
}

TEST_CASE("fix case 2: a slot left importing on a non-owner is closed and its owner confirmed", "[admin]") {
  AdminLab lab(42, 3, 0, 0);
  lab.create();
  lab.must("n3", {"CLUSTER", "SETSLOT", "200", "IMPORTING", lab.id("n1")});
  auto order = lab.load_order("n2");
  lab.record();
  auto r = fix_cluster(lab.ctx(), lab.ep("n2"));
  auto sent = lab.stop_recording();
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(r->ok);
  auto want = check_prefix(lab, order);
  append_scans(want, order, 200, "n1", {"n3"});
  // Cold move of n3's keys to the owner (none), SETSLOT STABLE on n3, then SETSLOT NODE <owner>
  // on every other primary.
  want.push_back("n3: CLUSTER GETKEYSINSLOT 200 10");
  want.push_back("n3: CLUSTER SETSLOT 200 STABLE");
  for (const auto& n : order)
    if (n != "n1") want.push_back(fmt::format("{}: CLUSTER SETSLOT 200 NODE <n1>", n));
  require_same_commands(sent, want);
  CHECK(lab.logged(fmt::format(">>> Case 2: Moving all the 200 slot keys to its owner {}", lab.ep("n1").str())));
  CHECK_FALSE(slot_open_anywhere(lab, {"n1", "n2", "n3"}, 200));
  CHECK(lab.owns("n1", 200));
}

TEST_CASE("fix case 1: a half-finished move is completed towards the importing node", "[admin]") {
  AdminLab lab(43, 3, 0, 0);
  lab.create();
  lab.must("n2", {"CLUSTER", "SETSLOT", "100", "IMPORTING", lab.id("n1")});
  lab.must("n1", {"CLUSTER", "SETSLOT", "100", "MIGRATING", lab.id("n2")});
  auto order = lab.load_order("n3");
  lab.record();
  auto r = fix_cluster(lab.ctx(), lab.ep("n3"));
  auto sent = lab.stop_recording();
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(r->ok);
  auto want = check_prefix(lab, order);
  append_scans(want, order, 100, "n1", {"n1", "n2"});
  // clusterManagerMoveSlot n1 -> n2: IMPORTING, MIGRATING, keys, NODE on target, source, others.
  want.push_back("n2: CLUSTER SETSLOT 100 importing <n1>");
  want.push_back("n1: CLUSTER SETSLOT 100 migrating <n2>");
  want.push_back("n1: CLUSTER GETKEYSINSLOT 100 10");
  want.push_back("n2: CLUSTER SETSLOT 100 node <n2>");
  want.push_back("n1: CLUSTER SETSLOT 100 node <n2>");
  want.push_back("n3: CLUSTER SETSLOT 100 node <n2>");
  require_same_commands(sent, want);
  CHECK(lab.logged(fmt::format(">>> Case 1: Moving slot 100 from {} to {}", lab.ep("n1").str(), lab.ep("n2").str())));
  CHECK(lab.wait_agree({"n1", "n2", "n3"}));
  CHECK(lab.owns("n2", 100));
  CHECK_FALSE(lab.owns("n1", 100));
  CHECK_FALSE(slot_open_anywhere(lab, {"n1", "n2", "n3"}, 100));
}

TEST_CASE("fix case 3: migrating to one of several importing nodes", "[admin]") {
  AdminLab lab(44, 4, 0, 0);
  lab.create();
  lab.must("n2", {"CLUSTER", "SETSLOT", "100", "IMPORTING", lab.id("n1")});
  lab.must("n3", {"CLUSTER", "SETSLOT", "100", "IMPORTING", lab.id("n1")});
  lab.must("n1", {"CLUSTER", "SETSLOT", "100", "MIGRATING", lab.id("n3")});
  auto r = fix_cluster(lab.ctx(), lab.ep("n1"));
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(r->ok);
  CHECK(lab.logged(fmt::format(">>> Case 3: Moving slot 100 from {} to {} and closing it on all the other importing nodes.",
                               lab.ep("n1").str(), lab.ep("n3").str())));
  CHECK(lab.wait_agree({"n1", "n2", "n3", "n4"}));
  CHECK(lab.owns("n3", 100));
  CHECK_FALSE(slot_open_anywhere(lab, {"n1", "n2", "n3", "n4"}, 100));
}

TEST_CASE("fix refuses to cover slots while a primary is unreachable", "[admin]") {
  AdminLab lab(45, 3, 0, 0);
  lab.create();
  REQUIRE(lab.world().kill("n3").ok());
  lab.pool().drop(lab.ep("n3"));
  auto r = fix_cluster(lab.ctx(), lab.ep("n1"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("*** Fixing slots coverage with 1 unreachable masters is dangerous") == 0);
  CHECK(r.error().message.find("--cluster-fix-with-unreachable-masters") != std::string::npos);
}

TEST_CASE("fix covers an uncovered slot with MULTI/DELSLOTS/ADDSLOTS/BUMPEPOCH/EXEC", "[admin]") {
  AdminLab lab(46, 3, 0, 0);
  lab.create();
  lab.must("n1", {"CLUSTER", "DELSLOTS", "7"});
  auto order = lab.load_order("n1");
  lab.record();
  auto r = fix_cluster(lab.ctx(), lab.ep("n1"));
  auto sent = lab.stop_recording();
  INFO(lab.log_text());
  REQUIRE(r.ok());
  CHECK(r->ok);
  REQUIRE(r->covered_slots == std::vector<int>{7});
  CHECK(lab.logged("The following uncovered slots have no keys across the cluster:"));
  CHECK(lab.logged("[7]"));
  // The signature check stops at the first node that disagrees with the first one (n1).
  std::vector<std::string> want = AdminLab::load_commands(order);
  for (const auto& n : order) want.push_back(n + ": DBSIZE");
  want.push_back(order[0] + ": CLUSTER NODES");
  want.push_back(order[1] + ": CLUSTER NODES");
  for (const auto& n : order) want.push_back(n + ": CLUSTER GETKEYSINSLOT 7 1");
  // A random primary gets it (the world's seeded generator): the one the log names.
  std::string chosen;
  for (const auto& n : order)
    if (lab.logged(fmt::format(">>> Covering slot 7 with {}", lab.ep(n).str()))) chosen = n;
  REQUIRE_FALSE(chosen.empty());
  for (const char* c : {"MULTI", "CLUSTER DELSLOTS 7", "CLUSTER ADDSLOTS 7", "CLUSTER BUMPEPOCH", "EXEC"})
    want.push_back(chosen + ": " + c);
  require_same_commands(sent, want);
  lab.wait_healthy({"n1", "n2", "n3"});
  CHECK(lab.owns(chosen, 7));
}
