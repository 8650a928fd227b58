// slotlab shrink SCENARIO --seed N [-o OUT.json]: reduces a failing seed's scenario to a minimal
// concrete scenario file that still fails the same way, by delta debugging (Zeller's ddmin):
//
//  1. The seed's parameter values are fixed; the scenario is run once to learn how it fails: its
//     outcome and, for a failed step, which step of the file (and its action), for a failed check,
//     the first check that did not hold, for a crash, that it crashed. A candidate "fails the same
//     way" only when it fails like that — removing a crash so that a later `wait-until failed-over`
//     fails instead is a different failure and is not accepted.
//  2. ddmin over the fault steps — every step but the ones that build, wait for or observe the
//     cluster (create, wait-until, check, workloads, cluster-check, cluster-info), which are kept
//     unless --all-steps: removing a `wait-until healthy` lets a check fail because the cluster had
//     not converged yet, a different failure with the same check name ("slippage"). Try keeping
//     only one chunk of the steps, then every complement, doubling the granularity until no
//     single step can be removed; then every pair of the remaining steps is tried (steps that can
//     only go together, like pause and resume, survive ddmin's single-step pass).
//  3. Each parameter still referenced by the remaining steps (in name order) is moved toward its
//     nominal value: a range to its minimum, or else the smallest value that still fails found by
//     bisection between the minimum and the current value (which assumes failing is monotonic in
//     the value; when it is not, the result still fails, it just may not be the smallest); a choice
//     to the first earlier choice that still fails.
//
// The simulator's seed stays N throughout (the shrunk file is run with --seed N). Each candidate runs
// in a fork()ed child like a swarm seed. The result has no "params": every value is written in.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "harness/params.hpp"
#include "harness/sim_world.hpp"
#include "harness/swarm.hpp"

namespace slotlab::harness {

namespace {
using json = nlohmann::json;

int bad_args(const std::string& msg) {
  std::fprintf(stderr, "slotlab: %s\n(see slotlab --help)\n", msg.c_str());
  return 2;
}

std::string failure_kind(const std::string& message);

// How a run failed, in terms of the original file's steps.
struct Failure {
  std::string outcome;  // pass, check-failed, step-failed, crashed, invalid (the candidate does not validate)
  std::string what;     // step-failed: "ORIGINAL_INDEX do: kind"; check-failed: the first failed check
  std::string message;
  bool same_as(const Failure& o) const { return outcome == o.outcome && what == o.what; }
  std::string describe() const {
    if (outcome == "pass") return "passes";
    if (outcome == "invalid") return "is not a valid scenario: " + message;
    if (outcome == "step-failed") return fmt::format("step $.steps[{}] fails ({})", what.substr(0, what.find(' ')), what.substr(what.find(' ') + 1));
    if (outcome == "check-failed") return fmt::format("check {} fails", what);
    return "crashes";
  }
};

class Shrinker {
 public:
  Shrinker(json doc, std::uint64_t seed) : doc_(std::move(doc)), seed_(seed) {}

  // The concrete document that keeps `kept` (original step indices) with these parameter values.
  Result<json> concrete(const std::vector<std::size_t>& kept, const json& values) const {
    json d = doc_;
    json steps = json::array();
    for (std::size_t i : kept) steps.push_back(doc_["steps"][i]);
    d["steps"] = steps;
    return substitute_params(d, values);
  }

