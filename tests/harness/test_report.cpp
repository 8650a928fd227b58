// Reports and the checkers computed after a run: fault spans, liveness (passes in time, fails when
// the cluster is not ok by the deadline), availability per fault, the client-side failover stage,
// the HTML run report and the swarm summary page.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "harness/report_html.hpp"
#include "harness/runner.hpp"
#include "harness/sim_world.hpp"

using namespace slotlab;
using namespace slotlab::harness;

namespace {

StepOutcome step(std::size_t i, const std::string& action, const std::string& node, Millis start, Millis duration) {
  StepOutcome s;
  s.index = i;
  s.action = action;
  s.node = node;
  s.start_ms = start;
  s.duration_ms = duration;
  s.ok = true;
  return s;
}

TimelineEvent ev(Millis t, const std::string& node, TraceKind kind, std::int64_t value = 0, const std::string& about = "") {
  TimelineEvent e;
  e.t_ms = t;
  e.node = node;
  e.kind = kind;
  e.value = value;
  e.about = about;
  return e;
}

// Three nodes n1..n3 created at 1000 ms; n1 crashed at 10000 ms and restarted at 20000 ms. Every
// node reports ok at `ok_at` after the restart (n1 included).
RunResult crash_run(Millis ok_at) {
  RunResult r;
  r.scenario = "synthetic";
  r.world = "sim";
  r.world_time_ms = 60000;
  r.steps = {step(0, "create", "", 0, 1000), step(1, "crash", "n1", 9990, 10), step(2, "restart", "n1", 20000, 0)};
  for (const char* n : {"n1", "n2", "n3"}) {
    r.timeline.push_back(ev(0, n, TraceKind::node_started));
    r.timeline.push_back(ev(1500, n, TraceKind::state_changed, 1));
  }
  r.timeline.push_back(ev(10000, "n1", TraceKind::crashed));
  r.timeline.push_back(ev(13000, "n2", TraceKind::state_changed, 0));
  r.timeline.push_back(ev(13000, "n3", TraceKind::state_changed, 0));
  r.timeline.push_back(ev(20000, "n1", TraceKind::node_started));
  r.timeline.push_back(ev(ok_at, "n2", TraceKind::state_changed, 1));
  r.timeline.push_back(ev(ok_at, "n3", TraceKind::state_changed, 1));
  r.timeline.push_back(ev(ok_at + 5, "n1", TraceKind::state_changed, 1));
  return r;
}

}  // namespace

TEST_CASE("fault spans run from the fault step to the step that undoes it", "[report]") {
  std::vector<StepOutcome> steps = {step(0, "crash", "n1", 100, 10), step(1, "pause", "n2", 200, 0), step(2, "resume", "n2", 900, 0),
                                    step(3, "partition", "", 1000, 0), step(4, "heal", "", 5000, 0), step(5, "restart", "n1", 6000, 0)};
  steps[3].affected = {"n3", "n4"};
  auto f = fault_spans(steps);
  REQUIRE(f.size() == 3);
  CHECK(f[0].kind == "crash");
  CHECK(f[0].start_ms == 110);
  REQUIRE(f[0].end_ms);
  CHECK(*f[0].end_ms == 6000);
  CHECK(f[1].kind == "pause");
  CHECK(*f[1].end_ms == 900);
  CHECK(f[2].nodes == std::vector<std::string>{"n3", "n4"});
  CHECK(*f[2].end_ms == 5000);

  // The simulator's lingering faults: until clear-faults; a later step of the same kind replaces one.
  std::vector<StepOutcome> more = {step(0, "delay", "", 100, 0), step(1, "clock-skew", "n2", 200, 0), step(2, "delay", "", 300, 0),
                                   step(3, "clear-faults", "", 900, 0)};
  auto g = fault_spans(more);
  REQUIRE(g.size() == 3);
  CHECK(g[0].nodes == std::vector<std::string>{"*"});
  CHECK(*g[0].end_ms == 300);
  CHECK(*g[1].end_ms == 900);
  CHECK(*g[2].end_ms == 900);
}

