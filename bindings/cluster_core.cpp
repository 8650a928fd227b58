// Implementation of the cluster engine behind the Python package (see cluster_core.hpp).
#include "bindings/cluster_core.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/cluster_view.hpp"
#include "harness/real_world.hpp"
#include "harness/runner.hpp"
#include "harness/scenario.hpp"
#include "harness/sim_world.hpp"
#include "node/node.hpp"

#ifndef SLOTLAB_NODE_BINARY
#define SLOTLAB_NODE_BINARY ""
#endif

namespace slotlab::bindings {

using namespace slotlab::harness;

namespace {

Error with_context(const Error& e, const std::string& what) { return make_error(e.code, what + ": " + e.message); }

bool is_hex(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

std::unique_ptr<World> make_world(const std::string& world, std::uint64_t seed, int node_count, std::uint16_t base_port,
                                  Result<void>& status) {
  if (world == "sim") return std::make_unique<SimWorld>(seed);
  RealWorldOptions o;
  o.server = world == "slotlab-node" ? default_node_binary() : world;
  if (o.server.empty()) {
    status = make_error(Errc::invalid_argument, "no slotlab-node binary known: set SLOTLAB_NODE");
    return nullptr;
  }
  if (::access(o.server.c_str(), X_OK) != 0) {
    status = make_error(Errc::invalid_argument, fmt::format("server '{}' is not an executable file", o.server));
    return nullptr;
  }
  if (base_port == 0) {
    auto p = find_free_ports(node_count);
    if (!p) {
      status = p.error();
      return nullptr;
    }
    base_port = *p;
  }
  o.base_port = base_port;
  return std::make_unique<RealWorld>(seed, o);
}

}  // namespace

std::string default_node_binary() {
  if (const char* env = std::getenv("SLOTLAB_NODE"); env != nullptr && *env != '\0') return env;
  return SLOTLAB_NODE_BINARY;
}

Result<std::uint16_t> find_free_ports(int count) {
  if (count < 1 || count > 500) return make_error(Errc::invalid_argument, "node count out of range");
  auto bindable = [](int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  };
  // Bus ports are data port + 10000, so data ports stay below 55535. Start somewhere that depends
  // on the process, so concurrent test processes rarely probe the same ranges.
  constexpr int lo = 20000, hi = 29000;
  int span = hi - lo;
  int start = lo + static_cast<int>((static_cast<unsigned>(::getpid()) * 7919u) % static_cast<unsigned>(span));
  for (int tries = 0; tries < 200; ++tries) {
    int base = lo + (start - lo + tries * (count + 7)) % span;
    if (base + count > hi) continue;
    bool all = true;
    for (int p = base; p < base + count && all; ++p) all = bindable(p) && bindable(p + 10000);
    if (all) return static_cast<std::uint16_t>(base);
  }
  return make_error(Errc::io, "no free loopback port range found");
}

// ---------------------------------------------------------------------------------------------

ClusterCore::ClusterCore(ClusterOptions options) : options_(std::move(options)) {}

ClusterCore::~ClusterCore() {
  pool_.reset();
  stop();
}

Result<std::unique_ptr<ClusterCore>> ClusterCore::create(const ClusterOptions& options, const Interrupt& interrupt) {
  if (options.masters < 1 || options.masters > 100)
    return make_error(Errc::invalid_argument, fmt::format("masters must be 1..100 (got {})", options.masters));
  if (options.replicas < 0 || options.replicas > 10)
    return make_error(Errc::invalid_argument, fmt::format("replicas must be 0..10 (got {})", options.replicas));
  if (options.spares < 0 || options.spares > 50)
    return make_error(Errc::invalid_argument, fmt::format("spares must be 0..50 (got {})", options.spares));
  if (options.node_timeout_ms < 100)
    return make_error(Errc::invalid_argument, fmt::format("node_timeout_ms must be >= 100 (got {})", options.node_timeout_ms));
  for (auto [what, v] : {std::pair{"command_timeout_ms", options.command_timeout_ms},
                         std::pair{"ready_timeout_ms", options.ready_timeout_ms},
                         std::pair{"node_timeout_ms", options.node_timeout_ms}})
    if (v < 1 || v > kMaxMillis) return make_error(Errc::invalid_argument, fmt::format("{} out of range ({})", what, v));
  // redis-cli --cluster create refuses fewer than 3 primaries; so do we, with its message.
  if (options.masters < 3)
    return make_error(Errc::invalid_argument, "*** ERROR: Invalid configuration for cluster creation. Redis Cluster "
                                              "requires at least 3 master nodes.");
  std::unique_ptr<ClusterCore> c(new ClusterCore(options));
  if (auto r = c->build(interrupt); !r) return r.error();
  return c;
}

Result<void> ClusterCore::build(const Interrupt& interrupt) {
  int created = options_.masters * (1 + options_.replicas);
  int total = created + options_.spares;
  Result<void> status;
  world_ = make_world(options_.world, options_.seed, total, options_.base_port, status);
  if (!world_) return status;
  sim_ = dynamic_cast<SimWorld*>(world_.get());
  real_ = dynamic_cast<RealWorld*>(world_.get());
  pool_ = std::make_unique<ClientPool>(*world_);
  Topology t;
  t.primaries = options_.masters;
  t.replicas = options_.replicas;
  t.spares = options_.spares;
  t.config = options_.config;
  t.config["cluster-node-timeout"] = std::to_string(options_.node_timeout_ms);
  if (auto r = world_->start(t); !r) return with_context(r.error(), "starting the nodes");
  std::vector<Endpoint> eps;
  for (int i = 0; i < created; ++i) eps.push_back(world_->endpoint(world_->node_names()[static_cast<std::size_t>(i)]));
  std::vector<std::string> log;
  auto ctx = admin_context(&log);
  ctx.join_timeout_ms = options_.ready_timeout_ms;
  auto plan = create_cluster(ctx, eps, options_.replicas);
  if (!plan) return with_context(plan.error(), "create");
  for (int i = 0; i < created; ++i) members_.insert(world_->node_names()[static_cast<std::size_t>(i)]);
  // Ready means healthy and every replica in sync: a replica that never synced refuses to fail
  // over (its data age is unbounded), which would surprise any test that crashes a primary.
  return wait_healthy(options_.ready_timeout_ms, interrupt, /*replicas_in_sync=*/true);
}

bool ClusterCore::replicas_in_sync(std::string& why) {
  for (const auto& o : observe(*pool_, member_endpoints(), std::min<Millis>(options_.command_timeout_ms, 2000), true)) {
    const NodeLine* me = o.myself();
    if (!o.reachable || me == nullptr) {
      why = fmt::format("{} unreachable: {}", o.endpoint.str(), o.error);
      return false;
    }
    if (!me->is_replica()) continue;
    auto it = o.replication.find("master_link_status");
    if (it == o.replication.end() || it->second != "up") {
      why = fmt::format("replica {} master_link_status:{}", o.endpoint.str(), it == o.replication.end() ? "?" : it->second);
      return false;
    }
  }
  return true;
}

AdminContext ClusterCore::admin_context(std::vector<std::string>* log) {
  return AdminContext{*pool_, [this] { return world_->random(); }, log, options_.command_timeout_ms, 60000};
}

Millis ClusterCore::now_ms() const { return world_->now_ms() - world_->start_time_ms(); }

bool ClusterCore::run_for(Millis ms, const Interrupt& interrupt, Millis chunk_ms) {
  ms = std::min(ms, kMaxMillis);
  Millis end = world_->now_ms() + std::max<Millis>(ms, 0);
  while (world_->now_ms() < end) {
    Millis until = std::min(world_->now_ms() + std::max<Millis>(chunk_ms, 1), end);
    if (sim_ != nullptr) {
      sim_->simulator().run_until(until * 1000);  // no condition to evaluate: the plain event loop
    } else {
      world_->run_until([] { return false; }, until);
    }
    if (interrupt && !interrupt()) return false;
  }
  return true;
}

void ClusterCore::wait_for_change(Millis until_ms) { world_->wait_for_change(std::min(until_ms, world_->now_ms() + kMaxMillis)); }

// --- nodes -------------------------------------------------------------------------------------

Result<std::string> ClusterCore::resolve_index(std::int64_t index) const {
  const auto& names = world_->node_names();
  auto n = static_cast<std::int64_t>(names.size());
  if (index < 0 || index >= n)
    return make_error(Errc::invalid_argument, fmt::format("node index {} out of range (the cluster has {} nodes: 0..{})",
                                                          index, n, n - 1));
  return names[static_cast<std::size_t>(index)];
}

Result<std::string> ClusterCore::resolve(const std::string& selector) const {
  const auto& names = world_->node_names();
  if (std::find(names.begin(), names.end(), selector) != names.end()) return selector;
  if (selector.size() >= 6 && is_hex(selector)) {
    std::string found;
    int matches = 0;
    for (const auto& n : names) {
      std::string id = world_->node_id(n);
      if (id.size() >= selector.size() && std::equal(selector.begin(), selector.end(), id.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          })) {
        found = n;
        ++matches;
      }
    }
    if (matches == 1) return found;
    if (matches > 1) return make_error(Errc::invalid_argument, fmt::format("node id prefix '{}' is ambiguous", selector));
  }
  return make_error(Errc::invalid_argument,
                    fmt::format("unknown node '{}' (expected a name n1..n{}, an index, a node id or a Node)", selector,
                                names.size()));
}

Result<void> ClusterCore::known(const std::string& name) const {
  const auto& names = world_->node_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    return make_error(Errc::invalid_argument, fmt::format("unknown node '{}'", name));
  return {};
}

std::vector<Endpoint> ClusterCore::member_endpoints() const {
  std::vector<Endpoint> out;
  for (const auto& n : world_->node_names())
    if (members_.count(n) != 0) out.push_back(world_->endpoint(n));
  return out;
}

Result<NodeInfo> ClusterCore::node(const std::string& name) {
  if (auto k = known(name); !k) return k.error();
  NodeInfo info;
  const auto& names = world_->node_names();
  info.index = static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
  info.name = name;
  info.address = world_->endpoint(name).str();
  info.running = world_->running(name);
  info.member = members_.count(name) != 0;
  info.id = world_->node_id(name);
  if (!info.running) return info;
  std::string nodes_text, info_text;
  if (sim_ != nullptr) {
    info.paused = sim_->simulator().is_paused(sim_->host(name));
    Node* n = sim_->node(name);
    if (n == nullptr) return info;
    nodes_text = n->cluster_nodes_text();
    info_text = n->cluster_info_text();
  } else {
    info.paused = paused_.count(name) != 0;
    if (info.paused) {
      info.error = "paused (SIGSTOP): cannot answer";
      return info;
    }
    Millis t = std::min<Millis>(options_.command_timeout_ms, 2000);
    auto a = pool_->call(world_->endpoint(name), {"CLUSTER", "NODES"}, t);
    auto b = a ? pool_->call(world_->endpoint(name), {"CLUSTER", "INFO"}, t) : a;
    if (!a || !b || a->is_error() || b->is_error()) {
      info.error = !a ? a.error().message : !b ? b.error().message : a->is_error() ? a->str : b->str;
      pool_->drop(world_->endpoint(name));
      return info;
    }
    nodes_text = a->str;
    info_text = b->str;
  }
  auto lines = parse_cluster_nodes(nodes_text);
  if (!lines) {
    info.error = lines.error().message;
    return info;
  }
  for (const auto& l : *lines) {
    if (!l.myself()) continue;
    info.id = l.id;
    info.role = l.is_primary() ? "primary" : l.is_replica() ? "replica" : "";
    info.primary = l.primary_id;
    info.slots = l.slots;
    info.epoch = l.config_epoch;
    for (const auto& f : l.flags)
      if (f != "myself") info.flags.push_back(f);
  }
  auto ci = parse_info(info_text);
  info.cluster_state = ci.count("cluster_state") != 0 ? ci["cluster_state"] : "";
  if (auto it = ci.find("cluster_current_epoch"); it != ci.end()) info.current_epoch = std::stoull(it->second);
  return info;
}

std::vector<NodeInfo> ClusterCore::nodes() {
  std::vector<NodeInfo> out;
  for (const auto& n : world_->node_names()) out.push_back(*node(n));
  return out;
}

std::string ClusterCore::describe() {
  std::string out = fmt::format("cluster at {} ms ({} world, seed {}):", now_ms(), world_->kind(), options_.seed);
  for (const auto& n : nodes()) {
    std::string slots;
    int count = 0;
    for (auto [a, b] : n.slots) {
      slots += fmt::format("{}{}", slots.empty() ? "" : ",", a == b ? std::to_string(a) : fmt::format("{}-{}", a, b));
      count += b - a + 1;
    }
    std::string flags;
    for (const auto& f : n.flags) flags += (flags.empty() ? "" : ",") + f;
    std::string state = !n.running ? "down" : n.paused ? "paused" : n.cluster_state.empty() ? "?" : n.cluster_state;
    out += fmt::format("\n  {} {} {} {}{} epoch {} flags {} slots {} ({}) state {}{}", n.name, n.address,
                       n.id.empty() ? "-" : n.id.substr(0, 8), n.role.empty() ? "-" : n.role,
                       n.role == "replica" ? " of " + name_of_id(n.primary) : "", n.epoch, flags.empty() ? "-" : flags,
                       slots.empty() ? "-" : slots, count, state, n.member ? "" : " (not a member)");
    if (!n.error.empty()) out += " error: " + n.error;
  }
  return out;
}

std::string ClusterCore::name_of_id(const std::string& id) const {
  if (id.empty()) return "-";
  for (const auto& n : world_->node_names())
    if (world_->node_id(n) == id) return n;
  return id.substr(0, 8);
}

Result<std::string> ClusterCore::id_of(const std::string& name) {
  std::string id = world_->node_id(name);
  if (id.empty()) return make_error(Errc::state, fmt::format("the id of {} is not known", name));
  return id;
}

// --- commands ----------------------------------------------------------------------------------

Result<resp::Value> ClusterCore::command(const std::string& name, const Argv& argv, Millis timeout_ms) {
  if (auto k = known(name); !k) return k.error();
  if (argv.empty()) return make_error(Errc::invalid_argument, "command needs at least the command name");
  if (!world_->running(name)) return make_error(Errc::state, fmt::format("{} is not running", name));
  Endpoint e = world_->endpoint(name);
  auto r = pool_->call(e, argv, timeout_ms > 0 ? std::min(timeout_ms, kMaxMillis) : options_.command_timeout_ms);
  if (!r) {
    pool_->drop(e);  // a late reply must not be taken for the next command's
    return with_context(r.error(), fmt::format("{} ({})", name, e.str()));
  }
  return r;
}

// --- faults ------------------------------------------------------------------------------------

Result<void> ClusterCore::crash(const std::string& name) {
  if (auto k = known(name); !k) return k.error();
  if (!world_->running(name)) return make_error(Errc::state, fmt::format("{} is not running", name));
  Endpoint e = world_->endpoint(name);
  if (sim_ != nullptr) {
    // The process dies at once; like a machine crash, only fsynced data survives on its disk.
    if (auto r = sim_->simulator().crash(sim_->host(name), "crash", sim::DiskLoss::unsynced); !r) return r;
  } else {
    if (paused_.count(name) != 0) return make_error(Errc::state, fmt::format("{} is paused: resume it or kill it", name));
    RespConnection& c = pool_->get(e);
    if (auto r = c.ensure_connected(options_.command_timeout_ms); !r) return with_context(r.error(), name);
    c.send({"DEBUG", "SEGFAULT"});
    if (!world_->wait_for_exit(name, 10000))
      return make_error(Errc::state, fmt::format("{} did not exit after DEBUG SEGFAULT", name));
  }
  pool_->drop(e);
  return {};
}

Result<void> ClusterCore::kill(const std::string& name) {
  if (auto k = known(name); !k) return k.error();
  if (!world_->running(name)) return make_error(Errc::state, fmt::format("{} is not running", name));
  if (auto r = world_->kill(name); !r) return r;
  paused_.erase(name);
  pool_->drop(world_->endpoint(name));
  return {};
}

Result<void> ClusterCore::restart(const std::string& name) {
  if (auto k = known(name); !k) return k.error();
  if (world_->running(name)) return make_error(Errc::state, fmt::format("{} is already running", name));
  pool_->drop(world_->endpoint(name));
  return world_->restart(name);
}

Result<void> ClusterCore::pause(const std::string& name) {
  if (auto k = known(name); !k) return k.error();
  if (!world_->running(name)) return make_error(Errc::state, fmt::format("{} is not running", name));
  if (sim_ != nullptr) {
    if (sim_->simulator().is_paused(sim_->host(name))) return make_error(Errc::state, fmt::format("{} is already paused", name));
    return sim_->simulator().pause(sim_->host(name));
  }
  if (paused_.count(name) != 0) return make_error(Errc::state, fmt::format("{} is already paused", name));
  if (::kill(real_->pid(name), SIGSTOP) != 0) return make_error(Errc::io, fmt::format("SIGSTOP {} failed", name));
  paused_.insert(name);
  return {};
}

Result<void> ClusterCore::resume(const std::string& name) {
  if (auto k = known(name); !k) return k.error();
  if (sim_ != nullptr) {
    if (!sim_->simulator().is_paused(sim_->host(name))) return make_error(Errc::state, fmt::format("{} is not paused", name));
    return sim_->simulator().resume(sim_->host(name));
  }
  if (paused_.count(name) == 0) return make_error(Errc::state, fmt::format("{} is not paused", name));
  if (::kill(real_->pid(name), SIGCONT) != 0) return make_error(Errc::io, fmt::format("SIGCONT {} failed", name));
  paused_.erase(name);
  return {};
}

Result<void> ClusterCore::partition(const std::vector<std::vector<std::string>>& groups, bool one_way) {
  for (const auto& g : groups)
    for (const auto& n : g)
      if (auto k = known(n); !k) return k.error();
  if (sim_ == nullptr) return make_error(Errc::state, "partition is only supported in the simulator");
  if (groups.empty()) return make_error(Errc::invalid_argument, "partition needs at least one group");
  if (one_way && groups.size() != 2)
    return make_error(Errc::invalid_argument, "a one-way partition needs exactly two groups (from, to)");
  const auto& names = world_->node_names();
  std::map<std::string, std::size_t> group_of;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].empty()) return make_error(Errc::invalid_argument, fmt::format("partition group {} is empty", g));
    for (const auto& n : groups[g]) {
      if (!group_of.emplace(n, g + 1).second)
        return make_error(Errc::invalid_argument, fmt::format("{} is in two partition groups", n));
    }
  }
  // Nodes named in no group form one more group (0). Links are blocked pairwise so that the
  // test's client host keeps reaching every node, as a Jepsen client does.
  sim::Simulator& s = sim_->simulator();
  s.heal();
  for (const auto& a : names) {
    for (const auto& b : names) {
      if (a == b) continue;
      std::size_t ga = group_of.count(a) != 0 ? group_of[a] : 0;
      std::size_t gb = group_of.count(b) != 0 ? group_of[b] : 0;
      if (ga == gb) continue;
      if (one_way && !(ga == 1 && gb == 2)) continue;
      if (auto r = s.block_link(sim_->host(a), sim_->host(b)); !r) return r;
    }
  }
  return {};
}

