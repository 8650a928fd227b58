// Scale and speed of the simulator at full protocol fidelity (issue 7).
//
//   sim_scale idle     --nodes N [--replicas R] [--node-timeout MS] [--seconds S] [--seed X]
//   sim_scale failover --nodes N [--replicas R] [--node-timeout MS] [--fraction F] [--seed X]
//   sim_scale swarm    --scenario PATH --first A --last B
//
// Every mode prints one JSON object on stdout (bench/sim_scale.py runs the modes in separate
// processes, so that each memory figure is the process's own, and renders the report).
//
// The cluster is built by a direct bootstrap rather than the scenario's `create` step, because
// redis-cli --cluster create's join wait polls CLUSTER NODES on every node (N texts of N lines per
// poll: quadratic, and most of the cost at 1,000 nodes). The bootstrap sends the same cluster
// commands as redis-cli, as RESP over the simulated network, in simulated time:
//   1. every primary: CLUSTER ADDSLOTSRANGE with its share of the slots (redis-cli's lround split;
//      redis-cli sends the same slots as one CLUSTER ADDSLOTS);
//   2. every node: CLUSTER SET-CONFIG-EPOCH 1..N;
//   3. every replica: CLUSTER MEET <its primary>, then (once the handshake is done) CLUSTER
//      REPLICATE <its primary's id> (redis-cli sends REPLICATE after the join; see below why not);
//   4. every node but the first: CLUSTER MEET <first node>; wait (every 100 simulated ms) until
//      every node knows all N nodes, none in handshake, read from the nodes' memory instead of
//      CLUSTER NODES text;
//   5. wait until every node sees every other as up, the cluster state ok, every replica attached
//      to its primary in every view, and every replication link up.
// The nodes then gossip exactly as they would after redis-cli: nothing is injected into their
// state.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

#include "harness/client.hpp"
#include "harness/runner.hpp"
#include "harness/sim_world.hpp"

using namespace slotlab;
using namespace slotlab::harness;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU time of this process (user + system), in seconds: on a machine shared with other jobs it is
// what the wall time would be on a core of our own.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// VmRSS / VmHWM of this process, in bytes (0 if /proc is not there).
std::uint64_t proc_status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stoull(line.substr(key.size())) * 1024;
  }
  return 0;
}

// Whether malloc was asked for transparent huge pages (see reexec_with_huge_pages).
bool huge_pages_on() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  return t != nullptr && std::string(t).find("glibc.malloc.hugetlb=1") != std::string::npos;
}

struct Options {
  std::string mode;
  int nodes = 6;
  int replicas = 1;
  int node_timeout_ms = 15000;
  std::int64_t seconds = 60;
  double fraction = 0.1;
  std::uint64_t seed = 1;
  std::string scenario;
  int first = 1;
  int last = 20;
  bool full_hash = false;
  Millis invariant_period_ms = 1000;  // the harness's Node::check_invariants on every node
  std::int64_t idle_before_crash_s = 0;  // failover mode: an idle measurement first  // trace hash over every payload byte (the default samples each payload)
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sim_scale: %s\n", what.c_str());
  std::exit(1);
}

SimWorldOptions world_options(const Options& o) {
  SimWorldOptions w;
  w.sim.hash_full_payloads = o.full_hash;
  w.invariant_check_period_ms = o.invariant_period_ms;
  return w;
}

class Cluster {
 public:
  explicit Cluster(const Options& o) : opt_(o), world_(o.seed, world_options(o)), pool_(world_) {
    if (o.nodes % (1 + o.replicas) != 0) die("--nodes must be a multiple of 1 + --replicas");
    primaries_ = o.nodes / (1 + o.replicas);
  }

  SimWorld& world() { return world_; }
  int primaries() const { return primaries_; }
  const std::vector<std::string>& names() const { return world_.node_names(); }
  // Replica k (0-based) of primary i is node primaries + i * replicas + k.
  std::string primary_of_replica(int index) const {
    return names()[static_cast<std::size_t>((index - primaries_) / opt_.replicas)];
  }