  Failure run(const std::vector<std::size_t>& kept, const json& values) {
    std::string key;
    for (std::size_t i : kept) key += std::to_string(i) + ",";
    key += "|" + values.dump();
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    ++runs_;
    Failure f;
    auto d = concrete(kept, values);
    if (!d) {
      f = {"invalid", "", d.error().message};
    } else if (auto sc = parse_scenario(*d); !sc) {
      f = {"invalid", "", sc.error().message};
    } else {
      std::uint64_t seed = seed_;
      const Scenario& scenario = *sc;
      auto outs = run_forked(1, [&](std::size_t) {
        SimWorld world(seed);
        RunResult r = run_scenario(scenario, world, seed);
        return seed_record(r, 0).dump();
      }, 1, {}, {}, 600.0);
      json rec = outs[0].clean() ? json::parse(outs[0].out, nullptr, false) : json();
      if (!rec.is_object()) rec = crashed_record(seed_, json::object(), outs[0]);
      f.outcome = rec["outcome"].get<std::string>();
      f.message = rec["failure"].is_string() ? rec["failure"].get<std::string>() : "";
      if (f.outcome == "step-failed" && rec["failed_step"].is_object()) {
        auto idx = rec["failed_step"]["index"].get<std::size_t>();
        f.what = fmt::format("{} {}: {}", idx < kept.size() ? kept[idx] : idx, rec["failed_step"]["do"].get<std::string>(),
                             failure_kind(f.message));
      } else if (f.outcome == "check-failed" && !rec["failed_checks"].empty()) {
        f.what = rec["failed_checks"][0].get<std::string>();
      }
    }
    std::fprintf(stderr, "shrink: run %zu: %zu steps, %s\n", runs_, kept.size(), f.describe().c_str());
    cache_.emplace(key, f);
    return f;
  }

  std::size_t runs() const { return runs_; }
  const json& doc() const { return doc_; }

 private:
  json doc_;
  std::uint64_t seed_;
  std::map<std::string, Failure> cache_;
  std::size_t runs_ = 0;
};

// What kind of step failure a message describes, independent of the numbers in it: the message
// without its JSON path prefix, digits collapsed. "$.steps[12]: 'failed-over n1' not reached within
// 841 ms: 10.0.0.3:6379 still sees n1 serving slots 0-5460" -> "'failed-over n#' not reached within
// # ms: #.#.#.#:# still sees n# serving slots #-#". A step that fails because an earlier one was
// removed ("@last used before any step targeted a node", "n4 served no slots when it failed")
// differs, so the shrinker does not slip to another failure of the same step.
std::string failure_kind(const std::string& message) {
  std::string m = message;
  if (m.rfind("$.", 0) == 0) {
    auto colon = m.find(": ");
    if (colon != std::string::npos) m = m.substr(colon + 2);
  }
  std::string out;
  for (char c : m) {
    bool digit = c >= '0' && c <= '9';
    if (digit && !out.empty() && out.back() == '#') continue;
    out += digit ? '#' : c;
  }
  return out;
}

bool references(const json& v, const std::string& ref) {
  if (v.is_string()) return v.get<std::string>() == ref;
  if (v.is_array() || v.is_object()) {
    for (const auto& x : v)
      if (references(x, ref)) return true;
  }
  return false;
}

std::vector<std::size_t> merge_sorted(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
  std::vector<std::size_t> out(a);
  out.insert(out.end(), b.begin(), b.end());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

int cmd_shrink(const std::vector<std::string>& args) {
  std::string path, out_path;
  std::uint64_t seed = 0;
  bool have_seed = false, all_steps = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--seed") {
      if (i + 1 >= args.size() || !parse_uint(args[++i], seed)) return bad_args("--seed needs a non-negative integer");
      have_seed = true;
    } else if (a == "--all-steps") {
      all_steps = true;
    } else if (a == "-o" || a == "--output") {
      if (i + 1 >= args.size()) return bad_args("-o needs a file name");
      out_path = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      return bad_args(fmt::format("unknown shrink option {}", a));
    } else if (path.empty()) {
      path = a;
    } else {
      return bad_args("shrink takes one scenario file");
    }
  }
  if (path.empty() || !have_seed) return bad_args("usage: slotlab shrink SCENARIO.json --seed N [-o OUT.json] [--all-steps]");
  auto doc = load_scenario_json(path);
  if (!doc) return bad_args(fmt::format("bad scenario: {}", doc.error().message));
  auto sc = parse_scenario(*doc, seed);
  if (!sc) return bad_args(fmt::format("bad scenario: {}: {}", path, sc.error().message));
  auto specs = parse_params(*doc);
  if (!specs) return bad_args(specs.error().message);
  json values = draw_params(*specs, seed);
  if (out_path.empty()) out_path = fmt::format("{}-seed{}-min.json", sc->name, seed);

