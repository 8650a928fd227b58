// The scenario library (scenarios/*.json, scenarios/README.md "The library"): every scenario
// passes its checks with seed 1 in the default suite, and for seeds 1..20 in the swarm (hidden
// tag [.swarm], CTest label `swarm`), with no unexplained lost write. Each file says in its
// description what it teaches, and a few figures each one is about are checked here.
#include <catch2/catch.hpp>

#include <filesystem>

#include <fmt/format.h>

#include "harness/runner.hpp"
#include "harness/sim_world.hpp"

using namespace slotlab;
using namespace slotlab::harness;

namespace {

const std::vector<std::string>& library() {
  static const std::vector<std::string> names = {
      "kill-master-and-replica", "manual-failover", "partition-majority", "flapping-link",     "replica-migration",
      "rolling-restart",         "add-remove-node", "node-timeout-sweep", "lossy-links",       "lost-votes",
      "failed-disk-primary",     "grow-and-shrink"};
  return names;
}

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

void require_passed(const std::string& name, std::uint64_t seed, const RunResult& r) {
  INFO(fmt::format("reproduce with: slotlab run scenarios/{}.json --seed {}\n{}", name, seed, summary_text(r)));
  REQUIRE(r.passed);
  if (r.lost_writes) REQUIRE(r.lost_writes->lost_unexplained == 0);
}

}  // namespace

TEST_CASE("library: every file in scenarios/ parses, and the library lists the new ones", "[scenarios][library][scenario]") {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(SLOTLAB_SOURCE_DIR) + "/scenarios")) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() != ".json" || name == "schema.json") continue;
    auto sc = load_scenario_file(entry.path().string());
    INFO(name << ": " << (sc ? "" : sc.error().message));
    CHECK(sc.ok());
    ++n;
  }
  CHECK(n >= static_cast<int>(library().size()) + 6);
}

TEST_CASE("library: every scenario says what it teaches and passes with seed 1", "[scenarios][library]") {
  for (const auto& name : library()) {
    Scenario sc = load(name);
    CHECK(sc.name == name);
    CHECK(sc.description.find("Teaches: ") != std::string::npos);
    require_passed(name, 1, run(sc, 1));
  }
}

TEST_CASE("library: node-timeout-sweep's failovers take longer with a longer node timeout", "[scenarios][library]") {
  RunResult r = run(load("node-timeout-sweep"), 1);
  require_passed("node-timeout-sweep", 1, r);
  REQUIRE(r.failovers.size() == 5);
  const Millis timeouts[] = {1000, 2000, 5000, 10000, 15000};
  for (std::size_t i = 0; i < 5; ++i) {
    const FailoverRecord& f = r.failovers[i];
    INFO("failover " << i << " with node-timeout " << timeouts[i]);
    REQUIRE(f.first_pfail_ms);
    REQUIRE(f.promotion_ms);
    // PFAIL after more than node-timeout without a pong; promoted within node-timeout plus a
    // FAIL round (at most node-timeout more) and the election delay (< 2 s with rank 0).
    CHECK(*f.first_pfail_ms > timeouts[i]);
    CHECK(*f.promotion_ms < 2 * timeouts[i] + 2500);
    if (i > 0) CHECK(*f.promotion_ms > *r.failovers[i - 1].promotion_ms);
  }
}

TEST_CASE("library: the minority side of partition-majority loses only what the spec allows", "[scenarios][library]") {
  RunResult r = run(load("partition-majority"), 1);
  require_passed("partition-majority", 1, r);
  REQUIRE(r.failovers.size() == 2);
  for (const auto& f : r.failovers) CHECK(f.promotion_ms.has_value());
  REQUIRE(r.lost_writes);
  CHECK(r.lost_writes->lost == r.lost_writes->lost_permitted);
}

TEST_CASE("library scenarios pass for seeds 1..20", "[.swarm][library]") {
  for (const auto& name : library()) {
    Scenario sc = load(name);
    for (std::uint64_t seed = 1; seed <= 20; ++seed) require_passed(name, seed, run(sc, seed));
  }
}