Result<void> ClusterCore::heal() {
  if (sim_ == nullptr) return make_error(Errc::state, "heal is only supported in the simulator");
  sim_->simulator().heal();
  return {};
}

Result<void> ClusterCore::delay(const std::string& a, const std::string& b, Millis extra_ms) {
  if (auto k = known(a); !k) return k.error();
  if (!b.empty())
    if (auto k = known(b); !k) return k.error();
  if (sim_ == nullptr) return make_error(Errc::state, "delay is only supported in the simulator");
  if (extra_ms < 0 || extra_ms > kMaxMillis) return make_error(Errc::invalid_argument, "delay must be >= 0 ms (and sane)");
  std::vector<std::string> peers;
  if (!b.empty()) {
    if (a == b) return make_error(Errc::invalid_argument, "delay needs two different nodes");
    peers.push_back(b);
  } else {
    for (const auto& n : world_->node_names())
      if (n != a) peers.push_back(n);
  }
  for (const auto& p : peers)
    if (auto r = sim_->simulator().set_link_latency(sim_->host(a), sim_->host(p), extra_ms * 1000); !r) return r;
  return {};
}

Result<void> ClusterCore::clock_skew(const std::string& name, Millis offset_ms) {
  if (auto k = known(name); !k) return k.error();
  if (sim_ == nullptr) return make_error(Errc::state, "clock_skew is only supported in the simulator");
  if (offset_ms < -kMaxMillis || offset_ms > kMaxMillis) return make_error(Errc::invalid_argument, "clock skew out of range");
  return sim_->simulator().set_clock_offset(sim_->host(name), offset_ms * 1000);
}

