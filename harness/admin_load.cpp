// Loading a cluster the way redis-cli --cluster does before every subcommand
// (clusterManagerLoadInfoFromNode, redis-cli.c L4755):
//  1. the entry node: INFO (must say cluster_enabled:1), then CLUSTER NODES; every line but its
//     own becomes a "friend" with what the entry knows about it (address, flags, primary);
//  2. each friend: connect to the address the entry printed, CLUSTER NODES, and keep only the
//     friend's own myself line (id, flags, slots, open slots): a node is described by itself;
//  3. a friend without an address, unreachable, or flagged fail/noaddr (by the entry or by
//     itself) is dropped, and counted when it is a primary (fix refuses to run with any);
//  4. replicas are counted per primary; a replica of an unknown id is a warning.
// Also the small pieces every operation shares: sending with redis-cli's error conventions,
// SETSLOT, the transaction that sets a slot's owner, and the node summary lines.
#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "harness/admin.hpp"
#include "harness/admin_internal.hpp"

namespace slotlab::harness {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool dropped_flag(const std::vector<std::string>& flags) {
  for (const auto& f : flags)
    if (f == "noaddr" || f == "fail" || f == "disconnected") return true;
  return false;
}

std::vector<std::string> without_myself(const std::vector<std::string>& flags) {
  std::vector<std::string> out;
  for (const auto& f : flags)
    if (f != "myself") out.push_back(f);
  return out;
}

// What a node's own myself line says about it (clusterManagerNodeLoadInfo without friends).
void apply_own_line(AdminNode& n, const NodeLine& me) {
  n.id = me.id;
  n.bus_port = me.bus_port;
  n.flags = without_myself(me.flags);
  if (me.is_replica()) {
    n.replica = true;  // a flag, OR-ed into what the entry said
    n.primary_id = me.primary_id;
  }
  n.config_epoch = me.config_epoch;
  n.slots.reset();
  n.slot_count = 0;
  for (auto [a, b] : me.slots) {
    for (int s = a; s <= b && s < kSlotCount; ++s) {
      if (s >= 0) n.slots.set(static_cast<std::size_t>(s));
    }
    n.slot_count += b - a + 1;
  }
  n.migrating = me.migrating;
  n.importing = me.importing;
}

}  // namespace

// --- ClusterTopology -----------------------------------------------------------------------

AdminNode* ClusterTopology::find(std::string_view id) {
  std::string want = lower(id);
  for (auto& n : nodes)
    if (!n.id.empty() && n.id == want) return &n;
  return nullptr;
}

const AdminNode* ClusterTopology::find(std::string_view id) const {
  return const_cast<ClusterTopology*>(this)->find(id);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
}

AdminNode* ClusterTopology::find_prefix(std::string_view prefix) {
  std::string want = lower(prefix);
  for (auto& n : nodes)
    if (!n.id.empty() && n.id.rfind(want, 0) == 0) return &n;
  return nullptr;
}

AdminNode* ClusterTopology::find(const Endpoint& e) {
  for (auto& n : nodes)
    if (n.endpoint == e) return &n;
  return nullptr;
}

AdminNode* ClusterTopology::primary_with_fewest_replicas(const AdminNode* exclude) {
  AdminNode* best = nullptr;
  for (auto& n : nodes) {
    if (n.replica || &n == exclude) continue;
    if (best == nullptr || n.replica_count < best->replica_count) best = &n;
  }
  return best;
}

// --- output --------------------------------------------------------------------------------

std::string slots_string(const std::bitset<kSlotCount>& slots) {
  std::string out;
  int first = -1;
  int last = -1;
  auto close_range = [&] {
    if (last < 0) return;
    out += first == last ? "]" : fmt::format("-{}]", last);
  };
  for (int i = 0; i < kSlotCount; ++i) {
    if (slots.test(static_cast<std::size_t>(i))) {
      if (first == -1) {
        if (!out.empty()) out += ',';
        first = i;
        out += fmt::format("[{}", i);
      }
      last = i;
    } else {
      close_range();
      first = -1;
      last = -1;
    }
  }
  close_range();
  return out;
}

std::vector<std::string> describe_node(const AdminNode& n, int indent) {
  std::string spaces(static_cast<std::size_t>(indent), ' ');
  std::vector<std::string> lines;
  lines.push_back(fmt::format("{}{}: {} {}", spaces, n.replica ? "S" : "M", n.id, n.addr()));
  std::string flags;
  for (const auto& f : n.flags) flags += (flags.empty() ? "" : ",") + f;
  lines.push_back(fmt::format("{}   slots:{} ({} slots) {}", spaces, slots_string(n.slots), n.slot_count, flags));
  if (n.replica) {
    lines.push_back(fmt::format("{}   replicates {}", spaces, n.primary_id));
  } else if (n.replica_count > 0) {
    lines.push_back(fmt::format("{}   {} additional replica(s)", spaces, n.replica_count));
  }
  return lines;
}

// --- load ----------------------------------------------------------------------------------

