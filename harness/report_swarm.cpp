// The swarm summary page: outcomes, histograms (inline SVG) of failover time and availability over
// the seeds, and the failing seeds with the command that reproduces each. Reads the swarm result
// file (`slotlab swarm ... --out FILE.json`, format "slotlab-swarm-1") or any file of the same
// shape; see scenarios/README.md, "Swarm reports".
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "harness/report_html.hpp"

namespace slotlab::harness {

namespace {

std::string esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A metric collected over the seeds: one value per failover (or per fault) per seed.
struct Series {
  std::string key;
  std::string label;
  std::string unit;  // "ms" or "%"
  std::vector<double> values;
};

double pct(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

std::string histogram_svg(const Series& s) {
  std::vector<double> v = s.values;
  std::sort(v.begin(), v.end());
  const double W = 620, H = 230, L = 56, B = 44, T = 26, R = 14;
  double lo = v.front(), hi = v.back();
  if (hi - lo < 1e-9) {
    return fmt::format("<svg class='hist' id='hist-{}' width='{}' height='60' font-family='DejaVu Sans, Arial, sans-serif' "
                       "font-size='12'><text x='10' y='18' font-weight='bold' font-size='13'>{} (n = {})</text><text x='10' "
                       "y='42'>every value is {} {}</text></svg>\n",
                       esc(s.key), W, esc(s.label), v.size(), fmt::format("{:g}", lo), s.unit);
  }
  const int decimals = hi - lo < 1 ? 2 : (hi - lo < 10 ? 1 : 0);
  auto num = [&](double x) { return fmt::format("{:.{}f}", x, decimals); };
  int bins = std::clamp(static_cast<int>(std::ceil(std::sqrt(static_cast<double>(v.size())))) + 4, 6, 30);
  double width = (hi - lo) / bins;
  std::vector<int> count(static_cast<std::size_t>(bins), 0);
  for (double x : v) ++count[static_cast<std::size_t>(std::min(bins - 1, static_cast<int>((x - lo) / width)))];
  int peak = *std::max_element(count.begin(), count.end());
  auto X = [&](double x) { return L + (x - lo) / (hi - lo) * (W - L - R); };
  auto Y = [&](double c) { return H - B - c / peak * (H - B - T); };
  std::string out = fmt::format("<svg class='hist' id='hist-{}' width='{}' height='{}' font-family='DejaVu Sans, Arial, sans-serif' "
                                "font-size='11'>",
                                esc(s.key), W, H);
  out += fmt::format("<text x='{}' y='16' font-weight='bold' font-size='13'>{} (n = {})</text>", L, esc(s.label), v.size());
  for (int b = 0; b < bins; ++b) {
    double x0 = X(lo + b * width), x1 = X(lo + (b + 1) * width);
    double y = Y(count[static_cast<std::size_t>(b)]);
    out += fmt::format("<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='#2f6fb3'><title>{}–{} {}: {}</title></rect>",
                       x0 + 0.5, y, std::max(x1 - x0 - 1, 1.0), H - B - y, num(lo + b * width), num(lo + (b + 1) * width), s.unit,
                       count[static_cast<std::size_t>(b)]);
  }
  out += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='#333'/>", L, H - B, W - R, H - B);
  out += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='#333'/>", L, T, L, H - B);
  out += fmt::format("<text x='{}' y='{}' text-anchor='end'>{}</text><text x='{}' y='{}' text-anchor='end'>0</text>", L - 4, T + 8, peak,
                     L - 4, H - B);
  out += fmt::format("<text x='14' y='{}' transform='rotate(-90 14 {})' text-anchor='middle'>count</text>", (T + H - B) / 2,
                     (T + H - B) / 2);
  for (int k = 0; k <= 4; ++k) {
    double x = lo + (hi - lo) * k / 4;
    out += fmt::format("<text x='{:.1f}' y='{}' text-anchor='{}'>{}</text>", X(x), H - B + 14,
                       k == 0 ? "start" : (k == 4 ? "end" : "middle"), num(x));
  }
  out += fmt::format("<text x='{}' y='{}' text-anchor='middle'>{}</text>", (L + W) / 2, H - 8, s.unit);
  const char* colors[] = {"#5fae5a", "#ff9f1a", "#d62728"};
  double ps[] = {50, 90, 99};
  for (int i = 0; i < 3; ++i) {
    double q = pct(v, ps[i]);
    out += fmt::format("<line x1='{:.1f}' y1='{}' x2='{:.1f}' y2='{}' stroke='{}' stroke-width='2' stroke-dasharray='5 3'/>", X(q), T,
                       X(q), H - B, colors[i]);
    double xq = X(q);
    const char* anchor = xq > W - R - 50 ? "end" : (xq < L + 50 ? "start" : "middle");
    out += fmt::format("<text x='{:.1f}' y='{}' fill='{}' text-anchor='{}' font-weight='bold'>p{:.0f} {}</text>",
                       anchor[0] == 'e' ? xq - 3 : xq, T + 12 * i + 2, colors[i], anchor, ps[i], num(q));
  }
  return out + "</svg>\n";
}

void take(Series& s, const nlohmann::json& v, double scale = 1.0) {
  if (v.is_number()) s.values.push_back(v.get<double>() * scale);
}

}  // namespace

std::string swarm_report_html(const nlohmann::json& swarm, std::string& error) {
  using nlohmann::json;
  if (!swarm.is_object()) {
    error = "$: expected an object (a slotlab swarm result file)";
    return {};
  }
  const char* list_key = swarm.contains("results") ? "results" : "runs";
  if (!swarm.contains(list_key) || !swarm[list_key].is_array()) {
    error = "$.results: missing or not an array of per-seed records";
    return {};
  }
  const json& runs = swarm[list_key];
  std::string scenario = swarm.value("scenario", std::string("?"));
  std::string scenario_file = swarm.value("scenario_file", "scenarios/" + scenario + ".json");

  // Fixed series, in display order.
  std::vector<Series> series = {
      {"promotion_ms", "fault → promotion", "ms", {}},
      {"all_ok_ms", "fault → every node ok", "ms", {}},
      {"clients_ok_ms", "fault → clients stop seeing errors", "ms", {}},
      {"first_pfail_ms", "fault → first PFAIL", "ms", {}},
      {"fail_ms", "fault → FAIL quorum", "ms", {}},
      {"failed_fraction_pct", "client ops failed during a fault", "%", {}},
      {"error_span_ms", "span clients saw errors", "ms", {}},
      {"failed_writes_pct", "client writes failed or unknown, per run", "%", {}},
      {"error_window_ms", "longest client error window, per run", "ms", {}},
      {"lost_writes", "lost acknowledged writes, per run", "writes", {}},
      {"liveness_recovery_ms", "heal → cluster ok everywhere (liveness)", "ms", {}},
  };
  auto S = [&](const std::string& key) -> Series& {
    for (auto& s : series)
      if (s.key == key) return s;
    return series.front();
  };
  std::map<std::string, std::size_t> outcomes;
  struct Failing {
    std::uint64_t seed;
    std::string outcome, failure, reproduce;
  };
  std::vector<Failing> failing;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const json& rec = runs[i];
    std::string path = fmt::format("$.{}[{}]", list_key, i);
    if (!rec.is_object() || !rec.contains("seed") || !rec["seed"].is_number_integer() ||
        rec["seed"].get<std::int64_t>() < 0) {
      error = path + ".seed: expected a non-negative integer";
      return {};
    }
    std::uint64_t seed = rec["seed"].get<std::uint64_t>();
    std::string outcome;
    if (rec.contains("outcome") && rec["outcome"].is_string()) outcome = rec["outcome"].get<std::string>();
    else if (rec.contains("passed") && rec["passed"].is_boolean()) outcome = rec["passed"].get<bool>() ? "pass" : "fail";
    else {
      error = path + ": expected \"outcome\" (string) or \"passed\" (bool)";
      return {};
    }
    ++outcomes[outcome];
    if (outcome != "pass") {
      std::string failure = rec.contains("failure") && rec["failure"].is_string() ? rec["failure"].get<std::string>() : "";
      std::string repro = rec.contains("reproduce") && rec["reproduce"].is_string()
                              ? rec["reproduce"].get<std::string>()
                              : fmt::format("slotlab run {} --seed {}", scenario_file, seed);
      failing.push_back({seed, outcome, failure, repro});
    }
    // Failovers: the run result's "failovers" array (ms_to_*), or flat metrics.
    if (rec.contains("failovers") && rec["failovers"].is_array()) {
      for (const auto& f : rec["failovers"]) {
        if (!f.is_object()) continue;
        take(S("promotion_ms"), f.value("ms_to_promotion", json()));
        take(S("all_ok_ms"), f.value("ms_to_all_ok", json()));
        take(S("clients_ok_ms"), f.value("ms_to_clients_ok", json()));
        take(S("first_pfail_ms"), f.value("ms_to_first_pfail", json()));
        take(S("fail_ms"), f.value("ms_to_fail", json()));
      }
    }
    // slotlab swarm's per-run availability object, and its lost-write summary.
    if (rec.contains("availability") && rec["availability"].is_object()) {
      const json& a = rec["availability"];
      if (a.value("ok_fraction", json()).is_number()) S("failed_writes_pct").values.push_back(100.0 * (1.0 - a["ok_fraction"].get<double>()));
      take(S("error_window_ms"), a.value("longest_error_window_ms", json()));
    }
    if (rec.contains("lost_writes") && rec["lost_writes"].is_object()) take(S("lost_writes"), rec["lost_writes"].value("lost", json()));
    if (rec.contains("availability") && rec["availability"].is_array()) {
      for (const auto& a : rec["availability"]) {
        if (!a.is_object()) continue;
        take(S("failed_fraction_pct"), a.value("failed_fraction", json()), 100.0);
        take(S("error_span_ms"), a.value("error_span_ms", json()));
      }
    }
    if (rec.contains("liveness") && rec["liveness"].is_object()) {
      const json& l = rec["liveness"];
      if (l.value("heal_ms", json()).is_number() && l.value("state_ok_ms", json()).is_number() && l.value("budget_ms", 0) > 0)
        S("liveness_recovery_ms").values.push_back(l["state_ok_ms"].get<double>() - l["heal_ms"].get<double>());
    }
    // Flat metrics ({"metrics": {"promotion_ms": 1234, ...}} or top-level), when no array gave them.
    const json& metrics = rec.contains("metrics") && rec["metrics"].is_object() ? rec["metrics"] : rec;
    for (auto& s : series) {
      if (s.key == "failed_writes_pct" || s.key == "error_window_ms" || s.key == "lost_writes") {
        continue;  // only from the objects above
      } else if (s.key == "failed_fraction_pct") {
        if (!rec.contains("availability") && metrics.contains("failed_fraction")) take(s, metrics["failed_fraction"], 100.0);
      } else if (!rec.contains("failovers") && metrics.contains(s.key)) {
        take(s, metrics[s.key]);
      }
    }
  }

