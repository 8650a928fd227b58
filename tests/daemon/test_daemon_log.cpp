// Tests for daemon/daemon_log: redis-server's line format and level characters, level filtering
// (including a level that changes at run time, as CONFIG SET loglevel does), the role character,
// and trace lines that the harness can parse back. Tagged [daemon][log].
#include <catch2/catch.hpp>

#include <unistd.h>

#include <regex>
#include <string>

#include "daemon/daemon_log.hpp"
#include "daemon_test_util.hpp"

using namespace slotlab;
using namespace slotlab::daemon;
using slotlab::daemon::test::TempDir;

TEST_CASE("log lines have redis-server's format and are filtered by level", "[daemon][log]") {
  TempDir dir;
  DaemonLog log;
  REQUIRE(log.open(dir.file("node.log")).ok());
  LogLevel level = LogLevel::notice;
  char role = 'M';
  log.set_level_source([&] { return level; });
  log.set_role_source([&] { return role; });
  log.log(LogLevel::debug, "hidden debug");
  log.log(LogLevel::verbose, "hidden verbose");
  log.log(LogLevel::notice, "Ready to accept connections");
  role = 'S';
  log.log(LogLevel::warning, "a warning");
  level = LogLevel::debug;  // CONFIG SET loglevel debug
  log.log(LogLevel::debug, "now visible");
  std::string text = test::read_file(dir.file("node.log"));
  CHECK(text.find("hidden") == std::string::npos);
  std::string pid = std::to_string(::getpid());
  std::regex line1(pid + R"(:M \d\d [A-Z][a-z][a-z] \d{4} \d\d:\d\d:\d\d\.\d{3} \* Ready to accept connections\n)");
  std::regex line2(pid + R"(:S \d\d [A-Z][a-z][a-z] \d{4} \d\d:\d\d:\d\d\.\d{3} # a warning\n)");
  std::regex line3(pid + R"(:S \d\d [A-Z][a-z][a-z] \d{4} \d\d:\d\d:\d\d\.\d{3} \. now visible\n)");
  std::smatch m;
  CHECK(std::regex_search(text, m, line1));
  CHECK(std::regex_search(text, m, line2));
  CHECK(std::regex_search(text, m, line3));
  CHECK(log_prefix(42, 'M', LogLevel::verbose).substr(0, 5) == "42:M ");
  CHECK(log_prefix(42, 'M', LogLevel::verbose).substr(log_prefix(42, 'M', LogLevel::verbose).size() - 2) == "- ");
}

TEST_CASE("trace events are verbose log lines the harness can parse back", "[daemon][log]") {
  TraceEvent e;
  e.kind = TraceKind::vote_refused;
  NodeId::parse("0123456789abcdef0123456789abcdef01234567", e.about);
  e.epoch = 7;
  e.value = -3;
  e.detail = "it said \"no\"\\ twice\nand left";
  std::string text = format_trace(e, 1732519561123);
  CHECK(text.rfind("trace ms=1732519561123 kind=vote_refused about=0123456789abcdef0123456789abcdef01234567 epoch=7 "
                   "value=-3 detail=\"",
                   0) == 0);
  CHECK(text.find('\n') == std::string::npos);
  auto parsed = parse_trace("123:M 25 Nov 2024 07:26:01.123 - " + text);
  REQUIRE(parsed.has_value());
  CHECK(parsed->wall_ms == 1732519561123);
  CHECK(parsed->event.kind == TraceKind::vote_refused);
  CHECK(parsed->event.about == e.about);
  CHECK(parsed->event.epoch == 7);
  CHECK(parsed->event.value == -3);
  CHECK(parsed->event.detail == e.detail);

  TraceEvent plain;
  plain.kind = TraceKind::state_changed;
  plain.value = 1;
  auto back = parse_trace(format_trace(plain, 5));
  REQUIRE(back.has_value());
  CHECK(back->event.about.is_null());
  CHECK(back->event.detail.empty());
  CHECK_FALSE(parse_trace("123:M 25 Nov 2024 07:26:01.123 * Ready to accept connections").has_value());
  CHECK_FALSE(parse_trace("trace ms=1 kind=no_such_kind about=- epoch=0 value=0 detail=\"\"").has_value());

  // Only at verbose level and below.
  TempDir dir;
  DaemonLog log;
  REQUIRE(log.open(dir.file("t.log")).ok());
  log.set_level(LogLevel::notice);
  log.on_trace(plain);
  CHECK(test::read_file(dir.file("t.log")).empty());
  log.set_level(LogLevel::verbose);
  log.on_trace(plain);
  CHECK(parse_trace(test::read_file(dir.file("t.log"))).has_value());
}