  void bootstrap() {
    Topology topo;
    topo.primaries = primaries_;
    topo.replicas = opt_.replicas;
    topo.config["cluster-node-timeout"] = std::to_string(opt_.node_timeout_ms);
    if (auto r = world_.start(topo); !r) die(r.error().message);
    const auto& ns = names();
    const int n = static_cast<int>(ns.size());
    auto call = [&](const std::string& name, const Argv& argv) {
      auto r = pool_.call(world_.endpoint(name), argv, 60000);
      if (!r) die(fmt::format("{} {}: {}", name, argv[1], r.error().message));
      if (r->is_error()) die(fmt::format("{} {}: {}", name, argv[1], r->str));
    };
    // 1. slots, split as redis-cli does (lround of a running cursor).
    double per = 16384.0 / primaries_;
    double cursor = 0;
    for (int i = 0; i < primaries_; ++i) {
      long first = std::lround(cursor);
      long last = std::lround(cursor + per - 1);
      if (last > 16383 || i == primaries_ - 1) last = 16383;
      call(ns[static_cast<std::size_t>(i)], {"CLUSTER", "ADDSLOTSRANGE", std::to_string(first), std::to_string(last)});
      cursor += per;
    }
    // 2. config epochs
    for (int i = 0; i < n; ++i) call(ns[static_cast<std::size_t>(i)], {"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(i + 1)});
    // 3. each replica meets its primary and, once they know each other, replicates it: the role
    //    then travels in the replica's own packets from its first handshake with every other
    //    node (a REPLICATE after the join, as redis-cli sends it, reaches node X only with the
    //    replica's next PING to X, which in a big cluster may take minutes of simulated time).
    for (int i = primaries_; i < n; ++i) {
      const Endpoint p = world_.endpoint(primary_of_replica(i));
      call(ns[static_cast<std::size_t>(i)], {"CLUSTER", "MEET", p.ip, std::to_string(p.port)});
    }
    wait("pairs", [&] {
      for (int i = primaries_; i < n; ++i) {
        const Node* r = world_.node(ns[static_cast<std::size_t>(i)]);
        const ClusterNode* p = r->cluster().lookup(world_.node(primary_of_replica(i))->id());
        if (p == nullptr || p->in_handshake()) return false;
      }
      return true;
    });
    for (int i = primaries_; i < n; ++i) {
      Node* p = world_.node(primary_of_replica(i));
      call(ns[static_cast<std::size_t>(i)], {"CLUSTER", "REPLICATE", p->id().str()});
    }
    // 4. every node but the first meets the first; wait for the join
    const Endpoint first = world_.endpoint(ns[0]);
    for (int i = 1; i < n; ++i)
      call(ns[static_cast<std::size_t>(i)], {"CLUSTER", "MEET", first.ip, std::to_string(first.port)});
    wait("join", [&] { return joined(); });
    join_ms_ = world_.now_ms();
    // 5. stable
    wait("stable", [&] { return stable(); });
    ready_ms_ = world_.now_ms();
    role_missing_ = role_views_missing();
  }

  Millis join_ms() const { return join_ms_; }
  Millis ready_ms() const { return ready_ms_; }
  int role_missing() const { return role_missing_; }

  bool joined() const {
    const std::size_t n = names().size();
    for (const auto& name : names()) {
      const Node* node = world_.node(name);
      if (node == nullptr || node->cluster().nodes.size() != n) return false;
      for (const ClusterNode* c : node->cluster().order)
        if (c->in_handshake()) return false;
    }
    return true;
  }

  // Every running node: state ok, nobody PFAIL/FAIL/handshake in its view; the replication link
  // of each running replica up. (Whether every view already shows each replica under its primary
  // is counted by role_views_missing(): a node learns a peer's role only from that peer's own
  // packets, which in a big cluster may take minutes of simulated time, as in Redis.)
  bool stable() const {
    std::string why;
    bool ok = stable(why);
    if (!ok && std::getenv("SIM_SCALE_VERBOSE") != nullptr && world_.now_ms() % 5000 < 100)
      std::fprintf(stderr, "t=%lld not stable: %s\n", static_cast<long long>(world_.now_ms()), why.c_str());
    return ok;
  }
  bool stable(std::string& why) const {
    std::map<NodeId, NodeId> primary_of;  // replica id -> primary id
    for (int i = primaries_; i < static_cast<int>(names().size()); ++i) {
      const Node* r = world_.node(names()[static_cast<std::size_t>(i)]);
      const Node* p = world_.node(primary_of_replica(i));
      if (r == nullptr || p == nullptr) return false;
      primary_of[r->id()] = p->id();
      if (!r->primary_link_up()) {
        why = names()[static_cast<std::size_t>(i)] + " replication link down";
        return false;
      }
    }
    for (const auto& name : names()) {
      const Node* node = world_.node(name);
      if (node == nullptr) return false;
      const ClusterState& cs = node->cluster();
      if (cs.state != ClusterHealth::ok) {
        why = name + " cluster state fail";
        return false;
      }
      for (const ClusterNode* c : cs.order) {
        if ((c->flags & (kNodePfail | kNodeFail | kNodeHandshake)) != 0) {
          why = fmt::format("{} flags {} for {}", name, c->flags, c->name.view());
          return false;
        }
      }
    }
    return true;
  }

  // (view, replica) pairs where the view does not show the replica under its primary.
  int role_views_missing() const {
    std::map<NodeId, NodeId> primary_of;
    for (int i = primaries_; i < static_cast<int>(names().size()); ++i) {
      const Node* r = world_.node(names()[static_cast<std::size_t>(i)]);
      const Node* p = world_.node(primary_of_replica(i));
      if (r != nullptr && p != nullptr) primary_of[r->id()] = p->id();
    }
    int missing = 0;
    for (const auto& name : names()) {
      const Node* node = world_.node(name);
      if (node == nullptr) continue;
      for (const ClusterNode* c : node->cluster().order) {
        auto it = primary_of.find(c->name);
        if (it != primary_of.end() && (c->primary == nullptr || !(c->primary->name == it->second))) ++missing;
      }
    }
    return missing;
  }

  template <class Pred>
  void wait(const char* what, Pred pred, Millis limit_ms = 600000) {
    Millis deadline = world_.now_ms() + limit_ms;
    while (!pred()) {
      if (world_.now_ms() >= deadline) die(fmt::format("the cluster did not reach '{}' within {} ms", what, limit_ms));
      world_.sleep_ms(100);
    }
  }

 private:
  Options opt_;
  SimWorld world_;
  ClientPool pool_;
  int primaries_ = 0;
  Millis join_ms_ = 0;
  Millis ready_ms_ = 0;
  int role_missing_ = 0;
};

int run_idle(const Options& o) {
  auto t0 = std::chrono::steady_clock::now();
  Cluster c(o);
  c.bootstrap();
  double boot_wall = seconds_since(t0);
  sim::Simulator& sim = c.world().simulator();
  const std::uint64_t rss_ready = proc_status_kb("VmRSS");
  if (std::getenv("SIM_SCALE_VERBOSE") != nullptr) std::fprintf(stderr, "ready after %.1f s wall\n", boot_wall);
  const std::uint64_t events0 = sim.events_processed();
  const sim::NetworkStats net0 = sim.network_stats();
  auto t1 = std::chrono::steady_clock::now();
  const double cpu1 = cpu_seconds();
  sim.run_for(o.seconds * 1'000'000);
  const double wall = seconds_since(t1);
  const double cpu = cpu_seconds() - cpu1;
  const sim::NetworkStats& net1 = sim.network_stats();
  fmt::print(
      "{{\"mode\": \"idle\", \"nodes\": {}, \"replicas\": {}, \"node_timeout_ms\": {}, \"seed\": {}, "
      "\"bootstrap_join_sim_ms\": {}, \"bootstrap_ready_sim_ms\": {}, \"role_views_missing\": {}, \"bootstrap_wall_s\": {:.3f}, "
      "\"sim_s\": {}, \"wall_s\": {:.3f}, \"sim_per_wall\": {:.2f}, \"cpu_s\": {:.3f}, \"sim_per_cpu\": {:.2f}, "
      "\"events\": {}, \"messages\": {}, \"bytes\": {}, \"rss_ready_bytes\": {}, \"rss_bytes\": {}, \"rss_peak_bytes\": {}, \"invariant_period_ms\": {}, "
      "\"huge_pages\": {}, \"trace_hash\": \"{:016x}\"}}\n",
      o.nodes, o.replicas, o.node_timeout_ms, o.seed, c.join_ms(), c.ready_ms(), c.role_missing(), boot_wall, o.seconds, wall,
      static_cast<double>(o.seconds) / wall, cpu, static_cast<double>(o.seconds) / cpu, sim.events_processed() - events0,
      net1.chunks_delivered - net0.chunks_delivered, net1.bytes_delivered - net0.bytes_delivered, rss_ready,
      proc_status_kb("VmRSS"), proc_status_kb("VmHWM"), o.invariant_period_ms, huge_pages_on(), sim.trace_hash());
  return 0;
}

int run_failover(const Options& o) {
  auto t0 = std::chrono::steady_clock::now();
  Cluster c(o);
  c.bootstrap();
  double boot_wall = seconds_since(t0);
  SimWorld& w = c.world();
  sim::Simulator& sim = w.simulator();
  const auto& ns = c.names();
  std::string idle_json = "null";
  if (o.idle_before_crash_s > 0) {
    const std::uint64_t events0 = sim.events_processed();
    const sim::NetworkStats net0 = sim.network_stats();
    auto ti = std::chrono::steady_clock::now();
    const double ci = cpu_seconds();
    sim.run_for(o.idle_before_crash_s * 1'000'000);
    const double iw = seconds_since(ti);
    const double ic = cpu_seconds() - ci;
    const sim::NetworkStats& net1 = sim.network_stats();
    idle_json = fmt::format(
        "{{\"sim_s\": {}, \"wall_s\": {:.3f}, \"sim_per_wall\": {:.3f}, \"cpu_s\": {:.3f}, \"sim_per_cpu\": {:.3f}, "
        "\"events\": {}, \"messages\": {}, \"bytes\": {}, \"rss_bytes\": {}}}",
        o.idle_before_crash_s, iw, static_cast<double>(o.idle_before_crash_s) / iw, ic,
        static_cast<double>(o.idle_before_crash_s) / ic, sim.events_processed() - events0,
        net1.chunks_delivered - net0.chunks_delivered, net1.bytes_delivered - net0.bytes_delivered,
        proc_status_kb("VmRSS"));
    if (std::getenv("SIM_SCALE_VERBOSE") != nullptr) std::fprintf(stderr, "idle: %s\n", idle_json.c_str());
  }
  // Every k-th primary, k = 1 / fraction: spread over the slot space, deterministic.
  const int kill = std::max(1, static_cast<int>(std::lround(c.primaries() * o.fraction)));
  std::vector<std::string> victims;
  std::set<NodeId> victim_ids;
  std::map<std::string, std::string> replica_of_victim;  // victim -> its (first) replica's name
  for (int i = 0; i < kill; ++i) {
    int idx = static_cast<int>(static_cast<long long>(i) * c.primaries() / kill);
    victims.push_back(ns[static_cast<std::size_t>(idx)]);
    victim_ids.insert(w.node(victims.back())->id());
    replica_of_victim[victims.back()] = ns[static_cast<std::size_t>(c.primaries() + idx * o.replicas)];
  }
  const std::size_t trace_before = sim.trace().size();
  const Millis crash_ms = w.now_ms();
  if (std::getenv("SIM_SCALE_VERBOSE") != nullptr) std::fprintf(stderr, "ready after %.1f s wall\n", boot_wall);
  auto t1 = std::chrono::steady_clock::now();
  const double cpu1 = cpu_seconds();
  for (const auto& v : victims)
    if (auto r = sim.crash(w.host(v), "DEBUG SEGFAULT"); !r) die(r.error().message);

  // Converged: every running node in state ok, with the same slot owners, none of them a victim,
  // and every victim flagged FAIL.
  // (Checked every 100 simulated ms: the cheap conditions on every node first, so that the
  // N x 16,384 slot comparison runs only once they all hold; at 1,000 nodes it would otherwise be
  // most of the CPU time measured from the crash to convergence.)
  auto converged = [&] {
    for (const auto& name : ns) {
      const Node* n = w.node(name);
      if (n == nullptr) continue;
      const ClusterState& cs = n->cluster();
      if (cs.state != ClusterHealth::ok) return false;
      for (const NodeId& v : victim_ids) {
        const ClusterNode* vn = cs.lookup(v);
        if (vn == nullptr || !vn->failed()) return false;
      }
    }
    std::vector<NodeId> ref_owner(kSlotCount);
    bool first = true;
    for (const auto& name : ns) {
      const Node* n = w.node(name);
      if (n == nullptr) continue;
      const ClusterState& cs = n->cluster();
      for (int s = 0; s < kSlotCount; ++s) {
        const ClusterNode* owner = cs.slots[static_cast<std::size_t>(s)];
        if (owner == nullptr || victim_ids.count(owner->name) != 0) return false;
        if (first) {
          ref_owner[static_cast<std::size_t>(s)] = owner->name;
        } else if (!(ref_owner[static_cast<std::size_t>(s)] == owner->name)) {
          return false;
        }
      }
      first = false;
    }
    return true;
  };
  c.wait("converged after the crash", converged);
  const double wall = seconds_since(t1);
  const double cpu = cpu_seconds() - cpu1;
  const Millis converged_ms = w.now_ms() - crash_ms;

  // Per victim: first PFAIL anywhere, first FAIL anywhere, its replica's promotion.
  std::map<NodeId, Millis> first_pfail, first_fail;
  std::map<std::uint32_t, Millis> promoted_host;
  const auto& trace = sim.trace();
  for (std::size_t i = trace_before; i < trace.size(); ++i) {
    const auto& rec = trace[i];
    const Millis t = rec.time_us / 1000 - crash_ms;
    if (rec.event.kind == TraceKind::pfail_marked && victim_ids.count(rec.event.about) && !first_pfail.count(rec.event.about))
      first_pfail[rec.event.about] = t;
    if (rec.event.kind == TraceKind::fail_marked && victim_ids.count(rec.event.about) && !first_fail.count(rec.event.about))
      first_fail[rec.event.about] = t;
    if (rec.event.kind == TraceKind::promoted && !promoted_host.count(sim::index_of(rec.host)))
      promoted_host[sim::index_of(rec.host)] = t;
  }
  std::vector<Millis> pf, fa, pr;
  int promoted_own_replica = 0;
  for (const auto& v : victims) {
    const std::string& r = replica_of_victim[v];
    auto it = promoted_host.find(sim::index_of(w.host(r)));
    if (it != promoted_host.end()) {
      pr.push_back(it->second);
      ++promoted_own_replica;
    }
  }
  for (const auto& [id, t] : first_pfail) pf.push_back(t);
  for (const auto& [id, t] : first_fail) fa.push_back(t);
  auto mm = [](std::vector<Millis> v) {
    if (v.empty()) return std::string("null, null, null");
    std::sort(v.begin(), v.end());
    return fmt::format("{}, {}, {}", v.front(), v[v.size() / 2], v.back());
  };
  fmt::print(
      "{{\"mode\": \"failover\", \"nodes\": {}, \"replicas\": {}, \"node_timeout_ms\": {}, \"seed\": {}, "
      "\"bootstrap_ready_sim_ms\": {}, \"bootstrap_wall_s\": {:.3f}, \"crashed_primaries\": {}, "
      "\"promoted\": {}, \"first_pfail_ms_min_med_max\": [{}], \"first_fail_ms_min_med_max\": [{}], "
      "\"promoted_ms_min_med_max\": [{}], \"converged_ms\": {}, \"wall_s\": {:.3f}, \"cpu_s\": {:.3f}, \"rss_peak_bytes\": {}, "
      "\"invariant_period_ms\": {}, \"huge_pages\": {}, \"idle\": {}, \"trace_hash\": \"{:016x}\"}}\n",
      o.nodes, o.replicas, o.node_timeout_ms, o.seed, c.ready_ms(), boot_wall, victims.size(), promoted_own_replica,
      mm(pf), mm(fa), mm(pr), converged_ms, wall, cpu, proc_status_kb("VmHWM"), o.invariant_period_ms, huge_pages_on(), idle_json,
      sim.trace_hash());
  return 0;
}

int run_swarm(const Options& o) {
  auto sc = load_scenario_file(o.scenario);
  if (!sc) die(sc.error().message);
  int passed = 0;
  double sim_s = 0;
  std::string failed;
  auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  for (int seed = o.first; seed <= o.last; ++seed) {
    SimWorld w(static_cast<std::uint64_t>(seed));
    RunResult r = run_scenario(*sc, w, static_cast<std::uint64_t>(seed));
    sim_s += static_cast<double>(r.world_time_ms) / 1000.0;
    if (r.passed) {
      ++passed;
    } else {
      failed += (failed.empty() ? "" : ",") + std::to_string(seed);
    }
  }
  const double wall = seconds_since(t0);
  fmt::print(
      "{{\"mode\": \"swarm\", \"scenario\": \"{}\", \"first\": {}, \"last\": {}, \"passed\": {}, \"failed\": [{}], "
      "\"sim_s\": {:.1f}, \"wall_s\": {:.3f}, \"cpu_s\": {:.3f}}}\n",
      sc->name, o.first, o.last, passed, failed, sim_s, wall, cpu_seconds() - cpu0);
  return passed == o.last - o.first + 1 ? 0 : 1;
}

}  // namespace

// Transparent huge pages for the heap (issue 7): a 1,000-node simulation keeps ~3 GB of node
// records and touches them in an order no cache follows; with 4 KB pages nearly every record read
// is also a TLB miss and a page walk. glibc (>= 2.35) asks the kernel for huge pages for malloc's
// memory when the tunable glibc.malloc.hugetlb=1 is set, which can only be done before the
// process starts: so the bench re-executes itself once with it (unless --no-huge-pages, or the
// tunable is already set). Measured at 600 nodes: 2.05 -> 2.57 simulated s per CPU s.
void reexec_with_huge_pages(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--no-huge-pages") return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  std::string t = tunables != nullptr ? tunables : "";
  if (t.find("glibc.malloc.hugetlb") != std::string::npos) return;
  t = t.empty() ? "glibc.malloc.hugetlb=1" : t + ":glibc.malloc.hugetlb=1";
  if (setenv("GLIBC_TUNABLES", t.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // exec failed (no /proc?): run as we are.
}

int main(int argc, char** argv) {
  reexec_with_huge_pages(argc, argv);
  Options o;
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: sim_scale idle|failover|swarm [--nodes N] [--replicas R] [--node-timeout MS] [--seconds S]\n"
                 "                 [--fraction F] [--seed X] [--full-hash]\n"
                 "                 [--invariant-period MS] [--idle-before-crash S] [--scenario PATH --first A --last B]\n"
                 "                 [--no-huge-pages]\n");
    return 2;
  }
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--nodes") o.nodes = std::stoi(next());
      else if (a == "--replicas") o.replicas = std::stoi(next());
      else if (a == "--node-timeout") o.node_timeout_ms = std::stoi(next());
      else if (a == "--seconds") o.seconds = std::stoll(next());
      else if (a == "--fraction") o.fraction = std::stod(next());
      else if (a == "--seed") o.seed = std::stoull(next());
      else if (a == "--scenario") o.scenario = next();
      else if (a == "--first") o.first = std::stoi(next());
      else if (a == "--last") o.last = std::stoi(next());
      else if (a == "--full-hash") o.full_hash = true;
      else if (a == "--invariant-period") o.invariant_period_ms = std::stoll(next());
      else if (a == "--idle-before-crash") o.idle_before_crash_s = std::stoll(next());
      else if (a == "--no-huge-pages") continue;  // handled by reexec_with_huge_pages
      else die("unknown option " + a);
    } catch (const std::exception&) {
      die("bad value for " + a);
    }
  }
  if (o.nodes < 2 || o.replicas < 0) die("--nodes must be >= 2 and --replicas >= 0");
  if (o.mode == "idle") return run_idle(o);
  if (o.mode == "failover") return run_failover(o);
  if (o.mode == "swarm") return run_swarm(o);
  die("unknown mode " + o.mode);
}
