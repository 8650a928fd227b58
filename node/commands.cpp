// The command table and the server-level commands: PING, ECHO, INFO, ROLE, CONFIG, DEBUG, AUTH,
// SELECT, COMMAND, CLIENT, READONLY/READWRITE/ASKING, DBSIZE, SHUTDOWN, QUIT, HELLO, WAIT.
// Replication commands (REPLCONF, PSYNC/SYNC) are in replication.cpp, CLUSTER in
// cluster_command.cpp. Reply texts follow Redis 7.0.15.
#include "node/commands.hpp"

#include <algorithm>
#include <map>

#include "node/config.hpp"

namespace slotlab {

namespace {
constexpr std::string_view kRedisVersion = "7.0.15";
constexpr std::string_view kSlotlabVersion = "0.1.0";
}  // namespace

bool is_container_command(std::string_view name) {
  return equals_nocase(name, "cluster") || equals_nocase(name, "config") || equals_nocase(name, "client") ||
         equals_nocase(name, "command") || equals_nocase(name, "debug");
}

const std::vector<CommandSpec>& Node::command_table() {
  static const std::vector<CommandSpec> table = [] {
    auto c = [](std::string name, int arity, std::uint32_t flags, CommandHandler h, int fk = 0, int lk = 0,
                int step = 0) {
      CommandSpec s;
      s.full_name = name;
      s.name = std::move(name);
      s.arity = arity;
      s.flags = flags;
      s.handler = h;
      s.first_key = fk;
      s.last_key = lk;
      s.key_step = step;
      return s;
    };
    auto sub = [](CommandSpec parent, std::vector<std::pair<std::string, int>> subs, std::uint32_t flags) {
      for (auto& [n, arity] : subs) {
        CommandSpec s;
        s.name = n;
        s.full_name = parent.name + "|" + n;
        s.arity = arity;
        s.flags = flags;
        s.handler = parent.handler;
        parent.subcommands.push_back(std::move(s));
      }
      return parent;
    };
    std::vector<CommandSpec> t;
    t.push_back(c("ping", -1, kCmdFast | kCmdStale, &Node::cmd_ping));
    t.push_back(c("echo", 2, kCmdFast | kCmdStale, &Node::cmd_echo));
    t.push_back(c("info", -1, kCmdStale | kCmdLoading, &Node::cmd_info));
    t.push_back(c("role", 1, kCmdFast | kCmdStale | kCmdLoading, &Node::cmd_role));
    t.push_back(c("auth", -2, kCmdNoAuth | kCmdFast | kCmdStale | kCmdLoading, &Node::cmd_auth));
    t.push_back(c("hello", -1, kCmdNoAuth | kCmdFast | kCmdStale | kCmdLoading, &Node::cmd_hello));
    t.push_back(c("quit", -1, kCmdNoAuth | kCmdFast | kCmdStale | kCmdLoading, &Node::cmd_quit));
    t.push_back(c("select", 2, kCmdFast | kCmdStale | kCmdLoading, &Node::cmd_select));
    t.push_back(c("readonly", 1, kCmdFast | kCmdStale | kCmdLoading, &Node::cmd_readonly));
    t.push_back(c("readwrite", 1, kCmdFast | kCmdStale | kCmdLoading, &Node::cmd_readwrite));
    t.push_back(c("asking", 1, kCmdFast, &Node::cmd_asking));
    t.push_back(c("dbsize", 1, kCmdReadonly | kCmdFast, &Node::cmd_dbsize));
    t.push_back(c("shutdown", -1, kCmdAdmin | kCmdNoMulti | kCmdStale | kCmdLoading, &Node::cmd_shutdown));
    t.push_back(c("replconf", -1, kCmdAdmin | kCmdNoMulti | kCmdStale | kCmdLoading, &Node::cmd_replconf));
    t.push_back(c("psync", -3, kCmdAdmin | kCmdNoMulti, &Node::cmd_psync));
    t.push_back(c("sync", 1, kCmdAdmin | kCmdNoMulti, &Node::cmd_psync));
    t.push_back(c("wait", 3, 0, &Node::cmd_wait));
    t.push_back(c("multi", 1, kCmdLoading | kCmdStale | kCmdFast, &Node::cmd_multi));
    t.push_back(c("exec", 1, kCmdLoading | kCmdStale, &Node::cmd_exec));
    t.push_back(c("discard", 1, kCmdLoading | kCmdStale | kCmdFast, &Node::cmd_discard));
    t.push_back(sub(c("config", -2, 0, &Node::cmd_config),
                    {{"get", -3}, {"set", -4}, {"rewrite", 2}, {"resetstat", 2}, {"help", 2}},
                    kCmdAdmin | kCmdStale | kCmdLoading));
    t.push_back(sub(c("debug", -2, kCmdAdmin, &Node::cmd_debug), {}, kCmdAdmin));
    t.push_back(sub(c("command", -1, kCmdStale | kCmdLoading, &Node::cmd_command),
                    {{"count", 2}, {"info", -2}, {"list", -2}, {"getkeys", -4}, {"help", 2}},
                    kCmdStale | kCmdLoading));
    t.push_back(sub(c("client", -2, 0, &Node::cmd_client),
                    {{"id", 2}, {"setname", 3}, {"getname", 2}, {"list", -2}, {"info", 2}, {"kill", -3},
                     {"no-evict", 3}, {"reply", 3}, {"help", 2}},
                    kCmdStale | kCmdLoading));
    t.push_back(sub(c("cluster", -2, 0, &Node::cmd_cluster),
                    {{"addslots", -3},
                     {"addslotsrange", -4},
                     {"bumpepoch", 2},
                     {"count-failure-reports", 3},
                     {"countkeysinslot", 3},
                     {"delslots", -3},
                     {"delslotsrange", -4},
                     {"failover", -2},
                     {"flushslots", 2},
                     {"forget", 3},
                     {"getkeysinslot", 4},
                     {"help", 2},
                     {"info", 2},
                     {"keyslot", 3},
                     {"links", 2},
                     {"meet", -4},
                     {"myid", 2},
                     {"nodes", 2},
                     {"replicas", 3},
                     {"replicate", 3},
                     {"reset", -2},
                     {"saveconfig", 2},
                     {"set-config-epoch", 3},
                     {"setslot", -4},
                     {"shards", 2},
                     {"slaves", 3},
                     {"slots", 2}},
                    kCmdStale));
    register_data_commands(t);
    register_migration_commands(t);
    register_persistence_commands(t);
    return t;
  }();
  return table;
}

std::vector<std::size_t> command_keys(const CommandSpec& cmd, const Argv& argv) {
  if (cmd.getkeys != nullptr) return cmd.getkeys(argv);
  std::vector<std::size_t> keys;
  if (cmd.first_key <= 0) return keys;
  auto argc = static_cast<int>(argv.size());
  int last = cmd.last_key < 0 ? argc + cmd.last_key : cmd.last_key;
  int step = cmd.key_step <= 0 ? 1 : cmd.key_step;
  for (int i = cmd.first_key; i <= last && i < argc; i += step) keys.push_back(static_cast<std::size_t>(i));
  return keys;
}

const CommandSpec* Node::lookup_command(const Argv& argv) const {
  // An index by lower-case name, built once: every command goes through here, so no scan of the
  // table and no allocation (the name is lower-cased into a stack buffer).
  using Index = std::unordered_map<std::string, const CommandSpec*, StringHash, std::equal_to<>>;
  static const Index index = [] {
    Index idx;
    for (const CommandSpec& c : command_table()) idx.emplace(c.name, &c);
    return idx;
  }();
  const std::string& name = argv[0];
  char buf[32];
  if (name.size() > sizeof buf) return nullptr;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char ch = name[i];
    buf[i] = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  }
  auto it = index.find(std::string_view(buf, name.size()));
  if (it == index.end()) return nullptr;
  const CommandSpec& c = *it->second;
  if (c.subcommands.empty() || argv.size() < 2) return &c;
  for (const CommandSpec& s : c.subcommands)
    if (equals_nocase(s.name, argv[1])) return &s;
  return nullptr;  // a container with an unknown subcommand
}