  std::string out = "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>";
  out += fmt::format("<title>swarm {}</title><style>"
                     "body{{font-family:'DejaVu Sans',Arial,sans-serif;margin:18px 24px;color:#1d1d1d;font-size:14px}}"
                     "h1{{font-size:22px}} h2{{font-size:18px;border-bottom:1px solid #ddd;margin-top:24px}}"
                     "table{{border-collapse:collapse}} td,th{{border:1px solid #d4d4d4;padding:3px 8px;text-align:left}}"
                     "th{{background:#f1f3f6}} .grid{{display:flex;flex-wrap:wrap;gap:14px}} svg.hist{{border:1px solid #e2e2e2}}"
                     ".bad{{color:#b11d1d}} .ok{{color:#1e7b34}} code{{background:#f3f3f3;padding:0 3px}}"
                     "</style></head><body>\n",
                     esc(scenario));
  std::size_t passed = outcomes.count("pass") ? outcomes["pass"] : 0;
  out += fmt::format("<h1>Swarm: {} — {} seeds — <span class='{}'>{} passed</span></h1>\n", esc(scenario), runs.size(),
                     passed == runs.size() ? "ok" : "bad", passed);
  if (swarm.contains("seeds") && swarm["seeds"].is_object())
    out += fmt::format("<p>Seeds {}..{}{}.</p>\n", swarm["seeds"].value("first", json()).dump(), swarm["seeds"].value("last", json()).dump(),
                       swarm.contains("shard") && swarm["shard"].is_object() && swarm["shard"].value("count", 1) > 1
                           ? fmt::format(", shard {} of {}", swarm["shard"].value("index", 0), swarm["shard"].value("count", 1))
                           : "");
  else if (swarm.contains("first_seed") && swarm.contains("last_seed"))
    out += fmt::format("<p>Seeds {}..{}.</p>\n", swarm["first_seed"].dump(), swarm["last_seed"].dump());
  out += "<section id='outcomes'><h2>Outcomes</h2><table><tr><th>outcome</th><th>seeds</th></tr>\n";
  for (const auto& [o, n] : outcomes)
    out += fmt::format("<tr><td class='{}'>{}</td><td>{}</td></tr>\n", o == "pass" ? "ok" : "bad", esc(o), n);
  out += "</table></section>\n";

