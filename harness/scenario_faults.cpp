// Parsing of the fault steps of a scenario (scenarios/README.md "Faults"; scenarios/schema.json):
// lossy links (delay, jitter, drop-rate, duplicate, reorder), node clocks (clock-skew,
// clock-jump), disks (disk-fault), cluster-bus message filters (drop-bus-messages), CONFIG SET
// (set-config) and clear-faults.
#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "harness/scenario.hpp"
#include "node/config.hpp"

namespace slotlab::harness {

namespace {
using json = nlohmann::json;

Error bad(const std::string& path, const std::string& what) {
  return make_error(Errc::invalid_argument, fmt::format("{}: {}", path, what));
}

std::string got(const json& v) {
  std::string d = v.dump();
  if (d.size() > 40) d = d.substr(0, 37) + "...";
  return fmt::format("{} {}", v.type_name(), d);
}

Result<void> check_keys(const json& obj, const std::string& path, const std::set<std::string>& allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (allowed.count(it.key()) == 0) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return bad(path + "." + it.key(), fmt::format("unknown field (expected one of: {})", list));
    }
  }
  return {};
}

Result<std::int64_t> int_field(const json& js, const std::string& key, const std::string& path, std::int64_t lo,
                               std::int64_t hi, std::optional<std::int64_t> dflt) {
  if (!js.contains(key)) {
    if (dflt) return *dflt;
    return bad(path + "." + key, fmt::format("missing (expected an integer between {} and {})", lo, hi));
  }
  const json& v = js[key];
  if (!v.is_number_integer()) return bad(path + "." + key, fmt::format("expected an integer between {} and {}, got {}", lo, hi, got(v)));
  auto x = v.get<std::int64_t>();
  if (x < lo || x > hi) return bad(path + "." + key, fmt::format("expected an integer between {} and {}, got {}", lo, hi, x));
  return x;
}

// A probability in [0, 1], kept as parts per million (exact for up to six decimals).
Result<std::uint32_t> rate_field(const json& js, const std::string& key, const std::string& path) {
  if (!js.contains(key)) return bad(path + "." + key, "missing (expected a number between 0 and 1)");
  const json& v = js[key];
  if (!v.is_number()) return bad(path + "." + key, fmt::format("expected a number between 0 and 1, got {}", got(v)));
  double x = v.get<double>();
  if (!(x >= 0.0 && x <= 1.0)) return bad(path + "." + key, fmt::format("expected a number between 0 and 1, got {}", v.dump()));
  return static_cast<std::uint32_t>(std::llround(x * 1'000'000.0));
}

Result<std::string> string_field(const json& js, const std::string& key, const std::string& path, bool required) {
  if (!js.contains(key)) {
    if (required) return bad(path + "." + key, "missing (expected a string)");
    return std::string();
  }
  if (!js[key].is_string()) return bad(path + "." + key, fmt::format("expected a string, got {}", got(js[key])));
  return js[key].get<std::string>();
}

Result<void> check_node(const std::string& path, const std::string& sel, int total, bool clients_ok) {
  if (clients_ok && sel == "clients") return {};
  if (!valid_node_selector(sel))
    return bad(path, fmt::format("bad node selector '{}' (expected nN, primary-of-slot:S, replica-of:SELECTOR, @last{})", sel,
                                 clients_ok ? " or clients" : ""));
  if (sel[0] == 'n') {
    int idx = std::stoi(sel.substr(1));
    if (idx < 1 || idx > total) return bad(path, fmt::format("node {} does not exist (n1..n{})", sel, total));
  }
  return {};
}

