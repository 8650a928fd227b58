// The scenario model: what a scenario file (scenarios/*.json) says, validated before anything
// runs. A bad file is refused with the JSON path of the offending field and what was expected.
// The format is documented in scenarios/README.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/result.hpp"

namespace slotlab::harness {

struct Topology {
  int primaries = 3;
  int replicas = 1;                              // per primary
  int spares = 0;                                // extra empty nodes started but not in `create`
  std::map<std::string, std::string> config;     // redis.conf directives for every node
};

struct Step {
  std::string action;                    // create | wait-until | crash | kill | restart | sleep | check
  std::string node;                      // selector (crash, kill, restart, wait-until conditions on a node)
  std::string condition;                 // wait-until
  std::int64_t timeout_ms = 0;           // wait-until
  std::int64_t duration_ms = 0;          // sleep
  std::vector<std::string> checks;       // check
  std::string how;                       // crash: debug-segfault (default)
  std::string label;
  std::string path;                      // JSON path of this step, for messages
};

struct Scenario {
  std::string name;
  std::string description;
  Topology topology;
  std::vector<Step> steps;
  std::vector<std::string> final_checks;
};

// Parses and validates. Errors read like "steps[3].timeout_ms: expected a positive integer".
Result<Scenario> parse_scenario(const nlohmann::json& doc);
Result<Scenario> load_scenario_file(const std::string& path);

const std::vector<std::string>& known_conditions();

}  // namespace slotlab::harness
