// call and set-timeout on a simulated cluster: the command goes to every loaded node in load
// order (or only primaries / replicas), and set-timeout's errors are per node, not fatal
// (clusterManagerCommandCall / clusterManagerCommandSetTimeout).
#include "admin_lab.hpp"

using namespace slotlab;
using namespace slotlab::harness;
using slotlab::harness::testing::AdminLab;
using slotlab::harness::testing::require_same_commands;

TEST_CASE("call sends the command to every node in load order", "[admin]") {
  AdminLab lab(51, 3, 1, 0);
  lab.create();
  auto order = lab.load_order("n1");
  for (int variant = 0; variant < 3; ++variant) {
    CallOptions o;
    o.only_masters = variant == 1;
    o.only_replicas = variant == 2;
    lab.record();
    lab.log().clear();
    auto r = cluster_call(lab.ctx(), lab.ep("n1"), {"PING"}, o);
    auto sent = lab.stop_recording();
    REQUIRE(r.ok());
    std::vector<std::string> want = AdminLab::load_commands(order);
    std::size_t expected = 0;
    for (const auto& n : order) {
      bool replica = lab.is_replica(n);
      if ((o.only_masters && replica) || (o.only_replicas && !replica)) continue;
      want.push_back(n + ": PING");
      ++expected;
    }
    require_same_commands(sent, want);
    REQUIRE(r->size() == expected);
    for (const auto& reply : *r) {
      CHECK(reply.answered);
      CHECK(reply.reply.str == "PONG");
      CHECK(lab.logged(reply.endpoint.str() + ": PONG"));
    }
    CHECK(lab.logged(">>> Calling PING"));
  }
}

TEST_CASE("call reports error replies and multi-line replies as redis-cli prints them", "[admin]") {
  AdminLab lab(52, 3, 0, 0);
  lab.create();
  auto r = cluster_call(lab.ctx(), lab.ep("n2"), {"NOSUCHCOMMAND", "x"});
  REQUIRE(r.ok());
  REQUIRE(r->size() == 3);
  for (const auto& reply : *r) {
    CHECK(reply.answered);
    CHECK(reply.reply.is_error());
  }
  CHECK(lab.logged(lab.ep("n1").str() + ": ERR unknown command 'NOSUCHCOMMAND'"));
  lab.log().clear();
  auto k = cluster_call(lab.ctx(), lab.ep("n2"), {"CONFIG", "GET", "cluster-node-timeout"});
  REQUIRE(k.ok());
  // An array: one element per line.
  CHECK(lab.logged(lab.ep("n3").str() + ": cluster-node-timeout"));
  CHECK(lab.logged("2000"));
}

TEST_CASE("set-timeout: CONFIG SET then CONFIG REWRITE on each node, errors counted per node", "[admin]") {
  AdminLab lab(53, 3, 1, 0);
  lab.create();
  auto order = lab.load_order("n1");
  lab.record();
  auto r = set_timeout(lab.ctx(), lab.ep("n1"), 3000);
  auto sent = lab.stop_recording();
  INFO(lab.log_text());
  REQUIRE(r.ok());
  std::vector<std::string> want = AdminLab::load_commands(order);
  for (const auto& n : order) {
    want.push_back(n + ": CONFIG SET cluster-node-timeout 3000");
    want.push_back(n + ": CONFIG REWRITE");
  }
  require_same_commands(sent, want);
  // Whatever CONFIG REWRITE says in the simulator (no config file), the timeout is set.
  CHECK(r->ok_count + r->err_count == 6);
  CHECK(static_cast<int>(r->errors.size()) == r->err_count);
  CHECK(lab.logged(fmt::format(">>> New node timeout set. {} OK, {} ERR.", r->ok_count, r->err_count)));
  for (const auto& n : order) {
    auto v = lab.must(n, {"CONFIG", "GET", "cluster-node-timeout"});
    REQUIRE(v.elements.size() == 2);
    CHECK(v.elements[1].str == "3000");
  }

  auto low = set_timeout(lab.ctx(), lab.ep("n1"), 99);
  REQUIRE_FALSE(low.ok());
  CHECK(low.error().message == "Setting a node timeout of less than 100 milliseconds is a bad idea.");
}
