// slotlab regress [--baselines DIR] [--root DIR] [--update] [--jobs J]: failover-timing regression.
//
// Each reports/baselines/*.json names a scenario and a seed range and holds, from a run of that
// swarm, the median (p50) and p90 of each failover stage over every failover of every seed. regress
// reruns the swarm and compares. The statistic and the tolerance, and why:
//
//  - p50 and p90 (nearest rank) of: fault -> first PFAIL, fault -> FAIL, FAIL -> election start (the
//    replica's election delay: 500 ms + random 0..500 ms + 1 s per rank, as in Redis), fault ->
//    promotion, fault -> every node ok. The total alone hides a stage: the election delay is ~20% of
//    the promotion time, so a 20% slower delay moves the total by only ~4%; per stage it moves ~20%.
//  - A figure regresses when it moves by more than 10% of the baseline or 50 ms, whichever is larger,
//    in either direction (a failover that got much faster skipped something, e.g. the delay).
//    The simulator is deterministic, so a rerun of the same seeds gives exactly the same figures:
//    any difference is a real behaviour change, never noise. The tolerance only lets small
//    intentional changes (a different message order, a timing fix) through without a baseline
//    update; the 50 ms floor keeps stages of a few hundred ms from flagging on one gossip round.
//  - The number of failovers observed and the number of passing seeds must not drop.
//
// --update rewrites the baseline files with the new figures (after an intended change; commit them).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "harness/swarm.hpp"