  Shrinker sh(*doc, seed);
  const json& steps = (*doc)["steps"];
  std::vector<std::size_t> fixed, cur;
  static const std::set<std::string> structural = {"create",         "wait-until",    "check",         "load-keys",
                                                    "start-workload", "stop-workload", "cluster-check", "cluster-info"};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    std::string act = steps[i].value("do", "");
    bool keep = act == "create" || (!all_steps && structural.count(act) != 0);
    (keep ? fixed : cur).push_back(i);
  }
  std::vector<std::size_t> all = merge_sorted(fixed, cur);
  Failure target = sh.run(all, values);
  if (target.outcome == "pass") {
    std::printf("slotlab shrink: %s passes with seed %llu; nothing to shrink\n", path.c_str(), static_cast<unsigned long long>(seed));
    return 1;
  }
  std::printf("shrink: %s seed %llu %s: %s\n", path.c_str(), static_cast<unsigned long long>(seed), target.describe().c_str(),
              target.message.c_str());
  auto fails = [&](const std::vector<std::size_t>& subset, const json& v) { return sh.run(merge_sorted(fixed, subset), v).same_as(target); };

  // ddmin over the removable steps.
  if (!cur.empty() && fails({}, values)) {
    cur.clear();
  }
  std::size_t n = 2;
  while (cur.size() >= 2) {
    std::vector<std::vector<std::size_t>> chunks;
    std::size_t per = (cur.size() + n - 1) / n;
    for (std::size_t k = 0; k < cur.size(); k += per)
      chunks.emplace_back(cur.begin() + static_cast<std::ptrdiff_t>(k), cur.begin() + static_cast<std::ptrdiff_t>(std::min(cur.size(), k + per)));
    bool reduced = false;
    for (const auto& c : chunks) {
      if (c.size() < cur.size() && fails(c, values)) {
        cur = c;
        n = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced && chunks.size() > 2) {
      for (const auto& c : chunks) {
        std::vector<std::size_t> comp;
        std::set_difference(cur.begin(), cur.end(), c.begin(), c.end(), std::back_inserter(comp));
        if (fails(comp, values)) {
          cur = comp;
          n = std::max<std::size_t>(n - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (n >= cur.size()) break;
      n = std::min(cur.size(), 2 * n);
    }
  }
  // ddmin is 1-minimal: steps that can only go together (pause and its resume, partition and its
  // heal) survive it when they fell into different chunks. Try every remaining pair.
  for (bool again = true; again && cur.size() >= 2 && cur.size() <= 16;) {
    again = false;
    for (std::size_t a = 0; a < cur.size() && !again; ++a) {
      for (std::size_t b = a + 1; b < cur.size() && !again; ++b) {
        std::vector<std::size_t> rest;
        for (std::size_t k = 0; k < cur.size(); ++k)
          if (k != a && k != b) rest.push_back(cur[k]);
        if (fails(rest, values)) {
          cur = rest;
          again = true;
        }
      }
    }
  }
  std::vector<std::size_t> kept = merge_sorted(fixed, cur);

  // Parameters toward their nominal values.
  json kept_doc = *doc;
  {
    json ks = json::array();
    for (std::size_t i : kept) ks.push_back(steps[i]);
    kept_doc["steps"] = ks;
    kept_doc.erase("params");
  }
  std::vector<std::string> param_notes;
  for (const ParamSpec& p : *specs) {
    if (!references(kept_doc, "$" + p.name)) continue;
    json before = values[p.name];
    auto try_value = [&](const json& v) {
      json trial = values;
      trial[p.name] = v;
      return fails(cur, trial);
    };
    if (before != p.nominal() && try_value(p.nominal())) {
      values[p.name] = p.nominal();
    } else if (!p.is_choice() && before != p.nominal()) {
      std::int64_t lo = p.min, hi = before.get<std::int64_t>();  // lo passes (or differs), hi fails
      for (int iter = 0; iter < 24 && hi - lo > 1; ++iter) {
        std::int64_t mid = lo + (hi - lo) / 2;
        if (try_value(json(mid))) hi = mid; else lo = mid;
      }
      values[p.name] = hi;
    } else if (p.is_choice()) {
      for (const json& c : p.choices) {
        if (c == before) break;
        if (try_value(c)) {
          values[p.name] = c;
          break;
        }
      }
    }
    if (values[p.name] != before) {
      param_notes.push_back(fmt::format("{}: {} -> {}", p.name, before.dump(), values[p.name].dump()));
    } else {
      param_notes.push_back(fmt::format("{}: {} (kept: {})", p.name, before.dump(),
                                        before == p.nominal() ? (p.is_choice() ? "the first choice" : "the minimum")
                                        : p.is_choice()       ? "no earlier choice fails the same way"
                                                              : "no smaller value fails the same way"));
    }
  }

  auto result = sh.concrete(kept, values);
  if (!result) return bad_args(result.error().message);
  json out = *result;
  std::vector<std::string> removed;
  auto drawn = substitute_params(*doc, draw_params(*specs, seed));  // the steps as the seed ran them
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (std::find(kept.begin(), kept.end(), i) != kept.end()) continue;
    const json& st = drawn ? (*drawn)["steps"][i] : steps[i];
    std::string fields;
    for (auto it = st.begin(); it != st.end(); ++it)
      if (it.key() != "do" && it.key() != "label") fields += fmt::format(" {}={}", it.key(), it.value().dump());
    removed.push_back(fmt::format("$.steps[{}] {}{}{}", i, st.value("do", "?"), fields,
                                  st.contains("label") && st["label"].is_string() ? " (" + st["label"].get<std::string>() + ")" : ""));
  }
  out["name"] = fmt::format("{}-seed{}-min", sc->name, seed);
  out["description"] = fmt::format("Shrunk by `slotlab shrink {} --seed {}` ({} runs): {} of {} steps kept, parameters fixed. Fails: {}. "
                                   "Original description: {}",
                                   path, seed, sh.runs(), kept.size(), steps.size(), target.describe(),
                                   (*doc).contains("description") && (*doc)["description"].is_string()
                                       ? (*doc)["description"].get<std::string>()
                                       : std::string());
  // The file must fail the same way on its own (it is exactly the last accepted candidate).
  Failure check = sh.run(kept, values);
  if (!check.same_as(target)) {
    std::fprintf(stderr, "slotlab shrink: internal error: the shrunk scenario %s instead\n", check.describe().c_str());
    return 1;
  }
  std::ofstream f(out_path);
  f << out.dump(2) << "\n";
  if (!f) return bad_args(fmt::format("cannot write {}", out_path));

  std::printf("  %zu runs; kept %zu of %zu steps; removed %zu:\n", sh.runs(), kept.size(), steps.size(), removed.size());
  for (const auto& r : removed) std::printf("    %s\n", r.c_str());
  if (!param_notes.empty()) {
    std::printf("  parameters (each written into the file):\n");
    for (const auto& p : param_notes) std::printf("    %s\n", p.c_str());
  }
  std::printf("  still fails the same way: %s\n", check.message.c_str());
  std::printf("  written to %s; reproduce: slotlab run %s --seed %llu\n", out_path.c_str(), out_path.c_str(),
              static_cast<unsigned long long>(seed));
  return 0;
}

}  // namespace slotlab::harness
