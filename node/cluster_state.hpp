// The cluster as one node sees it: the node table, the 16384-slot table, epochs, failure reports,
// election and manual-failover state (Redis's clusterState / clusterNode / clusterLink).
//
// This file holds data only. The rules that change it live in files named after them:
// gossip.cpp (PING/PONG/MEET), failure_detection.cpp (PFAIL/FAIL), election.cpp (replica
// promotion and votes), manual_failover.cpp, slot_config.cpp (configEpoch, UPDATE, ownership),
// cluster_links.cpp (the two TCP links per node pair), nodes_conf.cpp (nodes.conf and CLUSTER
// NODES text).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "node/bus_message.hpp"
#include "node/env.hpp"
#include "node/types.hpp"

namespace slotlab {

// Node flags, numerically identical to Redis's CLUSTER_NODE_* (they travel on the wire).
enum NodeFlag : std::uint16_t {
  kNodePrimary = 1,      // CLUSTER_NODE_MASTER
  kNodeReplica = 2,      // CLUSTER_NODE_SLAVE
  kNodePfail = 4,
  kNodeFail = 8,
  kNodeMyself = 16,
  kNodeHandshake = 32,
  kNodeNoaddr = 64,
  kNodeMeet = 128,
  kNodeMigrateTo = 256,
  kNodeNofailover = 512,
};

struct ClusterNode;

// One TCP connection of the cluster bus. Each node pair has two: the one we opened (outbound,
// carries our PINGs/MEETs and their PONGs) and the one the peer opened (inbound, carries its
// PINGs, which we answer with PONGs on the same link).
struct ClusterLink {
  ConnId conn = kNoConn;
  Millis ctime_ms = 0;
  bool inbound = false;
  bool connected = false;        // outbound: the connect completed
  bool closed_by_peer = false;   // the host reported the close: do not close it again
  ClusterNode* node = nullptr;   // outbound: always set; inbound: set once the sender is known
  std::string rcvbuf;            // bytes of the packet being assembled
  std::string pending_out;       // outbound: queued while the connect is in progress
};

// Open addressing with linear probing, at most half full: the mechanics shared by LinkTable and
// NodeIndex (issue 7: every bus packet and every gossip entry starts with one of these lookups, and
// std::unordered_map cost a bucket and a list node, two cache misses in a big simulation, before
// the record itself). `Cell` is default-constructible as empty and provides `bool used() const` and
// `std::uint64_t key_hash() const`. Never iterated by callers, so its order cannot leak into
// behaviour.
template <class Cell>
class LinearProbeTable {
 public:
  std::size_t size() const { return size_; }

 protected:
  std::size_t home(std::uint64_t h) const { return static_cast<std::size_t>(h) & mask_; }
  std::size_t next(std::size_t i) const { return (i + 1) & mask_; }
  void insert_cell(const Cell& cell) {
    if ((size_ + 1) * 2 > cells_.size()) grow();
    place(cell);
    ++size_;
  }
  // Empties cell i, moving later entries of its probe run back into the hole (backward-shift
  // deletion: no tombstones, so lookups stay one run long).
  void erase_at(std::size_t i) {
    std::size_t hole = i;
    for (std::size_t j = next(hole); cells_[j].used(); j = next(j)) {
      const std::size_t h = home(cells_[j].key_hash());
      // cells_[j] stays unless its home lies cyclically outside (hole, j].
      const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (!stays) {
        cells_[hole] = cells_[j];
        hole = j;
      }
    }
    cells_[hole] = Cell{};
    --size_;
  }
  std::vector<Cell> cells_;

