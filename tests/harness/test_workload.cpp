// The workload and the lost-write checker in the simulator: with no fault every acknowledged write
// is read back; when a primary crashes under load, writes fail or get lost only in the ways the
// Redis Cluster spec allows (asynchronous replication), and the checker says which.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "harness/lost_writes.hpp"
#include "harness/runner.hpp"
#include "harness/sim_world.hpp"

using namespace slotlab;
using namespace slotlab::harness;

namespace {
Scenario created_cluster() {
  auto sc = load_scenario_file(std::string(SLOTLAB_SOURCE_DIR) + "/scenarios/segfault-master.json");
  REQUIRE(sc.ok());
  sc->steps.resize(3);  // create, healthy, replicas in sync
  sc->final_checks.clear();
  return *sc;
}

std::vector<Endpoint> seeds(SimWorld& w) {
  std::vector<Endpoint> out;
  for (const auto& n : w.node_names()) out.push_back(w.endpoint(n));
  return out;
}
}  // namespace

TEST_CASE("without faults every acknowledged write is read back", "[workload]") {
  SimWorld w(5);
  RunResult setup = run_scenario(created_cluster(), w, 5);
  REQUIRE(setup.passed);
  Workload wl(w, seeds(w), WorkloadOptions{});
  wl.start();
  w.sleep_ms(5000);
  wl.stop();
  w.run_until([&] { return wl.idle(); }, w.now_ms() + 10000);
  REQUIRE(wl.idle());
  CHECK(wl.count(CommandOutcome::Kind::ok) > 500);
  CHECK(wl.count(CommandOutcome::Kind::failed) == 0);
  CHECK(wl.count(CommandOutcome::Kind::unknown) == 0);
  LostWriteReport rep = check_lost_writes(w, seeds(w), wl.history(), {}, 30000);
  CHECK(rep.lost == 0);
  CHECK(rep.unreadable == 0);
  CHECK(rep.present == rep.acknowledged);
}

TEST_CASE("a primary crashing under load loses only what the spec allows", "[workload]") {
  SimWorld w(9);
  RunResult setup = run_scenario(created_cluster(), w, 9);
  REQUIRE(setup.passed);
  Workload wl(w, seeds(w), WorkloadOptions{});
  wl.start();
  w.sleep_ms(2000);
  // Crash the primary of slot 0 (n1 with the default create layout), as an operator would.
  RespConnection conn(w, w.endpoint("n1"));
  REQUIRE(conn.ensure_connected(1000).ok());
  conn.send({"DEBUG", "SEGFAULT"});
  REQUIRE(w.wait_for_exit("n1", 1000));
  Millis crash_ms = w.now_ms();
  w.sleep_ms(10000);
  wl.stop();
  w.run_until([&] { return wl.idle(); }, w.now_ms() + 20000);
  REQUIRE(wl.idle());
  std::vector<FaultRecord> faults{{w.endpoint("n1"), "n1", "crash", crash_ms}};
  std::vector<Endpoint> live;
  for (const auto& n : w.node_names())
    if (w.running(n)) live.push_back(w.endpoint(n));
  LostWriteReport rep = check_lost_writes(w, live, wl.history(), faults, 30000);
  INFO(fmt::format("acked {} failed {} unknown {} lost {} (permitted {})", rep.acknowledged, rep.failed, rep.unknown,
                   rep.lost, rep.lost_permitted));
  CHECK(rep.acknowledged > 500);
  CHECK(rep.unreadable == 0);
  CHECK(rep.lost_unexplained == 0);
  // Writes to the dead primary's slots fail or time out until the replica takes over.
  CHECK(rep.failed + rep.unknown > 0);
}
