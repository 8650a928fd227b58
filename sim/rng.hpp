// Rng: the simulator's own seeded generator, bit-identical on every platform and standard library.
//
// Everything random in a simulation (latencies, tick phases, torn writes, each host's Random) comes
// from here, never from std::random_device or std::*_distribution (whose outputs differ between
// libstdc++ and libc++). The engine is xoshiro256** (Blackman & Vigna) seeded through splitmix64.
//
// Streams are derived, not drawn: split(k) builds a child from this generator's *seed* and k, not
// from its current state. So a host's stream depends only on (run seed, host index, restart count):
// adding a host, or drawing more numbers elsewhere, never shifts another host's randomness.
//
// No floating point anywhere: exponential() works in Q16 fixed point (a compile-time log2 table),
// so event times computed from it are identical on every machine.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace slotlab::sim {

namespace detail {
// floor(log2(u) * 2^16) for u > 0, by the classic square-and-compare digit extraction.
constexpr std::uint64_t log2_q16_exact(std::uint64_t u) {
  const int msb = 63 - std::countl_zero(u);
  // Normalise the mantissa to Q1.31: m in [2^31, 2^32) represents a value in [1, 2).
  std::uint64_t m = msb >= 31 ? u >> (msb - 31) : u << (31 - msb);
  std::uint64_t frac = 0;
  for (int i = 0; i < 16; ++i) {
    m = (m * m) >> 31;  // m < 2^32, so m * m < 2^64
    frac <<= 1;
    if (m >= (std::uint64_t{1} << 32)) {
      m >>= 1;
      frac |= 1;
    }
  }
  return (static_cast<std::uint64_t>(msb) << 16) | frac;
}

// kLog2Table[i] = log2(1 + i/256) in Q16, computed at compile time with integers only.
constexpr std::array<std::uint32_t, 257> make_log2_table() {
  std::array<std::uint32_t, 257> t{};
  for (std::uint64_t i = 0; i <= 256; ++i)
    t[i] = static_cast<std::uint32_t>(log2_q16_exact((256 + i) << 24) - (std::uint64_t{32} << 16));
  return t;
}
inline constexpr std::array<std::uint32_t, 257> kLog2Table = make_log2_table();
}  // namespace detail

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : seed_(seed) {
    std::uint64_t x = seed;
    for (auto& word : s_) word = splitmix64(x);
  }

  std::uint64_t seed() const { return seed_; }

  std::uint64_t next_u64() {
    const std::uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n), unbiased (rejection of the short top range). below(0) == 0.
  std::uint64_t below(std::uint64_t n) {
    if (n == 0) return 0;
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const std::uint64_t r = next_u64();
      if (r >= threshold) return r % n;
    }
  }

  // Uniform in [lo, hi], both ends included. Requires lo <= hi (returns lo otherwise).
  std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
    if (hi <= lo) return lo;
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    const std::uint64_t off = span == ~std::uint64_t{0} ? next_u64() : below(span + 1);
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + off);
  }

  // True with probability p_per_million / 1,000,000.
  bool chance(std::uint64_t p_per_million) {
    if (p_per_million == 0) return false;
    if (p_per_million >= 1'000'000) return true;
    return below(1'000'000) < p_per_million;
  }

  // An exponentially distributed integer with the given mean (same unit as mean), computed as
  // -mean * ln(U) in fixed point. The tail is naturally bounded at about 44.4 * mean (U >= 2^-64).
  // mean <= 0 gives 0.
  std::int64_t exponential(std::int64_t mean) {
    if (mean <= 0) return 0;
    const std::uint64_t u = next_u64() | 1;  // in (0, 2^64): ln never sees 0
    // -ln(u / 2^64) = (64 - log2(u)) * ln(2), all in Q16.
    const std::uint64_t neg_log2_q16 = (std::uint64_t{64} << 16) - fast_log2_q16(u);
    const std::uint64_t ln_q16 = (neg_log2_q16 * kLn2Q32) >> 32;  // < 2^22
    const auto m = static_cast<std::uint64_t>(mean);
    // mean * ln_q16 >> 16 without overflowing for large means.
    const std::uint64_t v = (m >> 16) * ln_q16 + (((m & 0xFFFF) * ln_q16) >> 16);
    return static_cast<std::int64_t>(v);
  }

  // A child generator for stream `stream`: a pure function of (this generator's seed, stream).
  Rng split(std::uint64_t stream) const {
    std::uint64_t x = stream ^ 0xD1B54A32D192ED03ull;
    const std::uint64_t mixed = splitmix64(x) ^ std::rotl(seed_, 23);
    std::uint64_t y = mixed;
    return Rng(splitmix64(y));
  }

  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // floor(log2(u) * 2^16) for u > 0, exact (slow: used to build the table and by tests).
  static constexpr std::uint64_t log2_q16(std::uint64_t u) { return detail::log2_q16_exact(u); }

  // log2(u) * 2^16 for u > 0 from a 257-entry table with linear interpolation; within 4/2^16
  // of the exact value (mantissa truncation, table rounding, interpolation).
  static std::uint64_t fast_log2_q16(std::uint64_t u) {
    const int msb = 63 - std::countl_zero(u);
    // The 16 mantissa bits below the leading one.
    const std::uint64_t norm = msb >= 16 ? u >> (msb - 16) : u << (16 - msb);  // [2^16, 2^17)
    const auto f = static_cast<std::uint32_t>(norm - 65536);
    const std::uint32_t idx = f >> 8;
    const std::uint32_t rem = f & 255;
    const std::uint32_t a = detail::kLog2Table[idx];
    const std::uint32_t b = detail::kLog2Table[idx + 1];
    return (static_cast<std::uint64_t>(msb) << 16) + a + (((b - a) * rem) >> 8);
  }

 private:
  static constexpr std::uint64_t kLn2Q32 = 2977044472ull;  // round(ln 2 * 2^32)

  std::uint64_t seed_;
  std::uint64_t s_[4];
};

}  // namespace slotlab::sim
