// Tests for daemon/config_file: redis.conf parsing with redis-server 7.0.15's rules and messages
// (the seed redis.conf accepted unchanged, a misspelt directive refused with its line number,
// command-line options appended after the file, save accumulation, sdssplitargs quoting, the
// directives Redis knows but slotlab ignores) and CONFIG REWRITE's in-place rewriting. Tagged
// [daemon][config].
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "daemon/config_file.hpp"
#include "daemon/redis_directives.hpp"
#include "daemon_test_util.hpp"
#include "node/config.hpp"

using namespace slotlab;
using namespace slotlab::daemon;
using slotlab::daemon::test::TempDir;

namespace {

struct Loaded {
  DaemonConfig config;
  std::optional<ConfigError> error;
};

Loaded load_text(const std::string& text, const std::string& cwd) {
  ConfigLoader loader(cwd);
  Loaded out;
  out.error = loader.load_string(text);
  if (!out.error) out.error = loader.finish();
  out.config = loader.config();
  return out;
}

Loaded load_args(const std::vector<std::string>& args, const std::string& cwd) {
  CommandLine cl = parse_command_line(args);
  LoadedConfig lc = load_daemon_config(cl, cwd);
  return Loaded{lc.config, lc.error};
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::pair<std::int64_t, std::int64_t>> save_points(const NodeConfig& c) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (const auto& p : c.save) out.emplace_back(p.seconds, p.changes);
  return out;
}

using Points = std::vector<std::pair<std::int64_t, std::int64_t>>;

}  // namespace

TEST_CASE("split_args follows sdssplitargs", "[daemon][config]") {
  using V = std::vector<std::string>;
  CHECK(split_args("port 7000") == V{"port", "7000"});
  CHECK(split_args("  a   b\t c  ") == V{"a", "b", "c"});
  CHECK(split_args("logfile \"\"") == V{"logfile", ""});
  CHECK(split_args("requirepass \"a b\\\"c\\n\"") == V{"requirepass", "a b\"c\n"});
  CHECK(split_args("x \"\\x41\\x7a\"") == V{"x", "Az"});
  CHECK(split_args("x 'it\\'s here'") == V{"x", "it's here"});
  CHECK(split_args("x 'no \\n escape'") == V{"x", "no \\n escape"});
  CHECK(split_args("") == V{});
  CHECK_FALSE(split_args("x \"unterminated").has_value());
  CHECK_FALSE(split_args("x 'unterminated").has_value());
  CHECK_FALSE(split_args("x \"closed\"glued").has_value());  // a closing quote must end the token
  CHECK(split_args("a\"b c\"") == V{"ab c"});                // quotes may start mid-token
}

TEST_CASE("quote_arg round-trips through split_args", "[daemon][config]") {
  for (std::string s : {std::string(""), std::string("plain"), std::string("with space"), std::string("q\"uote\\"),
                        std::string("ctl\n\r\t\a\b"), std::string("bin\x01\x7f\xff", 6)}) {
    auto back = split_args("name " + quote_arg(s));
    REQUIRE(back.has_value());
    REQUIRE(back->size() == 2);
    CHECK((*back)[1] == s);
  }
  CHECK(quote_arg("a b") == "\"a b\"");
  CHECK(quote_arg("\x01") == "\"\\x01\"");
}

