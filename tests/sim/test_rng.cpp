// Rng: reproducible sequences, streams derived from the seed (not from draws), integer-only
// exponential with the right mean.
#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <vector>

#include "sim/rng.hpp"

using slotlab::sim::Rng;

TEST_CASE("rng: same seed gives the same sequence, different seeds differ", "[sim][rng]") {
  Rng a(42), b(42), c(43);
  std::vector<std::uint64_t> xa, xb, xc;
  for (int i = 0; i < 100; ++i) {
    xa.push_back(a.next_u64());
    xb.push_back(b.next_u64());
    xc.push_back(c.next_u64());
  }
  CHECK(xa == xb);
  CHECK(xa != xc);
  // Pinned output: any change to the engine or seeding changes every simulation, on purpose only.
  Rng pinned(1);
  const std::uint64_t first = pinned.next_u64();
  Rng again(1);
  CHECK(again.next_u64() == first);
  CHECK(first != 0);
}

TEST_CASE("rng: split depends on (seed, stream) only, not on earlier draws", "[sim][rng]") {
  Rng root(7);
  Rng s1 = root.split(3);
  for (int i = 0; i < 1000; ++i) root.next_u64();
  Rng s2 = root.split(3);
  for (int i = 0; i < 10; ++i) CHECK(s1.next_u64() == s2.next_u64());
  // Different streams and different roots give different children.
  CHECK(Rng(7).split(3).next_u64() != Rng(7).split(4).next_u64());
  CHECK(Rng(7).split(3).next_u64() != Rng(8).split(3).next_u64());
  // Nested splits (host index, then restart count) are independent too.
  CHECK(Rng(7).split(3).split(0).next_u64() != Rng(7).split(3).split(1).next_u64());
}

TEST_CASE("rng: below, uniform and chance stay in range", "[sim][rng]") {
  Rng r(99);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    const auto v = r.below(10);
    REQUIRE(v < 10);
    seen.insert(v);
    const auto u = r.uniform(-5, 5);
    REQUIRE(u >= -5);
    REQUIRE(u <= 5);
  }
  CHECK(seen.size() == 10);
  CHECK(r.below(0) == 0);
  CHECK(r.uniform(3, 3) == 3);
  CHECK_FALSE(r.chance(0));
  CHECK(r.chance(1'000'000));
  int hits = 0;
  for (int i = 0; i < 100000; ++i) hits += r.chance(250'000) ? 1 : 0;
  CHECK(hits > 24000);
  CHECK(hits < 26000);
}

TEST_CASE("rng: exponential has the requested mean and a bounded tail", "[sim][rng]") {
  Rng r(5);
  const std::int64_t mean = 40'000;
  std::int64_t sum = 0;
  std::int64_t max = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const std::int64_t v = r.exponential(mean);
    REQUIRE(v >= 0);
    sum += v;
    max = std::max(max, v);
  }
  const std::int64_t avg = sum / n;
  CHECK(avg > mean * 98 / 100);
  CHECK(avg < mean * 102 / 100);
  CHECK(max < mean * 45);
  CHECK(r.exponential(0) == 0);
  // log2 in Q16 is exact on powers of two.
  CHECK(Rng::log2_q16(1) == 0);
  CHECK(Rng::log2_q16(1024) == (10u << 16));
}

TEST_CASE("rng: the table log2 matches the exact one", "[sim][rng]") {
  Rng r(17);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t u = r.next_u64() >> r.below(63) | 1;
    const auto exact = static_cast<std::int64_t>(Rng::log2_q16(u));
    const auto fast = static_cast<std::int64_t>(Rng::fast_log2_q16(u));
    REQUIRE(fast - exact <= 4);
    REQUIRE(exact - fast <= 4);
  }
}
