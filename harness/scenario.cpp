// Scenario parsing and validation (see scenario.hpp and scenarios/README.md).
#include "harness/scenario.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "harness/checks.hpp"
#include "harness/params.hpp"
#include "node/config.hpp"

namespace slotlab::harness {

namespace {
using json = nlohmann::json;

Error bad(const std::string& path, const std::string& what) {
  return make_error(Errc::invalid_argument, fmt::format("{}: {}", path, what));
}

const std::set<std::string>& admin_actions() {
  static const std::set<std::string> a = {"cluster-check", "cluster-info", "fix",  "reshard",    "rebalance",
                                          "add-node",      "del-node",     "call", "set-timeout"};
  return a;
}

const std::set<std::string>& known_actions() {
  static const std::set<std::string> a = [] {
    std::set<std::string> all = {"create", "wait-until", "crash",         "kill",         "restart",
                                 "sleep",  "check",      "load-keys",     "start-workload", "stop-workload",
                                 "failover", "pause", "resume", "partition", "heal"};
    all.insert(admin_actions().begin(), admin_actions().end());
    for (const char* f : {"delay", "jitter", "drop-rate", "duplicate", "reorder", "clock-skew", "clock-jump", "disk-fault",
                          "drop-bus-messages", "set-config", "clear-faults"})
      all.insert(f);
    return all;
  }();
  return a;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

Result<std::string> get_string(const json& obj, const std::string& key, const std::string& path, bool required) {
  if (!obj.contains(key)) {
    if (required) return bad(path + "." + key, "missing (expected a string)");
    return std::string();
  }
  if (!obj[key].is_string()) return bad(path + "." + key, fmt::format("expected a string, got {}", obj[key].type_name()));
  return obj[key].get<std::string>();
}

Result<std::int64_t> get_int(const json& obj, const std::string& key, const std::string& path, std::int64_t lo,
                             std::int64_t hi, std::optional<std::int64_t> dflt) {
  if (!obj.contains(key)) {
    if (dflt) return *dflt;
    return bad(path + "." + key, fmt::format("missing (expected an integer between {} and {})", lo, hi));
  }
  const json& v = obj[key];
  if (!v.is_number_integer()) return bad(path + "." + key, fmt::format("expected an integer, got {}", v.type_name()));
  auto x = v.get<std::int64_t>();
  if (x < lo || x > hi) return bad(path + "." + key, fmt::format("expected an integer between {} and {}, got {}", lo, hi, x));
  return x;
}

Result<void> check_keys(const json& obj, const std::string& path, const std::set<std::string>& allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (allowed.count(it.key()) == 0) {
      std::vector<std::string> list(allowed.begin(), allowed.end());
      return bad(path + "." + it.key(), fmt::format("unknown field (expected one of: {})", join(list)));
    }
  }
  return {};
}

Result<bool> get_bool(const json& obj, const std::string& key, const std::string& path) {
  if (!obj.contains(key)) return false;
  if (!obj[key].is_boolean()) return bad(path + "." + key, fmt::format("expected true or false, got {}", obj[key].type_name()));
  return obj[key].get<bool>();
}

bool valid_selector(const std::string& s);

// A node selector in an admin step's field: well formed, and an nN that exists.
Result<void> check_selector(const std::string& path, const std::string& sel, int total) {
  if (!valid_selector(sel)) {
    return bad(path, fmt::format("bad node selector '{}' (expected nN, primary-of-slot:S, replica-of:SELECTOR or @last)", sel));
  }
  if (sel[0] == 'n') {
    int idx = std::stoi(sel.substr(1));
    if (idx < 1 || idx > total) return bad(path, fmt::format("node {} does not exist (n1..n{})", sel, total));
  }
  return {};
}

// The fields of an admin step (scenarios/README.md, "Cluster administration").
Result<void> parse_admin_step(const json& js, const std::string& path, Step& st, int total) {
  AdminArgs& a = st.admin;
  const std::string& act = st.action;
  std::set<std::string> allowed = {"do", "label", "via"};
  bool moves = act == "reshard" || act == "rebalance" || act == "fix";
  if (moves) allowed.insert({"pipeline", "timeout_ms", "replace"});
  if (act == "cluster-check" || act == "fix") allowed.insert("search-multiple-owners");
  if (act == "fix") allowed.insert("fix-with-unreachable-masters");
  if (act == "reshard") allowed.insert({"from", "to", "slots"});
  if (act == "rebalance") allowed.insert({"weights", "use-empty-masters", "threshold", "simulate"});
  if (act == "add-node") allowed.insert({"node", "replica-of"});
  if (act == "del-node") allowed.insert("node");
  if (act == "call") allowed.insert({"args", "only"});
  if (act == "set-timeout") allowed.insert("ms");
  if (auto r = check_keys(js, path, allowed); !r) return r.error();

  auto via = get_string(js, "via", path, false);
  if (!via) return via.error();
  a.via = *via;
  if (!a.via.empty()) {
    if (auto r = check_selector(path + ".via", a.via, total); !r) return r.error();
  }
  if (moves) {
    auto pipeline = get_int(js, "pipeline", path, 1, 1'000'000, 10);
    if (!pipeline) return pipeline.error();
    a.pipeline = *pipeline;
    auto timeout = get_int(js, "timeout_ms", path, 1, 86'400'000, 60000);
    if (!timeout) return timeout.error();
    a.timeout_ms = *timeout;
    auto replace = get_bool(js, "replace", path);
    if (!replace) return replace.error();
    a.replace = *replace;
  }
  if (allowed.count("search-multiple-owners") != 0) {
    auto b = get_bool(js, "search-multiple-owners", path);
    if (!b) return b.error();
    a.search_multiple_owners = *b;
  }
  if (act == "fix") {
    auto b = get_bool(js, "fix-with-unreachable-masters", path);
    if (!b) return b.error();
    a.fix_with_unreachable_masters = *b;
  }
  if (act == "reshard") {
    if (!js.contains("from")) return bad(path + ".from", "missing (expected a node selector, \"all\" or an array of node selectors)");
    const json& from = js["from"];
    std::vector<std::pair<std::string, json>> items;
    if (from.is_string()) {
      items.emplace_back(path + ".from", from);
    } else if (from.is_array() && !from.empty()) {
      for (std::size_t k = 0; k < from.size(); ++k) items.emplace_back(fmt::format("{}.from[{}]", path, k), from[k]);
    } else {
      return bad(path + ".from", "expected a node selector, \"all\" or a non-empty array of node selectors");
    }
    for (const auto& [ipath, item] : items) {
      if (!item.is_string()) return bad(ipath, fmt::format("expected a node selector, got {}", item.type_name()));
      std::string sel = item.get<std::string>();
      if (sel != "all") {
        if (auto r = check_selector(ipath, sel, total); !r) return r.error();
      }
      a.from.push_back(sel);
    }
    auto to = get_string(js, "to", path, true);
    if (!to) return to.error();
    if (auto r = check_selector(path + ".to", *to, total); !r) return r.error();
    a.to = *to;
    auto slots = get_int(js, "slots", path, 1, 16384, std::nullopt);
    if (!slots) return slots.error();
    a.slots = *slots;
  }
  if (act == "rebalance") {
    if (js.contains("weights")) {
      const json& w = js["weights"];
      if (!w.is_object()) return bad(path + ".weights", "expected an object of node selector: weight");
      for (auto it = w.begin(); it != w.end(); ++it) {
        std::string wpath = path + ".weights." + it.key();
        if (auto r = check_selector(wpath, it.key(), total); !r) return r.error();
        if (!it.value().is_number() || it.value().get<double>() < 0) return bad(wpath, "expected a number >= 0");
        a.weights.emplace_back(it.key(), it.value().get<double>());
      }
    }
    for (auto [key, field] : {std::pair<const char*, bool*>{"use-empty-masters", &a.use_empty_masters},
                              std::pair<const char*, bool*>{"simulate", &a.simulate}}) {
      auto b = get_bool(js, key, path);
      if (!b) return b.error();
      *field = *b;
    }
    if (js.contains("threshold")) {
      if (!js["threshold"].is_number() || js["threshold"].get<double>() < 0)
        return bad(path + ".threshold", "expected a number >= 0 (percent)");
      a.threshold = js["threshold"].get<double>();
    }
  }
  if (act == "add-node" || act == "del-node") {
    auto node = get_string(js, "node", path, true);
    if (!node) return node.error();
    st.node = *node;  // checked with the other steps' node selectors
  }
  if (act == "add-node") {
    auto of = get_string(js, "replica-of", path, false);
    if (!of) return of.error();
    a.replica_of = *of;
    if (!a.replica_of.empty() && a.replica_of != "any") {
      if (auto r = check_selector(path + ".replica-of", a.replica_of, total); !r) return r.error();
    }
  }
  if (act == "call") {
    if (!js.contains("args") || !js["args"].is_array() || js["args"].empty())
      return bad(path + ".args", "missing or not a non-empty array of strings (the command and its arguments)");
    for (std::size_t k = 0; k < js["args"].size(); ++k) {
      const json& arg = js["args"][k];
      if (!arg.is_string()) return bad(fmt::format("{}.args[{}]", path, k), fmt::format("expected a string, got {}", arg.type_name()));
      a.args.push_back(arg.get<std::string>());
    }
    auto only = get_string(js, "only", path, false);
    if (!only) return only.error();
    if (!only->empty() && *only != "primaries" && *only != "replicas")
      return bad(path + ".only", fmt::format("expected \"primaries\" or \"replicas\", got '{}'", *only));
    a.only = *only;
  }
  if (act == "set-timeout") {
    auto ms = get_int(js, "ms", path, 100, 86'400'000, std::nullopt);
    if (!ms) return ms.error();
    a.ms = *ms;
  }
  return {};
}

bool valid_selector(const std::string& s) {
  if (s == "@last") return true;
  if (s.rfind("replica-of:", 0) == 0) return s.size() > 11 && valid_selector(s.substr(11));
  if (s.size() >= 2 && s[0] == 'n' && std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return true;
  if (s.rfind("primary-of-slot:", 0) == 0) {
    std::string num = s.substr(16);
    if (num.empty() || !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    return std::stoi(num) < 16384;
  }
  return false;
}
}  // namespace

bool is_admin_action(const std::string& action) { return admin_actions().count(action) != 0; }

bool valid_node_selector(const std::string& selector) { return valid_selector(selector); }

const std::vector<std::string>& known_conditions() {
  static const std::vector<std::string> c = {"healthy", "replicas-in-sync", "failed-over", "is-replica",
                                             "cluster-down", "no-orphaned-primary"};
  return c;
}

namespace {
Result<Scenario> parse_concrete_scenario(const json& doc);
}  // namespace

Result<Scenario> parse_scenario(const json& doc, std::optional<std::uint64_t> param_seed) {
  if (!doc.is_object()) return bad("$", fmt::format("expected an object, got {}", doc.type_name()));
  auto specs = parse_params(doc);
  if (!specs) return specs.error();
  json values = draw_params(*specs, param_seed);
  auto concrete = substitute_params(doc, values);
  if (!concrete) return concrete.error();
  auto s = parse_concrete_scenario(*concrete);
  if (s) s->params = std::move(values);
  return s;
}

namespace {
Result<Scenario> parse_concrete_scenario(const json& doc) {
  if (auto r = check_keys(doc, "$", {"name", "description", "topology", "steps", "final_checks", "$schema"}); !r)
    return r.error();
  Scenario s;
  auto name = get_string(doc, "name", "$", true);
  if (!name) return name.error();
  s.name = *name;
  auto desc = get_string(doc, "description", "$", false);
  if (!desc) return desc.error();
  s.description = *desc;

  if (!doc.contains("topology") || !doc["topology"].is_object()) return bad("$.topology", "missing or not an object");
  const json& topo = doc["topology"];
  if (auto r = check_keys(topo, "$.topology", {"primaries", "replicas", "spares", "config"}); !r) return r.error();
  auto prim = get_int(topo, "primaries", "$.topology", 1, 1000, std::nullopt);
  if (!prim) return prim.error();
  auto reps = get_int(topo, "replicas", "$.topology", 0, 10, 0);
  if (!reps) return reps.error();
  auto spares = get_int(topo, "spares", "$.topology", 0, 100, 0);
  if (!spares) return spares.error();
  s.topology.primaries = static_cast<int>(*prim);
  s.topology.replicas = static_cast<int>(*reps);
  s.topology.spares = static_cast<int>(*spares);
  if (topo.contains("config")) {
    if (!topo["config"].is_object()) return bad("$.topology.config", "expected an object of directive: value");
    for (auto it = topo["config"].begin(); it != topo["config"].end(); ++it) {
      std::string path = "$.topology.config." + it.key();
      const ConfigDirective* d = find_config_directive(it.key());
      if (d == nullptr) return bad(path, "unknown configuration directive");
      std::string value;
      if (it.value().is_string()) {
        value = it.value().get<std::string>();
      } else if (it.value().is_number_integer()) {
        value = std::to_string(it.value().get<std::int64_t>());
      } else if (it.value().is_boolean()) {
        value = it.value().get<bool>() ? "yes" : "no";
      } else {
        return bad(path, "expected a string, an integer or a boolean");
      }
      NodeConfig probe;
      if (auto r = d->set(probe, {value}); !r) return bad(path, r.error().message);
      s.topology.config[d->name] = value;
    }
  }

  if (!doc.contains("steps") || !doc["steps"].is_array()) return bad("$.steps", "missing or not an array");
  const json& steps = doc["steps"];
  std::set<std::string> workload_names;  // load-keys / start-workload names, each used once
  for (std::size_t i = 0; i < steps.size(); ++i) {
    std::string path = fmt::format("$.steps[{}]", i);
    const json& js = steps[i];
    if (!js.is_object()) return bad(path, "expected an object");
    Step st;
    st.path = path;
    auto action = get_string(js, "do", path, true);
    if (!action) return action.error();
    st.action = *action;
    if (known_actions().count(st.action) == 0) {
      std::vector<std::string> list(known_actions().begin(), known_actions().end());
      return bad(path + ".do", fmt::format("unknown action '{}' (expected one of: {})", st.action, join(list)));
    }
    auto label = get_string(js, "label", path, false);
    if (!label) return label.error();
    st.label = *label;
    if (st.action == "create") {
      if (auto r = check_keys(js, path, {"do", "label"}); !r) return r.error();
    } else if (st.action == "wait-until") {
      if (auto r = check_keys(js, path, {"do", "label", "condition", "node", "timeout_ms"}); !r) return r.error();
      auto cond = get_string(js, "condition", path, true);
      if (!cond) return cond.error();
      st.condition = *cond;
      const auto& conds = known_conditions();
      if (std::find(conds.begin(), conds.end(), st.condition) == conds.end()) {
        return bad(path + ".condition", fmt::format("unknown condition '{}' (expected one of: {})", st.condition, join(conds)));
      }
      auto t = get_int(js, "timeout_ms", path, 1, 86'400'000, std::nullopt);
      if (!t) return t.error();
      st.timeout_ms = *t;
      auto node = get_string(js, "node", path, st.condition == "failed-over" || st.condition == "is-replica");
      if (!node) return node.error();
      st.node = *node;
    } else if (st.action == "crash" || st.action == "kill" || st.action == "restart") {
      std::set<std::string> allowed = {"do", "label", "node"};
      if (st.action == "crash") allowed.insert("how");  // kill and restart have one way only
      if (auto r = check_keys(js, path, allowed); !r) return r.error();
      auto node = get_string(js, "node", path, true);
      if (!node) return node.error();
      st.node = *node;
      auto how = get_string(js, "how", path, false);
      if (!how) return how.error();
      st.how = how->empty() ? (st.action == "crash" ? "debug-segfault" : "") : *how;
      if (st.action == "crash" && st.how != "debug-segfault") {
        return bad(path + ".how", fmt::format("unknown crash method '{}' (expected: debug-segfault)", st.how));
      }
    } else if (st.action == "sleep") {
      if (auto r = check_keys(js, path, {"do", "label", "duration_ms"}); !r) return r.error();
      auto d = get_int(js, "duration_ms", path, 0, 86'400'000, std::nullopt);
      if (!d) return d.error();
      st.duration_ms = *d;
    } else if (st.action == "check") {
      if (auto r = check_keys(js, path, {"do", "label", "checks"}); !r) return r.error();
      if (!js.contains("checks") || !js["checks"].is_array()) return bad(path + ".checks", "missing or not an array of check names");
      for (std::size_t k = 0; k < js["checks"].size(); ++k) {
        const json& c = js["checks"][k];
        std::string cpath = fmt::format("{}.checks[{}]", path, k);
        if (!c.is_string()) return bad(cpath, "expected a check name");
        const auto& names = known_check_names();
        if (std::find(names.begin(), names.end(), c.get<std::string>()) == names.end()) {
          return bad(cpath, fmt::format("unknown check '{}' (expected one of: {})", c.get<std::string>(), join(names)));
        }
        if (c.get<std::string>() == "liveness") return bad(cpath, "'liveness' looks at the whole run: list it in final_checks");
        st.checks.push_back(c.get<std::string>());
      }
    } else if (st.action == "load-keys" || st.action == "start-workload") {
      bool load = st.action == "load-keys";
      std::set<std::string> allowed = {"do", "label", "name", "clients", "value_bytes"};
      allowed.insert(load ? "count" : "think_ms");
      if (load) allowed.insert("timeout_ms");
      if (auto r = check_keys(js, path, allowed); !r) return r.error();
      auto name = get_string(js, "name", path, false);
      if (!name) return name.error();
      st.workload = name->empty() ? (load ? "keys" : "writes") : *name;
      if (!workload_names.insert(st.workload).second) {
        return bad(path + ".name", fmt::format("workload name '{}' is already used by an earlier step", st.workload));
      }
      auto clients = get_int(js, "clients", path, 1, 1000, 4);
      if (!clients) return clients.error();
      st.clients = *clients;
      auto vb = get_int(js, "value_bytes", path, 1, 1 << 20, 16);
      if (!vb) return vb.error();
      st.value_bytes = *vb;
      if (load) {
        auto count = get_int(js, "count", path, 1, 10'000'000, std::nullopt);
        if (!count) return count.error();
        st.count = *count;
        auto t = get_int(js, "timeout_ms", path, 1, 86'400'000, 600'000);
        if (!t) return t.error();
        st.timeout_ms = *t;
      } else {
        auto think = get_int(js, "think_ms", path, 0, 60'000, 10);
        if (!think) return think.error();
        st.think_ms = *think;
      }
    } else if (st.action == "pause" || st.action == "resume") {
      if (auto r = check_keys(js, path, {"do", "label", "node"}); !r) return r.error();
      auto node = get_string(js, "node", path, true);
      if (!node) return node.error();
      st.node = *node;
    } else if (st.action == "heal") {
      if (auto r = check_keys(js, path, {"do", "label"}); !r) return r.error();
    } else if (st.action == "partition") {
      if (auto r = check_keys(js, path, {"do", "label", "groups", "one_way"}); !r) return r.error();
      if (!js.contains("groups") || !js["groups"].is_array() || js["groups"].size() < 2) {
        return bad(path + ".groups", "expected an array of at least two arrays of node selectors");
      }
      std::set<std::string> seen;
      for (std::size_t g = 0; g < js["groups"].size(); ++g) {
        const json& grp = js["groups"][g];
        std::string gpath = fmt::format("{}.groups[{}]", path, g);
        if (!grp.is_array() || grp.empty()) return bad(gpath, "expected a non-empty array of node selectors");
        std::vector<std::string> names;
        for (std::size_t k = 0; k < grp.size(); ++k) {
          std::string npath = fmt::format("{}[{}]", gpath, k);
          if (!grp[k].is_string() || !valid_selector(grp[k].get<std::string>())) {
            return bad(npath, "expected a node selector (nN, primary-of-slot:S or @last)");
          }
          std::string sel = grp[k].get<std::string>();
          if (!seen.insert(sel).second) return bad(npath, fmt::format("{} is in two groups", sel));
          names.push_back(sel);
        }
        st.groups.push_back(std::move(names));
      }
      if (js.contains("one_way")) {
        if (!js["one_way"].is_boolean()) return bad(path + ".one_way", "expected true or false");
        st.one_way = js["one_way"].get<bool>();
      }
    } else if (st.action == "failover") {
      if (auto r = check_keys(js, path, {"do", "label", "node", "mode", "timeout_ms"}); !r) return r.error();
      auto node = get_string(js, "node", path, true);
      if (!node) return node.error();
      st.node = *node;
      auto mode = get_string(js, "mode", path, false);
      if (!mode) return mode.error();
      st.how = mode->empty() ? "default" : *mode;
      if (st.how != "default" && st.how != "force" && st.how != "takeover") {
        return bad(path + ".mode", fmt::format("expected default, force or takeover, got '{}'", st.how));
      }
      auto t = get_int(js, "timeout_ms", path, 1, 86'400'000, 30'000);
      if (!t) return t.error();
      st.timeout_ms = *t;
    } else if (st.action == "stop-workload") {
      if (auto r = check_keys(js, path, {"do", "label", "name"}); !r) return r.error();
      auto name = get_string(js, "name", path, false);
      if (!name) return name.error();
      st.workload = name->empty() ? "writes" : *name;
      if (workload_names.count(st.workload) == 0) {
        return bad(path + ".name", fmt::format("no earlier start-workload step named '{}'", st.workload));
      }
    } else if (is_admin_action(st.action)) {
      int total = s.topology.primaries * (1 + s.topology.replicas) + s.topology.spares;
      if (auto r = parse_admin_step(js, path, st, total); !r) return r.error();
    } else if (is_fault_action(st.action)) {
      int total = s.topology.primaries * (1 + s.topology.replicas) + s.topology.spares;
      if (auto r = parse_fault_step(js, path, st, total); !r) return r.error();
    }
    if (!st.node.empty() && !valid_selector(st.node)) {
      return bad(path + ".node", fmt::format("bad node selector '{}' (expected nN, primary-of-slot:S, replica-of:SELECTOR or @last)", st.node));
    }
    if (!st.node.empty() && st.node[0] == 'n') {
      int idx = std::stoi(st.node.substr(1));
      int total = s.topology.primaries * (1 + s.topology.replicas) + s.topology.spares;
      if (idx < 1 || idx > total) return bad(path + ".node", fmt::format("node {} does not exist (n1..n{})", st.node, total));
    }
    s.steps.push_back(std::move(st));
  }
  if (doc.contains("final_checks")) {
    const json& fc = doc["final_checks"];
    if (!fc.is_array()) return bad("$.final_checks", "expected an array of check names");
    for (std::size_t k = 0; k < fc.size(); ++k) {
      std::string cpath = fmt::format("$.final_checks[{}]", k);
      if (!fc[k].is_string()) return bad(cpath, "expected a check name");
      const auto& names = known_check_names();
      if (std::find(names.begin(), names.end(), fc[k].get<std::string>()) == names.end())
        return bad(cpath, fmt::format("unknown check '{}' (expected one of: {})", fc[k].get<std::string>(), join(names)));
      s.final_checks.push_back(fc[k].get<std::string>());
    }
  }
  return s;
}
}  // namespace

Result<json> load_scenario_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::not_found, fmt::format("{}: cannot open scenario file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  json doc = json::parse(ss.str(), nullptr, false);
  if (doc.is_discarded()) {
    // Re-parse with exceptions to get the position of the error.
    try {
      json again = json::parse(ss.str());
      (void)again;
    } catch (const json::parse_error& e) {
      return make_error(Errc::invalid_argument, fmt::format("{}: not valid JSON: {}", path, e.what()));
    }
    return make_error(Errc::invalid_argument, fmt::format("{}: not valid JSON", path));
  }
  return doc;
}

Result<Scenario> load_scenario_file(const std::string& path, std::optional<std::uint64_t> param_seed) {
  auto doc = load_scenario_json(path);
  if (!doc) return doc.error();
  auto s = parse_scenario(*doc, param_seed);
  if (!s) return make_error(s.error().code, fmt::format("{}: {}", path, s.error().message));
  return s;
}

}  // namespace slotlab::harness
