// The directive table (see config.hpp): one entry per redis.conf directive slotlab understands,
// with Redis 7.0's names, aliases, value syntax and mutability.
#include "node/config.hpp"

#include <fmt/format.h>

#include "node/strings.hpp"

namespace slotlab {

Result<std::int64_t> parse_integer(std::string_view text) {
  auto v = parse_ll(text);
  if (!v) return make_error(Errc::invalid_argument, fmt::format("argument couldn't be parsed into an integer"));
  return *v;
}

Result<bool> parse_yes_no(std::string_view text) {
  if (equals_nocase(text, "yes")) return true;
  if (equals_nocase(text, "no")) return false;
  return make_error(Errc::invalid_argument, "argument must be 'yes' or 'no'");
}

// memtoull: a number with an optional unit: k, kb, m, mb, g, gb (k = 1000, kb = 1024 ...).
Result<std::int64_t> parse_memory(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || (i == 0 && text[i] == '-'))) ++i;
  std::string_view num = text.substr(0, i);
  std::string unit = to_lower(text.substr(i));
  std::int64_t mul = 1;
  if (unit.empty() || unit == "b") {
    mul = 1;
  } else if (unit == "k") {
    mul = 1000;
  } else if (unit == "kb") {
    mul = 1024;
  } else if (unit == "m") {
    mul = 1000 * 1000;
  } else if (unit == "mb") {
    mul = 1024 * 1024;
  } else if (unit == "g") {
    mul = 1000ll * 1000 * 1000;
  } else if (unit == "gb") {
    mul = 1024ll * 1024 * 1024;
  } else {
    return make_error(Errc::invalid_argument, "argument must be a memory value");
  }
  auto v = parse_ll(num);
  if (!v) return make_error(Errc::invalid_argument, "argument must be a memory value");
  if (*v != 0 && (*v > INT64_MAX / mul || *v < INT64_MIN / mul))
    return make_error(Errc::invalid_argument, "argument must be a memory value");
  return *v * mul;
}

