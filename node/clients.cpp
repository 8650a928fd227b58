// Client connections on the data port: bytes in, RESP requests out of the parser, command
// dispatch with Redis's checks in Redis's order (unknown command, arity, authentication), replies
// gathered per batch of bytes and sent in one write, and the protocol-error path (reply with the
// error, then close, because the stream cannot be resynchronised).
#include "node/commands.hpp"
#include "node/node.hpp"

namespace slotlab {

Client* Node::create_client(ConnId conn, const Endpoint& peer) {
  resp::Limits limits;
  limits.max_bulk_len = static_cast<std::size_t>(config_.proto_max_bulk_len);
  limits.max_query_buffer = static_cast<std::size_t>(config_.client_query_buffer_limit);
  auto c = std::make_unique<Client>(limits);
  c->id = next_client_id_++;
  c->conn = conn;
  c->peer = peer;
  c->ctime_ms = now_ms();
  c->last_interaction_ms = c->ctime_ms;
  c->authenticated = config_.requirepass.empty();
  Client* raw = c.get();
  clients_.emplace(conn, std::move(c));
  return raw;
}

// Redis's getClientType: a replica (not MONITOR: slotlab has none), else a Pub/Sub subscriber, else
// normal. Simplification: slotlab-node implements no SUBSCRIBE, so no client is in the pubsub
// class; its limits are configurable (CONFIG GET/SET, redis.conf) and unused.
ClientClass Node::client_class(const Client& c) const {
  return c.is_replica() ? ClientClass::replica : ClientClass::normal;
}

std::string Node::client_info_string(const Client& c) const {
  Millis now = now_ms();
  std::uint64_t omem = c.conn == kNoConn ? 0 : env_.transport.pending_bytes(c.conn);
  return fmt::format(
      "id={} addr={}:{} laddr= fd=0 name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi={} qbuf={} "
      "qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd=client|list "
      "user=default redir=-1 resp=2",
      c.id, c.peer.ip, c.peer.port, c.name, (now - c.ctime_ms) / 1000, (now - c.last_interaction_ms) / 1000,
      c.is_replica() ? "S" : "N", c.db, c.in_multi ? static_cast<long long>(c.multi_queue.size()) : -1LL,
      c.parser.buffered_bytes(), omem);
}

// checkClientOutputBufferLimits + closeClientOnOutputBufferLimitReached(c, async): async (after
// queueing output) marks the client and logs "scheduled to be closed ASAP"; from the cron the
// client is freed at once and the log says "closed". The output
// buffer is what the host still holds for the connection (Transport::pending_bytes), which is what
// Redis's reply list is: bytes produced and not yet written to the socket.
bool Node::check_output_limit(Client& c, bool async) {
  if (c.close_asap) return true;
  if (c.conn == kNoConn) return false;  // fake clients (AOF loader, the primary's stream)
  const ClientClass cls = client_class(c);
  const OutputBufferLimit& lim = config_.client_obuf_limits[static_cast<int>(cls)];
  auto used = static_cast<std::int64_t>(env_.transport.pending_bytes(c.conn));
  if (cls == ClientClass::replica) used = std::min(used, c.repl_stream_queued);
  if (used == 0 && cls != ClientClass::replica) return false;  // Redis: nothing queued, nothing checked
  // A replica limit below repl-backlog-size is raised to it (a partial sync would succeed only to be
  // cut again).
  std::int64_t hard_limit = lim.hard_bytes;
  if (cls == ClientClass::replica && hard_limit != 0 && hard_limit < config_.repl_backlog_size)
    hard_limit = config_.repl_backlog_size;
  const bool hard = lim.hard_bytes != 0 && used >= hard_limit;
  bool soft = lim.soft_bytes != 0 && used >= lim.soft_bytes;
  if (soft) {
    const Millis now = now_ms();
    if (c.obuf_soft_limit_reached_ms < 0) {
      c.obuf_soft_limit_reached_ms = now;  // first time over the soft limit
      soft = false;
    } else if ((now - c.obuf_soft_limit_reached_ms) / 1000 <= lim.soft_seconds) {
      soft = false;  // not over it for long enough yet (Redis counts whole seconds)
    }
  } else {
    c.obuf_soft_limit_reached_ms = -1;
  }
  if (!soft && !hard) return false;
  if (!async) {  // from the cron: freed at once
    logf(LogLevel::warning, "Client {} closed for overcoming of output buffer limits.", client_info_string(c));
    env_.transport.abort(c.conn);
    free_client(c, /*close_conn=*/false);
    return true;
  }
  logf(LogLevel::warning, "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
       client_info_string(c));
  c.close_asap = true;
  clients_to_close_.push_back(c.conn);
  return true;
}

// freeClientsInAsyncFreeQueue: the connection is dropped with whatever output it still had.
void Node::free_clients_to_close() {
  if (clients_to_close_.empty()) return;
  std::vector<ConnId> conns;
  conns.swap(clients_to_close_);
  for (ConnId conn : conns) {
    auto it = clients_.find(conn);
    if (it == clients_.end()) continue;
    env_.transport.abort(conn);
    free_client(*it->second, /*close_conn=*/false);
  }
}

void Node::free_client(Client& c, bool close_conn) {
  if (c.blocked != Client::BlockedOn::none) blocked_.erase(std::remove(blocked_.begin(), blocked_.end(), &c), blocked_.end());
  if (c.is_replica()) {
    logf(LogLevel::notice, "Connection with replica {}:{} lost.",
         c.replica_announced_ip.empty() ? c.peer.ip : c.replica_announced_ip, c.replica_listening_port);
    replicas_.erase(std::remove(replicas_.begin(), replicas_.end(), &c), replicas_.end());
    if (replicas_.empty()) replicas_absent_since_ms_ = now_ms();
  }
  ConnId conn = c.conn;
  if (close_conn) env_.transport.close(conn);
  clients_.erase(conn);
}

void Node::flush_client(Client& c) {
  if (!c.reply.empty()) {
    // Nothing is acknowledged before the AOF has it (Redis's beforeSleep order).
    if (!aof_flush_before_reply()) return;
    env_.transport.send(c.conn, std::move(c.reply));
    c.reply.clear();
    check_output_limit(c);
  }
}

void Node::client_on_bytes(Client& c, std::string_view bytes) {
  c.last_interaction_ms = now_ms();
  c.parser.feed(bytes);
  if (c.parser.over_query_buffer_limit() && !c.is_replica()) {
    // Redis closes such a client without a reply.
    logf(LogLevel::warning, "Closing client that reached max query buffer length: id={} addr={}:{} qbuf={}", c.id,
         c.peer.ip, c.peer.port, c.parser.buffered_bytes());
    free_client(c, true);
    return;
  }
  Argv& argv = c.argv;
  std::string error;
  const ConnId conn = c.conn;
  while (!c.close_after_reply && !c.close_asap && c.blocked == Client::BlockedOn::none) {
    c.parser.set_auth_required(!c.authenticated);
    auto status = c.parser.next(argv, error);
    if (status == resp::RequestParser::Status::need_more) break;
    if (status == resp::RequestParser::Status::error) {
      resp::Writer w(c.reply);
      w.error("ERR " + error);
      logf(LogLevel::verbose, "Protocol error ({}) from client: id={} addr={}:{}", error, c.id, c.peer.ip, c.peer.port);
      c.close_after_reply = true;
      break;
    }
    resp::Writer w(c.reply);
    process_command(c, argv, w);
    if (crashed_) return;
    // The command may have freed this client (e.g. it became a replica and was dropped).
    if (clients_.find(conn) == clients_.end()) return;
  }
  flush_client(c);
  if (c.close_after_reply) free_client(c, /*close_conn=*/true);
}

void Node::clients_cron() {
  // Output-buffer limits (clientsCron: the soft limit's time runs out even if nothing new is
  // queued). In client-id order: the map's order is not deterministic.
  {
    std::vector<Client*> all;
    for (auto& [conn, c] : clients_)
      if (!c->close_asap && c->conn != kNoConn) all.push_back(c.get());
    std::sort(all.begin(), all.end(), [](const Client* a, const Client* b) { return a->id < b->id; });
    for (Client* c : all) check_output_limit(*c, /*async=*/false);  // may free c
  }
  // Idle timeout (the `timeout` directive); replicas and our primary are exempt, as in Redis.
  if (config_.timeout_s <= 0) return;
  Millis now = now_ms();
  std::vector<Client*> idle;
  for (auto& [conn, c] : clients_) {
    if (c->is_replica()) continue;
    if (now - c->last_interaction_ms > config_.timeout_s * 1000) idle.push_back(c.get());
  }
  // Sort for a deterministic order of closes (the map's order is not).
  std::sort(idle.begin(), idle.end(), [](const Client* a, const Client* b) { return a->id < b->id; });
  for (Client* c : idle) {
    logf(LogLevel::verbose, "Closing idle client");
    free_client(*c, true);
  }
}

void Node::process_command(Client& c, Argv& argv, resp::Writer& w) {
  if (argv.empty()) return;
  const CommandSpec* cmd = lookup_command(argv);
  const ConnId conn = c.conn;
  dispatch_command(c, cmd, argv, w);
  // The command may have freed this client (connected clients only; the primary's stream and the
  // test console are not in clients_).
  if (conn != kNoConn) {
    auto it = clients_.find(conn);
    if (it == clients_.end() || it->second.get() != &c) return;
  }
  // resetClient: ASKING covers the next command only, or the whole transaction it precedes. A
  // client blocked before running its command keeps it for when the command runs.
  if (c.asking && !c.in_multi && c.blocked == Client::BlockedOn::none &&
      (cmd == nullptr || cmd->handler != &Node::cmd_asking))
    c.asking = false;
}

// processCommand's checks in Redis's order, then queueing (inside MULTI) or the call.
void Node::dispatch_command(Client& c, const CommandSpec* cmd, Argv& argv, resp::Writer& w) {
  if (cmd == nullptr) {
    std::string err;
    if (is_container_command(argv[0]) && argv.size() >= 2) {
      err = fmt::format("ERR unknown subcommand '{:.128}'. Try {} HELP.", argv[1], to_upper(argv[0]));
    } else {
      std::string args;
      for (std::size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
        fmt::format_to(std::back_inserter(args), "'{:.{}}' ", argv[i], 128 - args.size());
      }
      err = fmt::format("ERR unknown command '{:.128}', with args beginning with: {}", argv[0], args);
    }
    reject_command(c, nullptr, err, w);
    return;
  }
  if ((cmd->arity > 0 && static_cast<int>(argv.size()) != cmd->arity) ||
      static_cast<int>(argv.size()) < -cmd->arity) {
    reject_command(c, cmd, fmt::format("ERR wrong number of arguments for '{}' command", cmd->full_name), w);
    return;
  }
  if (!c.authenticated && (cmd->flags & kCmdNoAuth) == 0) {
    reject_command(c, cmd, "NOAUTH Authentication required.", w);
    return;
  }
  if (c.in_multi && (cmd->flags & kCmdNoMulti) != 0) {
    reject_command(c, cmd, "ERR Command not allowed inside a transaction", w);
    return;
  }
  // While a MIGRATE is in flight every other client waits, as the whole server does in Redis.
  if (migrate_op_ && c.conn != migrate_op_->client && !c.from_primary) {
    c.pending = argv;
    block_client(c, Client::BlockedOn::migrate, 0);
    return;
  }
  const bool is_exec = cmd->handler == &Node::cmd_exec;
  // Cluster redirection, except for our primary's stream and commands without keys (routing.cpp).
  if (config_.cluster_enabled && !c.from_primary && command_is_routed(*cmd)) {
    Route route = route_query(c, *cmd, argv);
    if (route.node != cluster_.myself) {
      if (is_exec) {
        discard_transaction(c);
      } else {
        flag_transaction(c);
      }
      w.error(redirect_error(route));
      return;
    }
  }
  const bool is_write = (cmd->flags & kCmdWrite) != 0 || (is_exec && (queued_flags(c) & kCmdWrite) != 0);
  const bool i_am_replica = cluster_.myself->is_replica();
  // After a failed save or AOF write, writes (and PING) are refused until the disk works again.
  if ((is_write || cmd->handler == &Node::cmd_ping) && !c.from_primary) {
    if (std::string misconf = disk_error_denying_writes(); !misconf.empty()) {
      reject_command(c, cmd, misconf, w);
      return;
    }
  }
  // A read-only replica takes writes only from its primary (replica-read-only yes).
  if (i_am_replica && config_.replica_read_only && !c.from_primary && is_write) {
    reject_command(c, cmd, "READONLY You can't write against a read only replica.", w);
    return;
  }
  // replica-serve-stale-data no: with the link down only "stale" commands (INFO, PING...) run.
  if (i_am_replica && !config_.replica_serve_stale_data && !c.from_primary && !primary_link_up() &&
      ((cmd->flags & kCmdStale) == 0 || (is_exec && queued_lacks(c, kCmdStale)))) {
    reject_command(c, cmd, "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", w);
    return;
  }
  // Writes wait while a manual failover pauses us (pauseClients(..., CLIENT_PAUSE_WRITE)).
  if (is_write && !c.from_primary && clients_paused_for_failover()) {
    c.pending = argv;
    block_client(c, Client::BlockedOn::pause, paused_until_ms_);
    return;
  }
  if (c.in_multi && !is_exec && cmd->handler != &Node::cmd_discard && cmd->handler != &Node::cmd_multi &&
      cmd->handler != &Node::cmd_quit) {
    // queueMultiCommand: nothing more is kept once the transaction is doomed.
    if (!c.multi_dirty) c.multi_queue.push_back(std::move(argv));
    w.simple("QUEUED");
    return;
  }
  call_command(c, *cmd, argv, w);
  c.woff = master_repl_offset_;
}

std::string Node::execute_for_test(const Argv& argv) {
  Client c{resp::Limits{}};
  c.id = 0;
  c.authenticated = true;
  Argv copy = argv;
  std::string out;
  resp::Writer w(out);
  process_command(c, copy, w);
  before_sleep();
  return out;
}

}  // namespace slotlab