// `from` / `to` of a link step: an array of selectors (or "clients"), or "all" (every node).
Result<std::vector<std::string>> side_field(const json& js, const std::string& key, const std::string& path, int total) {
  std::vector<std::string> out;
  if (!js.contains(key)) return out;  // every node
  const json& v = js[key];
  if (v.is_string() && v.get<std::string>() == "all") return out;
  if (!v.is_array() || v.empty())
    return bad(path + "." + key, fmt::format("expected \"all\" or a non-empty array of node selectors, got {}", got(v)));
  for (std::size_t k = 0; k < v.size(); ++k) {
    std::string ipath = fmt::format("{}.{}[{}]", path, key, k);
    if (!v[k].is_string()) return bad(ipath, fmt::format("expected a node selector, got {}", got(v[k])));
    std::string sel = v[k].get<std::string>();
    if (auto r = check_node(ipath, sel, total, true); !r) return r.error();
    out.push_back(sel);
  }
  return out;
}

const std::set<std::string>& link_actions() {
  static const std::set<std::string> a = {"delay", "jitter", "drop-rate", "duplicate", "reorder"};
  return a;
}

}  // namespace

const std::vector<std::string>& bus_message_type_names() {
  static const std::vector<std::string> n = {"ping",    "pong",   "meet",   "fail",   "publish",     "failover-auth-request",
                                             "failover-auth-ack", "update", "mfstart", "module", "publishshard"};
  return n;
}

bool is_fault_action(const std::string& a) {
  return link_actions().count(a) != 0 || a == "clock-skew" || a == "clock-jump" || a == "disk-fault" ||
         a == "drop-bus-messages" || a == "set-config" || a == "clear-faults";
}