// --- admin -------------------------------------------------------------------------------------

Result<Endpoint> ClusterCore::entry() {
  for (const auto& n : world_->node_names()) {
    if (members_.count(n) == 0 || !world_->running(n) || paused_.count(n) != 0) continue;
    if (sim_ != nullptr && sim_->simulator().is_paused(sim_->host(n))) continue;
    return world_->endpoint(n);
  }
  return make_error(Errc::state, "no running member node to talk to");
}

namespace {
nlohmann::json slots_json(const std::vector<int>& v) { return nlohmann::json(v); }
}  // namespace

Result<nlohmann::json> ClusterCore::reshard(const std::vector<std::string>& from, const std::string& to, int slots) {
  for (const auto& f : from)
    if (f != "all")
      if (auto k = known(f); !k) return k.error();
  if (auto k = known(to); !k) return k.error();
  if (slots < 1 || slots > static_cast<int>(kSlotCount))
    return make_error(Errc::invalid_argument, fmt::format("slots must be 1..16384 (got {})", slots));
  auto e = entry();
  if (!e) return e.error();
  ReshardOptions o;
  for (const auto& f : from) {
    if (f == "all") {
      o.from.push_back("all");
      continue;
    }
    auto id = id_of(f);
    if (!id) return id.error();
    o.from.push_back(*id);
  }
  auto to_id = id_of(to);
  if (!to_id) return to_id.error();
  o.to = *to_id;
  o.slots = slots;
  std::vector<std::string> log;
  auto ctx = admin_context(&log);
  auto r = harness::reshard(ctx, *e, o);
  if (!r) return with_context(r.error(), "reshard");
  nlohmann::json plan = nlohmann::json::array();
  for (const auto& m : r->plan) plan.push_back({{"slot", m.slot}, {"source", name_of_id(m.source_id)}});
  return nlohmann::json{{"moved", r->moved}, {"plan", plan}, {"log", log}};
}

