// Admin operations as scenario steps: validation names the JSON path, node names are resolved to
// ids when the step runs, the example scenario passes, runs are deterministic, and a refused
// operation fails the run with the node and what it answered.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "harness/runner.hpp"
#include "harness/sim_world.hpp"

using namespace slotlab;
using namespace slotlab::harness;
using nlohmann::json;

namespace {

json base_doc() {
  return json::parse(R"({
    "name": "admin", "topology": {"primaries": 3, "replicas": 0, "spares": 2, "config": {"cluster-node-timeout": 2000}},
    "steps": [{"do": "create"}, {"do": "wait-until", "condition": "healthy", "timeout_ms": 60000}]
  })");
}

RunResult run_doc(const json& doc, std::uint64_t seed) {
  auto sc = parse_scenario(doc);
  INFO((sc.ok() ? std::string() : sc.error().message));
  REQUIRE(sc.ok());
  SimWorld world(seed);
  return run_scenario(*sc, world, seed);
}

const StepOutcome* step_of(const RunResult& r, const std::string& label) {
  for (const auto& s : r.steps)
    if (s.label == label) return &s;
  return nullptr;
}

}  // namespace

TEST_CASE("admin steps are validated with the path of the field", "[admin][scenario]") {
  auto expect_error = [](const json& step, const std::string& needle) {
    json d = base_doc();
    d["steps"].push_back(step);
    auto r = parse_scenario(d);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().message.find(needle) != std::string::npos);
  };
  expect_error({{"do", "reshard"}, {"from", "all"}, {"slots", 10}}, "$.steps[2].to: missing");
  expect_error({{"do", "reshard"}, {"from", "all"}, {"to", "n4"}, {"slots", 0}},
               "$.steps[2].slots: expected an integer between 1 and 16384, got 0");
  expect_error({{"do", "reshard"}, {"from", json::array({"n1", "n9"})}, {"to", "n4"}, {"slots", 1}},
               "$.steps[2].from[1]: node n9 does not exist (n1..n5)");
  expect_error({{"do", "reshard"}, {"from", 3}, {"to", "n4"}, {"slots", 1}},
               "$.steps[2].from: expected a node selector, \"all\" or a non-empty array");
  expect_error({{"do", "reshard"}, {"from", "all"}, {"to", "primary"}, {"slots", 1}},
               "$.steps[2].to: bad node selector 'primary'");
  expect_error({{"do", "reshard"}, {"from", "all"}, {"to", "n4"}, {"slots", 1}, {"yes", true}},
               "$.steps[2].yes: unknown field");
  expect_error({{"do", "add-node"}}, "$.steps[2].node: missing");
  expect_error({{"do", "add-node"}, {"node", "n4"}, {"replica-of", "n6"}}, "$.steps[2].replica-of: node n6 does not exist");
  expect_error({{"do", "del-node"}, {"node", "n6"}}, "$.steps[2].node: node n6 does not exist (n1..n5)");
  expect_error({{"do", "call"}, {"args", json::array()}}, "$.steps[2].args: missing or not a non-empty array");
  expect_error({{"do", "call"}, {"args", json::array({"PING", 1})}}, "$.steps[2].args[1]: expected a string, got number");
  expect_error({{"do", "call"}, {"args", json::array({"PING"})}, {"only", "masters"}},
               "$.steps[2].only: expected \"primaries\" or \"replicas\", got 'masters'");
  expect_error({{"do", "set-timeout"}, {"ms", 50}}, "$.steps[2].ms: expected an integer between 100 and");
  expect_error({{"do", "rebalance"}, {"weights", {{"n1", "heavy"}}}}, "$.steps[2].weights.n1: expected a number >= 0");
  expect_error({{"do", "rebalance"}, {"simulate", "yes"}}, "$.steps[2].simulate: expected true or false, got string");
  expect_error({{"do", "fix"}, {"slots", 3}}, "$.steps[2].slots: unknown field");
  expect_error({{"do", "cluster-check"}, {"via", "n0"}}, "$.steps[2].via: node n0 does not exist");
  expect_error({{"do", "reshard"}, {"from", "all"}, {"to", "n4"}, {"slots", 1}, {"pipeline", 0}},
               "$.steps[2].pipeline: expected an integer between 1 and");

  json ok = base_doc();
  for (const char* step :
       {R"({"do": "add-node", "node": "n4"})", R"({"do": "add-node", "node": "n5", "replica-of": "any"})",
        R"({"do": "reshard", "from": ["n1", "n2"], "to": "n4", "slots": 10, "pipeline": 5, "timeout_ms": 1000, "replace": true})",
        R"({"do": "rebalance", "weights": {"n1": 2, "n4": 0.5}, "use-empty-masters": true, "threshold": 1.5, "simulate": true})",
        R"({"do": "fix", "search-multiple-owners": true, "fix-with-unreachable-masters": false, "via": "n2"})",
        R"({"do": "cluster-check", "search-multiple-owners": false})", R"({"do": "cluster-info"})",
        R"({"do": "call", "args": ["PING"], "only": "replicas"})", R"({"do": "set-timeout", "ms": 3000})",
        R"({"do": "del-node", "node": "n5"})"})
    ok["steps"].push_back(json::parse(step));
  auto r = parse_scenario(ok);
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  CHECK(r->steps[4].admin.from == std::vector<std::string>{"n1", "n2"});
  CHECK(r->steps[5].admin.weights.size() == 2);
  CHECK(r->steps[5].admin.threshold == 1.5);
  CHECK(r->steps[3].admin.replica_of == "any");
}

