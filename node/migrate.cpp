// Moving keys between nodes: MIGRATE (the source side), DUMP and RESTORE / RESTORE-ASKING (the
// target side), and the cache of connections MIGRATE keeps to its targets (Redis cluster.c
// migrateCommand, migrateGetSocket, migrateCloseTimedoutSockets, dumpCommand, restoreCommand).
//
// Redis performs MIGRATE with blocking socket I/O: the whole server waits while the keys travel,
// which is what makes "copy to the target, then delete here" atomic for every other client. A
// sans-IO node cannot block, so MIGRATE blocks the calling client and holds back every other
// client's commands until the target has answered (or the timeout passed): the same atomicity,
// and the same stall for clients. Unlike Redis, the cluster bus keeps running meanwhile.
#include <algorithm>

#include "node/commands.hpp"
#include "node/rdb.hpp"

namespace slotlab {

namespace {
constexpr Millis kMigrateSocketTtlMs = 10'000;  // MIGRATE_SOCKET_CACHE_TTL (10 s)
constexpr std::size_t kMigrateSocketCacheItems = 64;  // MIGRATE_SOCKET_CACHE_ITEMS
}  // namespace

void Node::cmd_migrate(Client& c, const Argv& argv, resp::Writer& w) {
  bool copy = false, replace = false;
  std::string username, password;
  std::size_t first_key = 3, num_keys = 1;
  for (std::size_t j = 6; j < argv.size(); ++j) {
    std::size_t moreargs = argv.size() - 1 - j;
    if (equals_nocase(argv[j], "copy")) {
      copy = true;
    } else if (equals_nocase(argv[j], "replace")) {
      replace = true;
    } else if (equals_nocase(argv[j], "auth")) {
      if (moreargs < 1) {
        w.error("ERR syntax error");
        return;
      }
      password = argv[++j];
    } else if (equals_nocase(argv[j], "auth2")) {
      if (moreargs < 2) {
        w.error("ERR syntax error");
        return;
      }
      username = argv[++j];
      password = argv[++j];
    } else if (equals_nocase(argv[j], "keys")) {
      if (!argv[3].empty()) {
        w.error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
        return;
      }
      first_key = j + 1;
      num_keys = argv.size() - j - 1;
      break;
    } else {
      w.error("ERR syntax error");
      return;
    }
  }
  auto timeout = parse_ll(argv[5]);
  auto dbid = parse_ll(argv[4]);
  if (!timeout || !dbid) {
    w.error("ERR value is not an integer or out of range");
    return;
  }
  Millis timeout_ms = *timeout <= 0 ? 1000 : *timeout;
  auto port = parse_ll(argv[2]);
  if (!port || *port <= 0 || *port > 65535) {
    w.error("ERR value is not an integer or out of range");
    return;
  }

  // Which keys are here (expired ones count as missing). None: +NOKEY.
  Keyspace& ks = db(c.db);
  MigrateOp op;
  op.client = c.conn;
  op.copy = copy;
  op.replace = replace;
  op.dbid = static_cast<int>(*dbid);
  op.db_index = c.db;
  op.deadline_ms = now_ms() + timeout_ms;
  op.timeout_ms = timeout_ms;
  op.target = Endpoint{argv[1], static_cast<std::uint16_t>(*port)};
  op.username = username;
  op.password = password;
  Millis now = now_ms();
  for (std::size_t j = 0; j < num_keys; ++j) {
    const std::string& key = argv[first_key + j];
    const KeyEntry* e = ks.find(key);
    if (e == nullptr || (e->expire_ms >= 0 && e->expire_ms <= now)) continue;
    op.keys.push_back(key);
  }
  if (op.keys.empty()) {
    w.simple("NOKEY");
    return;
  }
  migrate_op_ = std::move(op);
  block_client(c, Client::BlockedOn::migrate, migrate_op_->deadline_ms);
  migrate_send();
}

// (Re)sends the RESTORE batch of the operation in flight on a cached or new socket.
void Node::migrate_send() {
  MigrateOp& op = *migrate_op_;
  std::string name = op.target.str();
  auto it = migrate_sockets_.find(name);
  if (it == migrate_sockets_.end()) {
    if (migrate_sockets_.size() >= kMigrateSocketCacheItems) {
      // Too many cached sockets: drop the least recently used (Redis drops a random one).
      auto victim = std::min_element(migrate_sockets_.begin(), migrate_sockets_.end(), [](const auto& a, const auto& b) {
        return a.second->last_use_ms < b.second->last_use_ms;
      });
      migrate_close_socket(victim->first);
    }
    auto s = std::make_unique<MigrateSocket>();
    s->to = op.target;
    s->conn = env_.transport.connect(op.target);
    it = migrate_sockets_.emplace(name, std::move(s)).first;
    migrate_conns_[it->second->conn] = name;
  }
  MigrateSocket& s = *it->second;
  s.last_use_ms = now_ms();
  s.replies.clear();
  s.parser = resp::ReplyParser{};

  Keyspace& ks = db(op.db_index);
  Millis now = now_ms();
  std::string cmd;
  op.expect_auth = !op.password.empty();
  if (op.expect_auth) {
    cmd += op.username.empty() ? resp::encode_command({"AUTH", op.password})
                               : resp::encode_command({"AUTH", op.username, op.password});
  }
  op.expect_select = s.last_dbid != op.dbid;
  if (op.expect_select) cmd += resp::encode_command({"SELECT", std::to_string(op.dbid)});
  op.sent_keys.clear();
  for (const std::string& key : op.keys) {
    const KeyEntry* e = ks.find(key);
    if (e == nullptr) continue;
    std::int64_t ttl = 0;
    if (e->expire_ms >= 0) {
      ttl = e->expire_ms - now;
      if (ttl < 0) continue;  // expired since the first lookup
      if (ttl < 1) ttl = 1;
    }
    Argv restore{config_.cluster_enabled ? "RESTORE-ASKING" : "RESTORE", key, std::to_string(ttl),
                 rdb::dump_payload(e->value)};
    if (op.replace) restore.emplace_back("REPLACE");
    cmd += resp::encode_command(restore);
    op.sent_keys.push_back(key);
  }
  if (s.connected) {
    env_.transport.send(s.conn, std::move(cmd));
  } else {
    s.pending_out += cmd;
  }
  if (op.sent_keys.empty() && !op.expect_auth && !op.expect_select) migrate_finish(false, "");
}

MigrateSocket* Node::migrate_socket_for(ConnId conn) {
  auto it = migrate_conns_.find(conn);
  if (it == migrate_conns_.end()) return nullptr;
  auto s = migrate_sockets_.find(it->second);
  return s == migrate_sockets_.end() ? nullptr : s->second.get();
}

void Node::migrate_close_socket(const std::string& name) {
  auto it = migrate_sockets_.find(name);
  if (it == migrate_sockets_.end()) return;
  if (!it->second->closed) env_.transport.close(it->second->conn);
  migrate_conns_.erase(it->second->conn);
  migrate_sockets_.erase(it);
}

void Node::migrate_on_connected(MigrateSocket& s) {
  s.connected = true;
  if (!s.pending_out.empty()) {
    env_.transport.send(s.conn, std::move(s.pending_out));
    s.pending_out.clear();
  }
}

void Node::migrate_on_bytes(MigrateSocket& s, std::string_view bytes) {
  s.parser.feed(bytes);
  while (true) {
    resp::Value v;
    std::string err;
    auto st = s.parser.next(v, err);
    if (st == resp::ReplyParser::Status::need_more) break;
    if (st == resp::ReplyParser::Status::error) {
      migrate_socket_error(s, /*reading=*/true);
      return;
    }
    s.replies.push_back(std::move(v));
  }
  if (!migrate_op_ || migrate_op_->target.str() != s.to.str()) return;
  const MigrateOp& op = *migrate_op_;
  std::size_t expected = (op.expect_auth ? 1 : 0) + (op.expect_select ? 1 : 0) + op.sent_keys.size();
  if (s.replies.size() >= expected) migrate_complete(s);
}

void Node::migrate_on_closed(MigrateSocket& s) {
  s.closed = true;
  migrate_socket_error(s, /*reading=*/s.connected);
}

void Node::migrate_socket_error(MigrateSocket& s, bool reading) {
  std::string name = s.to.str();
  bool ours = migrate_op_ && migrate_op_->target.str() == name;
  bool nothing_read = s.replies.empty();
  migrate_close_socket(name);  // s is gone after this
  if (!ours) return;
  MigrateOp& op = *migrate_op_;
  // Retry once on a fresh socket if nothing was processed (a cached socket the target closed).
  if (op.may_retry && nothing_read) {
    op.may_retry = false;
    migrate_send();
    return;
  }
  migrate_finish(true, fmt::format("IOERR error or timeout {} to target instance", reading ? "reading" : "writing"));
}

// All replies are in: delete what the target accepted, propagate it as DEL, answer the client.
void Node::migrate_complete(MigrateSocket& s) {
  MigrateOp& op = *migrate_op_;
  std::size_t idx = 0;
  std::string error;
  if (op.expect_auth) {
    const resp::Value& r = s.replies[idx++];
    if (r.is_error() && error.empty()) error = r.str;
  }
  if (op.expect_select) {
    const resp::Value& r = s.replies[idx++];
    if (r.is_error() && error.empty()) error = r.str;
  }
  Argv del{"DEL"};
  Keyspace& ks = db(op.db_index);
  for (const std::string& key : op.sent_keys) {
    const resp::Value& r = s.replies[idx++];
    if (r.is_error() || !error.empty()) {
      if (error.empty()) error = r.str;
      continue;
    }
    if (!op.copy) {
      ks.erase(key);
      ++dirty_;
      del.push_back(key);
    }
  }
  s.replies.clear();
  if (!error.empty()) {
    s.last_dbid = -1;
  } else {
    s.last_dbid = op.dbid;
  }
  if (del.size() > 1) propagate(op.db_index, del);
  migrate_finish(!error.empty(), error.empty() ? "" : "ERR Target instance replied with error: " + error);
}

void Node::migrate_finish(bool failed, const std::string& error) {
  MigrateOp op = std::move(*migrate_op_);
  migrate_op_.reset();
  auto it = clients_.find(op.client);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  resp::Writer w(c.reply);
  if (failed) {
    w.error(error);
  } else {
    w.simple("OK");
  }
  if (!failed) c.woff = master_repl_offset_;
  unblock_client(c);
  // Clients held back while the keys were in flight can go on.
  for (Client* b : std::vector<Client*>(blocked_)) {
    if (b->blocked == Client::BlockedOn::migrate && b->conn != op.client) unblock_client(*b);
  }
}

void Node::migrate_cron() {
  Millis now = now_ms();
  if (migrate_op_ && now >= migrate_op_->deadline_ms) {
    std::string name = migrate_op_->target.str();
    auto it = migrate_sockets_.find(name);
    bool reading = it != migrate_sockets_.end() && it->second->connected;
    migrate_close_socket(name);
    migrate_op_->may_retry = false;  // a timeout is never retried
    migrate_finish(true, fmt::format("IOERR error or timeout {} to target instance", reading ? "reading" : "writing"));
  }
  // migrateCloseTimedoutSockets: idle cached sockets go after 10 s.
  std::vector<std::string> idle;
  for (const auto& [name, s] : migrate_sockets_) {
    if (migrate_op_ && migrate_op_->target.str() == name) continue;
    if (now - s->last_use_ms > kMigrateSocketTtlMs) idle.push_back(name);
  }
  for (const auto& name : idle) migrate_close_socket(name);
}

// ---- DUMP / RESTORE (data commands) ----

namespace {

void dump_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.null_bulk();
    return;
  }
  w.bulk(rdb::dump_payload(e->value));
}

