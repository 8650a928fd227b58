// slotlab swarm and swarm-merge (see swarm.hpp): seeds run in fork()ed children, records collected
// in seed order, a summary of outcomes and timing percentiles, and the JSON file shards exchange.
#include "harness/swarm.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "harness/params.hpp"
#include "harness/sim_world.hpp"

namespace slotlab::harness {

using json = nlohmann::json;

// ---- child processes ----------------------------------------------------------------------------

bool ChildOutput::clean() const { return wait_status >= 0 && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }

std::string ChildOutput::describe_exit() const {
  if (wait_status < 0) return "could not be started";
  if (timed_out_after_s > 0) return fmt::format("was killed after running for {:.0f} s (the per-seed time limit)", timed_out_after_s);
  if (WIFEXITED(wait_status)) return fmt::format("exited with status {}", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return fmt::format("killed by signal {} ({})", WTERMSIG(wait_status), strsignal(WTERMSIG(wait_status)));
  return fmt::format("ended with wait status {}", wait_status);
}

namespace {
void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t k = ::write(fd, s.data() + off, s.size() - off);
    if (k < 0) {
      if (errno == EINTR) continue;
      return;
    }
    off += static_cast<std::size_t>(k);
  }
}
}  // namespace

std::vector<ChildOutput> run_forked(std::size_t n, const std::function<std::string(std::size_t)>& task, int jobs,
                                    const std::function<void(std::size_t, const ChildOutput&)>& on_done,
                                    const std::function<void()>& on_tick, double timeout_s) {
  std::vector<ChildOutput> outs(n);
  struct Running {
    pid_t pid;
    std::size_t idx;
    int fd_out;
    int fd_err;
    std::chrono::steady_clock::time_point started;
    bool killed;
  };
  std::vector<Running> running;
  std::size_t next = 0;
  std::size_t max_jobs = static_cast<std::size_t>(std::max(1, jobs));
  auto last_tick = std::chrono::steady_clock::now();
  while (next < n || !running.empty()) {
    while (next < n && running.size() < max_jobs) {
      int po[2], pe[2];
      if (::pipe(po) != 0) {
        outs[next].wait_status = -1;
        outs[next].err = fmt::format("pipe: {}", std::strerror(errno));
        if (on_done) on_done(next, outs[next]);
        ++next;
        continue;
      }
      if (::pipe(pe) != 0) {
        ::close(po[0]);
        ::close(po[1]);
        outs[next].wait_status = -1;
        outs[next].err = fmt::format("pipe: {}", std::strerror(errno));
        if (on_done) on_done(next, outs[next]);
        ++next;
        continue;
      }
      std::fflush(stdout);
      std::fflush(stderr);
      pid_t pid = ::fork();
      if (pid == 0) {
        ::close(po[0]);
        ::close(pe[0]);
        for (const Running& r : running) {
          ::close(r.fd_out);
          ::close(r.fd_err);
        }
        ::dup2(pe[1], 2);
        ::close(pe[1]);
        std::string result;
        try {
          result = task(next);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "uncaught exception: %s\n", e.what());
          std::fflush(stderr);
          ::_exit(3);
        }
        write_all(po[1], result);
        ::close(po[1]);
        std::fflush(stderr);
        ::_exit(0);
      }
      ::close(po[1]);
      ::close(pe[1]);
      if (pid < 0) {
        ::close(po[0]);
        ::close(pe[0]);
        outs[next].wait_status = -1;
        outs[next].err = fmt::format("fork: {}", std::strerror(errno));
        if (on_done) on_done(next, outs[next]);
        ++next;
        continue;
      }
      running.push_back({pid, next, po[0], pe[0], std::chrono::steady_clock::now(), false});
      ++next;
    }
    if (running.empty()) continue;
    std::vector<pollfd> pfds;
    std::vector<std::pair<std::size_t, bool>> who;  // (index in running, is stdout-pipe)
    for (std::size_t k = 0; k < running.size(); ++k) {
      if (running[k].fd_out >= 0) {
        pfds.push_back({running[k].fd_out, POLLIN, 0});
        who.emplace_back(k, true);
      }
      if (running[k].fd_err >= 0) {
        pfds.push_back({running[k].fd_err, POLLIN, 0});
        who.emplace_back(k, false);
      }
    }
    if (!pfds.empty()) {
      int ready = ::poll(pfds.data(), pfds.size(), 200);
      if (ready < 0 && errno != EINTR) break;
      char buf[65536];
      for (std::size_t p = 0; ready > 0 && p < pfds.size(); ++p) {
        if ((pfds[p].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        Running& r = running[who[p].first];
        ssize_t k = ::read(pfds[p].fd, buf, sizeof buf);
        if (k < 0 && errno == EINTR) continue;
        if (k > 0) {
          (who[p].second ? outs[r.idx].out : outs[r.idx].err).append(buf, static_cast<std::size_t>(k));
          continue;
        }
        ::close(pfds[p].fd);
        (who[p].second ? r.fd_out : r.fd_err) = -1;
      }
    }
    for (std::size_t k = 0; k < running.size();) {
      Running& r = running[k];
      if (r.fd_out >= 0 || r.fd_err >= 0) {
        ++k;
        continue;
      }
      int status = 0;
      while (::waitpid(r.pid, &status, 0) < 0 && errno == EINTR) {
      }
      outs[r.idx].wait_status = status;
      if (on_done) on_done(r.idx, outs[r.idx]);
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(k));
    }
    auto now = std::chrono::steady_clock::now();
    if (timeout_s > 0) {
      for (Running& r : running) {
        double ran = std::chrono::duration<double>(now - r.started).count();
        if (!r.killed && ran > timeout_s) {
          ::kill(r.pid, SIGKILL);  // our own child; its pipes close and it is reaped above
          r.killed = true;
          outs[r.idx].timed_out_after_s = ran;
        }
      }
    }
    if (on_tick && now - last_tick >= std::chrono::milliseconds(200)) {
      on_tick();
      last_tick = now;
    }
  }
  return outs;
}