void Node::cmd_ping(Client&, const Argv& argv, resp::Writer& w) {
  if (argv.size() > 2) {
    w.error("ERR wrong number of arguments for 'ping' command");
  } else if (argv.size() == 2) {
    w.bulk(argv[1]);
  } else {
    w.simple("PONG");
  }
}

void Node::cmd_echo(Client&, const Argv& argv, resp::Writer& w) { w.bulk(argv[1]); }

void Node::cmd_quit(Client& c, const Argv&, resp::Writer& w) {
  w.simple("OK");
  c.close_after_reply = true;
}

void Node::cmd_auth(Client& c, const Argv& argv, resp::Writer& w) {
  if (argv.size() > 3) {
    w.error("ERR syntax error");
    return;
  }
  if (config_.requirepass.empty() && argv.size() == 2) {
    w.error("ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?");
    return;
  }
  const std::string& user = argv.size() == 3 ? argv[1] : std::string("default");
  const std::string& pass = argv.back();
  bool ok = user == "default" && (config_.requirepass.empty() || pass == config_.requirepass);
  if (!ok) {
    c.authenticated = config_.requirepass.empty() ? c.authenticated : false;
    w.error("WRONGPASS invalid username-password pair or user is disabled.");
    return;
  }
  c.authenticated = true;
  w.simple("OK");
}