 private:
  void place(const Cell& cell) {
    std::size_t i = home(cell.key_hash());
    while (cells_[i].used()) i = next(i);
    cells_[i] = cell;
  }
  void grow() {
    std::vector<Cell> old = std::move(cells_);
    cells_.assign(old.empty() ? 16 : old.size() * 2, Cell{});
    mask_ = cells_.size() - 1;
    for (const Cell& c : old)
      if (c.used()) place(c);
  }
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

struct LinkCell {
  ConnId conn = 0;
  ClusterLink* link = nullptr;
  bool used() const { return link != nullptr; }
  std::uint64_t key_hash() const { return (conn * 0x9e3779b97f4a7c15ull) >> 20; }
};

// The node's cluster links by connection id, one 16-byte cell per link, owning the links.
class LinkTable : public LinearProbeTable<LinkCell> {
 public:
  LinkTable() = default;
  LinkTable(const LinkTable&) = delete;
  LinkTable& operator=(const LinkTable&) = delete;
  ~LinkTable() {
    for (const LinkCell& c : cells_) delete c.link;
  }
  ClusterLink* find(ConnId conn) const {
    if (cells_.empty()) return nullptr;
    for (std::size_t i = home(LinkCell{conn}.key_hash()); cells_[i].used(); i = next(i))
      if (cells_[i].conn == conn) return cells_[i].link;
    return nullptr;
  }
  // `conn` must not be in the table yet.
  void insert(ConnId conn, std::unique_ptr<ClusterLink> link) { insert_cell(LinkCell{conn, link.release()}); }
  // Removes `conn`'s link and hands it back (nullptr if there is none).
  std::unique_ptr<ClusterLink> take(ConnId conn) {
    if (cells_.empty()) return nullptr;
    for (std::size_t i = home(LinkCell{conn}.key_hash()); cells_[i].used(); i = next(i)) {
      if (cells_[i].conn != conn) continue;
      std::unique_ptr<ClusterLink> out(cells_[i].link);
      erase_at(i);
      return out;
    }
    return nullptr;
  }
};

struct FailureReport {
  ClusterNode* sender = nullptr;
  Millis time_ms = 0;
};

// clusterNode.slaves: a primary's replicas in the order they were added. 16 bytes with room for one
// replica in place, so that clusterCron's count of a primary's working replicas (on every replica,
// for every primary, every 100 ms) reads the record it already has instead of a separate
// allocation (issue 7). A small vector: begin/end/size/empty/push_back/erase as std::vector's.
class ReplicaList {
 public:
  ReplicaList() = default;
  ReplicaList(const ReplicaList& o) { assign(o); }
  ReplicaList& operator=(const ReplicaList& o) {
    if (this != &o) {
      release();
      assign(o);
    }
    return *this;
  }
  ~ReplicaList() { release(); }

  ClusterNode** begin() { return data(); }
  ClusterNode** end() { return data() + size_; }
  ClusterNode* const* begin() const { return data(); }
  ClusterNode* const* end() const { return data() + size_; }
  ClusterNode** data() { return cap_ <= 1 ? &u_.one : u_.many; }
  ClusterNode* const* data() const { return cap_ <= 1 ? &u_.one : u_.many; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ClusterNode* operator[](std::size_t i) const { return data()[i]; }
  void push_back(ClusterNode* n) {
    if (size_ == cap_) {
      const std::uint32_t cap = cap_ < 2 ? 4 : cap_ * 2;
      auto* heap = new ClusterNode*[cap];
      std::copy(begin(), end(), heap);
      const std::uint32_t size = size_;
      release();
      u_.many = heap;
      size_ = size;
      cap_ = cap;
    }
    data()[size_++] = n;
  }
  ClusterNode** erase(ClusterNode** it) {
    std::copy(it + 1, end(), it);
    --size_;
    return it;
  }

 private:
  void release() {
    if (cap_ > 1) delete[] u_.many;
    u_.one = nullptr;
    size_ = 0;
    cap_ = 1;
  }
  void assign(const ReplicaList& o) {
    for (ClusterNode* n : o) push_back(n);
  }
  union {
    ClusterNode* one;
    ClusterNode** many;
  } u_{nullptr};
  std::uint32_t size_ = 0;
  std::uint32_t cap_ = 1;  // 1: the one in-place slot; more: u_.many on the heap
};

// clusterNode.fail_reports: 8 bytes in the record, the list itself allocated only while there are
// reports (in a quiet cluster, never), so that "any reports?" is answered from the record's first
// cache line (issue 7).
class FailureReportList {
 public:
  bool empty() const { return v_ == nullptr || v_->empty(); }
  std::size_t size() const { return v_ == nullptr ? 0 : v_->size(); }
  FailureReport* begin() { return v_ == nullptr ? nullptr : v_->data(); }
  FailureReport* end() { return v_ == nullptr ? nullptr : v_->data() + v_->size(); }
  const FailureReport* begin() const { return v_ == nullptr ? nullptr : v_->data(); }
  const FailureReport* end() const { return v_ == nullptr ? nullptr : v_->data() + v_->size(); }
  void push_back(const FailureReport& fr) {
    if (v_ == nullptr) v_ = std::make_unique<std::vector<FailureReport>>();
    v_->push_back(fr);
  }
  // Removes the report `it` points to (one of this list's), keeping the others in order.
  void erase(const FailureReport* it) { v_->erase(v_->begin() + (it - v_->data())); }
  // Removes the reports for which pred(report) is true, keeping the others in order.
  template <class Pred>
  void remove_if(Pred pred) {
    if (v_ == nullptr) return;
    v_->erase(std::remove_if(v_->begin(), v_->end(), pred), v_->end());
  }

