// The data-path scenarios in the simulator: the seed walkthrough and reshard-under-load lose no
// acknowledged write; the workload steps are validated; a restart without persistence loses what
// the node held, and the acknowledged-writes check says so, while appendfsync always loses nothing.
// Seeds 1..50 of both scenarios are a swarm test (hidden tag [.swarm], CTest label `swarm`).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "harness/runner.hpp"
#include "harness/sim_world.hpp"

using namespace slotlab;
using namespace slotlab::harness;

namespace {

Scenario load(const std::string& name) {
  auto sc = load_scenario_file(std::string(SLOTLAB_SOURCE_DIR) + "/scenarios/" + name + ".json");
  INFO(name << ": " << (sc ? "" : sc.error().message));
  REQUIRE(sc.ok());
  return *sc;
}

RunResult run(const Scenario& sc, std::uint64_t seed) {
  SimWorld world(seed);
  return run_scenario(sc, world, seed);
}

const StepOutcome* find_step(const RunResult& r, const std::string& action, std::size_t nth = 0) {
  for (const auto& s : r.steps)
    if (s.action == action && nth-- == 0) return &s;
  return nullptr;
}

std::string parse_error(const std::string& steps_json) {
  auto doc = nlohmann::json::parse(R"({"name": "x", "topology": {"primaries": 3}, "steps": )" + steps_json + "}");
  auto sc = parse_scenario(doc);
  return sc ? std::string() : sc.error().message;
}

}  // namespace

TEST_CASE("seed-walkthrough: every step of the article, no acknowledged write lost", "[scenarios][walkthrough]") {
  Scenario sc = load("seed-walkthrough");
  RunResult r = run(sc, 1);
  INFO(summary_text(r));
  REQUIRE(r.passed);
  const StepOutcome* reshard10 = find_step(r, "reshard", 0);
  REQUIRE(reshard10 != nullptr);
  CHECK(reshard10->detail.rfind("moved 10 slot(s)", 0) == 0);
  const StepOutcome* give = find_step(r, "reshard", 2);
  REQUIRE(give != nullptr);
  CHECK(give->detail.rfind("moved 5467 slot(s)", 0) == 0);
  const StepOutcome* mf = find_step(r, "failover");
  REQUIRE(mf != nullptr);
  CHECK(mf->ok);
  // The segfault: one failover, with every stage observed.
  REQUIRE(r.failovers.size() == 1);
  CHECK(r.failovers[0].failed_node == "n5");
  CHECK(r.failovers[0].promoted_node == "n1");
  CHECK(r.failovers[0].promotion_ms.has_value());
  REQUIRE(r.lost_writes.has_value());
  CHECK(r.lost_writes->acknowledged > 5000);
  CHECK(r.lost_writes->lost_unexplained == 0);
  CHECK(r.lost_writes->unreadable == 0);
  // Every step has a duration in simulated time, and the whole run is reproducible.
  for (const auto& s : r.steps) CHECK(s.duration_ms >= 0);
  RunResult again = run(sc, 1);
  CHECK(again.trace_hash == r.trace_hash);
}

TEST_CASE("reshard-under-load: keys move with their slots and clients lose nothing", "[scenarios]") {
  Scenario sc = load("reshard-under-load");
  RunResult r = run(sc, 1);
  INFO(summary_text(r));
  REQUIRE(r.passed);
  const StepOutcome* rs = find_step(r, "reshard");
  REQUIRE(rs != nullptr);
  CHECK(rs->detail.find("moved 2000 slot(s) and ") == 0);
  CHECK(rs->detail.find(" and 0 key(s)") == std::string::npos);
  REQUIRE(r.lost_writes.has_value());
  CHECK(r.lost_writes->lost == 0);
  CHECK(r.lost_writes->acknowledged > 20000);
  REQUIRE(r.workloads.size() == 2);
  CHECK(r.workloads[1].name == "writes");
  CHECK(r.workloads[1].failed == 0);
}

TEST_CASE("a primary restarted without persistence loses its keys; with appendfsync always it loses none",
          "[scenarios][persistence]") {
  auto scenario = [](bool aof) {
    nlohmann::json doc = {
        {"name", aof ? "restart-with-aof" : "restart-without-persistence"},
        {"topology",
         {{"primaries", 3},
          {"replicas", 0},
          {"config", aof ? nlohmann::json{{"cluster-node-timeout", 2000}, {"appendonly", "yes"}, {"appendfsync", "always"}, {"save", ""}}
                         : nlohmann::json{{"cluster-node-timeout", 2000}, {"save", ""}}}}},
        {"steps",
         {{{"do", "create"}},
          {{"do", "wait-until"}, {"condition", "healthy"}, {"timeout_ms", 60000}},
          {{"do", "load-keys"}, {"count", 3000}},
          {{"do", "kill"}, {"node", "n2"}},
          {{"do", "restart"}, {"node", "n2"}},
          {{"do", "wait-until"}, {"condition", "healthy"}, {"timeout_ms", 60000}}}},
        {"final_checks", {"slot-coverage", "acknowledged-writes"}}};
    auto sc = parse_scenario(doc);
    REQUIRE(sc.ok());
    return *sc;
  };
  RunResult lost = run(scenario(false), 3);
  INFO(summary_text(lost));
  REQUIRE(lost.lost_writes.has_value());
  CHECK(lost.lost_writes->lost > 500);  // about a third of the keys lived on n2
  CHECK(lost.lost_writes->lost < 1500);
  CHECK(lost.lost_writes->by_cause.at("unpersisted-on-restart") == lost.lost_writes->lost);

  RunResult kept = run(scenario(true), 3);
  INFO(summary_text(kept));
  REQUIRE(kept.lost_writes.has_value());
  CHECK(kept.passed);
  CHECK(kept.lost_writes->lost == 0);
  CHECK(kept.lost_writes->acknowledged == 3000);
}

