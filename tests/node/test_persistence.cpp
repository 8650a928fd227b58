// Persistence wired into the node (persistence.cpp): SAVE/BGSAVE/save points/SHUTDOWN write an RDB
// that a restarted node loads; the AOF is written before the reply and fsynced per appendfsync, so
// a crash (FakeStorage's `durable` view: what fsync made durable) keeps exactly what was promised;
// replicas write the AOF from their primary's stream; a full resync carries the keys; disk errors
// refuse writes with Redis's -MISCONF errors.
#include <catch2/catch.hpp>

#include "node/aof.hpp"
#include "test_data_helpers.hpp"

namespace slotlab::testing {
namespace {

// A restart after a crash: only what was fsynced is on the disk.
void crash_into(FakeHost& from, FakeHost& to) { to.storage.files = from.storage.durable; to.storage.durable = from.storage.durable; }
// A restart after an orderly exit: everything written is there.
void restart_into(FakeHost& from, FakeHost& to) { to.storage.files = from.storage.files; to.storage.durable = from.storage.files; }

std::size_t keys_in(FakeHost& h) { return static_cast<std::size_t>(std::stoll(h.cmd({"DBSIZE"}).substr(1))); }

std::string field(const std::string& info, const std::string& name) {
  auto pos = info.find(name + ":");
  if (pos == std::string::npos) return "?";
  auto end = info.find("\r\n", pos);
  return info.substr(pos + name.size() + 1, end - pos - name.size() - 1);
}

}  // namespace

TEST_CASE("SAVE writes an RDB the next start loads; expired keys are dropped by a primary", "[persistence]") {
  FakeHost a;
  a.start(standalone_config());
  Conn c(a);
  CHECK(c({"SET", "s", "v"}) == "+OK\r\n");
  CHECK(c({"RPUSH", "l", "1", "2", "3"}) == ":3\r\n");
  CHECK(c({"HSET", "h", "f", "x"}) == ":1\r\n");
  CHECK(c({"SET", "short", "v", "PX", "500"}) == "+OK\r\n");
  CHECK(field(a.cmd({"INFO", "persistence"}), "rdb_changes_since_last_save") == "6");  // RPUSH counts each element, as in Redis
  CHECK(c({"SAVE"}) == "+OK\r\n");
  CHECK(field(a.cmd({"INFO", "persistence"}), "rdb_changes_since_last_save") == "0");
  REQUIRE(a.storage.durable.count("dump.rdb") == 1);
  CHECK(a.storage.files.count("temp-4242.rdb") == 0);
  // The file is a valid RDB with our four keys.
  auto decoded = rdb::decode(a.storage.durable["dump.rdb"]);
  REQUIRE(decoded);
  CHECK(decoded->keys == 4);

  FakeHost b;
  b.clock.now = a.clock.now + 1000;  // "short" expired while the node was down
  crash_into(a, b);
  b.start(standalone_config());
  CHECK(keys_in(b) == 3);
  CHECK(b.cmd({"GET", "s"}) == "$1\r\nv\r\n");
  CHECK(b.cmd({"LRANGE", "l", "0", "-1"}) == "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
  CHECK(b.cmd({"HGET", "h", "f"}) == "$1\r\nx\r\n");
  CHECK(b.log.contains("Done loading RDB, keys loaded: 3, keys expired: 1."));
}

TEST_CASE("a save point saves from the cron; SHUTDOWN saves unless NOSAVE", "[persistence]") {
  NodeConfig cfg = standalone_config();
  cfg.save = {{1, 2}};
  FakeHost a;
  a.start(cfg);
  Conn c(a);
  c({"SET", "a", "1"});
  a.advance(2000);
  CHECK(a.storage.files.count("dump.rdb") == 0);  // one change, the point needs two
  c({"SET", "b", "2"});
  a.advance(200);
  REQUIRE(a.storage.durable.count("dump.rdb") == 1);
  CHECK(a.log.contains("2 changes in 1 seconds. Saving..."));
  CHECK(rdb::decode(a.storage.durable["dump.rdb"])->keys == 2);

  c({"SET", "c", "3"});
  CHECK(c({"SHUTDOWN", "NOSAVE"}).empty());
  CHECK(a.process.exit_code == 0);
  CHECK(rdb::decode(a.storage.durable["dump.rdb"])->keys == 2);

  FakeHost b;
  restart_into(a, b);
  b.start(cfg);
  Conn d(b);
  d({"SET", "c", "3"});
  CHECK(d({"SHUTDOWN", "SAVE", "NOSAVE"}) == "-ERR syntax error\r\n");
  d({"SHUTDOWN"});
  CHECK(b.process.exit_code == 0);
  CHECK(rdb::decode(b.storage.durable["dump.rdb"])->keys == 3);
}

TEST_CASE("appendfsync always: the command is durable before its reply; a crash keeps every acknowledged write",
          "[persistence]") {
  NodeConfig cfg = standalone_config();
  cfg.appendonly = true;
  cfg.appendfsync = AppendFsync::always;
  cfg.save.clear();
  FakeHost a;
  a.start(cfg);
  CHECK(a.storage.files.count("appendonlydir/appendonly.aof.manifest") == 1);
  Conn c(a);
  for (int i = 0; i < 50; ++i) CHECK(c({"SET", "k" + std::to_string(i), std::to_string(i)}) == "+OK\r\n");
  CHECK(c({"INCR", "k7"}) == ":8\r\n");
  CHECK(c({"MULTI"}) == "+OK\r\n");
  c({"RPUSH", "l", "a"});
  c({"HSET", "h", "f", "v"});
  CHECK(c({"EXEC"}) == "*2\r\n:1\r\n:1\r\n");
  CHECK(field(a.cmd({"INFO", "persistence"}), "aof_enabled") == "1");

  FakeHost b;
  crash_into(a, b);
  b.start(cfg);
  CHECK(keys_in(b) == 52);
  CHECK(b.cmd({"GET", "k7"}) == "$1\r\n8\r\n");
  CHECK(b.cmd({"HGET", "h", "f"}) == "$1\r\nv\r\n");
  // The restarted node continues the same AOF.
  Conn d(b);
  CHECK(d({"DEL", "k0"}) == ":1\r\n");
  FakeHost e;
  crash_into(b, e);
  e.start(cfg);
  CHECK(keys_in(e) == 51);
}

TEST_CASE("appendfsync everysec loses at most the last second; no never fsyncs", "[persistence]") {
  NodeConfig cfg = standalone_config();
  cfg.appendonly = true;
  cfg.save.clear();
  SECTION("everysec") {
    cfg.appendfsync = AppendFsync::everysec;
    FakeHost a;
    a.start(cfg);
    a.advance(1500);
    Conn c(a);
    c({"SET", "early", "1"});
    a.advance(1100);  // the cron fsyncs
    c({"SET", "late", "2"});
    FakeHost b;
    crash_into(a, b);
    b.start(cfg);
    CHECK(b.cmd({"EXISTS", "early"}) == ":1\r\n");
    CHECK(b.cmd({"EXISTS", "late"}) == ":0\r\n");  // written, not fsynced: lost with the crash
  }
  SECTION("no") {
    cfg.appendfsync = AppendFsync::no;
    FakeHost a;
    a.start(cfg);
    Conn c(a);
    c({"SET", "x", "1"});
    a.advance(5000);
    FakeHost b;
    crash_into(a, b);
    b.start(cfg);
    CHECK(keys_in(b) == 0);
    // An orderly restart has it: the data was written, only not fsynced.
    FakeHost d;
    restart_into(a, d);
    d.start(cfg);
    CHECK(keys_in(d) == 1);
  }
}

TEST_CASE("CONFIG SET appendonly yes starts an AOF from the dataset; BGREWRITEAOF compacts it", "[persistence]") {
  NodeConfig cfg = standalone_config();
  cfg.save.clear();
  FakeHost a;
  a.start(cfg);
  Conn c(a);
  c({"SET", "before", "1"});
  CHECK(c({"CONFIG", "SET", "appendonly", "yes"}) == "+OK\r\n");
  c({"SET", "after", "2"});
  for (int i = 0; i < 20; ++i) c({"INCR", "n"});
  CHECK(c({"BGREWRITEAOF"}) == "+Background append only file rewriting started\r\n");
  c({"SET", "last", "3"});
  CHECK(c({"CONFIG", "SET", "appendfsync", "always"}) == "+OK\r\n");
  c({"SET", "synced", "4"});
  cfg.appendonly = true;
  FakeHost b;
  crash_into(a, b);
  b.start(cfg);
  CHECK(keys_in(b) == 5);
  CHECK(b.cmd({"GET", "n"}) == "$2\r\n20\r\n");
}

TEST_CASE("a replica writes its primary's stream to its AOF, and a full resync carries the keys", "[persistence]") {
  FakeHost p;
  p.start(standalone_config());
  Conn pc(p);
  pc({"SET", "a", "1"});
  pc({"HSET", "h", "f", "v"});
  ReplicaTap tap(p);
  // The snapshot after +FULLRESYNC holds the primary's keys.
  std::string sent;
  for (auto& s : p.transport.conns[tap.id].sent) sent += s;
  auto rdb_at = sent.find("REDIS0010");
  REQUIRE(rdb_at != std::string::npos);
  auto decoded = rdb::decode(std::string_view(sent).substr(rdb_at));
  REQUIRE(decoded);
  CHECK(decoded->keys == 2);

  // A clustered replica ('d', primary 'a' at 10.0.0.1) with appendonly.
  NodeConfig cfg = clustered_config();
  cfg.appendonly = true;
  cfg.appendfsync = AppendFsync::always;
  FakeHost r;
  r.storage.files["nodes.conf"] = cluster_nodes_conf('d');
  r.start(cfg);
  ConnId link = sync_replica_link(r, "10.0.0.1");
  REQUIRE(link != kNoConn);
  const std::string x = key_in(0, 5460), l = key_in(0, 5460, 1);  // slots of our primary 'a'
  r.node->on_bytes(link, resp::encode_command({"SELECT", "0"}) + resp::encode_command({"SET", x, "1"}) +
                             resp::encode_command({"MULTI"}) + resp::encode_command({"INCR", x}) +
                             resp::encode_command({"RPUSH", l, "q"}) + resp::encode_command({"EXEC"}));
  Conn rc(r);
  CHECK(rc({"READONLY"}) == "+OK\r\n");
  CHECK(rc({"GET", x}) == "$1\r\n2\r\n");
  // Fsynced by the cron at latest (no reply goes to the primary); appendfsync always flushes on the tick too.
  r.advance(100);
  auto loaded = aof::AofLoader(r.storage, aof::Options{}).load();
  REQUIRE(loaded);
  std::vector<std::string> names;
  for (const auto& cmd : loaded->commands) names.push_back(to_upper(cmd.argv[0]));
  CHECK(names == std::vector<std::string>{"SET", "MULTI", "INCR", "RPUSH", "EXEC"});
}

TEST_CASE("a failed save refuses writes with -MISCONF until a save works", "[persistence]") {
  NodeConfig cfg = standalone_config();
  cfg.save = {{3600, 1}};
  FakeHost a;
  a.start(cfg);
  Conn c(a);
  c({"SET", "a", "1"});
  a.storage.fail_writes = true;
  CHECK(c({"BGSAVE"}) == "+Background saving started\r\n");
  CHECK(field(a.cmd({"INFO", "persistence"}), "rdb_last_bgsave_status") == "err");
  std::string refused = c({"SET", "b", "2"});
  CHECK(refused.rfind("-MISCONF Redis is configured to save RDB snapshots", 0) == 0);
  CHECK(c({"GET", "a"}) == "$1\r\n1\r\n");  // reads still work
  a.storage.fail_writes = false;
  CHECK(c({"SAVE"}) == "+OK\r\n");
  CHECK(c({"SET", "b", "2"}) == "+OK\r\n");
}

TEST_CASE("an AOF write error under appendfsync always stops the node before it acknowledges", "[persistence]") {
  NodeConfig cfg = standalone_config();
  cfg.appendonly = true;
  cfg.appendfsync = AppendFsync::always;
  cfg.save.clear();
  FakeHost a;
  a.start(cfg);
  Conn c(a);
  CHECK(c({"SET", "a", "1"}) == "+OK\r\n");
  a.storage.fail_writes = true;
  CHECK(c({"SET", "b", "2"}).empty());  // no reply: the write is not durable
  CHECK(a.process.exit_code == 1);
  CHECK(a.log.contains("Can't recover from AOF write error when the AOF fsync policy is 'always'"));
}

TEST_CASE("a corrupt RDB or AOF stops the start with the file and the reason", "[persistence]") {
  FakeHost a;
  a.storage.files["dump.rdb"] = "REDIS0010garbage";
  a.node = std::make_unique<Node>(a.env(), standalone_config());
  auto r = a.node->start();
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("dump.rdb") != std::string::npos);

  NodeConfig cfg = standalone_config();
  cfg.appendonly = true;
  FakeHost b;
  b.storage.files["appendonlydir/appendonly.aof.manifest"] = "file appendonly.aof.1.incr.aof seq 1 type i\n";
  b.storage.files["appendonlydir/appendonly.aof.1.incr.aof"] = "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$9\r\nNOSUCHCMD\r\n";
  b.node = std::make_unique<Node>(b.env(), cfg);
  auto r2 = b.node->start();
  REQUIRE_FALSE(r2);
  CHECK(r2.error().message.find("NOSUCHCMD") != std::string::npos);
}

TEST_CASE("a primary restarting with keys of a slot it no longer owns imports them; unowned slots are claimed",
          "[persistence]") {
  NodeConfig cfg = clustered_config();
  cfg.save.clear();
  FakeHost a;
  a.storage.files["nodes.conf"] = cluster_nodes_conf('a');
  a.start(cfg);
  // Write keys of b's and an unassigned slot directly into a's RDB via a standalone node.
  FakeHost s;
  s.start(standalone_config());
  std::string kb = key_in(5461, 10922);
  s.cmd({"SET", kb, "1"});
  s.cmd({"SAVE"});
  // Slot ownership: drop c's range so its keys are in an unassigned slot.
  std::string conf = cluster_nodes_conf('a');
  conf.replace(conf.find(" 10923-16383"), 12, "");
  std::string kc = key_in(10923, 16383);
  s.cmd({"SET", kc, "2"});
  s.cmd({"SAVE"});
  FakeHost b;
  b.storage.files["nodes.conf"] = conf;
  b.storage.files["dump.rdb"] = s.storage.files["dump.rdb"];
  b.start(cfg);
  CHECK(b.log.contains(fmt::format("I have keys for slot {}, but the slot is assigned to another node. Setting it to importing state.",
                                   key_hash_slot(kb))));
  CHECK(b.log.contains(fmt::format("I have keys for unassigned slot {}. Taking responsibility for it.", key_hash_slot(kc))));
  std::string nodes = b.cmd({"CLUSTER", "NODES"});
  CHECK(nodes.find(fmt::format("[{}-<-{}]", key_hash_slot(kb), id_of('b'))) != std::string::npos);
}

}  // namespace slotlab::testing