void Node::cmd_hello(Client& c, const Argv& argv, resp::Writer& w) {
  std::size_t i = 1;
  if (argv.size() >= 2) {
    auto ver = parse_ll(argv[1]);
    if (!ver) {
      w.error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (*ver != 2) {
      // slotlab speaks RESP2 only; Redis answers this for versions it does not support.
      w.error("NOPROTO unsupported protocol version");
      return;
    }
    i = 2;
  }
  for (; i < argv.size(); ++i) {
    if (equals_nocase(argv[i], "auth") && i + 2 < argv.size()) {
      bool ok = argv[i + 1] == "default" && (config_.requirepass.empty() || argv[i + 2] == config_.requirepass);
      if (!ok) {
        w.error("WRONGPASS invalid username-password pair or user is disabled.");
        return;
      }
      c.authenticated = true;
      i += 2;
    } else if (equals_nocase(argv[i], "setname") && i + 1 < argv.size()) {
      c.name = argv[++i];
    } else {
      w.error(fmt::format("ERR Syntax error in HELLO option '{}'", argv[i]));
      return;
    }
  }
  if (!c.authenticated) {
    w.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> "
            "AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol "
            "version at the same time");
    return;
  }
  w.array(14);
  w.bulk("server");
  w.bulk("redis");
  w.bulk("version");
  w.bulk(kRedisVersion);
  w.bulk("proto");
  w.integer(2);
  w.bulk("id");
  w.integer(static_cast<std::int64_t>(c.id));
  w.bulk("mode");
  w.bulk(config_.cluster_enabled ? "cluster" : "standalone");
  w.bulk("role");
  w.bulk(cluster_.myself->is_replica() ? "replica" : "master");
  w.bulk("modules");
  w.array(0);
}

void Node::cmd_select(Client& c, const Argv& argv, resp::Writer& w) {
  auto id = parse_ll(argv[1]);
  if (!id) {
    w.error("ERR value is not an integer or out of range");
    return;
  }
  if (config_.cluster_enabled && *id != 0) {
    w.error("ERR SELECT is not allowed in cluster mode");
    return;
  }
  if (*id < 0 || *id >= config_.databases) {
    w.error("ERR DB index is out of range");
    return;
  }
  c.db = static_cast<int>(*id);
  w.simple("OK");
}

void Node::cmd_readonly(Client& c, const Argv&, resp::Writer& w) {
  if (!config_.cluster_enabled) {
    w.error("ERR This instance has cluster support disabled");
    return;
  }
  c.readonly = true;
  w.simple("OK");
}

void Node::cmd_readwrite(Client& c, const Argv&, resp::Writer& w) {
  if (!config_.cluster_enabled) {
    w.error("ERR This instance has cluster support disabled");
    return;
  }
  c.readonly = false;
  w.simple("OK");
}

void Node::cmd_asking(Client& c, const Argv&, resp::Writer& w) {
  if (!config_.cluster_enabled) {
    w.error("ERR This instance has cluster support disabled");
    return;
  }
  c.asking = true;
  w.simple("OK");
}

void Node::cmd_dbsize(Client& c, const Argv&, resp::Writer& w) {
  // dictSize: keys that expired but were not reclaimed yet still count, as in Redis.
  w.integer(static_cast<std::int64_t>(db(c.db).size()));
}

