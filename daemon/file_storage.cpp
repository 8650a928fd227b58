// Real files for the node (see file_storage.hpp). Errors carry the failing call and strerror's text,
// e.g. "open nodes.conf.tmp: Permission denied".
#include "daemon/file_storage.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace slotlab::daemon {

namespace {

Error sys_error(std::string_view what, std::string_view name, int err) {
  return make_error(err == ENOENT ? Errc::not_found : Errc::io,
                    fmt::format("{} {}: {}", what, name, std::strerror(err)));
}

Result<void> write_all(int fd, std::string_view data, std::string_view name) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write", name, errno);
    }
    off += static_cast<std::size_t>(n);
  }
  return {};
}

std::string parent_of(const std::string& name) {
  auto slash = name.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return name.substr(0, slash);
}

}  // namespace

FileStorage::~FileStorage() {
  for (auto& [name, fd] : append_fds_) ::close(fd);
  unlock_all();
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

Result<void> FileStorage::open(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open", dir, errno);
  if (dir_fd_ >= 0) ::close(dir_fd_);
  dir_fd_ = fd;
  dir_ = dir;
  return {};
}

Result<void> FileStorage::lock(std::string_view name_view) {
  std::string name(name_view);
  if (locks_.count(name) != 0) return {};
  int fd = ::openat(dir_fd_, name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return sys_error("open", name, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return make_error(Errc::state, fmt::format("{} is locked by another process", name));
    return sys_error("flock", name, err);
  }
  locks_.emplace(name, fd);
  return {};
}

void FileStorage::unlock_all() {
  for (auto& [name, fd] : locks_) {
    (void)::flock(fd, LOCK_UN | LOCK_NB);
    ::close(fd);
  }
  locks_.clear();
}

void FileStorage::drop_cached(const std::string& name) {
  auto it = append_fds_.find(name);
  if (it == append_fds_.end()) return;
  ::close(it->second);
  append_fds_.erase(it);
}

Result<std::string> FileStorage::read(std::string_view name_view) {
  std::string name(name_view);
  int fd = ::openat(dir_fd_, name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_error("open", name, errno);
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return sys_error("read", name, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<void> FileStorage::write(std::string_view name_view, std::string_view data) {
  std::string name(name_view);
  drop_cached(name);
  int fd = ::openat(dir_fd_, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return sys_error("open", name, errno);
  auto r = write_all(fd, data, name);
  ::close(fd);
  return r;
}

Result<void> FileStorage::append(std::string_view name_view, std::string_view data) {
  std::string name(name_view);
  auto it = append_fds_.find(name);
  if (it == append_fds_.end()) {
    int fd = ::openat(dir_fd_, name.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return sys_error("open", name, errno);
    it = append_fds_.emplace(name, fd).first;
  }
  return write_all(it->second, data, name);
}

Result<void> FileStorage::fsync(std::string_view name_view) {
  std::string name(name_view);
  if (auto it = append_fds_.find(name); it != append_fds_.end()) {
    if (::fsync(it->second) != 0) return sys_error("fsync", name, errno);
    return {};
  }
  // fsync through a read-only descriptor flushes the file's data on Linux.
  int fd = ::openat(dir_fd_, name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_error("open", name, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return sys_error("fsync", name, err);
  return {};
}

Result<void> FileStorage::fsync_parent_dir(const std::string& name) {
  std::string parent = parent_of(name);
  int fd = ::openat(dir_fd_, parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open", parent, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return sys_error("fsync", parent, err);
  return {};
}

Result<void> FileStorage::rename(std::string_view from, std::string_view to) { return do_rename(from, to, true); }

Result<void> FileStorage::rename_unsynced(std::string_view from, std::string_view to) {
  return do_rename(from, to, false);
}

Result<void> FileStorage::do_rename(std::string_view from_view, std::string_view to_view, bool sync_dir) {
  std::string from(from_view);
  std::string to(to_view);
  drop_cached(from);
  drop_cached(to);
  // Move a lock held on `to` onto the file that is about to take its name (see the header).
  int new_lock_fd = -1;
  auto lock_it = locks_.find(to);
  if (lock_it != locks_.end()) {
    new_lock_fd = ::openat(dir_fd_, from.c_str(), O_RDONLY | O_CLOEXEC);
    if (new_lock_fd >= 0 && ::flock(new_lock_fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(new_lock_fd);
      new_lock_fd = -1;
    }
  }
  if (::renameat(dir_fd_, from.c_str(), dir_fd_, to.c_str()) != 0) {
    int err = errno;
    if (new_lock_fd >= 0) ::close(new_lock_fd);
    return make_error(err == ENOENT ? Errc::not_found : Errc::io,
                      fmt::format("rename {} to {}: {}", from, to, std::strerror(err)));
  }
  if (lock_it != locks_.end() && new_lock_fd >= 0) {
    ::close(lock_it->second);  // releases the lock on the old, now unlinked, inode
    lock_it->second = new_lock_fd;
  }
  if (!sync_dir) return {};
  return fsync_parent_dir(to);
}

Result<void> FileStorage::remove(std::string_view name_view) {
  std::string name(name_view);
  drop_cached(name);
  if (::unlinkat(dir_fd_, name.c_str(), 0) != 0) return sys_error("unlink", name, errno);
  return {};
}

bool FileStorage::exists(std::string_view name_view) const {
  std::string name(name_view);
  struct stat st {};
  return ::fstatat(dir_fd_, name.c_str(), &st, 0) == 0;
}

Result<void> FileStorage::make_dir(std::string_view name_view) {
  std::string name(name_view);
  if (::mkdirat(dir_fd_, name.c_str(), 0755) != 0) {
    int err = errno;
    struct stat st {};
    if (err == EEXIST && ::fstatat(dir_fd_, name.c_str(), &st, 0) == 0 && S_ISDIR(st.st_mode)) return {};
    return sys_error("mkdir", name, err);
  }
  return fsync_parent_dir(name);  // the new directory's entry is durable once we return
}

}  // namespace slotlab::daemon
