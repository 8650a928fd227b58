// Persistence, wired into the node: RDB snapshots (SAVE, BGSAVE, the `save` points, SHUTDOWN), the
// append-only file (appendonly, appendfsync, BGREWRITEAOF), loading what is on disk at start, and
// refusing writes after a disk error (stop-writes-on-bgsave-error, AOF write errors), as Redis 7.0's
// rdb.c / aof.c / server.c do. The formats themselves live in rdb.cpp and aof.cpp.
//
// Deliberate simplifications (the node is single-threaded and has no fork):
//  - BGSAVE and BGREWRITEAOF run synchronously: the snapshot is taken and written in the same event,
//    so in the simulator they take no virtual time and nothing else runs meanwhile. Their replies
//    and log lines are Redis's; rdb_bgsave_in_progress / aof_rewrite_in_progress are always 0.
//  - A node that restarts from an RDB does not reuse the replication ID and offset stored in it
//    (Redis 7.0 does, to allow a partial resync after a restart): it resyncs in full.
// What is durable is exactly what was fsynced through Storage: an RDB is written to a temporary file,
// fsynced and renamed; the AOF is written before the replies of the commands it holds are sent, and
// fsynced per appendfsync (always: before the reply; everysec: from the cron; no: never).
#include <algorithm>

#include "node/aof.hpp"
#include "node/commands.hpp"
#include "node/rdb.hpp"