// ---- per-seed records ---------------------------------------------------------------------------

std::string outcome_of(const RunResult& r) {
  if (r.passed) return "pass";
  return r.aborted ? "step-failed" : "check-failed";
}

namespace {
json opt_ms(const std::optional<Millis>& v) { return v ? json(*v) : json(nullptr); }
}  // namespace

json seed_record(const RunResult& r, std::int64_t wall_time_ms) {
  json j;
  j["seed"] = r.seed;
  j["outcome"] = outcome_of(r);
  j["failure"] = r.failure.empty() ? json(nullptr) : json(r.failure);
  j["failed_step"] = nullptr;
  if (r.aborted) {
    for (const auto& s : r.steps)
      if (!s.ok) j["failed_step"] = {{"index", s.index}, {"do", s.action}};
  }
  json failed_checks = json::array();
  for (const auto& c : r.checks)
    if (!c.passed) failed_checks.push_back(c.name);
  j["failed_checks"] = failed_checks;
  j["params"] = r.params;
  j["trace_hash"] = r.trace_hash ? json(fmt::format("{:016x}", *r.trace_hash)) : json(nullptr);
  j["world_time_ms"] = r.world_time_ms;
  j["wall_time_ms"] = wall_time_ms;
  json fos = json::array();
  for (const auto& f : r.failovers) {
    fos.push_back({{"failed_node", f.failed_node},
                   {"promoted_node", f.promoted_node.empty() ? json(nullptr) : json(f.promoted_node)},
                   {"crash_at_ms", f.crash_at_ms},
                   {"ms_to_first_pfail", opt_ms(f.first_pfail_ms)},
                   {"ms_to_fail", opt_ms(f.fail_ms)},
                   {"ms_to_election", opt_ms(f.election_start_ms)},
                   {"ms_to_promotion", opt_ms(f.promotion_ms)},
                   {"ms_to_all_ok", opt_ms(f.all_ok_ms)},
                   {"votes", f.votes}});
  }
  j["failovers"] = fos;
  j["promotion_ms"] = r.failovers.empty() ? json(nullptr) : opt_ms(r.failovers.front().promotion_ms);
  if (r.lost_writes) {
    const auto& l = *r.lost_writes;
    j["lost_writes"] = {{"acknowledged", l.acknowledged}, {"lost", l.lost}, {"lost_permitted", l.lost_permitted},
                        {"lost_unexplained", l.lost_unexplained}, {"unknown", l.unknown}};
  } else {
    j["lost_writes"] = nullptr;
  }
  if (!r.workloads.empty()) {
    std::size_t writes = 0, ok = 0, failed = 0, unknown = 0;
    Millis window = 0;
    for (const auto& w : r.workloads) {
      writes += w.writes;
      ok += w.ok;
      failed += w.failed;
      unknown += w.unknown;
      window = std::max(window, w.longest_error_window_ms);
    }
    std::size_t done = ok + failed + unknown;
    j["availability"] = {{"writes", writes},
                         {"ok", ok},
                         {"failed", failed},
                         {"unknown", unknown},
                         {"ok_fraction", done > 0 ? json(static_cast<double>(ok) / static_cast<double>(done)) : json(nullptr)},
                         {"longest_error_window_ms", window}};
  } else {
    j["availability"] = nullptr;
  }
  return j;
}

