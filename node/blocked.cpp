// Blocked clients (Redis blocked.c, the parts slotlab needs): WAIT, writes held during a
// manual-failover pause, and MIGRATE waiting for its target.
//
// A blocked client reads nothing more until it is unblocked. Unblocking only marks it ready;
// ready clients are served before the node goes back to waiting (Redis's
// processUnblockedClients in beforeSleep), never inside another client's command.
#include <algorithm>

#include "node/commands.hpp"

namespace slotlab {

void Node::block_client(Client& c, Client::BlockedOn on, Millis deadline_ms) {
  SLOTLAB_ASSERT(c.blocked == Client::BlockedOn::none);
  c.blocked = on;
  c.block_deadline_ms = deadline_ms;
  blocked_.push_back(&c);
}

void Node::unblock_client(Client& c) {
  if (c.blocked == Client::BlockedOn::none) return;
  c.blocked = Client::BlockedOn::none;
  blocked_.erase(std::remove(blocked_.begin(), blocked_.end(), &c), blocked_.end());
  if (std::find(unblocked_.begin(), unblocked_.end(), c.conn) == unblocked_.end()) unblocked_.push_back(c.conn);
}

std::int64_t Node::count_replica_acks(std::int64_t offset) const {
  std::int64_t n = 0;
  for (const Client* r : replicas_)
    if (r->repl_state == Client::ReplState::online && r->repl_ack_offset >= offset) ++n;
  return n;
}

void Node::cmd_wait(Client& c, const Argv& argv, resp::Writer& w) {
  if (cluster_.myself->is_replica()) {
    w.error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a "
            "replica is configured to be writable (which is not the default) writes to replicas are just "
            "local and are not propagated.");
    return;
  }
  auto numreplicas = parse_ll(argv[1]);
  auto timeout = parse_ll(argv[2]);
  if (!numreplicas || !timeout) {
    w.error("ERR value is not an integer or out of range");
    return;
  }
  if (*timeout < 0) {
    w.error("ERR timeout is negative");
    return;
  }
  std::int64_t acked = count_replica_acks(c.woff);
  if (acked >= *numreplicas || c.in_multi) {
    w.integer(acked);
    return;
  }
  c.wait_offset = c.woff;
  c.wait_replicas = *numreplicas;
  block_client(c, Client::BlockedOn::wait, *timeout == 0 ? 0 : now_ms() + *timeout);
  get_ack_from_replicas_ = true;  // REPLCONF GETACK * goes down the stream before we sleep
}

// Called before sleeping: serve WAITs that are satisfied or timed out, release writes held by a
// pause that ended, run what unblocked clients had buffered.
void Node::process_blocked_clients() {
  if (get_ack_from_replicas_) {
    get_ack_from_replicas_ = false;
    if (!replicas_.empty()) propagate_raw(resp::encode_command({"REPLCONF", "GETACK", "*"}));
  }
  Millis now = now_ms();
  bool paused = clients_paused_for_failover();
  std::vector<Client*> snapshot = blocked_;
  for (Client* c : snapshot) {
    switch (c->blocked) {
      case Client::BlockedOn::wait: {
        std::int64_t acked = count_replica_acks(c->wait_offset);
        bool timed_out = c->block_deadline_ms != 0 && now >= c->block_deadline_ms;
        if (acked >= c->wait_replicas || timed_out) {
          resp::Writer(c->reply).integer(acked);
          unblock_client(*c);
        }
        break;
      }
      case Client::BlockedOn::pause:
        if (!paused) unblock_client(*c);
        break;
      case Client::BlockedOn::migrate:
        break;  // migrate.cpp unblocks it when the target answers or the timeout passes
      case Client::BlockedOn::none:
        break;
    }
  }
  // Serve ready clients: the held command first, then whatever they sent meanwhile.
  while (!unblocked_.empty()) {
    std::vector<ConnId> ready;
    ready.swap(unblocked_);
    for (ConnId conn : ready) {
      auto it = clients_.find(conn);
      if (it == clients_.end()) continue;
      Client& c = *it->second;
      if (!c.pending.empty()) {
        Argv cmd = std::move(c.pending);
        c.pending.clear();
        resp::Writer w(c.reply);
        process_command(c, cmd, w);
        if (crashed_ || clients_.find(conn) == clients_.end()) continue;
      }
      client_on_bytes(c, std::string_view());
    }
  }
}

void Node::blocked_clients_cron() {
  // Timeouts are handled in process_blocked_clients, which every event ends with.
}

}  // namespace slotlab