namespace {

using Args = std::vector<std::string>;

Result<void> one_arg(const Args& args) {
  if (args.size() != 1) return make_error(Errc::invalid_argument, "wrong number of arguments");
  return {};
}

template <class T>
ConfigDirective integer_directive(std::string name, std::vector<std::string> aliases, T NodeConfig::*field,
                                  std::int64_t lo, std::int64_t hi, ConfigMutability m = ConfigMutability::mutable_,
                                  bool memory = false) {
  ConfigDirective d;
  d.name = std::move(name);
  d.aliases = std::move(aliases);
  d.mutability = m;
  d.set = [field, lo, hi, memory](NodeConfig& c, const Args& args) -> Result<void> {
    if (auto r = one_arg(args); !r) return r;
    auto v = memory ? parse_memory(args[0]) : parse_integer(args[0]);
    if (!v) return v.error();
    if (*v < lo || *v > hi)
      return make_error(Errc::invalid_argument, fmt::format("argument must be between {} and {} inclusive", lo, hi));
    c.*field = static_cast<T>(*v);
    return {};
  };
  d.get = [field](const NodeConfig& c) { return std::to_string(static_cast<std::int64_t>(c.*field)); };
  return d;
}

ConfigDirective bool_directive(std::string name, std::vector<std::string> aliases, bool NodeConfig::*field,
                               ConfigMutability m = ConfigMutability::mutable_) {
  ConfigDirective d;
  d.name = std::move(name);
  d.aliases = std::move(aliases);
  d.mutability = m;
  d.set = [field](NodeConfig& c, const Args& args) -> Result<void> {
    if (auto r = one_arg(args); !r) return r;
    auto v = parse_yes_no(args[0]);
    if (!v) return v.error();
    c.*field = *v;
    return {};
  };
  d.get = [field](const NodeConfig& c) { return std::string(c.*field ? "yes" : "no"); };
  return d;
}

ConfigDirective string_directive(std::string name, std::vector<std::string> aliases, std::string NodeConfig::*field,
                                 ConfigMutability m = ConfigMutability::mutable_) {
  ConfigDirective d;
  d.name = std::move(name);
  d.aliases = std::move(aliases);
  d.mutability = m;
  d.set = [field](NodeConfig& c, const Args& args) -> Result<void> {
    if (auto r = one_arg(args); !r) return r;
    c.*field = args[0];
    return {};
  };
  d.get = [field](const NodeConfig& c) { return c.*field; };
  return d;
}

ConfigDirective enum_directive(std::string name, std::string NodeConfig::*field, std::vector<std::string> allowed,
                               ConfigMutability m = ConfigMutability::mutable_) {
  ConfigDirective d;
  d.name = std::move(name);
  d.mutability = m;
  d.set = [field, allowed](NodeConfig& c, const Args& args) -> Result<void> {
    if (auto r = one_arg(args); !r) return r;
    for (const auto& a : allowed) {
      if (equals_nocase(a, args[0])) {
        c.*field = a;
        return {};
      }
    }
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return make_error(Errc::invalid_argument, fmt::format("argument(s) must be one of the following: {}", list));
  };
  d.get = [field](const NodeConfig& c) { return c.*field; };
  return d;
}

std::vector<ConfigDirective> build_table() {
  using M = ConfigMutability;
  std::vector<ConfigDirective> t;
  // Network
  {
    ConfigDirective d;
    d.name = "bind";
    d.set = [](NodeConfig& c, const Args& args) -> Result<void> {
      if (args.empty()) return make_error(Errc::invalid_argument, "wrong number of arguments");
      std::vector<std::string> addrs;
      for (const auto& a : args)
        for (auto part : split_spaces(a)) addrs.emplace_back(part);
      if (addrs.empty()) return make_error(Errc::invalid_argument, "wrong number of arguments");
      c.bind = addrs;
      return {};
    };
    d.get = [](const NodeConfig& c) {
      std::string out;
      for (const auto& b : c.bind) out += (out.empty() ? "" : " ") + b;
      return out;
    };
    d.mutability = M::immutable;
    t.push_back(d);
  }
  t.push_back(integer_directive("port", {}, &NodeConfig::port, 0, 65535, M::immutable));
  t.push_back(bool_directive("protected-mode", {}, &NodeConfig::protected_mode));
  t.push_back(integer_directive("timeout", {}, &NodeConfig::timeout_s, 0, INT32_MAX));
  t.push_back(integer_directive("tcp-keepalive", {}, &NodeConfig::tcp_keepalive_s, 0, INT32_MAX));
  // General
  t.push_back(bool_directive("daemonize", {}, &NodeConfig::daemonize, M::immutable));
  t.push_back(string_directive("pidfile", {}, &NodeConfig::pidfile, M::immutable));
  t.push_back(enum_directive("loglevel", &NodeConfig::loglevel, {"debug", "verbose", "notice", "warning"}));
  t.push_back(string_directive("logfile", {}, &NodeConfig::logfile, M::immutable));
  t.push_back(integer_directive("databases", {}, &NodeConfig::databases, 1, INT32_MAX, M::immutable));
  t.push_back(string_directive("dir", {}, &NodeConfig::dir, M::immutable));
  t.push_back(enum_directive("enable-debug-command", &NodeConfig::enable_debug_command, {"no", "yes", "local"},
                             M::immutable));
  t.push_back(integer_directive("hz", {}, &NodeConfig::hz, 1, 500));
  // Cluster
  t.push_back(bool_directive("cluster-enabled", {}, &NodeConfig::cluster_enabled, M::immutable));
  t.push_back(string_directive("cluster-config-file", {}, &NodeConfig::cluster_config_file, M::immutable));
  t.push_back(integer_directive("cluster-node-timeout", {}, &NodeConfig::cluster_node_timeout_ms, 0, INT64_MAX));
  t.push_back(integer_directive("cluster-port", {}, &NodeConfig::cluster_port, 0, 65535, M::immutable));
  t.push_back(string_directive("cluster-announce-ip", {}, &NodeConfig::cluster_announce_ip));
  t.push_back(integer_directive("cluster-announce-port", {}, &NodeConfig::cluster_announce_port, 0, 65535));
  t.push_back(integer_directive("cluster-announce-bus-port", {}, &NodeConfig::cluster_announce_bus_port, 0, 65535));
  t.push_back(string_directive("cluster-announce-hostname", {}, &NodeConfig::cluster_announce_hostname));
  t.push_back(integer_directive("cluster-replica-validity-factor", {"cluster-slave-validity-factor"},
                                &NodeConfig::cluster_replica_validity_factor, 0, INT32_MAX));
  t.push_back(integer_directive("cluster-migration-barrier", {}, &NodeConfig::cluster_migration_barrier, 0, INT32_MAX));
  t.push_back(bool_directive("cluster-require-full-coverage", {}, &NodeConfig::cluster_require_full_coverage));
  t.push_back(bool_directive("cluster-replica-no-failover", {"cluster-slave-no-failover"},
                             &NodeConfig::cluster_replica_no_failover));
  t.push_back(bool_directive("cluster-allow-replica-migration", {}, &NodeConfig::cluster_allow_replica_migration));
  t.push_back(bool_directive("cluster-allow-reads-when-down", {}, &NodeConfig::cluster_allow_reads_when_down));
  t.push_back(enum_directive("cluster-preferred-endpoint-type", &NodeConfig::cluster_preferred_endpoint_type,
                             {"ip", "hostname", "unknown-endpoint"}));
  t.push_back(integer_directive("cluster-link-sendbuf-limit", {}, &NodeConfig::cluster_link_sendbuf_limit, 0,
                                INT64_MAX, M::mutable_, true));
  // Replication
  t.push_back(integer_directive("repl-ping-replica-period", {"repl-ping-slave-period"},
                                &NodeConfig::repl_ping_replica_period_s, 1, INT32_MAX));
  t.push_back(integer_directive("repl-timeout", {}, &NodeConfig::repl_timeout_s, 1, INT32_MAX));
  t.push_back(integer_directive("repl-backlog-size", {}, &NodeConfig::repl_backlog_size, 1, INT64_MAX, M::mutable_, true));
  t.push_back(integer_directive("repl-diskless-sync-delay", {}, &NodeConfig::repl_diskless_sync_delay_s, 0, INT32_MAX));
  t.push_back(bool_directive("repl-diskless-sync", {}, &NodeConfig::repl_diskless_sync));
  t.push_back(bool_directive("replica-read-only", {"slave-read-only"}, &NodeConfig::replica_read_only));
  t.push_back(bool_directive("replica-serve-stale-data", {"slave-serve-stale-data"}, &NodeConfig::replica_serve_stale_data));
  t.push_back(integer_directive("replica-priority", {"slave-priority"}, &NodeConfig::replica_priority, 0, INT32_MAX));
  t.push_back(string_directive("masterauth", {}, &NodeConfig::masterauth));
  t.push_back(string_directive("masteruser", {}, &NodeConfig::masteruser));
  // Security
  t.push_back(string_directive("requirepass", {}, &NodeConfig::requirepass));
  // Persistence
  t.push_back(bool_directive("appendonly", {}, &NodeConfig::appendonly));
  t.push_back(string_directive("appendfilename", {}, &NodeConfig::appendfilename, M::immutable));
  t.push_back(string_directive("appenddirname", {}, &NodeConfig::appenddirname, M::immutable));
  {
    ConfigDirective d;
    d.name = "appendfsync";
    d.set = [](NodeConfig& c, const Args& args) -> Result<void> {
      if (auto r = one_arg(args); !r) return r;
      if (equals_nocase(args[0], "always")) {
        c.appendfsync = AppendFsync::always;
      } else if (equals_nocase(args[0], "everysec")) {
        c.appendfsync = AppendFsync::everysec;
      } else if (equals_nocase(args[0], "no")) {
        c.appendfsync = AppendFsync::no;
      } else {
        return make_error(Errc::invalid_argument, "argument(s) must be one of the following: always, everysec, no");
      }
      return {};
    };
    d.get = [](const NodeConfig& c) {
      switch (c.appendfsync) {
        case AppendFsync::always: return std::string("always");
        case AppendFsync::everysec: return std::string("everysec");
        case AppendFsync::no: return std::string("no");
      }
      return std::string("everysec");
    };
    t.push_back(d);
  }
  {
    // save "" | save <seconds> <changes> [<seconds> <changes> ...]. In a config file each "save"
    // line adds a point (the daemon's parser accumulates); CONFIG SET replaces the list.
    ConfigDirective d;
    d.name = "save";
    d.set = [](NodeConfig& c, const Args& args) -> Result<void> {
      std::vector<std::string_view> parts;
      for (const auto& a : args)
        for (auto p : split_spaces(a)) parts.push_back(p);
      if (parts.empty() || (parts.size() == 1 && parts[0] == "\"\"")) {
        c.save.clear();
        return {};
      }
      if (parts.size() % 2 != 0) return make_error(Errc::invalid_argument, "Invalid save parameters");
      std::vector<SavePoint> points;
      for (std::size_t i = 0; i < parts.size(); i += 2) {
        auto secs = parse_ll(parts[i]);
        auto changes = parse_ll(parts[i + 1]);
        if (!secs || !changes || *secs < 1 || *changes < 0)
          return make_error(Errc::invalid_argument, "Invalid save parameters");
        points.push_back({*secs, *changes});
      }
      c.save = points;
      return {};
    };
    d.get = [](const NodeConfig& c) {
      std::string out;
      for (const auto& p : c.save) out += fmt::format("{}{} {}", out.empty() ? "" : " ", p.seconds, p.changes);
      return out;
    };
    t.push_back(d);
  }
  t.push_back(string_directive("dbfilename", {}, &NodeConfig::dbfilename));
  t.push_back(bool_directive("rdbcompression", {}, &NodeConfig::rdbcompression));
  t.push_back(bool_directive("rdbchecksum", {}, &NodeConfig::rdbchecksum, M::immutable));
  t.push_back(bool_directive("stop-writes-on-bgsave-error", {}, &NodeConfig::stop_writes_on_bgsave_error));
  t.push_back(bool_directive("aof-use-rdb-preamble", {}, &NodeConfig::aof_use_rdb_preamble));
  t.push_back(bool_directive("aof-load-truncated", {}, &NodeConfig::aof_load_truncated));
  // Limits
  t.push_back(integer_directive("maxclients", {}, &NodeConfig::maxclients, 1, INT32_MAX));
  t.push_back(integer_directive("proto-max-bulk-len", {}, &NodeConfig::proto_max_bulk_len, 1024 * 1024, INT64_MAX,
                                M::mutable_, true));
  t.push_back(integer_directive("client-query-buffer-limit", {}, &NodeConfig::client_query_buffer_limit, 1024 * 1024,
                                INT64_MAX, M::mutable_, true));
  {
    // client-output-buffer-limit <class> <hard> <soft> <soft seconds> [<class> ...]: each group sets
    // one class (normal, replica/slave, pubsub), the others keep their values, in a config file
    // line as in CONFIG SET (one argument holding every group). Redis's messages.
    ConfigDirective d;
    d.name = "client-output-buffer-limit";
    d.set = [](NodeConfig& c, const Args& args) -> Result<void> {
      std::vector<std::string_view> parts;
      for (const auto& a : args)
        for (auto p : split_spaces(a)) parts.push_back(p);
      if (parts.empty() || parts.size() % 4 != 0)
        return make_error(Errc::invalid_argument, "Wrong number of arguments in buffer limit configuration.");
      OutputBufferLimit next[3] = {c.client_obuf_limits[0], c.client_obuf_limits[1], c.client_obuf_limits[2]};
      for (std::size_t j = 0; j < parts.size(); j += 4) {
        int cls = -1;
        if (equals_nocase(parts[j], "normal")) {
          cls = static_cast<int>(ClientClass::normal);
        } else if (equals_nocase(parts[j], "replica") || equals_nocase(parts[j], "slave")) {
          cls = static_cast<int>(ClientClass::replica);
        } else if (equals_nocase(parts[j], "pubsub")) {
          cls = static_cast<int>(ClientClass::pubsub);
        } else {  // "master" too: Redis refuses a limit for it
          return make_error(Errc::invalid_argument, "Invalid client class specified in buffer limit configuration.");
        }
        auto hard = parse_memory(parts[j + 1]);
        auto soft = parse_memory(parts[j + 2]);
        auto secs = parse_ll(parts[j + 3]);
        if (!hard || !soft || !secs || *hard < 0 || *soft < 0 || *secs < 0)
          return make_error(Errc::invalid_argument,
                            "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
        next[cls] = OutputBufferLimit{*hard, *soft, *secs};
      }
      for (int i = 0; i < 3; ++i) c.client_obuf_limits[i] = next[i];
      return {};
    };
    d.get = [](const NodeConfig& c) {
      static constexpr const char* kNames[] = {"normal", "slave", "pubsub"};
      std::string out;
      for (int i = 0; i < 3; ++i) {
        const OutputBufferLimit& l = c.client_obuf_limits[i];
        out += fmt::format("{}{} {} {} {}", i == 0 ? "" : " ", kNames[i], l.hard_bytes, l.soft_bytes, l.soft_seconds);
      }
      return out;
    };
    t.push_back(d);
  }
  return t;
}

}  // namespace

const std::vector<ConfigDirective>& config_directives() {
  static const std::vector<ConfigDirective> table = build_table();
  return table;
}

const ConfigDirective* find_config_directive(std::string_view name) {
  for (const ConfigDirective& d : config_directives()) {
    if (equals_nocase(d.name, name)) return &d;
    for (const auto& a : d.aliases)
      if (equals_nocase(a, name)) return &d;
  }
  return nullptr;
}

}  // namespace slotlab
