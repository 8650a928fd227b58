// List and hash commands on one standalone node: replies and error bytes as Redis 7.0 sends them,
// empty containers disappearing, and propagation only of what changed. Tagged [data].
#include <catch2/catch.hpp>

#include "test_data_helpers.hpp"

using namespace slotlab;
using namespace slotlab::testing;

namespace {
const std::string kWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const std::string kNotInt = "-ERR value is not an integer or out of range\r\n";
std::string bulk(const std::string& s) { return fmt::format("${}\r\n{}\r\n", s.size(), s); }
std::string arr(const std::vector<std::string>& items) {
  std::string out = fmt::format("*{}\r\n", items.size());
  for (const auto& i : items) out += bulk(i);
  return out;
}
}  // namespace

TEST_CASE("LPUSH/RPUSH/LRANGE/LLEN/LINDEX/LSET/LINSERT", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  CHECK(h.cmd({"LPUSHX", "l", "a"}) == ":0\r\n");
  CHECK(h.cmd({"EXISTS", "l"}) == ":0\r\n");
  CHECK(h.cmd({"LPUSH", "l", "a", "b", "c"}) == ":3\r\n");
  CHECK(h.cmd({"RPUSH", "l", "d"}) == ":4\r\n");
  CHECK(h.cmd({"RPUSHX", "l", "e"}) == ":5\r\n");
  CHECK(h.cmd({"LRANGE", "l", "0", "-1"}) == arr({"c", "b", "a", "d", "e"}));
  CHECK(h.cmd({"LRANGE", "l", "-2", "100"}) == arr({"d", "e"}));
  CHECK(h.cmd({"LRANGE", "l", "3", "1"}) == "*0\r\n");
  CHECK(h.cmd({"LRANGE", "l", "x", "1"}) == kNotInt);
  CHECK(h.cmd({"LRANGE", "none", "0", "-1"}) == "*0\r\n");
  CHECK(h.cmd({"LLEN", "l"}) == ":5\r\n");
  CHECK(h.cmd({"LLEN", "none"}) == ":0\r\n");
  CHECK(h.cmd({"LINDEX", "l", "0"}) == bulk("c"));
  CHECK(h.cmd({"LINDEX", "l", "-1"}) == bulk("e"));
  CHECK(h.cmd({"LINDEX", "l", "5"}) == "$-1\r\n");
  CHECK(h.cmd({"LINDEX", "none", "x"}) == "$-1\r\n");  // the key is looked up first
  CHECK(h.cmd({"LSET", "l", "1", "B"}) == "+OK\r\n");
  CHECK(h.cmd({"LSET", "l", "-6", "x"}) == "-ERR index out of range\r\n");
  CHECK(h.cmd({"LSET", "none", "0", "x"}) == "-ERR no such key\r\n");
  CHECK(h.cmd({"LINSERT", "l", "BEFORE", "a", "z"}) == ":6\r\n");
  CHECK(h.cmd({"LINSERT", "l", "AFTER", "nope", "z"}) == ":-1\r\n");
  CHECK(h.cmd({"LINSERT", "l", "MIDDLE", "a", "z"}) == "-ERR syntax error\r\n");
  CHECK(h.cmd({"LRANGE", "l", "0", "-1"}) == arr({"c", "B", "z", "a", "d", "e"}));
  CHECK(h.cmd({"SET", "s", "v"}) == "+OK\r\n");
  CHECK(h.cmd({"LPUSH", "s", "x"}) == kWrongType);
  CHECK(h.cmd({"LRANGE", "s", "0", "1"}) == kWrongType);
  CHECK(h.cmd({"LPUSH", "s"}) == "-ERR wrong number of arguments for 'lpush' command\r\n");
}

