// The node's configuration and the one table that knows every directive's name, type, default and
// validation. Three users share it: the daemon's redis.conf parser (daemon/), CONFIG GET/SET/REWRITE
// (server_commands.cpp), and the simulator's per-node overrides (harness/).
//
// Names and defaults follow redis.conf of Redis 7.0.15; aliases (slave-*, cluster-slave-*) map to
// the same field, as Redis's config.c does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "node/result.hpp"
#include "node/types.hpp"

namespace slotlab {

enum class AppendFsync : std::uint8_t { always, everysec, no };

// client-output-buffer-limit for one client class (Redis's clientBufferLimitsConfig): a client
// whose unsent output reaches hard_bytes, or stays at or above soft_bytes for more than
// soft_seconds, is disconnected. 0 disables a limit.
struct OutputBufferLimit {
  std::int64_t hard_bytes = 0;
  std::int64_t soft_bytes = 0;
  std::int64_t soft_seconds = 0;
};
// The classes of getClientType (our primary's link counts as normal, as in Redis).
enum class ClientClass : std::uint8_t { normal = 0, replica = 1, pubsub = 2 };

struct SavePoint {
  std::int64_t seconds = 0;
  std::int64_t changes = 0;
};

struct NodeConfig {
  // Network
  std::vector<std::string> bind{"127.0.0.1"};  // default "* -::*" in redis.conf; 127.0.0.1 for us
  std::uint16_t port = 6379;
  bool protected_mode = true;
  std::int64_t timeout_s = 0;         // idle client timeout
  std::int64_t tcp_keepalive_s = 300;

  // General
  bool daemonize = false;
  std::string pidfile;
  std::string loglevel = "notice";
  std::string logfile;                 // "" = stdout
  std::int64_t databases = 16;
  std::string dir = ".";
  std::string enable_debug_command = "no";  // no | yes | local (Redis 7.0 default: no)

  // Cluster
  bool cluster_enabled = false;
  std::string cluster_config_file = "nodes.conf";
  Millis cluster_node_timeout_ms = 15000;
  std::uint16_t cluster_port = 0;      // 0: port + 10000
  std::string cluster_announce_ip;
  std::uint16_t cluster_announce_port = 0;
  std::uint16_t cluster_announce_bus_port = 0;
  std::string cluster_announce_hostname;
  std::int64_t cluster_replica_validity_factor = 10;
  std::int64_t cluster_migration_barrier = 1;
  bool cluster_require_full_coverage = true;
  bool cluster_replica_no_failover = false;
  bool cluster_allow_replica_migration = true;
  bool cluster_allow_reads_when_down = false;
  std::string cluster_preferred_endpoint_type = "ip";

  // Replication
  std::int64_t repl_ping_replica_period_s = 10;
  std::int64_t repl_timeout_s = 60;
  std::int64_t repl_backlog_size = 1024 * 1024;
  std::int64_t repl_diskless_sync_delay_s = 5;
  bool repl_diskless_sync = true;
  bool replica_read_only = true;
  bool replica_serve_stale_data = true;
  std::int64_t replica_priority = 100;
  std::string masterauth;
  std::string masteruser;

  // Security
  std::string requirepass;

  // Persistence
  bool appendonly = false;
  std::string appendfilename = "appendonly.aof";
  std::string appenddirname = "appendonlydir";
  AppendFsync appendfsync = AppendFsync::everysec;
  std::vector<SavePoint> save{{3600, 1}, {300, 100}, {60, 10000}};
  std::string dbfilename = "dump.rdb";
  bool rdbcompression = true;
  bool rdbchecksum = true;
  bool stop_writes_on_bgsave_error = true;
  bool aof_use_rdb_preamble = true;
  bool aof_load_truncated = true;

  // Limits
  std::int64_t maxclients = 10000;
  std::int64_t proto_max_bulk_len = 512ll * 1024 * 1024;
  std::int64_t client_query_buffer_limit = 1024ll * 1024 * 1024;
  std::int64_t cluster_link_sendbuf_limit = 0;
  // Indexed by ClientClass; Redis 7.0's defaults.
  OutputBufferLimit client_obuf_limits[3] = {
      {0, 0, 0}, {256ll * 1024 * 1024, 64ll * 1024 * 1024, 60}, {32ll * 1024 * 1024, 8ll * 1024 * 1024, 60}};
  std::int64_t hz = 10;

  std::uint16_t bus_port() const {
    return cluster_port != 0 ? cluster_port : static_cast<std::uint16_t>(port + kBusPortIncr);
  }
};

// How a directive may be changed.
enum class ConfigMutability : std::uint8_t {
  mutable_,    // CONFIG SET works
  immutable,   // only at start-up (config file / command line)
};

struct ConfigDirective {
  std::string name;
  std::vector<std::string> aliases;
  ConfigMutability mutability = ConfigMutability::mutable_;
  // Parses and stores the value(s); an error names what was expected.
  std::function<Result<void>(NodeConfig&, const std::vector<std::string>& args)> set;
  // The value as CONFIG GET prints it.
  std::function<std::string(const NodeConfig&)> get;
  // Whether the directive is fully honoured by slotlab (false: accepted, has no effect, logged once).
  bool effective = true;
};

// The table of every directive slotlab knows. Stable order (CONFIG GET * and CONFIG REWRITE).
const std::vector<ConfigDirective>& config_directives();
const ConfigDirective* find_config_directive(std::string_view name);  // case-insensitive, aliases

// Parses "1gb", "64mb", "100k", "12" the way Redis's memtoull does.
Result<std::int64_t> parse_memory(std::string_view text);
Result<std::int64_t> parse_integer(std::string_view text);
Result<bool> parse_yes_no(std::string_view text);

}  // namespace slotlab
