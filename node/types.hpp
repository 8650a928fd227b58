// Vocabulary types shared by every part of the node: node ids, slots, epochs, addresses.
//
// Strong types where mixing is a bug (STYLE.md): a ConfigEpoch is not a CurrentEpoch, a NodeId is
// not any 40-byte string. They are deliberately thin so hot paths (gossip processing) pay nothing.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace slotlab {

inline constexpr int kSlotCount = 16384;              // CLUSTER_SLOTS
inline constexpr int kNodeIdLen = 40;                 // CLUSTER_NAMELEN
inline constexpr int kBusPortIncr = 10000;            // CLUSTER_PORT_INCR
inline constexpr std::int64_t kCronPeriodMs = 100;    // clusterCron runs every 100 ms (hz 10)

using Slot = std::uint16_t;
using Millis = std::int64_t;  // virtual or real milliseconds, as the host's clock says

// Epochs are 64-bit unsigned on the wire (cluster.h uint64_t currentEpoch/configEpoch).
struct CurrentEpoch {
  std::uint64_t v = 0;
  auto operator<=>(const CurrentEpoch&) const = default;
};
struct ConfigEpoch {
  std::uint64_t v = 0;
  auto operator<=>(const ConfigEpoch&) const = default;
};

// A 40-character node name, [a-z0-9] when we generate it. Stored inline: no allocation, memcmp
// ordering, so std::map<NodeId, ...> iterates in a deterministic order.
class NodeId {
 public:
  NodeId() { bytes_.fill(0); }
  static NodeId from_bytes(const char* p) {
    NodeId id;
    std::memcpy(id.bytes_.data(), p, kNodeIdLen);
    return id;
  }
  // Accepts exactly 40 characters; returns false otherwise (caller reports the error).
  static bool parse(std::string_view s, NodeId& out) {
    if (s.size() != static_cast<size_t>(kNodeIdLen)) return false;
    out = from_bytes(s.data());
    return true;
  }
  bool is_null() const {
    for (char c : bytes_)
      if (c != 0) return false;
    return true;
  }
  std::string_view view() const { return {bytes_.data(), bytes_.size()}; }
  std::string str() const { return std::string(view()); }
  const char* data() const { return bytes_.data(); }
  bool operator==(const NodeId& o) const { return std::memcmp(bytes_.data(), o.bytes_.data(), kNodeIdLen) == 0; }
  bool operator<(const NodeId& o) const { return std::memcmp(bytes_.data(), o.bytes_.data(), kNodeIdLen) < 0; }

 private:
  std::array<char, kNodeIdLen> bytes_;
};

struct NodeIdHash {
  size_t operator()(const NodeId& id) const noexcept {
    // FNV-1a over the 40 bytes: lookups only, never iteration order.
    std::uint64_t h = 1469598103934665603ull;
    for (char c : id.view()) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
    return static_cast<size_t>(h);
  }
};

struct Endpoint {
  std::string ip;
  std::uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
  std::string str() const { return ip + ":" + std::to_string(port); }
};

}  // namespace slotlab
