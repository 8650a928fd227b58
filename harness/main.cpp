// The slotlab command line.
//
//   slotlab run SCENARIO [--seed N] [--json] [--timeline] [--report DIR] [--world sim|real [--server PATH] [--base-port P]]
//   slotlab report-swarm SWARM.json -o DIR
//   slotlab launch --masters N --replicas R [--base-port P] [--server PATH] [--dir DIR] [--password PW]
//   slotlab launch --stop [--dir DIR]
//   slotlab swarm SCENARIO --seeds A..B [--jobs J] [--shard i/N] [--json FILE]     (swarm.cpp)
//   slotlab swarm-merge SHARD.json... [--json FILE]                                (swarm.cpp)
//   slotlab shrink SCENARIO --seed N [-o OUT.json] [--all-steps]                   (shrink.cpp)
//   slotlab regress [--baselines DIR] [--root DIR] [--update] [--jobs J]           (regress.cpp)
//
// Exit status: 0 when every check holds, 1 when a step or a check fails, 2 for a bad scenario
// file or bad arguments (with a message naming the field).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/admin.hpp"
#include "harness/real_world.hpp"
#include "harness/report_html.hpp"
#include "harness/runner.hpp"
#include "harness/scenario.hpp"
#include "harness/sim_world.hpp"
#include "harness/swarm.hpp"

