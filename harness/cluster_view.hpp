// Reading a cluster the way redis-cli --cluster does: parse CLUSTER NODES, compute the config
// signature that "[OK] All nodes agree about slots configuration." compares, and collect each
// node's own view (the myself line of each node) into one picture.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/client.hpp"

namespace slotlab::harness {

struct NodeLine {
  std::string id;
  std::string ip;
  int port = 0;
  int bus_port = 0;
  std::string hostname;
  std::vector<std::string> flags;
  std::string primary_id;  // "-" -> empty
  std::int64_t ping_sent = 0;
  std::int64_t pong_received = 0;
  std::uint64_t config_epoch = 0;
  bool connected = false;
  std::vector<std::pair<int, int>> slots;                  // ranges, inclusive
  std::vector<std::pair<int, std::string>> migrating;      // [slot->-id]
  std::vector<std::pair<int, std::string>> importing;      // [slot-<-id]

  bool has_flag(std::string_view f) const;
  bool is_primary() const { return has_flag("master"); }
  bool is_replica() const { return has_flag("slave"); }
  bool myself() const { return has_flag("myself"); }
  int slot_count() const;
  Endpoint endpoint() const { return Endpoint{ip, static_cast<std::uint16_t>(port)}; }
};

// Parses CLUSTER NODES output. Lines with fewer than 8 fields are an error naming the line.
Result<std::vector<NodeLine>> parse_cluster_nodes(std::string_view text);

// clusterManagerGetConfigSignature: "id:slots,...|id:slots,..." for every node that lists slots.
std::string config_signature(std::string_view cluster_nodes_text);

// Parses "k:v\r\n" text (INFO, CLUSTER INFO) into a map; "# Section" lines are skipped.
std::map<std::string, std::string> parse_info(std::string_view text);

// One node as the harness observed it in one poll.
struct NodeObservation {
  Endpoint endpoint;
  bool reachable = false;
  std::string error;              // why not reachable / what failed
  std::string nodes_text;         // raw CLUSTER NODES
  std::vector<NodeLine> nodes;    // parsed
  std::map<std::string, std::string> cluster_info;
  std::map<std::string, std::string> replication;
  const NodeLine* myself() const;
};

// Polls every endpoint (CLUSTER NODES, CLUSTER INFO, INFO replication), each with its own
// timeout; unreachable nodes are reported, never fatal.
std::vector<NodeObservation> observe(ClientPool& pool, const std::vector<Endpoint>& endpoints, Millis timeout_ms,
                                     bool with_replication = true);

}  // namespace slotlab::harness