Result<ClusterTopology> load_cluster(AdminContext& ctx, const Endpoint& entry) {
  using admin_detail::reply_error;
  using admin_detail::say_reply_error;
  using admin_detail::send;

  if (auto c = ctx.pool.get(entry).ensure_connected(ctx.command_timeout_ms); !c) {
    ctx.say(c.error().message);
    return c.error();
  }
  auto info = send(ctx, entry, {"INFO"});
  if (!info) return info.error();
  if (info->is_error()) {
    ctx.say(fmt::format("[ERR] Node {} {}", entry.str(), info->str));
    return make_error(Errc::state, fmt::format("[ERR] Node {} {}", entry.str(), info->str));
  }
  if (parse_info(info->str)["cluster_enabled"] != "1") {
    std::string msg = fmt::format("[ERR] Node {} is not configured as a cluster node.", entry.str());
    ctx.say(msg);
    return make_error(Errc::state, msg);
  }
  auto nodes_text = send(ctx, entry, {"CLUSTER", "NODES"});
  if (!nodes_text) return nodes_text.error();
  if (nodes_text->is_error()) {
    say_reply_error(ctx, entry, nodes_text->str);
    return reply_error(entry, nodes_text->str);
  }
  auto lines = parse_cluster_nodes(nodes_text->str);
  if (!lines) {
    return make_error(Errc::protocol, fmt::format("Node {}: invalid CLUSTER NODES reply: {}", entry.str(), lines.error().message));
  }

  ClusterTopology topo;
  AdminNode first;
  first.endpoint = entry;
  first.bus_port = entry.port + kBusPortIncr;
  bool found_myself = false;
  // The entry's view of the others, in its CLUSTER NODES order.
  std::vector<std::pair<AdminNode, bool>> friends;  // (node as the entry sees it, entry flags it fail/noaddr)
  for (const NodeLine& l : *lines) {
    if (l.myself()) {
      apply_own_line(first, l);
      found_myself = true;
      continue;
    }
    AdminNode f;
    f.id = l.id;
    f.endpoint = l.endpoint();
    f.bus_port = l.bus_port;
    f.flags = without_myself(l.flags);
    f.replica = l.is_replica();
    f.primary_id = l.primary_id;
    f.config_epoch = l.config_epoch;
    friends.emplace_back(std::move(f), dropped_flag(l.flags));
  }
  if (!found_myself) {
    return make_error(Errc::protocol, fmt::format("Node {}: its CLUSTER NODES reply has no myself line", entry.str()));
  }
  topo.nodes.reserve(friends.size() + 1);
  topo.nodes.push_back(std::move(first));

  for (auto& [f, flagged] : friends) {
    std::string why;
    if (f.endpoint.ip.empty() || f.endpoint.port == 0) {
      why = "it has no address";
    } else if (auto c = ctx.pool.get(f.endpoint).ensure_connected(ctx.command_timeout_ms); !c) {
      ctx.say(c.error().message);
      why = c.error().message;
    } else {
      auto own = send(ctx, f.endpoint, {"CLUSTER", "NODES"});
      std::optional<std::vector<NodeLine>> own_lines;
      if (own && !own->is_error()) {
        if (auto parsed = parse_cluster_nodes(own->str)) own_lines = std::move(*parsed);
      }
      if (!own_lines) {
        ctx.say(fmt::format("[ERR] Unable to load info for node {}", f.addr()));
        why = fmt::format("unable to load its info: {}", !own ? own.error().message : own->is_error() ? own->str : "invalid CLUSTER NODES reply");
      } else {
        for (const NodeLine& l : *own_lines) {
          if (!l.myself()) continue;
          apply_own_line(f, l);
          if (dropped_flag(l.flags)) flagged = true;
          break;
        }
        if (flagged) {
          std::string flags;
          for (const auto& fl : f.flags) flags += (flags.empty() ? "" : ",") + fl;
          why = fmt::format("flagged {}", flags);
        }
      }
    }
    if (why.empty()) {
      topo.nodes.push_back(std::move(f));
      continue;
    }
    if (!f.replica) ++topo.unreachable_primaries;
    topo.dropped.push_back(fmt::format("{} ({}): {}", f.addr(), f.id, why));
  }

  for (auto& n : topo.nodes) {
    if (!n.replica) continue;
    AdminNode* primary = topo.find(n.primary_id);
    if (primary == nullptr) {
      ctx.say(fmt::format("*** WARNING: {} claims to be slave of unknown node ID {}.", n.addr(), n.primary_id));
    } else {
      ++primary->replica_count;
    }
  }
  return topo;
}

// --- shared building blocks ----------------------------------------------------------------