TEST_CASE("the seed redis.conf is accepted unchanged", "[daemon][config]") {
  TempDir dir;
  std::string seed = test::read_file(test::source_dir() + "/tests/daemon/seed_redis.conf");
  REQUIRE(!seed.empty());
  test::write_file(dir.file("redis.conf"), seed);
  Loaded l = load_args({dir.file("redis.conf")}, dir.path());
  INFO((l.error ? l.error->report() : std::string()));
  REQUIRE_FALSE(l.error.has_value());
  const NodeConfig& n = l.config.node;
  CHECK(l.config.config_file == dir.file("redis.conf"));
  CHECK(n.cluster_enabled);
  CHECK(n.cluster_config_file == "nodes-6379.conf");
  CHECK(n.cluster_node_timeout_ms == 15000);
  CHECK(n.port == 6379);
  CHECK(n.daemonize);
  CHECK(n.pidfile == "varrunredis.pid");
  CHECK(n.logfile == "varlogredisredis.log");
  CHECK(n.tcp_keepalive_s == 0);
  CHECK(n.appendfsync == AppendFsync::everysec);
  CHECK(n.replica_priority == 100);  // slave-priority: an alias the node implements
  CHECK(n.replica_read_only);
  CHECK(l.config.dir == dir.path());  // "dir ." relative to the start directory
  // The first save line replaces the defaults; the others accumulate in file order.
  CHECK(save_points(n) == Points{{300, 10}, {60, 10000}, {900, 1}});
  // Redis checks that the log file can be opened, which creates it.
  CHECK(std::filesystem::exists(dir.file("varlogredisredis.log")));
  // Directives Redis 7.0 knows and slotlab does not implement are listed, once each.
  for (const char* name : {"activerehashing", "hash-max-ziplist-entries", "hll-sparse-max-bytes", "lua-time-limit",
                           "notify-keyspace-events", "slowlog-log-slower-than", "slowlog-max-len",
                           "list-max-ziplist-entries"})
    CHECK(contains(l.config.ignored, name));
  CHECK_FALSE(contains(l.config.ignored, "slave-priority"));
  CHECK_FALSE(contains(l.config.ignored, "stop-writes-on-bgsave-error"));  // persistence.cpp honours it
  CHECK(n.stop_writes_on_bgsave_error);
  CHECK_FALSE(contains(l.config.ignored, "tcp-backlog"));                 // the host implements it
  CHECK_FALSE(contains(l.config.ignored, "client-output-buffer-limit"));  // idem
  CHECK(l.config.tcp_backlog == 511);
  CHECK(n.client_obuf_limits[0].hard_bytes == 0);
  CHECK(n.client_obuf_limits[2].hard_bytes == 32ll * 1024 * 1024);
  CHECK(n.client_obuf_limits[2].soft_bytes == 8ll * 1024 * 1024);
  CHECK(n.client_obuf_limits[2].soft_seconds == 60);
  CHECK(n.client_obuf_limits[1].hard_bytes == 256ll * 1024 * 1024);
}

TEST_CASE("a misspelt directive stops start-up with the line number", "[daemon][config]") {
  TempDir dir;
  std::string text;
  for (int i = 1; i <= 11; ++i) text += i % 3 == 0 ? "# comment\n" : "port 7000\n";
  text += "clustr-enabled yes\n";
  text += "cluster-enabled yes\n";
  Loaded l = load_text(text, dir.path());
  REQUIRE(l.error.has_value());
  CHECK(l.error->line == 12);
  CHECK(l.error->line_text == "clustr-enabled yes");
  CHECK(l.error->report() ==
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
        "Reading the configuration file, at line 12\n"
        ">>> 'clustr-enabled yes'\n"
        "Bad directive or wrong number of arguments\n");
}