json crashed_record(std::uint64_t seed, const json& params, const ChildOutput& child) {
  std::string err = child.err;
  if (err.size() > 2000) err = "..." + err.substr(err.size() - 2000);
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  json j;
  j["seed"] = seed;
  j["outcome"] = "crashed";
  j["failure"] = fmt::format("the run's process {}{}", child.describe_exit(), err.empty() ? "" : ": " + err);
  j["failed_step"] = nullptr;
  j["failed_checks"] = json::array();
  j["params"] = params;
  j["trace_hash"] = nullptr;
  j["world_time_ms"] = nullptr;
  j["wall_time_ms"] = nullptr;
  j["failovers"] = json::array();
  j["promotion_ms"] = nullptr;
  j["lost_writes"] = nullptr;
  j["availability"] = nullptr;
  return j;
}

std::vector<json> run_seeds(const json& doc, const std::vector<std::uint64_t>& seeds, int jobs,
                            const std::function<void(std::size_t, std::size_t)>& on_progress, double timeout_s) {
  std::vector<json> records(seeds.size());
  std::size_t done = 0, failed = 0;
  auto task = [&](std::size_t i) -> std::string {
    std::uint64_t seed = seeds[i];
    auto sc = parse_scenario(doc, seed);
    if (!sc) {
      std::fprintf(stderr, "bad scenario for seed %llu: %s\n", static_cast<unsigned long long>(seed), sc.error().message.c_str());
      return {};
    }
    SimWorld world(seed);
    auto t0 = std::chrono::steady_clock::now();
    RunResult r = run_scenario(*sc, world, seed);
    auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    return seed_record(r, wall).dump();
  };
  auto params_of = [&](std::size_t i) {
    auto specs = parse_params(doc);
    return specs ? draw_params(*specs, seeds[i]) : json::object();
  };
  run_forked(
      seeds.size(), task, jobs,
      [&](std::size_t i, const ChildOutput& c) {
        json rec = c.clean() && !c.out.empty() ? json::parse(c.out, nullptr, false) : json();
        if (!rec.is_object()) rec = crashed_record(seeds[i], params_of(i), c);
        if (rec["outcome"] != "pass") ++failed;
        records[i] = std::move(rec);
        ++done;
        if (on_progress) on_progress(done, failed);
      },
      [&] {
        if (on_progress) on_progress(done, failed);
      },
      timeout_s);
  return records;
}