namespace {

int usage(const char* msg = nullptr) {
  if (msg != nullptr) std::fprintf(stderr, "slotlab: %s\n\n", msg);
  std::fprintf(stderr,
               "Usage:\n"
               "  slotlab run SCENARIO.json [--seed N] [--json] [--timeline] [--report DIR]\n"
               "              [--world sim|real] [--server PATH] [--base-port P]\n"
               "      Runs a scenario in the deterministic simulator and prints a summary,\n"
               "      or with --json the result as JSON (--timeline adds every event). --report DIR\n"
               "      writes DIR/NAME-seedN.md and DIR/NAME-seedN/{index.html,result.json}. --world real\n"
               "      runs it against real processes (slotlab-node next to slotlab, or --server PATH,\n"
               "      e.g. /usr/bin/redis-server) on 127.0.0.1 ports from --base-port (default 30001).\n"
               "  slotlab report-swarm SWARM.json -o DIR\n"
               "      Writes DIR/index.html: outcomes and histograms of failover time and availability\n"
               "      of a swarm result file (scenarios/README.md, Reports).\n"
               "  slotlab launch --masters N --replicas R [--base-port P] [--server PATH] [--dir DIR]\n"
               "                 [--password PW]\n"
               "      Starts a local cluster of real processes on 127.0.0.1 (slotlab-node, or any\n"
               "      redis-server-compatible binary), creates it and leaves it running.\n"
               "  slotlab launch --stop [--dir DIR]\n"
               "      Stops the cluster `launch` started (by the PIDs it recorded) and removes DIR.\n"
               "  slotlab swarm SCENARIO.json --seeds A..B [--jobs J] [--shard i/N] [--json FILE] [--timeout S]\n"
               "      Runs every seed (params drawn from each seed), J at a time in child processes,\n"
               "      and prints outcomes, timing percentiles and the command reproducing each failure.\n"
               "  slotlab swarm-merge SHARD.json... [--json FILE]\n"
               "      Combines the --json files of the shards of a swarm into the unsharded summary.\n"
               "  slotlab shrink SCENARIO.json --seed N [-o OUT.json] [--all-steps]\n"
               "      Reduces a failing seed to a minimal concrete scenario that fails the same way.\n"
               "  slotlab regress [--baselines DIR] [--root DIR] [--update] [--jobs J]\n"
               "      Reruns the swarms of reports/baselines/*.json and compares failover stages\n"
               "      (p50 and p90 within 10%% or 50 ms); exit 1 on a regression.\n"
               "Exit status: 0 all checks hold, 1 a check or step failed, 2 bad scenario or arguments.\n");
  return 2;
}

bool parse_u64(const std::string& s, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

int cmd_run(const std::vector<std::string>& args) {
  std::string path;
  std::uint64_t seed = 1;
  bool json = false, timeline = false;
  std::string world_kind = "sim", server, report_dir;
  std::uint64_t base_port = 30001;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--world") {
      if (i + 1 >= args.size() || (args[i + 1] != "sim" && args[i + 1] != "real")) return usage("--world is sim or real");
      world_kind = args[++i];
    } else if (a == "--server") {
      if (i + 1 >= args.size()) return usage("--server needs a path");
      server = args[++i];
    } else if (a == "--base-port") {
      if (i + 1 >= args.size() || !parse_u64(args[i + 1], base_port) || base_port == 0 || base_port > 55535)
        return usage("--base-port needs a port <= 55535");
      ++i;
    } else if (a == "--seed") {
      if (i + 1 >= args.size() || !parse_u64(args[i + 1], seed)) return usage("--seed needs a non-negative integer");
      ++i;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--timeline") {
      timeline = true;
    } else if (a == "--report") {
      if (i + 1 >= args.size()) return usage("--report needs a directory");
      report_dir = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      return usage(fmt::format("unknown option {}", a).c_str());
    } else if (path.empty()) {
      path = a;
    } else {
      return usage("only one scenario file per run");
    }
  }
  if (path.empty()) return usage("run needs a scenario file");
  auto sc = slotlab::harness::load_scenario_file(path, seed);  // params drawn from the seed
  if (!sc) {
    std::fprintf(stderr, "slotlab: bad scenario: %s\n", sc.error().message.c_str());
    return 2;
  }
  if (world_kind == "sim" && !server.empty()) return usage("--server needs --world real");
  std::unique_ptr<slotlab::harness::World> world;
  if (world_kind == "real") {
    slotlab::harness::RealWorldOptions o;
    o.server = server.empty() ? slotlab::harness::RealWorld::default_server() : std::filesystem::absolute(server).string();
    o.base_port = static_cast<std::uint16_t>(base_port);
    world = std::make_unique<slotlab::harness::RealWorld>(seed, o);
  } else {
    world = slotlab::harness::make_sim_world(seed);
  }
  auto t0 = std::chrono::steady_clock::now();
  auto result = slotlab::harness::run_scenario(*sc, *world, seed);
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  result.wall_time_ms = wall;
  if (json) {
    std::cout << slotlab::harness::to_json(result, timeline).dump(2) << "\n";
  } else {
    std::cout << slotlab::harness::summary_text(result);
    std::cout << fmt::format("  wall-clock time {} ms ({:.0f}x real time)\n", wall,
                             wall > 0 ? static_cast<double>(result.world_time_ms) / static_cast<double>(wall) : 0.0);
  }
  if (!report_dir.empty()) {
    std::string html;
    if (auto err = slotlab::harness::write_run_report(report_dir, result, sc->description, &html); !err.empty()) {
      std::fprintf(stderr, "slotlab: cannot write the report: %s\n", err.c_str());
      return 2;
    }
    std::fprintf(stderr, "report written to %s (with result.json beside it) and %s/%s-seed%llu%s.md\n", html.c_str(),
                 report_dir.c_str(), sc->name.c_str(), static_cast<unsigned long long>(seed), world_kind == "sim" ? "" : "-real");
  }
  return result.passed ? 0 : 1;
}

// slotlab report-swarm FILE.json -o DIR: the swarm summary page (report_html.hpp).
int cmd_report_swarm(const std::vector<std::string>& args) {
  std::string in, dir;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-o" || args[i] == "--out") {
      if (i + 1 >= args.size()) return usage("report-swarm: -o needs a directory");
      dir = args[++i];
    } else if (!args[i].empty() && args[i][0] == '-') {
      return usage(fmt::format("report-swarm: unknown option {}", args[i]).c_str());
    } else if (in.empty()) {
      in = args[i];
    } else {
      return usage("report-swarm takes one swarm result file");
    }
  }
  if (in.empty() || dir.empty()) return usage("report-swarm needs FILE.json and -o DIR");
  std::ifstream f(in);
  if (!f) {
    std::fprintf(stderr, "slotlab: cannot read %s\n", in.c_str());
    return 2;
  }
  auto doc = nlohmann::json::parse(f, nullptr, false);
  if (doc.is_discarded()) {
    std::fprintf(stderr, "slotlab: %s is not valid JSON\n", in.c_str());
    return 2;
  }
  std::string err;
  std::string html = slotlab::harness::swarm_report_html(doc, err);
  if (html.empty()) {
    std::fprintf(stderr, "slotlab: bad swarm result file: %s: %s\n", in.c_str(), err.c_str());
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::ofstream out(dir + "/index.html", std::ios::trunc);
  out << html;
  out.close();
  if (ec || !out) {
    std::fprintf(stderr, "slotlab: cannot write %s/index.html\n", dir.c_str());
    return 2;
  }
  std::printf("swarm report written to %s/index.html\n", dir.c_str());
  return 0;
}

