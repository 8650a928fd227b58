// ConnTable: a host's ConnId -> pipe-end table, an open-addressing hash map tuned for the network's
// hot path (every send() and close() looks an id up; a 1,000-node cluster has ~2,000 ids per host).
//
// Linear probing over a power-of-two array of (id, value) pairs, at most half full, with
// backward-shift deletion (no tombstones, so lookups stay one or two cache lines after millions of
// connects and closes). Key 0 (kNoConn) marks an empty cell. Lookup only: callers that need an
// order (the kernel closing a dead process's sockets) sort the ids themselves.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace slotlab::sim {

class ConnTable {
 public:
  ConnTable() : cells_(16) {}

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Returns nullptr if absent.
  const std::uint32_t* find(std::uint64_t id) const {
    if (id == 0) return nullptr;
    for (std::size_t i = home(id);; i = (i + 1) & mask()) {
      const Cell& c = cells_[i];
      if (c.id == id) return &c.value;
      if (c.id == 0) return nullptr;
    }
  }

  // id must be non-zero and absent (ids are never reused).
  void insert(std::uint64_t id, std::uint32_t value) {
    if ((size_ + 1) * 2 > cells_.size()) grow();
    place(id, value);
    ++size_;
  }

  bool erase(std::uint64_t id) {
    if (id == 0) return false;
    std::size_t i = home(id);
    for (;; i = (i + 1) & mask()) {
      if (cells_[i].id == id) break;
      if (cells_[i].id == 0) return false;
    }
    // Backward-shift: pull later members of the probe run into the hole when that keeps them
    // reachable from their home cell.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask(); cells_[j].id != 0; j = (j + 1) & mask()) {
      const std::size_t h = home(cells_[j].id);
      const bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
      if (movable) {
        cells_[hole] = cells_[j];
        hole = j;
      }
    }
    cells_[hole] = Cell{};
    --size_;
    return true;
  }

  // Every (id, value), in no particular order.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> entries() const {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> out;
    out.reserve(size_);
    for (const Cell& c : cells_)
      if (c.id != 0) out.emplace_back(c.id, c.value);
    return out;
  }

 private:
  struct Cell {
    std::uint64_t id = 0;
    std::uint32_t value = 0;
  };

  std::size_t mask() const { return cells_.size() - 1; }
  std::size_t home(std::uint64_t id) const {
    // Fibonacci hashing: sequential ids spread over the table.
    return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ull) >> 32) & mask();
  }
  void place(std::uint64_t id, std::uint32_t value) {
    std::size_t i = home(id);
    while (cells_[i].id != 0) i = (i + 1) & mask();
    cells_[i] = Cell{id, value};
  }
  void grow() {
    std::vector<Cell> old = std::move(cells_);
    cells_.assign(old.size() * 2, Cell{});
    for (const Cell& c : old)
      if (c.id != 0) place(c.id, c.value);
  }

  std::vector<Cell> cells_;
  std::size_t size_ = 0;
};

}  // namespace slotlab::sim