TEST_CASE("liveness: ok within the deadline derived from the node timeout, a failure after it", "[report][liveness]") {
  // NT 2000, 1 replica: budget 1.5*NT + NT + 1000 + max(2NT, 2000) + clamp(NT) + 1000 = 15000.
  RunResult ok = crash_run(21000);
  analyse_run(ok, 2000, 1, 3, true);
  REQUIRE(ok.liveness.evaluated);
  CHECK(ok.liveness.budget_ms == 3000 + 2000 + 1000 + 4000 + 2000 + 1000);
  CHECK(ok.liveness.heal_ms == 20000);
  REQUIRE(ok.liveness.state_ok_ms);
  CHECK(*ok.liveness.state_ok_ms == 21005);  // n1 (restarted) is ok last
  CHECK(ok.liveness.passed);

  RunResult late = crash_run(20000 + 15001);
  analyse_run(late, 2000, 1, 3, true);
  CHECK_FALSE(late.liveness.passed);
  CHECK_THAT(late.liveness.detail, Catch::Contains("MISSED"));

  RunResult never = crash_run(70000);  // after the end of the run: never ok
  never.timeline.resize(never.timeline.size() - 3);
  analyse_run(never, 2000, 1, 3, true);
  CHECK_FALSE(never.liveness.passed);
  CHECK_THAT(never.liveness.detail, Catch::Contains("not ok everywhere"));

  // A client must be served too, when a workload runs after the heal.
  RunResult no_client = crash_run(21000);
  no_client.client_ops = {{20100, 20200, 1, "CLUSTERDOWN"}, {21500, 21600, 1, "CLUSTERDOWN"}};
  analyse_run(no_client, 2000, 1, 3, true);
  CHECK(no_client.liveness.client_measured);
  CHECK_FALSE(no_client.liveness.passed);
}

TEST_CASE("availability per fault and the clients' failover stage", "[report][availability]") {
  RunResult r = crash_run(21000);
  FailoverRecord f;
  f.failed_node = "n1";
  f.crash_at_ms = 10000;
  f.promotion_ms = 3500;
  f.all_ok_ms = 3600;
  f.promoted_node = "n2";
  r.failovers.push_back(f);
  // 10 ops in the window [10000, 20000] (the restart is later than the all-ok), 3 failed, 1 unknown.
  for (int i = 0; i < 10; ++i) {
    Millis s = 10100 + i * 1000;
    std::uint8_t outcome = (i == 1 || i == 2) ? 1 : (i == 3 ? 2 : 0);
    r.client_ops.push_back({s, s + 50, outcome, outcome ? "CLUSTERDOWN" : ""});
  }
  r.client_ops.push_back({5000, 5010, 1, "x"});  // before the fault: not counted
  analyse_run(r, 2000, 1, 3, true);
  REQUIRE(r.availability.size() == 1);
  const AvailabilityWindow& w = r.availability[0];
  CHECK(w.start_ms == 10000);
  CHECK(w.end_ms == 20000);
  CHECK(w.ops == 10);
  CHECK(w.failed == 2);
  CHECK(w.unknown == 1);
  CHECK(w.failed_fraction == Approx(0.3));
  REQUIRE(w.first_error_ms);
  CHECK(*w.first_error_ms == 11150);
  CHECK(*w.last_error_ms == 13150);
  CHECK(w.error_span_ms == 2000);
  // Clients served again by the first ok op after the last error (ends at 14150).
  REQUIRE(r.failovers[0].clients_ok_ms);
  CHECK(*r.failovers[0].clients_ok_ms == 4150);
  CHECK(r.failovers[0].clients_saw_errors);
}

TEST_CASE("segfault-master: liveness holds, the report has a lane per node and the failover stages", "[report]") {
  auto sc = load_scenario_file(std::string(SLOTLAB_SOURCE_DIR) + "/scenarios/segfault-master.json");
  REQUIRE(sc.ok());
  SimWorld world(3);
  RunResult r = run_scenario(*sc, world, 3);
  INFO(summary_text(r));
  REQUIRE(r.passed);
  REQUIRE(r.faults.size() == 1);
  CHECK(r.faults[0].kind == "crash");
  REQUIRE(r.liveness.evaluated);
  CHECK(r.liveness.passed);
  CHECK(r.liveness.heal_ms == *r.faults[0].end_ms);  // the restart
  auto j = to_json(r, true);
  CHECK(j["liveness"]["passed"] == true);
  CHECK(j["availability"].is_array());
  CHECK(j["timeline"].is_array());
  CHECK(j["failovers"][0]["ms_to_votes"].is_number());
  std::string html = report_html(r, "a <description> & more");
  for (int i = 1; i <= 6; ++i) CHECK_THAT(html, Catch::Contains(fmt::format("id='lane-n{}'", i)));
  CHECK_THAT(html, Catch::Contains("id='failover-stages'"));
  CHECK_THAT(html, Catch::Contains("id='liveness'"));
  CHECK_THAT(html, Catch::Contains("class='fault'"));
  CHECK_THAT(html, Catch::Contains("a &lt;description&gt; &amp; more"));
  // Self-contained: nothing is fetched (the SVG namespace URI is a name, not a request).
  CHECK_THAT(html, !Catch::Contains("src=") && !Catch::Contains("<link") && !Catch::Contains("@import") &&
                       !Catch::Contains("url(http") && !Catch::Contains("href='http") && !Catch::Contains("<script"));
}

