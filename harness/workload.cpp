// Implementation of the workloads (see workload.hpp).
#include "harness/workload.hpp"

#include <fmt/format.h>

namespace slotlab::harness {

Workload::Workload(Driver& driver, std::vector<Endpoint> seeds, WorkloadOptions options)
    : driver_(driver),
      options_(std::move(options)),
      client_(std::make_unique<ClusterClient>(driver, std::move(seeds), options_.client)) {
  seq_.assign(static_cast<std::size_t>(std::max(1, options_.clients)), 0);
}

Workload::~Workload() { *alive_ = false; }

void Workload::start() {
  if (running_) return;
  running_ = true;
  for (int c = 0; c < options_.clients; ++c) next_op(c);
  schedule_watchdog();
}

// Expires operations that wait too long even when no other reply arrives to trigger it (a node
// that stopped answering without closing its connections).
void Workload::schedule_watchdog() {
  driver_.schedule(driver_.now_ms() + 250, [this, alive = alive_] {
    if (!*alive) return;
    client_->tick();
    if (running_ || running_ops_ > 0) schedule_watchdog();
  });
}

void Workload::stop() { running_ = false; }

std::size_t Workload::count(CommandOutcome::Kind kind) const {
  std::size_t n = 0;
  for (const auto& op : history_)
    if (op.outcome == kind) ++n;
  return n;
}

void Workload::next_op(int client) {
  if (!running_) return;
  if (options_.max_ops != 0 && history_.size() >= options_.max_ops) {
    running_ = false;
    return;
  }
  std::uint64_t n = ++seq_[static_cast<std::size_t>(client)];
  std::string key = fmt::format("{}:{}:{}", options_.key_prefix, client, n);
  std::string value = fmt::format("{:0>{}}", n, options_.value_bytes);
  std::size_t index = history_.size();
  OpRecord rec;
  rec.id = next_id_++;
  rec.client = client;
  rec.key = key;
  rec.value = value;
  rec.start_ms = driver_.now_ms();
  history_.push_back(std::move(rec));
  ++running_ops_;
  client_->execute({"SET", key, value}, [this, client, index, alive = alive_](const CommandOutcome& out) {
    if (!*alive) return;
    OpRecord& r = history_[index];
    r.end_ms = driver_.now_ms();
    r.outcome = out.kind;
    r.error = out.error;
    r.served_by = out.served_by;
    r.redirects = out.redirects;
    --running_ops_;
    if (!running_) return;
    driver_.schedule(driver_.now_ms() + options_.think_ms, [this, client, alive] {
      if (!*alive) return;
      client_->tick();
      next_op(client);
    });
  });
}

}  // namespace slotlab::harness
