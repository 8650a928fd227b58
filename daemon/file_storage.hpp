// Real Storage: the node's files in its `dir`, with real fsync (DESIGN.md: "Storage is a small file
// API with an explicit fsync").
//
// Every path is resolved against a directory fd opened once (openat & co.), so a later chdir cannot
// move the node's files. Names are normally plain file names; a relative or absolute path (e.g. a
// cluster-config-file set to "conf/nodes-7000.conf") works too, as it does in Redis.
//
// It also owns the cluster-config-file lock (Redis's clusterLockConfig): an flock on the file that
// a second node started on the same file fails to take. Because the node replaces nodes.conf by
// writing a temporary file and renaming it over the old one, the lock would otherwise stay on the
// orphaned old inode; rename() therefore moves the lock: it locks the new inode before the rename
// and releases the old one after, so at every instant the name points to a locked file.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "node/env.hpp"
#include "node/result.hpp"

namespace slotlab::daemon {

class FileStorage final : public Storage {
 public:
  FileStorage() = default;
  ~FileStorage() override;
  FileStorage(const FileStorage&) = delete;
  FileStorage& operator=(const FileStorage&) = delete;

  // Opens the directory every name is relative to. Must succeed before anything else is used.
  Result<void> open(const std::string& dir);
  const std::string& dir() const { return dir_; }

  // Takes an exclusive, non-blocking flock on `name` (created if missing, never truncated). The
  // error's code is Errc::state when another process holds it, Errc::io for other failures.
  Result<void> lock(std::string_view name);
  void unlock_all();

  // Storage
  Result<std::string> read(std::string_view name) override;
  Result<void> write(std::string_view name, std::string_view data) override;
  Result<void> append(std::string_view name, std::string_view data) override;
  Result<void> fsync(std::string_view name) override;
  Result<void> rename(std::string_view from, std::string_view to) override;
  Result<void> rename_unsynced(std::string_view from, std::string_view to) override;
  Result<void> remove(std::string_view name) override;
  bool exists(std::string_view name) const override;
  Result<void> make_dir(std::string_view name) override;

 private:
  void drop_cached(const std::string& name);
  Result<void> fsync_parent_dir(const std::string& name);
  Result<void> do_rename(std::string_view from, std::string_view to, bool sync_dir);

  std::string dir_;
  int dir_fd_ = -1;
  std::unordered_map<std::string, int> append_fds_;  // kept open for appends (AOF)
  std::unordered_map<std::string, int> locks_;       // name -> fd holding the flock
};

}  // namespace slotlab::daemon