TEST_CASE("the grow-and-shrink scenario passes", "[admin][scenario]") {
  auto sc = load_scenario_file(std::string(SLOTLAB_SOURCE_DIR) + "/scenarios/grow-and-shrink.json");
  REQUIRE(sc.ok());
  SimWorld world(1);
  RunResult r = run_scenario(*sc, world, 1);
  INFO(fmt::format("reproduce with: slotlab run scenarios/grow-and-shrink.json --seed 1\n{}", summary_text(r)));
  REQUIRE(r.passed);
  const StepOutcome* rebalance = step_of(r, "what rebalance would move");
  REQUIRE(rebalance != nullptr);
  // 1000 on n4 of the 4096 it should have: 3096 more, 1032 from each of the others.
  CHECK(rebalance->detail.find("would move 3096 slot(s): 1032 ") == 0);
  CHECK_FALSE(rebalance->log.empty());
  const StepOutcome* drain = step_of(r, "drain n4");
  REQUIRE(drain != nullptr);
  CHECK(drain->detail == "moved 1000 slot(s) and 0 key(s) to n2 (1000 from n4)");
}

TEST_CASE("admin steps in a scenario: names resolved, logs kept, deterministic", "[admin][scenario]") {
  json d = base_doc();
  for (const char* step :
       {R"({"do": "add-node", "node": "n4", "label": "add"})",
        R"({"do": "add-node", "node": "n5", "replica-of": "any", "label": "add-replica"})",
        R"({"do": "reshard", "from": ["n2"], "to": "n4", "slots": 5, "label": "reshard"})",
        R"({"do": "rebalance", "weights": {"n1": 2}, "simulate": true, "label": "simulate"})",
        R"({"do": "call", "args": ["PING"], "only": "primaries", "via": "n3", "label": "call"})",
        R"({"do": "set-timeout", "ms": 3000, "label": "timeout"})",
        R"({"do": "cluster-info", "label": "info"})",
        R"({"do": "fix", "label": "fix"})",
        R"({"do": "cluster-check", "label": "check"})"})
    d["steps"].push_back(json::parse(step));
  d["final_checks"] = {"all-reachable", "slot-coverage", "agreement", "single-owner"};
  RunResult a = run_doc(d, 7);
  INFO(summary_text(a));
  REQUIRE(a.passed);
  CHECK(step_of(a, "add")->detail == "n4 joined as a primary");
  CHECK(step_of(a, "add")->node == "n4");
  // No primary has a replica: the first loaded primary (the entry, n1) gets it.
  CHECK(step_of(a, "add-replica")->detail == "n5 joined as a replica of n1");
  CHECK(step_of(a, "reshard")->detail == "moved 5 slot(s) and 0 key(s) to n4 (5 from n2)");
  CHECK(step_of(a, "simulate")->detail.find("would move") == 0);
  CHECK(step_of(a, "call")->detail.find("PONG") != std::string::npos);
  CHECK(step_of(a, "call")->log.front() == ">>> Calling PING");
  CHECK(step_of(a, "timeout")->detail.find("cluster-node-timeout 3000 ms:") == 0);
  CHECK(step_of(a, "info")->detail == "0 keys in 4 primaries");
  CHECK(step_of(a, "fix")->detail == "0 open slot(s) fixed, 0 slot(s) covered, 0 multiple-owner slot(s) fixed");
  RunResult b = run_doc(d, 7);
  REQUIRE(a.trace_hash);
  CHECK(*a.trace_hash == *b.trace_hash);
  CHECK(to_json(a, false).dump() == to_json(b, false).dump());
}

TEST_CASE("a refused admin step fails the run and says which node answered what", "[admin][scenario]") {
  json d = base_doc();
  d["steps"].push_back({{"do", "del-node"}, {"node", "n2"}});
  RunResult r = run_doc(d, 3);
  CHECK_FALSE(r.passed);
  CHECK(r.aborted);
  INFO(r.failure);
  CHECK(r.failure.find("$.steps[2]: del-node failed: [ERR] Node 10.0.0.3:6379 is not empty! Reshard data away and try again.") == 0);

  json d2 = base_doc();
  d2["steps"].push_back({{"do", "reshard"}, {"from", "n4"}, {"to", "n1"}, {"slots", 1}});
  RunResult r2 = run_doc(d2, 3);
  CHECK_FALSE(r2.passed);
  INFO(r2.failure);
  // n4 is a spare that never joined: the cluster does not know its id.
  CHECK(r2.failure.find("$.steps[2]: reshard failed: *** The specified node (") == 0);
  CHECK(r2.failure.find("is not known or not a master") != std::string::npos);
}