 private:
  std::unique_ptr<std::vector<FailureReport>> v_;
};

// Field order is chosen for the simulator's cache behaviour (issue 7), not for Redis's layout: a
// 1,000-node simulation holds 1,000 views of 1,000 nodes (2.4 GB of records), so every record a
// cron walk or a gossip entry touches is a cache miss. Everything clusterCron and the gossip
// section read for every node fills exactly the first 64-byte line of a 64-byte-aligned record;
// what a PING's gossip entry needs besides is on the next two; the rest follows, and the 2 KB
// slot bitmap comes last.
struct alignas(64) ClusterNode {
  // Line 1: everything clusterCron reads, and what the gossip section reads besides the name
  // (which the name index keeps in its own cell).
  std::uint16_t flags = 0;
  int numslots = 0;
  ClusterLink* link = nullptr;          // outbound
  Millis ping_sent_ms = 0;
  Millis pong_received_ms = 0;
  Millis data_received_ms = 0;
  ReplicaList replicas;                // clusterNode.slaves, in the order they were added
  FailureReportList fail_reports;
  // Line 2: a PING's gossip entry about this node needs this besides line 1 (and the ip, line 3).
  NodeId name;
  std::uint64_t last_in_ping_gossip = 0;
  std::uint16_t port = 0;
  std::uint16_t pport = 0;
  std::uint16_t cport = 0;
  ClusterNode* primary = nullptr;      // clusterNode.slaveof
  // Line 3.
  std::string ip;                      // may be empty: address not known yet
  ClusterLink* inbound_link = nullptr;
  Millis ctime_ms = 0;
  ConfigEpoch config_epoch;
  Millis fail_time_ms = 0;
  // Colder.
  Millis voted_time_ms = 0;            // last time we voted for a replica of this primary
  Millis repl_offset_time_ms = 0;
  Millis orphaned_time_ms = 0;
  std::int64_t repl_offset = 0;
  std::string hostname;
  // Last: the 2 KB bitmap would otherwise put the fields clusterCron reads for every node on
  // every tick (flags, link, ping/pong times) in different cache lines.
  bus::SlotBitmap slots;

