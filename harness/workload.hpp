// Client workloads that run while scenario steps drive the world, and the record of every
// operation they performed (Jepsen style: each operation ends ok, failed or unknown, with its
// start and end time and the node that answered).
//
// `set-unique` writes a fresh key per operation (wl:<client>:<n> = <n>), so that afterwards each
// acknowledged write can be looked for individually: a missing key is a lost write, never a
// write overwritten by a later one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/cluster_client.hpp"

namespace slotlab::harness {

struct WorkloadOptions {
  std::string name = "writes";
  std::string kind = "set-unique";
  int clients = 4;              // concurrent clients, one operation in flight each
  Millis think_ms = 10;         // pause between a reply and the client's next operation
  std::string key_prefix = "wl";
  int value_bytes = 16;         // values are the sequence number padded to this size
  std::uint64_t max_ops = 0;    // stop after this many operations (0: until stop())
  ClusterClientOptions client;
};

struct OpRecord {
  std::uint64_t id = 0;
  int client = 0;
  std::string key;
  std::string value;
  Millis start_ms = 0;
  Millis end_ms = 0;
  CommandOutcome::Kind outcome = CommandOutcome::Kind::unknown;
  std::string error;
  Endpoint served_by;
  int redirects = 0;
};

class Workload {
 public:
  Workload(Driver& driver, std::vector<Endpoint> seeds, WorkloadOptions options);
  ~Workload();
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  void start();
  void stop();                       // no new operations; in-flight ones complete
  bool idle() const { return running_ops_ == 0; }
  bool running() const { return running_; }
  const WorkloadOptions& options() const { return options_; }
  const std::vector<OpRecord>& history() const { return history_; }
  std::size_t count(CommandOutcome::Kind kind) const;
  ClusterClient& client() { return *client_; }

 private:
  void next_op(int client);
  void schedule_watchdog();

  Driver& driver_;
  WorkloadOptions options_;
  std::unique_ptr<ClusterClient> client_;
  std::vector<OpRecord> history_;
  std::vector<std::uint64_t> seq_;   // per client
  bool running_ = false;
  int running_ops_ = 0;
  std::uint64_t next_id_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace slotlab::harness