namespace slotlab::testing {

// PSYNC on the primary side: a replica that comes back with the replication ID and an offset the
// backlog still holds gets +CONTINUE and exactly the bytes after its offset; an unknown ID or an
// offset outside the backlog gets a full resynchronisation.
TEST_CASE("replication resync: partial from the backlog, full when the ID or offset does not match", "[replication]") {
  FakeHost p;
  p.start(standalone_config());
  Conn pc(p);
  ReplicaTap tap(p);
  std::string first;
  for (auto& s : p.transport.conns[tap.id].sent) first += s;
  auto fr = first.find("+FULLRESYNC ");
  REQUIRE(fr != std::string::npos);
  std::string replid = first.substr(fr + 12, 40);
  const std::int64_t start = std::stoll(first.substr(fr + 53, first.find("\r\n", fr) - fr - 53));
  pc({"SET", "a", "1"});
  pc({"SET", "b", "2"});
  auto stream_cmds = tap.commands();
  REQUIRE(stream_cmds.size() >= 3);  // SELECT, SET, SET
  // The replica got everything up to the primary's offset; it reconnects asking from the middle.
  std::string info = p.cmd({"INFO", "replication"});
  auto off_pos = info.find("master_repl_offset:");
  const std::int64_t end = std::stoll(info.substr(off_pos + 19));
  std::string tail_bytes = resp::encode_command({"SET", "b", "2"});
  const std::int64_t from = end - static_cast<std::int64_t>(tail_bytes.size()) + 1;  // PSYNC asks for the next byte
  REQUIRE(from > start);

  auto psync = [&](const std::string& id, std::int64_t offset) {
    ConnId c = p.transport.add_inbound(Endpoint{"10.9.9.8", 40001});
    p.node->on_accept(ListenerKind::data, c, Endpoint{"10.9.9.8", 40001});
    p.node->on_bytes(c, resp::encode_command({"REPLCONF", "capa", "psync2"}));
    p.node->on_bytes(c, resp::encode_command({"PSYNC", id, std::to_string(offset)}));
    std::string out;
    for (auto& s : p.transport.conns[c].sent) out += s;
    return out.rfind("+OK\r\n", 0) == 0 ? out.substr(5) : out;
  };
  std::string cont = psync(replid, from);
  CHECK(cont == "+CONTINUE " + replid + "\r\n" + tail_bytes);
  CHECK(psync(replid, end + 1) == "+CONTINUE " + replid + "\r\n");  // nothing missing
  CHECK(psync(std::string(40, 'e'), from).rfind("+FULLRESYNC " + replid, 0) == 0);  // unknown ID
  CHECK(psync(replid, end + 1000).rfind("+FULLRESYNC ", 0) == 0);                    // beyond the backlog
  CHECK(p.log.contains("Partial resynchronization request from 10.9.9.8:0 accepted"));
}

}  // namespace slotlab::testing
