// RealWorld::supports is a whitelist: the step kinds real processes can be put through are
// accepted, everything else — partitions and any step kind added for the simulator later — is
// refused before a run starts anything.
#include <catch2/catch.hpp>

#include <filesystem>

#include "harness/real_world.hpp"
#include "harness/runner.hpp"
#include "harness/scenario.hpp"

using namespace slotlab;
using namespace slotlab::harness;

namespace {
RealWorldOptions options(const std::string& dir) {
  RealWorldOptions o;
  o.server = "/nonexistent/slotlab-node";  // if anything were started, it would fail differently
  o.work_dir = dir;
  o.base_port = 21990;
  return o;
}
}  // namespace

TEST_CASE("the real world accepts only the step kinds it implements", "[runner][real]") {
  auto dir = std::filesystem::temp_directory_path() / "slotlab-test-supports";
  std::filesystem::remove_all(dir);
  RealWorld world(1, options(dir.string()));
  for (const char* ok : {"create", "wait-until", "sleep", "check", "crash", "kill", "restart", "pause", "resume",
                         "failover", "load-keys", "start-workload", "stop-workload", "reshard", "add-node",
                         "del-node", "rebalance", "fix", "cluster-check", "cluster-info", "call", "set-timeout",
                         "set-config"}) {
    INFO(ok);
    CHECK(world.supports(ok));
  }
  // Sim-only kinds, present and future: refused by default.
  for (const char* no : {"partition", "heal", "link-delay", "link-drop", "clock-skew", "disk-fault",
                         "drop-bus-messages", "delay", "jitter", "drop-rate", "duplicate", "reorder", "clock-jump",
                         "clear-faults", "", "CREATE", "some-new-step"}) {
    INFO(no);
    CHECK_FALSE(world.supports(no));
  }
  // Every whitelisted kind is one the scenario parser knows (no typo can hide in the list).
  for (const std::string& a : RealWorld::supported_actions()) {
    INFO(a);
    nlohmann::json doc = {{"name", "t"},
                          {"topology", {{"primaries", 3}, {"replicas", 1}}},
                          {"steps", nlohmann::json::array({{{"do", a}}})}};
    auto parsed = parse_scenario(doc);
    // The step may lack its arguments here; it must not be an unknown kind.
    if (!parsed) CHECK(parsed.error().message.find("unknown action") == std::string::npos);
  }
  nlohmann::json bogus = {{"name", "t"},
                          {"topology", {{"primaries", 3}, {"replicas", 1}}},
                          {"steps", nlohmann::json::array({{{"do", "no-such-step"}}})}};
  auto parsed = parse_scenario(bogus);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().message.find("unknown action") != std::string::npos);  // the check above can fail
  std::filesystem::remove_all(dir);
}

TEST_CASE("a scenario with a step the real world cannot do is refused before anything starts", "[runner][real]") {
  auto dir = std::filesystem::temp_directory_path() / "slotlab-test-supports-run";
  std::filesystem::remove_all(dir);
  Scenario sc;
  sc.name = "mixed";
  sc.topology.primaries = 3;
  sc.topology.replicas = 1;
  Step create;
  create.action = "create";
  create.path = "$.steps[0]";
  Step future;
  future.action = "clock-skew";  // a simulator-only kind (possibly not even parsed yet)
  future.path = "$.steps[1]";
  sc.steps = {create, future};
  RealWorld world(1, options(dir.string()));
  RunResult r = run_scenario(sc, world, 1);
  CHECK(r.aborted);
  CHECK_FALSE(r.passed);
  CHECK(r.failure == "$.steps[1]: the real world cannot perform 'clock-skew' steps; nothing was started");
  CHECK(r.steps.empty());
  // No node directory was created: nothing started.
  bool any_node_dir = false;
  if (std::filesystem::exists(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir)) any_node_dir = any_node_dir || e.is_directory();
  CHECK_FALSE(any_node_dir);
  std::filesystem::remove_all(dir);
}