TEST_CASE("LPOP and RPOP with and without a count, LREM, LTRIM, and empty lists disappear", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  CHECK(h.cmd({"RPUSH", "l", "1", "2", "3", "4", "5"}) == ":5\r\n");
  CHECK(h.cmd({"LPOP", "l"}) == bulk("1"));
  CHECK(h.cmd({"RPOP", "l"}) == bulk("5"));
  CHECK(h.cmd({"LPOP", "l", "2"}) == arr({"2", "3"}));
  CHECK(h.cmd({"LPOP", "l", "0"}) == "*0\r\n");
  CHECK(h.cmd({"LPOP", "l", "-1"}) == "-ERR value is out of range, must be positive\r\n");
  CHECK(h.cmd({"LPOP", "l", "x"}) == kNotInt);
  CHECK(h.cmd({"LPOP", "l", "1", "2"}) == "-ERR wrong number of arguments for 'lpop' command\r\n");
  CHECK(h.cmd({"RPOP", "l", "10"}) == arr({"4"}));
  CHECK(h.cmd({"EXISTS", "l"}) == ":0\r\n");
  CHECK(h.cmd({"LPOP", "l"}) == "$-1\r\n");
  CHECK(h.cmd({"LPOP", "l", "3"}) == "*-1\r\n");
  CHECK(h.cmd({"RPUSH", "r", "a", "b", "c"}) == ":3\r\n");
  CHECK(h.cmd({"RPOP", "r", "2"}) == arr({"c", "b"}));

  CHECK(h.cmd({"RPUSH", "m", "x", "y", "x", "z", "x"}) == ":5\r\n");
  CHECK(h.cmd({"LREM", "m", "-2", "x"}) == ":2\r\n");
  CHECK(h.cmd({"LRANGE", "m", "0", "-1"}) == arr({"x", "y", "z"}));
  CHECK(h.cmd({"LREM", "m", "0", "nope"}) == ":0\r\n");
  CHECK(h.cmd({"LREM", "m", "1", "x"}) == ":1\r\n");
  CHECK(h.cmd({"LTRIM", "m", "1", "-1"}) == "+OK\r\n");
  CHECK(h.cmd({"LRANGE", "m", "0", "-1"}) == arr({"z"}));
  CHECK(h.cmd({"LTRIM", "m", "5", "10"}) == "+OK\r\n");
  CHECK(h.cmd({"EXISTS", "m"}) == ":0\r\n");
  CHECK(h.cmd({"LTRIM", "none", "0", "1"}) == "+OK\r\n");
}

TEST_CASE("list commands propagate only when they changed something", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  ReplicaTap tap(h);
  h.cmd({"RPUSH", "l", "a", "b", "c"});
  h.cmd({"LTRIM", "l", "0", "-1"});  // removes nothing
  h.cmd({"LREM", "l", "0", "zz"});   // removes nothing
  h.cmd({"LPOP", "none"});
  h.cmd({"LPOP", "l", "0"});
  h.cmd({"RPOP", "l", "2"});
  h.cmd({"LPUSHX", "none", "x"});
  h.cmd({"LSET", "l", "0", "A"});
  auto cmds = tap.commands();
  std::vector<Args> want = {{"SELECT", "0"}, {"RPUSH", "l", "a", "b", "c"}, {"RPOP", "l", "2"}, {"LSET", "l", "0", "A"}};
  CHECK(cmds == want);
}

