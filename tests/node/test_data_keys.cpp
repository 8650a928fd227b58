// Keyspace commands on one node: DEL/EXISTS/TYPE, the EXPIRE family and its propagation, KEYS,
// SCAN's slot cursor, FLUSHALL/FLUSHDB/DBSIZE/RANDOMKEY/SELECT, INFO's keyspace section, and
// active expiry on the FakeHost clock. Tagged [data].
#include <catch2/catch.hpp>

#include <set>

#include "test_data_helpers.hpp"

using namespace slotlab;
using namespace slotlab::testing;

namespace {
std::string bulk(const std::string& s) { return fmt::format("${}\r\n{}\r\n", s.size(), s); }

// The bulk strings of a flat reply (keys of KEYS, or of SCAN's second element).
std::vector<std::string> bulks(const std::string& reply) {
  resp::ReplyParser p;
  p.feed(reply);
  resp::Value v;
  std::string err;
  std::vector<std::string> out;
  if (p.next(v, err) != resp::ReplyParser::Status::value) return out;
  const resp::Value* list = &v;
  if (v.elements.size() == 2 && v.elements[1].type == resp::Type::array) list = &v.elements[1];
  for (const auto& e : list->elements) out.push_back(e.str);
  return out;
}
std::string scan_cursor(const std::string& reply) {
  resp::ReplyParser p;
  p.feed(reply);
  resp::Value v;
  std::string err;
  p.next(v, err);
  return v.elements.empty() ? std::string() : v.elements[0].str;
}
}  // namespace

TEST_CASE("DEL, UNLINK, EXISTS, TOUCH, TYPE", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  h.cmd({"SET", "a", "1"});
  h.cmd({"RPUSH", "b", "x"});
  h.cmd({"HSET", "c", "f", "v"});
  CHECK(h.cmd({"TYPE", "a"}) == "+string\r\n");
  CHECK(h.cmd({"TYPE", "b"}) == "+list\r\n");
  CHECK(h.cmd({"TYPE", "c"}) == "+hash\r\n");
  CHECK(h.cmd({"TYPE", "z"}) == "+none\r\n");
  CHECK(h.cmd({"EXISTS", "a", "b", "z", "a"}) == ":3\r\n");
  CHECK(h.cmd({"TOUCH", "a", "z"}) == ":1\r\n");
  CHECK(h.cmd({"DEL", "a", "z", "b"}) == ":2\r\n");
  CHECK(h.cmd({"UNLINK", "c", "c"}) == ":1\r\n");
  CHECK(h.cmd({"DBSIZE"}) == ":0\r\n");
  CHECK(h.cmd({"DEL"}) == "-ERR wrong number of arguments for 'del' command\r\n");
}

