// The slotlab command line.
//
//   slotlab run SCENARIO [--seed N] [--json] [--timeline]
//
// Exit status: 0 when every check holds, 1 when a step or a check fails, 2 for a bad scenario
// file or bad arguments (with a message naming the field).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/runner.hpp"
#include "harness/scenario.hpp"
#include "harness/sim_world.hpp"

namespace {

int usage(const char* msg = nullptr) {
  if (msg != nullptr) std::fprintf(stderr, "slotlab: %s\n\n", msg);
  std::fprintf(stderr,
               "Usage:\n"
               "  slotlab run SCENARIO.json [--seed N] [--json] [--timeline]\n"
               "      Runs a scenario in the deterministic simulator and prints a summary,\n"
               "      or with --json the result as JSON (--timeline adds every event).\n"
               "Exit status: 0 all checks hold, 1 a check or step failed, 2 bad scenario or arguments.\n");
  return 2;
}

bool parse_u64(const std::string& s, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

int cmd_run(const std::vector<std::string>& args) {
  std::string path;
  std::uint64_t seed = 1;
  bool json = false, timeline = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--seed") {
      if (i + 1 >= args.size() || !parse_u64(args[i + 1], seed)) return usage("--seed needs a non-negative integer");
      ++i;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--timeline") {
      timeline = true;
    } else if (!a.empty() && a[0] == '-') {
      return usage(fmt::format("unknown option {}", a).c_str());
    } else if (path.empty()) {
      path = a;
    } else {
      return usage("only one scenario file per run");
    }
  }
  if (path.empty()) return usage("run needs a scenario file");
  auto sc = slotlab::harness::load_scenario_file(path);
  if (!sc) {
    std::fprintf(stderr, "slotlab: bad scenario: %s\n", sc.error().message.c_str());
    return 2;
  }
  auto world = slotlab::harness::make_sim_world(seed);
  auto t0 = std::chrono::steady_clock::now();
  auto result = slotlab::harness::run_scenario(*sc, *world, seed);
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  result.wall_time_ms = wall;
  if (json) {
    std::cout << slotlab::harness::to_json(result, timeline).dump(2) << "\n";
  } else {
    std::cout << slotlab::harness::summary_text(result);
    std::cout << fmt::format("  wall-clock time {} ms ({:.0f}x real time)\n", wall,
                             wall > 0 ? static_cast<double>(result.world_time_ms) / static_cast<double>(wall) : 0.0);
  }
  return result.passed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage();
  std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "run") return cmd_run(args);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage();
    return 0;
  }
  return usage(fmt::format("unknown command '{}'", cmd).c_str());
}
