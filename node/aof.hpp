// The append-only file, in Redis 7.0's multi-part layout (aof.c):
//
//   <appenddirname>/<appendfilename>.manifest        which files make up the AOF, in order
//   <appenddirname>/<appendfilename>.<n>.base.rdb    BASE: a snapshot (RDB with aof-base=1), or
//   <appenddirname>/<appendfilename>.<n>.base.aof      commands when aof-use-rdb-preamble is off
//   <appenddirname>/<appendfilename>.<m>.incr.aof    INCR: every write since that snapshot (RESP)
//
// e.g. "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n".
// Storage names are "<dir>/<file>"; the directory is created with Storage::make_dir. The same
// files are read by redis-server 7.0 and redis-check-aof (on the manifest).
//
// This file owns:
//  - AofWriter: feedAppendOnlyFile + flushAppendOnlyFile. Commands are buffered as RESP (with a
//    SELECT whenever the database changes) and written by flush_and_fsync(), which the node calls
//    before it sends the replies of the commands it fed (Redis's beforeSleep), so nothing is
//    acknowledged before it reached the file. appendfsync always: that call also fsyncs, and an
//    fsync error is returned (Redis exits: the reply may not be sent). everysec: cron(now_ms)
//    fsyncs when there is unsynced data and a second has passed since the last fsync. no: never.
//    rewrite() is BGREWRITEAOF done synchronously: a new BASE from the caller's snapshot, a new
//    empty INCR, the manifest switched atomically (write temp, fsync, rename), old files removed.
//  - AofLoader: loadAppendOnlyFiles. Reads the manifest, the BASE and every INCR file, and returns
//    the BASE snapshot (when it is an RDB) and the commands to replay, each with its database
//    (SELECTs are consumed, not returned; every file starts in db 0, as Redis's fresh fake client
//    does). A last file that ends in the middle of a command, or inside a MULTI without EXEC, is
//    cut back to its last complete command with aof-load-truncated yes (and reported); anything
//    else malformed is an error naming the file and byte offset. A pre-7.0 single "appendonly.aof"
//    (optionally with an RDB preamble) is read when there is no manifest.
// Deliberate difference: a file truncated inside a MULTI is cut before the MULTI (Redis cuts after
// the last queued command, leaving an unterminated MULTI in the file for the next append).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/config.hpp"
#include "node/env.hpp"
#include "node/keyspace.hpp"
#include "node/result.hpp"
#include "node/types.hpp"

namespace slotlab::aof {

struct Options {
  std::string dirname = "appendonlydir";    // appenddirname
  std::string filename = "appendonly.aof";  // appendfilename
  AppendFsync fsync = AppendFsync::everysec;
  bool use_rdb_preamble = true;  // aof-use-rdb-preamble: the BASE is an RDB (.base.rdb) or commands (.base.aof)
  bool load_truncated = true;    // aof-load-truncated
};

// One manifest line: "file <name> seq <n> type <b|h|i>".
struct ManifestEntry {
  std::string file;  // a plain name inside the AOF directory
  std::int64_t seq = 0;
  char type = 'i';   // 'b' base, 'h' history, 'i' incr
};

struct Manifest {
  std::optional<ManifestEntry> base;
  std::vector<ManifestEntry> history;
  std::vector<ManifestEntry> incr;  // strictly increasing seq
  std::int64_t base_seq() const { return base ? base->seq : 0; }
  std::int64_t incr_seq() const { return incr.empty() ? 0 : incr.back().seq; }
  // getAofManifestAsString: base, history, incr; names that need it are quoted as sdscatrepr does.
  std::string format() const;
  // aofLoadManifestFromFile's rules: '#' comments, key/value pairs (extra pairs ignored), file
  // names without '/', one base at most, increasing incr sequence numbers, not empty.
  static Result<Manifest> parse(std::string_view text);
};

// catAppendOnlyGenericCommand: "*<argc>\r\n" then "$<len>\r\n<arg>\r\n" per argument.
void append_command(std::string& out, const std::vector<std::string>& argv);

// rewriteAppendOnlyFileRio without a preamble: SELECT per non-empty db, then SET / RPUSH / HMSET
// (at most 64 elements per command, AOF_REWRITE_ITEMS_PER_CMD) and PEXPIREAT for keys with a TTL.
std::string rewrite_commands(const std::vector<const Keyspace*>& dbs);

class AofWriter {
 public:
  AofWriter(Storage& storage, Options opts);