// ---- summaries ----------------------------------------------------------------------------------

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

namespace {
struct MetricDef {
  const char* name;
  const char* label;
  std::function<void(const json&, std::vector<double>&)> collect;
};

void each_failover(const json& rec, const char* field, std::vector<double>& out) {
  if (!rec.contains("failovers")) return;
  for (const auto& f : rec["failovers"])
    if (f.contains(field) && f[field].is_number()) out.push_back(f[field].get<double>());
}

const std::vector<MetricDef>& metric_defs() {
  static const std::vector<MetricDef> defs = {
      {"first_pfail_ms", "fault -> first PFAIL (ms)", [](const json& r, auto& o) { each_failover(r, "ms_to_first_pfail", o); }},
      {"fail_ms", "fault -> FAIL (ms)", [](const json& r, auto& o) { each_failover(r, "ms_to_fail", o); }},
      {"election_delay_ms", "FAIL -> election start (ms)",
       [](const json& r, auto& o) {
         if (!r.contains("failovers")) return;
         for (const auto& f : r["failovers"])
           if (f.contains("ms_to_fail") && f.contains("ms_to_election") && f["ms_to_fail"].is_number() &&
               f["ms_to_election"].is_number())
             o.push_back(f["ms_to_election"].get<double>() - f["ms_to_fail"].get<double>());
       }},
      {"election_ms", "fault -> election start (ms)", [](const json& r, auto& o) { each_failover(r, "ms_to_election", o); }},
      {"promotion_ms", "fault -> promotion (ms)", [](const json& r, auto& o) { each_failover(r, "ms_to_promotion", o); }},
      {"all_ok_ms", "fault -> all nodes ok (ms)", [](const json& r, auto& o) { each_failover(r, "ms_to_all_ok", o); }},
      {"lost_writes", "lost acknowledged writes per run",
       [](const json& r, auto& o) {
         if (r["lost_writes"].is_object()) o.push_back(r["lost_writes"]["lost"].get<double>());
       }},
      {"failed_writes_pct", "failed or unknown writes (% per run)",
       [](const json& r, auto& o) {
         if (r["availability"].is_object() && r["availability"]["ok_fraction"].is_number())
           o.push_back(100.0 * (1.0 - r["availability"]["ok_fraction"].get<double>()));
       }},
      {"error_window_ms", "longest client error window (ms)",
       [](const json& r, auto& o) {
         if (r["availability"].is_object()) o.push_back(r["availability"]["longest_error_window_ms"].get<double>());
       }},
      {"sim_time_ms", "simulated time per run (ms)",
       [](const json& r, auto& o) {
         if (r["world_time_ms"].is_number()) o.push_back(r["world_time_ms"].get<double>());
       }},
  };
  return defs;
}

const std::vector<std::pair<std::string, std::string>>& outcome_labels() {
  static const std::vector<std::pair<std::string, std::string>> l = {
      {"pass", "pass"}, {"check-failed", "check failed"}, {"step-failed", "step failed"}, {"crashed", "crashed"}};
  return l;
}

std::string fmt_value(const std::string& metric, double v) {
  if (metric == "failed_writes_pct") return fmt::format("{:.2f}", v);
  return fmt::format("{:.0f}", v);
}
}  // namespace

std::vector<MetricSummary> summarize_metrics(const std::vector<json>& records) {
  std::vector<MetricSummary> out;
  for (const MetricDef& d : metric_defs()) {
    std::vector<double> v;
    for (const json& r : records) d.collect(r, v);
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    MetricSummary m;
    m.name = d.name;
    m.label = d.label;
    m.n = v.size();
    m.p10 = percentile(v, 10);
    m.p50 = percentile(v, 50);
    m.p90 = percentile(v, 90);
    m.p99 = percentile(v, 99);
    m.max = v.back();
    out.push_back(m);
  }
  return out;
}

std::string scenario_hash(const json& doc) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : doc.dump()) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", h);
}

