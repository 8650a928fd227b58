// How much simulated time one wall-clock second buys (issue 2's benchmark).
//
//   bench/sim_speed [--idle-seconds S] [--seeds N] [--scenario PATH]
//
// 1. Idle 3+3 cluster: create it with the scenario runner, then let it run S simulated seconds
//    with nobody polling it: the cost of the cluster bus itself (pings, pongs, gossip, crons,
//    replication pings and ACKs).
// 2. The segfault-master scenario end to end, seeds 1..N, harness polling included.
// Prints a table; wall time is measured with steady_clock around the simulation only.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/runner.hpp"
#include "harness/sim_world.hpp"

using namespace slotlab;
using namespace slotlab::harness;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
  std::int64_t idle_seconds = 600;
  int seeds = 20;
  std::string scenario_path = std::string(SLOTLAB_SOURCE_DIR) + "/scenarios/segfault-master.json";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--idle-seconds" && i + 1 < argc) {
      idle_seconds = std::stoll(argv[++i]);
    } else if (a == "--seeds" && i + 1 < argc) {
      seeds = std::stoi(argv[++i]);
    } else if (a == "--scenario" && i + 1 < argc) {
      scenario_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: sim_speed [--idle-seconds S] [--seeds N] [--scenario PATH]\n");
      return 2;
    }
  }
  auto sc = load_scenario_file(scenario_path);
  if (!sc) {
    std::fprintf(stderr, "%s\n", sc.error().message.c_str());
    return 2;
  }

  // 1. Idle cluster.
  Scenario setup = *sc;
  setup.steps.clear();
  for (const auto& st : sc->steps) {
    if (st.action == "create" || (st.action == "wait-until" && st.node.empty())) {
      setup.steps.push_back(st);
    } else {
      break;
    }
  }
  setup.final_checks.clear();
  SimWorld world(1);
  RunResult setup_result = run_scenario(setup, world, 1);
  if (!setup_result.passed) {
    std::fprintf(stderr, "setup failed: %s\n", setup_result.failure.c_str());
    return 1;
  }
  std::uint64_t events_before = world.simulator().events_processed();
  auto t0 = std::chrono::steady_clock::now();
  world.simulator().run_for(idle_seconds * 1'000'000);
  double idle_wall = seconds_since(t0);
  std::uint64_t idle_events = world.simulator().events_processed() - events_before;

  // 2. The scenario over seeds.
  double total_wall = 0;
  double total_sim = 0;
  int passed = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    SimWorld w(static_cast<std::uint64_t>(seed));
    auto t1 = std::chrono::steady_clock::now();
    RunResult r = run_scenario(*sc, w, static_cast<std::uint64_t>(seed));
    total_wall += seconds_since(t1);
    total_sim += static_cast<double>(r.world_time_ms) / 1000.0;
    if (r.passed) ++passed;
  }

  fmt::print("| run | simulated s | wall s | simulated s per wall s | events |\n");
  fmt::print("|---|---|---|---|---|\n");
  fmt::print("| idle 3+3 cluster, node-timeout {} ms | {} | {:.3f} | {:.0f}x | {} |\n",
             sc->topology.config.count("cluster-node-timeout") ? sc->topology.config.at("cluster-node-timeout") : "default",
             idle_seconds, idle_wall, static_cast<double>(idle_seconds) / idle_wall, idle_events);
  fmt::print("| {} seeds 1..{} ({} passed) | {:.1f} | {:.3f} | {:.0f}x | |\n", sc->name, seeds, passed, total_sim,
             total_wall, total_sim / total_wall);
  return passed == seeds ? 0 : 1;
}
