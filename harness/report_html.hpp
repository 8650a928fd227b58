// The self-contained HTML reports (inline CSS and SVG; no script, no network access needed):
//  - a run: per-node timeline lanes (role, configEpoch changes, PFAIL/FAIL as flagged by the
//    other nodes, slots owned, faults as shaded spans), client operations and errors per time
//    bucket, a zoomed timeline and the stage breakdown of each failover, liveness, availability
//    per fault, the lost-write table, the checks and the steps;
//  - a swarm summary (`slotlab swarm` results): outcomes, histograms of failover time and of
//    availability, and the failing seeds with the command that reproduces each.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "harness/runner.hpp"

namespace slotlab::harness {

std::string report_html(const RunResult& r, const std::string& scenario_description);

// Renders a swarm result file. Accepted shape (documented in scenarios/README.md, "Swarm
// reports"): {"scenario": str, "runs": [{"seed": int, "passed": bool, "failure": str|null,
// "failover_ms": [int...] | "ms_to_all_ok"/"failovers": [...], "availability": [...]...}]}.
// Returns an empty string and sets `error` (naming the JSON path) when the file does not fit.
std::string swarm_report_html(const nlohmann::json& swarm, std::string& error);

// Writes DIR/<scenario>-seed<N>[-real].md, DIR/<scenario>-seed<N>[-real]/result.json (the --json
// result with the timeline) and .../index.html. Returns "" or what could not be written.
std::string write_run_report(const std::string& dir, const RunResult& r, const std::string& scenario_description,
                             std::string* html_path);

}  // namespace slotlab::harness