json swarm_json(const SwarmHeader& h, const std::vector<json>& records, int jobs, std::int64_t wall_time_ms) {
  json j;
  j["format"] = "slotlab-swarm-1";
  j["scenario"] = h.scenario;
  j["scenario_file"] = h.scenario_file;
  j["scenario_hash"] = h.scenario_hash;
  j["seeds"] = {{"first", h.first_seed}, {"last", h.last_seed}};
  j["shard"] = {{"index", h.shard_index}, {"count", h.shard_count}};
  j["jobs"] = jobs;
  j["wall_time_ms"] = wall_time_ms;
  json outcomes = json::object();
  for (const auto& [key, label] : outcome_labels()) outcomes[key] = 0;
  for (const json& r : records) outcomes[r["outcome"].get<std::string>()] = outcomes[r["outcome"].get<std::string>()].get<int>() + 1;
  json metrics = json::object();
  for (const auto& m : summarize_metrics(records)) {
    metrics[m.name] = {{"label", m.label}, {"n", m.n}, {"p10", m.p10}, {"p50", m.p50},
                       {"p90", m.p90}, {"p99", m.p99}, {"max", m.max}};
  }
  j["summary"] = {{"runs", records.size()}, {"outcomes", outcomes}, {"metrics", metrics}};
  j["results"] = records;
  return j;
}

std::string swarm_summary_text(const SwarmHeader& h, const std::vector<json>& records) {
  std::string out = fmt::format("swarm {} ({}), seeds {}..{}{}: {} runs\n", h.scenario, h.scenario_file, h.first_seed,
                                h.last_seed,
                                h.shard_count > 1 ? fmt::format(", shard {}/{}", h.shard_index, h.shard_count) : "",
                                records.size());
  std::map<std::string, std::size_t> counts;
  for (const json& r : records) ++counts[r["outcome"].get<std::string>()];
  out += fmt::format("  {:<14} {:>6}\n", "outcome", "runs");
  for (const auto& [key, label] : outcome_labels()) out += fmt::format("  {:<14} {:>6}\n", label, counts[key]);
  auto metrics = summarize_metrics(records);
  if (!metrics.empty()) {
    out += fmt::format("\n  {:<38} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8}\n", "metric", "n", "p10", "p50", "p90", "p99", "max");
    for (const auto& m : metrics) {
      out += fmt::format("  {:<38} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8}\n", m.label, m.n, fmt_value(m.name, m.p10),
                         fmt_value(m.name, m.p50), fmt_value(m.name, m.p90), fmt_value(m.name, m.p99), fmt_value(m.name, m.max));
    }
  }
  std::vector<const json*> failing;
  for (const json& r : records)
    if (r["outcome"] != "pass") failing.push_back(&r);
  if (!failing.empty()) {
    out += fmt::format("\n  failing seeds ({}), each with the command that reproduces it:\n", failing.size());
    for (const json* r : failing) {
      std::string why = (*r)["failure"].is_string() ? (*r)["failure"].get<std::string>() : "";
      for (auto& c : why)
        if (c == '\n') c = ' ';
      if (why.size() > 200) why = why.substr(0, 197) + "...";
      std::string outcome = (*r)["outcome"].get<std::string>();
      for (const auto& [key, label] : outcome_labels())
        if (key == outcome) outcome = label;
      out += fmt::format("  seed {}: {}: {}\n    slotlab run {} --seed {}\n", (*r)["seed"].get<std::uint64_t>(), outcome, why,
                         h.scenario_file, (*r)["seed"].get<std::uint64_t>());
    }
  }
  return out;
}

// ---- argument parsing ---------------------------------------------------------------------------

