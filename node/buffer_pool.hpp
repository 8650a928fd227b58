// Byte buffers recycled between the bus encoder and the simulator's network (issue 7).
//
// In a 1,000-node simulation every PING/PONG is a fresh 10-13 KB std::string that lives from
// bus::encode until the simulated network has handed it to the receiving node; allocating and
// freeing ~40,000 of them per simulated second showed up as 10% of the profile (malloc's
// consolidation of large free chunks). The network gives delivered buffers back here and the
// encoder takes them. Only capacity is reused: a buffer is always handed out empty, so no byte of
// one packet can reach another, and nothing depends on which buffer is used (determinism holds).
// Per thread, bounded; a process that never recycles (the daemon) just allocates as before.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace slotlab {

namespace detail {
inline std::vector<std::string>& buffer_pool() {
  thread_local std::vector<std::string> pool;
  return pool;
}
inline constexpr std::size_t kBufferPoolMax = 256;            // buffers kept
inline constexpr std::size_t kBufferPoolMaxCapacity = 1 << 20;  // larger ones are freed
}  // namespace detail

// An empty string, with the capacity of a recycled buffer if there is one.
inline std::string take_buffer() {
  auto& pool = detail::buffer_pool();
  if (pool.empty()) return {};
  std::string s = std::move(pool.back());
  pool.pop_back();
  s.clear();
  return s;
}

// Gives `s`'s storage back for a later take_buffer(); `s` is left empty.
inline void recycle_buffer(std::string&& s) {
  auto& pool = detail::buffer_pool();
  if (s.capacity() > detail::kBufferPoolMaxCapacity || pool.size() >= detail::kBufferPoolMax ||
      s.capacity() <= sizeof(std::string)) {
    std::string().swap(s);
    return;
  }
  pool.push_back(std::move(s));
  s = std::string();
}

}  // namespace slotlab
