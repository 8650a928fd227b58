// Cluster administration, written once as a RESP client over the Transport seam, sending what
// redis-cli --cluster sends (reference doc section 1). The same code runs as a scenario step in
// the simulator and against real slotlab-node or redis-server processes.
//
// Unlike redis-cli, every wait is bounded: a node that does not join is re-sent CLUSTER MEET, and
// a failure names the node and what it answered.
#pragma once

#include <bitset>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/client.hpp"
#include "harness/cluster_view.hpp"
#include "node/types.hpp"

namespace slotlab::harness {

struct AdminContext {
  ClientPool& pool;
  std::function<std::uint64_t()> random;  // seeded by the world (redis-cli uses rand())
  std::vector<std::string>* log = nullptr; // redis-cli-like output lines, for reports
  Millis command_timeout_ms = 5000;
  Millis join_timeout_ms = 60000;          // --cluster-timeout

  void say(std::string line) const {
    if (log != nullptr) log->push_back(std::move(line));
  }
};

struct CreatePlan {
  std::vector<Endpoint> primaries;
  std::vector<std::pair<Endpoint, Endpoint>> replicas;  // (replica, its primary)
  std::vector<std::pair<int, int>> slot_ranges;         // per primary
};

// redis-cli --cluster create <nodes...> --cluster-replicas R
Result<CreatePlan> create_cluster(AdminContext& ctx, const std::vector<Endpoint>& nodes, int replicas);

// Waits until every node reports the same config signature (clusterManagerWaitForClusterJoin),
// re-sending CLUSTER MEET <first> to nodes that do not know everyone yet. Bounded.
Result<void> wait_for_cluster_join(AdminContext& ctx, const std::vector<Endpoint>& nodes, const Endpoint& meet_target);


// ---------------------------------------------------------------------------------------------
// The cluster as redis-cli --cluster sees it, and every other subcommand. Each operation starts
// like redis-cli's: load_cluster from an entry node (its host:port argument), then sends the same
// commands in the same order. Operations return a structured result; the lines redis-cli would
// print go to ctx.log. A failure is an Error that names the node and what it answered.
// ---------------------------------------------------------------------------------------------

// One node of the loaded cluster (clusterManagerNode).
struct AdminNode {
  std::string id;
  Endpoint endpoint;
  int bus_port = 0;
  std::vector<std::string> flags;      // its own CLUSTER NODES flags, "myself" left out
  bool replica = false;                // "slave" in the entry node's view or in its own
  std::string primary_id;              // the primary it replicates, if a replica
  std::uint64_t config_epoch = 0;
  std::bitset<kSlotCount> slots;       // from its own myself line; slot moves update it
  int slot_count = 0;                  // as loaded (redis-cli's slots_count: moves leave it)
  std::vector<std::pair<int, std::string>> migrating;  // (slot, destination id)
  std::vector<std::pair<int, std::string>> importing;  // (slot, source id)
  int replica_count = 0;               // loaded nodes that replicate it
  std::int64_t keys = -1;              // DBSIZE, for primaries, once check / fix asked (else -1)

  bool is_primary() const { return !replica; }
  bool owns(int slot) const { return slots.test(static_cast<std::size_t>(slot)); }
  std::string addr() const { return endpoint.str(); }
};

// clusterManagerLoadInfoFromNode's result: the entry node first, then every node it lists, in
// its CLUSTER NODES order, each described by its own myself line.
struct ClusterTopology {
  std::vector<AdminNode> nodes;
  // Nodes left out: flagged fail or noaddr, or unreachable. Dropped primaries are counted: fix
  // refuses to run with any (unless told otherwise).
  int unreachable_primaries = 0;
  std::vector<std::string> dropped;  // "10.0.0.3:6379 (id): why"

