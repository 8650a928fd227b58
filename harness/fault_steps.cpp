// The fault steps (see fault_steps.hpp and scenarios/README.md "Faults").
#include "harness/fault_steps.hpp"

#include <fmt/format.h>

namespace slotlab::harness {

namespace {

std::string rate_text(std::uint32_t ppm) { return fmt::format("{:g}%", static_cast<double>(ppm) / 10'000.0); }

std::string list_text(const std::vector<std::string>& v) {
  if (v.empty()) return "every node";
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

Result<void> run_fault_step(const Step& st, const std::string& node, FaultStepEnv& env, StepOutcome& out) {
  World& w = env.world;
  auto fail = [&](const Error& e) { return make_error(e.code, fmt::format("{}: {}", st.path, e.message)); };
  const std::string& act = st.action;

  if (act == "set-config") {
    // CONFIG SET as an operator sends it, to one node or to every running node of the cluster.
    std::vector<std::string> targets;
    if (!node.empty()) {
      targets.push_back(node);
    } else {
      for (const auto& n : w.node_names())
        if (w.running(n) && (env.members.empty() || env.members.count(n) != 0)) targets.push_back(n);
    }
    for (const auto& n : targets) {
      if (!w.running(n)) return make_error(Errc::state, fmt::format("{}: {} is not running", st.path, n));
      RespConnection& c = env.pool.get(w.endpoint(n));
      auto reply = c.call({"CONFIG", "SET", st.config_name, st.config_value}, env.command_timeout_ms);
      if (!reply) return make_error(reply.error().code, fmt::format("{}: {}: {}", st.path, n, reply.error().message));
      if (reply->is_error())
        return make_error(Errc::state, fmt::format("{}: CONFIG SET {} {} on {}: {}", st.path, st.config_name, st.config_value, n,
                                                   reply->describe()));
    }
    out.detail = fmt::format("CONFIG SET {} {} on {}", st.config_name, st.config_value, list_text(targets));
    return {};
  }

  if (act == "delay" || act == "jitter" || act == "drop-rate" || act == "duplicate" || act == "reorder") {
    auto resolve_side = [&](const std::vector<std::string>& sels) -> Result<std::vector<std::string>> {
      std::vector<std::string> names;
      if (sels.empty()) {
        for (const auto& n : w.node_names())
          if (env.members.empty() || env.members.count(n) != 0) names.push_back(n);
        return names;
      }
      for (const auto& s : sels) {
        if (s == kClientsSelector) {
          names.push_back(s);
          continue;
        }
        auto r = env.resolve(s);
        if (!r) return r.error();
        names.push_back(*r);
      }
      return names;
    };
    auto from = resolve_side(st.from);
    if (!from) return fail(from.error());
    auto to = resolve_side(st.to);
    if (!to) return fail(to.error());
    LinkFaultChange c;
    std::string what;
    if (act == "delay") {
      c.delay_ms = st.fault_ms;
      what = fmt::format("delay {} ms", st.fault_ms);
    } else if (act == "jitter") {
      c.jitter_ms = st.fault_ms;
      what = fmt::format("jitter 0..{} ms", st.fault_ms);
    } else if (act == "drop-rate") {
      c.drop_per_million = st.rate_ppm;
      what = fmt::format("drop {} of segments (each costs a TCP retransmission timeout)", rate_text(st.rate_ppm));
    } else if (act == "duplicate") {
      c.duplicate_per_million = st.rate_ppm;
      what = fmt::format("duplicate {} of segments (discarded by TCP)", rate_text(st.rate_ppm));
    } else {
      c.reorder_per_million = st.rate_ppm;
      c.reorder_gap_ms = st.fault_ms;
      what = fmt::format("reorder {} of segments by {} ms (head-of-line delay)", rate_text(st.rate_ppm), st.fault_ms);
    }
    if (auto r = w.change_link_faults(*from, *to, st.one_way, st.links, c); !r) return fail(r.error());
    out.detail = fmt::format("{} on {} links {} {} {}", what, st.links, list_text(*from), st.one_way ? "->" : "<->", list_text(*to));
    return {};
  }

  if (act == "clock-skew" || act == "clock-jump") {
    bool relative = act == "clock-jump";
    if (auto r = w.clock_offset(node, st.fault_ms, relative); !r) return fail(r.error());
    out.detail = relative ? fmt::format("{}'s clock jumped {:+} ms", node, st.fault_ms)
                          : fmt::format("{}'s clock set {:+} ms off the true time", node, st.fault_ms);
    return {};
  }

  if (act == "disk-fault") {
    if (auto r = w.disk_fault(node, st.fault); !r) return fail(r.error());
    out.detail = st.fault == "none" ? fmt::format("{}'s disk works again", node) : fmt::format("{}'s disk: {}", node, st.fault);
    return {};
  }

  if (act == "drop-bus-messages") {
    if (auto r = w.drop_bus_messages(node, st.bus_types); !r) return fail(r.error());
    std::string types;
    const auto& names = bus_message_type_names();
    for (std::size_t i = 0; i < names.size(); ++i)
      if ((st.bus_types >> i) & 1u) types += (types.empty() ? "" : ",") + names[i];
    out.detail = st.bus_types == 0 ? fmt::format("{} receives every bus message again", node)
                                   : fmt::format("{} drops received bus messages: {}", node, types);
    return {};
  }

  if (act == "clear-faults") {
    if (auto r = w.clear_faults(st.fault_kinds); !r) return fail(r.error());
    out.detail = "cleared: " + list_text(st.fault_kinds);
    return {};
  }
  return make_error(Errc::invalid_argument, fmt::format("{}: not a fault step: {}", st.path, act));
}

}  // namespace slotlab::harness
