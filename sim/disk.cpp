// SimDisk: durable vs current file content, crash semantics and injected disk faults (disk.hpp).
#include "sim/disk.hpp"

#include <utility>

namespace slotlab::sim {

namespace {
Error not_found(std::string_view op, std::string_view name) {
  return make_error(Errc::not_found, std::string(op) + " " + std::string(name) + ": no such file");
}
}  // namespace

Result<std::string> SimDisk::read(std::string_view name) {
  auto it = files_.find(name);
  if (it == files_.end()) return not_found("read", name);
  return it->second.current;
}

Result<void> SimDisk::check_writable(std::string_view op, std::string_view name) {
  if (!fail_writes_) return {};
  ++stats_.failed_writes;
  return make_error(Errc::io, std::string(op) + " " + std::string(name) + ": I/O error (injected)");
}

void SimDisk::recycle(std::string&& buf) {
  // Keep the two largest, up to 1 MB each (nodes.conf of 2,000 nodes is ~300 KB; a big RDB or AOF
  // buffer is not worth holding on to).
  constexpr std::size_t kMaxSpare = std::size_t{1} << 20;
  std::string* smaller = spare_[0].capacity() <= spare_[1].capacity() ? &spare_[0] : &spare_[1];
  if (buf.capacity() > smaller->capacity() && buf.capacity() <= kMaxSpare) {
    *smaller = std::move(buf);
    smaller->clear();
  }
}

void SimDisk::take_spare(std::string& into) {
  std::string* larger = spare_[0].capacity() >= spare_[1].capacity() ? &spare_[0] : &spare_[1];
  if (larger->capacity() > into.capacity()) {
    std::string got = std::move(*larger);
    *larger = std::string();
    recycle(std::move(into));
    into = std::move(got);
  }
}

Result<void> SimDisk::write(std::string_view name, std::string_view data) {
  if (auto ok = check_writable("write", name); !ok) return ok;
  auto it = files_.find(name);
  if (it == files_.end()) it = files_.emplace(std::string(name), File{}).first;
  File& f = it->second;
  if (f.current.capacity() < data.size()) take_spare(f.current);
  f.current.assign(data);
  f.dirty = true;
  f.appends_only = false;
  ++stats_.writes;
  stats_.bytes_written += data.size();
  return {};
}

Result<void> SimDisk::append(std::string_view name, std::string_view data) {
  if (auto ok = check_writable("append", name); !ok) return ok;
  auto it = files_.find(name);
  if (it == files_.end()) it = files_.emplace(std::string(name), File{}).first;
  File& f = it->second;
  f.current.append(data);
  f.dirty = true;
  ++stats_.appends;
  stats_.bytes_written += data.size();
  return {};
}

bool SimDisk::take_fsync_failure(std::string_view name) {
  if (fail_fsyncs_) return true;
  if (fail_next_any_fsync_) {
    fail_next_any_fsync_ = false;
    return true;
  }
  auto it = fail_next_fsync_names_.find(name);
  if (it != fail_next_fsync_names_.end()) {
    fail_next_fsync_names_.erase(it);
    return true;
  }
  return false;
}

Result<void> SimDisk::fsync(std::string_view name) {
  auto it = files_.find(name);
  if (it == files_.end()) return not_found("fsync", name);
  if (take_fsync_failure(name)) {
    ++stats_.failed_fsyncs;
    return make_error(Errc::io, "fsync " + std::string(name) + ": I/O error (injected)");
  }
  ++stats_.fsyncs;
  if (lose_fsyncs_) return {};  // the lying disk: success reported, nothing made durable
  File& f = it->second;
  if (f.durable.capacity() < f.current.size()) take_spare(f.durable);
  f.durable = f.current;
  f.entry_durable = true;
  f.dirty = false;
  f.appends_only = true;
  return {};
}

Result<void> SimDisk::rename(std::string_view from, std::string_view to) {
  auto it = files_.find(from);
  if (it == files_.end()) return not_found("rename", from);
  if (from == to) return {};
  File moved = std::move(it->second);
  files_.erase(it);
  moved.entry_durable = true;  // the rename itself is durable (see disk.hpp)
  auto dst = files_.find(to);
  if (dst == files_.end()) {
    files_.emplace(std::string(to), std::move(moved));
  } else {
    recycle(std::move(dst->second.current));
    recycle(std::move(dst->second.durable));
    dst->second = std::move(moved);
  }
  return {};
}

Result<void> SimDisk::rename_unsynced(std::string_view from, std::string_view to) {
  auto it = files_.find(from);
  if (it == files_.end()) return not_found("rename", from);
  if (from == to) return {};
  File moved = std::move(it->second);
  files_.erase(it);
  auto dst = files_.find(to);
  if (dst == files_.end()) {
    moved.entry_durable = false;  // nothing durable under `to`: a crash removes it
    moved.dirty = true;
    files_.emplace(std::string(to), std::move(moved));
    return {};
  }
  File& old = dst->second;
  File next;
  next.current = std::move(moved.current);
  next.entry_durable = old.entry_durable;
  next.durable = old.entry_durable ? std::move(old.durable) : std::string();
  next.dirty = true;
  next.appends_only = false;  // never torn: the whole old file or nothing comes back
  recycle(std::move(old.current));
  if (!next.entry_durable) recycle(std::move(old.durable));
  recycle(std::move(moved.durable));
  old = std::move(next);
  return {};
}

Result<void> SimDisk::remove(std::string_view name) {
  auto it = files_.find(name);
  if (it == files_.end()) return not_found("remove", name);
  files_.erase(it);
  return {};
}

bool SimDisk::exists(std::string_view name) const { return files_.find(name) != files_.end(); }

void SimDisk::fail_next_fsync() { fail_next_any_fsync_ = true; }

void SimDisk::fail_next_fsync(std::string_view name) { fail_next_fsync_names_.emplace(name); }

void SimDisk::clear_faults() {
  fail_next_any_fsync_ = false;
  fail_next_fsync_names_.clear();
  fail_fsyncs_ = false;
  lose_fsyncs_ = false;
  fail_writes_ = false;
}

void SimDisk::crash() {
  ++stats_.crashes;
  // std::map order: the torn-write draws happen in name order, so the outcome is a function of
  // the disk's seed and history only.
  for (auto it = files_.begin(); it != files_.end();) {
    File& f = it->second;
    if (!f.entry_durable) {
      stats_.lost_bytes += f.current.size();
      it = files_.erase(it);
      continue;
    }
    if (f.dirty) {
      std::size_t kept = f.durable.size();
      if (torn_writes_ && f.appends_only && f.current.size() > f.durable.size()) {
        const std::size_t extra = f.current.size() - f.durable.size();
        const auto keep = static_cast<std::size_t>(rng_.below(extra + 1));
        f.durable.append(f.current, f.durable.size(), keep);
        kept = f.durable.size();
        if (keep > 0 && keep < extra) ++stats_.torn_files;
      }
      if (f.current.size() > kept) stats_.lost_bytes += f.current.size() - kept;
      f.current = f.durable;
      f.dirty = false;
      f.appends_only = true;
    }
    ++it;
  }
}

std::optional<std::string> SimDisk::current_content(std::string_view name) const {
  auto it = files_.find(name);
  if (it == files_.end()) return std::nullopt;
  return it->second.current;
}

std::optional<std::string> SimDisk::durable_content(std::string_view name) const {
  auto it = files_.find(name);
  if (it == files_.end() || !it->second.entry_durable) return std::nullopt;
  return it->second.durable;
}

bool SimDisk::has_unsynced(std::string_view name) const {
  auto it = files_.find(name);
  return it != files_.end() && (it->second.dirty || !it->second.entry_durable);
}

std::vector<std::string> SimDisk::files() const {
  std::vector<std::string> out;
  out.reserve(files_.size());
  for (const auto& [name, f] : files_) out.push_back(name);
  return out;
}

}  // namespace slotlab::sim
