// SimDisk: what survives a crash (fsynced data only, torn unsynced tails), rename/remove
// durability, and injected faults (failing fsync, lying fsync, failing writes).
#include <catch2/catch.hpp>

#include <string>

#include "sim/disk.hpp"
#include "sim/simulator.hpp"
#include "test_actors.hpp"

using namespace slotlab;
using namespace slotlab::sim;
using namespace slotlab::sim::testing;

namespace {
void ok(Result<void> r) {
  if (!r.ok()) FAIL(r.error().message);
}
}  // namespace

TEST_CASE("disk: a crash keeps fsynced data and loses unsynced writes", "[sim][disk]") {
  SimDisk d{Rng(1)};
  ok(d.append("appendonly.aof", "SET a 1\n"));
  ok(d.fsync("appendonly.aof"));
  ok(d.append("appendonly.aof", "SET b 2\n"));
  ok(d.write("nodes.conf", "unsynced"));
  CHECK(d.read("appendonly.aof").value() == "SET a 1\nSET b 2\n");
  CHECK(d.durable_content("appendonly.aof") == std::optional<std::string>("SET a 1\n"));
  CHECK(d.has_unsynced("appendonly.aof"));
  CHECK_FALSE(d.durable_content("nodes.conf").has_value());

  d.crash();
  CHECK(d.read("appendonly.aof").value() == "SET a 1\n");
  CHECK_FALSE(d.exists("nodes.conf"));  // never synced: its directory entry is gone too
  CHECK_FALSE(d.has_unsynced("appendonly.aof"));
  CHECK(d.stats().lost_bytes == 8 + 8);
}

TEST_CASE("disk: an overwrite that was not fsynced falls back to the old durable content", "[sim][disk]") {
  SimDisk d{Rng(1)};
  ok(d.write("f", "old"));
  ok(d.fsync("f"));
  ok(d.write("f", "new and longer"));
  d.set_torn_writes(true);  // a truncating write is never torn into a mix: old content survives
  d.crash();
  CHECK(d.read("f").value() == "old");
}

TEST_CASE("disk: torn writes keep a random prefix of the unsynced tail", "[sim][disk]") {
  const std::string durable = "0123456789";
  const std::string tail = "abcdefghijklmnopqrstuvwxyz";
  int strictly_between = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    SimDisk d{Rng(seed)};
    d.set_torn_writes(true);
    ok(d.append("aof", durable));
    ok(d.fsync("aof"));
    ok(d.append("aof", tail));
    d.crash();
    const std::string got = d.read("aof").value();
    REQUIRE(got.size() >= durable.size());
    REQUIRE(got.size() <= durable.size() + tail.size());
    CHECK(got == (durable + tail).substr(0, got.size()));
    if (got.size() > durable.size() && got.size() < durable.size() + tail.size()) ++strictly_between;
    // The same seed tears the same way.
    SimDisk again{Rng(seed)};
    again.set_torn_writes(true);
    ok(again.append("aof", durable));
    ok(again.fsync("aof"));
    ok(again.append("aof", tail));
    again.crash();
    CHECK(again.read("aof").value() == got);
  }
  CHECK(strictly_between > 20);
}

TEST_CASE("disk: rename is atomic and durable, but carries unsynced content as unsynced", "[sim][disk]") {
  SimDisk d{Rng(1)};
  // The careful way: write a temp file, fsync, rename over the target.
  ok(d.write("nodes.conf", "v1"));
  ok(d.fsync("nodes.conf"));
  ok(d.write("tmp", "v2"));
  ok(d.fsync("tmp"));
  ok(d.rename("tmp", "nodes.conf"));
  CHECK_FALSE(d.exists("tmp"));
  d.crash();
  CHECK(d.read("nodes.conf").value() == "v2");

  // Without the fsync, the renamed file survives but empty (rename-without-fsync data loss).
  ok(d.write("tmp", "v3"));
  ok(d.rename("tmp", "nodes.conf"));
  CHECK(d.read("nodes.conf").value() == "v3");
  d.crash();
  CHECK(d.exists("nodes.conf"));
  CHECK(d.read("nodes.conf").value().empty());

  // remove is durable.
  ok(d.remove("nodes.conf"));
  d.crash();
  CHECK_FALSE(d.exists("nodes.conf"));
  CHECK(d.rename("missing", "x").error().code == Errc::not_found);
  CHECK(d.remove("missing").error().code == Errc::not_found);
  CHECK(d.read("missing").error().code == Errc::not_found);
  CHECK(d.fsync("missing").error().code == Errc::not_found);
}