void Node::cmd_shutdown(Client& c, const Argv& argv, resp::Writer& w) {
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!(equals_nocase(a, "nosave") || equals_nocase(a, "save") || equals_nocase(a, "now") ||
          equals_nocase(a, "force") || equals_nocase(a, "abort"))) {
      w.error("ERR syntax error");
      return;
    }
  }
  if (argv.size() == 2 && equals_nocase(argv[1], "abort")) {
    w.error("ERR No shutdown in progress.");
    return;
  }
  bool save = false, nosave = false, force = false;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    save = save || equals_nocase(argv[i], "save");
    nosave = nosave || equals_nocase(argv[i], "nosave");
    force = force || equals_nocase(argv[i], "force");
  }
  if (save && nosave) {
    w.error("ERR syntax error");
    return;
  }
  log(LogLevel::warning, "User requested shutdown...");
  if (!prepare_for_shutdown(save, nosave, force)) {
    w.error("ERR Errors trying to SHUTDOWN. Check logs.");
    return;
  }
  if (config_.cluster_enabled) save_nodes_conf_or_die(true);
  log(LogLevel::warning, "Redis is now ready to exit, bye bye...");
  c.close_after_reply = true;
  crashed_ = true;  // stop processing anything: the host tears us down
  env_.process.shutdown(0);
}

// Simplification: no COMMAND DOCS (slotlab carries no command documentation). redis-cli 7.0 asks
// for it at start-up and, on the unknown-subcommand error, falls back to its built-in help table,
// so interactive hints and HELP still work (tests/integration/test_interactive_cli.py).
void Node::cmd_command(Client&, const Argv& argv, resp::Writer& w) {
  const auto& table = command_table();
  if (argv.size() >= 2 && equals_nocase(argv[1], "count")) {
    w.integer(static_cast<std::int64_t>(table.size()));
    return;
  }
  if (argv.size() >= 2 && equals_nocase(argv[1], "list")) {
    w.array(table.size());
    for (const auto& c : table) w.bulk(c.name);
    return;
  }
  auto describe_cmd = [&](const CommandSpec& c) {
    w.array(10);
    w.bulk(c.name);
    w.integer(c.arity);
    std::vector<std::string> flags;
    if ((c.flags & kCmdWrite) != 0) flags.emplace_back("write");
    if ((c.flags & kCmdReadonly) != 0) flags.emplace_back("readonly");
    if ((c.flags & kCmdAdmin) != 0) flags.emplace_back("admin");
    if ((c.flags & kCmdNoAuth) != 0) flags.emplace_back("no_auth");
    if ((c.flags & kCmdStale) != 0) flags.emplace_back("stale");
    if ((c.flags & kCmdLoading) != 0) flags.emplace_back("loading");
    if ((c.flags & kCmdFast) != 0) flags.emplace_back("fast");
    w.array(flags.size());
    for (auto& f : flags) w.simple(f);
    w.integer(c.first_key);
    w.integer(c.last_key);
    w.integer(c.key_step);
    w.array(0);  // ACL categories
    w.array(0);  // tips
    w.array(0);  // key specs
    w.array(c.subcommands.size());
    for (const auto& s : c.subcommands) {
      w.array(10);
      w.bulk(s.full_name);
      w.integer(s.arity);
      w.array(0);
      w.integer(0);
      w.integer(0);
      w.integer(0);
      w.array(0);
      w.array(0);
      w.array(0);
      w.array(0);
    }
  };
  if (argv.size() == 1) {
    w.array(table.size());
    for (const auto& c : table) describe_cmd(c);
    return;
  }
  if (equals_nocase(argv[1], "info")) {
    w.array(argv.size() - 2);
    for (std::size_t i = 2; i < argv.size(); ++i) {
      const CommandSpec* found = nullptr;
      for (const auto& c : table)
        if (equals_nocase(c.name, argv[i])) found = &c;
      if (found != nullptr) {
        describe_cmd(*found);
      } else {
        w.null_array();
      }
    }
    return;
  }
  w.error(fmt::format("ERR unknown subcommand '{:.128}'. Try COMMAND HELP.", argv[1]));
}