Result<void> parse_fault_step(const json& js, const std::string& path, Step& st, int total) {
  const std::string& act = st.action;
  if (link_actions().count(act) != 0) {
    std::set<std::string> allowed = {"do", "label", "from", "to", "one_way", "links"};
    allowed.insert(act == "delay" || act == "jitter" ? "ms" : "rate");
    if (act == "reorder") allowed.insert("gap_ms");
    if (auto r = check_keys(js, path, allowed); !r) return r;
    auto from = side_field(js, "from", path, total);
    if (!from) return from.error();
    st.from = *from;
    auto to = side_field(js, "to", path, total);
    if (!to) return to.error();
    st.to = *to;
    if (js.contains("one_way")) {
      if (!js["one_way"].is_boolean()) return bad(path + ".one_way", fmt::format("expected true or false, got {}", got(js["one_way"])));
      st.one_way = js["one_way"].get<bool>();
    }
    auto links = string_field(js, "links", path, false);
    if (!links) return links.error();
    st.links = links->empty() ? "all" : *links;
    if (st.links != "all" && st.links != "bus" && st.links != "data")
      return bad(path + ".links", fmt::format("expected \"bus\", \"data\" or \"all\", got '{}'", st.links));
    if (act == "delay" || act == "jitter") {
      auto ms = int_field(js, "ms", path, 0, 3'600'000, std::nullopt);
      if (!ms) return ms.error();
      st.fault_ms = *ms;
    } else {
      auto rate = rate_field(js, "rate", path);
      if (!rate) return rate.error();
      st.rate_ppm = *rate;
      if (act == "reorder") {
        auto gap = int_field(js, "gap_ms", path, 1, 60'000, 10);
        if (!gap) return gap.error();
        st.fault_ms = *gap;
      }
    }
    return {};
  }
  if (act == "clock-skew" || act == "clock-jump") {
    const char* field = act == "clock-skew" ? "offset_ms" : "by_ms";
    if (auto r = check_keys(js, path, {"do", "label", "node", field}); !r) return r;
    auto node = string_field(js, "node", path, true);
    if (!node) return node.error();
    st.node = *node;
    constexpr std::int64_t kYear = 365LL * 86'400'000;
    auto ms = int_field(js, field, path, -kYear, kYear, std::nullopt);
    if (!ms) return ms.error();
    st.fault_ms = *ms;
    return {};
  }
  if (act == "disk-fault") {
    if (auto r = check_keys(js, path, {"do", "label", "node", "fault"}); !r) return r;
    auto node = string_field(js, "node", path, true);
    if (!node) return node.error();
    st.node = *node;
    auto fault = string_field(js, "fault", path, true);
    if (!fault) return fault.error();
    st.fault = *fault;
    if (st.fault != "none" && st.fault != "fsync-lost" && st.fault != "fsync-failed" && st.fault != "write-failed")
      return bad(path + ".fault", fmt::format("expected none, fsync-lost, fsync-failed or write-failed, got '{}'", st.fault));
    return {};
  }
  if (act == "drop-bus-messages") {
    if (auto r = check_keys(js, path, {"do", "label", "node", "types"}); !r) return r;
    auto node = string_field(js, "node", path, true);
    if (!node) return node.error();
    st.node = *node;
    if (!js.contains("types") || !js["types"].is_array())
      return bad(path + ".types", "missing or not an array of bus message types ([] stops dropping)");
    const auto& names = bus_message_type_names();
    for (std::size_t k = 0; k < js["types"].size(); ++k) {
      const json& t = js["types"][k];
      std::string tpath = fmt::format("{}.types[{}]", path, k);
      auto it = t.is_string() ? std::find(names.begin(), names.end(), t.get<std::string>()) : names.end();
      if (it == names.end()) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        return bad(tpath, fmt::format("expected a bus message type ({}), got {}", list, got(t)));
      }
      st.bus_types |= 1u << static_cast<unsigned>(it - names.begin());
    }
    return {};
  }
  if (act == "set-config") {
    if (auto r = check_keys(js, path, {"do", "label", "node", "name", "value"}); !r) return r;
    auto node = string_field(js, "node", path, false);
    if (!node) return node.error();
    st.node = *node;  // empty: every running node of the cluster
    auto name = string_field(js, "name", path, true);
    if (!name) return name.error();
    const ConfigDirective* d = find_config_directive(*name);
    if (d == nullptr) return bad(path + ".name", fmt::format("unknown configuration parameter '{}'", *name));
    if (d->mutability == ConfigMutability::immutable)
      return bad(path + ".name", fmt::format("'{}' cannot be changed with CONFIG SET (only at start-up: use topology.config)", d->name));
    if (!js.contains("value")) return bad(path + ".value", "missing (expected a string, an integer or a boolean)");
    const json& v = js["value"];
    std::string value;
    if (v.is_string()) {
      value = v.get<std::string>();
    } else if (v.is_number_integer()) {
      value = std::to_string(v.get<std::int64_t>());
    } else if (v.is_boolean()) {
      value = v.get<bool>() ? "yes" : "no";
    } else {
      return bad(path + ".value", fmt::format("expected a string, an integer or a boolean, got {}", got(v)));
    }
    NodeConfig probe;
    if (auto r = d->set(probe, {value}); !r) return bad(path + ".value", r.error().message);
    st.config_name = d->name;
    st.config_value = value;
    return {};
  }
  if (act == "clear-faults") {
    if (auto r = check_keys(js, path, {"do", "label", "kinds"}); !r) return r;
    static const std::vector<std::string> all = {"links", "clocks", "disks", "bus-messages"};
    if (!js.contains("kinds")) {
      st.fault_kinds = all;
      return {};
    }
    if (!js["kinds"].is_array() || js["kinds"].empty())
      return bad(path + ".kinds", fmt::format("expected a non-empty array of links, clocks, disks, bus-messages, got {}", got(js["kinds"])));
    for (std::size_t k = 0; k < js["kinds"].size(); ++k) {
      const json& v = js["kinds"][k];
      if (!v.is_string() || std::find(all.begin(), all.end(), v.get<std::string>()) == all.end())
        return bad(fmt::format("{}.kinds[{}]", path, k), fmt::format("expected links, clocks, disks or bus-messages, got {}", got(v)));
      st.fault_kinds.push_back(v.get<std::string>());
    }
    return {};
  }
  return bad(path + ".do", fmt::format("not a fault step: {}", act));
}

}  // namespace slotlab::harness
