// The lost-write checker (Jepsen's set-full, adapted to Redis Cluster's write-safety rules).
//
// After the run every acknowledged write is read back. A write is *lost* if it was acknowledged
// and its key is missing or holds another value. Each loss gets a cause, and the cause says
// whether the Redis Cluster specification permits it ("Write safety" in cluster-spec.md):
//  - async-replication: the primary that acknowledged it was crashed or killed afterwards and
//    its slots were failed over; the replica had not received the write yet. Permitted.
//  - unpersisted-on-restart: that primary crashed or was killed and came back with the data it
//    had made durable (nothing without persistence; up to the last fsync with the AOF), and no
//    replica took over. Permitted: it is the durability the node was configured with.
//  - stale-primary (pause / partition): that primary was paused or cut off from the majority and a
//    replica replaced it; what it acknowledged before it learned so (up to the fault's until_ms)
//    is lost when it rejoins as a replica. Permitted (the spec's minority-side window).
//  - unexplained: nothing in the run's faults allows the loss. Not permitted: a bug, or an
//    orderly operation (reshard, manual failover, add/del-node) that lost data.
// Unknown-outcome writes are read too: present or absent, both are allowed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "harness/workload.hpp"

namespace slotlab::harness {

// A fault the checker may use to explain a loss: node `endpoint` lost its data or its role at
// `at_ms` (crash, kill, failover away from it).
struct FaultRecord {
  Endpoint endpoint;
  std::string node;
  std::string kind;  // "crash", "kill"
  Millis at_ms = 0;
  bool failed_over = false;  // a replica was promoted in its place afterwards
  Millis until_ms = 0;       // pause / partition: acknowledgments up to here may be lost
};

struct LostWrite {
  std::string key;
  std::string value;
  std::string found;  // what the key held at the end ("" if missing)
  Millis acked_ms = 0;
  Endpoint acked_by;
  std::string acked_by_node;  // filled by the runner for reports ("n3")
  std::string cause;
  bool permitted = false;
};

struct LostWriteReport {
  std::size_t acknowledged = 0;
  std::size_t failed = 0;
  std::size_t unknown = 0;
  std::size_t unknown_present = 0;
  std::size_t present = 0;
  std::size_t lost = 0;
  std::size_t lost_permitted = 0;
  std::size_t lost_unexplained = 0;
  std::size_t unreadable = 0;  // keys the final read could not read (node down...)
  std::map<std::string, std::size_t> by_cause;
  std::vector<LostWrite> losses;  // every lost write (bounded by the workload's size)
  bool passed() const { return lost_unexplained == 0 && unreadable == 0; }
};

// Reads back every ok/unknown write through a fresh cluster client and classifies. Bounded by
// `timeout_ms` of world time.
LostWriteReport check_lost_writes(Driver& driver, const std::vector<Endpoint>& seeds, const std::vector<OpRecord>& history,
                                  const std::vector<FaultRecord>& faults, Millis timeout_ms);

}  // namespace slotlab::harness
