// SimDisk: one simulated host's directory, implementing the node's Storage interface, with the
// durability rules a crash tests and the faults a nemesis injects.
//
// Each file has its current content (what read() returns) and its durable content (what survives
// a power loss). write/append change the current content; fsync(name) makes it durable. On crash()
// every file falls back to its durable content; with torn writes on, a file that only grew since
// its last fsync keeps a seeded random prefix of the unsynced tail (a write cut in half).
//
// Simplifications, stated so tests and reports can rely on them:
//  - fsync(name) also makes the file's directory entry durable (no separate directory fsync).
//  - rename() and remove() are atomic and durable when they return (we model the directory fsync a
//    careful writer does after them). rename() moves the file's content as it is: if the source was
//    never fsynced, the target survives a crash but empty (the classic rename-without-fsync loss).
//  - A file whose name was never made durable (never fsynced, never the target of a rename)
//    disappears on crash.
//  - A failed fsync makes nothing durable and leaves the data dirty; a later fsync may succeed.
//    (Linux may instead drop the dirty pages — "fsyncgate" — which a lying disk approximates.)
//  - The disk belongs to the host, not the process: it survives crashes and restarts, and so do
//    its fault switches until the harness clears them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "node/env.hpp"
#include "sim/rng.hpp"

namespace slotlab::sim {

struct DiskStats {
  std::uint64_t writes = 0;
  std::uint64_t appends = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t fsyncs = 0;           // successful (or lied about)
  std::uint64_t failed_fsyncs = 0;
  std::uint64_t failed_writes = 0;
  std::uint64_t crashes = 0;
  std::uint64_t torn_files = 0;       // files that kept part of an unsynced tail at a crash
  std::uint64_t lost_bytes = 0;       // unsynced bytes dropped by crashes
};

class SimDisk final : public Storage {
 public:
  explicit SimDisk(Rng rng) : rng_(rng) {}

  // --- Storage ---
  Result<std::string> read(std::string_view name) override;
  Result<void> write(std::string_view name, std::string_view data) override;
  Result<void> append(std::string_view name, std::string_view data) override;
  Result<void> fsync(std::string_view name) override;
  Result<void> rename(std::string_view from, std::string_view to) override;
  // Not durable: the content moves as it is, but a crash brings back `to`'s previous durable
  // content (or removes `to` if its name was never durable), as an unsynced rename may after a
  // power loss.
  Result<void> rename_unsynced(std::string_view from, std::string_view to) override;
  Result<void> remove(std::string_view name) override;
  bool exists(std::string_view name) const override;

  // --- faults ---
  void fail_next_fsync();                       // the next fsync, of any file, returns Errc::io
  void fail_next_fsync(std::string_view name);  // the next fsync of `name` returns Errc::io
  void set_fail_fsyncs(bool on) { fail_fsyncs_ = on; }  // every fsync fails while on
  void set_lose_fsyncs(bool on) { lose_fsyncs_ = on; }  // a lying disk: fsync says ok, keeps nothing
  void set_fail_writes(bool on) { fail_writes_ = on; }  // write/append return Errc::io
  void set_torn_writes(bool on) { torn_writes_ = on; }
  bool torn_writes() const { return torn_writes_; }
  void clear_faults();

  // Power loss: every file falls back to what was durable (plus a torn prefix, see above).
  void crash();

  // --- inspection (tests, reports) ---
  std::optional<std::string> current_content(std::string_view name) const;
  // What is guaranteed to survive a crash right now; nullopt if the file would not exist.
  std::optional<std::string> durable_content(std::string_view name) const;
  bool has_unsynced(std::string_view name) const;
  std::vector<std::string> files() const;  // sorted
  const DiskStats& stats() const { return stats_; }

 private:
  struct File {
    std::string current;
    std::string durable;
    bool entry_durable = false;  // the name survives a crash
    bool dirty = false;          // current differs from durable (or may)
    bool appends_only = true;    // since the last fsync only appends: current starts with durable
  };

  Result<void> check_writable(std::string_view op, std::string_view name);
  bool take_fsync_failure(std::string_view name);
  // Buffers of replaced file contents, kept for the next new content instead of being freed: a
  // node writes nodes.conf.tmp and renames it over nodes.conf on every save (in a 1,000-node join,
  // ~1,000 saves of ~150 KB per node), and a fresh large allocation per save is costly (glibc
  // consolidates its small free chunks on every large request). Contents are unaffected.
  void recycle(std::string&& buf);
  void take_spare(std::string& into);

  std::map<std::string, File, std::less<>> files_;
  Rng rng_;
  bool fail_next_any_fsync_ = false;
  std::set<std::string, std::less<>> fail_next_fsync_names_;
  bool fail_fsyncs_ = false;
  bool lose_fsyncs_ = false;
  bool fail_writes_ = false;
  bool torn_writes_ = false;
  std::array<std::string, 2> spare_;  // see recycle()
  DiskStats stats_;
};

}  // namespace slotlab::sim