TEST_CASE("liveness is a final check only", "[report][scenario]") {
  auto doc = [](const std::string& checks_step, const std::string& final_checks) {
    return fmt::format(R"({{"name":"x","topology":{{"primaries":3}},"steps":[{{"do":"create"}},{{"do":"check","checks":[{}]}}],
                         "final_checks":[{}]}})",
                       checks_step, final_checks);
  };
  auto bad = parse_scenario(nlohmann::json::parse(doc("\"liveness\"", "")));
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("$.steps[1].checks[0]") && Catch::Contains("final_checks"));
  CHECK(parse_scenario(nlohmann::json::parse(doc("\"agreement\"", "\"liveness\""))).ok());
}

TEST_CASE("the swarm page: outcomes, histograms, failing seeds; bad files name the field", "[report][swarm]") {
  nlohmann::json sw = {{"format", "slotlab-swarm-1"}, {"scenario", "segfault-master"}, {"first_seed", 1}, {"last_seed", 40}};
  nlohmann::json results = nlohmann::json::array();
  for (int seed = 1; seed <= 40; ++seed) {
    nlohmann::json rec = {{"seed", seed}, {"outcome", seed == 7 ? "check-failed" : "pass"}};
    if (seed == 7) rec["failure"] = "liveness: MISSED <deadline>";
    rec["failovers"] = {{{"ms_to_promotion", 3000 + seed * 20}, {"ms_to_all_ok", 3100 + seed * 20}}};
    rec["availability"] = {{{"failed_fraction", 0.01 * (seed % 5)}, {"error_span_ms", 2000 + seed}}};
    results.push_back(rec);
  }
  sw["results"] = results;
  std::string err;
  std::string html = swarm_report_html(sw, err);
  INFO(err);
  REQUIRE(!html.empty());
  CHECK_THAT(html, Catch::Contains("id='hist-promotion_ms'"));
  CHECK_THAT(html, Catch::Contains("id='hist-failed_fraction_pct'"));
  CHECK_THAT(html, Catch::Contains("(n = 40)"));
  CHECK_THAT(html, Catch::Contains("slotlab run scenarios/segfault-master.json --seed 7"));
  CHECK_THAT(html, Catch::Contains("MISSED &lt;deadline&gt;"));

  // slotlab swarm's own record shape: availability per run, lost writes, seeds / shard objects.
  nlohmann::json h4 = {{"format", "slotlab-swarm-1"}, {"scenario", "x"}, {"scenario_file", "scenarios/x.json"},
                       {"seeds", {{"first", 1}, {"last", 2}}}, {"shard", {{"index", 0}, {"count", 1}}}};
  h4["results"] = {{{"seed", 1}, {"outcome", "pass"}, {"availability", {{"ok_fraction", 0.95}, {"longest_error_window_ms", 3000}}},
                    {"lost_writes", {{"lost", 2}}}, {"failovers", nlohmann::json::array()}},
                   {{"seed", 2}, {"outcome", "crashed"}, {"availability", nullptr}, {"lost_writes", nullptr}}};
  std::string h4html = swarm_report_html(h4, err);
  REQUIRE(!h4html.empty());
  CHECK_THAT(h4html, Catch::Contains("id='hist-failed_writes_pct'") && Catch::Contains("id='hist-lost_writes'") &&
                         Catch::Contains("Seeds 1..2") && Catch::Contains("slotlab run scenarios/x.json --seed 2"));

  sw["results"][3]["seed"] = "four";
  CHECK(swarm_report_html(sw, err).empty());
  CHECK(err == "$.results[3].seed: expected a non-negative integer");
  CHECK(swarm_report_html(nlohmann::json::array(), err).empty());
}