bool parse_uint(const std::string& s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

bool parse_seed_range(const std::string& s, std::uint64_t& first, std::uint64_t& last) {
  auto dots = s.find("..");
  if (dots == std::string::npos) {
    if (!parse_uint(s, first)) return false;
    last = first;
    return true;
  }
  return parse_uint(s.substr(0, dots), first) && parse_uint(s.substr(dots + 2), last) && first <= last;
}

// ---- slotlab swarm ------------------------------------------------------------------------------

namespace {
int bad_args(const std::string& msg) {
  std::fprintf(stderr, "slotlab: %s\n(see slotlab --help)\n", msg.c_str());
  return 2;
}

// Progress on stderr: a bar redrawn in place on a terminal, a line per tenth of the seeds otherwise.
class Progress {
 public:
  explicit Progress(std::size_t total) : total_(total), tty_(::isatty(2) != 0), t0_(std::chrono::steady_clock::now()) {}
  void update(std::size_t done, std::size_t failed) {
    double secs = elapsed_s();
    if (tty_) {
      constexpr std::size_t kWidth = 30;
      std::size_t fill = total_ == 0 ? kWidth : done * kWidth / total_;
      std::string eta = done > 0 && done < total_ ? fmt::format(", ETA {:.0f} s", secs / static_cast<double>(done) * static_cast<double>(total_ - done)) : "";
      std::fprintf(stderr, "\r  [%s%s] %zu/%zu seeds, %zu failed, %.0f s%s   ", std::string(fill, '#').c_str(),
                   std::string(kWidth - fill, '.').c_str(), done, total_, failed, secs, eta.c_str());
      std::fflush(stderr);
      drawn_ = true;
    } else {
      std::size_t step = std::max<std::size_t>(1, total_ / 10);
      if (done != 0 && done != last_done_ && (done % step == 0 || done == total_)) {
        std::fprintf(stderr, "swarm: %zu/%zu seeds done, %zu failed, %.1f s\n", done, total_, failed, secs);
        last_done_ = done;
      }
    }
  }
  void finish() {
    if (tty_ && drawn_) std::fprintf(stderr, "\n");
  }
  double elapsed_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }

 private:
  std::size_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point t0_;
  std::size_t last_done_ = static_cast<std::size_t>(-1);
  bool drawn_ = false;
};

int default_jobs() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

std::string wall_line(const std::vector<json>& records, double total_s, int jobs) {
  std::vector<double> w;
  for (const json& r : records)
    if (r["wall_time_ms"].is_number()) w.push_back(r["wall_time_ms"].get<double>());
  std::sort(w.begin(), w.end());
  return fmt::format("wall-clock: {} runs in {:.1f} s with {} jobs ({:.0f} seeds/min); per run p50 {:.0f} ms, p90 {:.0f} ms, max {:.0f} ms\n",
                     records.size(), total_s, jobs, total_s > 0 ? static_cast<double>(records.size()) * 60.0 / total_s : 0.0,
                     percentile(w, 50), percentile(w, 90), w.empty() ? 0.0 : w.back());
}
}  // namespace

