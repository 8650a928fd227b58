// The simulated world: every node of the topology is a slotlab Node on its own virtual host
// (10.0.<i/200>.<i%200+1>:6379, bus 16379), and the harness is one more host (10.255.0.1) whose actor is the
// ClientMux its RESP connections live in. Time is the simulator's virtual time.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness/world.hpp"
#include "node/node.hpp"
#include "sim/simulator.hpp"

namespace slotlab::harness {

struct SimWorldOptions {
  sim::SimConfig sim;
  Millis invariant_check_period_ms = 1000;  // Node::check_invariants on every running node
};

class SimWorld final : public World {
 public:
  SimWorld(std::uint64_t seed, SimWorldOptions options = {});
  ~SimWorld() override;

  // Driver
  Millis now_ms() const override { return sim_.now_us() / 1000; }
  bool run_until(const std::function<bool()>& pred, Millis deadline_ms) override;
  ClientMux& mux() override;
  void schedule(Millis at_ms, std::function<void()> fn) override { sim_.schedule(at_ms * 1000, std::move(fn)); }

  // World
  std::string kind() const override { return "sim"; }
  Result<void> start(const Topology& topology) override;
  const std::vector<std::string>& node_names() const override { return names_; }
  Endpoint endpoint(const std::string& name) const override;
  bool running(const std::string& name) const override;
  Result<void> kill(const std::string& name) override;
  Result<void> restart(const std::string& name) override;
  Result<void> pause(const std::string& name) override;
  Result<void> resume(const std::string& name) override;
  Result<void> partition(const std::vector<std::vector<std::string>>& groups, bool one_way) override;
  Result<void> heal() override;
  bool supports(const std::string&) const override { return true; }
  // Fault injection below the processes (harness/sim_faults.cpp).
  Result<void> change_link_faults(const std::vector<std::string>& from, const std::vector<std::string>& to, bool one_way,
                                  const std::string& links, const LinkFaultChange& change) override;
  Result<void> clock_offset(const std::string& name, std::int64_t offset_ms, bool relative) override;
  Result<void> disk_fault(const std::string& name, const std::string& fault) override;
  Result<void> drop_bus_messages(const std::string& name, std::uint32_t type_mask) override;
  Result<void> clear_faults(const std::vector<std::string>& kinds) override;
  bool wait_for_exit(const std::string& name, Millis timeout_ms) override;
  std::uint64_t random() override { return rng_.next_u64(); }
  Millis start_time_ms() const override { return 0; }
  std::vector<TimelineEvent> timeline() const override;
  std::optional<std::uint64_t> trace_hash() const override { return sim_.trace_hash(); }
  std::string node_id(const std::string& name) const override;
  void stop_all() override {}
  void wait_for_change(Millis until_ms) override;
  // Conditions are re-evaluated on every node event; the poll only bounds quiet periods.
  Millis poll_interval_ms() const override { return 1000; }

  sim::Simulator& simulator() { return sim_; }
  sim::HostId host(const std::string& name) const;
  Node* node(const std::string& name) const;  // nullptr unless running

 private:
  void schedule_invariant_check();
  void reapply_bus_filter(const std::string& name);

  sim::Simulator sim_;
  SimWorldOptions options_;
  sim::Rng rng_;
  std::vector<std::string> names_;
  std::map<std::string, sim::HostId> hosts_;
  std::map<std::string, Endpoint> endpoints_;
  sim::HostId client_host_{};
  bool started_ = false;
  std::map<std::string, std::uint32_t> dropped_bus_types_;  // drop-bus-messages, kept across restarts
  std::map<std::string, std::int64_t> clock_offsets_ms_;    // clock-skew / clock-jump
};

std::unique_ptr<SimWorld> make_sim_world(std::uint64_t seed);

}  // namespace slotlab::harness
