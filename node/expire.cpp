// Active expiry (Redis expire.c activeExpireCycle, run from serverCron's databasesCron): on a
// primary, keys whose time passed are deleted even if nobody reads them, and each deletion goes to
// replicas and the AOF as DEL (not wrapped in MULTI: propagate_no_multi).
//
// Redis samples random keys with an expiry and stops on a time budget; the keyspace here keeps
// keys ordered by expiry time, so the cycle takes the most overdue keys first, up to a fixed
// number per tick (a bound on the work one tick does, where Redis bounds CPU time). Replicas
// never run it: they wait for their primary's DELs (expireSlaveKeys only concerns writable
// replicas' own keys, which slotlab does not track). Nothing expires while writes are paused for
// a manual failover, so the dataset the replica must catch up with stays still.
#include "node/commands.hpp"

namespace slotlab {

namespace {
// Keys deleted per tick at most, over all databases (a tick is 100 ms: up to 10,000 keys/s).
constexpr std::size_t kActiveExpireKeysPerTick = 1000;
}  // namespace

void Node::active_expire_cycle() {
  if (cluster_.myself->is_replica()) return;
  if (clients_paused_for_failover()) return;
  const Millis now = now_ms();
  std::size_t budget = kActiveExpireKeysPerTick;
  for (std::size_t i = 0; i < dbs_.size() && budget > 0; ++i) {
    Keyspace& ks = *dbs_[i];
    if (ks.expires_count() == 0) continue;
    // A key expires once now > its time (keyIsExpired), so take times up to now - 1.
    std::vector<std::string> keys = ks.expired_keys(now - 1, budget);
    budget -= keys.size();
    for (const std::string& key : keys) {
      ks.erase(key);
      propagate(static_cast<int>(i), Argv{"DEL", key});
    }
  }
}

}  // namespace slotlab