int cmd_swarm(const std::vector<std::string>& args) {
  std::string path, json_out;
  std::uint64_t first = 0, last = 0, shard_i = 0, shard_n = 1, jobs = static_cast<std::uint64_t>(default_jobs());
  std::uint64_t timeout_s = 600;
  bool have_seeds = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool has_value = i + 1 < args.size();
    if (a == "--seeds") {
      if (!has_value || !parse_seed_range(args[++i], first, last)) return bad_args("--seeds needs A..B (A <= B) or a single seed");
      have_seeds = true;
    } else if (a == "--jobs" || a == "-j") {
      if (!has_value || !parse_uint(args[++i], jobs) || jobs == 0 || jobs > 256) return bad_args("--jobs needs a number 1..256");
    } else if (a == "--shard") {
      std::string v = has_value ? args[++i] : "";
      auto slash = v.find('/');
      if (slash == std::string::npos || !parse_uint(v.substr(0, slash), shard_i) || !parse_uint(v.substr(slash + 1), shard_n) ||
          shard_n == 0 || shard_i >= shard_n)
        return bad_args("--shard needs i/N with 0 <= i < N");
    } else if (a == "--json") {
      if (!has_value) return bad_args("--json needs a file name");
      json_out = args[++i];
    } else if (a == "--timeout") {
      if (!has_value || !parse_uint(args[++i], timeout_s)) return bad_args("--timeout needs seconds (0: no limit)");
    } else if (!a.empty() && a[0] == '-') {
      return bad_args(fmt::format("unknown swarm option {}", a));
    } else if (path.empty()) {
      path = a;
    } else {
      return bad_args("swarm takes one scenario file");
    }
  }
  if (path.empty()) return bad_args("swarm needs a scenario file");
  if (!have_seeds) return bad_args("swarm needs --seeds A..B");
  auto doc = load_scenario_json(path);
  if (!doc) return bad_args(fmt::format("bad scenario: {}", doc.error().message));
  std::vector<std::uint64_t> seeds;
  for (std::uint64_t s = first;; ++s) {
    if ((s - first) % shard_n == shard_i) seeds.push_back(s);
    if (s == last) break;
  }
  // Validate every seed's concrete scenario before running anything: parameters can make one
  // seed's scenario invalid (a choice naming a node that does not exist).
  std::string name;
  for (std::uint64_t s : seeds) {
    auto sc = parse_scenario(*doc, s);
    if (!sc) return bad_args(fmt::format("bad scenario: {} (with the params of seed {})", sc.error().message, s));
    name = sc->name;
  }
  if (seeds.empty()) {
    auto sc = parse_scenario(*doc);
    if (!sc) return bad_args(fmt::format("bad scenario: {}", sc.error().message));
    name = sc->name;
  }
  SwarmHeader h{name, path, scenario_hash(*doc), first, last, shard_i, shard_n};
  Progress progress(seeds.size());
  auto records = run_seeds(
      *doc, seeds, static_cast<int>(jobs), [&](std::size_t done, std::size_t failed) { progress.update(done, failed); },
      static_cast<double>(timeout_s));
  progress.finish();
  double total_s = progress.elapsed_s();
  std::printf("%s", swarm_summary_text(h, records).c_str());
  std::printf("%s", wall_line(records, total_s, static_cast<int>(jobs)).c_str());
  if (!json_out.empty()) {
    std::ofstream out(json_out);
    out << swarm_json(h, records, static_cast<int>(jobs), static_cast<std::int64_t>(total_s * 1000)).dump(1) << "\n";
    if (!out) {
      std::fprintf(stderr, "slotlab: cannot write %s\n", json_out.c_str());
      return 2;
    }
    std::fprintf(stderr, "swarm results written to %s\n", json_out.c_str());
  }
  bool all_pass = std::all_of(records.begin(), records.end(), [](const json& r) { return r["outcome"] == "pass"; });
  return all_pass ? 0 : 1;
}

// ---- slotlab swarm-merge ------------------------------------------------------------------------