Result<nlohmann::json> ClusterCore::add_node(const std::string& name, const std::string& replica_of) {
  if (auto k = known(name); !k) return k.error();
  if (!replica_of.empty() && replica_of != "any")
    if (auto k = known(replica_of); !k) return k.error();
  if (members_.count(name) != 0) return make_error(Errc::state, fmt::format("{} is already in the cluster", name));
  if (!world_->running(name)) return make_error(Errc::state, fmt::format("{} is not running", name));
  auto e = entry();
  if (!e) return e.error();
  AddNodeOptions o;
  if (!replica_of.empty()) {
    o.replica = true;
    if (replica_of != "any") {
      auto id = id_of(replica_of);
      if (!id) return id.error();
      o.primary_id = *id;
    }
  }
  std::vector<std::string> log;
  auto ctx = admin_context(&log);
  auto r = harness::add_node(ctx, world_->endpoint(name), *e, o);
  if (!r) return with_context(r.error(), "add-node");
  members_.insert(name);
  return nlohmann::json{{"id", r->id},
                        {"primary", r->primary_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(name_of_id(r->primary_id))},
                        {"log", log}};
}

Result<nlohmann::json> ClusterCore::del_node(const std::string& name) {
  if (auto k = known(name); !k) return k.error();
  if (members_.count(name) == 0) return make_error(Errc::state, fmt::format("{} is not in the cluster", name));
  auto id = id_of(name);
  if (!id) return id.error();
  members_.erase(name);  // the entry node must be another one
  auto e = entry();
  if (!e) {
    members_.insert(name);
    return e.error();
  }
  std::vector<std::string> log;
  auto ctx = admin_context(&log);
  auto r = harness::del_node(ctx, *e, *id);
  if (!r) {
    members_.insert(name);
    return with_context(r.error(), "del-node");
  }
  pool_->drop(world_->endpoint(name));
  return nlohmann::json{{"forgets_sent", r->forgets_sent}, {"log", log}};
}

