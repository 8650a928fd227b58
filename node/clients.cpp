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
    env_.transport.send(c.conn, std::move(c.reply));
    c.reply.clear();
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
  while (!c.close_after_reply && c.blocked == Client::BlockedOn::none) {
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
  if (cmd == nullptr) {
    if (is_container_command(argv[0]) && argv.size() >= 2) {
      w.error(fmt::format("ERR unknown subcommand '{:.128}'. Try {} HELP.", argv[1], to_upper(argv[0])));
    } else {
      std::string args;
      for (std::size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
        fmt::format_to(std::back_inserter(args), "'{:.{}}' ", argv[i], 128 - args.size());
      }
      w.error(fmt::format("ERR unknown command '{:.128}', with args beginning with: {}", argv[0], args));
    }
    return;
  }
  if ((cmd->arity > 0 && static_cast<int>(argv.size()) != cmd->arity) ||
      static_cast<int>(argv.size()) < -cmd->arity) {
    w.error(fmt::format("ERR wrong number of arguments for '{}' command", cmd->full_name));
    return;
  }
  if (!c.authenticated && (cmd->flags & kCmdNoAuth) == 0) {
    w.error("NOAUTH Authentication required.");
    return;
  }
  // Writes wait while a manual failover pauses us (pauseClients(..., CLIENT_PAUSE_WRITE)).
  if ((cmd->flags & kCmdWrite) != 0 && !c.from_primary && clients_paused_for_failover()) {
    c.pending = argv;
    block_client(c, Client::BlockedOn::pause, paused_until_ms_);
    return;
  }
  if (cmd->data_handler != nullptr) {
    call_data_command(c, *cmd, argv, w);
  } else {
    (this->*(cmd->handler))(c, argv, w);
  }
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