// ---- slotlab launch ---------------------------------------------------------------------------
// A local cluster of real processes that outlives this command. The PIDs go to DIR/launch.json so
// that `launch --stop` signals exactly the processes it started (and checks, through
// /proc/PID/exe, that a PID still belongs to the server binary before signalling it).

std::string default_launch_dir() { return fmt::format("/tmp/slotlab-launch-{}", ::getuid()); }

bool pid_runs(long pid, const std::string& server) {
  if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) != 0) return false;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink(fmt::format("/proc/{}/exe", pid), ec);
  if (ec) return false;  // gone, or a zombie
  auto want = std::filesystem::weakly_canonical(server, ec);
  return !ec && exe == want;
}

std::optional<nlohmann::json> read_launch_state(const std::string& dir) {
  std::ifstream in(dir + "/launch.json");
  if (!in) return std::nullopt;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

int launch_stop(const std::string& dir) {
  auto state = read_launch_state(dir);
  if (!state) {
    std::fprintf(stderr, "slotlab: no launched cluster recorded in %s/launch.json\n", dir.c_str());
    return 1;
  }
  std::string server = state->value("server", "");
  std::vector<std::pair<std::string, long>> running;
  for (const auto& n : (*state)["nodes"]) {
    long pid = n.value("pid", 0L);
    if (pid_runs(pid, server)) {
      ::kill(static_cast<pid_t>(pid), SIGTERM);
      running.emplace_back(n.value("name", "?"), pid);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto alive = [&] {
    std::size_t k = 0;
    for (auto& [name, pid] : running) k += pid_runs(pid, server) ? 1 : 0;
    return k;
  };
  while (alive() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int killed = 0;
  for (auto& [name, pid] : running) {
    if (pid_runs(pid, server)) {
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      ++killed;
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::printf("slotlab: stopped %zu node(s)%s; removed %s\n", running.size(),
              killed > 0 ? fmt::format(" ({} did not exit on SIGTERM and were killed)", killed).c_str() : "",
              dir.c_str());
  return 0;
}

int cmd_launch(const std::vector<std::string>& args) {
  std::uint64_t masters = 3, replicas = 1, base_port = 30001;
  std::string server, dir = default_launch_dir(), password;
  bool stop = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    auto number = [&](std::uint64_t& out) { return i + 1 < args.size() && parse_u64(args[++i], out); };
    if (a == "--stop") {
      stop = true;
    } else if (a == "--masters") {
      if (!number(masters)) return usage("--masters needs a number");
    } else if (a == "--replicas") {
      if (!number(replicas)) return usage("--replicas needs a number");
    } else if (a == "--base-port") {
      if (!number(base_port) || base_port == 0 || base_port > 55535) return usage("--base-port needs a port <= 55535");
    } else if (a == "--server") {
      if (!value(server)) return usage("--server needs a path");
    } else if (a == "--dir") {
      if (!value(dir)) return usage("--dir needs a path");
    } else if (a == "--password") {
      if (!value(password)) return usage("--password needs a value");
    } else {
      return usage(fmt::format("unknown launch option {}", a).c_str());
    }
  }
  if (stop) return launch_stop(dir);
  if (masters < 3) return usage("--masters must be at least 3 (Redis Cluster needs three primaries)");
  if (masters * (replicas + 1) > 200) return usage("at most 200 nodes");
  if (auto old = read_launch_state(dir)) {
    for (const auto& n : (*old)["nodes"]) {
      if (pid_runs(n.value("pid", 0L), old->value("server", ""))) {
        std::fprintf(stderr, "slotlab: a cluster launched in %s is still running; stop it first: slotlab launch --stop%s\n",
                     dir.c_str(), dir == default_launch_dir() ? "" : (" --dir " + dir).c_str());
        return 1;
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "slotlab: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }

  slotlab::harness::RealWorldOptions o;
  o.server = server.empty() ? slotlab::harness::RealWorld::default_server()
                            : std::filesystem::absolute(server).string();
  o.base_port = static_cast<std::uint16_t>(base_port);
  o.work_dir = dir;
  o.keep_dirs = true;
  o.log_level = "notice";
  o.password = password;
  o.new_session = true;
  slotlab::harness::RealWorld world(static_cast<std::uint64_t>(::getpid()), o);
  slotlab::harness::Topology topo;
  topo.primaries = static_cast<int>(masters);
  topo.replicas = static_cast<int>(replicas);
  auto fail = [&](const std::string& what) {
    std::fprintf(stderr, "slotlab: %s\n(node logs are in %s)\n", what.c_str(), dir.c_str());
    world.stop_all();
    return 1;
  };
  if (auto r = world.start(topo); !r) return fail(r.error().message);

  slotlab::harness::ClientPool pool(world, password);
  std::vector<std::string> log;
  slotlab::harness::AdminContext ctx{pool, [&world] { return world.random(); }, &log, 5000, 60000};
  std::vector<slotlab::Endpoint> eps;
  for (const auto& name : world.node_names()) eps.push_back(world.endpoint(name));
  auto plan = slotlab::harness::create_cluster(ctx, eps, static_cast<int>(replicas));
  for (const auto& line : log) std::printf("%s\n", line.c_str());
  if (!plan) return fail(plan.error().message);
  // Ready when every node says cluster_state:ok.
  bool ok = world.run_until(
      [&] {
        for (const auto& e : eps) {
          auto r = pool.call(e, {"CLUSTER", "INFO"}, 1000);
          if (!r || r->str.find("cluster_state:ok") == std::string::npos) return false;
        }
        return true;
      },
      world.now_ms() + 30000);
  if (!ok) return fail("the cluster did not reach cluster_state:ok within 30 s");

  nlohmann::json state;
  state["server"] = o.server;
  state["dir"] = dir;
  for (const auto& name : world.node_names()) {
    state["nodes"].push_back({{"name", name}, {"port", world.endpoint(name).port}, {"pid", static_cast<long>(world.pid(name))}});
  }
  {
    std::ofstream out(dir + "/launch.json");
    out << state.dump(2) << "\n";
    if (!out) return fail("cannot write " + dir + "/launch.json");
  }
  world.detach();
  auto first = eps.front().port, last = eps.back().port;
  std::string auth = password.empty() ? "" : " -a " + password;
  std::string dir_opt = dir == default_launch_dir() ? "" : " --dir " + dir;
  std::printf("\nslotlab: %zu nodes (%llu primaries, %llu replica(s) each) of %s on 127.0.0.1:%u-%u\n", eps.size(),
              static_cast<unsigned long long>(masters), static_cast<unsigned long long>(replicas), o.server.c_str(),
              first, last);
  std::printf("  connect:  redis-cli%s -c -p %u\n", auth.c_str(), first);
  std::printf("  inspect:  redis-cli%s --cluster check 127.0.0.1:%u\n", auth.c_str(), first);
  std::printf("  logs:     %s/nN/node.log (nodes.conf beside it)\n", dir.c_str());
  std::printf("  stop:     slotlab launch --stop%s\n", dir_opt.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage();
  std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "run") return cmd_run(args);
  if (cmd == "launch") return cmd_launch(args);
  if (cmd == "swarm") return slotlab::harness::cmd_swarm(args);
  if (cmd == "swarm-merge") return slotlab::harness::cmd_swarm_merge(args);
  if (cmd == "shrink") return slotlab::harness::cmd_shrink(args);
  if (cmd == "regress") return slotlab::harness::cmd_regress(args);
  if (cmd == "report-swarm") return cmd_report_swarm(args);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage();
    return 0;
  }
  return usage(fmt::format("unknown command '{}'", cmd).c_str());
}
