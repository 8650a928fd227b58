// Implementation of the simulated world (see sim_world.hpp).
#include "harness/sim_world.hpp"

#include <fmt/format.h>

#include "node/node.hpp"

namespace slotlab::harness {

namespace {
constexpr std::uint16_t kDataPort = 6379;
constexpr std::uint64_t kHarnessStream = 0x6861726e657373ull;  // "harness"
}  // namespace

SimWorld::SimWorld(std::uint64_t seed, SimWorldOptions options)
    : sim_(seed, options.sim), options_(std::move(options)), rng_(sim::Rng(seed).split(kHarnessStream)) {
  sim::HostConfig hc;
  hc.name = "harness";
  hc.ip = "10.255.0.1";
  auto h = sim_.add_host(hc, [](Env& env) { return std::make_unique<ClientMux>(env.transport); });
  SLOTLAB_ASSERT(h.ok());
  client_host_ = *h;
  auto started = sim_.start(client_host_);
  SLOTLAB_ASSERT(started.ok());
}

SimWorld::~SimWorld() = default;

bool SimWorld::run_until(const std::function<bool()>& pred, Millis deadline_ms) {
  return sim_.run_until(pred, deadline_ms * 1000);
}

ClientMux& SimWorld::mux() {
  auto* m = sim_.actor_as<ClientMux>(client_host_);
  SLOTLAB_ASSERT_MSG(m != nullptr, "the harness host is not running");
  return *m;
}

Result<void> SimWorld::start(const Topology& topology) {
  if (started_) return make_error(Errc::state, "the world is already started");
  started_ = true;
  NodeConfig cfg;
  cfg.cluster_enabled = true;
  cfg.port = kDataPort;
  cfg.enable_debug_command = "yes";
  cfg.cluster_config_file = "nodes.conf";
  for (const auto& [name, value] : topology.config) {
    const ConfigDirective* d = find_config_directive(name);
    if (d == nullptr) return make_error(Errc::invalid_argument, fmt::format("unknown directive {}", name));
    if (auto r = d->set(cfg, {value}); !r) return make_error(Errc::invalid_argument, fmt::format("{}: {}", name, r.error().message));
  }
  int total = topology.primaries * (1 + topology.replicas) + topology.spares;
  for (int i = 1; i <= total; ++i) {
    std::string name = fmt::format("n{}", i);
    sim::HostConfig hc;
    hc.name = name;
    hc.ip = fmt::format("10.0.{}.{}", i / 200, i % 200 + 1);
    hc.listeners = {{cfg.port, ListenerKind::data}, {cfg.bus_port(), ListenerKind::bus}};
    NodeConfig node_cfg = cfg;
    auto h = sim_.add_host(hc, [node_cfg](Env& env) -> std::unique_ptr<Actor> {
      auto node = std::make_unique<Node>(env, node_cfg);
      auto r = node->start();
      if (!r) {
        env.log.log(LogLevel::warning, r.error().message);
        env.process.shutdown(1);  // redis-server exits when it cannot load its configuration
      }
      return node;
    });
    if (!h) return h.error();
    names_.push_back(name);
    hosts_[name] = *h;
    endpoints_[name] = Endpoint{hc.ip, cfg.port};
    if (auto r = sim_.start(*h); !r) return r.error();
  }
  schedule_invariant_check();
  return {};
}

void SimWorld::schedule_invariant_check() {
  if (options_.invariant_check_period_ms <= 0) return;
  sim_.schedule(sim_.now_us() + options_.invariant_check_period_ms * 1000, [this] {
    for (const auto& name : names_)
      if (Node* n = node(name)) n->check_invariants();
    schedule_invariant_check();
  });
}

sim::HostId SimWorld::host(const std::string& name) const {
  auto it = hosts_.find(name);
  SLOTLAB_ASSERT_MSG(it != hosts_.end(), "unknown node " + name);
  return it->second;
}

Node* SimWorld::node(const std::string& name) const { return sim_.actor_as<Node>(host(name)); }

Endpoint SimWorld::endpoint(const std::string& name) const {
  auto it = endpoints_.find(name);
  return it == endpoints_.end() ? Endpoint{} : it->second;
}

bool SimWorld::running(const std::string& name) const {
  auto it = hosts_.find(name);
  return it != hosts_.end() && sim_.is_running(it->second);
}

Result<void> SimWorld::kill(const std::string& name) {
  // SIGKILL: the process dies; the kernel keeps what was written to the page cache.
  return sim_.crash(host(name), "SIGKILL", sim::DiskLoss::none);
}

Result<void> SimWorld::restart(const std::string& name) {
  if (auto r = sim_.restart(host(name)); !r) return r;
  reapply_bus_filter(name);
  return {};
}

Result<void> SimWorld::pause(const std::string& name) { return sim_.pause(host(name)); }
Result<void> SimWorld::resume(const std::string& name) { return sim_.resume(host(name)); }

// Link by link (sim::Simulator::partition would also cut the harness's host off): every pair of
// nodes in different groups, both ways unless one_way (then only from groups[0] to the others).
Result<void> SimWorld::partition(const std::vector<std::vector<std::string>>& groups, bool one_way) {
  for (std::size_t a = 0; a < groups.size(); ++a) {
    for (std::size_t b = 0; b < groups.size(); ++b) {
      if (a == b || (one_way && a != 0)) continue;
      for (const auto& from : groups[a])
        for (const auto& to : groups[b])
          if (auto r = sim_.block_link(host(from), host(to)); !r) return r;
    }
  }
  return {};
}

Result<void> SimWorld::heal() {
  sim_.heal();
  return {};
}

bool SimWorld::wait_for_exit(const std::string& name, Millis timeout_ms) {
  sim::HostId h = host(name);
  return sim_.run_until([&] { return !sim_.is_running(h); }, sim_.now_us() + timeout_ms * 1000);
}

std::string SimWorld::node_id(const std::string& name) const {
  if (Node* n = node(name)) return n->id().str();
  // Not running: the id it last announced.
  sim::HostId h = host(name);
  std::string id;
  for (const auto& rec : sim_.trace())
    if (rec.host == h && rec.event.kind == TraceKind::node_started) id = rec.event.about.str();
  return id;
}

std::vector<TimelineEvent> SimWorld::timeline() const {
  std::map<std::string, std::string> id_to_name;
  std::map<std::uint32_t, std::string> host_to_name;
  for (const auto& [name, h] : hosts_) host_to_name[sim::index_of(h)] = name;
  for (const auto& rec : sim_.trace()) {
    if (rec.event.kind != TraceKind::node_started) continue;
    auto it = host_to_name.find(sim::index_of(rec.host));
    if (it != host_to_name.end()) id_to_name[rec.event.about.str()] = it->second;
  }
  std::vector<TimelineEvent> out;
  out.reserve(sim_.trace().size());
  for (const auto& rec : sim_.trace()) {
    auto hn = host_to_name.find(sim::index_of(rec.host));
    if (hn == host_to_name.end()) continue;  // the harness host
    TimelineEvent e;
    e.t_ms = rec.time_us / 1000;
    e.node = hn->second;
    e.kind = rec.event.kind;
    if (!rec.event.about.is_null()) {
      std::string id = rec.event.about.str();
      auto it = id_to_name.find(id);
      e.about = it == id_to_name.end() ? id : it->second;
    }
    e.epoch = rec.event.epoch;
    e.value = rec.event.value;
    e.detail = rec.event.detail;
    out.push_back(std::move(e));
  }
  return out;
}

void SimWorld::wait_for_change(Millis until_ms) {
  std::size_t seen = sim_.trace().size();
  sim_.run_until([&] { return sim_.trace().size() != seen; }, until_ms * 1000);
}

std::unique_ptr<SimWorld> make_sim_world(std::uint64_t seed) { return std::make_unique<SimWorld>(seed); }

}  // namespace slotlab::harness