Result<nlohmann::json> ClusterCore::failover(const std::string& name, const std::string& option, bool wait) {
  if (auto k = known(name); !k) return k.error();
  if (!option.empty() && option != "FORCE" && option != "TAKEOVER" && option != "force" && option != "takeover")
    return make_error(Errc::invalid_argument, fmt::format("failover option must be force or takeover (got '{}')", option));
  auto before = node(name);
  if (!before->running) return make_error(Errc::state, fmt::format("{} is not running", name));
  if (before->role != "replica") return make_error(Errc::state, fmt::format("{} is not a replica", name));
  Argv argv{"CLUSTER", "FAILOVER"};
  if (!option.empty()) argv.push_back(option);
  Millis t0 = now_ms();
  auto r = command(name, argv);
  if (!r) return r.error();
  if (r->is_error()) return make_error(Errc::state, fmt::format("{}: CLUSTER FAILOVER: {}", name, r->str));
  nlohmann::json out{{"node", name}, {"old_primary", name_of_id(before->primary)}, {"promoted_after_ms", nullptr}};
  if (!wait) return out;
  Millis deadline = world_->now_ms() + options_.ready_timeout_ms;
  while (true) {
    auto n = node(name);
    if (n->role == "primary") {
      out["promoted_after_ms"] = now_ms() - t0;
      return out;
    }
    if (world_->now_ms() >= deadline)
      return make_error(Errc::timeout, fmt::format("{} was not promoted within {} ms\n{}", name,
                                                   options_.ready_timeout_ms, describe()));
    world_->wait_for_change(std::min(world_->now_ms() + world_->poll_interval_ms(), deadline));
  }
}

