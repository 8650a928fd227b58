// Real randomness for a real node: xoshiro256** seeded from the kernel (getrandom, i.e.
// /dev/urandom) when the process starts. Node ids, run ids and election jitter come from here.
#pragma once

#include <cstdint>

#include "node/env.hpp"

namespace slotlab::daemon {

class RealRandom final : public Random {
 public:
  RealRandom();                             // seeded from getrandom(2)
  explicit RealRandom(std::uint64_t seed);  // deterministic (tests)
  std::uint64_t generate() override;

 private:
  void seed_from(std::uint64_t seed);
  std::uint64_t s_[4] = {0, 0, 0, 0};
};

}  // namespace slotlab::daemon
