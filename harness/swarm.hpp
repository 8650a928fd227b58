// Swarms: one scenario over many seeds, each in its own fork()ed child process (the simulator is
// single-threaded and deterministic, so J children use J cores, and a run that dies — an assertion,
// a crash — is recorded as such instead of taking the swarm down). Results are collected in seed
// order, so everything printed or written except wall-clock times is a function of the scenario and
// the seed range alone: a sharded swarm merged back (`swarm-merge`) prints the same table.
//
// The per-seed records and the swarm JSON file are a stable format ("slotlab-swarm-1"),
// documented in scenarios/README.md ("Swarm results").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/runner.hpp"

namespace slotlab::harness {

// ---- child processes ----------------------------------------------------------------------------

struct ChildOutput {
  std::string out;      // what the task returned (sent through a pipe)
  std::string err;      // what the child wrote to stderr
  int wait_status = 0;  // waitpid's status
  double timed_out_after_s = 0;  // > 0: killed (SIGKILL) after running this long
  bool clean() const;   // exited with status 0
  std::string describe_exit() const;  // "exited with status 3", "killed by signal 6 (Aborted)"
};

// Runs task(i) for i in [0, n) each in a fork()ed child, at most `jobs` at a time, started in index
// order. The child sends task's return value back and exits; on_done(i, output) is called in the
// parent as each child finishes (completion order); on_tick() about every 200 ms while waiting.
// A child running longer than timeout_s seconds of wall-clock time (0: no limit) is killed and its
// output says so. Returns the outputs by index.
std::vector<ChildOutput> run_forked(std::size_t n, const std::function<std::string(std::size_t)>& task, int jobs,
                                    const std::function<void(std::size_t, const ChildOutput&)>& on_done = {},
                                    const std::function<void()>& on_tick = {}, double timeout_s = 0);

// ---- per-seed records ---------------------------------------------------------------------------

// "pass", "check-failed" (every step ran, a check did not hold), "step-failed" (a step failed and
// the run stopped) or "crashed" (the run's process died: an assertion or a bug in slotlab).
std::string outcome_of(const RunResult& r);
// One seed's record in the swarm format (no timeline).
nlohmann::json seed_record(const RunResult& r, std::int64_t wall_time_ms);
// The record of a seed whose child process died or sent no result.
nlohmann::json crashed_record(std::uint64_t seed, const nlohmann::json& params, const ChildOutput& child);

// Runs `doc` (a scenario document, possibly with "params") for every seed in the simulator, each in
// a child process; returns the records in the order of `seeds`. on_progress(done, failed) is called
// as seeds finish and periodically.
// A seed whose run takes longer than timeout_s of wall-clock time is killed and recorded as crashed.
std::vector<nlohmann::json> run_seeds(const nlohmann::json& doc, const std::vector<std::uint64_t>& seeds, int jobs,
                                      const std::function<void(std::size_t done, std::size_t failed)>& on_progress = {},
                                      double timeout_s = 0);

// ---- summaries ----------------------------------------------------------------------------------

struct MetricSummary {
  std::string name;   // "promotion_ms"
  std::string label;  // "crash -> promotion (ms)"
  std::size_t n = 0;
  double p10 = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};
// Nearest-rank percentile of sorted values (p in 0..100): the value at rank ceil(p/100 * n).
double percentile(const std::vector<double>& sorted, double p);
// The metrics of a set of records, in a fixed order; metrics no record has are left out.
std::vector<MetricSummary> summarize_metrics(const std::vector<nlohmann::json>& records);

// The swarm file: header fields plus "results" (records in seed order) and "summary".
struct SwarmHeader {
  std::string scenario;       // its name
  std::string scenario_file;  // as given on the command line (used in reproduce commands)
  std::string scenario_hash;  // of the document, so merge refuses results of different files
  std::uint64_t first_seed = 0, last_seed = 0;
  std::uint64_t shard_index = 0, shard_count = 1;
};
nlohmann::json swarm_json(const SwarmHeader& h, const std::vector<nlohmann::json>& records, int jobs,
                          std::int64_t wall_time_ms);
// The deterministic summary: outcomes, metric percentiles, failing seeds with the command that
// reproduces each. Identical for a swarm and the merge of its shards.
std::string swarm_summary_text(const SwarmHeader& h, const std::vector<nlohmann::json>& records);
std::string scenario_hash(const nlohmann::json& doc);

// ---- commands (dispatched from main.cpp) --------------------------------------------------------
int cmd_swarm(const std::vector<std::string>& args);
int cmd_swarm_merge(const std::vector<std::string>& args);
int cmd_shrink(const std::vector<std::string>& args);
int cmd_regress(const std::vector<std::string>& args);

// Shared argument parsing: "A..B" (or a single seed), and "i/N".
bool parse_seed_range(const std::string& s, std::uint64_t& first, std::uint64_t& last);
bool parse_uint(const std::string& s, std::uint64_t& out);

}  // namespace slotlab::harness