  bool is_primary() const { return (flags & kNodePrimary) != 0; }
  bool is_replica() const { return (flags & kNodeReplica) != 0; }
  bool in_handshake() const { return (flags & kNodeHandshake) != 0; }
  bool timed_out() const { return (flags & kNodePfail) != 0; }  // nodeTimedOut: PFAIL
  bool failed() const { return (flags & kNodeFail) != 0; }
  bool has_addr() const { return (flags & kNodeNoaddr) == 0; }
  bool cant_failover() const { return (flags & kNodeNofailover) != 0; }
  bool is_myself() const { return (flags & kNodeMyself) != 0; }
};

// Why a replica is not failing over (Redis's CLUSTER_CANT_FAILOVER_*), kept so that logs, INFO and
// the harness can say *why not*.
enum class CantFailoverReason : std::uint8_t { none, data_age, waiting_delay, expired, waiting_votes };
const char* describe(CantFailoverReason reason);

enum class ClusterHealth : std::uint8_t { ok = 0, fail = 1 };

// Deferred work requested during event handling and done once before the node goes back to
// waiting (Redis's clusterDoBeforeSleep flags).
enum TodoFlag : std::uint32_t {
  kTodoHandleFailover = 1u << 0,
  kTodoUpdateState = 1u << 1,
  kTodoSaveConfig = 1u << 2,
  kTodoFsyncConfig = 1u << 3,
  kTodoHandleManualFailover = 1u << 4,
};

// Slots in migration (Redis's migrating_slots_to / importing_slots_from arrays), with a count of
// open entries so that the common case (nothing open) costs nothing in CLUSTER NODES.
class OpenSlots {
 public:
  ClusterNode* migrating(int slot) const { return migrating_[static_cast<std::size_t>(slot)]; }
  ClusterNode* importing(int slot) const { return importing_[static_cast<std::size_t>(slot)]; }
  void set_migrating(int slot, ClusterNode* n) { set(migrating_, slot, n); }
  void set_importing(int slot, ClusterNode* n) { set(importing_, slot, n); }
  void clear_all() {
    migrating_.fill(nullptr);
    importing_.fill(nullptr);
    open_ = 0;
  }
  void forget(const ClusterNode* n) {
    if (open_ == 0) return;
    for (int s = 0; s < kSlotCount; ++s) {
      if (migrating(s) == n) set_migrating(s, nullptr);
      if (importing(s) == n) set_importing(s, nullptr);
    }
  }
  bool any() const { return open_ > 0; }

 private:
  void set(std::array<ClusterNode*, kSlotCount>& a, int slot, ClusterNode* n) {
    auto& cell = a[static_cast<std::size_t>(slot)];
    if (cell == nullptr && n != nullptr) ++open_;
    if (cell != nullptr && n == nullptr) --open_;
    cell = n;
  }
  std::array<ClusterNode*, kSlotCount> migrating_{};
  std::array<ClusterNode*, kSlotCount> importing_{};
  int open_ = 0;
};

inline constexpr int kMessageTypeCount = 11;
inline constexpr Millis kManualFailoverTimeoutMs = 5000;  // CLUSTER_MF_TIMEOUT
inline constexpr int kManualFailoverPauseMult = 2;        // CLUSTER_MF_PAUSE_MULT

// Prefetch hint for the cache line of a record that clusterCron reads (see ClusterNode).
inline void prefetch_hot(const ClusterNode* n) { __builtin_prefetch(n); }

struct alignas(64) NameCell {
  NodeId name;
  std::uint64_t hash = 0;
  ClusterNode* node = nullptr;
  bool used() const { return node != nullptr; }
  std::uint64_t key_hash() const { return hash; }
};

// The node table's name index, at most half full. Each cell is one 64-byte line holding the name
// itself, its hash and the node, so that a lookup reads one cell and then only the record's first
// line (std::unordered_map cost a bucket, a list node and the record's name line).
class NodeIndex : public LinearProbeTable<NameCell> {
 public:
  ClusterNode* find(const NodeId& id) const { return find(id, hash(id)); }
  ClusterNode* find(const NodeId& id, std::uint64_t h) const {
    if (cells_.empty()) return nullptr;
    for (std::size_t i = home(h); cells_[i].used(); i = next(i))
      if (cells_[i].hash == h && cells_[i].name == id) return cells_[i].node;
    return nullptr;
  }
  // `node->name` is the key; it must not be in the index yet.
  void insert(ClusterNode* node) { insert_cell(NameCell{node->name, hash(node->name), node}); }
  // Removes the entry for `name` (the name `node` was inserted under).
  void erase(const NodeId& name, const ClusterNode* node) {
    if (cells_.empty()) return;
    for (std::size_t i = home(hash(name)); cells_[i].used(); i = next(i)) {
      if (cells_[i].node == node) {
        erase_at(i);
        return;
      }
    }
  }

