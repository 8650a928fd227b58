// The append-only file: RESP encoding with SELECTs, the 7.0 manifest, fsync policies, rewrites,
// loading with torn tails and garbage, crash recovery on an in-memory disk, and the real
// redis-check-aof and redis-server 7.0.15 reading our AOF directories (and us reading theirs).
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "node/aof.hpp"
#include "node/rdb.hpp"
#include "tests/node/real_redis.hpp"

using namespace slotlab;
namespace real = slotlab::testing::real;

namespace {

struct Xorshift {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

// An in-memory disk: current and durable content per file, like the simulator's SimDisk, with
// counters and injectable failures.
struct MemStorage : Storage {
  std::map<std::string, std::string> files;    // current
  std::map<std::string, std::string> durable;  // survives crash()
  std::set<std::string> dirs;
  std::map<std::string, int> fsyncs_by_name;
  int fsyncs = 0;
  int appends = 0;
  bool fail_appends = false;
  bool fail_fsyncs = false;

  Result<std::string> read(std::string_view name) override {
    auto it = files.find(std::string(name));
    if (it == files.end()) return make_error(Errc::not_found, "no such file " + std::string(name));
    return it->second;
  }
  Result<void> write(std::string_view name, std::string_view data) override {
    files[std::string(name)] = std::string(data);
    return {};
  }
  Result<void> append(std::string_view name, std::string_view data) override {
    if (fail_appends) return make_error(Errc::io, "append: No space left on device (injected)");
    ++appends;
    files[std::string(name)] += std::string(data);
    return {};
  }
  Result<void> fsync(std::string_view name) override {
    if (fail_fsyncs) return make_error(Errc::io, "fsync: I/O error (injected)");
    auto it = files.find(std::string(name));
    if (it == files.end()) return make_error(Errc::not_found, "fsync: no such file");
    ++fsyncs;
    ++fsyncs_by_name[it->first];
    durable[it->first] = it->second;
    return {};
  }
  Result<void> rename(std::string_view from, std::string_view to) override {
    auto it = files.find(std::string(from));
    if (it == files.end()) return make_error(Errc::not_found, "rename: no such file");
    files[std::string(to)] = it->second;
    durable[std::string(to)] = durable.count(it->first) != 0 ? durable[it->first] : std::string();
    durable.erase(it->first);
    files.erase(it);
    return {};
  }
  Result<void> remove(std::string_view name) override {
    if (files.erase(std::string(name)) == 0) return make_error(Errc::not_found, "remove: no such file");
    durable.erase(std::string(name));
    return {};
  }
  bool exists(std::string_view name) const override { return files.count(std::string(name)) != 0; }
  Result<void> make_dir(std::string_view name) override {
    dirs.insert(std::string(name));
    return {};
  }
  // Power loss: every file falls back to its durable content plus a random prefix of what was
  // appended since (a torn write); never-synced files vanish.
  void crash(Xorshift& rng) {
    for (auto it = files.begin(); it != files.end();) {
      auto d = durable.find(it->first);
      if (d == durable.end()) {
        it = files.erase(it);
        continue;
      }
      std::string kept = d->second;
      if (it->second.size() > kept.size() && it->second.compare(0, kept.size(), kept) == 0)
        kept += it->second.substr(kept.size(), rng.below(it->second.size() - kept.size() + 1));
      it->second = kept;
      ++it;
    }
  }
};

// Real files under a directory (for the Redis binaries to read).
struct DirStorage : Storage {
  std::string root;
  explicit DirStorage(std::string r) : root(std::move(r)) {}
  std::string p(std::string_view name) const { return root + "/" + std::string(name); }
  Result<std::string> read(std::string_view name) override {
    if (!std::filesystem::exists(p(name))) return make_error(Errc::not_found, "no such file");
    return real::read_file(p(name));
  }
  Result<void> write(std::string_view name, std::string_view data) override {
    real::write_file(p(name), std::string(data));
    return {};
  }
  Result<void> append(std::string_view name, std::string_view data) override {
    std::ofstream out(p(name), std::ios::binary | std::ios::app);
    out << data;
    return {};
  }
  Result<void> fsync(std::string_view) override { return {}; }
  Result<void> rename(std::string_view from, std::string_view to) override {
    std::filesystem::rename(p(from), p(to));
    return {};
  }
  Result<void> remove(std::string_view name) override {
    std::filesystem::remove(p(name));
    return {};
  }
  bool exists(std::string_view name) const override { return std::filesystem::exists(p(name)); }
  Result<void> make_dir(std::string_view name) override {
    std::filesystem::create_directories(p(name));
    return {};
  }
};

std::string resp(const std::vector<std::string>& argv) {
  std::string out;
  aof::append_command(out, argv);
  return out;
}

aof::Options options(AppendFsync policy) {
  aof::Options o;
  o.fsync = policy;
  return o;
}

std::vector<std::pair<std::string, std::string>> base_aux() {
  rdb::AuxInfo info;
  info.aof_base = true;
  return rdb::standard_aux(info);
}

std::string empty_base() { return rdb::encode_empty(base_aux()); }

const std::string kIncr = "appendonlydir/appendonly.aof.1.incr.aof";
const std::string kManifest = "appendonlydir/appendonly.aof.manifest";

}  // namespace

TEST_CASE("aof: commands are written as RESP, with SELECT when the database changes", "[aof]") {
  MemStorage disk;
  aof::AofWriter w(disk, options(AppendFsync::no));
  w.feed(0, {"SET", "k", "v"});  // not open yet: nothing is kept
  CHECK(w.buffered_bytes() == 0);
  REQUIRE(w.rewrite(empty_base()));
  w.feed(0, {"SET", "k", "v"});
  w.feed(0, {"RPUSH", "l", "a", ""});
  w.feed(3, {"HSET", "h", "f", "bin\r\nary"});
  w.feed(0, {"DEL", "k"});
  CHECK(disk.files[kIncr].empty());  // buffered until flushed
  REQUIRE(w.flush_and_fsync());
  CHECK(disk.files[kIncr] ==
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        "*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n$0\r\n\r\n"
        "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$8\r\nbin\r\nary\r\n"
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n");
  CHECK(w.incr_size() == disk.files[kIncr].size());
}

TEST_CASE("aof: the manifest is Redis 7.0's, and malformed ones are refused", "[aof]") {
  aof::Manifest m;
  m.base = aof::ManifestEntry{"appendonly.aof.2.base.rdb", 2, 'b'};
  m.history.push_back({"appendonly.aof.1.incr.aof", 1, 'h'});
  m.incr.push_back({"appendonly.aof.2.incr.aof", 2, 'i'});
  m.incr.push_back({"odd name.aof", 3, 'i'});
  const std::string text = m.format();
  CHECK(text ==
        "file appendonly.aof.2.base.rdb seq 2 type b\n"
        "file appendonly.aof.1.incr.aof seq 1 type h\n"
        "file appendonly.aof.2.incr.aof seq 2 type i\n"
        "file \"odd name.aof\" seq 3 type i\n");
  auto back = aof::Manifest::parse("# a comment\n" + text);
  REQUIRE(back);
  CHECK(back->base->file == "appendonly.aof.2.base.rdb");
  CHECK(back->history.size() == 1);
  REQUIRE(back->incr.size() == 2);
  CHECK(back->incr[1].file == "odd name.aof");
  CHECK(back->incr_seq() == 3);
  // Extra key/value pairs are ignored (forward compatibility); \r\n line ends are fine.
  CHECK(aof::Manifest::parse("file a.aof seq 1 type i future x\r\n"));
  auto refused = [](std::string_view t, std::string_view why) {
    auto r = aof::Manifest::parse(t);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains(std::string(why)));
  };
  refused("", "empty");
  refused("file a.aof seq 1 type i", "too long line");  // no final newline, as fgets sees it
  refused("file a.aof seq 1\n", "Invalid");
  refused("file a.aof seq 0 type i\n", "Invalid");
  refused("file ../a.aof seq 1 type i\n", "just a filename");
  refused("file a seq 1 type b\nfile b seq 2 type b\n", "duplicate base");
  refused("file a seq 2 type i\nfile b seq 2 type i\n", "non-monotonic");
  refused("file a seq 1 type x\n", "Unknown AOF file type");
  refused("\n", "Invalid");
  refused("file \"unterminated seq 1 type i\n", "Invalid");
  refused("file " + std::string(1100, 'x') + " seq 1 type i\n", "too long line");
}

TEST_CASE("aof: rewrite starts a generation, open continues it, old files go", "[aof]") {
  MemStorage disk;
  {
    aof::AofWriter w(disk, options(AppendFsync::always));
    CHECK(w.open().error().code == Errc::not_found);  // nothing on disk yet
    REQUIRE(w.rewrite(empty_base()));
    CHECK(disk.dirs.count("appendonlydir") == 1);
    CHECK(disk.files[kManifest] ==
          "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    CHECK(disk.durable.count("appendonlydir/appendonly.aof.1.base.rdb") == 1);
    CHECK(disk.durable.count(kIncr) == 1);  // the empty INCR's name survives a crash
    CHECK(disk.durable[kManifest] == disk.files[kManifest]);
    w.feed(0, {"SET", "a", "1"});
    REQUIRE(w.flush_and_fsync());
  }
  {
    // A restart: open() continues the same INCR file; the first command selects its db again.
    aof::AofWriter w(disk, options(AppendFsync::always));
    REQUIRE(w.open());
    CHECK(w.incr_path() == kIncr);
    w.feed(0, {"SET", "b", "2"});
    REQUIRE(w.flush_and_fsync());
    CHECK(disk.files[kIncr] == resp({"SELECT", "0"}) + resp({"SET", "a", "1"}) + resp({"SELECT", "0"}) + resp({"SET", "b", "2"}));
    // BGREWRITEAOF: generation 2; generation 1 is removed.
    w.feed(0, {"SET", "c", "3"});  // buffered, then dropped: the snapshot has it
    REQUIRE(w.rewrite("REDIS-snapshot-stand-in"));
    CHECK(w.buffered_bytes() == 0);
    CHECK(disk.files[kManifest] ==
          "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    CHECK_FALSE(disk.exists(kIncr));
    CHECK_FALSE(disk.exists("appendonlydir/appendonly.aof.1.base.rdb"));
    CHECK(disk.files["appendonlydir/appendonly.aof.2.base.rdb"] == "REDIS-snapshot-stand-in");
    CHECK(disk.files["appendonlydir/appendonly.aof.2.incr.aof"].empty());
  }
  {
    // Without the RDB preamble the BASE is a .base.aof of commands.
    MemStorage d2;
    aof::Options o;
    o.use_rdb_preamble = false;
    aof::AofWriter w(d2, o);
    REQUIRE(w.rewrite(resp({"SET", "x", "y"})));
    CHECK(d2.exists("appendonlydir/appendonly.aof.1.base.aof"));
    aof::AofLoader loader(d2, o);
    auto loaded = loader.load();
    REQUIRE(loaded);
    CHECK(loaded->base_rdb.empty());
    REQUIRE(loaded->commands.size() == 1);
    CHECK(loaded->commands[0].argv == std::vector<std::string>{"SET", "x", "y"});
  }
  {
    // A manifest listing no INCR gets one on open; history entries are cleaned up.
    MemStorage d3;
    d3.files[kManifest] = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\n";
    d3.files["appendonlydir/appendonly.aof.1.base.rdb"] = empty_base();
    d3.files[kIncr] = "old";
    aof::AofWriter w(d3, aof::Options{});
    REQUIRE(w.open());
    CHECK(d3.files[kManifest] == "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    CHECK(d3.files[kIncr].empty());
  }
}

TEST_CASE("aof: appendfsync always / everysec / no, observed as fsync counts", "[aof]") {
  SECTION("always: every flush that wrote something is fsynced before it returns") {
    MemStorage disk;
    aof::AofWriter w(disk, options(AppendFsync::always));
    REQUIRE(w.rewrite(empty_base()));
    const int base = disk.fsyncs;
    REQUIRE(w.flush_and_fsync());  // nothing to write: no fsync
    CHECK(disk.fsyncs == base);
    w.feed(0, {"SET", "a", "1"});
    w.feed(0, {"SET", "b", "2"});
    REQUIRE(w.flush_and_fsync());
    CHECK(disk.fsyncs == base + 1);
    CHECK(disk.durable[kIncr] == disk.files[kIncr]);  // acknowledged means durable
    w.feed(0, {"SET", "c", "3"});
    REQUIRE(w.flush_and_fsync());
    CHECK(disk.fsyncs == base + 2);
    CHECK_FALSE(w.has_unsynced());
    // An fsync error is returned (Redis exits rather than acknowledge).
    disk.fail_fsyncs = true;
    w.feed(0, {"SET", "d", "4"});
    auto r = w.flush_and_fsync();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::io);
    CHECK(w.has_unsynced());
  }
  SECTION("everysec: cron fsyncs unsynced data at most once per second") {
    MemStorage disk;
    aof::AofWriter w(disk, options(AppendFsync::everysec));
    REQUIRE(w.rewrite(empty_base()));
    const int base = disk.fsyncs_by_name[kIncr];
    w.feed(0, {"SET", "a", "1"});
    REQUIRE(w.flush_and_fsync());
    CHECK(disk.fsyncs_by_name[kIncr] == base);  // written, not fsynced
    CHECK(w.has_unsynced());
    REQUIRE(w.cron(10'000));
    CHECK(disk.fsyncs_by_name[kIncr] == base + 1);
    w.feed(0, {"SET", "b", "2"});
    REQUIRE(w.flush_and_fsync());
    for (Millis t = 10'100; t < 11'000; t += 100) REQUIRE(w.cron(t));
    CHECK(disk.fsyncs_by_name[kIncr] == base + 1);  // less than a second since the last fsync
    REQUIRE(w.cron(11'000));
    CHECK(disk.fsyncs_by_name[kIncr] == base + 2);
    for (Millis t = 11'100; t < 15'000; t += 100) REQUIRE(w.cron(t));
    CHECK(disk.fsyncs_by_name[kIncr] == base + 2);  // nothing new: no fsync
    w.feed(0, {"SET", "c", "3"});  // cron also flushes what was buffered
    REQUIRE(w.cron(15'000));
    CHECK(disk.fsyncs_by_name[kIncr] == base + 3);
    CHECK(disk.durable[kIncr] == disk.files[kIncr]);
  }
  SECTION("no: never fsynced by us") {
    MemStorage disk;
    aof::AofWriter w(disk, options(AppendFsync::no));
    REQUIRE(w.rewrite(empty_base()));
    const int base = disk.fsyncs;
    for (int i = 0; i < 50; ++i) {
      w.feed(0, {"INCR", "n"});
      REQUIRE(w.flush_and_fsync());
      REQUIRE(w.cron(i * 1000));
    }
    CHECK(disk.fsyncs == base);
    CHECK(w.has_unsynced());
    // CONFIG SET appendfsync always takes effect at the next flush.
    w.set_fsync_policy(AppendFsync::always);
    REQUIRE(w.flush_and_fsync());
    CHECK(disk.fsyncs == base + 1);
  }
}

TEST_CASE("aof: a failed write keeps the buffer and is retried", "[aof]") {
  MemStorage disk;
  aof::AofWriter w(disk, options(AppendFsync::everysec));
  REQUIRE(w.rewrite(empty_base()));
  w.feed(0, {"SET", "a", "1"});
  disk.fail_appends = true;
  CHECK_FALSE(w.flush_and_fsync());
  CHECK_FALSE(w.last_write_ok());
  CHECK(w.buffered_bytes() > 0);
  disk.fail_appends = false;
  REQUIRE(w.flush_and_fsync());
  CHECK(w.last_write_ok());
  CHECK(disk.files[kIncr] == resp({"SELECT", "0"}) + resp({"SET", "a", "1"}));
}

TEST_CASE("aof: parse_commands tracks databases and finds the end of valid data", "[aof]") {
  const std::string stream = resp({"SET", "a", "1"}) + "#TS:1700000000\r\n" + resp({"SELECT", "2"}) + resp({"SET", "b", "2"}) +
                             resp({"MULTI"}) + resp({"INCR", "c"}) + resp({"SELECT", "0"}) + resp({"INCR", "d"}) + resp({"EXEC"});
  auto p = aof::parse_commands(stream, 0, "x");
  REQUIRE(p);
  CHECK_FALSE(p->truncated);
  CHECK(p->valid_up_to == stream.size());
  REQUIRE(p->commands.size() == 6);
  CHECK(p->commands[0].db == 0);
  CHECK(p->commands[1].db == 2);
  CHECK(p->commands[1].argv == std::vector<std::string>{"SET", "b", "2"});
  CHECK(p->commands[2].argv[0] == "MULTI");
  CHECK(p->commands[3].db == 2);
  CHECK(p->commands[4].db == 0);
  CHECK(p->commands[5].argv[0] == "EXEC");

  // Every proper prefix that cuts a command is "truncated", valid up to the last whole command.
  const std::string two = resp({"SET", "a", "1"}) + resp({"SET", "key2", "value2"});
  const std::size_t first = resp({"SET", "a", "1"}).size();
  for (std::size_t cut = first + 1; cut < two.size(); ++cut) {
    auto t = aof::parse_commands(two.substr(0, cut), 0, "x");
    INFO("cut at " << cut);
    REQUIRE(t);
    CHECK(t->truncated);
    CHECK(t->valid_up_to == first);
    CHECK(t->commands.size() == 1);
  }
  // A MULTI without EXEC at the end is dropped, back to before the MULTI.
  const std::string open_multi = resp({"SET", "a", "1"}) + resp({"MULTI"}) + resp({"SET", "b", "2"});
  auto m = aof::parse_commands(open_multi, 0, "x");
  REQUIRE(m);
  CHECK(m->truncated);
  CHECK(m->valid_up_to == first);
  CHECK(m->commands.size() == 1);
  // Garbage is an error with the byte offset, wherever it is.
  auto g = aof::parse_commands(resp({"SET", "a", "1"}) + "garbage\r\n" + resp({"SET", "b", "2"}), 0, "f.aof");
  REQUIRE_FALSE(g);
  CHECK_THAT(g.error().message, Catch::Contains("f.aof") && Catch::Contains("at byte " + std::to_string(first)));
  CHECK_FALSE(aof::parse_commands("*1\r\n$3\r\nfooXX", 0, "x"));     // no CRLF after the argument
  CHECK_FALSE(aof::parse_commands("*0\r\n", 0, "x"));                // no arguments
  CHECK_FALSE(aof::parse_commands("*1\r\n+OK\r\n", 0, "x"));         // not a bulk string
  CHECK_FALSE(aof::parse_commands("*x\r\n", 0, "x"));
  CHECK_FALSE(aof::parse_commands(resp({"SELECT", "-1"}), 0, "x"));  // a SELECT we cannot follow
  CHECK_FALSE(aof::parse_commands("*99999999999999999999\r\n", 0, "x"));
  auto t = aof::parse_commands("*2\r\n$3\r\nGET\r\n$999999999\r\nabc", 0, "x");  // claims more than there is
  REQUIRE(t);
  CHECK(t->truncated);
}

TEST_CASE("aof: loading returns the BASE and commands; a torn tail is cut, garbage refused", "[aof]") {
  MemStorage disk;
  Keyspace ks;
  ks.set("base-key", Value::make_string("from the snapshot"));
  const std::string base = rdb::encode_dataset({&ks}, base_aux(), true);
  aof::AofWriter w(disk, aof::Options{});
  REQUIRE(w.rewrite(base));
  w.feed(0, {"SET", "a", "1"});
  w.feed(1, {"SET", "b", "2"});
  REQUIRE(w.flush_and_fsync());
  const std::string complete = disk.files[kIncr];

  aof::AofLoader loader(disk, aof::Options{});
  auto l = loader.load();
  REQUIRE(l);
  CHECK(l->base_rdb == base);
  CHECK_FALSE(l->truncated);
  CHECK(l->files == std::vector<std::string>{"appendonlydir/appendonly.aof.1.base.rdb", kIncr});
  REQUIRE(l->commands.size() == 2);
  CHECK(l->commands[1].db == 1);

  // A torn last command: dropped, reported, and cut from the file.
  disk.files[kIncr] = complete + "*3\r\n$3\r\nSET\r\n$1\r\nc";
  auto t = loader.load();
  REQUIRE(t);
  CHECK(t->truncated);
  CHECK(t->truncated_file == kIncr);
  CHECK(t->truncated_at == complete.size());
  CHECK(t->truncated_bytes == 18);
  CHECK(t->commands.size() == 2);
  CHECK(disk.files[kIncr] == complete);
  CHECK(disk.durable[kIncr] == complete);
  // aof-load-truncated no: the same file is an error.
  disk.files[kIncr] = complete + "*3\r\n$3\r\nSET";
  aof::Options strict;
  strict.load_truncated = false;
  auto s = aof::AofLoader(disk, strict).load();
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error().message, Catch::Contains("Unexpected end of file"));
  // Garbage in the middle is never "truncated".
  disk.files[kIncr] = resp({"SET", "a", "1"}) + "\x01\x02junk" + resp({"SET", "b", "2"});
  auto g = loader.load();
  REQUIRE_FALSE(g);
  CHECK(g.error().code == Errc::protocol);
  CHECK_THAT(g.error().message, Catch::Contains(kIncr));
  // Truncation in a file that is not the last is fatal.
  disk.files[kIncr] = "*1\r\n$4\r\nPI";
  disk.files["appendonlydir/appendonly.aof.2.incr.aof"] = resp({"SET", "z", "9"});
  disk.files[kManifest] += "file appendonly.aof.2.incr.aof seq 2 type i\n";
  auto nl = loader.load();
  REQUIRE_FALSE(nl);
  CHECK_THAT(nl.error().message, Catch::Contains("not the last file"));
  // A file the manifest lists but the disk lacks.
  disk.files.erase(kIncr);
  auto missing = loader.load();
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::io);
  // No AOF at all.
  MemStorage none;
  CHECK(aof::AofLoader(none, aof::Options{}).load().error().code == Errc::not_found);
}

TEST_CASE("aof: a pre-7.0 appendonly.aof with an RDB preamble loads (Redis's test asset)", "[aof]") {
  // tests/assets/rdb-preamble.aof from the Redis 7.0.15 source tree (BSD-3-Clause).
  const std::string hex =
      "524544495330303130fa0972656469732d7665720b3235352e3235352e323535fa0a72656469732d62697473c040fa056374"
      "696d65c2d610cb61fa08757365642d6d656dc2a08d1000fa0c616f662d707265616d626c65c001fe00fb020000026b320276"
      "3200026b31027631fffbcb6dc9b70c80a42a320d0a24360d0a53454c4543540d0a24310d0a300d0a2a330d0a24330d0a7365"
      "740d0a24320d0a6b330d0a24320d0a76330d0a";
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  MemStorage disk;
  disk.files["appendonly.aof"] = bytes;
  auto l = aof::AofLoader(disk, aof::Options{}).load();
  REQUIRE(l);
  CHECK(l->legacy);
  Keyspace ks;
  auto d = rdb::decode_dataset(l->base_rdb, {&ks});
  REQUIRE(d);
  CHECK(ks.find("k1")->value.str == "v1");
  CHECK(ks.find("k2")->value.str == "v2");
  REQUIRE(l->commands.size() == 1);
  CHECK(l->commands[0].argv == std::vector<std::string>{"set", "k3", "v3"});
}

TEST_CASE("aof: after a crash, what appendfsync promised is there and the torn tail is cut", "[aof]") {
  Xorshift rng{99};
  for (AppendFsync policy : {AppendFsync::always, AppendFsync::everysec}) {
    for (int round = 0; round < 30; ++round) {
      MemStorage disk;
      aof::AofWriter w(disk, options(policy));
      REQUIRE(w.rewrite(empty_base()));
      int acked = 0;          // commands whose flush_and_fsync returned (replies sent)
      int durable_acked = 0;  // ... and that appendfsync promised to keep
      const int n = 5 + static_cast<int>(rng.below(40));
      for (int i = 0; i < n; ++i) {
        w.feed(static_cast<int>(rng.below(3)), {"SET", "k" + std::to_string(i), std::string(rng.below(50), 'v')});
        REQUIRE(w.flush_and_fsync());
        ++acked;
        if (policy == AppendFsync::always) durable_acked = acked;
        if (rng.below(4) == 0) {
          REQUIRE(w.cron(i * 300));
          if (!w.has_unsynced()) durable_acked = acked;
        }
      }
      disk.crash(rng);
      auto l = aof::AofLoader(disk, aof::Options{}).load();
      REQUIRE(l);
      INFO("policy " << static_cast<int>(policy) << " round " << round);
      CHECK(static_cast<int>(l->commands.size()) >= durable_acked);
      CHECK(static_cast<int>(l->commands.size()) <= acked);
      for (std::size_t i = 0; i < l->commands.size(); ++i) CHECK(l->commands[i].argv[1] == "k" + std::to_string(i));
      // After the cut, appending continues cleanly.
      aof::AofWriter again(disk, options(policy));
      REQUIRE(again.open());
      again.feed(0, {"SET", "after", "crash"});
      REQUIRE(again.flush_and_fsync());
      auto l2 = aof::AofLoader(disk, aof::Options{}).load();
      REQUIRE(l2);
      CHECK_FALSE(l2->truncated);
      CHECK(l2->commands.back().argv[1] == "after");
    }
  }
}

TEST_CASE("aof: fuzz: mutated command streams never crash the parser", "[aof][fuzz]") {
  Xorshift rng{0xa0f};
  std::string stream;
  for (int i = 0; i < 20; ++i) stream += resp({"SET", "key" + std::to_string(i), std::string(rng.below(30), 'x')});
  stream += resp({"MULTI"}) + resp({"SELECT", "3"}) + resp({"INCR", "n"}) + resp({"EXEC"});
  std::size_t ok = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string s = stream;
    for (std::size_t k = 0, n = 1 + rng.below(3); k < n && !s.empty(); ++k) {
      const std::size_t at = rng.below(s.size());
      switch (rng.below(4)) {
        case 0: s[at] = static_cast<char>(rng.next() & 0xff); break;
        case 1: s.erase(at, 1 + rng.below(5)); break;
        case 2: s.resize(at); break;
        default: s.insert(at, 1, "*$\r\n0123456789"[rng.below(14)]);
      }
    }
    auto p = aof::parse_commands(s, 0, "fuzz");
    if (p) {
      ++ok;
      REQUIRE(p->valid_up_to <= s.size());
    }
  }
  CHECK(ok > 0);
}

// --- against the real Redis 7.0.15 binaries ---

TEST_CASE("aof: redis-check-aof and redis-server accept our AOF directory", "[aof][real]") {
  if (!real::executable(real::kRedisCheckAof) || !real::RealRedis::available()) {
    WARN("redis-check-aof / redis-server not installed: skipped");
    return;
  }
  real::TempDir dir;
  DirStorage disk(dir.path());
  Keyspace db0, db1;
  db0.set("snap:string", Value::make_string("from the base"));
  Value list;
  list.type = ValueType::list;
  list.list = {"x", "y", "z"};
  db1.set("snap:list", list);
  aof::AofWriter w(disk, options(AppendFsync::always));
  REQUIRE(w.rewrite(rdb::encode_dataset({&db0, &db1}, base_aux(), true)));
  w.feed(0, {"SET", "cmd:a", "1"});
  w.feed(0, {"RPUSH", "cmd:l", "p", "q"});
  w.feed(2, {"HSET", "cmd:h", "f", "v"});
  w.feed(0, {"MULTI"});
  w.feed(0, {"INCR", "cmd:a"});
  w.feed(0, {"PEXPIREAT", "cmd:a", "4102444800000"});
  w.feed(0, {"EXEC"});
  REQUIRE(w.flush_and_fsync());

  const std::string manifest = dir.file(kManifest);
  auto check = real::run(std::string(real::kRedisCheckAof) + " " + manifest);
  INFO(check.output);
  CHECK(check.status == 0);
  CHECK_THAT(check.output, Catch::Contains("All AOF files and manifest are valid"));

  // A torn tail: redis-check-aof says so; our loader cuts it; then redis-check-aof is happy again.
  std::ofstream(dir.file(kIncr), std::ios::binary | std::ios::app) << "*3\r\n$3\r\nSET\r\n$2\r\nzz";
  auto torn = real::run(std::string(real::kRedisCheckAof) + " " + manifest);
  CHECK(torn.status != 0);
  auto loaded = aof::AofLoader(disk, aof::Options{}).load();
  REQUIRE(loaded);
  CHECK(loaded->truncated);
  CHECK(loaded->commands.size() == 7);
  auto fixed = real::run(std::string(real::kRedisCheckAof) + " " + manifest);
  INFO(fixed.output);
  CHECK(fixed.status == 0);

  // redis-server loads the directory.
  real::RealRedis srv;
  REQUIRE(srv.start(dir.path(), {"--appendonly", "yes", "--aof-use-rdb-preamble", "yes"}));
  CHECK(srv.call({"GET", "snap:string"}).str == "from the base");
  CHECK(srv.call({"GET", "cmd:a"}).str == "2");
  CHECK(srv.call({"PEXPIRETIME", "cmd:a"}).integer == 4102444800000);
  CHECK(srv.call({"LRANGE", "cmd:l", "0", "-1"}).strings() == std::vector<std::string>{"p", "q"});
  REQUIRE(srv.call({"SELECT", "1"}).ok());
  CHECK(srv.call({"LRANGE", "snap:list", "0", "-1"}).strings() == std::vector<std::string>{"x", "y", "z"});
  REQUIRE(srv.call({"SELECT", "2"}).ok());
  CHECK(srv.call({"HGET", "cmd:h", "f"}).str == "v");
  // ... and keeps appending to our INCR file, which we then read back.
  REQUIRE(srv.call({"SET", "by:redis", "yes"}).ok());
  srv.stop();
  auto after = aof::AofLoader(disk, aof::Options{}).load();
  REQUIRE(after);
  REQUIRE_FALSE(after->commands.empty());
  CHECK(after->commands.back().db == 2);
  CHECK(after->commands.back().argv == std::vector<std::string>{"SET", "by:redis", "yes"});
}

TEST_CASE("aof: we load the AOF directory redis-server writes", "[aof][real]") {
  if (!real::RealRedis::available()) {
    WARN("redis-server not installed: skipped");
    return;
  }
  real::TempDir dir;
  {
    real::RealRedis srv;
    REQUIRE(srv.start(dir.path(), {"--appendonly", "yes", "--appendfsync", "always"}));
    REQUIRE(srv.call({"SET", "a", "1"}).ok());
    REQUIRE(srv.call({"RPUSH", "l", "x", "y"}).ok());
    REQUIRE(srv.call({"SELECT", "4"}).ok());
    REQUIRE(srv.call({"HSET", "h", "f", "v"}).ok());
    REQUIRE(srv.call({"BGREWRITEAOF"}).ok());  // a new generation with the data in its RDB BASE
    for (int i = 0; i < 100; ++i) {
      auto info = srv.call({"INFO", "persistence"}).str;
      if (info.find("aof_rewrite_in_progress:0") != std::string::npos &&
          info.find("aof_rewrite_scheduled:0") != std::string::npos && i > 0)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(srv.call({"SET", "after", "rewrite"}).ok());
    REQUIRE(srv.call({"MULTI"}).ok());
    REQUIRE(srv.call({"INCR", "n"}).ok());
    REQUIRE(srv.call({"SELECT", "6"}).ok());
    REQUIRE(srv.call({"INCR", "m"}).ok());
    REQUIRE(srv.call({"EXEC"}).ok());
  }
  DirStorage disk(dir.path());
  auto loaded = aof::AofLoader(disk, aof::Options{}).load();
  INFO((loaded ? std::string("ok") : loaded.error().message));
  REQUIRE(loaded);
  CHECK_FALSE(loaded->truncated);
  std::vector<std::unique_ptr<Keyspace>> owned;
  std::vector<Keyspace*> dbs;
  for (int i = 0; i < 16; ++i) {
    owned.push_back(std::make_unique<Keyspace>());
    dbs.push_back(owned.back().get());
  }
  REQUIRE_FALSE(loaded->base_rdb.empty());
  auto base = rdb::decode_dataset(loaded->base_rdb, dbs);
  REQUIRE(base);
  CHECK(base->aof_base);
  CHECK(dbs[0]->find("a")->value.str == "1");
  CHECK(dbs[0]->find("l")->value.list == std::deque<std::string>{"x", "y"});
  CHECK(*dbs[4]->find("h")->value.hget("f") == "v");
  std::vector<std::string> names;
  for (const auto& c : loaded->commands) names.push_back(c.argv[0] + "@" + std::to_string(c.db));
  CHECK(names == std::vector<std::string>{"SET@4", "MULTI@4", "INCR@4", "INCR@6", "EXEC@6"});
}