TEST_CASE("malformed values get redis-server's messages", "[daemon][config]") {
  TempDir dir;
  auto reason = [&](const std::string& text) {
    Loaded l = load_text(text, dir.path());
    return l.error ? l.error->reason : std::string("(accepted)");
  };
  CHECK(reason("port 7000 7001") == "wrong number of arguments");
  CHECK(reason("port") == "wrong number of arguments");
  CHECK(reason("port 70000") == "argument must be between 0 and 65535 inclusive");
  CHECK(reason("cluster-enabled maybe") == "argument must be 'yes' or 'no'");
  CHECK(reason("activerehashing maybe") == "argument must be 'yes' or 'no'");  // ignored, but checked
  CHECK(reason("slowlog-max-len many") == "argument couldn't be parsed into an integer");
  CHECK(reason("maxmemory-policy sometimes").rfind("argument(s) must be one of the following: volatile-lru", 0) == 0);
  CHECK(reason("hll-sparse-max-bytes 3kb") == "(accepted)");
  CHECK(reason("save 900") == "Invalid save parameters");
  CHECK(reason("requirepass \"open") == "Unbalanced quotes in configuration line");
  CHECK(reason("client-output-buffer-limit normal 0 0") == "Wrong number of arguments in buffer limit configuration.");
  CHECK(reason("client-output-buffer-limit master 0 0 0") ==
        "Invalid client class specified in buffer limit configuration.");
  CHECK(reason("client-output-buffer-limit normal 1x 0 0") ==
        "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
  CHECK(reason("sentinel monitor m 127.0.0.1 6379 2") == "sentinel directive while not in sentinel mode");
  CHECK(reason("dir /nonexistent/slotlab/dir") == "No such file or directory");
  CHECK(reason("cluster-enabled yes\nreplicaof 127.0.0.1 6380") == "replicaof directive not allowed in cluster mode");
  CHECK(reason("include") == "Bad directive or wrong number of arguments");
  CHECK(reason("rename-command CONFIG \"\"") == "(accepted)");
  CHECK(reason("# just a comment\n\n   \n") == "(accepted)");
  CHECK(reason("HZ 1000") == "(accepted)");  // Redis clamps hz to 500 instead of refusing it
  Loaded hz = load_text("hz 1000", dir.path());
  CHECK(hz.config.node.hz == 500);
}

TEST_CASE("names are case-insensitive and aliases map to their directive", "[daemon][config]") {
  TempDir dir;
  Loaded l = load_text("PORT 7001\nCluster-Enabled YES\nslave-serve-stale-data no\ncluster-slave-validity-factor 3\n",
                       dir.path());
  REQUIRE_FALSE(l.error.has_value());
  CHECK(l.config.node.port == 7001);
  CHECK(l.config.node.cluster_enabled);
  CHECK_FALSE(l.config.node.replica_serve_stale_data);
  CHECK(l.config.node.cluster_replica_validity_factor == 3);
  CHECK(l.config.ignored.empty());
}

TEST_CASE("command-line options are appended after the file and win", "[daemon][config]") {
  TempDir dir;
  std::string file = "port 6379\ncluster-enabled no\nloglevel notice\n";
  test::write_file(dir.file("redis.conf"), file);
  Loaded l = load_args({dir.file("redis.conf"), "--port", "7002", "--cluster-enabled", "yes", "--loglevel verbose"},
                       dir.path());
  REQUIRE_FALSE(l.error.has_value());
  CHECK(l.config.node.port == 7002);
  CHECK(l.config.node.cluster_enabled);
  CHECK(l.config.node.loglevel == "verbose");

  // A bad option is reported at its line in "file + \n + options" (3 file lines, an empty line).
  Loaded bad = load_args({dir.file("redis.conf"), "--port", "7002", "--clustr-enabled", "yes"}, dir.path());
  REQUIRE(bad.error.has_value());
  CHECK(bad.error->line == 6);
  CHECK(bad.error->line_text == "clustr-enabled \"yes\"");

  // Without a file, options start at line 2.
  Loaded nofile = load_args({"--port", "7003", "--bogus", "1"}, dir.path());
  REQUIRE(nofile.error.has_value());
  CHECK(nofile.error->line == 3);
  CHECK(nofile.config.config_file.empty());

  Loaded missing = load_args({dir.file("nope.conf")}, dir.path());
  REQUIRE(missing.error.has_value());
  CHECK_FALSE(missing.error->fatal_format);
  CHECK(missing.error->reason ==
        "Fatal error, can't open config file '" + dir.file("nope.conf") + "': No such file or directory");
}

TEST_CASE("the command line is turned into config lines like redis-server does", "[daemon][config]") {
  CommandLine cl = parse_command_line({"/etc/redis.conf", "--port", "7000", "--save", "--cluster-enabled", "yes"});
  CHECK(cl.action == CommandLine::Action::run);
  CHECK(cl.config_file == "/etc/redis.conf");
  CHECK(cl.options == "port \"7000\" \nsave \"\"\ncluster-enabled \"yes\" ");
  CHECK(parse_command_line({"--save"}).options == "save \"\"");
  CHECK(parse_command_line({"--bind", "127.0.0.1", "::1"}).options == "bind \"127.0.0.1\" \"::1\" ");
  CHECK(parse_command_line({"-v"}).action == CommandLine::Action::version);
  CHECK(parse_command_line({"--help"}).action == CommandLine::Action::help);
  CHECK(parse_command_line({"x.conf", "-"}).action == CommandLine::Action::error);
  CHECK_FALSE(parse_command_line({}).has_args);
}

TEST_CASE("save lines accumulate and save \"\" clears them", "[daemon][config]") {
  TempDir dir;
  CHECK(save_points(load_text("port 7000", dir.path()).config.node) == Points{{3600, 1}, {300, 100}, {60, 10000}});
  CHECK(save_points(load_text("save 900 1\nsave 300 10", dir.path()).config.node) == Points{{900, 1}, {300, 10}});
  CHECK(save_points(load_text("save 900 1 300 10\nsave 60 5", dir.path()).config.node) ==
        Points{{900, 1}, {300, 10}, {60, 5}});
  CHECK(save_points(load_text("save \"900 1 300 10\"", dir.path()).config.node) == Points{{900, 1}, {300, 10}});
  CHECK(save_points(load_text("save 900 1\nsave \"\"", dir.path()).config.node).empty());
  CHECK(save_points(load_text("save \"\"\nsave 60 5", dir.path()).config.node) == Points{{60, 5}});
  // From the command line: `--save ""` after a file with save lines disables saving.
  test::write_file(dir.file("s.conf"), "save 900 1\n");
  CHECK(save_points(load_args({dir.file("s.conf"), "--save", ""}, dir.path()).config.node).empty());
  CHECK(save_points(load_args({dir.file("s.conf"), "--save", "60 100"}, dir.path()).config.node) ==
        Points{{900, 1}, {60, 100}});
}

TEST_CASE("quoted values and multi-address bind", "[daemon][config]") {
  TempDir dir;
  Loaded l = load_text(
      "requirepass \"p a\\\"ss\"\nmasterauth 'it\\'s'\ncluster-announce-hostname \"\\x6e\\x31\"\n"
      "bind 127.0.0.1 -::1\n",
      dir.path());
  REQUIRE_FALSE(l.error.has_value());
  CHECK(l.config.node.requirepass == "p a\"ss");
  CHECK(l.config.node.masterauth == "it's");
  CHECK(l.config.node.cluster_announce_hostname == "n1");
  CHECK(l.config.node.bind == std::vector<std::string>{"127.0.0.1", "-::1"});
  CHECK(load_text("bind \"127.0.0.1 ::1\"", dir.path()).config.node.bind ==
        std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(load_text("bind \"\"", dir.path()).config.node.bind.empty());
}

TEST_CASE("include reads another file at that point", "[daemon][config]") {
  TempDir dir;
  test::write_file(dir.file("inc.conf"), "port 7100\ncluster-enabled yes\n");
  Loaded l = load_text("port 7000\ninclude " + dir.file("inc.conf") + "\ncluster-node-timeout 5000\n", dir.path());
  REQUIRE_FALSE(l.error.has_value());
  CHECK(l.config.node.port == 7100);
  CHECK(l.config.node.cluster_enabled);
  CHECK(l.config.node.cluster_node_timeout_ms == 5000);
  // An error inside the included file names that file's line.
  test::write_file(dir.file("bad.conf"), "port 7100\nnot-a-directive 1\n");
  Loaded bad = load_text("port 7000\ninclude bad.conf\n", dir.path());
  REQUIRE(bad.error.has_value());
  CHECK(bad.error->line == 2);
  CHECK(bad.error->line_text == "not-a-directive 1");
  // A wildcard that matches nothing is fine.
  CHECK_FALSE(load_text("include " + dir.file("conf.d/*.conf"), dir.path()).error.has_value());
}

TEST_CASE("the Redis directive table covers Redis 7.0.15", "[daemon][config]") {
  CHECK(redis_directives().size() == 186);  // 178 in static_configs[], 5 file-only, 3 deprecated
  for (const ConfigDirective& d : config_directives()) {
    INFO(d.name);
    CHECK(find_redis_directive(d.name) != nullptr);  // slotlab implements nothing Redis does not know
  }
  REQUIRE(find_redis_directive("SLAVE-PRIORITY") != nullptr);
  CHECK(std::string(find_redis_directive("slave-priority")->name) == "replica-priority");
  CHECK(find_redis_directive("clustr-enabled") == nullptr);
}

TEST_CASE("CONFIG REWRITE keeps the file's shape", "[daemon][config]") {
  const std::string old_text =
      "# My node\n"
      "port 7000\n"
      "\n"
      "slave-priority 50\n"
      "cluster-node-timeout 15000\n"
      "save 900 1\n"
      "save 300 10\n"
      "save 60 10000\n"
      "activerehashing yes\n"
      "cluster-node-timeout 1\n"
      "some-module.option 5\n"
      "client-output-buffer-limit normal 0 0 0\n";
  // The node says: port 7000, timeout 5000 and one save point differ from their defaults.
  std::vector<std::string> directives = {"port 7000", "cluster-node-timeout 5000", "save 900 1",
                                         "requirepass \"quoted\" pass", "cluster-enabled yes"};
  std::string out = rewrite_config_text(old_text, directives);
  CHECK(out ==
        "# My node\n"
        "port 7000\n"
        "\n"
        "replica-priority 100\n"
        "cluster-node-timeout 5000\n"
        "save 900 1\n"
        "\n"
        "activerehashing yes\n"
        "\n"
        "# ??? some-module.option 5\n"
        "client-output-buffer-limit normal 0 0 0\n"
        "\n"
        "# Generated by CONFIG REWRITE\n"
        "dir \".\"\n"
        "cluster-enabled yes\n"
        "requirepass \"\\\"quoted\\\" pass\"\n");
  // Rewriting the result again changes nothing (no second signature).
  CHECK(rewrite_config_text(out, directives) == out);
  // An empty save list is written as save "".
  CHECK(rewrite_config_text("", {"save "}).find("save \"\"\n") != std::string::npos);
}

TEST_CASE("CONFIG REWRITE writes client-output-buffer-limit one class per line, as Redis does", "[daemon][config]") {
  const std::string old_text =
      "port 7000\n"
      "client-output-buffer-limit normal 0 0 0\n"
      "client-output-buffer-limit pubsub 32mb 8mb 60\n";
  std::vector<std::string> directives = {
      "port 7000", "client-output-buffer-limit normal 1048576 0 0 slave 536870912 134217728 120 pubsub 33554432 8388608 60"};
  std::string out = rewrite_config_text(old_text, directives);
  CHECK(out ==
        "port 7000\n"
        "client-output-buffer-limit normal 1mb 0 0\n"
        "client-output-buffer-limit replica 512mb 128mb 120\n"  // takes the next existing line
        "\n"
        "# Generated by CONFIG REWRITE\n"
        "dir \".\"\n"
        "save 3600 1\n"
        "save 300 100\n"
        "save 60 10000\n");
  CHECK(rewrite_config_text(out, directives) == out);
}
