// The scenario model: what a scenario file (scenarios/*.json) says, validated before anything
// runs. A bad file is refused with the JSON path of the offending field and what was expected.
// The format is documented in scenarios/README.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
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

// The fields of the admin steps (redis-cli --cluster operations; see scenarios/README.md). Node
// selectors are kept as written and resolved to node ids when the step runs.
struct AdminArgs {
  std::string via;                       // entry node (redis-cli's host:port argument); empty: default
  std::vector<std::string> from;         // reshard: selectors, or {"all"}
  std::string to;                        // reshard
  std::int64_t slots = 0;                // reshard
  std::string replica_of;                // add-node: selector, "any", or empty (a primary)
  std::vector<std::string> args;         // call
  std::string only;                      // call: "", "primaries" or "replicas"
  std::int64_t ms = 0;                   // set-timeout
  std::vector<std::pair<std::string, double>> weights;  // rebalance: selector -> weight
  bool use_empty_masters = false;        // rebalance
  double threshold = 2.0;                // rebalance, percent
  bool simulate = false;                 // rebalance
  bool search_multiple_owners = false;   // cluster-check, fix
  bool fix_with_unreachable_masters = false;  // fix
  std::int64_t pipeline = 10;            // reshard, rebalance, fix
  std::int64_t timeout_ms = 60000;       // reshard, rebalance, fix: MIGRATE timeout
  bool replace = false;                  // reshard, rebalance, fix
};

struct Step {
  std::string action;                    // create | wait-until | crash | kill | restart | sleep | check,
                                         // or an admin step (is_admin_action)
  std::string node;                      // selector (crash, kill, restart, wait-until conditions on a node)
  std::string condition;                 // wait-until
  std::int64_t timeout_ms = 0;           // wait-until
  std::int64_t duration_ms = 0;          // sleep
  std::vector<std::string> checks;       // check
  std::string how;                       // crash: debug-segfault (default)
  std::string label;
  std::string path;                      // JSON path of this step, for messages
  AdminArgs admin;                       // admin steps
  // load-keys / start-workload / stop-workload
  std::string workload;                  // workload name
  std::int64_t count = 0;                // load-keys: how many keys
  std::int64_t clients = 4;              // concurrent clients
  std::int64_t think_ms = 10;            // pause between a reply and a client's next write
  std::int64_t value_bytes = 16;
  // partition
  std::vector<std::vector<std::string>> groups;  // node selectors
  bool one_way = false;                  // partition, and the link-fault steps
  // Fault steps (harness/scenario_faults.cpp; scenarios/README.md "Faults"):
  // delay / jitter / drop-rate / duplicate / reorder: the links between `from` and `to`.
  std::vector<std::string> from;         // selectors, or "clients"; empty: every node
  std::vector<std::string> to;
  std::string links = "all";             // bus | data | all
  std::int64_t fault_ms = 0;             // delay, jitter: ms; reorder: gap_ms; clock-skew: offset; clock-jump: by
  std::uint32_t rate_ppm = 0;            // drop-rate, duplicate, reorder: probability per million
  std::string fault;                     // disk-fault: none | fsync-lost | fsync-failed | write-failed
  std::uint32_t bus_types = 0;           // drop-bus-messages: bit per message type
  std::string config_name;               // set-config
  std::string config_value;
  std::vector<std::string> fault_kinds;  // clear-faults: links, clocks, disks, bus-messages
};

struct Scenario {
  std::string name;
  std::string description;
  Topology topology;
  std::vector<Step> steps;
  std::vector<std::string> final_checks;
  // The values of the file's "params" (harness/params.hpp) this scenario was made concrete with:
  // an object name -> value, empty when the file declares none.
  nlohmann::json params = nlohmann::json::object();
};

// Parses and validates. Errors read like "steps[3].timeout_ms: expected a positive integer".
// A document with "params" is first made concrete with the values drawn from `param_seed`
// (params.hpp), or with each parameter's nominal value (minimum, first choice) without a seed.
Result<Scenario> parse_scenario(const nlohmann::json& doc, std::optional<std::uint64_t> param_seed = std::nullopt);
Result<Scenario> load_scenario_file(const std::string& path, std::optional<std::uint64_t> param_seed = std::nullopt);
// The file's JSON document, unvalidated (errors: cannot open, not JSON, with the position).
Result<nlohmann::json> load_scenario_json(const std::string& path);

const std::vector<std::string>& known_conditions();
// cluster-check, cluster-info, fix, reshard, rebalance, add-node, del-node, call, set-timeout.
bool is_admin_action(const std::string& action);
// nN, primary-of-slot:S, replica-of:SELECTOR or @last (scenarios/README.md "Node selectors").
bool valid_node_selector(const std::string& selector);
// delay, jitter, drop-rate, duplicate, reorder, clock-skew, clock-jump, disk-fault,
// drop-bus-messages, set-config, clear-faults (harness/scenario_faults.cpp).
bool is_fault_action(const std::string& action);
Result<void> parse_fault_step(const nlohmann::json& js, const std::string& path, Step& st, int total_nodes);
// Cluster bus message type names (ping, pong, meet, fail, publish, failover-auth-request,
// failover-auth-ack, update, mfstart, module, publishshard), in type order.
const std::vector<std::string>& bus_message_type_names();

}  // namespace slotlab::harness