namespace slotlab::harness {

namespace {
using json = nlohmann::json;
namespace fs = std::filesystem;

int bad_args(const std::string& msg) {
  std::fprintf(stderr, "slotlab: %s\n(see slotlab --help)\n", msg.c_str());
  return 2;
}

// The stages compared, in the order printed.
const std::vector<std::string>& compared_metrics() {
  static const std::vector<std::string> m = {"first_pfail_ms", "fail_ms", "election_delay_ms", "promotion_ms", "all_ok_ms"};
  return m;
}

struct Baseline {
  fs::path file;
  json doc;
  std::string scenario_file;
  std::uint64_t first = 0, last = 0;
  double relative = 0.10;
  double absolute_ms = 50;
};

Result<Baseline> load_baseline(const fs::path& file) {
  auto fail = [&](const std::string& what) { return make_error(Errc::invalid_argument, fmt::format("{}: {}", file.string(), what)); };
  std::ifstream in(file);
  if (!in) return fail("cannot open");
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("not JSON");
  if (j.value("format", "") != "slotlab-baseline-1") return fail("format: expected \"slotlab-baseline-1\"");
  Baseline b;
  b.file = file;
  try {
    b.scenario_file = j.at("scenario_file").get<std::string>();
    b.first = j.at("seeds").at("first").get<std::uint64_t>();
    b.last = j.at("seeds").at("last").get<std::uint64_t>();
    if (j.contains("metrics")) {
      for (auto it = j.at("metrics").begin(); it != j.at("metrics").end(); ++it) {
        if (!it.value().is_object()) return fail(fmt::format("metrics.{}: expected an object", it.key()));
        for (const char* k : {"n", "p50", "p90"})
          if (!it.value().contains(k) || !it.value()[k].is_number()) return fail(fmt::format("metrics.{}.{}: expected a number", it.key(), k));
      }
      if (!j["metrics"].is_object()) return fail("metrics: expected an object");
    }
    if (j.contains("outcomes") && (!j["outcomes"].is_object() || !j["outcomes"].value("pass", json()).is_number()))
      return fail("outcomes.pass: expected a number");
    if (j.contains("tolerance")) {
      b.relative = j["tolerance"].value("relative", 0.10);
      b.absolute_ms = j["tolerance"].value("absolute_ms", 50.0);
    }
  } catch (const json::exception& e) {
    return fail(fmt::format("malformed: {}", e.what()));
  }
  if (b.last < b.first) return fail("seeds: last < first");
  if (b.relative < 0 || b.absolute_ms < 0) return fail("tolerance: expected non-negative numbers");
  b.doc = std::move(j);
  return b;
}

json figures_of(const std::vector<json>& records) {
  json metrics = json::object();
  for (const auto& m : summarize_metrics(records)) {
    if (std::find(compared_metrics().begin(), compared_metrics().end(), m.name) == compared_metrics().end()) continue;
    metrics[m.name] = {{"label", m.label}, {"n", m.n}, {"p50", m.p50}, {"p90", m.p90}};
  }
  return metrics;
}
}  // namespace

int cmd_regress(const std::vector<std::string>& args) {
  std::string dir = "reports/baselines", root;
  bool update = false;
  std::uint64_t jobs = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--baselines") {
      if (i + 1 >= args.size()) return bad_args("--baselines needs a directory");
      dir = args[++i];
    } else if (a == "--root") {
      if (i + 1 >= args.size()) return bad_args("--root needs a directory");
      root = args[++i];
    } else if (a == "--update") {
      update = true;
    } else if (a == "--jobs" || a == "-j") {
      if (i + 1 >= args.size() || !parse_uint(args[++i], jobs) || jobs == 0 || jobs > 256) return bad_args("--jobs needs a number 1..256");
    } else {
      return bad_args(fmt::format("unknown regress option {}", a));
    }
  }
  // Scenario paths in a baseline are relative to the checkout: by default the directory two levels
  // above the baselines (reports/baselines -> .).
  fs::path base_dir = fs::absolute(dir).lexically_normal();
  if (!base_dir.empty() && !base_dir.has_filename()) base_dir = base_dir.parent_path();
  fs::path root_dir = root.empty() ? base_dir.parent_path().parent_path() : fs::path(root);
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(base_dir, ec))
    if (e.path().extension() == ".json") files.push_back(e.path());
  if (ec) return bad_args(fmt::format("{}: {}", base_dir.string(), ec.message()));
  if (files.empty()) return bad_args(fmt::format("no baselines (*.json) in {}", base_dir.string()));
  std::sort(files.begin(), files.end());

  int regressions = 0;
  for (const auto& file : files) {
    auto b = load_baseline(file);
    if (!b) return bad_args(b.error().message);
    fs::path scenario = root_dir / b->scenario_file;
    auto doc = load_scenario_json(scenario.string());
    if (!doc) return bad_args(fmt::format("{}: {}", file.string(), doc.error().message));
    auto sc = parse_scenario(*doc, b->first);
    if (!sc) return bad_args(fmt::format("{}: {}", scenario.string(), sc.error().message));
    std::vector<std::uint64_t> seeds;
    for (std::uint64_t s = b->first;; ++s) {
      seeds.push_back(s);
      if (s == b->last) break;
    }
    auto records = run_seeds(*doc, seeds, static_cast<int>(jobs));
    std::size_t passed = 0;
    for (const json& r : records) passed += r["outcome"] == "pass" ? 1 : 0;
    json now = figures_of(records);

    if (update) {
      json& d = b->doc;
      d["statistic"] = "p50 and p90 (nearest rank) of each failover stage, over every failover of every seed";
      d["tolerance"] = {{"relative", b->relative}, {"absolute_ms", b->absolute_ms}};
      d["outcomes"] = {{"runs", records.size()}, {"pass", passed}};
      d["metrics"] = now;
      std::ofstream out(file);
      out << d.dump(2) << "\n";
      if (!out) return bad_args(fmt::format("cannot write {}", file.string()));
      std::printf("updated %s: %s seeds %llu..%llu, %zu of %zu pass\n", file.string().c_str(), sc->name.c_str(),
                  static_cast<unsigned long long>(b->first), static_cast<unsigned long long>(b->last), passed, records.size());
      continue;
    }

    const json& old = b->doc.contains("metrics") ? b->doc["metrics"] : json::object();
    std::size_t old_pass = b->doc.contains("outcomes") ? b->doc["outcomes"].value("pass", std::size_t{0}) : 0;
    std::printf("%s: %s seeds %llu..%llu: %zu of %zu pass (baseline %zu)\n", file.filename().string().c_str(), sc->name.c_str(),
                static_cast<unsigned long long>(b->first), static_cast<unsigned long long>(b->last), passed, records.size(), old_pass);
    std::vector<std::string> problems;
    if (passed < old_pass) problems.push_back(fmt::format("{} seeds pass, the baseline had {}", passed, old_pass));
    for (const json& r : records)
      if (r["outcome"] != "pass")
        problems.push_back(fmt::format("seed {} {}: slotlab run {} --seed {}", r["seed"].get<std::uint64_t>(),
                                       r["outcome"].get<std::string>(), b->scenario_file, r["seed"].get<std::uint64_t>()));
    std::printf("  %-30s %4s %10s %10s %9s\n", "stage", "stat", "baseline", "now", "change");
    for (const std::string& m : compared_metrics()) {
      if (!old.contains(m) && !now.contains(m)) continue;
      std::string label = now.contains(m) ? now[m]["label"].get<std::string>() : old[m].value("label", m);
      if (!old.contains(m) || !now.contains(m)) {
        problems.push_back(fmt::format("{}: {} in the baseline, {} now", label, old.contains(m) ? "present" : "absent",
                                       now.contains(m) ? "present" : "absent"));
        continue;
      }
      auto old_n = old[m].value("n", std::size_t{0}), new_n = now[m]["n"].get<std::size_t>();
      if (new_n < old_n) problems.push_back(fmt::format("{}: {} failovers observed, the baseline had {}", label, new_n, old_n));
      for (const char* stat : {"p50", "p90"}) {
        double o = old[m].value(stat, 0.0), n = now[m][stat].get<double>();
        double allowed = std::max(b->relative * std::fabs(o), b->absolute_ms);
        bool bad = std::fabs(n - o) > allowed;
        std::string change = o != 0 ? fmt::format("{:+.1f}%", 100.0 * (n - o) / o) : fmt::format("{:+.0f}", n - o);
        std::printf("  %-30s %4s %10.0f %10.0f %9s  %s\n", label.c_str(), stat, o, n, change.c_str(),
                    bad ? fmt::format("REGRESSION ({} beyond +-{:.0f} ms)", n > o ? "slower" : "faster", allowed).c_str() : "ok");
        if (bad) problems.push_back(fmt::format("{} {}: {:.0f} ms -> {:.0f} ms ({})", label, stat, o, n, change));
      }
    }
    for (const auto& p : problems) std::printf("  REGRESSION: %s\n", p.c_str());
    regressions += static_cast<int>(problems.size());
  }
  if (update) return 0;
  if (regressions > 0) {
    std::printf("regress: %d regression(s) against %s (tolerance per baseline: +-10%% or 50 ms of p50/p90). If the change is "
                "intended, run `slotlab regress --update` and commit the baselines.\n",
                regressions, base_dir.string().c_str());
    return 1;
  }
  std::printf("regress: %zu baseline(s), every stage within tolerance\n", files.size());
  return 0;
}

}  // namespace slotlab::harness
