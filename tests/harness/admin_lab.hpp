// A simulated cluster for the admin-operation tests: a SimWorld with a topology, the cluster
// created by `create_cluster`, an AdminContext on a pool whose commands can be recorded as
// "n3: CLUSTER SETSLOT 5 node <id>" lines, and helpers to build what redis-cli would send.
#pragma once

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/admin.hpp"
#include "harness/checks.hpp"
#include "harness/cluster_view.hpp"
#include "harness/sim_world.hpp"

namespace slotlab::harness::testing {

class AdminLab {
 public:
  AdminLab(std::uint64_t seed, int primaries, int replicas, int spares, int node_timeout_ms = 2000)
      : world_(seed), pool_(world_), ctx_{pool_, [this] { return world_.random(); }, &log_} {
    Topology t;
    t.primaries = primaries;
    t.replicas = replicas;
    t.spares = spares;
    t.config["cluster-node-timeout"] = std::to_string(node_timeout_ms);
    REQUIRE(world_.start(t).ok());
    created_ = primaries * (1 + replicas);
    replicas_ = replicas;
  }

  // redis-cli --cluster create with the first primaries*(1+replicas) nodes, then waits until they
  // agree and are ok.
  void create() {
    std::vector<Endpoint> eps;
    for (int i = 1; i <= created_; ++i) eps.push_back(ep(fmt::format("n{}", i)));
    auto plan = create_cluster(ctx_, eps, replicas_);
    INFO((plan.ok() ? std::string() : plan.error().message));
    REQUIRE(plan.ok());
    std::vector<std::string> names;
    for (int i = 1; i <= created_; ++i) names.push_back(fmt::format("n{}", i));
    wait_healthy(names);
  }

  // Waits until every named node answers, says cluster_state:ok, agrees on the signature and sees
  // every slot; fails the test with the reason otherwise.
  void wait_healthy(const std::vector<std::string>& names, Millis timeout_ms = 60000) {
    std::vector<Endpoint> eps;
    for (const auto& n : names) eps.push_back(ep(n));
    std::string why;
    Millis deadline = world_.now_ms() + timeout_ms;
    while (true) {
      auto obs = observe(pool_, eps, 5000, false);
      bool ok = true;
      for (auto* check : {check_all_reachable, check_state_ok, check_agreement, check_slot_coverage}) {
        CheckResult c = check(obs);
        if (!c.passed) {
          ok = false;
          why = c.detail;
          break;
        }
      }
      if (ok) return;
      if (world_.now_ms() >= deadline) FAIL("cluster not healthy: " + why);
      world_.sleep_ms(200);
    }
  }

  // Waits until every named node's CLUSTER NODES gives the same config signature.
  bool wait_agree(const std::vector<std::string>& names, Millis timeout_ms = 30000) {
    Millis deadline = world_.now_ms() + timeout_ms;
    while (true) {
      std::string first;
      bool same = true;
      for (std::size_t i = 0; i < names.size(); ++i) {
        auto r = pool_.call(ep(names[i]), {"CLUSTER", "NODES"});
        if (!r || r->is_error()) {
          same = false;
          break;
        }
        std::string sig = config_signature(r->str);
        if (i == 0) first = sig;
        if (sig != first) same = false;
      }
      if (same) return true;
      if (world_.now_ms() >= deadline) return false;
      world_.sleep_ms(200);
    }
  }

  Endpoint ep(const std::string& name) const { return world_.endpoint(name); }
  std::string id(const std::string& name) const { return world_.node_id(name); }
  std::string name_of(const Endpoint& e) const {
    for (const auto& n : world_.node_names())
      if (world_.endpoint(n) == e) return n;
    return e.str();
  }
  std::string name_of_id(const std::string& i) const {
    for (const auto& n : world_.node_names())
      if (world_.node_id(n) == i) return n;
    return i;
  }

  // A command on one node, outside any recording; the reply must not be an error.
  resp::Value must(const std::string& name, const Argv& argv) {
    auto r = pool_.call(ep(name), argv);
    INFO(name << ": " << fmt::format("{}", fmt::join(argv, " ")));
    REQUIRE(r.ok());
    INFO(r->describe());
    REQUIRE_FALSE(r->is_error());
    return *r;
  }
  resp::Value send(const std::string& name, const Argv& argv) {
    auto r = pool_.call(ep(name), argv);
    REQUIRE(r.ok());
    return *r;
  }