  // Continues the AOF on disk after it was loaded (aofOpenIfNeededOnServerStart): appends go to
  // the manifest's last INCR file (a new one is created and the manifest updated if it lists none;
  // history files are removed). Errc::not_found if there is no manifest: call rewrite() instead.
  Result<void> open();
  // Starts a new AOF generation from `base`, the complete dataset: rdb::encode_dataset with
  // aof-base=1, or rewrite_commands() when use_rdb_preamble is off. Works with or without an
  // existing AOF (first start with appendonly yes, CONFIG SET appendonly yes, BGREWRITEAOF).
  // Buffered commands are dropped: their effects are in `base`.
  Result<void> rewrite(std::string_view base);

  bool is_open() const { return !incr_name_.empty(); }

  // feedAppendOnlyFile: buffers the command, preceded by SELECT when `db` differs from the last.
  void feed(int db, const std::vector<std::string>& argv);
  // flushAppendOnlyFile: writes the buffer to the INCR file; with appendfsync always, fsyncs it.
  // On a write error the buffer is kept for the next call and last_write_ok() turns false.
  Result<void> flush_and_fsync();
  // Called from the node's cron (every 100 ms): flushes, and with everysec fsyncs unsynced data
  // when at least 1000 ms passed since the last fsync.
  Result<void> cron(Millis now_ms);

  void set_fsync_policy(AppendFsync policy) { opts_.fsync = policy; }
  const Options& options() const { return opts_; }
  const Manifest& manifest() const { return manifest_; }
  std::string manifest_path() const;
  const std::string& incr_path() const { return incr_name_; }  // "<dir>/<incr file>", empty before open
  std::size_t buffered_bytes() const { return buf_.size(); }
  bool has_unsynced() const { return unsynced_; }
  bool last_write_ok() const { return last_write_ok_; }
  std::uint64_t fsyncs() const { return fsyncs_; }
  std::uint64_t incr_size() const { return incr_size_; }  // bytes written to the current INCR file

 private:
  std::string path(std::string_view file) const;
  Result<void> write_manifest(const Manifest& m);
  Result<void> fsync_now();

  Storage& storage_;
  Options opts_;
  Manifest manifest_;
  std::string incr_name_;
  std::string buf_;
  int selected_db_ = -1;
  bool unsynced_ = false;
  bool last_write_ok_ = true;
  std::optional<Millis> last_fsync_ms_;
  std::uint64_t fsyncs_ = 0;
  std::uint64_t incr_size_ = 0;
};

struct Command {
  int db = 0;
  std::vector<std::string> argv;
};

// One RESP command stream (a file after its optional RDB preamble).
struct ParsedCommands {
  std::vector<Command> commands;
  bool truncated = false;         // the data ended inside a command or an open MULTI
  std::uint64_t valid_up_to = 0;  // offset just past the last complete command kept
};
// Parses `data` from `offset`. `name` is used in error messages. Pure: used by AofLoader and tests.
Result<ParsedCommands> parse_commands(std::string_view data, std::size_t offset, std::string_view name);

struct Loaded {
  std::string base_rdb;           // the BASE snapshot (RDB), or a legacy AOF's RDB preamble; empty if none
  std::vector<Command> commands;  // BASE commands (if RESP), then every INCR file's, in order
  std::vector<std::string> files; // storage names read, in order
  bool legacy = false;            // read from a single pre-7.0 "<appendfilename>" in the node's dir
  bool truncated = false;         // the last file's torn tail was dropped (and cut from the file)
  std::string truncated_file;
  std::uint64_t truncated_at = 0;     // the file's new size
  std::uint64_t truncated_bytes = 0;  // how many bytes were cut
};

class AofLoader {
 public:
  AofLoader(Storage& storage, Options opts);
  // Errc::not_found when there is no AOF (no manifest, no legacy file, or a manifest listing
  // nothing); Errc::protocol for malformed files; Errc::io / not_found for a listed file that
  // cannot be read. A truncated tail with load_truncated on is cut with Storage::write + fsync so
  // that later appends follow a complete command.
  Result<Loaded> load();

 private:
  Storage& storage_;
  Options opts_;
};

}  // namespace slotlab::aof