TEST_CASE("EXPIRE family: NX/XX/GT/LT, errors, TTL/PTTL/PERSIST", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  h.cmd({"SET", "k", "v"});
  CHECK(h.cmd({"EXPIRE", "none", "10"}) == ":0\r\n");
  CHECK(h.cmd({"TTL", "k"}) == ":-1\r\n");
  CHECK(h.cmd({"TTL", "none"}) == ":-2\r\n");
  CHECK(h.cmd({"EXPIRE", "k", "100", "XX"}) == ":0\r\n");
  CHECK(h.cmd({"EXPIRE", "k", "100", "GT"}) == ":0\r\n");  // no TTL is an infinite one
  CHECK(h.cmd({"EXPIRE", "k", "100", "NX"}) == ":1\r\n");
  CHECK(h.cmd({"EXPIRE", "k", "200", "NX"}) == ":0\r\n");
  CHECK(h.cmd({"EXPIRE", "k", "50", "GT"}) == ":0\r\n");
  CHECK(h.cmd({"EXPIRE", "k", "150", "GT"}) == ":1\r\n");
  CHECK(h.cmd({"EXPIRE", "k", "160", "LT"}) == ":0\r\n");
  CHECK(h.cmd({"PEXPIRE", "k", "90500", "LT", "XX"}) == ":1\r\n");
  CHECK(h.cmd({"TTL", "k"}) == ":91\r\n");  // rounded
  CHECK(h.cmd({"PTTL", "k"}) == ":90500\r\n");
  CHECK(h.cmd({"PEXPIRETIME", "k"}) == fmt::format(":{}\r\n", h.clock.now + 90500));
  CHECK(h.cmd({"EXPIREAT", "k", std::to_string(h.clock.now / 1000 + 1000)}) == ":1\r\n");
  CHECK(h.cmd({"PEXPIREAT", "k", std::to_string(h.clock.now + 5000)}) == ":1\r\n");
  CHECK(h.cmd({"PTTL", "k"}) == ":5000\r\n");
  CHECK(h.cmd({"PERSIST", "k"}) == ":1\r\n");
  CHECK(h.cmd({"PERSIST", "k"}) == ":0\r\n");
  CHECK(h.cmd({"PERSIST", "none"}) == ":0\r\n");
  CHECK(h.cmd({"EXPIRE", "k", "10", "NX", "XX"}) ==
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
  CHECK(h.cmd({"EXPIRE", "k", "10", "GT", "LT"}) == "-ERR GT and LT options at the same time are not compatible\r\n");
  CHECK(h.cmd({"EXPIRE", "k", "10", "FOO"}) == "-ERR Unsupported option FOO\r\n");
  CHECK(h.cmd({"EXPIRE", "k", "ten"}) == "-ERR value is not an integer or out of range\r\n");
  CHECK(h.cmd({"EXPIRE", "k", "9223372036854775807"}) == "-ERR invalid expire time in 'expire' command\r\n");
  CHECK(h.cmd({"PEXPIRE", "k", "9223372036854775807"}) == "-ERR invalid expire time in 'pexpire' command\r\n");
  // A time in the past deletes the key.
  CHECK(h.cmd({"EXPIRE", "k", "-1"}) == ":1\r\n");
  CHECK(h.cmd({"EXISTS", "k"}) == ":0\r\n");
}

TEST_CASE("expiry commands propagate as PEXPIREAT, or DEL when already expired", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  ReplicaTap tap(h);
  Millis now = h.clock.now;
  h.cmd({"SET", "k", "v"});
  h.cmd({"EXPIRE", "k", "100", "NX"});
  h.cmd({"PEXPIRE", "k", "5000"});
  h.cmd({"EXPIREAT", "k", std::to_string(now / 1000 + 60)});
  h.cmd({"PEXPIREAT", "k", std::to_string(now + 7000)});
  h.cmd({"EXPIRE", "k", "100", "NX"});  // refused: not propagated
  h.cmd({"PERSIST", "k"});
  h.cmd({"PEXPIREAT", "k", "1"});
  h.cmd({"DEL", "k"});  // already gone: nothing
  auto cmds = tap.commands();
  std::vector<Args> want = {
      {"SELECT", "0"},
      {"SET", "k", "v"},
      {"PEXPIREAT", "k", std::to_string(now + 100000), "NX"},
      {"PEXPIREAT", "k", std::to_string(now + 5000)},
      {"PEXPIREAT", "k", std::to_string((now / 1000 + 60) * 1000)},
      {"PEXPIREAT", "k", std::to_string(now + 7000)},
      {"PERSIST", "k"},
      {"DEL", "k"},
  };
  CHECK(cmds == want);
}

TEST_CASE("KEYS matches globs in slot order and skips expired keys", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  for (const char* k : {"user:1", "user:2", "user:10", "item:1", "u"}) h.cmd({"SET", k, "v"});
  h.cmd({"SET", "user:3", "v", "PX", "10"});
  h.clock.now += 11;
  auto keys = bulks(h.cmd({"KEYS", "user:*"}));
  CHECK(std::set<std::string>(keys.begin(), keys.end()) == std::set<std::string>{"user:1", "user:2", "user:10"});
  auto all = bulks(h.cmd({"KEYS", "*"}));
  CHECK(all.size() == 5);
  // Slot order: the same order CLUSTER GETKEYSINSLOT and SCAN see.
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(key_hash_slot(all[i - 1]) <= key_hash_slot(all[i]));
  CHECK(bulks(h.cmd({"KEYS", "user:?"})).size() == 2);
  CHECK(bulks(h.cmd({"KEYS", "[iu]*:1"})).size() == 2);
  CHECK(h.cmd({"DBSIZE"}) == ":6\r\n");  // the expired key is still there, just not listed
}

TEST_CASE("SCAN walks slots: every key exactly once, MATCH, COUNT, TYPE, errors", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  std::set<std::string> expect;
  for (int i = 0; i < 300; ++i) {
    std::string k = "key:" + std::to_string(i);
    h.cmd({"SET", k, "v"});
    expect.insert(k);
  }
  h.cmd({"RPUSH", "alist", "x"});
  std::multiset<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    std::string reply = h.cmd({"SCAN", cursor, "COUNT", "25"});
    auto keys = bulks(reply);
    CHECK(keys.size() >= 1);
    seen.insert(keys.begin(), keys.end());
    cursor = scan_cursor(reply);
    ++calls;
    // Keys added behind the cursor are not promised, keys present throughout are.
    if (calls == 3) h.cmd({"SET", "late", "v"});
  } while (cursor != "0" && calls < 1000);
  CHECK(calls > 5);
  for (const auto& k : expect) CHECK(seen.count(k) == 1);
  CHECK(seen.count("alist") == 1);

  std::set<std::string> matched;
  cursor = "0";
  do {
    std::string reply = h.cmd({"SCAN", cursor, "MATCH", "key:1?", "COUNT", "1000"});
    for (auto& k : bulks(reply)) matched.insert(k);
    cursor = scan_cursor(reply);
  } while (cursor != "0");
  CHECK(matched.size() == 10);
  std::string lists = h.cmd({"SCAN", "0", "TYPE", "list", "COUNT", "100000"});
  CHECK(lists == "*2\r\n$1\r\n0\r\n*1\r\n$5\r\nalist\r\n");
  CHECK(h.cmd({"SCAN", "abc"}) == "-ERR invalid cursor\r\n");
  CHECK(h.cmd({"SCAN", "0", "COUNT", "0"}) == "-ERR syntax error\r\n");
  CHECK(h.cmd({"SCAN", "0", "BOGUS", "1"}) == "-ERR syntax error\r\n");
  CHECK(h.cmd({"SCAN", "16384"}) == "*2\r\n$1\r\n0\r\n*0\r\n");
}

