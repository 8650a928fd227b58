// What a run's report needs beyond the steps and the checks, all computed after the run from what
// the harness recorded (the timeline the nodes reported, the steps, the workloads' operations):
// the faults as spans of time, the liveness checker, availability per fault, and the failover
// stages that need the clients' view. Nothing here talks to a node or advances the world, so the
// simulation (and its trace_hash) is exactly the same with or without it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/world.hpp"

namespace slotlab::harness {

struct RunResult;
struct StepOutcome;

// One client operation, as the report needs it (the workloads' full records stay in the workloads).
struct ClientOpSample {
  Millis start_ms = 0;  // relative to the run start
  Millis end_ms = 0;    // relative to the run start
  std::uint8_t outcome = 0;  // 0 ok, 1 failed, 2 unknown (CommandOutcome::Kind order)
  std::string error;         // first word of the error, if any ("CLUSTERDOWN", "timeout" ...)
};

// A fault the scenario applied, from its step to the step that undid it.
struct FaultSpan {
  std::string kind;                // "crash", "kill", "pause", "partition", "delay", "clock-skew", ...
  std::vector<std::string> nodes;  // the nodes it applied to (for a partition: the minority side)
  std::size_t step = 0;            // index of the step that applied it
  Millis start_ms = 0;
  std::optional<Millis> end_ms;    // restart / resume / heal; absent when never undone
  std::string label;               // "crash n3", "partition n1 | n2,n3,..."
};

// The faults of a run, from its steps: crash/kill until the node's restart, pause until resume,
// partition (the minority side, StepOutcome::affected) until heal; the simulator's link, clock,
// disk and bus-message faults until clear-faults (or the next step of the same kind on the same
// node; nodes {"*"} when the step names none: the whole cluster).
// A value-0 step (clearing one attribute) is shown as a new span of that kind: a simplification.
std::vector<FaultSpan> fault_spans(const std::vector<StepOutcome>& steps);

// Liveness: after the last fault is undone (or, when a crashed primary is never restarted, after
// the crash), every running node of the cluster reports cluster_state:ok, and a client is served,
// within a deadline derived from the node timeout NT (constants of Redis 7.0.15's cluster.c, see
// /work/shared/reference/redis-cluster-7.0.md section 3):
//   deadline = heal + 1.5*NT      (PFAIL: a ping pending for > NT, sent at the latest NT/2 after
//                                  the last pong)
//                   + NT          (FAIL: PFAIL reports ride every gossip, each node pings every
//                                  other at least every NT/2; reports stay valid 2*NT)
//                   + 1000 + 1000*(replicas-1)   (election delay 500 + rand(500) + rank*1000)
//                   + max(2*NT, 2000)            (one election round: the auth timeout)
//                   + clamp(NT, 500, 5000)       (a primary back from the minority stays FAIL
//                                                 that long before it accepts writes again)
//                   + 1000        (slack: the promoted replica's PONG broadcast, client retries)
// An election that needs a second round (a split vote) exceeds it on purpose: that is worth a
// look. cluster_state:ok implies full slot coverage in every node's own view when
// cluster-require-full-coverage is yes (the default): a slot without an owner, or owned by a FAIL
// primary, makes the state fail (clusterUpdateState); with it set to no, coverage is not implied
// and the checker says so. "A client is served": the first client operation that starts after the
// heal and succeeds; without a workload running then, only the nodes' state is timed.
struct LivenessResult {
  bool evaluated = false;   // false: nothing to evaluate (the run aborted before any fault healed)
  bool passed = false;
  Millis node_timeout_ms = 0;
  Millis heal_ms = 0;        // time the last fault was undone (relative to the run start)
  std::string heal_what;     // which step
  Millis deadline_ms = 0;    // heal_ms + budget
  Millis budget_ms = 0;
  std::optional<Millis> state_ok_ms;       // every running node ok (relative to the run start)
  std::optional<Millis> client_served_ms;  // first successful client op that started after heal
  bool client_measured = false;            // a workload ran after the heal
  bool coverage_implied = true;            // cluster-require-full-coverage yes
  std::string detail;
};

// Availability during one fault: the client operations that started between the fault step and
// the end of its window (the later of its undo step and the failover's all-ok; capped by the next
// fault's start), and the span clients saw errors: the first failing op's end to the last failing
// op's end, among the ops started from the fault until the next fault (or the run's end).
struct AvailabilityWindow {
  std::string fault;      // FaultSpan::label
  Millis start_ms = 0, end_ms = 0;
  std::size_t ops = 0, ok = 0, failed = 0, unknown = 0;
  double failed_fraction = 0;  // (failed + unknown) / ops; 0 when no op ran
  std::optional<Millis> first_error_ms, last_error_ms;  // relative to the run start
  Millis error_span_ms = 0;
};

// Node timeout of the scenario's topology config (15000 by default, as in Redis).
Millis node_timeout_of(const std::map<std::string, std::string>& config);

// Fills r.faults, r.liveness, r.availability and the failover stages that need clients
// (ms_to_votes, ms_to_clients_ok) from r.steps, r.timeline and r.client_ops. `created` is the
// number of nodes the create step makes part of the cluster (n1..n<created>); add-node / del-node
// steps change that membership from the end of their step.
void analyse_run(RunResult& r, Millis node_timeout_ms, int replicas, int created, bool require_full_coverage);

nlohmann::json liveness_json(const LivenessResult& l);
nlohmann::json availability_json(const std::vector<AvailabilityWindow>& a);
nlohmann::json faults_json(const std::vector<FaultSpan>& f);
// Markdown sections (liveness, availability, lost-write table) appended to the run report.
std::string liveness_markdown(const RunResult& r);

}  // namespace slotlab::harness
