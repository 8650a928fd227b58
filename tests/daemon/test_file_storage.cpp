// Tests for daemon/file_storage: real files in a temporary directory (write, append, fsync, rename,
// remove, errors with strerror's text) and the cluster-config-file lock that must survive the
// node's write-temporary-then-rename saves. Tagged [daemon][storage].
#include <catch2/catch.hpp>

#include "daemon/file_storage.hpp"
#include "daemon_test_util.hpp"

using namespace slotlab;
using namespace slotlab::daemon;
using slotlab::daemon::test::TempDir;

TEST_CASE("FileStorage writes, appends, syncs, renames and removes", "[daemon][storage]") {
  TempDir dir;
  FileStorage fs;
  REQUIRE(fs.open(dir.path()).ok());

  CHECK_FALSE(fs.exists("a.txt"));
  REQUIRE(fs.write("a.txt", "hello").ok());
  CHECK(fs.exists("a.txt"));
  CHECK(test::read_file(dir.file("a.txt")) == "hello");
  REQUIRE(fs.append("a.txt", " world").ok());
  REQUIRE(fs.append("a.txt", "!").ok());
  REQUIRE(fs.fsync("a.txt").ok());
  CHECK(*fs.read("a.txt") == "hello world!");
  // write truncates, even after appends through a cached descriptor.
  REQUIRE(fs.write("a.txt", "x").ok());
  REQUIRE(fs.append("a.txt", "y").ok());
  CHECK(*fs.read("a.txt") == "xy");

  // rename replaces the target atomically.
  REQUIRE(fs.write("b.tmp", "new content").ok());
  REQUIRE(fs.fsync("b.tmp").ok());
  REQUIRE(fs.rename("b.tmp", "a.txt").ok());
  CHECK_FALSE(fs.exists("b.tmp"));
  CHECK(test::read_file(dir.file("a.txt")) == "new content");

  REQUIRE(fs.remove("a.txt").ok());
  CHECK_FALSE(fs.exists("a.txt"));

  // Large content survives the round trip.
  std::string big(3 * 1024 * 1024 + 17, 'z');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  REQUIRE(fs.write("big", big).ok());
  CHECK(*fs.read("big") == big);
}

TEST_CASE("FileStorage errors carry strerror's text", "[daemon][storage]") {
  TempDir dir;
  FileStorage fs;
  REQUIRE(fs.open(dir.path()).ok());
  auto r = fs.read("missing");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::not_found);
  CHECK(r.error().message == "open missing: No such file or directory");
  auto rn = fs.rename("missing", "other");
  REQUIRE_FALSE(rn.ok());
  CHECK(rn.error().message == "rename missing to other: No such file or directory");
  CHECK_FALSE(fs.fsync("missing").ok());
  CHECK_FALSE(fs.remove("missing").ok());

  FileStorage nowhere;
  auto o = nowhere.open(dir.file("no/such/dir"));
  REQUIRE_FALSE(o.ok());
  CHECK(o.error().message.find("No such file or directory") != std::string::npos);
}

TEST_CASE("FileStorage paths stay in the node's directory after a chdir", "[daemon][storage]") {
  TempDir dir;
  TempDir elsewhere;
  FileStorage fs;
  REQUIRE(fs.open(dir.path()).ok());
  std::string cwd = std::filesystem::current_path().string();
  std::filesystem::current_path(elsewhere.path());
  REQUIRE(fs.write("nodes.conf", "x").ok());
  std::filesystem::current_path(cwd);
  CHECK(std::filesystem::exists(dir.file("nodes.conf")));
  CHECK_FALSE(std::filesystem::exists(elsewhere.file("nodes.conf")));
}

TEST_CASE("the cluster config lock excludes a second owner across saves", "[daemon][storage]") {
  TempDir dir;
  FileStorage first;
  FileStorage second;  // another open file description: flock conflicts as between processes
  REQUIRE(first.open(dir.path()).ok());
  REQUIRE(second.open(dir.path()).ok());

  REQUIRE(first.lock("nodes.conf").ok());
  CHECK(std::filesystem::exists(dir.file("nodes.conf")));  // created empty, like clusterLockConfig
  auto denied = second.lock("nodes.conf");
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().code == Errc::state);

  // The node saves by writing nodes.conf.tmp and renaming it over nodes.conf: the lock follows.
  for (int i = 0; i < 3; ++i) {
    REQUIRE(first.write("nodes.conf.tmp", "save " + std::to_string(i)).ok());
    REQUIRE(first.fsync("nodes.conf.tmp").ok());
    REQUIRE(first.rename("nodes.conf.tmp", "nodes.conf").ok());
    auto again = second.lock("nodes.conf");
    CHECK_FALSE(again.ok());
  }
  CHECK(test::read_file(dir.file("nodes.conf")) == "save 2");

  first.unlock_all();
  CHECK(second.lock("nodes.conf").ok());
}
