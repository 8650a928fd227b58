// Runs a scenario in a world and produces the result that `slotlab run --json` prints: the steps
// with their simulated/real durations, the checks, and each failover broken into stages.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/checks.hpp"
#include "harness/liveness.hpp"
#include "harness/lost_writes.hpp"
#include "harness/scenario.hpp"
#include "harness/world.hpp"

namespace slotlab::harness {

struct StepOutcome {
  std::size_t index = 0;
  std::string action;
  std::string label;
  std::string node;        // resolved node name, if any
  Millis start_ms = 0;     // relative to the run start
  Millis duration_ms = 0;
  bool ok = false;
  std::string detail;
  std::vector<std::string> log;  // admin-operation output (redis-cli-like lines)
  std::vector<std::string> affected;  // partition: the minority side's nodes (for the fault spans)
};

// One failover, from the crash of a primary to the cluster being ok everywhere again.
// Times are milliseconds after the crash; absent when the stage was not observed.
struct FailoverRecord {
  std::string failed_node;
  std::string failed_id;
  std::string promoted_node;
  std::string promoted_id;
  Millis crash_at_ms = 0;  // relative to the run start
  std::optional<Millis> first_pfail_ms;
  std::optional<Millis> fail_ms;
  std::optional<Millis> election_start_ms;
  std::optional<Millis> promotion_ms;
  std::optional<Millis> all_ok_ms;
  std::uint64_t new_config_epoch = 0;
  int votes = 0;
  std::optional<Millis> votes_ms;       // the promoted replica received its last vote (the quorum)
  std::optional<Millis> clients_ok_ms;  // the first client op served after the last one that failed
  bool clients_saw_errors = false;
};

struct WorkloadSummary {
  std::string name;
  std::size_t writes = 0, ok = 0, failed = 0, unknown = 0;
  Millis longest_error_window_ms = 0;  // longest time from a failed write to the next ok one
};

// The last acknowledged-writes check of the run (see lost_writes.hpp).
struct LostWritesSummary {
  std::size_t acknowledged = 0, present = 0, lost = 0, lost_permitted = 0, lost_unexplained = 0, unreadable = 0;
  std::size_t unknown = 0, unknown_present = 0;
  std::map<std::string, std::size_t> by_cause;
  std::size_t failed = 0;          // writes that ended with an error (never acknowledged)
  std::vector<LostWrite> losses;   // the first kMaxLossesReported losses, in key order
  static constexpr std::size_t kMaxLossesReported = 500;
};

struct RunResult {
  std::string scenario;
  std::uint64_t seed = 0;
  std::string world;
  nlohmann::json params = nlohmann::json::object();  // the scenario's drawn "params" values (params.hpp)
  bool passed = false;
  bool aborted = false;       // a step failed and the run stopped
  std::string failure;        // first thing that went wrong
  std::vector<StepOutcome> steps;
  std::vector<CheckResult> checks;
  std::vector<FailoverRecord> failovers;
  std::vector<WorkloadSummary> workloads;
  std::optional<LostWritesSummary> lost_writes;
  std::vector<TimelineEvent> timeline;
  // Observation only (liveness.hpp): every workload operation, the faults as spans, the
  // liveness checker and availability per fault.
  std::vector<ClientOpSample> client_ops;
  std::vector<FaultSpan> faults;
  LivenessResult liveness;
  std::vector<AvailabilityWindow> availability;
  Millis node_timeout_ms = 0;
  std::optional<std::uint64_t> trace_hash;
  Millis world_time_ms = 0;   // time the run took in the world (simulated ms in the simulator)
  std::int64_t wall_time_ms = 0;
};

struct RunOptions {
  // Longest wait between two evaluations of a wait-until condition (0: the world's default). In
  // the simulator conditions are also evaluated whenever a node records an event.
  Millis poll_interval_ms = 0;
  Millis command_timeout_ms = 5000;
};

RunResult run_scenario(const Scenario& scenario, World& world, std::uint64_t seed, const RunOptions& options = {});

nlohmann::json to_json(const RunResult& r, bool include_timeline);
std::string summary_text(const RunResult& r);
// A Markdown report of a run: outcome, every step with its start and duration in world time, the
// checks, each failover broken into stages, the workloads and the lost-write accounting.
std::string report_markdown(const RunResult& r, const std::string& scenario_description);

}  // namespace slotlab::harness