Result<nlohmann::json> ClusterCore::rebalance(const std::vector<std::pair<std::string, double>>& weights,
                                              bool use_empty_masters, double threshold, bool simulate) {
  for (const auto& w : weights)
    if (auto k = known(w.first); !k) return k.error();
  auto e = entry();
  if (!e) return e.error();
  RebalanceOptions o;
  for (const auto& [n, w] : weights) {
    auto id = id_of(n);
    if (!id) return id.error();
    o.weights.emplace_back(*id, static_cast<float>(w));
  }
  o.use_empty_masters = use_empty_masters;
  o.threshold = static_cast<float>(threshold);
  o.simulate = simulate;
  std::vector<std::string> log;
  auto ctx = admin_context(&log);
  auto r = harness::rebalance(ctx, *e, o);
  if (!r) return with_context(r.error(), "rebalance");
  nlohmann::json transfers = nlohmann::json::array();
  for (const auto& t : r->transfers)
    transfers.push_back({{"source", name_of_id(t.source_id)}, {"target", name_of_id(t.target_id)}, {"slots", t.slots}});
  return nlohmann::json{{"needed", r->needed}, {"moved", r->moved}, {"transfers", transfers}, {"log", log}};
}

namespace {
nlohmann::json check_report_json(const CheckReport& r) {
  nlohmann::json multiple = nlohmann::json::array();
  for (const auto& [slot, ids] : r.multiple_owners) multiple.push_back({{"slot", slot}, {"owners", ids}});
  return nlohmann::json{{"ok", r.ok},
                        {"agree", r.agree},
                        {"open_slots", slots_json(r.open_slots)},
                        {"uncovered_slots", slots_json(r.uncovered_slots)},
                        {"multiple_owners", multiple},
                        {"errors", r.errors},
                        {"lines", r.lines}};
}
}  // namespace

