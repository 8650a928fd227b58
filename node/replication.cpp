// Primary/replica replication (Redis replication.c), both sides.
//
// Replica: connect to the primary's data port, PING, [AUTH], REPLCONF listening-port, REPLCONF
// capa eof capa psync2, PSYNC <replid> <offset+1> (or "? -1"), then either +CONTINUE (the primary
// resends what we miss from its backlog) or +FULLRESYNC <replid> <offset> followed by an RDB
// payload ($<len> or the diskless $EOF:<mark> form) and the stream of write commands. The replica
// counts every byte of the stream it applies: that offset is what the cluster bus gossips and
// what election ranks compare. It ACKs its offset every second.
//
// Primary: keeps a replication ID, an offset and a backlog of the last repl-backlog-size bytes;
// answers PSYNC with +CONTINUE when it can serve the requested offset from the backlog under the
// same (or the previous, up to where it changed) replication ID, else with a full resync. With
// repl-diskless-sync (the 7.0 default) the snapshot starts repl-diskless-sync-delay seconds after
// the first replica asks, so that others can join. PINGs go down the stream every
// repl-ping-replica-period seconds, except while writes are paused for a manual failover.
//
// Simplification, stated: the snapshot is produced instantly (there is no fork), so a replica
// goes from "sending the RDB" to online within one event; what it would have received while a
// real BGSAVE ran is simply the stream after the snapshot's offset.
#include "node/aof.hpp"
#include "node/commands.hpp"
#include "node/crc.hpp"
#include "node/rdb.hpp"