void Node::cmd_client(Client& c, const Argv& argv, resp::Writer& w) {
  if (equals_nocase(argv[1], "id")) {
    w.integer(static_cast<std::int64_t>(c.id));
  } else if (equals_nocase(argv[1], "setname")) {
    for (char ch : argv[2]) {
      if (ch < '!' || ch > '~') {
        w.error("ERR Client names cannot contain spaces, newlines or special characters.");
        return;
      }
    }
    c.name = argv[2];
    w.simple("OK");
  } else if (equals_nocase(argv[1], "getname")) {
    if (c.name.empty()) {
      w.null_bulk();
    } else {
      w.bulk(c.name);
    }
  } else if (equals_nocase(argv[1], "list") || equals_nocase(argv[1], "info")) {
    std::vector<const Client*> all;
    if (equals_nocase(argv[1], "info")) {
      all.push_back(&c);
    } else {
      for (auto& [id, cl] : clients_) all.push_back(cl.get());
      std::sort(all.begin(), all.end(), [](const Client* a, const Client* b) { return a->id < b->id; });
    }
    std::string out;
    for (const Client* cl : all) {
      out += client_info_string(*cl);
      out += '\n';
    }
    w.bulk(out);
  } else if (equals_nocase(argv[1], "no-evict") || equals_nocase(argv[1], "reply")) {
    w.simple("OK");
  } else if (equals_nocase(argv[1], "kill")) {
    w.error("ERR No such client");
  } else {
    w.error(fmt::format("ERR unknown subcommand '{:.128}'. Try CLIENT HELP.", argv[1]));
  }
}

void Node::cmd_role(Client&, const Argv&, resp::Writer& w) {
  if (!cluster_.myself->is_replica()) {
    w.array(3);
    w.bulk("master");
    w.integer(master_repl_offset_);
    std::vector<const Client*> online;
    for (const Client* r : replicas_)
      if (r->repl_state == Client::ReplState::online) online.push_back(r);
    w.array(online.size());
    for (const Client* r : online) {
      w.array(3);
      w.bulk(r->replica_announced_ip.empty() ? r->peer.ip : r->replica_announced_ip);
      w.bulk(std::to_string(r->replica_listening_port));
      w.bulk(std::to_string(r->repl_ack_offset));
    }
    return;
  }
  const char* state = "unknown";
  switch (primary_link_.state) {
    case PrimaryLink::State::none: state = "none"; break;
    case PrimaryLink::State::connect: state = "connect"; break;
    case PrimaryLink::State::connecting: state = "connecting"; break;
    case PrimaryLink::State::transfer: state = "sync"; break;
    case PrimaryLink::State::connected: state = "connected"; break;
    default: state = "handshake"; break;
  }
  w.array(5);
  w.bulk("slave");
  w.bulk(primary_link_.primary.ip);
  w.integer(primary_link_.primary.port);
  w.bulk(state);
  w.integer(primary_link_.state == PrimaryLink::State::connected ? primary_link_.reploff : -1);
}