Result<nlohmann::json> ClusterCore::cluster_check() {
  auto e = entry();
  if (!e) return e.error();
  auto ctx = admin_context(nullptr);
  auto r = check_cluster(ctx, *e);
  if (!r) return with_context(r.error(), "check");
  return check_report_json(*r);
}

Result<nlohmann::json> ClusterCore::fix() {
  auto e = entry();
  if (!e) return e.error();
  std::vector<std::string> log;
  auto ctx = admin_context(&log);
  auto r = fix_cluster(ctx, *e);
  if (!r) return with_context(r.error(), "fix");
  return nlohmann::json{{"ok", r->ok},
                        {"found", check_report_json(r->found)},
                        {"fixed_open_slots", r->fixed_open_slots},
                        {"covered_slots", r->covered_slots},
                        {"log", log}};
}

// --- checks and records -----------------------------------------------------------------------

std::vector<CheckResult> ClusterCore::check(const std::vector<std::string>& names) {
  std::vector<Endpoint> eps;
  for (const auto& n : world_->node_names())
    if (members_.count(n) != 0 && world_->running(n)) eps.push_back(world_->endpoint(n));
  auto obs = observe(*pool_, eps, std::min<Millis>(options_.command_timeout_ms, 2000));
  return run_named_checks(names.empty() ? observation_check_names() : names, obs);
}

bool ClusterCore::healthy(std::string& why) {
  for (const auto& c : check({"all-reachable", "cluster-state-ok", "agreement", "slot-coverage"})) {
    if (!c.passed) {
      why = c.name + ": " + c.detail;
      return false;
    }
  }
  return true;
}