TEST_CASE("HSET/HMSET/HSETNX/HGET/HMGET/HGETALL/HKEYS/HVALS/HLEN/HEXISTS/HDEL", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  CHECK(h.cmd({"HSET", "h", "f1", "v1", "f2", "v2"}) == ":2\r\n");
  CHECK(h.cmd({"HSET", "h", "f1", "V1", "f3", "v3"}) == ":1\r\n");
  CHECK(h.cmd({"HSET", "h", "f1"}) == "-ERR wrong number of arguments for 'hset' command\r\n");
  CHECK(h.cmd({"HSET", "h", "f1", "v", "f2"}) == "-ERR wrong number of arguments for 'hset' command\r\n");
  CHECK(h.cmd({"HMSET", "h", "f4", "v4"}) == "+OK\r\n");
  CHECK(h.cmd({"HSETNX", "h", "f4", "x"}) == ":0\r\n");
  CHECK(h.cmd({"HSETNX", "h", "f5", "v5"}) == ":1\r\n");
  CHECK(h.cmd({"HGET", "h", "f1"}) == bulk("V1"));
  CHECK(h.cmd({"HGET", "h", "nope"}) == "$-1\r\n");
  CHECK(h.cmd({"HGET", "none", "f"}) == "$-1\r\n");
  CHECK(h.cmd({"HMGET", "h", "f2", "nope", "f3"}) == "*3\r\n$2\r\nv2\r\n$-1\r\n$2\r\nv3\r\n");
  CHECK(h.cmd({"HMGET", "none", "a", "b"}) == "*2\r\n$-1\r\n$-1\r\n");
  CHECK(h.cmd({"HGETALL", "h"}) == arr({"f1", "V1", "f2", "v2", "f3", "v3", "f4", "v4", "f5", "v5"}));
  CHECK(h.cmd({"HKEYS", "h"}) == arr({"f1", "f2", "f3", "f4", "f5"}));
  CHECK(h.cmd({"HVALS", "h"}) == arr({"V1", "v2", "v3", "v4", "v5"}));
  CHECK(h.cmd({"HGETALL", "none"}) == "*0\r\n");
  CHECK(h.cmd({"HLEN", "h"}) == ":5\r\n");
  CHECK(h.cmd({"HSTRLEN", "h", "f1"}) == ":2\r\n");
  CHECK(h.cmd({"HEXISTS", "h", "f2"}) == ":1\r\n");
  CHECK(h.cmd({"HEXISTS", "h", "zz"}) == ":0\r\n");
  CHECK(h.cmd({"HDEL", "h", "f1", "f2", "nope"}) == ":2\r\n");
  CHECK(h.cmd({"HKEYS", "h"}) == arr({"f3", "f4", "f5"}));
  CHECK(h.cmd({"HDEL", "h", "f3", "f4", "f5"}) == ":3\r\n");
  CHECK(h.cmd({"EXISTS", "h"}) == ":0\r\n");
  CHECK(h.cmd({"HDEL", "h", "f3"}) == ":0\r\n");
  CHECK(h.cmd({"SET", "s", "v"}) == "+OK\r\n");
  CHECK(h.cmd({"HGET", "s", "f"}) == kWrongType);
  CHECK(h.cmd({"HSET", "s", "f", "v"}) == kWrongType);
  CHECK(h.cmd({"HMGET", "s", "f"}) == kWrongType);
  CHECK(h.cmd({"HGETALL", "s"}) == kWrongType);
}

TEST_CASE("HINCRBY and HINCRBYFLOAT", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  ReplicaTap tap(h);
  CHECK(h.cmd({"HINCRBY", "h", "n", "5"}) == ":5\r\n");
  CHECK(h.cmd({"HINCRBY", "h", "n", "-7"}) == ":-2\r\n");
  CHECK(h.cmd({"HINCRBY", "h", "n", "x"}) == kNotInt);
  CHECK(h.cmd({"HSET", "h", "s", "abc", "big", "9223372036854775807"}) == ":2\r\n");
  CHECK(h.cmd({"HINCRBY", "h", "s", "1"}) == "-ERR hash value is not an integer\r\n");
  CHECK(h.cmd({"HINCRBY", "h", "big", "1"}) == "-ERR increment or decrement would overflow\r\n");
  CHECK(h.cmd({"HINCRBYFLOAT", "h", "f", "1.25"}) == bulk("1.25"));
  CHECK(h.cmd({"HINCRBYFLOAT", "h", "f", "0.75"}) == bulk("2"));
  CHECK(h.cmd({"HINCRBYFLOAT", "h", "s", "1"}) == "-ERR hash value is not a float\r\n");
  CHECK(h.cmd({"HINCRBYFLOAT", "h", "f", "x"}) == "-ERR value is not a valid float\r\n");
  auto cmds = tap.commands();
  REQUIRE(cmds.size() == 6);
  CHECK(cmds[1] == Args{"HINCRBY", "h", "n", "5"});
  CHECK(cmds[4] == Args{"HSET", "h", "f", "1.25"});
  CHECK(cmds[5] == Args{"HSET", "h", "f", "2"});
}
