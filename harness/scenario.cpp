// Scenario parsing and validation (see scenario.hpp and scenarios/README.md).
#include "harness/scenario.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "harness/checks.hpp"
#include "node/config.hpp"

namespace slotlab::harness {

namespace {
using json = nlohmann::json;

Error bad(const std::string& path, const std::string& what) {
  return make_error(Errc::invalid_argument, fmt::format("{}: {}", path, what));
}

const std::set<std::string>& known_actions() {
  static const std::set<std::string> a = {"create", "wait-until", "crash", "kill", "restart", "sleep", "check"};
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

bool valid_selector(const std::string& s) {
  if (s == "@last") return true;
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

const std::vector<std::string>& known_conditions() {
  static const std::vector<std::string> c = {"healthy", "replicas-in-sync", "failed-over", "is-replica"};
  return c;
}

Result<Scenario> parse_scenario(const json& doc) {
  if (!doc.is_object()) return bad("$", fmt::format("expected an object, got {}", doc.type_name()));
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
      if (auto r = check_keys(js, path, {"do", "label", "node", "how"}); !r) return r.error();
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
        st.checks.push_back(c.get<std::string>());
      }
    }
    if (!st.node.empty() && !valid_selector(st.node)) {
      return bad(path + ".node", fmt::format("bad node selector '{}' (expected nN, primary-of-slot:S or @last)", st.node));
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

Result<Scenario> load_scenario_file(const std::string& path) {
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
  auto s = parse_scenario(doc);
  if (!s) return make_error(s.error().code, fmt::format("{}: {}", path, s.error().message));
  return s;
}

}  // namespace slotlab::harness