  out += "<section id='histograms'><h2>Failover time and availability</h2>\n<table><tr><th>metric</th><th>n</th><th>p10</th>"
         "<th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>\n";
  std::string grid = "<div class='grid'>\n";
  bool any = false;
  for (auto& s : series) {
    if (s.values.empty()) continue;
    any = true;
    std::vector<double> v = s.values;
    std::sort(v.begin(), v.end());
    int d = s.unit == "%" ? 2 : 0;
    out += fmt::format("<tr><td>{} ({})</td><td>{}</td><td>{:.{}f}</td><td>{:.{}f}</td><td>{:.{}f}</td><td>{:.{}f}</td><td>{:.{}f}</td></tr>\n",
                       esc(s.label), s.unit, v.size(), pct(v, 10), d, pct(v, 50), d, pct(v, 90), d, pct(v, 99), d, v.back(), d);
    grid += histogram_svg(s);
  }
  out += "</table>\n";
  out += any ? grid + "</div>\n" : "<p>No failover or availability figures in these records.</p>\n";
  out += "</section>\n<section id='failing'><h2>Failing seeds</h2>\n";
  if (failing.empty()) {
    out += "<p class='ok'>None.</p>\n";
  } else {
    out += "<table><tr><th>seed</th><th>outcome</th><th>failure</th><th>reproduce</th></tr>\n";
    for (const auto& f : failing)
      out += fmt::format("<tr><td>{}</td><td class='bad'>{}</td><td>{}</td><td><code>{}</code></td></tr>\n", f.seed, esc(f.outcome),
                         esc(f.failure), esc(f.reproduce));
    out += "</table>\n";
  }
  out += "</section></body></html>\n";
  return out;
}

}  // namespace slotlab::harness
