// The fault steps in the simulator: lossy links (a delay longer than the node timeout looks like
// a dead node, drops only cost retransmission time), clock jumps, disk faults (a node that cannot
// save nodes.conf exits, as redis-server does), dropped bus message types, CONFIG SET, clearing;
// their validation; and that the real world refuses them (except set-config) before starting.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "harness/real_world.hpp"
#include "harness/runner.hpp"
#include "harness/sim_world.hpp"
#include "node/node.hpp"

using namespace slotlab;
using namespace slotlab::harness;

namespace {

Scenario parse(const std::string& steps, const std::string& config = R"({"cluster-node-timeout": 2000})",
               int replicas = 1) {
  auto doc = nlohmann::json::parse(fmt::format(R"({{"name": "t", "topology": {{"primaries": 3, "replicas": {}, "config": {}}},
      "steps": [{{"do": "create"}}, {{"do": "wait-until", "condition": "healthy", "timeout_ms": 60000}},
                {{"do": "wait-until", "condition": "replicas-in-sync", "timeout_ms": 60000}}, {}]}})",
                                                replicas, config, steps));
  auto sc = parse_scenario(doc);
  INFO((sc ? "" : sc.error().message));
  REQUIRE(sc.ok());
  return *sc;
}

std::string parse_error(const std::string& steps_json) {
  auto doc = nlohmann::json::parse(R"({"name": "x", "topology": {"primaries": 3, "replicas": 1}, "steps": )" + steps_json + "}");
  auto sc = parse_scenario(doc);
  return sc ? std::string() : sc.error().message;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t a = 0, b;
  while ((b = s.find('\n', a)) != std::string::npos) {
    out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

std::vector<std::string> split_fields(const std::string& s) {
  std::vector<std::string> out;
  std::size_t a = 0, b;
  while ((b = s.find(' ', a)) != std::string::npos) {
    out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  out.push_back(s.substr(a));
  return out;
}

bool promoted(const RunResult& r) {
  for (const auto& e : r.timeline)
    if (e.kind == TraceKind::promoted) return true;
  return false;
}

}  // namespace

TEST_CASE("fault steps: a slow link is not a dead link; a link that loses everything is", "[faults][runner]") {
  SECTION("500 ms of delay on n1's bus links (a 1 s round trip) with node-timeout 2000: no failover") {
    // Every ping is answered within the node timeout. (With a round trip longer than the node
    // timeout, pings and data from n1 both age past it between arrivals, and n1 is failed over:
    // Redis 7.0's clusterCron uses node_delay = min(ping_delay, data_delay).)
    Scenario sc = parse(R"({"do": "delay", "from": ["n1"], "links": "bus", "ms": 500},
                           {"do": "sleep", "duration_ms": 20000},
                           {"do": "check", "checks": ["no-failover"]},
                           {"do": "clear-faults", "kinds": ["links"]},
                           {"do": "wait-until", "condition": "healthy", "timeout_ms": 60000})");
    SimWorld world(1);
    RunResult r = run_scenario(sc, world, 1);
    INFO(summary_text(r));
    REQUIRE(r.passed);
  }
  SECTION("3 s of delay: the first 3 s of silence exceed the node timeout, n1 is failed over") {
    Scenario sc = parse(R"({"do": "delay", "from": ["n1"], "links": "bus", "ms": 3000},
                           {"do": "sleep", "duration_ms": 10000},
                           {"do": "clear-faults", "kinds": ["links"]},
                           {"do": "wait-until", "condition": "is-replica", "node": "n1", "timeout_ms": 60000},
                           {"do": "wait-until", "condition": "healthy", "timeout_ms": 60000})");
    SimWorld world(1);
    RunResult r = run_scenario(sc, world, 1);
    INFO(summary_text(r));
    REQUIRE(r.passed);
    CHECK(promoted(r));
  }
  SECTION("every segment on n1's bus links lost: n1 is failed over, like a partition") {
    Scenario sc = parse(R"({"do": "drop-rate", "from": ["n1"], "links": "bus", "rate": 1},
                           {"do": "wait-until", "condition": "is-replica", "node": "replica-of:n1", "timeout_ms": 1000},
                           {"do": "sleep", "duration_ms": 10000},
                           {"do": "clear-faults", "kinds": ["links"]},
                           {"do": "wait-until", "condition": "is-replica", "node": "n1", "timeout_ms": 60000},
                           {"do": "wait-until", "condition": "healthy", "timeout_ms": 60000})");
    SimWorld world(1);
    RunResult r = run_scenario(sc, world, 1);
    INFO(summary_text(r));
    REQUIRE(r.passed);
    CHECK(promoted(r));
  }
  SECTION("20% of bus and client segments dropped for 30 s: every loss is retransmitted, nothing fails over") {
    Scenario sc = parse(R"({"do": "drop-rate", "rate": 0.2, "links": "bus"},
                           {"do": "drop-rate", "rate": 0.2, "from": ["clients"], "to": "all"},
                           {"do": "load-keys", "count": 500},
                           {"do": "sleep", "duration_ms": 30000},
                           {"do": "check", "checks": ["no-failover", "acknowledged-writes", "cluster-state-ok"]},
                           {"do": "clear-faults"})");
    SimWorld world(2);
    RunResult r = run_scenario(sc, world, 2);
    INFO(summary_text(r));
    REQUIRE(r.passed);
    const auto& st = world.simulator().network_stats();
    CHECK(st.segments_dropped > 100);
    CHECK(st.fault_give_ups == 0);
  }
  SECTION("duplicates and reordering change nothing but timing") {
    Scenario sc = parse(R"({"do": "duplicate", "rate": 0.3}, {"do": "reorder", "rate": 0.3, "gap_ms": 20},
                           {"do": "jitter", "ms": 30, "one_way": true, "from": ["n1", "n2"], "to": ["n3", "clients"]},
                           {"do": "load-keys", "count": 300},
                           {"do": "sleep", "duration_ms": 10000},
                           {"do": "check", "checks": ["no-failover", "acknowledged-writes", "agreement"]})");
    SimWorld world(3);
    RunResult r = run_scenario(sc, world, 3);
    INFO(summary_text(r));
    REQUIRE(r.passed);
    CHECK(world.simulator().network_stats().duplicates_discarded > 100);
    CHECK(world.simulator().network_stats().segments_reordered > 100);
  }
}

TEST_CASE("fault steps: a node's clock jump confuses that node only", "[faults][runner]") {
  // Redis 7.0's cluster times everything with mstime(): after +60 s, n1 records the pongs it gets
  // at its own (wrong) time, and it pings every peer at once (their last pong now looks 60 s
  // old). Nobody else is affected: no PFAIL quorum, no failover. Then back by 60 s, and another
  // node skewed by -3 s.
  Scenario sc = parse(R"({"do": "clock-jump", "node": "n1", "by_ms": 60000},
                         {"do": "sleep", "duration_ms": 5000},
                         {"do": "check", "checks": ["no-failover", "cluster-state-ok"]},
                         {"do": "clock-jump", "node": "n1", "by_ms": -60000},
                         {"do": "clock-skew", "node": "n2", "offset_ms": -3000},
                         {"do": "sleep", "duration_ms": 5000},
                         {"do": "wait-until", "condition": "healthy", "timeout_ms": 30000},
                         {"do": "check", "checks": ["no-failover"]},
                         {"do": "clock-jump", "node": "n1", "by_ms": 60000},
                         {"do": "sleep", "duration_ms": 2000})");
  SimWorld world(4);
  RunResult r = run_scenario(sc, world, 4);
  INFO(summary_text(r));
  REQUIRE(r.passed);
  auto& sim = world.simulator();
  CHECK(sim.host_clock_us(world.host("n2")) - sim.host_clock_us(world.host("n3")) == -3'000'000);
  CHECK(sim.host_clock_us(world.host("n1")) - sim.host_clock_us(world.host("n3")) == 60'000'000);
  // n1's view: the last pong from n3 was received at n1's clock, a minute ahead of the truth.
  const Millis true_now_ms = (sim.config().clock_epoch_us + sim.now_us()) / 1000;
  Node* n1 = world.node("n1");
  REQUIRE(n1 != nullptr);
  std::string n3_id = world.node_id("n3");
  bool checked = false;
  for (const auto& line : split_lines(n1->cluster_nodes_text())) {
    if (line.rfind(n3_id, 0) != 0) continue;
    auto fields = split_fields(line);
    REQUIRE(fields.size() > 5);
    Millis pong = std::stoll(fields[5]);
    CHECK(pong > true_now_ms + 55'000);
    checked = true;
  }
  CHECK(checked);
}

TEST_CASE("fault steps: a node whose disk fails exits at its next nodes.conf save, and is failed over", "[faults][runner]") {
  // redis-server 7.0.15: clusterSaveConfigOrDie() logs "Fatal: can't update cluster config file."
  // and exit(1)s. Killing another node's replica changes n1's view (PFAIL/FAIL), so it saves.
  Scenario sc = parse(R"({"do": "disk-fault", "node": "n1", "fault": "write-failed"},
                         {"do": "kill", "node": "replica-of:n2"},
                         {"do": "wait-until", "condition": "failed-over", "node": "n1", "timeout_ms": 60000},
                         {"do": "disk-fault", "node": "n1", "fault": "none"},
                         {"do": "restart", "node": "n1"},
                         {"do": "wait-until", "condition": "is-replica", "node": "n1", "timeout_ms": 60000})");
  SimWorld world(5);
  RunResult r = run_scenario(sc, world, 5);
  INFO(summary_text(r));
  REQUIRE(r.passed);
  bool exited = false;
  for (const auto& e : r.timeline)
    if (e.node == "n1" && e.kind == TraceKind::crashed && e.detail == "shutdown, exit code 1") exited = true;
  CHECK(exited);
  CHECK(promoted(r));
}

TEST_CASE("fault steps: fsync-lost is a lying disk: saves succeed, nothing they wrote would survive a crash",
          "[faults][runner]") {
  // A failover makes every node save nodes.conf with fsync (the slots changed owner:
  // CLUSTER_TODO_FSYNC_CONFIG in Redis 7.0.15). n1's disk says yes and keeps the old file.
  Scenario sc = parse(R"({"do": "disk-fault", "node": "n1", "fault": "fsync-lost"},
                         {"do": "kill", "node": "n2"},
                         {"do": "wait-until", "condition": "failed-over", "node": "n2", "timeout_ms": 60000},
                         {"do": "sleep", "duration_ms": 2000})");
  SimWorld world(9);
  RunResult r = run_scenario(sc, world, 9);
  INFO(summary_text(r));
  REQUIRE(r.passed);
  REQUIRE(r.failovers.size() == 1);
  const std::string promoted = r.failovers[0].promoted_id;
  REQUIRE(!promoted.empty());
  auto role_in = [&](const std::optional<std::string>& conf) {
    REQUIRE(conf);
    for (const auto& line : split_lines(*conf))
      if (line.rfind(promoted, 0) == 0) return split_fields(line).at(2);
    return std::string("absent");
  };
  sim::SimDisk* d1 = world.simulator().disk(world.host("n1"));
  sim::SimDisk* d3 = world.simulator().disk(world.host("n3"));
  REQUIRE(d1 != nullptr);
  REQUIRE(d3 != nullptr);
  CHECK(role_in(d1->current_content("nodes.conf")) == "master");
  // What a crash would bring back: not the new configuration (here: an empty file, since the
  // renamed nodes.conf.tmp was never really synced; SimDisk keeps a rename's content as it is).
  CHECK(role_in(d1->durable_content("nodes.conf")) != "master");
  CHECK(role_in(d3->durable_content("nodes.conf")) == "master");
}

TEST_CASE("fault steps: a replica that never receives votes cannot fail over until the filter is lifted",
          "[faults][runner]") {
  Scenario sc = parse(R"({"do": "drop-bus-messages", "node": "replica-of:n1", "types": ["failover-auth-ack"]},
                         {"do": "crash", "node": "n1"},
                         {"do": "wait-until", "condition": "cluster-down", "timeout_ms": 30000},
                         {"do": "sleep", "duration_ms": 15000},
                         {"do": "check", "checks": ["no-failover"]},
                         {"do": "clear-faults", "kinds": ["bus-messages"]},
                         {"do": "wait-until", "condition": "failed-over", "node": "n1", "timeout_ms": 60000},
                         {"do": "wait-until", "condition": "healthy", "timeout_ms": 60000})");
  SimWorld world(6);
  RunResult r = run_scenario(sc, world, 6);
  INFO(summary_text(r));
  REQUIRE(r.passed);
  CHECK(promoted(r));
}

TEST_CASE("fault steps: set-config is a CONFIG SET on each node", "[faults][runner]") {
  Scenario sc = parse(R"({"do": "set-config", "name": "cluster-node-timeout", "value": 1500},
                         {"do": "set-config", "node": "n2", "name": "cluster-allow-reads-when-down", "value": true},
                         {"do": "call", "args": ["CONFIG", "GET", "cluster-node-timeout"]})");
  SimWorld world(7);
  RunResult r = run_scenario(sc, world, 7);
  INFO(summary_text(r));
  REQUIRE(r.passed);
  for (const auto& name : world.node_names()) CHECK(world.node(name)->config().cluster_node_timeout_ms == 1500);
  CHECK(world.node("n2")->config().cluster_allow_reads_when_down);
  CHECK_FALSE(world.node("n3")->config().cluster_allow_reads_when_down);
  CHECK(r.steps.at(3).detail.find("CONFIG SET cluster-node-timeout 1500 on n1,n2,n3,n4,n5,n6") == 0);
}

TEST_CASE("fault steps: with no fault in effect the run is the same as without the steps", "[faults][determinism]") {
  auto hash = [](const std::string& extra) {
    Scenario sc = parse(extra + R"({"do": "crash", "node": "primary-of-slot:0"},
                                   {"do": "wait-until", "condition": "failed-over", "node": "@last", "timeout_ms": 60000})");
    SimWorld world(8);
    RunResult r = run_scenario(sc, world, 8);
    REQUIRE(r.passed);
    return *r.trace_hash;
  };
  std::uint64_t plain = hash("");
  CHECK(hash(R"({"do": "delay", "ms": 0}, {"do": "drop-rate", "rate": 0}, {"do": "clear-faults"},)") == plain);
  CHECK(hash(R"({"do": "drop-rate", "rate": 0.5, "from": ["n1"], "to": ["n2"]}, {"do": "clear-faults", "kinds": ["links"]},)") == plain);
  CHECK(hash(R"({"do": "delay", "ms": 50, "from": ["n1"], "to": ["n2"]},)") != plain);
}

TEST_CASE("fault steps are validated with the path of the field", "[faults][scenario]") {
  CHECK(parse_error(R"([{"do": "delay"}])") == "$.steps[0].ms: missing (expected an integer between 0 and 3600000)");
  CHECK(parse_error(R"([{"do": "delay", "ms": "5s"}])") ==
        "$.steps[0].ms: expected an integer between 0 and 3600000, got string \"5s\"");
  CHECK(parse_error(R"([{"do": "drop-rate", "rate": 1.5}])") == "$.steps[0].rate: expected a number between 0 and 1, got 1.5");
  CHECK(parse_error(R"([{"do": "reorder", "rate": 0.1, "gap_ms": 0}])") ==
        "$.steps[0].gap_ms: expected an integer between 1 and 60000, got 0");
  CHECK(parse_error(R"([{"do": "jitter", "ms": 5, "links": "wifi"}])") ==
        "$.steps[0].links: expected \"bus\", \"data\" or \"all\", got 'wifi'");
  CHECK(parse_error(R"([{"do": "duplicate", "rate": 0.1, "to": ["n1", "n9"]}])") == "$.steps[0].to[1]: node n9 does not exist (n1..n6)");
  CHECK(parse_error(R"([{"do": "duplicate", "rate": 0.1, "from": []}])").find("$.steps[0].from: expected \"all\"") == 0);
  CHECK(parse_error(R"([{"do": "clock-jump", "node": "n1"}])").find("$.steps[0].by_ms: missing") == 0);
  CHECK(parse_error(R"([{"do": "clock-skew", "node": "clients", "offset_ms": 5}])").find("$.steps[0].node: bad node selector") == 0);
  CHECK(parse_error(R"([{"do": "disk-fault", "node": "n1", "fault": "slow"}])") ==
        "$.steps[0].fault: expected none, fsync-lost, fsync-failed or write-failed, got 'slow'");
  CHECK(parse_error(R"([{"do": "drop-bus-messages", "node": "n1", "types": ["ping", "gossip"]}])").find(
            "$.steps[0].types[1]: expected a bus message type (ping, pong,") == 0);
  CHECK(parse_error(R"([{"do": "drop-bus-messages", "node": "n1"}])").find("$.steps[0].types: missing") == 0);
  CHECK(parse_error(R"([{"do": "set-config", "name": "cluster-node-timeout", "value": "soon"}])").find("$.steps[0].value: ") == 0);
  CHECK(parse_error(R"([{"do": "set-config", "name": "cluster-enabled", "value": "no"}])") ==
        "$.steps[0].name: 'cluster-enabled' cannot be changed with CONFIG SET (only at start-up: use topology.config)");
  CHECK(parse_error(R"([{"do": "set-config", "name": "no-such-thing", "value": 1}])") ==
        "$.steps[0].name: unknown configuration parameter 'no-such-thing'");
  CHECK(parse_error(R"([{"do": "clear-faults", "kinds": ["partitions"]}])") ==
        "$.steps[0].kinds[0]: expected links, clocks, disks or bus-messages, got string \"partitions\"");
  CHECK(parse_error(R"([{"do": "clear-faults", "node": "n1"}])").find("$.steps[0].node: unknown field") == 0);
  CHECK(parse_error(R"([{"do": "crash", "node": "replica-of:"}])").find("$.steps[0].node: bad node selector") == 0);
  CHECK(parse_error(R"([{"do": "crash", "node": "replica-of:primary-of-slot:0"}])").empty());
}

TEST_CASE("the real world refuses the simulator's fault steps before starting anything, but performs set-config",
          "[faults][real]") {
  RealWorld world(1, RealWorldOptions{});
  for (const char* a : {"delay", "jitter", "drop-rate", "duplicate", "reorder", "clock-skew", "clock-jump", "disk-fault",
                        "drop-bus-messages", "clear-faults", "partition", "heal"})
    CHECK_FALSE(world.supports(a));
  CHECK(world.supports("set-config"));
  Scenario sc = parse(R"({"do": "delay", "ms": 10})");
  RunResult r = run_scenario(sc, world, 1);
  CHECK_FALSE(r.passed);
  CHECK(r.failure == "$.steps[3]: the real world cannot perform 'delay' steps; nothing was started");
  CHECK(r.steps.empty());
}
