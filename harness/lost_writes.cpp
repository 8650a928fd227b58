// Implementation of the lost-write checker (see lost_writes.hpp).
#include "harness/lost_writes.hpp"

namespace slotlab::harness {

LostWriteReport check_lost_writes(Driver& driver, const std::vector<Endpoint>& seeds, const std::vector<OpRecord>& history,
                                  const std::vector<FaultRecord>& faults, Millis timeout_ms) {
  LostWriteReport report;
  ClusterClientOptions opts;
  opts.max_attempts = 30;
  opts.retry_delay_ms = 200;
  ClusterClient client(driver, seeds, opts);

  struct Read {
    const OpRecord* op = nullptr;
    bool done = false;
    bool ok = false;
    bool present = false;
    std::string value;
  };
  std::vector<Read> reads;
  for (const auto& op : history) {
    switch (op.outcome) {
      case CommandOutcome::Kind::ok: ++report.acknowledged; break;
      case CommandOutcome::Kind::failed: ++report.failed; continue;
      case CommandOutcome::Kind::unknown: ++report.unknown; break;
    }
    Read r;
    r.op = &op;
    reads.push_back(std::move(r));
  }
  std::size_t pending = reads.size();
  for (auto& r : reads) {
    client.execute({"GET", r.op->key}, [&r, &pending](const CommandOutcome& out) {
      r.done = true;
      --pending;
      if (out.kind != CommandOutcome::Kind::ok) return;
      r.ok = true;
      r.present = out.reply.type == resp::Type::bulk;
      if (r.present) r.value = out.reply.str;
    });
  }
  driver.run_until([&] { return pending == 0; }, driver.now_ms() + timeout_ms);

  for (const auto& r : reads) {
    const OpRecord& op = *r.op;
    if (!r.ok) {
      ++report.unreadable;
      continue;
    }
    bool intact = r.present && r.value == op.value;
    if (op.outcome == CommandOutcome::Kind::unknown) {
      if (intact) ++report.unknown_present;
      continue;
    }
    if (intact) {
      ++report.present;
      continue;
    }
    LostWrite lw;
    lw.key = op.key;
    lw.value = op.value;
    lw.found = r.present ? r.value : "";
    lw.acked_ms = op.end_ms;
    lw.acked_by = op.served_by;
    lw.cause = "unexplained";
    for (const auto& f : faults) {
      if ((f.kind == "pause" || f.kind == "partition") && f.endpoint == op.served_by && f.failed_over &&
          op.end_ms <= f.until_ms) {
        lw.cause = "stale-primary";
        lw.permitted = true;
        break;
      }
      if ((f.kind == "crash" || f.kind == "kill") && f.endpoint == op.served_by && f.at_ms >= op.end_ms) {
        lw.cause = f.failed_over ? "async-replication" : "unpersisted-on-restart";
        lw.permitted = true;
        break;
      }
    }
    ++report.lost;
    if (lw.permitted) {
      ++report.lost_permitted;
    } else {
      ++report.lost_unexplained;
    }
    ++report.by_cause[lw.cause];
    report.losses.push_back(std::move(lw));
  }
  return report;
}

}  // namespace slotlab::harness