void restore_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  bool replace = false, absttl = false;
  for (std::size_t j = 4; j < argv.size(); ++j) {
    std::size_t additional = argv.size() - j - 1;
    if (equals_nocase(argv[j], "replace")) {
      replace = true;
    } else if (equals_nocase(argv[j], "absttl")) {
      absttl = true;
    } else if (equals_nocase(argv[j], "idletime") && additional >= 1) {
      auto idle = parse_ll(argv[++j]);
      if (!idle) {
        w.error("ERR value is not an integer or out of range");
        return;
      }
      if (*idle < 0) {
        w.error("ERR Invalid IDLETIME value, must be >= 0");
        return;
      }
    } else if (equals_nocase(argv[j], "freq") && additional >= 1) {
      auto freq = parse_ll(argv[++j]);
      if (!freq) {
        w.error("ERR value is not an integer or out of range");
        return;
      }
      if (*freq < 0 || *freq > 255) {
        w.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
        return;
      }
    } else {
      w.error("ERR syntax error");
      return;
    }
  }
  const std::string& key = argv[1];
  if (!replace && ctx.lookup(key) != nullptr) {
    w.error("BUSYKEY Target key name already exists.");
    return;
  }
  auto ttl = parse_ll(argv[2]);
  if (!ttl) {
    w.error("ERR value is not an integer or out of range");
    return;
  }
  if (*ttl < 0) {
    w.error("ERR Invalid TTL value, must be >= 0");
    return;
  }
  auto value = rdb::restore_payload(argv[3]);
  if (!value) {
    w.error(value.error().message.rfind("ERR ", 0) == 0 ? value.error().message
                                                         : "ERR Bad data format");
    return;
  }
  bool deleted = false;
  if (replace) deleted = ctx.db.erase(key);
  Millis expire = -1;
  if (*ttl != 0) expire = absttl ? *ttl : ctx.now_ms + *ttl;
  if (expire >= 0 && expire <= ctx.now_ms && !ctx.from_primary) {
    // Already expired: the key is not created; a replaced key is gone.
    if (deleted) ctx.changed({"DEL", key});
    w.simple("OK");
    return;
  }
  KeyEntry& e = ctx.db.set(key, std::move(*value));
  if (expire >= 0) ctx.db.set_expire(e, expire);
  // Propagated with an absolute TTL (Redis 7.0 rewrites the command this way).
  Argv prop = argv;
  if (expire >= 0 && !absttl) {
    prop[2] = std::to_string(expire);
    prop.emplace_back("ABSTTL");
  }
  ctx.changed(prop);
  w.simple("OK");
}

}  // namespace

