// String commands on one standalone node: replies and error bytes as Redis 7.0 sends them, TTL
// handling, and what each command propagates to a replica. Tagged [data].
#include <catch2/catch.hpp>

#include "test_data_helpers.hpp"

using namespace slotlab;
using namespace slotlab::testing;

namespace {
const std::string kWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const std::string kNotInt = "-ERR value is not an integer or out of range\r\n";
const std::string kSyntax = "-ERR syntax error\r\n";
std::string bulk(const std::string& s) { return fmt::format("${}\r\n{}\r\n", s.size(), s); }
}  // namespace

TEST_CASE("GET and SET with NX, XX, GET and KEEPTTL", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  CHECK(h.cmd({"GET", "k"}) == "$-1\r\n");
  CHECK(h.cmd({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(h.cmd({"GET", "k"}) == bulk("v"));
  CHECK(h.cmd({"SET", "k", "w", "NX"}) == "$-1\r\n");
  CHECK(h.cmd({"GET", "k"}) == bulk("v"));
  CHECK(h.cmd({"SET", "other", "w", "XX"}) == "$-1\r\n");
  CHECK(h.cmd({"EXISTS", "other"}) == ":0\r\n");
  CHECK(h.cmd({"SET", "k", "w", "XX", "GET"}) == bulk("v"));
  CHECK(h.cmd({"SET", "new", "x", "GET"}) == "$-1\r\n");
  CHECK(h.cmd({"SET", "k", "v", "NX", "XX"}) == kSyntax);
  CHECK(h.cmd({"SET", "k", "v", "EX"}) == kSyntax);
  CHECK(h.cmd({"SET", "k", "v", "EX", "10", "PX", "100"}) == kSyntax);
  CHECK(h.cmd({"SET", "k", "v", "KEEPTTL", "EX", "10"}) == kSyntax);
  CHECK(h.cmd({"SET", "k", "v", "EX", "0"}) == "-ERR invalid expire time in 'set' command\r\n");
  CHECK(h.cmd({"SET", "k", "v", "PX", "-5"}) == "-ERR invalid expire time in 'set' command\r\n");
  CHECK(h.cmd({"SET", "k", "v", "EX", "x"}) == kNotInt);
  CHECK(h.cmd({"SET", "k", "v", "EX", "9223372036854776"}) == "-ERR invalid expire time in 'set' command\r\n");
  CHECK(h.cmd({"SET", "k"}) == "-ERR wrong number of arguments for 'set' command\r\n");

  // TTLs: SET drops one, KEEPTTL keeps it.
  CHECK(h.cmd({"SET", "t", "1", "EX", "100"}) == "+OK\r\n");
  CHECK(h.cmd({"TTL", "t"}) == ":100\r\n");
  CHECK(h.cmd({"SET", "t", "2", "KEEPTTL"}) == "+OK\r\n");
  CHECK(h.cmd({"TTL", "t"}) == ":100\r\n");
  CHECK(h.cmd({"SET", "t", "3"}) == "+OK\r\n");
  CHECK(h.cmd({"TTL", "t"}) == ":-1\r\n");
  CHECK(h.cmd({"SET", "t", "4", "PXAT", std::to_string(h.clock.now + 1500)}) == "+OK\r\n");
  CHECK(h.cmd({"PTTL", "t"}) == ":1500\r\n");
  CHECK(h.cmd({"SET", "t", "5", "EXAT", std::to_string(h.clock.now / 1000 + 20)}) == "+OK\r\n");
  CHECK(h.cmd({"EXPIRETIME", "t"}) == fmt::format(":{}\r\n", h.clock.now / 1000 + 20));

  CHECK(h.cmd({"RPUSH", "list", "a"}) == ":1\r\n");
  CHECK(h.cmd({"GET", "list"}) == kWrongType);
  CHECK(h.cmd({"SET", "list", "x", "GET"}) == kWrongType);
  CHECK(h.cmd({"TYPE", "list"}) == "+list\r\n");  // SET ... GET on a wrong type changes nothing
  CHECK(h.cmd({"SET", "list", "x"}) == "+OK\r\n");  // a plain SET overwrites any type
  CHECK(h.cmd({"TYPE", "list"}) == "+string\r\n");
}

TEST_CASE("SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX, MSET, MSETNX, MGET", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  CHECK(h.cmd({"SETNX", "a", "1"}) == ":1\r\n");
  CHECK(h.cmd({"SETNX", "a", "2"}) == ":0\r\n");
  CHECK(h.cmd({"SETEX", "b", "10", "v"}) == "+OK\r\n");
  CHECK(h.cmd({"TTL", "b"}) == ":10\r\n");
  CHECK(h.cmd({"SETEX", "b", "0", "v"}) == "-ERR invalid expire time in 'setex' command\r\n");
  CHECK(h.cmd({"PSETEX", "b", "-1", "v"}) == "-ERR invalid expire time in 'psetex' command\r\n");
  CHECK(h.cmd({"PSETEX", "c", "2500", "v"}) == "+OK\r\n");
  CHECK(h.cmd({"PTTL", "c"}) == ":2500\r\n");
  CHECK(h.cmd({"GETSET", "c", "w"}) == bulk("v"));
  CHECK(h.cmd({"PTTL", "c"}) == ":-1\r\n");  // GETSET drops the TTL
  CHECK(h.cmd({"GETSET", "none", "x"}) == "$-1\r\n");
  CHECK(h.cmd({"GETDEL", "c"}) == bulk("w"));
  CHECK(h.cmd({"GETDEL", "c"}) == "$-1\r\n");
  CHECK(h.cmd({"GETEX", "a", "PX", "700"}) == bulk("1"));
  CHECK(h.cmd({"PTTL", "a"}) == ":700\r\n");
  CHECK(h.cmd({"GETEX", "a", "PERSIST"}) == bulk("1"));
  CHECK(h.cmd({"PTTL", "a"}) == ":-1\r\n");
  CHECK(h.cmd({"GETEX", "a", "PERSIST", "EX", "1"}) == kSyntax);
  CHECK(h.cmd({"MSET", "x", "1", "y", "2"}) == "+OK\r\n");
  CHECK(h.cmd({"MSET", "x", "1", "y"}) == "-ERR wrong number of arguments for 'mset' command\r\n");
  CHECK(h.cmd({"MSETNX", "y", "3", "z", "4"}) == ":0\r\n");
  CHECK(h.cmd({"EXISTS", "z"}) == ":0\r\n");
  CHECK(h.cmd({"MSETNX", "z", "4", "w", "5"}) == ":1\r\n");
  CHECK(h.cmd({"RPUSH", "l", "e"}) == ":1\r\n");
  CHECK(h.cmd({"MGET", "x", "nope", "l", "z"}) == "*4\r\n$1\r\n1\r\n$-1\r\n$-1\r\n$1\r\n4\r\n");
}

TEST_CASE("INCR family: integers, overflow, errors, and INCRBYFLOAT formatting", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  CHECK(h.cmd({"INCR", "n"}) == ":1\r\n");
  CHECK(h.cmd({"INCRBY", "n", "41"}) == ":42\r\n");
  CHECK(h.cmd({"DECR", "n"}) == ":41\r\n");
  CHECK(h.cmd({"DECRBY", "n", "50"}) == ":-9\r\n");
  CHECK(h.cmd({"GET", "n"}) == bulk("-9"));
  CHECK(h.cmd({"INCRBY", "n", "1.5"}) == kNotInt);
  CHECK(h.cmd({"SET", "s", "abc"}) == "+OK\r\n");
  CHECK(h.cmd({"INCR", "s"}) == kNotInt);
  CHECK(h.cmd({"SET", "s", " 1"}) == "+OK\r\n");
  CHECK(h.cmd({"INCR", "s"}) == kNotInt);
  CHECK(h.cmd({"SET", "s", "007"}) == "+OK\r\n");
  CHECK(h.cmd({"INCR", "s"}) == kNotInt);
  CHECK(h.cmd({"SET", "big", "9223372036854775807"}) == "+OK\r\n");
  CHECK(h.cmd({"INCR", "big"}) == "-ERR increment or decrement would overflow\r\n");
  CHECK(h.cmd({"DECRBY", "big", "-9223372036854775808"}) == "-ERR decrement would overflow\r\n");
  CHECK(h.cmd({"SET", "small", "-9223372036854775808"}) == "+OK\r\n");
  CHECK(h.cmd({"DECR", "small"}) == "-ERR increment or decrement would overflow\r\n");
  CHECK(h.cmd({"LPUSH", "l", "x"}) == ":1\r\n");
  CHECK(h.cmd({"INCR", "l"}) == kWrongType);
  // INCR keeps the TTL.
  CHECK(h.cmd({"SET", "t", "1", "EX", "50"}) == "+OK\r\n");
  CHECK(h.cmd({"INCR", "t"}) == ":2\r\n");
  CHECK(h.cmd({"TTL", "t"}) == ":50\r\n");

  CHECK(h.cmd({"SET", "f", "10.50"}) == "+OK\r\n");
  CHECK(h.cmd({"INCRBYFLOAT", "f", "0.1"}) == bulk("10.6"));
  CHECK(h.cmd({"INCRBYFLOAT", "f", "-5"}) == bulk("5.6"));
  CHECK(h.cmd({"SET", "g", "5.0e3"}) == "+OK\r\n");
  CHECK(h.cmd({"INCRBYFLOAT", "g", "2.0e2"}) == bulk("5200"));
  CHECK(h.cmd({"INCRBYFLOAT", "new", "3"}) == bulk("3"));
  CHECK(h.cmd({"INCRBYFLOAT", "new", "abc"}) == "-ERR value is not a valid float\r\n");
  CHECK(h.cmd({"INCRBYFLOAT", "s", "1"}) == bulk("8"));  // "007" is a float, not an integer
  CHECK(h.cmd({"SET", "sp", " 1"}) == "+OK\r\n");
  CHECK(h.cmd({"INCRBYFLOAT", "sp", "1"}) == "-ERR value is not a valid float\r\n");
  CHECK(h.cmd({"INCRBYFLOAT", "new", "inf"}) == "-ERR increment would produce NaN or Infinity\r\n");
}

TEST_CASE("APPEND, STRLEN, GETRANGE, SETRANGE", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  CHECK(h.cmd({"APPEND", "a", "Hello"}) == ":5\r\n");
  CHECK(h.cmd({"APPEND", "a", " World"}) == ":11\r\n");
  CHECK(h.cmd({"STRLEN", "a"}) == ":11\r\n");
  CHECK(h.cmd({"STRLEN", "none"}) == ":0\r\n");
  CHECK(h.cmd({"GETRANGE", "a", "0", "4"}) == bulk("Hello"));
  CHECK(h.cmd({"GETRANGE", "a", "-5", "-1"}) == bulk("World"));
  CHECK(h.cmd({"GETRANGE", "a", "5", "2"}) == bulk(""));
  CHECK(h.cmd({"GETRANGE", "a", "-1", "-5"}) == bulk(""));
  CHECK(h.cmd({"GETRANGE", "a", "0", "100"}) == bulk("Hello World"));
  CHECK(h.cmd({"GETRANGE", "none", "0", "1"}) == bulk(""));
  CHECK(h.cmd({"SETRANGE", "a", "6", "Redis"}) == ":11\r\n");
  CHECK(h.cmd({"GET", "a"}) == bulk("Hello Redis"));
  CHECK(h.cmd({"SETRANGE", "z", "3", "ab"}) == ":5\r\n");
  CHECK(h.cmd({"GET", "z"}) == bulk(std::string("\0\0\0ab", 5)));
  CHECK(h.cmd({"SETRANGE", "empty", "5", ""}) == ":0\r\n");
  CHECK(h.cmd({"EXISTS", "empty"}) == ":0\r\n");
  CHECK(h.cmd({"SETRANGE", "a", "-1", "x"}) == "-ERR offset is out of range\r\n");
  CHECK(h.cmd({"CONFIG", "SET", "proto-max-bulk-len", "1048576"}) == "+OK\r\n");
  CHECK(h.cmd({"SETRANGE", "a", "1048576", "x"}) ==
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
}

TEST_CASE("string commands propagate as Redis 7.0 rewrites them", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  ReplicaTap tap(h);
  Millis now = h.clock.now;
  h.cmd({"SET", "k", "v", "EX", "10"});
  h.cmd({"SET", "k", "v", "NX"});  // nothing changed: nothing propagated
  h.cmd({"SET", "k2", "v", "GET", "XX"});
  h.cmd({"SET", "k", "w", "GET"});
  h.cmd({"SETEX", "s", "5", "x"});
  h.cmd({"PSETEX", "p", "5", "x"});
  h.cmd({"GETSET", "k", "z"});
  h.cmd({"GETDEL", "k"});
  h.cmd({"GETDEL", "k"});
  h.cmd({"INCRBYFLOAT", "f", "1.5"});
  h.cmd({"SET", "n", "1", "KEEPTTL"});
  h.cmd({"GET", "n"});
  auto cmds = tap.commands();
  std::vector<Args> want = {
      {"SELECT", "0"},
      {"SET", "k", "v", "PXAT", std::to_string(now + 10000)},
      {"SET", "k", "w"},
      {"SET", "s", "x", "PXAT", std::to_string(now + 5000)},
      {"SET", "p", "x", "PXAT", std::to_string(now + 5)},
      {"SET", "k", "z"},
      {"DEL", "k"},
      {"SET", "f", "1.5", "KEEPTTL"},
      {"SET", "n", "1", "KEEPTTL"},
  };
  CHECK(cmds == want);
}

TEST_CASE("expired keys vanish on the node's clock and go to replicas as DEL", "[data]") {
  FakeHost h;
  h.start(standalone_config());
  ReplicaTap tap(h);
  CHECK(h.cmd({"SET", "k", "v", "PX", "100"}) == "+OK\r\n");
  h.clock.now += 100;  // at the expiry instant the key still exists (Redis: now > when)
  CHECK(h.cmd({"GET", "k"}) == bulk("v"));
  CHECK(h.cmd({"PTTL", "k"}) == ":0\r\n");
  h.clock.now += 1;
  CHECK(h.cmd({"DBSIZE"}) == ":1\r\n");  // not reclaimed until touched
  CHECK(h.cmd({"GET", "k"}) == "$-1\r\n");
  CHECK(h.cmd({"DBSIZE"}) == ":0\r\n");
  CHECK(h.cmd({"TTL", "k"}) == ":-2\r\n");
  // A SET over an expired key: the expiry's DEL and the SET travel as one transaction.
  CHECK(h.cmd({"SET", "e", "1", "PX", "10"}) == "+OK\r\n");
  h.clock.now += 20;
  CHECK(h.cmd({"SET", "e", "2"}) == "+OK\r\n");
  auto cmds = tap.commands();
  REQUIRE(cmds.size() == 8);
  CHECK(cmds[2] == Args{"DEL", "k"});
  CHECK(cmds[4] == Args{"MULTI"});
  CHECK(cmds[5] == Args{"DEL", "e"});
  CHECK(cmds[6] == Args{"SET", "e", "2"});
  CHECK(cmds[7] == Args{"EXEC"});
  CHECK(tap.commands().empty());
}