TEST_CASE("partition and pause: the cut-off primary fails over; only its stale-window writes may be lost",
          "[scenarios][nemesis]") {
  RunResult part = run(load("partition-minority-primary"), 1);
  INFO(summary_text(part));
  REQUIRE(part.passed);
  REQUIRE(part.failovers.size() == 1);
  CHECK(part.failovers[0].failed_node == "n1");
  CHECK(part.failovers[0].promotion_ms.has_value());
  REQUIRE(part.lost_writes.has_value());
  CHECK(part.lost_writes->lost_unexplained == 0);
  CHECK(part.lost_writes->lost == part.lost_writes->lost_permitted);
  if (part.lost_writes->lost > 0) CHECK(part.lost_writes->by_cause.at("stale-primary") == part.lost_writes->lost);

  RunResult pause = run(load("paused-primary-returns"), 1);
  INFO(summary_text(pause));
  REQUIRE(pause.passed);
  REQUIRE(pause.failovers.size() == 1);
  CHECK(pause.failovers[0].failed_node == "n2");
  CHECK(pause.failovers[0].promotion_ms.has_value());
}

TEST_CASE("workload and failover steps are validated with the path of the field", "[scenarios][scenario]") {
  CHECK(parse_error(R"([{"do": "load-keys"}])") == "$.steps[0].count: missing (expected an integer between 1 and 10000000)");
  CHECK(parse_error(R"([{"do": "load-keys", "count": 5, "think_ms": 3}])").find("$.steps[0]") == 0);
  CHECK(parse_error(R"([{"do": "stop-workload", "name": "w"}])") == "$.steps[0].name: no earlier start-workload step named 'w'");
  CHECK(parse_error(R"([{"do": "start-workload", "name": "w"}, {"do": "start-workload", "name": "w"}])") ==
        "$.steps[1].name: workload name 'w' is already used by an earlier step");
  CHECK(parse_error(R"([{"do": "failover", "node": "n1", "mode": "gently"}])") ==
        "$.steps[0].mode: expected default, force or takeover, got 'gently'");
  CHECK(parse_error(R"([{"do": "failover"}])") == "$.steps[0].node: missing (expected a string)");
  CHECK(parse_error(R"([{"do": "start-workload", "clients": 0}])") ==
        "$.steps[0].clients: expected an integer between 1 and 1000, got 0");
  CHECK(parse_error(R"([{"do": "check", "checks": ["acknowledged-writes"]}])").empty());
  CHECK(parse_error(R"([{"do": "partition", "groups": [["n1"]]}])") ==
        "$.steps[0].groups: expected an array of at least two arrays of node selectors");
  CHECK(parse_error(R"([{"do": "partition", "groups": [["n1"], ["n1", "n2"]]}])") == "$.steps[0].groups[1][0]: n1 is in two groups");
  CHECK(parse_error(R"([{"do": "partition", "groups": [["n1"], ["x"]]}])") ==
        "$.steps[0].groups[1][0]: expected a node selector (nN, primary-of-slot:S or @last)");
  CHECK(parse_error(R"([{"do": "pause"}])") == "$.steps[0].node: missing (expected a string)");
  CHECK(parse_error(R"([{"do": "heal", "node": "n1"}])").find("$.steps[0]") == 0);
}

TEST_CASE("the data and nemesis scenarios pass for seeds 1..50", "[.swarm][scenarios]") {
  for (const char* name : {"seed-walkthrough", "reshard-under-load", "partition-minority-primary", "paused-primary-returns"}) {
    Scenario sc = load(name);
    for (std::uint64_t seed = 1; seed <= 50; ++seed) {
      RunResult r = run(sc, seed);
      INFO(fmt::format("reproduce with: slotlab run scenarios/{}.json --seed {}\n{}", name, seed, summary_text(r)));
      REQUIRE(r.passed);
      REQUIRE(r.lost_writes.has_value());
      REQUIRE(r.lost_writes->lost_unexplained == 0);
    }
  }
}