void register_migration_commands(std::vector<CommandSpec>& table) {
  auto data = [](std::string name, int arity, std::uint32_t flags, DataHandler h) {
    CommandSpec s;
    s.name = name;
    s.full_name = name;
    s.arity = arity;
    s.flags = flags;
    s.data_handler = h;
    s.first_key = 1;
    s.last_key = 1;
    s.key_step = 1;
    return s;
  };
  table.push_back(data("dump", 2, kCmdReadonly, &dump_command));
  table.push_back(data("restore", -4, kCmdWrite, &restore_command));
  table.push_back(data("restore-asking", -4, kCmdWrite | kCmdAsking, &restore_command));
  CommandSpec migrate;
  migrate.name = "migrate";
  migrate.full_name = "migrate";
  migrate.arity = -6;
  migrate.flags = kCmdWrite;
  migrate.handler = &Node::cmd_migrate;
  migrate.getkeys = [](const Argv& argv) {
    // MIGRATE host port key|"" db timeout [...] [KEYS k1 k2 ...]
    std::vector<std::size_t> keys;
    for (std::size_t j = 6; j < argv.size(); ++j) {
      if (equals_nocase(argv[j], "keys")) {
        for (std::size_t k = j + 1; k < argv.size(); ++k) keys.push_back(k);
        return keys;
      }
      if (equals_nocase(argv[j], "auth")) {
        ++j;
      } else if (equals_nocase(argv[j], "auth2")) {
        j += 2;
      }
    }
    if (argv.size() > 3 && !argv[3].empty()) keys.push_back(3);
    return keys;
  };
  table.push_back(migrate);
}

}  // namespace slotlab
