// The simulated world's fault injection below the processes: lossy links (what TCP makes of them
// is described in sim/network.hpp), node clocks, disks and cluster-bus message filters.
#include <fmt/format.h>

#include "harness/sim_world.hpp"
#include "node/node.hpp"

namespace slotlab::harness {

namespace {
constexpr std::int64_t kMaxMs = 86'400'000;
}  // namespace

Result<void> SimWorld::change_link_faults(const std::vector<std::string>& from, const std::vector<std::string>& to,
                                          bool one_way, const std::string& links, const LinkFaultChange& change) {
  auto host_of = [this](const std::string& name) -> Result<sim::HostId> {
    if (name == kClientsSelector) return client_host_;
    if (hosts_.count(name) == 0) return make_error(Errc::invalid_argument, fmt::format("unknown node {}", name));
    return hosts_.at(name);
  };
  std::vector<sim::LinkClass> classes;
  if (links == "bus" || links == "all") classes.push_back(sim::LinkClass::bus);
  if (links == "data" || links == "all") classes.push_back(sim::LinkClass::data);
  if (classes.empty()) return make_error(Errc::invalid_argument, fmt::format("links: expected bus, data or all, got '{}'", links));
  std::vector<std::pair<sim::HostId, sim::HostId>> pairs;
  for (const auto& f : from) {
    for (const auto& t : to) {
      auto a = host_of(f);
      if (!a) return a.error();
      auto b = host_of(t);
      if (!b) return b.error();
      if (*a == *b) continue;
      pairs.emplace_back(*a, *b);
      if (!one_way) pairs.emplace_back(*b, *a);
    }
  }
  sim::Network& net = sim_.network();
  for (const auto& [a, b] : pairs) {
    for (sim::LinkClass cls : classes) {
      const sim::LinkFault* cur = net.link_fault(a, b, cls);
      sim::LinkFault f = cur != nullptr ? *cur : sim::LinkFault{};
      if (change.delay_ms) f.delay_us = std::min(*change.delay_ms, kMaxMs) * 1000;
      if (change.jitter_ms) f.jitter_us = std::min(*change.jitter_ms, kMaxMs) * 1000;
      if (change.drop_per_million) f.drop_per_million = *change.drop_per_million;
      if (change.duplicate_per_million) f.duplicate_per_million = *change.duplicate_per_million;
      if (change.reorder_per_million) f.reorder_per_million = *change.reorder_per_million;
      if (change.reorder_gap_ms) f.reorder_gap_us = std::min(*change.reorder_gap_ms, kMaxMs) * 1000;
      net.set_link_fault(a, b, cls, f);
    }
  }
  return {};
}

// Redis 7.0's cluster uses mstime() (the wall clock) for node timeouts, ping times, failure
// reports, election delays and manual-failover deadlines, so a skewed or jumping clock changes
// what the node decides. The simulator keeps scheduling by its own monotonic virtual time (ticks
// every 100 ms, delivery), exactly as a real kernel's timers and sockets do not care about the
// wall clock.
Result<void> SimWorld::clock_offset(const std::string& name, std::int64_t offset_ms, bool relative) {
  std::int64_t& cur = clock_offsets_ms_[name];
  std::int64_t next = relative ? cur + offset_ms : offset_ms;
  if (next < -kMaxMs * 365 || next > kMaxMs * 365)
    return make_error(Errc::invalid_argument, fmt::format("clock offset of {} would be {} ms: more than a year", name, next));
  if (auto r = sim_.set_clock_offset(host(name), next * 1000); !r) return r;
  cur = next;
  return {};
}

// The disk belongs to the host: the fault outlives crashes and restarts until cleared.
//  - fsync-lost: a lying disk (write cache without power-loss protection): fsync reports success
//    and keeps nothing, so what the node wrote since the fault began vanishes when it crashes
//    (DEBUG SEGFAULT or a host crash; a SIGKILL alone keeps the page cache).
//  - fsync-failed: fsync returns EIO.
//  - write-failed: write/append return EIO (a full or failed disk). The node reacts as
//    redis-server 7.0.15 does: a failed nodes.conf save exits the process
//    (clusterSaveConfigOrDie), AOF write errors refuse writes with MISCONF (or exit with
//    appendfsync always), a failed RDB save refuses writes with stop-writes-on-bgsave-error.
Result<void> SimWorld::disk_fault(const std::string& name, const std::string& fault) {
  sim::SimDisk* disk = sim_.disk(host(name));
  if (disk == nullptr) return make_error(Errc::invalid_argument, fmt::format("{} has no disk", name));
  if (fault == "none") {
    disk->set_lose_fsyncs(false);
    disk->set_fail_fsyncs(false);
    disk->set_fail_writes(false);
  } else if (fault == "fsync-lost") {
    disk->set_lose_fsyncs(true);
  } else if (fault == "fsync-failed") {
    disk->set_fail_fsyncs(true);
  } else if (fault == "write-failed") {
    disk->set_fail_writes(true);
  } else {
    return make_error(Errc::invalid_argument,
                      fmt::format("unknown disk fault '{}' (expected none, fsync-lost, fsync-failed or write-failed)", fault));
  }
  return {};
}

Result<void> SimWorld::drop_bus_messages(const std::string& name, std::uint32_t type_mask) {
  (void)host(name);
  if (type_mask == 0)
    dropped_bus_types_.erase(name);
  else
    dropped_bus_types_[name] = type_mask;
  reapply_bus_filter(name);
  return {};
}

void SimWorld::reapply_bus_filter(const std::string& name) {
  Node* n = node(name);
  if (n == nullptr) return;  // applied when it restarts
  auto it = dropped_bus_types_.find(name);
  n->set_dropped_bus_types(it == dropped_bus_types_.end() ? 0 : it->second);
}

Result<void> SimWorld::clear_faults(const std::vector<std::string>& kinds) {
  for (const auto& k : kinds) {
    if (k == "links") {
      sim_.network().clear_link_faults();
    } else if (k == "clocks") {
      for (auto& [name, off] : clock_offsets_ms_) {
        if (auto r = sim_.set_clock_offset(host(name), 0); !r) return r;
        off = 0;
      }
    } else if (k == "disks") {
      for (const auto& name : names_)
        if (sim::SimDisk* d = sim_.disk(host(name))) d->clear_faults();
    } else if (k == "bus-messages") {
      std::vector<std::string> names;
      for (const auto& [name, mask] : dropped_bus_types_) names.push_back(name);
      dropped_bus_types_.clear();
      for (const auto& name : names) reapply_bus_filter(name);
    } else {
      return make_error(Errc::invalid_argument,
                        fmt::format("unknown fault kind '{}' (expected links, clocks, disks or bus-messages)", k));
    }
  }
  return {};
}

}  // namespace slotlab::harness
