// xoshiro256** (Blackman and Vigna), seeded through splitmix64 (see real_random.hpp).
#include "daemon/real_random.hpp"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace slotlab::daemon {

namespace {

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

RealRandom::RealRandom() {
  std::uint64_t seed = 0;
  std::size_t got = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(&seed);
  while (got < sizeof(seed)) {
    ssize_t n = getrandom(bytes + got, sizeof(seed) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < sizeof(seed)) {
    // No getrandom (very old kernel): time and pid, as Redis seeds its own generators.
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    seed = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
    seed ^= static_cast<std::uint64_t>(::getpid()) << 32;
  }
  seed_from(seed);
}

RealRandom::RealRandom(std::uint64_t seed) { seed_from(seed); }

void RealRandom::seed_from(std::uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t RealRandom::generate() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

}  // namespace slotlab::daemon
