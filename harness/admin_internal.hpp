// Building blocks shared by the admin_*.cpp files (not part of the harness API): sending one
// command to one node with redis-cli's error conventions, SETSLOT and friends, and the check
// that check, fix, reshard, rebalance and add-node all run.
#pragma once

#include <string>

#include "harness/admin.hpp"

namespace slotlab::harness::admin_detail {

// Sends argv to `to` and waits for its reply (ctx.command_timeout_ms unless timeout_ms > 0).
// A transport failure (no connection, no reply) is an Error naming the node; an error reply is
// returned as a value.
Result<resp::Value> send(AdminContext& ctx, const Endpoint& to, const Argv& argv, Millis timeout_ms = 0);

// As send, but an error reply is also an Error: "Node <ip:port> replied with error: <reply>"
// (clusterManagerCheckRedisReply), and redis-cli's two lines go to the log unless quiet.
Result<resp::Value> send_ok(AdminContext& ctx, const Endpoint& to, const Argv& argv, Millis timeout_ms = 0,
                            bool quiet = false);

// "Node <ip:port> replied with error:" + the error, as redis-cli prints it (two lines).
void say_reply_error(AdminContext& ctx, const Endpoint& node, const std::string& error);
Error reply_error(const Endpoint& node, const std::string& error);

// CLUSTER SETSLOT <slot> <action> [<node_id>] on `node` (clusterManagerSetSlot / ClearSlotStatus).
Result<void> set_slot(AdminContext& ctx, const AdminNode& node, int slot, const std::string& action,
                      const std::string& node_id = {});

// clusterManagerSetSlotOwner: MULTI; CLUSTER DELSLOTS s; CLUSTER ADDSLOTS s; [CLUSTER SETSLOT s
// STABLE]; CLUSTER BUMPEPOCH; EXEC, where only an ADDSLOTS error inside EXEC counts.
Result<void> set_slot_owner(AdminContext& ctx, const AdminNode& owner, int slot, bool clear_status);

// CLUSTER COUNTKEYSINSLOT on a node: the count or an Error.
Result<std::int64_t> count_keys_in_slot(AdminContext& ctx, const AdminNode& node, int slot);

// clusterManagerGetSlotOwner: the node serving `slot` according to `node`'s CLUSTER SLOTS;
// nullptr when unassigned (an Error when the reply is an error).
Result<AdminNode*> get_slot_owner(AdminContext& ctx, ClusterTopology& topo, const AdminNode& node, int slot);

// clusterManagerCheckCluster. With `fix` set, repairs what it finds (admin_fix.cpp) and records
// the repairs in *fixed. Fills `report` (not its topology). An Error means a repair failed (the
// check still ran to its end) or was refused (unreachable primaries: redis-cli exits there).
Result<void> check_topology(AdminContext& ctx, ClusterTopology& topo, bool quiet, bool search_multiple_owners,
                            CheckReport& report, const FixOptions* fix = nullptr, FixReport* fixed = nullptr);

// clusterManagerShowClusterInfo: DBSIZE on every primary, the per-primary lines and the totals.
Result<InfoReport> show_cluster_info(AdminContext& ctx, const ClusterTopology& topo);
// Copies the DBSIZE answers into the topology's nodes (AdminNode::keys).
void record_keys(const InfoReport& info, ClusterTopology& topo);

// Repairs (admin_fix.cpp), called by check_topology in fix mode.
Result<void> fix_open_slot(AdminContext& ctx, ClusterTopology& topo, int slot, const FixOptions& options);
Result<int> fix_slots_coverage(AdminContext& ctx, ClusterTopology& topo, const std::vector<int>& uncovered,
                               const FixOptions& options, std::vector<int>& covered);
Result<void> fix_multiple_slot_owners(AdminContext& ctx, ClusterTopology& topo, int slot,
                                      const std::vector<AdminNode*>& owners, const FixOptions& options);

MoveOptions move_options(const FixOptions& o);

// "10.0.0.1:6379" list joined with ", " style helpers.
std::string join(const std::vector<std::string>& items, const std::string& sep);

}  // namespace slotlab::harness::admin_detail
