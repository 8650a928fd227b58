// Transactions (Redis multi.c) and the pieces of call() the data path shares: MULTI, EXEC,
// DISCARD, how a rejected command poisons the transaction it was sent in, and how what a command
// or a whole transaction changed reaches replicas and the AOF.
//
// Inside MULTI a command that passes every check is queued (+QUEUED); one that fails a check
// (unknown, wrong arity, a cluster redirection ...) is answered with its error and marks the
// transaction dirty, so EXEC answers -EXECABORT and runs nothing. EXEC runs the queue without
// letting anything else in between (the node is single-threaded and nothing blocks inside EXEC:
// WAIT answers at once, as CLIENT_DENY_BLOCKING makes it in Redis) and answers an array with each
// command's reply.
//
// Propagation (propagatePendingCommands): everything the queued commands propagated goes out after
// EXEC, wrapped in MULTI ... EXEC when there is more than one command, so a replica applies the
// transaction atomically too. A single command that propagates more than one command (a SET whose
// key had expired: DEL, then SET) is wrapped the same way, unless it is SCAN or RANDOMKEY
// (CMD_TOUCHES_ARBITRARY_KEYS), whose expiry DELs go out one by one as active expiry's do.
// WATCH is not implemented (the command is unknown), so EXEC never answers a null array.
#include "node/commands.hpp"

namespace slotlab {

namespace {
const Argv kMultiArgv{"MULTI"};
const Argv kExecArgv{"EXEC"};
}  // namespace

void Node::cmd_multi(Client& c, const Argv&, resp::Writer& w) {
  if (c.in_multi) {
    w.error("ERR MULTI calls can not be nested");
    return;
  }
  c.in_multi = true;
  c.multi_dirty = false;
  c.multi_queue.clear();
  w.simple("OK");
}

void Node::cmd_discard(Client& c, const Argv&, resp::Writer& w) {
  if (!c.in_multi) {
    w.error("ERR DISCARD without MULTI");
    return;
  }
  discard_transaction(c);
  w.simple("OK");
}

void Node::discard_transaction(Client& c) {
  c.in_multi = false;
  c.multi_dirty = false;
  c.multi_queue.clear();
}

void Node::reject_command(Client& c, const CommandSpec* cmd, std::string_view error, resp::Writer& w) {
  flag_transaction(c);
  if (cmd != nullptr && cmd->handler == &Node::cmd_exec) {
    // execCommandAbort: the transaction is over, and the reason says why.
    discard_transaction(c);
    std::string_view reason = error;
    if (reason.substr(0, 4) == "ERR ") reason.remove_prefix(4);
    w.error(fmt::format("EXECABORT Transaction discarded because of: {}", reason));
    return;
  }
  w.error(error);
}

std::uint32_t Node::queued_flags(const Client& c) const {
  std::uint32_t flags = 0;
  for (const Argv& a : c.multi_queue)
    if (const CommandSpec* q = lookup_command(a)) flags |= q->flags;
  return flags;
}

bool Node::queued_lacks(const Client& c, std::uint32_t flag) const {
  for (const Argv& a : c.multi_queue)
    if (const CommandSpec* q = lookup_command(a); q != nullptr && (q->flags & flag) == 0) return true;
  return false;
}

void Node::cmd_exec(Client& c, const Argv&, resp::Writer& w) {
  if (!c.in_multi) {
    w.error("ERR EXEC without MULTI");
    return;
  }
  if (c.multi_dirty) {
    w.error("EXECABORT Transaction discarded because of previous errors.");
    discard_transaction(c);
    return;
  }
  std::vector<Argv> queue = std::move(c.multi_queue);
  c.multi_queue.clear();
  std::vector<std::pair<int, Argv>> ops;
  exec_propagation_ = &ops;
  w.array(queue.size());
  // Stays in_multi while the queue runs: blocking commands (WAIT) answer at once.
  for (Argv& a : queue) {
    const CommandSpec* cmd = lookup_command(a);
    SLOTLAB_ASSERT(cmd != nullptr);  // checked when it was queued
    call_command(c, *cmd, a, w);
    if (crashed_) break;
  }
  exec_propagation_ = nullptr;
  discard_transaction(c);
  propagate_pending(ops, /*wrap=*/true);
}

void Node::call_command(Client& c, const CommandSpec& cmd, const Argv& argv, resp::Writer& w) {
  if (cmd.data_handler != nullptr) {
    call_data_command(c, cmd, argv, w);
  } else {
    (this->*(cmd.handler))(c, argv, w);
  }
}

void Node::propagate_pending(std::vector<std::pair<int, Argv>>& ops, bool wrap) {
  if (ops.empty()) return;
  bool transaction = wrap && ops.size() > 1;
  // MULTI takes the first command's db (so SELECT comes before it), EXEC the last one's (so no
  // SELECT comes between the last command and EXEC).
  if (transaction) propagate(ops.front().first, kMultiArgv);
  for (const auto& [db_index, a] : ops) propagate(db_index, a);
  if (transaction) propagate(ops.back().first, kExecArgv);
}

// Runs a data command with its context and propagates what it changed (call() + also_propagate).
void Node::call_data_command(Client& c, const CommandSpec& cmd, const Argv& argv, resp::Writer& w) {
  std::vector<Argv> prop;
  DataContext ctx{db(c.db), c.db, now_ms(), c, c.from_primary, cluster_.myself->is_replica(), prop, dirty_};
  ctx.argv = &argv;
  ctx.paused = paused_until_ms_ != 0 && clients_paused_for_failover();
  ctx.replica_writable = !config_.replica_read_only;
  ctx.proto_max_bulk_len = config_.proto_max_bulk_len;
  ctx.all_dbs = &dbs_;
  ctx.random = &env_.random;
  cmd.data_handler(ctx, argv, w);
  if (prop.empty() && !ctx.propagate_argv) return;
  // Our primary's stream is proxied to our replicas byte for byte (replication_process_stream);
  // propagate() sends what it applied to our AOF only (applying_primary_stream_).
  if (exec_propagation_ != nullptr) {
    for (Argv& p : prop) exec_propagation_->emplace_back(c.db, std::move(p));
    if (ctx.propagate_argv) exec_propagation_->emplace_back(c.db, argv);
    return;
  }
  std::size_t count = prop.size() + (ctx.propagate_argv ? 1 : 0);
  bool transaction = count > 1 && (cmd.flags & kCmdTouchesArbitraryKeys) == 0;
  if (transaction) propagate(c.db, kMultiArgv);
  for (const Argv& p : prop) propagate(c.db, p);
  if (ctx.propagate_argv) propagate(c.db, argv);
  if (transaction) propagate(c.db, kExecArgv);
}

}  // namespace slotlab
