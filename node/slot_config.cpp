// Who owns what: the node table, slot ownership, primary/replica relations and the configEpoch
// rules that make ownership converge (Redis cluster.c: clusterAddNode/DelNode, clusterAddSlot,
// clusterUpdateSlotsConfigWith, clusterBumpConfigEpochWithoutConsensus,
// clusterHandleConfigEpochCollision, clusterSetMaster, clusterHandleSlaveMigration, clusterReset).
//
// The protocol argument in one paragraph: a slot belongs to the primary that claims it with the
// greatest configEpoch. Epochs are unique when they come from an election (a majority of primaries
// voted for that epoch), and made unique after the fact by the collision rule when an operator or
// a TAKEOVER assigned one without consensus. Nodes that learn about a newer claim rebind the slot;
// nodes that see an older claim send the claimer an UPDATE about the newer owner.
#include <algorithm>
#include <cstring>

#include "node/node.hpp"

namespace slotlab {

namespace {
// Word w (slots 64w .. 64w+63) of a slot bitmap; zero when none of them is set.
std::uint64_t bitmap_word(const bus::SlotBitmap& bm, int w) {
  std::uint64_t word;
  std::memcpy(&word, bm.bytes.data() + static_cast<std::size_t>(w) * 8, sizeof word);
  return word;
}
}  // namespace

std::unique_ptr<ClusterNode> Node::create_node(const NodeId* name, std::uint16_t flags) {
  auto node = std::make_unique<ClusterNode>();
  node->name = name != nullptr ? *name : random_node_id();
  node->ctime_ms = now_ms();
  node->flags = flags;
  return node;
}

ClusterNode* Node::add_node(std::unique_ptr<ClusterNode> node) {
  ClusterNode* raw = node.get();
  auto [it, inserted] = cluster_.nodes.emplace(raw->name, std::move(node));
  SLOTLAB_ASSERT_MSG(inserted, "node added twice");
  cluster_.by_name.insert(raw);
  cluster_.order.push_back(raw);
  by_name_insert(raw);
  trace(TraceKind::node_added, raw->name);
  return raw;
}

void Node::rebuild_node_order() {
  cluster_.order.clear();
  cluster_.order.reserve(cluster_.nodes.size());
  for (auto& [id, n] : cluster_.nodes) cluster_.order.push_back(n.get());
}

// clusterDelNode: unassign its slots, drop the failure reports it sent, unlink it from its
// primary/replicas, free its links.
void Node::del_node(ClusterNode* delnode) {
  SLOTLAB_ASSERT(delnode != cluster_.myself);
  cluster_.open_slots.forget(delnode);
  if (delnode->numslots > 0) {
    for (int j = 0; j < kSlotCount; ++j)
      if (cluster_.slots[static_cast<size_t>(j)] == delnode) del_slot(j);
  }
  for (ClusterNode* n : cluster_.order) {
    if (n != delnode) del_failure_report(n, delnode);
  }
  for (ClusterNode* r : delnode->replicas) r->primary = nullptr;
  if (delnode->is_replica() && delnode->primary != nullptr) node_remove_replica(delnode->primary, delnode);
  if (cluster_.mf_replica == delnode) cluster_.mf_replica = nullptr;
  if (delnode->link != nullptr) free_link(delnode->link);
  if (delnode->inbound_link != nullptr) free_link(delnode->inbound_link);
  NodeId name = delnode->name;
  trace(TraceKind::node_removed, name);
  auto it = cluster_.nodes.find(name);
  SLOTLAB_ASSERT(it != cluster_.nodes.end() && it->second.get() == delnode);
  cluster_.order.erase(std::find(cluster_.order.begin(), cluster_.order.end(), delnode));
  by_name_erase(delnode);
  cluster_.by_name.erase(name, delnode);
  cluster_.nodes.erase(it);
}

void Node::rename_node(ClusterNode* node, const NodeId& new_name) {
  logf(LogLevel::debug, "Renaming node {} into {}", node->name.view(), new_name.view());
  auto handle = cluster_.nodes.extract(node->name);
  SLOTLAB_ASSERT(!handle.empty());
  handle.key() = new_name;
  cluster_.by_name.erase(node->name, node);
  by_name_erase(node);
  node->name = new_name;
  auto res = cluster_.nodes.insert(std::move(handle));
  SLOTLAB_ASSERT(res.inserted);
  cluster_.by_name.insert(node);
  by_name_insert(node);
}

// nodes_by_name_: the node table in id order, as a vector (see node.hpp).
void Node::by_name_insert(ClusterNode* n) {
  auto at = std::lower_bound(nodes_by_name_.begin(), nodes_by_name_.end(), n,
                             [](const ClusterNode* a, const ClusterNode* b) { return a->name < b->name; });
  nodes_by_name_.insert(at, n);
}

void Node::by_name_erase(ClusterNode* n) {
  auto at = std::lower_bound(nodes_by_name_.begin(), nodes_by_name_.end(), n,
                             [](const ClusterNode* a, const ClusterNode* b) { return a->name < b->name; });
  SLOTLAB_ASSERT(at != nodes_by_name_.end() && *at == n);
  nodes_by_name_.erase(at);
}

// The FORGET blacklist: a forgotten node may not be re-added from gossip for 60 s, which gives
// redis-cli time to send CLUSTER FORGET to every node.
static constexpr Millis kBlacklistTtlMs = 60'000;

bool Node::blacklist_exists(const NodeId& id) {
  Millis now = now_ms();
  for (auto it = cluster_.blacklist.begin(); it != cluster_.blacklist.end();) {
    if (it->second < now) {
      it = cluster_.blacklist.erase(it);
    } else {
      ++it;
    }
  }
  return cluster_.blacklist.count(id) != 0;
}

void Node::blacklist_add(const NodeId& id) {
  blacklist_exists(id);  // cleanup
  // Redis stores whole seconds (expire = unix seconds + 60) and drops the entry once the clock's
  // second is past it; the +999 reproduces that.
  cluster_.blacklist[id] = (now_ms() / 1000) * 1000 + kBlacklistTtlMs + 999;
}

bool Node::node_add_replica(ClusterNode* primary, ClusterNode* replica) {
  if (std::find(primary->replicas.begin(), primary->replicas.end(), replica) != primary->replicas.end()) return false;
  primary->replicas.push_back(replica);
  primary->flags |= kNodeMigrateTo;
  return true;
}

bool Node::node_remove_replica(ClusterNode* primary, ClusterNode* replica) {
  auto it = std::find(primary->replicas.begin(), primary->replicas.end(), replica);
  if (it == primary->replicas.end()) return false;
  primary->replicas.erase(it);
  if (primary->replicas.empty()) primary->flags &= static_cast<std::uint16_t>(~kNodeMigrateTo);
  return true;
}

int Node::count_non_failing_replicas(const ClusterNode* n) const {
  int ok = 0;
  for (const ClusterNode* r : n->replicas)
    if (!r->failed()) ++ok;
  return ok;
}

bool Node::primaries_have_replicas() const {
  for (const ClusterNode* n : cluster_.order) {
    if (n->is_replica()) continue;
    if (!n->replicas.empty()) return true;
  }
  return false;
}

bool Node::node_set_slot_bit(ClusterNode* n, int slot) {
  bool old = n->slots.test(static_cast<Slot>(slot));
  n->slots.set(static_cast<Slot>(slot));
  if (!old) {
    ++n->numslots;
    // A primary getting its first slot becomes a replica-migration target if other primaries have
    // replicas (redis/redis#3043).
    if (n->numslots == 1 && primaries_have_replicas()) n->flags |= kNodeMigrateTo;
  }
  return old;
}

bool Node::node_clear_slot_bit(ClusterNode* n, int slot) {
  bool old = n->slots.test(static_cast<Slot>(slot));
  n->slots.clear(static_cast<Slot>(slot));
  if (old) --n->numslots;
  return old;
}

bool Node::add_slot(ClusterNode* n, int slot) {
  auto s = static_cast<size_t>(slot);
  if (cluster_.slots[s] != nullptr) return false;
  node_set_slot_bit(n, slot);
  cluster_.slots[s] = n;
  ++cluster_.slots_generation;
  return true;
}

bool Node::del_slot(int slot) {
  auto s = static_cast<size_t>(slot);
  ClusterNode* n = cluster_.slots[s];
  if (n == nullptr) return false;
  bool was_set = node_clear_slot_bit(n, slot);
  SLOTLAB_ASSERT(was_set);
  cluster_.slots[s] = nullptr;
  ++cluster_.slots_generation;
  return true;
}

int Node::del_node_slots(ClusterNode* n) {
  int deleted = 0;
  for (int j = 0; j < kSlotCount; ++j) {
    if (n->slots.test(static_cast<Slot>(j))) {
      del_slot(j);
      ++deleted;
    }
  }
  return deleted;
}

void Node::close_all_slots() {
  cluster_.open_slots.clear_all();
}

bool Node::is_slot_unclaimed(int slot) const {
  return cluster_.slots[static_cast<size_t>(slot)] == nullptr ||
         cluster_.owner_not_claiming_slot.test(static_cast<Slot>(slot));
}

// clusterSetNodeAsMaster: a node we believed to be a replica now acts as a primary.
void Node::set_node_as_primary(ClusterNode* n) {
  if (n->is_primary()) return;
  if (n->primary != nullptr) {
    node_remove_replica(n->primary, n);
    if (n != cluster_.myself) n->flags |= kNodeMigrateTo;
  }
  n->flags &= static_cast<std::uint16_t>(~kNodeReplica);
  n->flags |= kNodePrimary;
  n->primary = nullptr;
  do_before_sleep(kTodoSaveConfig | kTodoUpdateState);
}

// clusterSetMaster: make `n` our primary; if we are a primary we become its replica.
void Node::set_my_primary(ClusterNode* n) {
  ClusterNode* me = cluster_.myself;
  SLOTLAB_ASSERT(n != me);
  SLOTLAB_ASSERT(me->numslots == 0);
  if (me->is_primary()) {
    me->flags &= static_cast<std::uint16_t>(~(kNodePrimary | kNodeMigrateTo));
    me->flags |= kNodeReplica;
    close_all_slots();
  } else if (me->primary != nullptr) {
    node_remove_replica(me->primary, me);
  }
  me->primary = n;
  node_add_replica(n, me);
  replication_set_primary(n->ip, n->port);
  reset_manual_failover();
  trace(TraceKind::role_changed, n->name);
}

std::uint64_t Node::max_epoch() const {
  std::uint64_t max = 0;
  for (const ClusterNode* n : cluster_.order) max = std::max(max, n->config_epoch.v);
  return std::max(max, cluster_.current_epoch.v);
}

// Assigns ourselves a new configEpoch without asking anyone, if ours is zero or not the greatest.
// Used when closing an imported slot, by FAILOVER TAKEOVER and by CLUSTER BUMPEPOCH. It can break
// "last failover wins", which is why only operator actions use it; collisions are resolved below.
bool Node::bump_config_epoch_without_consensus() {
  std::uint64_t max = max_epoch();
  ClusterNode* me = cluster_.myself;
  if (me->config_epoch.v == 0 || me->config_epoch.v != max) {
    cluster_.current_epoch.v++;
    me->config_epoch.v = cluster_.current_epoch.v;
    do_before_sleep(kTodoSaveConfig | kTodoFsyncConfig);
    logf(LogLevel::warning, "New configEpoch set to {}", me->config_epoch.v);
    trace(TraceKind::config_epoch_changed, me->name, me->config_epoch.v);
    return true;
  }
  return false;
}

// Two primaries with the same configEpoch: the one with the lexicographically smaller node id
// moves to a new epoch (currentEpoch + 1), so the greatest id never moves and all end distinct.
void Node::handle_config_epoch_collision(ClusterNode* sender) {
  ClusterNode* me = cluster_.myself;
  if (sender->config_epoch != me->config_epoch || !sender->is_primary() || !me->is_primary()) return;
  if (!(me->name < sender->name)) return;  // memcmp(sender, myself) <= 0: the sender has the smaller id
  cluster_.current_epoch.v++;
  me->config_epoch.v = cluster_.current_epoch.v;
  save_nodes_conf_or_die(true);
  logf(LogLevel::verbose, "WARNING: configEpoch collision with node {}. configEpoch set to {}", sender->name.view(),
       me->config_epoch.v);
  trace(TraceKind::config_epoch_changed, me->name, me->config_epoch.v, 0, "collision");
}

// clusterUpdateSlotsConfigWith: `sender` claims `slots` with `sender_config_epoch` (from a PING,
// PONG or UPDATE). Rebind every slot it claims whose current owner has a smaller epoch (or none);
// if that leaves our primary (or us) without slots, follow the sender as a replica.
void Node::update_slots_config_with(ClusterNode* sender, std::uint64_t sender_config_epoch,
                                    const bus::SlotBitmap& slots) {
  ClusterNode* me = cluster_.myself;
  if (sender == me) {
    log(LogLevel::warning, "Discarding UPDATE message about myself.");
    return;
  }
  ClusterNode* curprimary = me->is_primary() ? me : me->primary;
  ClusterNode* newprimary = nullptr;
  int sender_slots = 0;
  int migrated_our_slots = 0;
  int my_slots_before = me->numslots;
  // Slots we lose while still holding keys in them (dirty_slots).
  std::vector<int> dirty_slots;

  // Slot by slot, in ascending order, skipping 64-slot words where nothing can happen: a slot
  // the sender neither claims in `slots` nor owns in our table is left alone by the loop body,
  // and the table names the sender exactly where its bitmap has the slot's bit (add_slot and
  // del_slot, the only writers of either, change both). Checked as one word of each bitmap
  // instead of 64 table entries: during a join every primary's first PING or PONG brings here
  // a claim of 16384/N slots (issue 7).
  for (int j = 0; j < kSlotCount; ++j) {
    if (j % 64 == 0 && (bitmap_word(slots, j / 64) | bitmap_word(sender->slots, j / 64)) == 0) {
      j += 63;
      continue;
    }
    auto s = static_cast<size_t>(j);
    if (slots.test(static_cast<Slot>(j))) {
      ++sender_slots;
      if (cluster_.slots[s] == sender) {
        cluster_.owner_not_claiming_slot.clear(static_cast<Slot>(j));
        continue;
      }
      // A slot we are importing changes only by hand (redis-cli closes it).
      if (cluster_.open_slots.importing(j) != nullptr) continue;
      if (is_slot_unclaimed(j) || cluster_.slots[s]->config_epoch.v < sender_config_epoch) {
        if (cluster_.slots[s] == me && db(0).count_in_slot(static_cast<Slot>(j)) != 0) dirty_slots.push_back(j);
        if (cluster_.slots[s] == curprimary && curprimary != nullptr) {
          newprimary = sender;
          ++migrated_our_slots;
        }
        del_slot(j);
        add_slot(sender, j);
        cluster_.owner_not_claiming_slot.clear(static_cast<Slot>(j));
        do_before_sleep(kTodoSaveConfig | kTodoUpdateState | kTodoFsyncConfig);
      }
    } else if (cluster_.slots[s] == sender) {
      // The sender stopped claiming it: keep the binding (fewer client errors) but remember the
      // doubt, so we never send UPDATEs based on it.
      cluster_.owner_not_claiming_slot.set(static_cast<Slot>(j));
    }
  }
  if (me->numslots != my_slots_before) trace(TraceKind::slots_changed, me->name, 0, me->numslots);

  if (newprimary != nullptr && curprimary->numslots == 0 &&
      (config_.cluster_allow_replica_migration || sender_slots == migrated_our_slots)) {
    logf(LogLevel::warning, "Configuration change detected. Reconfiguring myself as a replica of {}",
         sender->name.view());
    set_my_primary(sender);
    do_before_sleep(kTodoSaveConfig | kTodoUpdateState | kTodoFsyncConfig);
  } else if (me->primary != nullptr && me->primary->primary != nullptr && me->primary->primary != me) {
    // Safeguard against sub-replicas: our primary became a replica; follow its primary.
    logf(LogLevel::warning, "I'm a sub-replica! Reconfiguring myself as a replica of grandmaster {}",
         me->primary->primary->name.view());
    set_my_primary(me->primary->primary);
    do_before_sleep(kTodoSaveConfig | kTodoUpdateState | kTodoFsyncConfig);
  } else if (!dirty_slots.empty()) {
    // Still a primary, but some slots we held keys in now belong to another node: drop those keys
    // so that our keys always match our slots (delKeysInSlot). As in Redis 7.0 the deletions are
    // not propagated. A node that became a replica instead loses everything at its full sync.
    for (int j : dirty_slots) {
      std::size_t n = db(0).erase_slot(static_cast<Slot>(j));
      logf(LogLevel::notice, "Deleted {} keys of hash slot {}, now served by {}", n, j, sender->name.view());
    }
  }
}

void Node::send_update(ClusterLink* link, ClusterNode* node) {
  if (link == nullptr) return;
  bus::Message msg;
  msg.hdr = build_header(bus::MsgType::update);
  msg.update_node = node->name;
  msg.update_config_epoch = node->config_epoch.v;
  msg.update_slots = node->slots;
  // Don't advertise slots the node stopped claiming.
  for (int j = 0; j < kSlotCount; ++j) {
    if (cluster_.owner_not_claiming_slot.test(static_cast<Slot>(j))) msg.update_slots.clear(static_cast<Slot>(j));
  }
  send_message(link, bus::encode(msg), bus::MsgType::update);
}

// Replica migration (clusterHandleSlaveMigration): a replica of a primary with the most working
// replicas moves to an orphaned primary, if that leaves its own primary with more than
// migration-barrier replicas, it is the smallest-id candidate, and the orphan has been orphaned
// for more than 5 s.
void Node::handle_replica_migration(int max_replicas) {
  static constexpr Millis kMigrationDelayMs = 5000;
  if (cluster_.state != ClusterHealth::ok) return;
  ClusterNode* me = cluster_.myself;
  ClusterNode* myprimary = me->primary;
  if (myprimary == nullptr) return;
  int okreplicas = 0;
  for (ClusterNode* r : myprimary->replicas)
    if (!r->failed() && !r->timed_out()) ++okreplicas;
  if (okreplicas <= config_.cluster_migration_barrier) return;

  ClusterNode* target = nullptr;
  ClusterNode* candidate = me;
  Millis now = now_ms();
  for (ClusterNode* node : cluster_.order) {
    int ok = 0;
    bool orphaned = true;
    if (node->is_replica() || node->failed()) orphaned = false;
    if ((node->flags & kNodeMigrateTo) == 0) orphaned = false;
    if (node->is_primary()) ok = count_non_failing_replicas(node);
    if (ok > 0) orphaned = false;
    if (orphaned) {
      if (target == nullptr && node->numslots > 0) target = node;
      if (node->orphaned_time_ms == 0) node->orphaned_time_ms = now;
    } else {
      node->orphaned_time_ms = 0;
    }
    if (ok == max_replicas) {
      for (ClusterNode* r : node->replicas)
        if (r->name < candidate->name) candidate = r;
    }
  }
  if (target != nullptr && candidate == me && now - target->orphaned_time_ms > kMigrationDelayMs) {
    logf(LogLevel::warning, "Migrating to orphaned master {}", target->name.view());
    set_my_primary(target);
  }
}

void Node::update_myself_flags() {
  ClusterNode* me = cluster_.myself;
  if (me == nullptr) return;
  std::uint16_t old = me->flags;
  me->flags &= static_cast<std::uint16_t>(~kNodeNofailover);
  if (config_.cluster_replica_no_failover) me->flags |= kNodeNofailover;
  if (me->flags != old) do_before_sleep(kTodoSaveConfig | kTodoUpdateState);
}

// CLUSTER RESET: forget every other node, release slots, turn into an empty primary; HARD also
// zeroes the epochs and picks a new node id.
void Node::cluster_reset(bool hard) {
  ClusterNode* me = cluster_.myself;
  if (me->is_replica()) {
    set_node_as_primary(me);
    replication_unset_primary();
    trace(TraceKind::role_changed, NodeId{});
    // A replica's data was its primary's: it goes with the role (emptyData).
    for (auto& ks : dbs_) ks->clear();
  }
  close_all_slots();
  reset_manual_failover();
  for (int j = 0; j < kSlotCount; ++j) del_slot(j);
  std::vector<ClusterNode*> others;
  for (ClusterNode* n : cluster_.order)
    if (n != me) others.push_back(n);
  for (ClusterNode* n : others) del_node(n);
  if (hard) {
    cluster_.current_epoch.v = 0;
    cluster_.last_vote_epoch = 0;
    me->config_epoch.v = 0;
    log(LogLevel::warning, "configEpoch set to 0 via CLUSTER RESET HARD");
    rename_node(me, random_node_id());
    logf(LogLevel::notice, "Node hard reset, now I'm {}", me->name.view());
  }
  do_before_sleep(kTodoSaveConfig | kTodoUpdateState | kTodoFsyncConfig);
}

}  // namespace slotlab
