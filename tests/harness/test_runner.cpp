// The scenario runner in the simulator: the segfault scenario passes, the same seed reproduces the
// run byte for byte, a different seed changes it, and bad scenario files are refused with the
// path of the offending field.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "harness/runner.hpp"
#include "harness/sim_world.hpp"

using namespace slotlab;
using namespace slotlab::harness;

namespace {
Scenario segfault_scenario() {
  auto sc = load_scenario_file(std::string(SLOTLAB_SOURCE_DIR) + "/scenarios/segfault-master.json");
  REQUIRE(sc.ok());
  return *sc;
}

RunResult run(std::uint64_t seed) {
  Scenario sc = segfault_scenario();
  SimWorld world(seed);
  return run_scenario(sc, world, seed);
}
}  // namespace

TEST_CASE("segfault-master fails over and the crashed node rejoins as a replica", "[runner]") {
  for (std::uint64_t seed : {1, 2, 3, 4, 5}) {
    RunResult r = run(seed);
    INFO(summary_text(r));
    REQUIRE(r.passed);
    REQUIRE(r.failovers.size() == 1);
    const FailoverRecord& f = r.failovers[0];
    // Stages in order, and within Redis's rules: PFAIL needs more than node-timeout (2000 ms)
    // without an answer; the election waits at least 500 ms after FAIL.
    REQUIRE(f.first_pfail_ms);
    REQUIRE(f.fail_ms);
    REQUIRE(f.election_start_ms);
    REQUIRE(f.promotion_ms);
    REQUIRE(f.all_ok_ms);
    CHECK(*f.first_pfail_ms > 2000);
    CHECK(*f.fail_ms >= *f.first_pfail_ms);
    CHECK(*f.election_start_ms >= *f.fail_ms + 500);
    CHECK(*f.promotion_ms >= *f.election_start_ms);
    CHECK(*f.all_ok_ms >= *f.promotion_ms);
    CHECK(f.votes >= 2);  // a majority of the 3 primaries... of which one is dead: both others
    CHECK_FALSE(f.promoted_node.empty());
    CHECK(f.promoted_node != f.failed_node);
  }
}

TEST_CASE("the same seed gives the same run, a different seed a different one", "[runner][determinism]") {
  RunResult a = run(11);
  RunResult b = run(11);
  RunResult c = run(12);
  REQUIRE(a.trace_hash);
  CHECK(*a.trace_hash == *b.trace_hash);
  CHECK(to_json(a, true).dump() == to_json(b, true).dump());
  CHECK(*a.trace_hash != *c.trace_hash);
}

TEST_CASE("bad scenario files are refused with the path of the field", "[runner][scenario]") {
  using nlohmann::json;
  auto base = json::parse(R"({
    "name": "x", "topology": {"primaries": 3, "replicas": 1},
    "steps": [{"do": "create"}, {"do": "wait-until", "condition": "healthy", "timeout_ms": 1000}]
  })");
  REQUIRE(parse_scenario(base).ok());

  auto expect_error = [&](json doc, const std::string& needle) {
    auto r = parse_scenario(doc);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().message.find(needle) != std::string::npos);
  };
  {
    json d = base;
    d["steps"][1]["timeout_ms"] = -5;
    expect_error(d, "$.steps[1].timeout_ms: expected an integer between 1 and");
  }
  {
    json d = base;
    d["steps"][1]["condition"] = "sunny";
    expect_error(d, "$.steps[1].condition: unknown condition 'sunny'");
  }
  {
    json d = base;
    d["steps"][0]["do"] = "explode";
    expect_error(d, "$.steps[0].do: unknown action 'explode'");
  }
  {
    json d = base;
    d["topology"]["config"] = {{"cluster-node-timeot", 2000}};
    expect_error(d, "$.topology.config.cluster-node-timeot: unknown configuration directive");
  }
  {
    json d = base;
    d["topology"]["config"] = {{"cluster-node-timeout", "soon"}};
    expect_error(d, "$.topology.config.cluster-node-timeout: argument couldn't be parsed into an integer");
  }
  {
    json d = base;
    d["steps"].push_back({{"do", "crash"}, {"node", "n9"}});
    expect_error(d, "$.steps[2].node: node n9 does not exist (n1..n6)");
  }
  {
    json d = base;
    d["steps"].push_back({{"do", "crash"}, {"node", "the-primary"}});
    expect_error(d, "$.steps[2].node: bad node selector 'the-primary'");
  }
  {
    json d = base;
    d["topology"].erase("primaries");
    expect_error(d, "$.topology.primaries: missing");
  }
  {
    json d = base;
    d["stepz"] = json::array();
    expect_error(d, "$.stepz: unknown field");
  }
  expect_error(json::array(), "$: expected an object");
}

TEST_CASE("a step that cannot complete fails the run and says why", "[runner]") {
  Scenario sc = segfault_scenario();
  sc.steps.resize(2);
  // A replica cannot be "failed over": it served no slots when it crashed.
  Step crash;
  crash.action = "kill";
  crash.node = "n6";
  crash.path = "$.steps[2]";
  Step wait;
  wait.action = "wait-until";
  wait.condition = "failed-over";
  wait.node = "@last";
  wait.timeout_ms = 3000;
  wait.path = "$.steps[3]";
  sc.steps.push_back(crash);
  sc.steps.push_back(wait);
  SimWorld world(1);
  RunResult r = run_scenario(sc, world, 1);
  CHECK_FALSE(r.passed);
  CHECK(r.aborted);
  CHECK(r.failure.find("$.steps[3]: 'failed-over n6' not reached within 3000 ms") != std::string::npos);
}

TEST_CASE("segfault-master passes for seeds 1..50", "[runner][seeds]") {
  Scenario sc = segfault_scenario();
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    SimWorld world(seed);
    RunResult r = run_scenario(sc, world, seed);
    INFO(fmt::format("reproduce with: slotlab run scenarios/segfault-master.json --seed {}\n{}", seed, summary_text(r)));
    REQUIRE(r.passed);
  }
}
