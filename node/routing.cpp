// Cluster routing of client commands (Redis cluster.c getNodeByQuery and clusterRedirectClient):
// before a command with keys runs, decide whether this node may serve it, and if not, which
// redirection or error the client gets.
//
// The rules, in Redis's order:
//  1. All keys of the command (for EXEC: of every queued command) must hash to one slot, else
//     -CROSSSLOT. The first key's slot decides; a slot nobody serves is -CLUSTERDOWN Hash slot
//     not served.
//  2. A cluster that is down serves nothing with keys (-CLUSTERDOWN The cluster is down), or with
//     cluster-allow-reads-when-down only reads (-CLUSTERDOWN ... only accepts read commands).
//  3. A slot we are migrating: if some keys are missing here, the client goes to the target with
//     -ASK when none of its keys is here, or gets -TRYAGAIN when only some are (a multi-key command
//     cannot be split while keys move). MIGRATE itself always runs locally in an open slot.
//  4. A slot we are importing is served only to a client that sent ASKING just before (or to a
//     command flagged as asking, RESTORE-ASKING); a multi-key command with missing keys gets
//     -TRYAGAIN.
//  5. A replica serves reads of its primary's slots to READONLY clients.
//  6. Otherwise the slot's owner serves it: anyone else answers -MOVED <slot> <endpoint>:<port>,
//     which also sends a replica's non-READONLY clients (reads and writes) to the primary.
// Key presence during migration ignores expired keys but never deletes them (LOOKUP_NOEXPIRE).
// Nothing here allocates for a command whose keys are given by position (GET, SET, ...).
#include "node/commands.hpp"
#include "node/crc.hpp"

namespace slotlab {

namespace {

// getKeysFromCommand without building the list, for the commands whose keys are positional.
// `fn` returns false to stop.
template <class Fn>
void for_each_key(const CommandSpec& cmd, const Argv& argv, Fn&& fn) {
  if (cmd.getkeys != nullptr) {
    for (std::size_t i : cmd.getkeys(argv))
      if (!fn(argv[i])) return;
    return;
  }
  if (cmd.first_key <= 0) return;
  auto argc = static_cast<int>(argv.size());
  int last = cmd.last_key < 0 ? argc + cmd.last_key : cmd.last_key;
  int step = cmd.key_step <= 0 ? 1 : cmd.key_step;
  for (int i = cmd.first_key; i <= last && i < argc; i += step)
    if (!fn(argv[static_cast<std::size_t>(i)])) return;
}

}  // namespace

bool Node::command_is_routed(const CommandSpec& cmd) const {
  return cmd.first_key > 0 || cmd.getkeys != nullptr || cmd.handler == &Node::cmd_exec;
}

Node::Route Node::route_query(const Client& c, const CommandSpec& cmd, const Argv& argv) const {
  const ClusterNode* me = cluster_.myself;
  Route route;
  route.node = me;
  const bool is_exec = cmd.handler == &Node::cmd_exec;
  if (is_exec && !c.in_multi) return route;  // EXEC will only answer an error

  const ClusterNode* n = nullptr;
  const std::string* first_key = nullptr;
  int slot = 0;
  bool multiple_keys = false, migrating_slot = false, importing_slot = false;
  int missing_keys = 0, existing_keys = 0;
  Redirect error = Redirect::none;
  const Keyspace& ks = *dbs_[0];
  const Millis now = now_ms();

  auto visit = [&](const std::string& key) {
    int this_slot = key_hash_slot(key);
    if (first_key == nullptr) {
      first_key = &key;
      slot = this_slot;
      n = cluster_.slots[static_cast<std::size_t>(slot)];
      if (n == nullptr) {
        error = Redirect::down_unbound;
        return false;
      }
      if (n == me && cluster_.open_slots.migrating(slot) != nullptr) {
        migrating_slot = true;
      } else if (cluster_.open_slots.importing(slot) != nullptr) {
        importing_slot = true;
      }
    } else if (key != *first_key) {
      if (this_slot != slot) {
        error = Redirect::cross_slot;
        return false;
      }
      multiple_keys = true;
    }
    if (migrating_slot || importing_slot) {
      const KeyEntry* e = ks.find(key);
      if (e == nullptr || (e->expire_ms >= 0 && e->expire_ms < now)) {
        ++missing_keys;
      } else {
        ++existing_keys;
      }
    }
    return true;
  };

  if (is_exec) {
    for (const Argv& queued : c.multi_queue) {
      if (const CommandSpec* q = lookup_command(queued)) for_each_key(*q, queued, visit);
      if (error != Redirect::none) break;
    }
  } else {
    for_each_key(cmd, argv, visit);
  }
  if (error != Redirect::none) {
    route.node = nullptr;
    route.code = error;
    return route;
  }
  if (n == nullptr) return route;  // no key at all: served here

  // The command's own flags (for EXEC, EXEC's), as Redis's getCommandFlags(c).
  if (cluster_.state != ClusterHealth::ok) {
    if (!config_.cluster_allow_reads_when_down) {
      route.node = nullptr;
      route.code = Redirect::down_state;
      return route;
    }
    if ((cmd.flags & kCmdWrite) != 0) {
      route.node = nullptr;
      route.code = Redirect::down_ro_state;
      return route;
    }
  }
  route.slot = slot;
  if ((migrating_slot || importing_slot) && cmd.handler == &Node::cmd_migrate) return route;
  if (migrating_slot && missing_keys > 0) {
    if (existing_keys > 0) {
      route.node = nullptr;
      route.code = Redirect::unstable;
    } else {
      route.node = cluster_.open_slots.migrating(slot);
      route.code = Redirect::ask;
    }
    return route;
  }
  if (importing_slot && (c.asking || (cmd.flags & kCmdAsking) != 0)) {
    if (multiple_keys && missing_keys > 0) {
      route.node = nullptr;
      route.code = Redirect::unstable;
    }
    return route;
  }
  bool is_write = (cmd.flags & kCmdWrite) != 0 || (is_exec && (queued_flags(c) & kCmdWrite) != 0);
  if (c.readonly && !is_write && me->is_replica() && me->primary == n) return route;
  if (n != me) {
    route.node = n;
    route.code = Redirect::moved;
  }
  return route;
}

std::string Node::redirect_error(const Route& route) const {
  switch (route.code) {
    case Redirect::cross_slot: return "CROSSSLOT Keys in request don't hash to the same slot";
    case Redirect::unstable: return "TRYAGAIN Multiple keys request during rehashing of slot";
    case Redirect::down_state: return "CLUSTERDOWN The cluster is down";
    case Redirect::down_ro_state: return "CLUSTERDOWN The cluster is down and only accepts read commands";
    case Redirect::down_unbound: return "CLUSTERDOWN Hash slot not served";
    case Redirect::moved:
    case Redirect::ask: {
      const ClusterNode* n = route.node;
      // getPreferredEndpoint.
      std::string_view endpoint = n->ip;
      if (config_.cluster_preferred_endpoint_type == "hostname") {
        endpoint = n->hostname.empty() ? std::string_view("?") : std::string_view(n->hostname);
      } else if (config_.cluster_preferred_endpoint_type == "unknown-endpoint") {
        endpoint = "";
      }
      return fmt::format("{} {} {}:{}", route.code == Redirect::ask ? "ASK" : "MOVED", route.slot, endpoint, n->port);
    }
    case Redirect::none: break;
  }
  SLOTLAB_ASSERT_MSG(false, "redirect_error without a redirection");
  return "ERR internal routing error";
}

}  // namespace slotlab