namespace slotlab {

namespace {
std::string encode_argv(std::initializer_list<std::string_view> args) { return resp::encode_command(args); }
}  // namespace

std::int64_t Node::replica_processed_offset() const {
  if (primary_link_.state == PrimaryLink::State::connected) return primary_link_.reploff;
  if (!primary_link_.psync_replid.empty()) return std::max<std::int64_t>(primary_link_.psync_offset, 0);
  return 0;
}

std::int64_t Node::replication_offset() const {
  return cluster_.myself != nullptr && cluster_.myself->is_replica() ? replica_processed_offset() : master_repl_offset_;
}

void Node::replication_change_replid() { replid_ = std::string(random_node_id().view()); }

// shiftReplicationId: keep the old ID valid (as ID2) up to the current offset, start a new one.
void Node::replication_shift_replid() {
  replid2_ = replid_;
  second_replid_offset_ = master_repl_offset_ + 1;
  replication_change_replid();
  logf(LogLevel::warning, "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
       replid2_, second_replid_offset_, replid_);
}


// ---------------------------------------------------------------------------------------------
// Replica side

void Node::trace_replication(bool up) {
  trace(up ? TraceKind::replication_up : TraceKind::replication_down,
        cluster_.myself != nullptr && cluster_.myself->primary != nullptr ? cluster_.myself->primary->name : NodeId{});
}

void Node::replication_set_primary(const std::string& ip, int port) {
  bool was_primary = primary_link_.state == PrimaryLink::State::none;
  if (primary_link_.state == PrimaryLink::State::connected) {
    trace_replication(false);
    // Losing a connected primary: remember where we were so a PSYNC can continue.
    primary_link_.psync_replid = replid_;
    primary_link_.psync_offset = primary_link_.reploff;
    primary_link_.down_since_ms = now_ms();
  }
  if (primary_link_.conn != kNoConn) env_.transport.close(primary_link_.conn);
  primary_link_.conn = kNoConn;
  primary_link_.primary = Endpoint{ip, static_cast<std::uint16_t>(port)};
  if (was_primary) {
    // replicationCacheMasterUsingMyself: our own history can continue under the new primary.
    primary_link_.psync_replid = replid_;
    primary_link_.psync_offset = master_repl_offset_;
  }
  primary_link_.state = PrimaryLink::State::connect;
  logf(LogLevel::notice, "Connecting to MASTER {}:{}", ip, port);
  replication_connect();
}

void Node::replication_unset_primary() {
  if (primary_link_.state == PrimaryLink::State::none) return;
  if (primary_link_.state == PrimaryLink::State::connected) trace_replication(false);
  if (primary_link_.conn != kNoConn) env_.transport.close(primary_link_.conn);
  primary_link_ = PrimaryLink{};
  replication_shift_replid();
  // Our replicas must learn the new ID; they can PSYNC right back.
  std::vector<Client*> reps = replicas_;
  for (Client* r : reps) free_client(*r, true);
  repl_seldb_ = -1;
  replicas_absent_since_ms_ = now_ms();
  log(LogLevel::notice, "MASTER MODE enabled");
}

void Node::replication_connect() {
  if (primary_link_.primary.ip.empty() || primary_link_.primary.port == 0) {
    log(LogLevel::warning, "Unable to connect to MASTER: no address");
    return;
  }
  primary_link_.conn = env_.transport.connect(primary_link_.primary);
  primary_link_.state = PrimaryLink::State::connecting;
  primary_link_.transfer_last_io_ms = now_ms();
  primary_link_.handshake_parser = resp::ReplyParser{};
  primary_link_.inbuf.clear();
  log(LogLevel::notice, "MASTER <-> REPLICA sync started");
}

void Node::replication_abort(bool reconnect, std::string_view why) {
  if (!why.empty()) logf(LogLevel::warning, "{}", why);
  if (primary_link_.conn != kNoConn) env_.transport.close(primary_link_.conn);
  primary_link_.conn = kNoConn;
  primary_link_.state = PrimaryLink::State::connect;
  primary_link_.transfer_buf.clear();
  primary_link_.inbuf.clear();
  if (reconnect) replication_connect();
}

void Node::primary_link_on_connected() {
  if (primary_link_.state != PrimaryLink::State::connecting) return;
  log(LogLevel::notice, "Non blocking connect for SYNC fired the event.");
  primary_link_.state = PrimaryLink::State::receive_ping_reply;
  primary_link_.transfer_last_io_ms = now_ms();
  env_.transport.send(primary_link_.conn, encode_argv({"PING"}));
}

void Node::primary_link_on_closed(CloseReason reason) {
  PrimaryLink& pl = primary_link_;
  pl.conn = kNoConn;
  if (pl.state == PrimaryLink::State::connected) {
    log(LogLevel::notice, "Connection with master lost.");
    trace_replication(false);
    log(LogLevel::notice, "* Caching the disconnected master state.");
    pl.psync_replid = replid_;
    pl.psync_offset = pl.reploff;
    pl.state = PrimaryLink::State::connect;
    pl.down_since_ms = now_ms();
    logf(LogLevel::notice, "Reconnecting to MASTER {}:{}", pl.primary.ip, pl.primary.port);
    replication_connect();
    return;
  }
  if (pl.state == PrimaryLink::State::connecting) {
    logf(LogLevel::warning, "Error condition on socket for SYNC: {}",
         reason == CloseReason::refused ? "Connection refused" : "Connection timed out");
  } else if (pl.state != PrimaryLink::State::none) {
    log(LogLevel::warning, "Master closed the connection during the replication handshake");
  }
  if (pl.state != PrimaryLink::State::none) pl.state = PrimaryLink::State::connect;
  pl.transfer_buf.clear();
  pl.inbuf.clear();
}

void Node::primary_link_on_bytes(std::string_view bytes) {
  PrimaryLink& pl = primary_link_;
  pl.transfer_last_io_ms = now_ms();
  switch (pl.state) {
    case PrimaryLink::State::receive_ping_reply:
    case PrimaryLink::State::receive_auth_reply:
    case PrimaryLink::State::receive_port_reply:
    case PrimaryLink::State::receive_capa_reply:
    case PrimaryLink::State::receive_psync_reply: {
      pl.inbuf.append(bytes);
      // A primary preparing a diskless snapshot sends bare newlines to keep us alive.
      while (!pl.inbuf.empty() && pl.inbuf[0] == '\n') pl.inbuf.erase(0, 1);
      pl.handshake_parser.feed(pl.inbuf);
      pl.inbuf.clear();
      while (pl.state != PrimaryLink::State::transfer && pl.state != PrimaryLink::State::connected &&
             pl.state != PrimaryLink::State::connect && pl.state != PrimaryLink::State::none) {
        resp::Value v;
        std::string err;
        auto st = pl.handshake_parser.next(v, err);
        if (st == resp::ReplyParser::Status::need_more) break;
        if (st == resp::ReplyParser::Status::error) {
          replication_abort(false, "Protocol error from MASTER during the handshake: " + err);
          return;
        }
        replication_handshake_step(&v);
      }
      // Bytes after the PSYNC reply belong to the payload (+FULLRESYNC) or to the stream
      // (+CONTINUE): a real TCP read often carries the reply line and what follows together.
      if (pl.state == PrimaryLink::State::transfer || pl.state == PrimaryLink::State::connected) {
        std::string rest = pl.handshake_parser.take_buffered();
        if (!rest.empty()) primary_link_on_bytes(rest);
      }
      return;
    }
    case PrimaryLink::State::transfer: {
      pl.transfer_buf.append(bytes);
      // Header line: "$<len>\r\n" or "$EOF:<40 bytes>\r\n"; newlines before it are keep-alives.
      if (pl.transfer_size == -1) {
        while (!pl.transfer_buf.empty() && pl.transfer_buf[0] == '\n') pl.transfer_buf.erase(0, 1);
        auto nl = pl.transfer_buf.find("\r\n");
        if (nl == std::string::npos) {
          if (pl.transfer_buf.size() > 1024) replication_abort(false, "Bad protocol from MASTER, the first byte is not '$'");
          return;
        }
        std::string line = pl.transfer_buf.substr(0, nl);
        pl.transfer_buf.erase(0, nl + 2);
        if (line.empty() || line[0] != '$') {
          if (!line.empty() && line[0] == '-') {
            replication_abort(false, "MASTER aborted replication with an error: " + line.substr(1));
          } else {
            replication_abort(false, "Bad protocol from MASTER, the first byte is not '$' (we received '" + line + "')");
          }
          return;
        }
        if (line.compare(0, 5, "$EOF:") == 0 && line.size() == 5 + 40) {
          pl.eof_mark = line.substr(5);
          pl.transfer_size = -2;
          logf(LogLevel::notice, "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser");
        } else {
          auto len = parse_ll(std::string_view(line).substr(1));
          if (!len || *len < 0) {
            replication_abort(false, "Bad protocol from MASTER, invalid bulk length: " + line);
            return;
          }
          pl.transfer_size = *len;
          logf(LogLevel::notice, "MASTER <-> REPLICA sync: receiving {} bytes from master to disk", *len);
        }
      }
      std::string_view payload;
      std::size_t used = 0;
      if (pl.transfer_size == -2) {
        auto pos = pl.transfer_buf.find(pl.eof_mark);
        if (pos == std::string::npos) return;
        payload = std::string_view(pl.transfer_buf).substr(0, pos);
        used = pos + pl.eof_mark.size();
      } else {
        if (static_cast<std::int64_t>(pl.transfer_buf.size()) < pl.transfer_size) return;
        payload = std::string_view(pl.transfer_buf).substr(0, static_cast<std::size_t>(pl.transfer_size));
        used = static_cast<std::size_t>(pl.transfer_size);
      }
      std::string rest = pl.transfer_buf.substr(used);
      replication_load_payload(payload);
      pl.transfer_buf.clear();
      if (pl.state == PrimaryLink::State::connected && !rest.empty()) {
        pl.pending_stream.append(rest);
        pl.stream_parser.feed(rest);
        replication_process_stream();
      }
      return;
    }
    case PrimaryLink::State::connected:
      pl.last_interaction_ms = now_ms();
      pl.pending_stream.append(bytes);
      pl.stream_parser.feed(bytes);
      replication_process_stream();
      return;
    default:
      return;
  }
}

void Node::replication_handshake_step(const resp::Value* reply) {
  PrimaryLink& pl = primary_link_;
  const std::string& text = reply->str;
  switch (pl.state) {
    case PrimaryLink::State::receive_ping_reply: {
      bool ok = reply->type == resp::Type::simple ||
                (reply->is_error() && (text.rfind("NOAUTH", 0) == 0 || text.rfind("NOPERM", 0) == 0 ||
                                       text.rfind("ERR operation not permitted", 0) == 0));
      if (!ok) {
        replication_abort(false, "Error reply to PING from master: '-" + text + "'");
        return;
      }
      log(LogLevel::notice, "Master replied to PING, replication can continue...");
      std::string out;
      if (!config_.masterauth.empty()) {
        out += config_.masteruser.empty() ? encode_argv({"AUTH", config_.masterauth})
                                          : encode_argv({"AUTH", config_.masteruser, config_.masterauth});
      }
      std::uint16_t port = config_.cluster_announce_port != 0 ? config_.cluster_announce_port : config_.port;
      out += encode_argv({"REPLCONF", "listening-port", std::to_string(port)});
      out += encode_argv({"REPLCONF", "capa", "eof", "capa", "psync2"});
      env_.transport.send(pl.conn, std::move(out));
      pl.state = config_.masterauth.empty() ? PrimaryLink::State::receive_port_reply
                                            : PrimaryLink::State::receive_auth_reply;
      return;
    }
    case PrimaryLink::State::receive_auth_reply:
      if (reply->is_error()) {
        replication_abort(false, "Unable to AUTH to MASTER: -" + text);
        return;
      }
      pl.state = PrimaryLink::State::receive_port_reply;
      return;
    case PrimaryLink::State::receive_port_reply:
      if (reply->is_error())
        logf(LogLevel::notice, "(Non critical) Master does not understand REPLCONF listening-port: -{}", text);
      pl.state = PrimaryLink::State::receive_capa_reply;
      return;
    case PrimaryLink::State::receive_capa_reply: {
      if (reply->is_error()) logf(LogLevel::notice, "(Non critical) Master does not understand REPLCONF capa: -{}", text);
      std::string replid = "?";
      std::string offset = "-1";
      if (!pl.psync_replid.empty()) {
        replid = pl.psync_replid;
        offset = std::to_string(pl.psync_offset + 1);
        logf(LogLevel::notice, "Trying a partial resynchronization (request {}:{}).", replid, offset);
      } else {
        log(LogLevel::notice, "Partial resynchronization not possible (no cached master)");
      }
      env_.transport.send(pl.conn, encode_argv({"PSYNC", replid, offset}));
      pl.state = PrimaryLink::State::receive_psync_reply;
      return;
    }
    case PrimaryLink::State::receive_psync_reply: {
      if (reply->type == resp::Type::simple && text.rfind("FULLRESYNC", 0) == 0) {
        auto parts = split_spaces(text);
        if (parts.size() < 3 || parts[1].size() != 40 || !parse_ll(parts[2])) {
          log(LogLevel::warning, "Master replied with wrong +FULLRESYNC syntax.");
          pl.initial_replid.clear();
          pl.initial_offset = -1;
        } else {
          pl.initial_replid = std::string(parts[1]);
          pl.initial_offset = *parse_ll(parts[2]);
          logf(LogLevel::notice, "Full resync from master: {}:{}", pl.initial_replid, pl.initial_offset);
        }
        pl.psync_replid.clear();  // the cached master is useless now
        pl.state = PrimaryLink::State::transfer;
        pl.transfer_size = -1;
        pl.transfer_buf.clear();
        return;
      }
      if (reply->type == resp::Type::simple && text.rfind("CONTINUE", 0) == 0) {
        auto parts = split_spaces(text);
        log(LogLevel::notice, "Successful partial resynchronization with master.");
        if (parts.size() >= 2 && parts[1].size() == 40 && parts[1] != pl.psync_replid) {
          // The primary's history continues under a new ID (it was promoted): follow it.
          replid2_ = pl.psync_replid;
          second_replid_offset_ = pl.psync_offset + 1;
          replid_ = std::string(parts[1]);
          std::vector<Client*> reps = replicas_;
          for (Client* r : reps) free_client(*r, true);
        } else {
          replid_ = pl.psync_replid;
        }
        pl.reploff = pl.psync_offset;
        master_repl_offset_ = pl.reploff;
        if (!backlog_exists_) {
          backlog_.clear();
          backlog_off_ = master_repl_offset_;
          backlog_exists_ = true;
        }
        pl.pending_stream.clear();
        pl.state = PrimaryLink::State::connected;
        pl.last_interaction_ms = now_ms();
        pl.stream_parser = resp::RequestParser{resp::Limits{}};
        pl.down_since_ms = 0;
        log(LogLevel::notice, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
        trace_replication(true);
        return;
      }
      if (reply->is_error() && (text.rfind("NOMASTERLINK", 0) == 0 || text.rfind("LOADING", 0) == 0)) {
        replication_abort(false, "Master is currently unable to PSYNC but should be in the future: -" + text);
        return;
      }
      replication_abort(false, "Unexpected reply to PSYNC from master: " + reply->describe());
      return;
    }
    default:
      return;
  }
}

void Node::replication_load_payload(std::string_view payload) {
  PrimaryLink& pl = primary_link_;
  // As Redis (disk-based load): the old data goes first, then the snapshot is loaded; a snapshot
  // that fails to load leaves the replica empty until the next attempt.
  log(LogLevel::notice, "MASTER <-> REPLICA sync: Flushing old data");
  log(LogLevel::notice, "MASTER <-> REPLICA sync: Loading DB in memory");
  auto loaded = load_rdb_into_keyspaces(payload);
  if (!loaded) {
    replication_abort(false, "Failed trying to load the MASTER synchronization DB from socket: " + loaded.error().message);
    return;
  }
  replid_ = pl.initial_replid.empty() ? replid_ : pl.initial_replid;
  master_repl_offset_ = pl.initial_offset < 0 ? 0 : pl.initial_offset;
  replid2_ = std::string(40, '0');
  second_replid_offset_ = -1;
  pl.reploff = master_repl_offset_;
  pl.state = PrimaryLink::State::connected;
  pl.last_interaction_ms = now_ms();
  pl.stream_parser = resp::RequestParser{resp::Limits{}};
  pl.stream_db = 0;
  pl.pending_stream.clear();
  pl.down_since_ms = 0;
  backlog_.clear();
  backlog_off_ = master_repl_offset_;
  backlog_exists_ = true;
  // Our own replicas must resync from our new dataset.
  std::vector<Client*> reps = replicas_;
  for (Client* r : reps) free_client(*r, true);
  log(LogLevel::notice, "MASTER <-> REPLICA sync: Finished with success");
  trace_replication(true);
}

// Applies the commands of the replication stream. Every byte counts toward the offset, and the
// applied bytes go into our own backlog (and to our replicas), so that after a promotion we can
// serve PSYNCs from our former siblings (replicationFeedStreamFromMasterStream).
void Node::replication_process_stream() {
  PrimaryLink& pl = primary_link_;
  Argv argv;
  std::string err;
  std::uint64_t start = pl.stream_parser.consumed_bytes();
  while (pl.state == PrimaryLink::State::connected) {
    std::uint64_t before = pl.stream_parser.consumed_bytes();
    auto st = pl.stream_parser.next(argv, err);
    if (st == resp::RequestParser::Status::need_more) break;
    if (st == resp::RequestParser::Status::error) {
      replication_abort(false, "Protocol error in the replication stream from MASTER: " + err);
      pl.psync_replid.clear();  // our offset is unreliable now
      return;
    }
    std::uint64_t used = pl.stream_parser.consumed_bytes() - before;
    if (equals_nocase(argv[0], "replconf") && argv.size() >= 2 && equals_nocase(argv[1], "getack")) {
      replication_send_ack();  // the offset before this command, as Redis replies
    } else if (equals_nocase(argv[0], "select") && argv.size() == 2) {
      if (auto db = parse_ll(argv[1])) pl.stream_db = static_cast<int>(*db);
    } else if (equals_nocase(argv[0], "ping")) {
      // keep-alive: nothing to apply
    } else {
      apply_primary_command(argv);
    }
    pl.reploff += static_cast<std::int64_t>(used);
  }
  auto applied = static_cast<std::size_t>(pl.stream_parser.consumed_bytes() - start);
  if (applied > 0 && applied <= pl.pending_stream.size()) {
    std::string chunk = pl.pending_stream.substr(0, applied);
    pl.pending_stream.erase(0, applied);
    replication_feed_replicas(chunk);
  }
  SLOTLAB_ASSERT_MSG(!backlog_exists_ || master_repl_offset_ == pl.reploff || pl.state != PrimaryLink::State::connected,
                     fmt::format("replica offsets diverged: stream {} backlog {}", pl.reploff, master_repl_offset_));
}

// Flushes every database, then loads the snapshot (keys that already expired are kept: the primary
// sends their DELs). A snapshot that fails to load leaves the replica empty. With appendonly on,
// the AOF starts a new generation from the loaded data (restartAOFAfterSYNC).
Result<void> Node::load_rdb_into_keyspaces(std::string_view payload) {
  for (auto& ks : dbs_) ks->clear();
  std::vector<std::unique_ptr<Keyspace>> fresh;
  std::vector<Keyspace*> ptrs;
  for (std::size_t i = 0; i < dbs_.size(); ++i) {
    fresh.push_back(std::make_unique<Keyspace>());
    ptrs.push_back(fresh.back().get());
  }
  auto decoded = rdb::decode_dataset(payload, ptrs, {});
  if (!decoded) return decoded.error();
  dbs_ = std::move(fresh);
  logf(LogLevel::notice, "Done loading RDB, keys loaded: {}, keys expired: {}.", decoded->keys_loaded, decoded->keys_expired);
  if (aof_ != nullptr) {
    if (auto r = aof_->rewrite(snapshot_payload(true)); !r) {
      logf(LogLevel::warning, "Failed to restart the AOF after a successful sync: {}", r.error().message);
    }
  }
  return {};
}

// Runs one command of our primary's stream through the normal dispatch, as Redis's master client:
// no routing, no READONLY refusal, never paused, nothing propagated from here (the stream itself is
// proxied to our replicas), replies discarded. The client lives as long as the link, so that a
// MULTI ... EXEC split across reads is applied as one transaction; a new link starts afresh (a
// transaction cut by a broken link is discarded, as replicationCacheMaster does).
void Node::apply_primary_command(Argv& argv) {
  if (primary_client_ == nullptr || primary_client_link_ != primary_link_.conn) {
    primary_client_ = std::make_unique<Client>(resp::Limits{});
    primary_client_->id = 0;
    primary_client_->authenticated = true;
    primary_client_->from_primary = true;
    primary_client_link_ = primary_link_.conn;
  }
  Client& pc = *primary_client_;
  if (primary_link_.stream_db < 0 || static_cast<std::size_t>(primary_link_.stream_db) >= dbs_.size()) {
    logf(LogLevel::warning, "Replication stream selects db {}, which does not exist: '{}' not applied",
         primary_link_.stream_db, argv[0]);
    return;
  }
  pc.db = primary_link_.stream_db;
  primary_client_reply_.clear();
  resp::Writer w(primary_client_reply_);
  applying_primary_stream_ = true;
  process_command(pc, argv, w);
  applying_primary_stream_ = false;
  if (!primary_client_reply_.empty() && primary_client_reply_[0] == '-') {
    // Redis logs this too: the primary sent something we could not apply.
    logf(LogLevel::warning, "== CRITICAL == This replica is sending an error to its master: '{}' after processing the command '{}'",
         std::string_view(primary_client_reply_).substr(1, primary_client_reply_.size() - 3), argv[0]);
  }
}

void Node::replication_send_ack() {
  if (primary_link_.state != PrimaryLink::State::connected || primary_link_.conn == kNoConn) return;
  env_.transport.send(primary_link_.conn, encode_argv({"REPLCONF", "ACK", std::to_string(primary_link_.reploff)}));
  primary_link_.last_ack_sent_ms = now_ms();
}

// ---------------------------------------------------------------------------------------------
// Primary side

void Node::cmd_replconf(Client& c, const Argv& argv, resp::Writer& w) {
  if (argv.size() % 2 == 0) {
    w.error("ERR syntax error");
    return;
  }
  for (std::size_t j = 1; j + 1 < argv.size(); j += 2) {
    const std::string& opt = argv[j];
    const std::string& val = argv[j + 1];
    if (equals_nocase(opt, "getack")) return;  // only meaningful from a primary, never replied
    if (equals_nocase(opt, "listening-port")) {
      auto p = parse_ll(val);
      if (!p) {
        w.error("ERR value is not an integer or out of range");
        return;
      }
      c.replica_listening_port = static_cast<std::uint16_t>(*p);
    } else if (equals_nocase(opt, "ip-address")) {
      c.replica_announced_ip = val;
    } else if (equals_nocase(opt, "capa")) {
      if (equals_nocase(val, "eof")) c.replica_capa_eof = true;
      if (equals_nocase(val, "psync2")) c.replica_capa_psync2 = true;
    } else if (equals_nocase(opt, "ack")) {
      // From a replica: its processed offset. Never replied to.
      if (!c.is_replica()) return;
      auto off = parse_ll(val);
      if (off && *off > c.repl_ack_offset) c.repl_ack_offset = *off;
      c.repl_ack_time_ms = now_ms();
      return;
    } else if (equals_nocase(opt, "rdb-only") || equals_nocase(opt, "rdb-filter-only")) {
      // accepted; slotlab always sends the full dataset
    } else {
      w.error(fmt::format("ERR Unrecognized REPLCONF option: {}", opt));
      return;
    }
  }
  w.simple("OK");
}

void Node::cmd_psync(Client& c, const Argv& argv, resp::Writer& w) {
  if (c.is_replica()) return;
  if (cluster_.myself->is_replica() && primary_link_.state != PrimaryLink::State::connected) {
    w.error("NOMASTERLINK Can't SYNC while not connected with my master");
    return;
  }
  if (!c.reply.empty()) {
    w.error("ERR SYNC and PSYNC are invalid with pending output");
    return;
  }
  logf(LogLevel::notice, "Replica {}:{} asks for synchronization", c.peer.ip, c.replica_listening_port);
  bool is_psync = equals_nocase(argv[0], "psync");
  if (is_psync) {
    auto off = parse_ll(argv[2]);
    if (!off) {
      w.error("ERR value is not an integer or out of range");
      return;
    }
    if (replication_try_partial(c, argv[1], *off, w)) return;
  }
  // Full resynchronisation.
  c.repl_state = Client::ReplState::wait_bgsave_start;
  c.repl_sync_requested_ms = now_ms();
  replicas_.push_back(&c);
  if (replicas_.size() == 1 && !backlog_exists_) {
    // A backlog created from scratch starts a new history.
    replication_change_replid();
    replid2_ = std::string(40, '0');
    second_replid_offset_ = -1;
    backlog_.clear();
    backlog_off_ = master_repl_offset_;
    backlog_exists_ = true;
    logf(LogLevel::notice, "Replication backlog created, my new replication IDs are '{}' and '{}'", replid_, replid2_);
  }
  if (config_.repl_diskless_sync && c.replica_capa_eof && config_.repl_diskless_sync_delay_s > 0) {
    log(LogLevel::notice, "Delay next BGSAVE for diskless SYNC");
    return;  // replication_primary_cron starts it after the delay
  }
  replication_start_full_sync(c);
}

bool Node::replication_try_partial(Client& c, const std::string& replid, std::int64_t offset, resp::Writer& w) {
  (void)w;
  bool id_ok = equals_nocase(replid, replid_) || (equals_nocase(replid, replid2_) && offset <= second_replid_offset_);
  if (!id_ok) {
    if (replid != "?") {
      if (!equals_nocase(replid, replid_) && !equals_nocase(replid, replid2_)) {
        logf(LogLevel::notice,
             "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication "
             "IDs are '{}' and '{}')",
             replid, replid_, replid2_);
      } else {
        logf(LogLevel::notice,
             "Partial resynchronization not accepted: Requested offset for second ID was {}, but I can reply up to {}",
             offset, second_replid_offset_);
      }
    } else {
      logf(LogLevel::notice, "Full resync requested by replica {}:{}", c.peer.ip, c.replica_listening_port);
    }
    return false;
  }
  std::int64_t first = backlog_off_ + 1;  // offset of backlog_[0]
  if (!backlog_exists_ || offset < first || offset > backlog_off_ + static_cast<std::int64_t>(backlog_.size()) + 1) {
    logf(LogLevel::notice, "Unable to partial resync with replica {}:{} for lack of backlog (Replica request was: {}).",
         c.peer.ip, c.replica_listening_port, offset);
    return false;
  }
  c.repl_state = Client::ReplState::online;
  c.repl_ack_time_ms = now_ms();
  replicas_.push_back(&c);
  std::string out = c.replica_capa_psync2 ? fmt::format("+CONTINUE {}\r\n", replid_) : std::string("+CONTINUE\r\n");
  std::size_t skip = static_cast<std::size_t>(offset - first);
  if (skip < backlog_.size()) out.append(backlog_, skip, std::string::npos);
  c.repl_stream_queued = static_cast<std::int64_t>(out.size());  // the backlog part is stream, and counts
  env_.transport.send(c.conn, std::move(out));
  logf(LogLevel::notice,
       "Partial resynchronization request from {}:{} accepted. Sending {} bytes of backlog starting from offset {}.",
       c.peer.ip, c.replica_listening_port, backlog_.size() > skip ? backlog_.size() - skip : 0, offset);
  return true;
}

void Node::replication_start_full_sync(Client& c) {
  bool diskless = config_.repl_diskless_sync && c.replica_capa_eof;
  logf(LogLevel::notice, "Starting BGSAVE for SYNC with target: {}", diskless ? "replicas sockets" : "disk");
  c.psync_initial_offset = master_repl_offset_;
  repl_seldb_ = -1;  // the next command on the stream re-selects the db
  env_.transport.send(c.conn, fmt::format("+FULLRESYNC {} {}\r\n", replid_, master_repl_offset_));
  std::string rdb = replication_payload();
  std::string out;
  if (diskless) {
    std::string mark = std::string(random_node_id().view());
    out = "$EOF:" + mark + "\r\n";
    out += rdb;
    out += mark;
  } else {
    out = fmt::format("${}\r\n", rdb.size());
    out += rdb;
  }
  env_.transport.send(c.conn, std::move(out));
  c.repl_stream_queued = 0;
  c.repl_state = Client::ReplState::online;
  c.repl_ack_time_ms = now_ms();
  c.repl_ack_offset = 0;
  logf(LogLevel::notice, "Synchronization with replica {}:{} succeeded", c.peer.ip, c.replica_listening_port);
}

// Propagates a write to our replicas and the AOF, with SELECT when the db changes (as
// replicationFeedSlaves does). The AOF is fed by the persistence layer when enabled.
void Node::propagate(int db_index, const Argv& argv) {
  if (loading_) return;
  if (aof_ != nullptr) aof_->feed(db_index, argv);
  if (applying_primary_stream_) return;
  std::string out;
  if (repl_seldb_ != db_index) {
    out += encode_argv({"SELECT", std::to_string(db_index)});
    repl_seldb_ = db_index;
  }
  out += resp::encode_command(argv);
  replication_feed_replicas(out);
}

void Node::replication_feed_replicas(const std::string& bytes) {
  if (!backlog_exists_) return;  // no backlog, no offset (feedReplicationBuffer)
  backlog_.append(bytes);
  master_repl_offset_ += static_cast<std::int64_t>(bytes.size());
  auto limit = static_cast<std::size_t>(config_.repl_backlog_size);
  if (backlog_.size() > limit) {
    std::size_t drop = backlog_.size() - limit;
    backlog_.erase(0, drop);
    backlog_off_ += static_cast<std::int64_t>(drop);
  }
  for (Client* r : replicas_) {
    if (r->repl_state != Client::ReplState::online || r->close_asap) continue;
    std::string copy = bytes;
    env_.transport.send(r->conn, std::move(copy));
    r->repl_stream_queued += static_cast<std::int64_t>(bytes.size());
    check_output_limit(*r);  // closed at the next safe point, not while we iterate replicas_
  }
}

void Node::replication_primary_cron() {
  Millis now = now_ms();
  // PING replicas every repl-ping-replica-period seconds, unless writes are paused for a manual
  // failover: the PING would move the offset the replica is waiting to match.
  if (replication_cron_loops_ % static_cast<std::uint64_t>(config_.repl_ping_replica_period_s) == 0 && !replicas_.empty()) {
    bool mf_in_progress = cluster_.mf_end_ms != 0 && clients_paused_for_failover();
    if (!mf_in_progress) replication_feed_replicas(encode_argv({"PING"}));
  }
  // Newlines keep replicas waiting for a diskless snapshot from timing out.
  std::vector<Client*> waiting;
  for (Client* r : replicas_)
    if (r->repl_state == Client::ReplState::wait_bgsave_start) {
      env_.transport.send(r->conn, std::string("\n"));
      waiting.push_back(r);
    }
  // Start the delayed diskless snapshot once the oldest waiting replica waited long enough.
  if (!waiting.empty()) {
    Millis max_idle = 0;
    for (Client* r : waiting) max_idle = std::max(max_idle, now - r->repl_sync_requested_ms);
    if (max_idle > config_.repl_diskless_sync_delay_s * 1000 || config_.repl_diskless_sync_delay_s == 0) {
      for (Client* r : waiting) replication_start_full_sync(*r);
    }
  }
  // Disconnect replicas that stopped acknowledging.
  std::vector<Client*> timed_out;
  for (Client* r : replicas_) {
    if (r->repl_state == Client::ReplState::online && (now - r->repl_ack_time_ms) / 1000 > config_.repl_timeout_s) {
      timed_out.push_back(r);
    }
  }
  for (Client* r : timed_out) {
    logf(LogLevel::warning, "Disconnecting timedout replica (streaming sync): {}:{}", r->peer.ip, r->replica_listening_port);
    free_client(*r, true);
  }
}

// replicationCron, once per second.
void Node::replication_cron() {
  Millis now = now_ms();
  PrimaryLink& pl = primary_link_;
  Millis timeout = config_.repl_timeout_s * 1000;
  bool handshake = pl.state == PrimaryLink::State::connecting || pl.state == PrimaryLink::State::receive_ping_reply ||
                   pl.state == PrimaryLink::State::receive_auth_reply ||
                   pl.state == PrimaryLink::State::receive_port_reply ||
                   pl.state == PrimaryLink::State::receive_capa_reply ||
                   pl.state == PrimaryLink::State::receive_psync_reply;
  if (handshake && now - pl.transfer_last_io_ms > timeout) {
    replication_abort(true, "Timeout connecting to the MASTER...");
  } else if (pl.state == PrimaryLink::State::transfer && now - pl.transfer_last_io_ms > timeout) {
    replication_abort(true,
                      "Timeout receiving bulk data from MASTER... If the problem persists try to set the "
                      "'repl-timeout' parameter in redis.conf to a larger value.");
  } else if (pl.state == PrimaryLink::State::connected && now - pl.last_interaction_ms > timeout) {
    log(LogLevel::warning, "MASTER timeout: no data nor PING received...");
    if (pl.conn != kNoConn) env_.transport.close(pl.conn);
    primary_link_on_closed(CloseReason::timeout);
  }
  if (pl.state == PrimaryLink::State::connect) {
    logf(LogLevel::notice, "Connecting to MASTER {}:{}", pl.primary.ip, pl.primary.port);
    replication_connect();
  }
  if (pl.state == PrimaryLink::State::connected) replication_send_ack();
  replication_primary_cron();
  ++replication_cron_loops_;
}

}  // namespace slotlab
