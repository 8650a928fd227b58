// The simulator's core vocabulary, shared by simulator.cpp and network.cpp: host ids, the event
// record, the event queue and the run context (virtual now, trace hash, which actor is running).
//
// Events are small POD records ordered by (time, sequence number), kept in a binary heap. They
// carry indices and generation numbers, never payloads or closures: bytes wait in per-connection
// queues (network.hpp) and harness timers in a slot table (simulator.cpp). An event whose target
// was freed or superseded meanwhile is recognised by its generation/token and skipped.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace slotlab::sim {

// A host of the simulation, numbered from 0 in the order add_host() was called.
enum class HostId : std::uint32_t {};
constexpr std::uint32_t index_of(HostId h) { return static_cast<std::uint32_t>(h); }
constexpr HostId host_id(std::uint32_t index) { return static_cast<HostId>(index); }

enum class EventKind : std::uint8_t {
  net_deliver,             // a = pipe slot, b = pipe generation, d = direction
  net_connect_timeout,     // a = pipe slot, b = pipe generation
  net_retransmit_timeout,  // a = pipe slot, b = generation, c = stall token, d = direction
  net_notify_close,        // a = pipe slot, b = generation, d = side, c = CloseReason
  net_drain,               // a = host: deliver what a paused host's kernel held
  tick,                    // a = host, b = incarnation, c = tick token
  timer,                   // a = timer slot, b = timer generation
};

struct Event {
  std::int64_t time_us = 0;
  std::uint64_t seq = 0;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  std::uint32_t c = 0;
  EventKind kind = EventKind::timer;
  std::uint8_t d = 0;
};

// Min-heap on (time_us, seq). seq is assigned at push, so events at the same instant run in the
// order they were scheduled: deterministic, and FIFO for the same time.
class EventQueue {
 public:
  void push(Event e) {
    e.seq = next_seq_++;
    heap_.push_back(e);
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  const Event& top() const { return heap_.front(); }
  Event pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    Event e = heap_.back();
    heap_.pop_back();
    return e;
  }

 private:
  struct Later {
    bool operator()(const Event& x, const Event& y) const {
      return x.time_us != y.time_us ? x.time_us > y.time_us : x.seq > y.seq;
    }
  };
  std::vector<Event> heap_;
  std::uint64_t next_seq_ = 1;
};

// Folding into the run's trace hash: cheap, order-sensitive, well mixed.
inline std::uint64_t hash_fold(std::uint64_t h, std::uint64_t x) {
  h ^= x + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h *= 0xFF51AFD7ED558CCDull;
  return h ^ (h >> 29);
}

// A content hash of a payload. Sampled by default (length, first and last 32 bytes, read 8 at a
// time) so that hashing 12 KB bus messages at 266k messages per simulated second stays cheap; a
// divergence that matters changes headers, sizes or timing long before it hides in the middle of
// a payload. `full` hashes every byte.
inline std::uint64_t hash_bytes(std::string_view bytes, bool full) {
  // Little-endian 8-byte loads whatever the host's byte order, so the hash is the same everywhere.
  auto load = [&](std::size_t pos) {
    std::uint64_t w;
    std::memcpy(&w, bytes.data() + pos, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    return w;
  };
  auto mix = [](std::uint64_t h, std::uint64_t w) {
    h = (h ^ w) * 0x9FB21C651E98DF25ull;
    return h ^ (h >> 28);
  };
  const std::size_t n = bytes.size();
  std::uint64_t h = mix(0x243F6A8885A308D3ull, n);
  if (full || n <= 64) {
    std::size_t pos = 0;
    for (; pos + 8 <= n; pos += 8) h = mix(h, load(pos));
    std::uint64_t tail = 0;
    for (std::size_t i = n; i > pos; --i) tail = (tail << 8) | static_cast<unsigned char>(bytes[i - 1]);
    return mix(h, tail);
  }
  for (std::size_t pos = 0; pos < 32; pos += 8) h = mix(h, load(pos));
  for (std::size_t pos = n - 32; pos < n; pos += 8) h = mix(h, load(pos));
  return h;
}

// State of the run that the simulator and the network both read and write.
struct SimContext {
  std::int64_t now_us = 0;
  EventQueue queue;
  std::uint64_t trace_hash = 0x6A09E667F3BCC908ull;
  bool hash_full_payloads = false;
  // Set while an actor callback runs: Env calls made then only schedule, and harness lifecycle
  // calls are refused (they would destroy or create actors under a running callback).
  bool in_actor = false;
  HostId current_host{};
  std::uint64_t actor_calls = 0;

  void schedule(std::int64_t time_us, EventKind kind, std::uint32_t a, std::uint32_t b = 0,
                std::uint32_t c = 0, std::uint8_t d = 0) {
    Event e;
    e.time_us = time_us < now_us ? now_us : time_us;
    e.kind = kind;
    e.a = a;
    e.b = b;
    e.c = c;
    e.d = d;
    queue.push(e);
  }
  void fold(std::uint64_t x) { trace_hash = hash_fold(trace_hash, x); }
};

}  // namespace slotlab::sim