Result<void> ClusterCore::wait_healthy(Millis timeout_ms, const Interrupt& interrupt, bool in_sync) {
  Millis deadline = world_->now_ms() + timeout_ms;
  std::string why;
  while (!healthy(why) || (in_sync && !replicas_in_sync(why))) {
    if (world_->now_ms() >= deadline)
      return make_error(Errc::timeout, fmt::format("the cluster was not healthy within {} ms: {}", timeout_ms, why));
    world_->wait_for_change(std::min(world_->now_ms() + world_->poll_interval_ms(), deadline));
    if (interrupt && !interrupt()) return make_error(Errc::state, "interrupted");
  }
  return {};
}

nlohmann::json ClusterCore::events() const {
  RunResult r;  // to_json renders the timeline exactly as `slotlab run --json --timeline` does
  r.timeline = world_->timeline();
  return to_json(r, true)["timeline"];
}

std::string ClusterCore::work_dir() const { return real_ != nullptr ? real_->work_dir() : std::string(); }

void ClusterCore::stop() {
  if (stopped_ || !world_) return;
  stopped_ = true;
  if (real_ != nullptr) {
    for (const auto& n : paused_) ::kill(real_->pid(n), SIGCONT);  // a stopped process ignores SIGTERM
    paused_.clear();
  }
  world_->stop_all();
}

// --- client ------------------------------------------------------------------------------------

ClientCore::ClientCore(ClusterCore& cluster, ClusterClientOptions options)
    : cluster_(cluster), options_(options),
      client_(std::make_unique<ClusterClient>(cluster.world(), cluster.member_endpoints(), options)) {}

ClientCore::~ClientCore() = default;

ClientReply ClientCore::execute(const Argv& argv, std::size_t key_index, Millis timeout_ms) {
  struct State {
    bool done = false;
    CommandOutcome outcome;
  };
  auto st = std::make_shared<State>();
  World& w = cluster_.world();
  client_->execute(argv, [st](const CommandOutcome& o) {
    st->done = true;
    st->outcome = o;
  }, key_index);
  Millis deadline = w.now_ms() + (timeout_ms > 0 ? timeout_ms : options_.command_timeout_ms * options_.max_attempts);
  while (!st->done && w.now_ms() < deadline) {
    w.run_until([&] { return st->done; }, std::min(w.now_ms() + 100, deadline));
    client_->tick();  // expires commands that waited longer than the command timeout
  }
  ClientReply r;
  if (!st->done) {
    r.kind = ClientReply::Kind::unknown;
    r.error = fmt::format("no outcome within {} ms", timeout_ms);
    return r;
  }
  r.kind = st->outcome.kind == CommandOutcome::Kind::ok       ? ClientReply::Kind::ok
           : st->outcome.kind == CommandOutcome::Kind::failed ? ClientReply::Kind::failed
                                                              : ClientReply::Kind::unknown;
  r.reply = st->outcome.reply;
  r.error = st->outcome.error;
  r.redirects = st->outcome.redirects;
  for (const auto& n : w.node_names())
    if (w.endpoint(n) == st->outcome.served_by) r.served_by = n;
  return r;
}

// --- scenarios ---------------------------------------------------------------------------------

Result<nlohmann::json> run_scenario_json(const std::string& text_or_path, bool is_path, std::uint64_t seed,
                                         const std::string& world, bool timeline,
                                         const std::function<void(World&)>& prepare, bool* bad_scenario,
                                         std::uint16_t base_port) {
  if (bad_scenario != nullptr) *bad_scenario = false;
  Result<Scenario> sc = make_error(Errc::invalid_argument, "no scenario");
  if (is_path) {
    sc = load_scenario_file(text_or_path, seed);  // "params" drawn from the seed, as slotlab run does
  } else {
    auto doc = nlohmann::json::parse(text_or_path, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      if (bad_scenario != nullptr) *bad_scenario = true;
      return make_error(Errc::invalid_argument, "the scenario is not valid JSON");
    }
    sc = parse_scenario(doc, seed);
  }
  if (!sc) {
    if (bad_scenario != nullptr) *bad_scenario = true;
    return sc.error();
  }
  int total = sc->topology.primaries * (1 + sc->topology.replicas) + sc->topology.spares;
  Result<void> status;
  auto w = make_world(world, seed, total, base_port, status);
  if (!w) return status.error();
  if (prepare) prepare(*w);
  auto t0 = std::chrono::steady_clock::now();
  RunResult result = harness::run_scenario(*sc, *w, seed);
  result.wall_time_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  return to_json(result, timeline);
}

}  // namespace slotlab::bindings