  // Node ids rendered as names in recorded commands, so expectations read "SETSLOT 5 node n4".
  void record() {
    sent_.clear();
    pool_.set_observer([this](const Endpoint& to, const Argv& argv) {
      std::string line = name_of(to) + ":";
      for (const auto& a : argv) {
        std::string w = a;
        if (w.size() == 40) {
          std::string n = name_of_id(w);
          if (n != w) w = "<" + n + ">";
        }
        line += " " + (w.empty() ? std::string("\"\"") : w);
      }
      sent_.push_back(std::move(line));
    });
  }
  std::vector<std::string> stop_recording() {
    pool_.set_observer({});
    return std::move(sent_);
  }

  // The order in which redis-cli loads the cluster from `entry`: the entry, then the others as
  // its CLUSTER NODES lists them (only those that are reachable and not failed).
  std::vector<std::string> load_order(const std::string& entry) {
    std::vector<std::string> order{entry};
    auto r = pool_.call(ep(entry), {"CLUSTER", "NODES"});
    REQUIRE(r.ok());
    auto lines = parse_cluster_nodes(r->str);
    REQUIRE(lines.ok());
    for (const auto& l : *lines)
      if (!l.myself() && !l.has_flag("fail") && !l.has_flag("noaddr")) order.push_back(name_of_id(l.id));
    return order;
  }
  // What redis-cli sends to load the cluster.
  static std::vector<std::string> load_commands(const std::vector<std::string>& order) {
    std::vector<std::string> out{order[0] + ": INFO", order[0] + ": CLUSTER NODES"};
    for (std::size_t i = 1; i < order.size(); ++i) out.push_back(order[i] + ": CLUSTER NODES");
    return out;
  }
  // Whether a node is a replica (in its own view).
  bool is_replica(const std::string& name) {
    auto r = pool_.call(ep(name), {"CLUSTER", "NODES"});
    REQUIRE(r.ok());
    auto lines = parse_cluster_nodes(r->str);
    REQUIRE(lines.ok());
    for (const auto& l : *lines)
      if (l.myself()) return l.is_replica();
    return false;
  }
  std::string primary_of(const std::string& name) {
    auto r = pool_.call(ep(name), {"CLUSTER", "NODES"});
    REQUIRE(r.ok());
    auto lines = parse_cluster_nodes(r->str);
    REQUIRE(lines.ok());
    for (const auto& l : *lines)
      if (l.myself()) return name_of_id(l.primary_id);
    return {};
  }
  // Slots the node claims in its own view.
  int slot_count(const std::string& name) {
    auto r = pool_.call(ep(name), {"CLUSTER", "NODES"});
    REQUIRE(r.ok());
    auto lines = parse_cluster_nodes(r->str);
    REQUIRE(lines.ok());
    for (const auto& l : *lines)
      if (l.myself()) return l.slot_count();
    return 0;
  }
  bool owns(const std::string& name, int slot) {
    auto r = pool_.call(ep(name), {"CLUSTER", "NODES"});
    REQUIRE(r.ok());
    auto lines = parse_cluster_nodes(r->str);
    REQUIRE(lines.ok());
    for (const auto& l : *lines) {
      if (!l.myself()) continue;
      for (auto [a, b] : l.slots)
        if (slot >= a && slot <= b) return true;
    }
    return false;
  }

  SimWorld& world() { return world_; }
  ClientPool& pool() { return pool_; }
  AdminContext& ctx() { return ctx_; }
  std::vector<std::string>& log() { return log_; }
  bool logged(const std::string& needle) const {
    for (const auto& l : log_)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
  std::string log_text() const {
    std::string out;
    for (const auto& l : log_) out += l + "\n";
    return out;
  }

 private:
  SimWorld world_;
  ClientPool pool_;
  std::vector<std::string> log_;
  AdminContext ctx_;
  int created_ = 0;
  int replicas_ = 0;
  std::vector<std::string> sent_;
};

// Sequences compared element by element, so a failure shows where they part.
inline void require_same_commands(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  std::size_t n = std::min(got.size(), want.size());
  for (std::size_t i = 0; i < n; ++i) {
    INFO("command #" << i);
    REQUIRE(got[i] == want[i]);
  }
  INFO("sent " << got.size() << " commands, redis-cli sends " << want.size()
               << (got.size() > n ? "; first extra: " + got[n] : "") << (want.size() > n ? "; first missing: " + want[n] : ""));
  REQUIRE(got.size() == want.size());
}

}  // namespace slotlab::harness::testing