TEST_CASE("disk: an unsynced rename survives a process crash only; a power loss brings the old file back",
          "[sim][disk]") {
  SimDisk d{Rng(1)};
  ok(d.write("nodes.conf.tmp", "v1"));
  ok(d.fsync("nodes.conf.tmp"));
  ok(d.rename("nodes.conf.tmp", "nodes.conf"));  // durable save
  ok(d.write("nodes.conf.tmp", "v2"));
  ok(d.rename_unsynced("nodes.conf.tmp", "nodes.conf"));  // clusterSaveConfig(0)
  CHECK(d.read("nodes.conf").value() == "v2");
  CHECK_FALSE(d.exists("nodes.conf.tmp"));
  CHECK(d.durable_content("nodes.conf") == std::optional<std::string>("v1"));
  CHECK(d.has_unsynced("nodes.conf"));
  ok(d.write("other.tmp", "x"));
  ok(d.rename_unsynced("other.tmp", "other"));  // nothing durable under this name yet
  d.crash();
  CHECK(d.read("nodes.conf").value() == "v1");  // whole, never torn
  CHECK_FALSE(d.exists("other"));
  // A later durable save makes the new content durable again.
  ok(d.write("nodes.conf.tmp", "v3"));
  ok(d.fsync("nodes.conf.tmp"));
  ok(d.rename("nodes.conf.tmp", "nodes.conf"));
  d.crash();
  CHECK(d.read("nodes.conf").value() == "v3");
}

TEST_CASE("disk: injected fsync failures make nothing durable", "[sim][disk]") {
  SimDisk d{Rng(1)};
  ok(d.append("aof", "a"));
  ok(d.append("other", "o"));
  d.fail_next_fsync("aof");
  auto r = d.fsync("aof");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::io);
  ok(d.fsync("other"));  // only the named file was targeted
  CHECK_FALSE(d.durable_content("aof").has_value());
  ok(d.fsync("aof"));  // one-shot: the retry succeeds
  CHECK(d.durable_content("aof") == std::optional<std::string>("a"));

  d.fail_next_fsync();  // any file
  ok(d.append("other", "o2"));
  CHECK_FALSE(d.fsync("other").ok());
  d.crash();
  CHECK(d.read("other").value() == "o");
  CHECK(d.stats().failed_fsyncs == 2);

  d.set_fail_fsyncs(true);
  CHECK_FALSE(d.fsync("aof").ok());
  CHECK_FALSE(d.fsync("aof").ok());
  d.clear_faults();
  ok(d.fsync("aof"));
}

TEST_CASE("disk: a lying fsync reports success and loses the data at the crash", "[sim][disk]") {
  SimDisk d{Rng(1)};
  ok(d.append("aof", "durable;"));
  ok(d.fsync("aof"));
  d.set_lose_fsyncs(true);
  ok(d.append("aof", "lost;"));
  ok(d.fsync("aof"));
  d.crash();
  CHECK(d.read("aof").value() == "durable;");
}

TEST_CASE("disk: failing writes return io errors and change nothing", "[sim][disk]") {
  SimDisk d{Rng(1)};
  ok(d.write("f", "x"));
  d.set_fail_writes(true);
  CHECK(d.write("f", "y").error().code == Errc::io);
  CHECK(d.append("f", "y").error().code == Errc::io);
  CHECK(d.read("f").value() == "x");
  d.set_fail_writes(false);
  ok(d.append("f", "y"));
  CHECK(d.read("f").value() == "xy");
}

TEST_CASE("disk: a simulated host keeps its disk across crash and restart", "[sim][disk]") {
  Simulator sim(12);
  auto h = sim.add_host(host_cfg("a", "10.0.0.1"), recorder());
  REQUIRE(h.ok());
  ok(sim.start(*h));
  Storage& st = actor_of<Recorder>(sim, *h).env().storage;
  ok(st.append("appendonly.aof", "synced;"));
  ok(st.fsync("appendonly.aof"));
  ok(st.append("appendonly.aof", "unsynced;"));
  ok(sim.crash(*h, "power loss"));
  CHECK(sim.disk(*h)->current_content("appendonly.aof") == std::optional<std::string>("synced;"));
  ok(sim.restart(*h));
  Storage& st2 = actor_of<Recorder>(sim, *h).env().storage;
  CHECK(st2.read("appendonly.aof").value() == "synced;");

  // kill -9 alone (DiskLoss::none): the page cache keeps unsynced writes.
  ok(st2.append("appendonly.aof", "cached;"));
  ok(sim.crash(*h, "kill -9", DiskLoss::none));
  CHECK(sim.disk(*h)->current_content("appendonly.aof") == std::optional<std::string>("synced;cached;"));
}
