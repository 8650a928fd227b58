// The C++ side of issue 6's overhead figure: a 3+3 simulated cluster built by the same engine as
// the Python package (bindings/cluster_core), then run_for(60 000 ms), timed. bench/py_run_for.py
// times the same call through `import slotlab`.
//
//   build/bench/py_run_for [SEED] [REPEATS]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "bindings/cluster_core.hpp"

int main(int argc, char** argv) {
  std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
  int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  for (int i = 0; i < repeats; ++i) {
    slotlab::bindings::ClusterOptions o;
    o.seed = seed;
    auto c = slotlab::bindings::ClusterCore::create(o);
    if (!c) {
      std::fprintf(stderr, "py_run_for: %s\n", c.error().message.c_str());
      return 1;
    }
    auto t0 = std::chrono::steady_clock::now();
    (*c)->run_for(60000);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("c++ run_for(60000): %.1f ms wall (trace %016llx)\n", ms,
                static_cast<unsigned long long>(*(*c)->trace_hash()));
  }
  return 0;
}