TEST_CASE("FLUSHDB, FLUSHALL, SELECT, DBSIZE, RANDOMKEY and INFO keyspace", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  CHECK(h.cmd({"RANDOMKEY"}) == "$-1\r\n");
  CHECK(h.node->info_text("keyspace") == "# Keyspace\r\n");
  h.cmd({"SET", "a", "1"});
  h.cmd({"SET", "b", "2", "EX", "100"});
  CHECK(h.node->info_text("keyspace") == "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n");
  std::string r = h.cmd({"RANDOMKEY"});
  CHECK((r == bulk("a") || r == bulk("b")));
  CHECK(h.cmd({"DBSIZE"}) == ":2\r\n");
  CHECK(h.cmd({"SELECT", "16"}) == "-ERR DB index is out of range\r\n");
  CHECK(h.cmd({"FLUSHDB", "LATER"}) == "-ERR syntax error\r\n");
  CHECK(h.cmd({"FLUSHALL", "ASYNC", "SYNC"}) == "-ERR syntax error\r\n");
  ReplicaTap tap(h);
  CHECK(h.cmd({"FLUSHDB", "SYNC"}) == "+OK\r\n");
  CHECK(h.cmd({"DBSIZE"}) == ":0\r\n");
  CHECK(h.cmd({"FLUSHALL"}) == "+OK\r\n");  // propagated even when there was nothing to flush
  auto cmds = tap.commands();
  CHECK(cmds == std::vector<Args>{{"SELECT", "0"}, {"FLUSHDB", "SYNC"}, {"FLUSHALL"}});
}

TEST_CASE("SELECT is refused in cluster mode and INFO keyspace lists db0 once it has keys", "[data]") {
  FakeHost h;
  h.start(clustered_config());
  CHECK(h.cmd({"SELECT", "1"}) == "-ERR SELECT is not allowed in cluster mode\r\n");
  CHECK(h.cmd({"SELECT", "0"}) == "+OK\r\n");
  CHECK(h.node->info_text("").find("db0:") == std::string::npos);
  CHECK(h.cmd({"CLUSTER", "ADDSLOTSRANGE", "0", "16383"}) == "+OK\r\n");
  h.advance(2100);  // past the writable delay: cluster_state ok
  CHECK(h.cmd({"SET", "foo", "bar"}) == "+OK\r\n");
  CHECK(h.node->info_text("").find("db0:keys=1,expires=0,avg_ttl=0\r\n") != std::string::npos);
}

TEST_CASE("active expiry reclaims keys nobody reads, a bounded number per tick, and propagates DEL", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  for (int i = 0; i < 1500; ++i) h.cmd({"SET", "k" + std::to_string(i), "v", "PX", "50"});
  h.cmd({"SET", "keep", "v"});
  h.cmd({"SET", "later", "v", "EX", "100"});
  ReplicaTap tap(h);
  CHECK(h.cmd({"DBSIZE"}) == ":1502\r\n");
  h.advance(100);  // one tick: at most 1000 keys
  CHECK(h.cmd({"DBSIZE"}) == ":502\r\n");
  h.advance(100);
  CHECK(h.cmd({"DBSIZE"}) == ":2\r\n");
  auto cmds = tap.commands();
  std::size_t dels = 0;
  for (const auto& c : cmds)
    if (c[0] == "DEL") ++dels;
  CHECK(dels == 1500);
  for (const auto& c : cmds) CHECK(c[0] != "MULTI");  // never wrapped
  CHECK(h.cmd({"TTL", "later"}) == ":100\r\n");
}
