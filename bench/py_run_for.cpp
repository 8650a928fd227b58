// The C++ side of issue 6's overhead figure: a 3+3 simulated cluster built by the same engine as
// the Python package (bindings/cluster_core), then run_for(60 000 ms), timed. bench/py_run_for.py
// times the same call through `import slotlab`; both print the trace hash, which must match.
//
//   build/bench/py_run_for [SEED] [REPEATS] [MS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bindings/cluster_core.hpp"

int main(int argc, char** argv) {
  std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
  int repeats = argc > 2 ? std::atoi(argv[2]) : 20;
  slotlab::Millis run_ms = argc > 3 ? std::atoll(argv[3]) : 60000;
  std::vector<double> wall;
  std::uint64_t hash = 0;
  for (int i = 0; i < std::max(repeats, 1); ++i) {
    slotlab::bindings::ClusterOptions o;
    o.seed = seed;
    auto c = slotlab::bindings::ClusterCore::create(o);
    if (!c) {
      std::fprintf(stderr, "py_run_for: %s\n", c.error().message.c_str());
      return 1;
    }
    auto t0 = std::chrono::steady_clock::now();
    (*c)->run_for(run_ms);
    wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    hash = *(*c)->trace_hash();
  }
  std::sort(wall.begin(), wall.end());
  std::printf("c++    run_for(%lld) on 3+3, seed %llu, %zu runs: min %.1f ms, median %.1f ms (trace %016llx)\n",
              static_cast<long long>(run_ms), static_cast<unsigned long long>(seed), wall.size(), wall.front(),
              wall[wall.size() / 2], static_cast<unsigned long long>(hash));
  return 0;
}