int cmd_swarm_merge(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  std::string json_out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      if (i + 1 >= args.size()) return bad_args("--json needs a file name");
      json_out = args[++i];
    } else if (!args[i].empty() && args[i][0] == '-') {
      return bad_args(fmt::format("unknown swarm-merge option {}", args[i]));
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty()) return bad_args("swarm-merge needs the JSON files of the shards");
  std::optional<SwarmHeader> h;
  std::set<std::uint64_t> shards_seen;
  std::map<std::uint64_t, json> by_seed;
  std::int64_t wall_ms = 0;
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) return bad_args(fmt::format("{}: cannot open", f));
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("format", "") != "slotlab-swarm-1" || !j["results"].is_array())
      return bad_args(fmt::format("{}: not a slotlab swarm result (format slotlab-swarm-1)", f));
    SwarmHeader fh;
    try {
      fh = SwarmHeader{j.at("scenario").get<std::string>(), j.at("scenario_file").get<std::string>(),
                       j.at("scenario_hash").get<std::string>(), j.at("seeds").at("first").get<std::uint64_t>(),
                       j.at("seeds").at("last").get<std::uint64_t>(), j.at("shard").at("index").get<std::uint64_t>(),
                       j.at("shard").at("count").get<std::uint64_t>()};
      for (const json& r : j["results"]) {
        (void)r.at("seed").get<std::uint64_t>();
        (void)r.at("outcome").get<std::string>();
        // Every field of the record format, so the summary never reads a missing one.
        for (const char* k : {"failure", "failed_step", "failed_checks", "params", "trace_hash", "world_time_ms",
                              "wall_time_ms", "failovers", "promotion_ms", "lost_writes", "availability"})
          (void)r.at(k);
        if (!r["failovers"].is_array()) throw json::other_error::create(501, "failovers is not an array", &r);
        for (const json& f : r["failovers"])
          for (const char* k : {"ms_to_first_pfail", "ms_to_fail", "ms_to_election", "ms_to_promotion", "ms_to_all_ok"}) (void)f.at(k);
        if (r["lost_writes"].is_object()) (void)r["lost_writes"].at("lost").get<double>();
        if (r["availability"].is_object()) {
          (void)r["availability"].at("ok_fraction");
          (void)r["availability"].at("longest_error_window_ms").get<double>();
        }
      }
    } catch (const json::exception& e) {
      return bad_args(fmt::format("{}: malformed swarm result: {}", f, e.what()));
    }
    if (!h) {
      h = fh;
    } else {
      if (fh.scenario_hash != h->scenario_hash)
        return bad_args(fmt::format("{}: results of a different scenario file ({} {}, expected {} {})", f, fh.scenario, fh.scenario_hash,
                                    h->scenario, h->scenario_hash));
      if (fh.first_seed != h->first_seed || fh.last_seed != h->last_seed || fh.shard_count != h->shard_count)
        return bad_args(fmt::format("{}: seeds {}..{} in {} shards, expected {}..{} in {} shards", f, fh.first_seed, fh.last_seed,
                                    fh.shard_count, h->first_seed, h->last_seed, h->shard_count));
    }
    if (!shards_seen.insert(fh.shard_index).second) return bad_args(fmt::format("{}: shard {} given twice", f, fh.shard_index));
    wall_ms += j.value("wall_time_ms", std::int64_t{0});
    for (const json& r : j["results"]) {
      auto seed = r["seed"].get<std::uint64_t>();
      if (!by_seed.emplace(seed, r).second) return bad_args(fmt::format("{}: seed {} appears in two files", f, seed));
    }
  }
  std::vector<std::uint64_t> missing;
  for (std::uint64_t i = 0; i < h->shard_count; ++i)
    if (shards_seen.count(i) == 0) missing.push_back(i);
  if (!missing.empty()) {
    std::string list;
    for (auto m : missing) list += fmt::format("{}{}/{}", list.empty() ? "" : ", ", m, h->shard_count);
    return bad_args(fmt::format("shard(s) {} missing: merge needs the results of all {} shards", list, h->shard_count));
  }
  std::vector<json> records;
  for (auto& [seed, r] : by_seed) records.push_back(std::move(r));
  SwarmHeader merged = *h;
  merged.shard_index = 0;
  merged.shard_count = 1;
  std::printf("%s", swarm_summary_text(merged, records).c_str());
  std::printf("wall-clock: %zu runs, %.1f s summed over %zu shards\n", records.size(), static_cast<double>(wall_ms) / 1000.0,
              files.size());
  if (!json_out.empty()) {
    std::ofstream out(json_out);
    out << swarm_json(merged, records, 0, wall_ms).dump(1) << "\n";
    if (!out) {
      std::fprintf(stderr, "slotlab: cannot write %s\n", json_out.c_str());
      return 2;
    }
  }
  bool all_pass = std::all_of(records.begin(), records.end(), [](const json& r) { return r["outcome"] == "pass"; });
  return all_pass ? 0 : 1;
}

}  // namespace slotlab::harness