void Node::cmd_debug(Client& c, const Argv& argv, resp::Writer& w) {
  bool allowed = config_.enable_debug_command == "yes" ||
                 (config_.enable_debug_command == "local" &&
                  (c.peer.ip == "127.0.0.1" || c.peer.ip == "::1" || c.peer.ip.empty()));
  if (!allowed) {
    w.error("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run "
            "it from a local connection, otherwise you need to set this option in the configuration file, and "
            "then restart the server.");
    return;
  }
  const std::string& sub = argv[1];
  if (equals_nocase(sub, "segfault")) {
    crashed_ = true;  // the host logs the crash report (Redis's "crashed by signal: 11")
    env_.process.crash("DEBUG SEGFAULT");
    return;  // no reply: the process is gone
  }
  if (equals_nocase(sub, "drop-cluster-packet-filter") && argv.size() == 3) {
    auto t = parse_ll(argv[2]);
    if (!t) {
      w.error("ERR value is not an integer or out of range");
      return;
    }
    drop_packet_filter_ = static_cast<int>(*t);
    w.simple("OK");
    return;
  }
  if (equals_nocase(sub, "sleep") && argv.size() == 3) {
    // Blocking the event loop is the host's business; the simulator models it as a pause fault.
    w.simple("OK");
    return;
  }
  if (equals_nocase(sub, "help")) {
    w.array(3);
    w.simple("DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    w.simple("SEGFAULT");
    w.simple("DROP-CLUSTER-PACKET-FILTER <packet-type>");
    return;
  }
  w.error(fmt::format("ERR unknown subcommand '{:.128}'. Try DEBUG HELP.", sub));
}

void Node::cmd_config(Client&, const Argv& argv, resp::Writer& w) {
  const std::string& sub = argv[1];
  if (equals_nocase(sub, "get")) {
    std::map<std::string, std::string> matches;  // sorted, deduplicated
    for (std::size_t i = 2; i < argv.size(); ++i) {
      for (const ConfigDirective& d : config_directives()) {
        if (glob_match(argv[i], d.name, true)) matches[d.name] = d.get(config_);
        // Aliases (slave-*, cluster-slave-*) answer only when asked for by their exact name.
        for (const auto& alias : d.aliases)
          if (equals_nocase(argv[i], alias)) matches[alias] = d.get(config_);
      }
    }
    w.array(matches.size() * 2);
    for (const auto& [k, v] : matches) {
      w.bulk(k);
      w.bulk(v);
    }
    return;
  }
  if (equals_nocase(sub, "set")) {
    if (argv.size() % 2 != 0) {
      w.error("ERR wrong number of arguments for 'config|set' command");
      return;
    }
    NodeConfig next = config_;
    for (std::size_t i = 2; i + 1 < argv.size(); i += 2) {
      const ConfigDirective* d = find_config_directive(argv[i]);
      if (d == nullptr) {
        w.error(fmt::format("ERR Unknown option or number of arguments for CONFIG SET - '{}'", argv[i]));
        return;
      }
      if (d->mutability == ConfigMutability::immutable) {
        w.error(fmt::format("ERR CONFIG SET failed (possibly related to argument '{}') - can't set immutable config",
                            argv[i]));
        return;
      }
      std::vector<std::string> args = {argv[i + 1]};
      if (auto r = d->set(next, args); !r) {
        w.error(fmt::format("ERR CONFIG SET failed (possibly related to argument '{}') - {}", argv[i], r.error().message));
        return;
      }
    }
    NodeConfig old = std::move(config_);
    config_ = std::move(next);
    persistence_config_changed(old);
    update_myself_flags();
    if (cluster_.myself != nullptr) cluster_.myself->hostname = config_.cluster_announce_hostname;
    w.simple("OK");
    return;
  }
  if (equals_nocase(sub, "rewrite")) {
    std::vector<std::string> lines;
    NodeConfig defaults;
    for (const ConfigDirective& d : config_directives()) {
      std::string v = d.get(config_);
      if (v != d.get(defaults)) lines.push_back(d.name + " " + v);
    }
    auto r = env_.process.rewrite_config(lines);
    if (!r) {
      w.error("ERR " + r.error().message);
      return;
    }
    w.simple("OK");
    return;
  }
  if (equals_nocase(sub, "resetstat")) {
    cluster_.stats_sent.fill(0);
    cluster_.stats_received.fill(0);
    w.simple("OK");
    return;
  }
  w.error(fmt::format("ERR unknown subcommand '{:.128}'. Try CONFIG HELP.", sub));
}

// ---- INFO ----

std::string Node::info_text(std::string_view section) const {
  std::string s = to_lower(section);
  bool all = s.empty() || s == "default" || s == "all" || s == "everything";
  auto want = [&](std::string_view name) { return all || s == name; };
  std::string out;
  auto add_section = [&](std::string_view title) {
    if (!out.empty()) out += "\r\n";
    out += "# ";
    out += title;
    out += "\r\n";
  };
  Millis now = now_ms();
  const ClusterNode* me = cluster_.myself;

  if (want("server")) {
    add_section("Server");
    fmt::format_to(std::back_inserter(out),
                   "redis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\n"
                   "redis_mode:{}\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\n"
                   "multiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\n"
                   "process_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\n"
                   "server_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\n"
                   "configured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\n"
                   "io_threads_active:0\r\nslotlab_version:{}\r\n",
                   kRedisVersion, config_.cluster_enabled ? "cluster" : "standalone", "slotlab", env_.process.pid(),
                   run_id_, config_.port, env_.clock.now_us(), (now - start_time_ms_) / 1000,
                   (now - start_time_ms_) / 86'400'000, config_.hz, config_.hz, (now / 1000) & ((1 << 24) - 1),
                   env_.process.executable(), env_.process.config_file(), kSlotlabVersion);
  }
  if (want("clients")) {
    add_section("Clients");
    std::size_t normal = 0;
    for (const auto& [id, c] : clients_)
      if (!c->is_replica()) ++normal;
    fmt::format_to(std::back_inserter(out),
                   "connected_clients:{}\r\ncluster_connections:{}\r\nmaxclients:{}\r\n"
                   "client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:0\r\n"
                   "tracking_clients:0\r\nclients_in_timeout_table:0\r\n",
                   normal, links_.size(), config_.maxclients);
  }
  if (want("persistence")) {
    add_section("Persistence");
    info_persistence(out);
  }
  if (want("stats")) {
    add_section("Stats");
    fmt::format_to(std::back_inserter(out), "total_connections_received:{}\r\ntotal_commands_processed:0\r\n",
                   next_client_id_ - 1);
  }
  if (want("replication")) {
    add_section("Replication");
    if (me->is_replica()) {
      bool up = primary_link_.state == PrimaryLink::State::connected;
      fmt::format_to(std::back_inserter(out),
                     "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\n"
                     "master_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\n",
                     primary_link_.primary.ip, primary_link_.primary.port, up ? "up" : "down",
                     up ? (now - primary_link_.last_interaction_ms) / 1000 : -1,
                     primary_link_.state == PrimaryLink::State::transfer ? 1 : 0);
      fmt::format_to(std::back_inserter(out), "slave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
                     replica_processed_offset(), replica_processed_offset());
      if (!up) {
        Millis since = primary_link_.down_since_ms == 0 ? -1 : (now - primary_link_.down_since_ms) / 1000;
        fmt::format_to(std::back_inserter(out), "master_link_down_since_seconds:{}\r\n", since);
      }
      fmt::format_to(std::back_inserter(out), "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:1\r\n",
                     config_.replica_priority, config_.replica_read_only ? 1 : 0);
    } else {
      out += "role:master\r\n";
    }
    std::vector<const Client*> listed;
    for (const Client* r : replicas_) listed.push_back(r);
    fmt::format_to(std::back_inserter(out), "connected_slaves:{}\r\n", listed.size());
    int idx = 0;
    for (const Client* r : listed) {
      const char* state = "wait_bgsave";
      if (r->repl_state == Client::ReplState::sending_rdb) state = "send_bulk";
      if (r->repl_state == Client::ReplState::online) state = "online";
      fmt::format_to(std::back_inserter(out), "slave{}:ip={},port={},state={},offset={},lag={}\r\n", idx++,
                     r->replica_announced_ip.empty() ? r->peer.ip : r->replica_announced_ip, r->replica_listening_port,
                     state, r->repl_ack_offset, (now - r->repl_ack_time_ms) / 1000);
    }
    fmt::format_to(std::back_inserter(out),
                   "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\n"
                   "master_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\n"
                   "repl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
                   replid_, replid2_, replication_offset(), second_replid_offset_, backlog_exists_ ? 1 : 0,
                   config_.repl_backlog_size, backlog_exists_ ? backlog_off_ + 1 : 0, backlog_.size());
  }
  if (want("cpu")) {
    add_section("CPU");
    out += "used_cpu_sys:0.000000\r\nused_cpu_user:0.000000\r\n";
  }
  if (want("modules")) {
    add_section("Modules");
  }
  if (want("errorstats")) {
    add_section("Errorstats");
  }
  if (want("cluster")) {
    add_section("Cluster");
    fmt::format_to(std::back_inserter(out), "cluster_enabled:{}\r\n", config_.cluster_enabled ? 1 : 0);
  }
  if (want("keyspace")) {
    add_section("Keyspace");
    // Only non-empty databases are listed (redis-cli --cluster create looks for "db0:").
    for (std::size_t i = 0; i < dbs_.size(); ++i) {
      const Keyspace& ks = *dbs_[i];
      if (ks.size() == 0) continue;
      fmt::format_to(std::back_inserter(out), "db{}:keys={},expires={},avg_ttl=0\r\n", i, ks.size(), ks.expires_count());
    }
  }
  return out;
}

void Node::cmd_info(Client&, const Argv& argv, resp::Writer& w) {
  std::string section = argv.size() >= 2 ? argv[1] : std::string();
  w.verbatim(info_text(section));
}

}  // namespace slotlab