namespace slotlab {

namespace {

aof::Options aof_options(const NodeConfig& c) {
  aof::Options o;
  o.dirname = c.appenddirname;
  o.filename = c.appendfilename;
  o.fsync = c.appendfsync;
  o.use_rdb_preamble = c.aof_use_rdb_preamble;
  o.load_truncated = c.aof_load_truncated;
  return o;
}

std::vector<const Keyspace*> db_pointers(const std::vector<std::unique_ptr<Keyspace>>& dbs) {
  std::vector<const Keyspace*> out;
  out.reserve(dbs.size());
  for (const auto& d : dbs) out.push_back(d.get());
  return out;
}

}  // namespace

// rdbSaveRio's AUX fields with an rdbSaveInfo (what SAVE, BGSAVE and the AOF base write), then the
// keys of every database.
std::string Node::snapshot_payload(bool aof_base) const {
  std::vector<const Keyspace*> dbs = db_pointers(dbs_);
  if (aof_base && !config_.aof_use_rdb_preamble) return aof::rewrite_commands(dbs);
  rdb::AuxInfo info;
  info.ctime_s = now_ms() / 1000;
  std::size_t mem = 0;
  for (const auto& d : dbs_) mem += d->size() * 64;
  info.used_mem = static_cast<std::int64_t>(1000000 + mem);
  info.replication = rdb::AuxInfo::Replication{0, replid_, master_repl_offset_};
  info.aof_base = aof_base;
  return rdb::encode_dataset(dbs, rdb::standard_aux(info), config_.rdbcompression, config_.rdbchecksum);
}

// The payload of a full resynchronisation: the snapshot, with the replication ID and offset the
// replica continues from (the +FULLRESYNC line says the same).
std::string Node::replication_payload() const { return snapshot_payload(false); }

// rdbSave: a temporary file, fsync, rename over dbfilename.
Result<void> Node::rdb_save(std::string_view why) {
  last_bgsave_try_ms_ = now_ms();
  std::string tmp = fmt::format("temp-{}.rdb", env_.process.pid());
  std::string payload = snapshot_payload(false);
  auto fail = [&](std::string_view what, const Error& e) -> Result<void> {
    logf(LogLevel::warning, "{} {}: {}", what, tmp, e.message);
    last_bgsave_ok_ = false;
    (void)env_.storage.remove(tmp);
    return make_error(Errc::io, fmt::format("{}: {}", what, e.message));
  };
  if (auto r = env_.storage.write(tmp, payload); !r) return fail("Write error saving DB on disk, file", r.error());
  if (auto r = env_.storage.fsync(tmp); !r) return fail("Write error saving DB on disk (fsync), file", r.error());
  if (auto r = env_.storage.rename(tmp, config_.dbfilename); !r) {
    return fail("Error moving temp DB file on the final destination, file", r.error());
  }
  logf(LogLevel::notice, "DB saved on disk{}", why.empty() ? "" : fmt::format(" ({})", why));
  dirty_ = 0;
  last_save_ms_ = now_ms();
  last_bgsave_ok_ = true;
  return {};
}

// loadDataFromDisk: the AOF when appendonly is on (it is the more complete record), else the RDB.
// Called once from start(), after nodes.conf, so that a primary drops keys that expired while it
// was down (a replica keeps them: its primary decides).
Result<void> Node::load_data_from_disk() {
  const bool primary = !config_.cluster_enabled || !cluster_.myself->is_replica();
  if (config_.appendonly) {
    aof::Options opts = aof_options(config_);
    if (auto r = env_.storage.make_dir(opts.dirname); !r) {
      return make_error(Errc::io, fmt::format("Can't open or create append-only dir {}: {}", opts.dirname, r.error().message));
    }
    aof::AofLoader loader(env_.storage, opts);
    auto loaded = loader.load();
    if (!loaded && loaded.error().code != Errc::not_found) {
      return make_error(Errc::protocol, fmt::format("Bad file format reading the append only file: {}", loaded.error().message));
    }
    if (loaded) {
      if (loaded->truncated) {
        logf(LogLevel::warning, "!!! Warning: short read while loading the AOF file {}!!! AOF loaded anyway because aof-load-truncated is enabled (cut {} bytes, now {} bytes)",
             loaded->truncated_file, loaded->truncated_bytes, loaded->truncated_at);
      }
      if (!loaded->base_rdb.empty()) {
        std::vector<Keyspace*> ptrs;
        for (auto& d : dbs_) ptrs.push_back(d.get());
        auto base = rdb::decode_dataset(loaded->base_rdb, ptrs, {});
        if (!base) return make_error(Errc::protocol, "Bad file format reading the append only file base: " + base.error().message);
      }
      // Replay as Redis's fake AOF client does: no routing, no expiry decisions, nothing propagated.
      Client fake{resp::Limits{}};
      fake.id = 0;
      fake.authenticated = true;
      fake.from_primary = true;
      std::string sink;
      loading_ = true;
      for (aof::Command& cmd : loaded->commands) {
        if (cmd.argv.empty()) continue;
        if (cmd.db < 0 || static_cast<std::size_t>(cmd.db) >= dbs_.size()) {
          loading_ = false;
          return make_error(Errc::protocol, fmt::format("Bad file format reading the append only file: SELECT {} is out of range", cmd.db));
        }
        fake.db = cmd.db;
        sink.clear();
        resp::Writer w(sink);
        const CommandSpec* spec = lookup_command(cmd.argv);
        if (spec == nullptr) {
          loading_ = false;
          return make_error(Errc::protocol, fmt::format("Unknown command '{}' reading the append only file", cmd.argv[0]));
        }
        process_command(fake, cmd.argv, w);
      }
      loading_ = false;
      std::size_t keys = 0;
      for (const auto& d : dbs_) keys += d->size();
      logf(LogLevel::notice, "DB loaded from append only file: 0.000 seconds ({} keys from {} file(s))", keys,
           loaded->files.size());
    }
    aof_ = std::make_unique<aof::AofWriter>(env_.storage, opts);
    auto opened = aof_->open();
    if (!opened && opened.error().code == Errc::not_found) {
      log(LogLevel::notice, "Creating AOF base file appendonly.aof.1.base.rdb on server start");
      opened = aof_->rewrite(snapshot_payload(true));
    }
    if (!opened) {
      aof_.reset();
      return make_error(Errc::io, "Can't open the append-only file: " + opened.error().message);
    }
  } else if (env_.storage.exists(config_.dbfilename)) {
    auto data = env_.storage.read(config_.dbfilename);
    if (!data) return make_error(Errc::io, fmt::format("Fatal error loading the DB: {}. Exiting.", data.error().message));
    std::vector<std::unique_ptr<Keyspace>> fresh;
    std::vector<Keyspace*> ptrs;
    for (std::size_t i = 0; i < dbs_.size(); ++i) {
      fresh.push_back(std::make_unique<Keyspace>());
      ptrs.push_back(fresh.back().get());
    }
    rdb::LoadOptions opts;
    opts.drop_expired_before_ms = primary ? now_ms() : -1;
    opts.verify_checksum = config_.rdbchecksum;
    auto loaded = rdb::decode_dataset(*data, ptrs, opts);
    if (!loaded) {
      return make_error(Errc::protocol, fmt::format("Short read or OOM loading DB {}: {}. Unrecoverable error, aborting now.",
                                                    config_.dbfilename, loaded.error().message));
    }
    dbs_ = std::move(fresh);
    log(LogLevel::notice, "DB loaded from disk: 0.000 seconds");
    logf(LogLevel::notice, "Done loading RDB, keys loaded: {}, keys expired: {}.", loaded->keys_loaded, loaded->keys_expired);
  }
  last_save_ms_ = now_ms();
  dirty_ = 0;
  return {};
}

// verifyClusterConfigWithData: a primary that has keys of a slot nobody owns takes the slot; keys of
// a slot someone else owns put the slot in importing state from that owner, so that they can be
// moved away (redis-cli --cluster fix). Replicas are skipped: their primary's data replaces theirs.
void Node::verify_cluster_config_with_data() {
  if (!config_.cluster_enabled || cluster_.myself->is_replica()) return;
  // Every key is counted in exactly one slot's index, so with no key at all no slot has keys and
  // the loop below would do nothing (a fresh node: skips 16 x 16384 index reads at start).
  if (std::all_of(dbs_.begin(), dbs_.end(), [](const auto& d) { return d->size() == 0; })) return;
  bool update = false;
  for (int s = 0; s < kSlotCount; ++s) {
    std::size_t keys = 0;
    for (const auto& d : dbs_) keys += d->count_in_slot(static_cast<Slot>(s));
    if (keys == 0) continue;
    ClusterNode* owner = cluster_.slots[static_cast<std::size_t>(s)];
    if (owner == cluster_.myself || cluster_.open_slots.importing(s) != nullptr) continue;
    update = true;
    if (owner == nullptr) {
      logf(LogLevel::warning, "I have keys for unassigned slot {}. Taking responsibility for it.", s);
      add_slot(cluster_.myself, s);
    } else {
      logf(LogLevel::warning, "I have keys for slot {}, but the slot is assigned to another node. Setting it to importing state.", s);
      cluster_.open_slots.set_importing(s, owner);
    }
  }
  if (update) save_nodes_conf_or_die(true);
}

// startAppendOnly (CONFIG SET appendonly yes): a new AOF generation from the current dataset.
Result<void> Node::aof_start() {
  aof::Options opts = aof_options(config_);
  if (auto r = env_.storage.make_dir(opts.dirname); !r) return r;
  auto writer = std::make_unique<aof::AofWriter>(env_.storage, opts);
  if (auto r = writer->rewrite(snapshot_payload(true)); !r) {
    logf(LogLevel::warning, "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation: {}", r.error().message);
    return r;
  }
  aof_ = std::move(writer);
  log(LogLevel::notice, "Background append only file rewriting started");
  log(LogLevel::notice, "Background AOF rewrite finished successfully");
  return {};
}

// stopAppendOnly: flush and fsync what we have, then stop feeding the file.
void Node::aof_stop() {
  if (aof_ == nullptr) return;
  (void)aof_->flush_and_fsync();
  aof_.reset();
}

bool Node::aof_flush_before_reply() {
  if (aof_ == nullptr || (aof_->buffered_bytes() == 0 && !(config_.appendfsync == AppendFsync::always && aof_->has_unsynced()))) {
    return true;
  }
  auto r = aof_->flush_and_fsync();
  if (r) return true;
  if (config_.appendfsync == AppendFsync::always) {
    // flushAppendOnlyFile: the client may not be told a write succeeded that is not on disk.
    logf(LogLevel::warning, "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting... ({})",
         r.error().message);
    crashed_ = true;
    env_.process.shutdown(1);
    return false;
  }
  logf(LogLevel::warning, "Error writing to the AOF file: {}", r.error().message);
  return true;  // writes are refused from now on (disk_error_denying_writes) until a write succeeds
}

// serverCron's persistence part: the everysec fsync, and a save when a `save` point is reached.
void Node::persistence_cron() {
  Millis now = now_ms();
  if (aof_ != nullptr) {
    if (auto r = aof_->cron(now); !r) logf(LogLevel::warning, "Error writing to the AOF file: {}", r.error().message);
  }
  for (const SavePoint& sp : config_.save) {
    // A failed save is retried after CONFIG_BGSAVE_RETRY_DELAY (5 s), not on every cron run.
    if (dirty_ >= sp.changes && now - last_save_ms_ > sp.seconds * 1000 &&
        (now - last_bgsave_try_ms_ > 5000 || last_bgsave_ok_)) {
      logf(LogLevel::notice, "{} changes in {} seconds. Saving...", sp.changes, sp.seconds);
      log(LogLevel::notice, "Background saving started");
      if (rdb_save("")) log(LogLevel::notice, "Background saving terminated with success");
      break;
    }
  }
}

void Node::persistence_config_changed(const NodeConfig& old) {
  if (config_.appendonly && !old.appendonly && aof_ == nullptr) {
    if (!aof_start()) config_.appendonly = false;
  } else if (!config_.appendonly && old.appendonly) {
    aof_stop();
  }
  if (aof_ != nullptr) aof_->set_fsync_policy(config_.appendfsync);
}

// prepareForShutdown: the AOF is flushed and fsynced; an RDB is saved when there are save points
// (or SAVE was given) unless NOSAVE; a failed save stops the shutdown unless FORCE.
bool Node::prepare_for_shutdown(bool save, bool nosave, bool force) {
  if (aof_ != nullptr) {
    log(LogLevel::notice, "Calling fsync() on the AOF file.");
    if (auto r = aof_->flush_and_fsync(); !r) logf(LogLevel::warning, "Error writing to the AOF file: {}", r.error().message);
  }
  if ((!config_.save.empty() && !nosave) || save) {
    log(LogLevel::notice, "Saving the final RDB snapshot before exiting.");
    if (auto r = rdb_save(""); !r) {
      if (!force) {
        log(LogLevel::warning, "Error trying to save the DB, can't exit.");
        return false;
      }
      log(LogLevel::warning, "Error trying to save the DB. Exit anyway.");
    }
  }
  return true;
}

std::string Node::disk_error_denying_writes() const {
  if (config_.stop_writes_on_bgsave_error && !config_.save.empty() && !last_bgsave_ok_) {
    return "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
           "Commands that may modify the data set are disabled, because this instance is configured to report "
           "errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the "
           "Redis logs for details about the RDB error.";
  }
  if (aof_ != nullptr && !aof_->last_write_ok()) return "MISCONF Errors writing to the AOF file: Input/output error";
  return {};
}

void Node::info_persistence(std::string& out) const {
  std::int64_t aof_size = aof_ != nullptr ? static_cast<std::int64_t>(aof_->incr_size()) : 0;
  fmt::format_to(std::back_inserter(out),
                 "loading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n"
                 "current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\n"
                 "current_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:0\r\n"
                 "rdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:0\r\n"
                 "rdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\nrdb_last_cow_size:0\r\n"
                 "rdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\naof_enabled:{}\r\n"
                 "aof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\n"
                 "aof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n"
                 "aof_rewrites_consecutive_failures:0\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\n"
                 "module_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
                 dirty_, last_save_ms_ / 1000, last_bgsave_ok_ ? "ok" : "err", aof_ != nullptr ? 1 : 0,
                 aof_ == nullptr || aof_->last_write_ok() ? "ok" : "err");
  if (aof_ != nullptr) {
    fmt::format_to(std::back_inserter(out), "aof_current_size:{}\r\naof_base_size:0\r\naof_pending_rewrite:0\r\n"
                   "aof_buffer_length:{}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
                   aof_size, aof_->buffered_bytes());
  }
}

// ---- commands ----

void Node::cmd_save(Client&, const Argv&, resp::Writer& w) {
  if (rdb_save("")) {
    w.simple("OK");
  } else {
    w.error("ERR");
  }
}

// BGSAVE [SCHEDULE]: synchronous here (see the top of this file), with Redis's reply.
void Node::cmd_bgsave(Client&, const Argv& argv, resp::Writer& w) {
  if (argv.size() > 2 || (argv.size() == 2 && !equals_nocase(argv[1], "schedule"))) {
    w.error("ERR syntax error");
    return;
  }
  log(LogLevel::notice, "Background saving started");
  if (rdb_save("")) log(LogLevel::notice, "Background saving terminated with success");
  w.simple("Background saving started");
}

void Node::cmd_lastsave(Client&, const Argv&, resp::Writer& w) { w.integer(last_save_ms_ / 1000); }

// BGREWRITEAOF: a new AOF generation from the current dataset (synchronous here). Without
// appendonly Redis still writes the files; we do the same, then stop feeding them.
void Node::cmd_bgrewriteaof(Client&, const Argv&, resp::Writer& w) {
  if (aof_ != nullptr) {
    if (auto r = aof_->rewrite(snapshot_payload(true)); !r) {
      w.error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.");
      return;
    }
  } else {
    aof::Options opts = aof_options(config_);
    aof::AofWriter writer(env_.storage, opts);
    if (auto r = env_.storage.make_dir(opts.dirname); !r || !writer.rewrite(snapshot_payload(true))) {
      w.error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.");
      return;
    }
  }
  log(LogLevel::notice, "Background append only file rewriting started");
  log(LogLevel::notice, "Background AOF rewrite finished successfully");
  w.simple("Background append only file rewriting started");
}

void register_persistence_commands(std::vector<CommandSpec>& table) {
  auto c = [](std::string name, int arity, std::uint32_t flags, CommandHandler h) {
    CommandSpec s;
    s.name = name;
    s.full_name = name;
    s.arity = arity;
    s.flags = flags;
    s.handler = h;
    return s;
  };
  table.push_back(c("save", 1, kCmdAdmin | kCmdNoMulti, &Node::cmd_save));
  table.push_back(c("bgsave", -1, kCmdAdmin, &Node::cmd_bgsave));
  table.push_back(c("lastsave", 1, kCmdLoading | kCmdStale | kCmdFast, &Node::cmd_lastsave));
  table.push_back(c("bgrewriteaof", 1, kCmdAdmin | kCmdNoMulti, &Node::cmd_bgrewriteaof));
}

}  // namespace slotlab