  AdminNode* find(std::string_view id);              // clusterManagerNodeByName (case-insensitive)
  const AdminNode* find(std::string_view id) const;
  AdminNode* find_prefix(std::string_view prefix);   // clusterManagerNodeByAbbreviatedName
  AdminNode* find(const Endpoint& e);
  // clusterManagerNodeWithLeastReplicas: the first primary with the fewest replicas.
  AdminNode* primary_with_fewest_replicas(const AdminNode* exclude = nullptr);
};

// redis-cli's ip:port/INFO/CLUSTER NODES walk: INFO (cluster_enabled:1) and CLUSTER NODES on the
// entry, then CLUSTER NODES on every node it lists. Nodes flagged fail/noaddr or unreachable are
// dropped (see ClusterTopology); `fail?` nodes are kept.
Result<ClusterTopology> load_cluster(AdminContext& ctx, const Endpoint& entry);

// The node summary redis-cli prints ("M: <id> <ip:port>", "   slots:[0-5460] (5461 slots) master",
// "   1 additional replica(s)"), one string per line, indented by `indent` spaces.
std::vector<std::string> describe_node(const AdminNode& n, int indent = 0);
// "[0-5460],[5462]" (clusterManagerNodeSlotsString).
std::string slots_string(const std::bitset<kSlotCount>& slots);

// --- check / info --------------------------------------------------------------------------

struct CheckOptions {
  bool search_multiple_owners = false;  // --cluster-search-multiple-owners
};

struct OpenSlotState {
  std::string node_id;
  Endpoint node;
  int slot = 0;
  bool migrating = false;               // else importing
  std::string peer_id;                  // destination (migrating) or source (importing)
};

struct CheckReport {
  bool ok = false;                      // redis-cli check's exit status 0
  bool agree = false;                   // "[OK] All nodes agree about slots configuration."
  std::vector<OpenSlotState> open;      // every [slot->-id] / [slot-<-id] of every node
  std::vector<int> open_slots;          // the distinct open slots, ascending
  std::vector<int> uncovered_slots;     // slots no loaded node claims, ascending
  std::vector<std::pair<int, std::vector<std::string>>> multiple_owners;  // slot -> primary ids
  std::vector<std::string> errors;      // redis-cli's cluster_manager.errors
  std::vector<std::string> lines;       // everything the check printed
  ClusterTopology topology;
};

// redis-cli --cluster check: load, DBSIZE per primary (the info table), the node summary, the
// config signatures of every node, open slots, coverage, and with the option COUNTKEYSINSLOT on
// every primary for every slot it does not own.
Result<CheckReport> check_cluster(AdminContext& ctx, const Endpoint& entry, const CheckOptions& options = {});

struct PrimaryKeys {
  std::string id;
  Endpoint endpoint;
  std::int64_t keys = 0;
  int slots = 0;
  int replicas = 0;
};

struct InfoReport {
  std::vector<PrimaryKeys> primaries;
  std::int64_t keys = 0;
};

// redis-cli --cluster info: load, then DBSIZE on every primary.
Result<InfoReport> cluster_info(AdminContext& ctx, const Endpoint& entry);

// --- slot moves ----------------------------------------------------------------------------

struct MoveOptions {
  int pipeline = 10;                 // --cluster-pipeline: keys per GETKEYSINSLOT / MIGRATE
  Millis timeout_ms = 60000;         // --cluster-timeout: MIGRATE's timeout
  bool replace = false;              // --cluster-replace
  bool fixing = false;               // running for fix (a slot found unserved gets the target as owner)
  std::size_t* keys_moved = nullptr; // if set, counts the keys MIGRATE moved
};

enum MoveFlags : unsigned {
  kMoveVerbose = 1,   // a '.' per migrated key on the "Moving slot" line
  kMoveCold = 2,      // only migrate keys: no SETSLOT IMPORTING/MIGRATING/NODE
  kMoveUpdate = 4,    // update the topology's slot bitsets
  kMoveQuiet = 8,     // no "Moving slot ..." line
  // Fix's moves pass no error pointer to clusterManagerMoveSlot, so an error from the source's
  // SETSLOT NODE is not fatal there.
  kMoveIgnoreSourceNodeError = 16,
};

// clusterManagerMoveSlot: SETSLOT IMPORTING on the target, SETSLOT MIGRATING on the source, then
// GETKEYSINSLOT/MIGRATE until the slot is empty on the source, then SETSLOT NODE on the target,
// the source and every other primary.
Result<void> move_slot(AdminContext& ctx, ClusterTopology& topo, AdminNode& source, AdminNode& target, int slot,
                       unsigned flags, const MoveOptions& options);

// --- fix -----------------------------------------------------------------------------------

struct FixOptions {
  bool search_multiple_owners = false;        // --cluster-search-multiple-owners
  bool fix_with_unreachable_masters = false;  // --cluster-fix-with-unreachable-masters
  int pipeline = 10;
  Millis timeout_ms = 60000;
  bool replace = false;
};

struct FixReport {
  bool ok = false;                     // redis-cli fix's exit status 0
  CheckReport found;                   // what the check found (before the repairs)
  std::vector<int> fixed_open_slots;
  std::vector<int> covered_slots;      // uncovered slots given an owner
  std::vector<int> fixed_multiple_owners;
};

// redis-cli --cluster fix: check, closing open slots (clusterManagerFixOpenSlot) and covering
// uncovered ones (clusterManagerFixSlotsCoverage: MULTI, DELSLOTS, ADDSLOTS, [SETSLOT STABLE],
// BUMPEPOCH, EXEC). Refuses when primaries are unreachable unless the option says otherwise.
// Unlike redis-cli it asks nothing: the call is the confirmation.
Result<FixReport> fix_cluster(AdminContext& ctx, const Endpoint& entry, const FixOptions& options = {});

// --- reshard / rebalance -------------------------------------------------------------------

struct ReshardMove {
  int slot = 0;
  std::string source_id;
};

// clusterManagerComputeReshardTable: sources by slot count (descending, stable), each giving
// its share (the first rounded up, the others down), lowest slots first, at most `slots` in all.
std::vector<ReshardMove> compute_reshard_table(const std::vector<const AdminNode*>& sources, int slots);

struct ReshardOptions {
  std::vector<std::string> from;     // primary ids, or {"all"}
  std::string to;                    // primary id
  int slots = 0;                     // 1..16384
  int pipeline = 10;
  Millis timeout_ms = 60000;
  bool replace = false;
};

struct ReshardReport {
  std::vector<ReshardMove> plan;
  int moved = 0;
  std::size_t keys_moved = 0;
};

// redis-cli --cluster reshard ... --cluster-yes.
Result<ReshardReport> reshard(AdminContext& ctx, const Endpoint& entry, const ReshardOptions& options);

struct RebalanceOptions {
  std::vector<std::pair<std::string, float>> weights;  // id (or unique prefix) -> weight
  bool use_empty_masters = false;
  float threshold = 2.0f;           // percent
  bool simulate = false;
  int pipeline = 10;
  Millis timeout_ms = 60000;
  bool replace = false;
};

struct RebalanceTransfer {
  std::string source_id;
  std::string target_id;
  int slots = 0;
};

struct RebalanceReport {
  bool needed = false;              // some node was over the threshold
  float total_weight = 0;
  std::vector<std::pair<std::string, int>> balance;  // id -> slots to give (+) or take (-), as computed
  std::vector<RebalanceTransfer> transfers;
  int moved = 0;                    // slots actually moved (0 when simulating)
};

// redis-cli --cluster rebalance.
Result<RebalanceReport> rebalance(AdminContext& ctx, const Endpoint& entry, const RebalanceOptions& options = {});

// --- add-node / del-node -------------------------------------------------------------------

struct AddNodeOptions {
  bool replica = false;             // --cluster-slave
  std::string primary_id;           // --cluster-master-id (empty: the primary with fewest replicas)
};

struct AddNodeReport {
  std::string id;                   // the new node's id
  std::string primary_id;           // for a replica
  int meets_sent = 0;               // CLUSTER MEETs sent (1 unless the node had to be re-sent one)
};

// redis-cli --cluster add-node new existing [--cluster-slave [--cluster-master-id id]]. Unlike
// redis-cli, it waits (bounded) for the new node to join, primary or replica, and re-sends
// CLUSTER MEET to a node that does not join.
Result<AddNodeReport> add_node(AdminContext& ctx, const Endpoint& new_node, const Endpoint& existing,
                               const AddNodeOptions& options = {});

struct DelNodeReport {
  std::vector<std::pair<std::string, std::string>> repointed;  // (replica id, new primary id)
  int forgets_sent = 0;
};

// redis-cli --cluster del-node entry id.
Result<DelNodeReport> del_node(AdminContext& ctx, const Endpoint& entry, const std::string& node_id);

// --- call / set-timeout --------------------------------------------------------------------

struct CallOptions {
  bool only_masters = false;        // --cluster-only-masters
  bool only_replicas = false;       // --cluster-only-replicas
};

struct NodeReply {
  std::string id;
  Endpoint endpoint;
  bool answered = false;            // false: "Failed!" (not connected, no reply)
  resp::Value reply;                // may be an error reply
  std::string failure;              // why it did not answer
};

// redis-cli --cluster call entry argv...: the command on every loaded node, in order.
Result<std::vector<NodeReply>> cluster_call(AdminContext& ctx, const Endpoint& entry, const Argv& argv,
                                            const CallOptions& options = {});

struct SetTimeoutReport {
  int ok_count = 0;
  int err_count = 0;
  std::vector<std::string> errors;  // "10.0.0.2:6379: ERR ..." per node that failed
};

// redis-cli --cluster set-timeout entry ms: CONFIG SET cluster-node-timeout, CONFIG REWRITE on
// every node; a node's error is reported, not fatal.
Result<SetTimeoutReport> set_timeout(AdminContext& ctx, const Endpoint& entry, Millis timeout_ms);

}  // namespace slotlab::harness
