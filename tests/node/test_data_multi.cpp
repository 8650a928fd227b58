// MULTI/EXEC/DISCARD on one connection: queueing, EXECABORT after errors while queueing, runtime
// errors inside EXEC, and the MULTI/EXEC wrapping of what a transaction propagates. Tagged [multi].
#include <catch2/catch.hpp>

#include "test_data_helpers.hpp"

using namespace slotlab;
using namespace slotlab::testing;

TEST_CASE("MULTI queues, EXEC runs the queue and answers an array", "[multi]") {
  FakeHost h;
  h.start(standalone_config());
  Conn c(h);
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"SET", "a", "1"}) == "+QUEUED\r\n");
  CHECK(c({"INCR", "a"}) == "+QUEUED\r\n");
  CHECK(c({"GET", "a"}) == "+QUEUED\r\n");
  CHECK(h.cmd({"GET", "a"}) == "$-1\r\n");  // nothing ran yet
  CHECK(c({"EXEC"}) == "*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
  CHECK(c({"EXEC"}) == "-ERR EXEC without MULTI\r\n");
  CHECK(c({"DISCARD"}) == "-ERR DISCARD without MULTI\r\n");
  // An empty transaction.
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"EXEC"}) == "*0\r\n");
}

TEST_CASE("nested MULTI is an error that does not abort, DISCARD drops the queue", "[multi]") {
  FakeHost h;
  h.start(standalone_config());
  Conn c(h);
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"MULTI"}) == "-ERR MULTI calls can not be nested\r\n");
  CHECK(c({"SET", "a", "1"}) == "+QUEUED\r\n");
  CHECK(c({"EXEC"}) == "*1\r\n+OK\r\n");
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"SET", "a", "2"}) == "+QUEUED\r\n");
  CHECK(c({"DISCARD"}) == "+OK\r\n");
  CHECK(c({"GET", "a"}) == "$1\r\n1\r\n");
}

TEST_CASE("errors while queueing make EXEC answer EXECABORT and run nothing", "[multi]") {
  FakeHost h;
  h.start(standalone_config());
  Conn c(h);
  const std::string abort = "-EXECABORT Transaction discarded because of previous errors.\r\n";
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"SET", "a", "1"}) == "+QUEUED\r\n");
  CHECK(c({"NOSUCHCMD", "x"}) == "-ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' \r\n");
  CHECK(c({"SET", "b", "2"}) == "+QUEUED\r\n");
  CHECK(c({"EXEC"}) == abort);
  CHECK(c({"EXISTS", "a", "b"}) == ":0\r\n");
  CHECK(c({"EXEC"}) == "-ERR EXEC without MULTI\r\n");

  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"GET"}) == "-ERR wrong number of arguments for 'get' command\r\n");
  CHECK(c({"EXEC"}) == abort);

  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"REPLCONF", "ack", "1"}) == "-ERR Command not allowed inside a transaction\r\n");
  CHECK(c({"EXEC"}) == abort);

  // EXEC itself rejected: the transaction is aborted with the reason.
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"EXEC", "now"}) ==
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n");
  CHECK(c({"EXEC"}) == "-ERR EXEC without MULTI\r\n");
}

TEST_CASE("runtime errors inside EXEC are replies, the other commands still run", "[multi]") {
  FakeHost h;
  h.start(standalone_config());
  Conn c(h);
  c({"SET", "s", "abc"});
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"INCR", "s"}) == "+QUEUED\r\n");
  CHECK(c({"SET", "t", "1"}) == "+QUEUED\r\n");
  CHECK(c({"LPUSH", "s", "x"}) == "+QUEUED\r\n");
  CHECK(c({"EXEC"}) == "*3\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"
                       "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  CHECK(c({"GET", "t"}) == "$1\r\n1\r\n");
}

TEST_CASE("a transaction reaches replicas wrapped in MULTI/EXEC, a single write alone", "[multi]") {
  FakeHost h;
  h.start(standalone_config());
  ReplicaTap tap(h);
  Conn c(h);
  c({"MULTI"});
  c({"SET", "a", "1"});
  c({"GET", "a"});
  c({"EXPIRE", "a", "100"});
  c({"SET", "b", "2", "NX"});
  c({"SET", "b", "3", "NX"});  // does nothing: not propagated
  c({"EXEC"});
  c({"MULTI"});
  c({"INCR", "n"});
  c({"GET", "n"});
  c({"EXEC"});
  c({"MULTI"});
  c({"GET", "n"});
  c({"EXEC"});
  auto cmds = tap.commands();
  std::vector<Args> want = {
      {"SELECT", "0"},
      {"MULTI"},
      {"SET", "a", "1"},
      {"PEXPIREAT", "a", std::to_string(h.clock.now + 100000)},
      {"SET", "b", "2", "NX"},
      {"EXEC"},
      {"INCR", "n"},
  };
  CHECK(cmds == want);
}

TEST_CASE("WAIT inside a transaction answers at once and QUIT is not queued", "[multi]") {
  FakeHost h;
  h.start(standalone_config());
  Conn c(h);
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"WAIT", "1", "0"}) == "+QUEUED\r\n");
  CHECK(c({"EXEC"}) == "*1\r\n:0\r\n");
  CHECK(c({"MULTI"}) == "+OK\r\n");
  CHECK(c({"QUIT"}) == "+OK\r\n");
  CHECK(h.transport.conns[c.id].closed);
}