namespace admin_detail {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

Result<resp::Value> send(AdminContext& ctx, const Endpoint& to, const Argv& argv, Millis timeout_ms) {
  auto r = ctx.pool.call(to, argv, timeout_ms > 0 ? timeout_ms : ctx.command_timeout_ms);
  if (!r) {
    // The client's messages name the address ("10.0.0.1:6379: no reply within 5000 ms").
    std::string cmd = argv.empty() ? std::string() : argv[0];
    if (argv.size() > 1 && (argv[0] == "CLUSTER" || argv[0] == "CONFIG" || argv[0] == "FUNCTION" || argv[0] == "DEBUG"))
      cmd += " " + argv[1];
    return make_error(r.error().code, fmt::format("{} failed: {}", cmd, r.error().message));
  }
  return r;
}

void say_reply_error(AdminContext& ctx, const Endpoint& node, const std::string& error) {
  ctx.say(fmt::format("Node {} replied with error:", node.str()));
  ctx.say(error);
}

Error reply_error(const Endpoint& node, const std::string& error) {
  return make_error(Errc::state, fmt::format("Node {} replied with error: {}", node.str(), error));
}

Result<resp::Value> send_ok(AdminContext& ctx, const Endpoint& to, const Argv& argv, Millis timeout_ms, bool quiet) {
  auto r = send(ctx, to, argv, timeout_ms);
  if (!r) {
    if (!quiet) ctx.say(r.error().message);
    return r.error();
  }
  if (r->is_error()) {
    if (!quiet) say_reply_error(ctx, to, r->str);
    return reply_error(to, r->str);
  }
  return r;
}

Result<void> set_slot(AdminContext& ctx, const AdminNode& node, int slot, const std::string& action,
                      const std::string& node_id) {
  Argv argv{"CLUSTER", "SETSLOT", std::to_string(slot), action};
  if (!node_id.empty()) argv.push_back(node_id);
  auto r = send_ok(ctx, node.endpoint, argv);
  if (!r) return r.error();
  return {};
}

Result<std::int64_t> count_keys_in_slot(AdminContext& ctx, const AdminNode& node, int slot) {
  auto r = send_ok(ctx, node.endpoint, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)});
  if (!r) return r.error();
  if (r->type != resp::Type::integer) {
    return make_error(Errc::protocol, fmt::format("Node {} answered CLUSTER COUNTKEYSINSLOT with {}", node.addr(), r->describe()));
  }
  return r->integer;
}

Result<void> set_slot_owner(AdminContext& ctx, const AdminNode& owner, int slot, bool clear_status) {
  const Endpoint& e = owner.endpoint;
  if (auto r = send_ok(ctx, e, {"MULTI"}); !r) return r.error();
  // Inside the transaction every reply is +QUEUED; what counts is in EXEC's reply. DELSLOTS
  // makes sure the slot is not assigned (its error is ignored), ADDSLOTS gives it to the owner.
  std::string s = std::to_string(slot);
  std::vector<Argv> queued{{"CLUSTER", "DELSLOTS", s}, {"CLUSTER", "ADDSLOTS", s}};
  if (clear_status) queued.push_back({"CLUSTER", "SETSLOT", s, "STABLE"});
  queued.push_back({"CLUSTER", "BUMPEPOCH"});
  for (const Argv& argv : queued) {
    auto r = send(ctx, e, argv);
    if (!r) return r.error();
  }
  auto exec = send_ok(ctx, e, {"EXEC"});
  if (!exec) return exec.error();
  if (exec->type != resp::Type::array) {
    return make_error(Errc::state, fmt::format("Node {} answered EXEC with {}", owner.addr(), exec->describe()));
  }
  for (std::size_t i = 0; i < exec->elements.size(); ++i) {
    const resp::Value& v = exec->elements[i];
    if (!v.is_error()) continue;
    if (i != 1) continue;  // clusterManagerOnSetOwnerErr: only ADDSLOTS (index 1) matters
    say_reply_error(ctx, e, v.str);
    return reply_error(e, v.str);
  }
  return {};
}

Result<AdminNode*> get_slot_owner(AdminContext& ctx, ClusterTopology& topo, const AdminNode& node, int slot) {
  auto r = send(ctx, node.endpoint, {"CLUSTER", "SLOTS"});
  if (!r) return r.error();
  if (r->is_error()) return reply_error(node.endpoint, r->str);
  for (const resp::Value& range : r->elements) {
    if (range.elements.size() < 3) continue;
    std::int64_t from = range.elements[0].integer;
    std::int64_t to = range.elements[1].integer;
    if (slot < from || slot > to) continue;
    const resp::Value& primary = range.elements[2];
    AdminNode* owner = nullptr;
    if (primary.elements.size() >= 3) {
      owner = topo.find(primary.elements[2].str);
    } else if (primary.elements.size() >= 2) {
      Endpoint e{primary.elements[0].str, static_cast<std::uint16_t>(primary.elements[1].integer)};
      owner = topo.find(e);
    }
    if (owner != nullptr) return owner;
  }
  return static_cast<AdminNode*>(nullptr);
}

MoveOptions move_options(const FixOptions& o) {
  MoveOptions m;
  m.pipeline = o.pipeline;
  m.timeout_ms = o.timeout_ms;
  m.replace = o.replace;
  m.fixing = true;
  return m;
}

}  // namespace admin_detail

}  // namespace slotlab::harness