  // Prefetch hints for a lookup that will come a few entries later (the gossip section pipelines
  // its ~N/10 lookups): the cell first, then, once the cell has arrived, the record it points to.
  // Hints only: nothing is read that could change behaviour.
  void prefetch_cell(std::uint64_t h) const {
    if (!cells_.empty()) __builtin_prefetch(&cells_[home(h)]);
  }
  void prefetch_node(std::uint64_t h) const {
    if (cells_.empty()) return;
    const NameCell& c = cells_[home(h)];
    if (c.node != nullptr) __builtin_prefetch(c.node);
  }

  static std::uint64_t hash(const NodeId& id) {
    // Five 8-byte words of the 40-byte name, multiplied and folded (names are random hex, so a
    // cheap mix suffices; only lookup cost depends on it, never behaviour).
    std::uint64_t h = 0x243f6a8885a308d3ull;
    for (int w = 0; w < kNodeIdLen / 8; ++w) {
      std::uint64_t x;
      std::memcpy(&x, id.data() + 8 * w, 8);
      h = (h ^ x) * 0x9e3779b97f4a7c15ull;
      h ^= h >> 29;
    }
    return h;
  }
};

struct ClusterState {
  ClusterNode* myself = nullptr;
  CurrentEpoch current_epoch;
  ClusterHealth state = ClusterHealth::fail;
  int size = 1;  // primaries serving at least one slot

  // The node table. std::map keeps a deterministic iteration order (by node id); `order_` gives
  // O(1) random picks (dictGetRandomKey) and is rebuilt when nodes come and go.
  std::map<NodeId, std::unique_ptr<ClusterNode>> nodes;
  std::vector<ClusterNode*> order;
  // Lookup only (never iterated): the same nodes by name, so that the gossip section's ~N/10
  // lookups per packet cost a hash each instead of a tree walk of 40-byte compares. Kept in step
  // with `nodes` by add_node / del_node / rename_node.
  NodeIndex by_name;

  // Nodes we were told to FORGET, with the time (ms) until which gossip may not re-add them.
  std::map<NodeId, Millis> blacklist;

  std::array<ClusterNode*, kSlotCount> slots{};
  std::uint64_t slots_generation = 0;  // bumped on every change of `slots` (caches key on it)
  OpenSlots open_slots;
  bus::SlotBitmap owner_not_claiming_slot;

  // Replica election (failover_auth_*).
  Millis failover_auth_time_ms = 0;
  int failover_auth_count = 0;
  bool failover_auth_sent = false;
  int failover_auth_rank = 0;
  std::uint64_t failover_auth_epoch = 0;
  CantFailoverReason cant_failover_reason = CantFailoverReason::none;
  Millis cant_failover_logged_ms = 0;

  // Manual failover.
  Millis mf_end_ms = 0;              // 0: no manual failover in progress
  ClusterNode* mf_replica = nullptr;  // primary side: the replica that asked (mf_slave)
  std::int64_t mf_primary_offset = -1;
  bool mf_can_start = false;

  std::uint64_t last_vote_epoch = 0;
  std::uint32_t todo_before_sleep = 0;

  std::array<std::uint64_t, kMessageTypeCount> stats_sent{};
  std::array<std::uint64_t, kMessageTypeCount> stats_received{};
  int stats_pfail_nodes = 0;
  std::uint64_t stat_links_buffer_limit_exceeded = 0;

  // clusterUpdateState's statics, kept per node here.
  Millis among_minority_time_ms = 0;
  Millis first_update_state_ms = 0;

  ClusterNode* lookup(const NodeId& id) const { return by_name.find(id); }
};

// Writes the flag list exactly as CLUSTER NODES does ("myself,master", "slave,fail?", "noflags").
void append_node_flags(std::string& out, std::uint16_t flags);

}  // namespace slotlab
