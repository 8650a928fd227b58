// Tests for node/resp: the request parser against redis-server 7.0.15's behaviour (error texts,
// inline quoting, limits, split input), the reply writer's exact bytes, and the client-side reply
// parser (round trips, RESP3 types, malformed input). Tagged [resp].
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "node/resp.hpp"

using slotlab::resp::encode_command;
using slotlab::resp::Limits;
using slotlab::resp::ReplyParser;
using slotlab::resp::RequestParser;
using slotlab::resp::Type;
using slotlab::resp::Value;
using slotlab::resp::Writer;

namespace {

using Argv = std::vector<std::string>;
using namespace std::string_literals;

// Deterministic on every standard library (no <random>).
struct XorShift {
  std::uint64_t s;
  explicit XorShift(std::uint64_t seed) : s(seed ? seed : 0x9e3779b97f4a7c15ull) {}
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

struct Parsed {
  std::vector<Argv> commands;
  RequestParser::Status last = RequestParser::Status::need_more;
  std::string error;
};

// Drains every command the parser can produce now.
void drain(RequestParser& p, Parsed& out) {
  Argv argv;
  for (;;) {
    std::string error;
    const auto st = p.next(argv, error);
    out.last = st;
    if (st == RequestParser::Status::command) {
      out.commands.push_back(argv);
      continue;
    }
    if (st == RequestParser::Status::error) out.error = error;
    return;
  }
}

Parsed parse_whole(std::string_view bytes, Limits limits = {}) {
  RequestParser p(limits);
  p.feed(bytes);
  Parsed out;
  drain(p, out);
  return out;
}

// chunk == 0: random chunk sizes from `seed`; otherwise fixed-size chunks.
Parsed parse_chunked(std::string_view bytes, std::size_t chunk, std::uint64_t seed = 1, Limits limits = {}) {
  RequestParser p(limits);
  XorShift rng(seed);
  Parsed out;
  std::size_t at = 0;
  while (at < bytes.size() && out.last != RequestParser::Status::error) {
    std::size_t n = chunk != 0 ? chunk : 1 + rng.below(rng.below(4) == 0 ? 70000 : 64);
    n = std::min(n, bytes.size() - at);
    p.feed(bytes.substr(at, n));
    at += n;
    drain(p, out);
  }
  return out;
}

std::string protocol_error(std::string_view bytes, Limits limits = {}) {
  const Parsed r = parse_whole(bytes, limits);
  REQUIRE(r.last == RequestParser::Status::error);
  return r.error;
}

Argv one_command(std::string_view bytes) {
  const Parsed r = parse_whole(bytes);
  REQUIRE(r.last == RequestParser::Status::need_more);
  REQUIRE(r.commands.size() == 1);
  return r.commands[0];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Request parser: well-formed input

TEST_CASE("multibulk commands parse, pipelined and one by one", "[resp]") {
  const std::string bytes = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n";
  const Parsed r = parse_whole(bytes);
  REQUIRE(r.last == RequestParser::Status::need_more);
  REQUIRE(r.commands == std::vector<Argv>{{"SET", "key", "value"}, {"PING"}, {"GET", ""}});

  RequestParser p;
  p.feed(bytes);
  Argv argv;
  std::string error;
  REQUIRE(p.next(argv, error) == RequestParser::Status::command);
  CHECK(argv == Argv{"SET", "key", "value"});
  CHECK(p.consumed_bytes() == 33);
  CHECK(p.buffered_bytes() == bytes.size() - 33);
}

TEST_CASE("argv strings may be moved out, and the vector reused, between calls", "[resp]") {
  RequestParser p;
  const std::string value(300, 'v');
  std::string bytes;
  for (int i = 0; i < 50; ++i) bytes += encode_command({"SET", "k" + std::to_string(i), value});
  bytes += encode_command({"MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6", "g", "7", "h", "8", "i", "9"});
  bytes += encode_command({"PING"});
  p.feed(bytes);
  Argv argv{"junk", "left", "over"};
  std::string error;
  std::vector<std::string> stored;
  for (int i = 0; i < 50; ++i) {
    REQUIRE(p.next(argv, error) == RequestParser::Status::command);
    REQUIRE(argv.size() == 3);
    CHECK(argv[1] == "k" + std::to_string(i));
    if (i % 2 == 0) stored.push_back(std::move(argv[2]));  // e.g. into the keyspace
    else CHECK(argv[2] == value);
  }
  REQUIRE(p.next(argv, error) == RequestParser::Status::command);
  CHECK(argv.size() == 19);
  CHECK(argv.back() == "9");
  REQUIRE(p.next(argv, error) == RequestParser::Status::command);
  CHECK(argv == Argv{"PING"});
  CHECK(p.next(argv, error) == RequestParser::Status::need_more);
  CHECK(argv.empty());
  for (const auto& s : stored) CHECK(s == value);
  p.shrink();
  p.feed("*1\r\n$4\r\nPING\r\n");
  REQUIRE(p.next(argv, error) == RequestParser::Status::command);
  CHECK(argv == Argv{"PING"});
}

TEST_CASE("binary-safe bulk arguments keep NUL, CR and LF", "[resp]") {
  const std::string value = "a\0b\r\nc"s;
  const Argv argv = one_command(encode_command({"SET", "k", value}));
  REQUIRE(argv.size() == 3);
  CHECK(argv[2] == value);
}

TEST_CASE("*0 and negative multibulk counts are consumed without a command", "[resp]") {
  const Parsed r = parse_whole("*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n");
  REQUIRE(r.last == RequestParser::Status::need_more);
  REQUIRE(r.commands == std::vector<Argv>{{"PING"}});
}

TEST_CASE("empty and blank inline lines are skipped", "[resp]") {
  const Parsed r = parse_whole("\r\n\n   \t \r\nPING\r\n\n");
  REQUIRE(r.last == RequestParser::Status::need_more);
  REQUIRE(r.commands == std::vector<Argv>{{"PING"}});
  RequestParser p;
  p.feed("\n\r\n");
  Argv argv;
  std::string error;
  CHECK(p.next(argv, error) == RequestParser::Status::need_more);
  CHECK(p.consumed_bytes() == 3);
  CHECK(p.buffered_bytes() == 0);
}

TEST_CASE("inline commands split like sdssplitargs", "[resp]") {
  CHECK(one_command("set \"foo bar\" 'a b'\r\n") == Argv{"set", "foo bar", "a b"});
  CHECK(one_command("\"\\x41\\x42\"\n") == Argv{"AB"});
  CHECK(one_command("\"\\x4a\\x4B\"\n") == Argv{"JK"});
  CHECK(one_command("\"\\x4\" z\n") == Argv{"x4", "z"});  // not two hex digits: "\x" is just 'x'
  CHECK(one_command("\"a\\nb\\r\\t\\b\\a\\q\\\\\\\"\"\n") == Argv{"a\nb\r\t\b\a" "q\\\""});
  CHECK(one_command("'it\\'s' 'a\\nb'\n") == Argv{"it's", "a\\nb"});
  CHECK(one_command("set k \"\"\n") == Argv{"set", "k", ""});
  CHECK(one_command("''\n") == Argv{""});
  CHECK(one_command("  \t PING   \t\r\n") == Argv{"PING"});
  CHECK(one_command("foo\"bar baz\"\n") == Argv{"foobar baz"});
  CHECK(one_command("a'b c'\n") == Argv{"ab c"});
  // \v and \f are skipped before a token but do not end one.
  CHECK(one_command("\va\vb c\n") == Argv{"a\vb", "c"});
  // Only one \r before the \n is the line ending; another one ends the token.
  CHECK(one_command("PING\r\r\n") == Argv{"PING"});
  // A closing quote may be followed by any isspace() byte.
  CHECK(one_command("\"a\"\vb\n") == Argv{"a", "b"});
  // Bytes above 0x7f are plain token bytes.
  CHECK(one_command("set \xc3\xa9 v\n") == Argv{"set", "\xc3\xa9", "v"});
}

TEST_CASE("inline and multibulk commands mix in one pipeline", "[resp]") {
  const Parsed r = parse_whole("PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nset a b\n*0\r\nGET a\r\n");
  REQUIRE(r.last == RequestParser::Status::need_more);
  REQUIRE(r.commands == std::vector<Argv>{{"PING"}, {"ECHO", "hi"}, {"set", "a", "b"}, {"GET", "a"}});
}

TEST_CASE("Redis does not check the bytes after a header's CR or after a payload", "[resp]") {
  // processMultibulkBuffer skips "newline + 2" and "bulklen + 2" without looking at them.
  const Parsed r = parse_whole("*1\rX$4\rYPINGxy*1\r\n$4\r\nPING\r\n");
  REQUIRE(r.last == RequestParser::Status::need_more);
  REQUIRE(r.commands == std::vector<Argv>{{"PING"}, {"PING"}});
}

TEST_CASE("multibulk headers need CR: a bare LF is not a line end", "[resp]") {
  CHECK(protocol_error("*1\n$4\r\nPING\r\n") == "Protocol error: invalid multibulk length");
  CHECK(protocol_error("*1\r\n$4\nPING\r\n") == "Protocol error: invalid bulk length");
}

TEST_CASE("a NUL byte hides the line terminator, as strchr does in Redis", "[resp]") {
  Parsed r = parse_whole("PI\0NG\r\nPING\r\n"s);
  CHECK(r.last == RequestParser::Status::need_more);
  CHECK(r.commands.empty());
  // It stays hidden until the pending bytes exceed the inline limit.
  RequestParser p;
  p.feed("PI\0NG\n"s);
  p.feed(std::string(64 * 1024, 'a'));
  Parsed more;
  drain(p, more);
  CHECK(more.last == RequestParser::Status::error);
  CHECK(more.error == "Protocol error: too big inline request");
  r = parse_whole("*1\r\n\0$4\r\nPING\r\n"s);
  CHECK(r.last == RequestParser::Status::need_more);
  CHECK(r.commands.empty());
}

// ---------------------------------------------------------------------------------------------
// Request parser: protocol errors, with Redis's exact texts

TEST_CASE("invalid multibulk length", "[resp]") {
  for (const char* bad : {"*abc\r\n", "*\r\n", "*+1\r\n", "*01\r\n", "* 1\r\n", "*1 \r\n", "*-0\r\n",
                          "*2147483648\r\n", "*99999999999999999999\r\n", "*1x\r\n"}) {
    INFO(bad);
    CHECK(protocol_error(bad) == "Protocol error: invalid multibulk length");
  }
  // 7.0.15's limit is INT_MAX: the count itself is accepted, the arguments are awaited.
  const Parsed ok = parse_whole("*2147483647\r\n");
  CHECK(ok.last == RequestParser::Status::need_more);
}

TEST_CASE("multibulk count above a configured 1024*1024 is rejected", "[resp]") {
  Limits limits;
  limits.max_multibulk_len = 1024 * 1024;
  CHECK(protocol_error("*1048577\r\n", limits) == "Protocol error: invalid multibulk length");
  CHECK(parse_whole("*1048576\r\n", limits).last == RequestParser::Status::need_more);
  // The default (Redis 7.0.15) accepts it.
  CHECK(parse_whole("*1048577\r\n").last == RequestParser::Status::need_more);
}

TEST_CASE("invalid bulk length", "[resp]") {
  for (const char* bad : {"*1\r\n$abc\r\n", "*1\r\n$-1\r\n", "*1\r\n$\r\n", "*1\r\n$+3\r\n", "*1\r\n$03\r\n",
                          "*1\r\n$3 \r\n", "*2\r\n$3\r\nfoo\r\n$9223372036854775808\r\n"}) {
    INFO(bad);
    CHECK(protocol_error(bad) == "Protocol error: invalid bulk length");
  }
}

TEST_CASE("bulk of exactly proto-max-bulk-len + 1 is rejected", "[resp]") {
  // Default 512 MB.
  CHECK(protocol_error("*2\r\n$3\r\nSET\r\n$536870913\r\n") == "Protocol error: invalid bulk length");
  Limits limits;
  limits.max_bulk_len = 40000;
  CHECK(protocol_error("*1\r\n$40001\r\n", limits) == "Protocol error: invalid bulk length");
  const std::string exact = "*1\r\n$40000\r\n" + std::string(40000, 'v') + "\r\n";
  const Parsed r = parse_chunked(exact, 0, 7, limits);
  REQUIRE(r.last == RequestParser::Status::need_more);
  REQUIRE(r.commands.size() == 1);
  CHECK(r.commands[0][0] == std::string(40000, 'v'));
}

TEST_CASE("expected '$', got ...", "[resp]") {
  CHECK(protocol_error("*1\r\nx3\r\nfoo\r\n") == "Protocol error: expected '$', got 'x'");
  CHECK(protocol_error("*2\r\n$3\r\nfoo\r\n:1\r\n") == "Protocol error: expected '$', got ':'");
  // addReplyErrorFormat turns CR and LF into spaces.
  CHECK(protocol_error("*1\r\n\n\r\n") == "Protocol error: expected '$', got ' '");
  CHECK(protocol_error("*1\r\n\r\n") == "Protocol error: expected '$', got ' '");
}

TEST_CASE("too big mbulk count string / bulk count string / inline request", "[resp]") {
  const std::size_t limit = 64 * 1024;
  CHECK(protocol_error("*" + std::string(limit, '1')) == "Protocol error: too big mbulk count string");
  CHECK(parse_whole("*" + std::string(limit - 1, '1')).last == RequestParser::Status::need_more);
  CHECK(protocol_error("*1\r\n$" + std::string(limit, '1')) == "Protocol error: too big bulk count string");
  CHECK(parse_whole("*1\r\n$" + std::string(limit - 1, '1')).last == RequestParser::Status::need_more);
  CHECK(protocol_error(std::string(limit + 1, 'a')) == "Protocol error: too big inline request");
  CHECK(parse_whole(std::string(limit, 'a')).last == RequestParser::Status::need_more);
  // Like Redis the check only applies while no line end has arrived: a longer line is fine.
  const Parsed r = parse_whole("SET k " + std::string(limit + 10, 'a') + "\r\n");
  REQUIRE(r.last == RequestParser::Status::need_more);
  REQUIRE(r.commands.size() == 1);
  CHECK(r.commands[0][2].size() == limit + 10);
  // Fed one byte at a time the same line trips the limit, as it does in Redis.
  const Parsed slow = parse_chunked("SET k " + std::string(limit + 10, 'a') + "\r\n", 1);
  CHECK(slow.last == RequestParser::Status::error);
  CHECK(slow.error == "Protocol error: too big inline request");
}

TEST_CASE("unbalanced quotes in request", "[resp]") {
  for (const char* bad : {"set \"foo bar\r\n", "'foo\r\n", "\"foo\"bar\r\n", "'a'b\n", "\"foo\\\"\n", "\"\\\n",
                          "set k \"\\x4\n"}) {
    INFO(bad);
    CHECK(protocol_error(bad) == "Protocol error: unbalanced quotes in request");
  }
}

TEST_CASE("unauthenticated multibulk and bulk lengths", "[resp]") {
  RequestParser p;
  p.set_auth_required(true);
  p.feed("*10\r\n");
  Argv argv;
  std::string error;
  CHECK(p.next(argv, error) == RequestParser::Status::need_more);
  RequestParser q;
  q.set_auth_required(true);
  q.feed("*11\r\n");
  CHECK(q.next(argv, error) == RequestParser::Status::error);
  CHECK(error == "Protocol error: unauthenticated multibulk length");
  RequestParser b;
  b.set_auth_required(true);
  b.feed("*1\r\n$16384\r\n");
  CHECK(b.next(argv, error) == RequestParser::Status::need_more);
  b.set_auth_required(false);
  RequestParser c;
  c.set_auth_required(true);
  c.feed("*1\r\n$16385\r\n");
  CHECK(c.next(argv, error) == RequestParser::Status::error);
  CHECK(error == "Protocol error: unauthenticated bulk length");
}

TEST_CASE("a protocol error is sticky and commands before it still come out", "[resp]") {
  RequestParser p;
  p.feed("PING\r\n*1\r\n$x\r\n*1\r\n$4\r\nPING\r\n");
  Argv argv;
  std::string error;
  REQUIRE(p.next(argv, error) == RequestParser::Status::command);
  CHECK(argv == Argv{"PING"});
  REQUIRE(p.next(argv, error) == RequestParser::Status::error);
  CHECK(error == "Protocol error: invalid bulk length");
  CHECK(argv.empty());
  CHECK(p.failed());
  p.feed("*1\r\n$4\r\nPING\r\n");
  error.clear();
  CHECK(p.next(argv, error) == RequestParser::Status::error);
  CHECK(error == "Protocol error: invalid bulk length");
}

// ---------------------------------------------------------------------------------------------
// Request parser: split input and big arguments

namespace {

// 1,000 commands: multibulk of every size class (including big arguments received in place),
// inline commands with quoting, and skipped empty requests.
std::string build_pipeline(std::vector<Argv>& expected) {
  XorShift rng(42);
  std::string bytes;
  for (int i = 0; i < 1000; ++i) {
    const std::size_t kind = rng.below(10);
    if (kind < 6) {
      Argv argv{"SET", "key:" + std::to_string(i)};
      std::size_t size = rng.below(40);
      if (rng.below(20) == 0) size = 32 * 1024 + rng.below(20000);  // big argument
      std::string value(size, 'x');
      for (auto& c : value) c = static_cast<char>(rng.below(256));
      argv.push_back(value);
      bytes += encode_command(argv);
      expected.push_back(argv);
    } else if (kind < 8) {
      bytes += "set \"k " + std::to_string(i) + "\" 'v\\'" + std::to_string(i) + "' \"\\x41\\n\"\r\n";
      expected.push_back({"set", "k " + std::to_string(i), "v'" + std::to_string(i), "A\n"});
    } else if (kind == 8) {
      bytes += rng.below(2) == 0 ? "*0\r\n" : "\r\n";
      --i;  // not a command
    } else {
      Argv argv;
      const std::size_t n = 1 + rng.below(12);
      for (std::size_t k = 0; k < n; ++k) argv.push_back(std::to_string(rng.next()));
      bytes += encode_command(argv);
      expected.push_back(argv);
    }
  }
  return bytes;
}

}  // namespace

TEST_CASE("a 1,000-command pipeline parses identically at every chunking", "[resp]") {
  std::vector<Argv> expected;
  const std::string bytes = build_pipeline(expected);
  REQUIRE(expected.size() == 1000);

  const Parsed whole = parse_whole(bytes);
  REQUIRE(whole.last == RequestParser::Status::need_more);
  REQUIRE(whole.commands == expected);

  const Parsed bytewise = parse_chunked(bytes, 1);
  REQUIRE(bytewise.last == RequestParser::Status::need_more);
  REQUIRE(bytewise.commands == expected);

  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    const Parsed random = parse_chunked(bytes, 0, seed);
    REQUIRE(random.last == RequestParser::Status::need_more);
    REQUIRE(random.commands == expected);
  }
}

TEST_CASE("every split point of a small pipeline gives the same commands", "[resp]") {
  const std::string bytes =
      "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\nset \"a b\" 'c'\r\n*0\r\n*3\r\n$1\r\na\r\n$0\r\n\r\n$2\r\n\r\n\r\n";
  const std::vector<Argv> expected{{"ECHO", "hello"}, {"set", "a b", "c"}, {"a", "", "\r\n"}};
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    for (std::size_t cut2 = cut; cut2 <= bytes.size(); ++cut2) {
      RequestParser p;
      Parsed out;
      p.feed(std::string_view(bytes).substr(0, cut));
      drain(p, out);
      p.feed(std::string_view(bytes).substr(cut, cut2 - cut));
      drain(p, out);
      p.feed(std::string_view(bytes).substr(cut2));
      drain(p, out);
      INFO("cuts " << cut << "," << cut2);
      REQUIRE(out.last == RequestParser::Status::need_more);
      REQUIRE(out.commands == expected);
      REQUIRE(p.consumed_bytes() == bytes.size());
    }
  }
}

TEST_CASE("a big argument is received in place and counted in buffered_bytes", "[resp]") {
  const std::size_t size = 100000;
  std::string value(size, 'z');
  value[0] = 'a';
  value[size - 1] = 'b';
  const std::string bytes = encode_command({"SET", "k", value}) + "PING\r\n";
  RequestParser p;
  Argv argv;
  std::string error;
  std::size_t fed = 0;
  const std::size_t header = bytes.find("$100000\r\n") + 9;
  p.feed(std::string_view(bytes).substr(0, header + 10));
  fed = header + 10;
  CHECK(p.next(argv, error) == RequestParser::Status::need_more);
  CHECK(p.buffered_bytes() == 10);  // the partial payload counts as query buffer, like Redis
  while (fed + 1000 < header + size) {
    p.feed(std::string_view(bytes).substr(fed, 1000));
    fed += 1000;
    CHECK(p.next(argv, error) == RequestParser::Status::need_more);
  }
  CHECK(p.buffered_bytes() == fed - header);
  p.feed(std::string_view(bytes).substr(fed));
  REQUIRE(p.next(argv, error) == RequestParser::Status::command);
  REQUIRE(argv.size() == 3);
  CHECK(argv[2] == value);
  CHECK(argv[2].capacity() < size + size / 4);  // sized once from the header, never regrown
  REQUIRE(p.next(argv, error) == RequestParser::Status::command);
  CHECK(argv == Argv{"PING"});
  CHECK(p.next(argv, error) == RequestParser::Status::need_more);
  CHECK(p.buffered_bytes() == 0);
  CHECK(p.consumed_bytes() == bytes.size());
}

TEST_CASE("query buffer limit is visible before parsing", "[resp]") {
  Limits limits;
  limits.max_query_buffer = 100;
  RequestParser p(limits);
  p.feed(std::string(100, 'a'));
  CHECK_FALSE(p.over_query_buffer_limit());
  p.feed("a");
  CHECK(p.over_query_buffer_limit());
}

// ---------------------------------------------------------------------------------------------
// Writer

TEST_CASE("writer emits byte-exact RESP2", "[resp]") {
  std::string out;
  Writer w(out);
  w.simple("OK");
  CHECK(out == "+OK\r\n");
  out.clear();
  w.simple("a\r\nb");
  CHECK(out == "+a  b\r\n");
  out.clear();
  w.error("ERR unknown command 'foo'");
  CHECK(out == "-ERR unknown command 'foo'\r\n");
  out.clear();
  w.error("MOVED 3999 127.0.0.1:6381\n");
  CHECK(out == "-MOVED 3999 127.0.0.1:6381 \r\n");
  out.clear();
  w.integer(0);
  w.integer(-42);
  w.integer(INT64_MAX);
  w.integer(INT64_MIN);
  CHECK(out == ":0\r\n:-42\r\n:9223372036854775807\r\n:-9223372036854775808\r\n");
  out.clear();
  w.bulk("hello");
  w.bulk("");
  w.bulk("a\0\r\n"s);
  CHECK(out == "$5\r\nhello\r\n$0\r\n\r\n$4\r\na\0\r\n\r\n"s);
  out.clear();
  w.null_bulk();
  w.null_array();
  w.array(0);
  w.array(12345);
  CHECK(out == "$-1\r\n*-1\r\n*0\r\n*12345\r\n");
  out.clear();
  w.verbatim("id1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n");
  CHECK(out == "$64\r\nid1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n\r\n");
  out.clear();
  const std::vector<std::string> items{"a", "", "ccc"};
  w.bulk_array(items);
  CHECK(out == "*3\r\n$1\r\na\r\n$0\r\n\r\n$3\r\nccc\r\n");
  CHECK(&w.out() == &out);
}

TEST_CASE("encode_command is what clients send", "[resp]") {
  CHECK(encode_command({"GET", "k"}) == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  const std::vector<std::string> argv{"CLUSTER", "INFO"};
  CHECK(encode_command(argv) == "*2\r\n$7\r\nCLUSTER\r\n$4\r\nINFO\r\n");
  CHECK(encode_command(std::span<const std::string>{}) == "*0\r\n");
}

// ---------------------------------------------------------------------------------------------
// Reply parser

namespace {

std::vector<Value> parse_replies(std::string_view bytes, std::size_t chunk = 0) {
  ReplyParser p;
  std::vector<Value> out;
  std::size_t at = 0;
  const std::size_t step = chunk == 0 ? bytes.size() : chunk;
  do {
    const std::size_t n = std::min(step, bytes.size() - at);
    p.feed(bytes.substr(at, n));
    at += n;
    for (;;) {
      Value v;
      std::string error;
      const auto st = p.next(v, error);
      if (st == ReplyParser::Status::value) {
        out.push_back(std::move(v));
        continue;
      }
      REQUIRE(st == ReplyParser::Status::need_more);
      break;
    }
  } while (at < bytes.size());
  return out;
}

std::string reply_error(std::string_view bytes) {
  ReplyParser p;
  p.feed(bytes);
  Value v;
  std::string error;
  ReplyParser::Status st;
  while ((st = p.next(v, error)) == ReplyParser::Status::value) {
  }
  REQUIRE(st == ReplyParser::Status::error);
  CHECK(p.failed());
  return error;
}

Value nested_sample() {
  return Value::make_array({Value::make_simple("OK"), Value::make_integer(-7),
                            Value::make_array({Value::make_bulk("a\r\nb"), Value{}, Value::make_array({}),
                                               Value::make_array({Value::make_error("ERR x")})}),
                            Value{Type::nil_array, {}, 0, {}}, Value::make_bulk("")});
}

void write_value(Writer& w, const Value& v) {
  switch (v.type) {
    case Type::simple: w.simple(v.str); break;
    case Type::error: w.error(v.str); break;
    case Type::integer: w.integer(v.integer); break;
    case Type::bulk: w.bulk(v.str); break;
    case Type::nil: w.null_bulk(); break;
    case Type::nil_array: w.null_array(); break;
    case Type::array:
      w.array(v.elements.size());
      for (const auto& e : v.elements) write_value(w, e);
      break;
  }
}

}  // namespace

TEST_CASE("reply parser round-trips every type, nested, at every chunk size", "[resp]") {
  const Value sample = nested_sample();
  std::string bytes;
  Writer w(bytes);
  write_value(w, sample);
  w.simple("PONG");
  w.integer(3);
  const std::vector<Value> expected{sample, Value::make_simple("PONG"), Value::make_integer(3)};
  for (std::size_t chunk : {0, 1, 2, 3, 5, 7, 13}) {
    INFO("chunk " << chunk);
    CHECK(parse_replies(bytes, chunk) == expected);
  }
  // And split at every single point.
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    ReplyParser p;
    std::vector<Value> got;
    for (const auto part : {std::string_view(bytes).substr(0, cut), std::string_view(bytes).substr(cut)}) {
      p.feed(part);
      Value v;
      std::string error;
      while (p.next(v, error) == ReplyParser::Status::value) got.push_back(v);
    }
    INFO("cut " << cut);
    REQUIRE(got == expected);
  }
}

TEST_CASE("reply parser accepts RESP3 types as RESP2 shapes", "[resp]") {
  const auto got = parse_replies(
      "_\r\n,3.14\r\n#t\r\n#f\r\n%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n~2\r\n+x\r\n+y\r\n=15\r\ntxt:Some string\r\n"
      "(3492890328409238509324850943850943825024385\r\n>2\r\n+message\r\n+hi\r\n|1\r\n+ttl\r\n:3600\r\n+after\r\n"
      "*2\r\n|1\r\n+k\r\n+v\r\n:1\r\n:2\r\n!9\r\nERR oops!\r\n");
  const std::vector<Value> expected{
      Value{},
      Value::make_simple("3.14"),
      Value::make_integer(1),
      Value::make_integer(0),
      Value::make_array({Value::make_simple("a"), Value::make_integer(1), Value::make_simple("b"), Value::make_integer(2)}),
      Value::make_array({Value::make_simple("x"), Value::make_simple("y")}),
      Value::make_bulk("Some string"),
      Value::make_simple("3492890328409238509324850943850943825024385"),
      Value::make_array({Value::make_simple("message"), Value::make_simple("hi")}),
      Value::make_simple("after"),
      Value::make_array({Value::make_integer(1), Value::make_integer(2)}),
      Value::make_error("ERR oops!"),
  };
  CHECK(got == expected);
}

TEST_CASE("reply parser rejects malformed replies", "[resp]") {
  CHECK(reply_error("?x\r\n") == "Protocol error: unexpected reply type byte '?'");
  CHECK(reply_error("\x01x\r\n") == "Protocol error: unexpected reply type byte '\\x01'");
  CHECK(reply_error(":12a\r\n") == "Protocol error: bad integer value");
  CHECK(reply_error("$-2\r\n") == "Protocol error: bad bulk length");
  CHECK(reply_error("$3\r\nabcde\r\n") == "Protocol error: bulk payload not followed by CRLF");
  CHECK(reply_error("*-2\r\n") == "Protocol error: bad aggregate length");
  CHECK(reply_error("#x\r\n") == "Protocol error: bad boolean value");
  CHECK(reply_error("=2\r\nab\r\n") == "Protocol error: verbatim string without its format prefix");
  std::string deep;
  for (int i = 0; i < 65; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  CHECK(reply_error(deep) == "Protocol error: reply nested too deeply");
  std::string ok_depth;
  for (int i = 0; i < 64; ++i) ok_depth += "*1\r\n";
  ok_depth += ":1\r\n";
  CHECK(parse_replies(ok_depth).size() == 1);
}

TEST_CASE("describe prints replies like redis-cli", "[resp]") {
  CHECK(Value::make_simple("OK").describe() == "OK");
  CHECK(Value::make_error("ERR x").describe() == "(error) ERR x");
  CHECK(Value::make_integer(5).describe() == "(integer) 5");
  CHECK(Value::make_bulk("a\"b\n\x01").describe() == "\"a\\\"b\\n\\x01\"");
  CHECK(Value{}.describe() == "(nil)");
  CHECK(Value::make_array({}).describe() == "(empty array)");
  CHECK(nested_sample().describe() ==
        "1) OK\n"
        "2) (integer) -7\n"
        "3) 1) \"a\\r\\nb\"\n"
        "   2) (nil)\n"
        "   3) (empty array)\n"
        "   4) 1) (error) ERR x\n"
        "4) (nil)\n"
        "5) \"\"");
  std::vector<Value> many(10, Value::make_integer(1));
  const std::string ten = Value::make_array(many).describe();
  CHECK(ten.substr(0, 15) == " 1) (integer) 1");
  CHECK(ten.substr(ten.size() - 15) == "10) (integer) 1");
}

// ---------------------------------------------------------------------------------------------
// Garbage never crashes either parser

TEST_CASE("random garbage never crashes the parsers, and chunking never changes the outcome", "[resp]") {
  XorShift rng(0xC0FFEE);
  static constexpr char kAlphabet[] = "*$:+-_,#%~=(>|!\r\n\r\n0123456789-\"'\\x \t\0abAB";
  Limits limits;
  limits.max_bulk_len = 1 << 20;
  limits.max_inline_len = 4096;  // never reached below, so chunking cannot matter
  std::size_t commands = 0;
  std::size_t errors = 0;
  std::size_t values = 0;
  for (int iter = 0; iter < 10000; ++iter) {
    std::string garbage;
    const std::size_t len = rng.below(200);
    for (std::size_t i = 0; i < len; ++i) {
      if (rng.below(4) == 0) {
        garbage.push_back(static_cast<char>(rng.below(256)));
      } else {
        garbage.push_back(kAlphabet[rng.below(sizeof(kAlphabet) - 1)]);
      }
    }
    // Sometimes start from a valid prefix so deeper states get exercised.
    if (rng.below(3) == 0) garbage = encode_command({"SET", "k", "v"}) + garbage;
    if (rng.below(3) == 0) garbage = "*3\r\n:1\r\n*2\r\n$1\r\n" + garbage;
    INFO("iteration " << iter);

    const Parsed whole = parse_whole(garbage, limits);
    RequestParser req(limits);
    ReplyParser rep;
    Parsed chunked;
    std::vector<Value> replies;
    std::string reply_error;
    std::size_t at = 0;
    while (at < garbage.size()) {
      const std::size_t n = std::min(garbage.size() - at, 1 + rng.below(16));
      const std::string_view part = std::string_view(garbage).substr(at, n);
      at += n;
      req.feed(part);
      rep.feed(part);
      drain(req, chunked);
      Value v;
      ReplyParser::Status ps;
      while ((ps = rep.next(v, reply_error)) == ReplyParser::Status::value) replies.push_back(v);
      if (ps == ReplyParser::Status::error) REQUIRE(rep.failed());
    }
    ReplyParser rep_whole;
    rep_whole.feed(garbage);
    std::vector<Value> replies_whole;
    std::string reply_error_whole;
    Value v;
    while (rep_whole.next(v, reply_error_whole) == ReplyParser::Status::value) replies_whole.push_back(v);
    REQUIRE(replies == replies_whole);
    REQUIRE(reply_error == reply_error_whole);
    REQUIRE(chunked.commands == whole.commands);
    REQUIRE(chunked.last == whole.last);
    REQUIRE(chunked.error == whole.error);
    for (const auto& argv : whole.commands) REQUIRE_FALSE(argv.empty());
    if (whole.last == RequestParser::Status::error) {
      REQUIRE(whole.error.rfind("Protocol error: ", 0) == 0);
      ++errors;
    }
    commands += whole.commands.size();
    values += replies.size();
  }
  // The generator reaches all three outcomes, so the test exercises real paths.
  CHECK(commands > 100);
  CHECK(errors > 100);
  CHECK(values > 100);
}
