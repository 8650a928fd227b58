// Implementation of cluster_view.hpp.
#include "harness/cluster_view.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "node/strings.hpp"

namespace slotlab::harness {

bool NodeLine::has_flag(std::string_view f) const {
  return std::find(flags.begin(), flags.end(), f) != flags.end();
}

int NodeLine::slot_count() const {
  int n = 0;
  for (auto [a, b] : slots) n += b - a + 1;
  return n;
}

namespace {
std::vector<std::string_view> split_char(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    std::size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}
}  // namespace

Result<std::vector<NodeLine>> parse_cluster_nodes(std::string_view text) {
  std::vector<NodeLine> out;
  int lineno = 0;
  for (std::string_view line : split_char(text, '\n')) {
    ++lineno;
    if (line.empty()) continue;
    auto tok = split_char(line, ' ');
    if (tok.size() < 8) {
      return make_error(Errc::protocol, fmt::format("CLUSTER NODES line {} has {} fields, 8 expected: '{}'", lineno,
                                                    tok.size(), line));
    }
    NodeLine n;
    n.id = std::string(tok[0]);
    std::string_view addr = tok[1];
    // As redis-cli: '@' splits the bus port (atoi, so ",hostname" is ignored), ':' the port.
    if (auto at = addr.rfind('@'); at != std::string_view::npos) {
      std::string_view bus = addr.substr(at + 1);
      if (auto comma = bus.find(','); comma != std::string_view::npos) {
        n.hostname = std::string(bus.substr(comma + 1));
        bus = bus.substr(0, comma);
      }
      n.bus_port = static_cast<int>(parse_ll(bus).value_or(0));
      addr = addr.substr(0, at);
    }
    auto colon = addr.rfind(':');
    if (colon == std::string_view::npos) {
      return make_error(Errc::protocol, fmt::format("CLUSTER NODES line {}: bad address '{}'", lineno, tok[1]));
    }
    n.ip = std::string(addr.substr(0, colon));
    n.port = static_cast<int>(parse_ll(addr.substr(colon + 1)).value_or(0));
    for (auto f : split_char(tok[2], ',')) n.flags.emplace_back(f);
    if (tok[3] != "-") n.primary_id = std::string(tok[3]);
    n.ping_sent = parse_ll(tok[4]).value_or(0);
    n.pong_received = parse_ll(tok[5]).value_or(0);
    n.config_epoch = static_cast<std::uint64_t>(parse_ll(tok[6]).value_or(0));
    n.connected = tok[7] == "connected";
    for (std::size_t i = 8; i < tok.size(); ++i) {
      std::string_view s = tok[i];
      if (s.empty()) continue;
      if (s[0] == '[') {
        auto close = s.find(']');
        std::string_view body = s.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
        if (auto p = body.find("->-"); p != std::string_view::npos) {
          n.migrating.emplace_back(static_cast<int>(parse_ll(body.substr(0, p)).value_or(-1)),
                                   std::string(body.substr(p + 3)));
        } else if (auto q = body.find("-<-"); q != std::string_view::npos) {
          n.importing.emplace_back(static_cast<int>(parse_ll(body.substr(0, q)).value_or(-1)),
                                   std::string(body.substr(q + 3)));
        }
        continue;
      }
      if (auto dash = s.find('-'); dash != std::string_view::npos) {
        auto a = parse_ll(s.substr(0, dash));
        auto b = parse_ll(s.substr(dash + 1));
        if (!a || !b) return make_error(Errc::protocol, fmt::format("CLUSTER NODES line {}: bad slot range '{}'", lineno, s));
        n.slots.emplace_back(static_cast<int>(*a), static_cast<int>(*b));
      } else {
        auto a = parse_ll(s);
        if (!a) return make_error(Errc::protocol, fmt::format("CLUSTER NODES line {}: bad slot '{}'", lineno, s));
        n.slots.emplace_back(static_cast<int>(*a), static_cast<int>(*a));
      }
    }
    out.push_back(std::move(n));
  }
  return out;
}

std::string config_signature(std::string_view text) {
  std::vector<std::string> configs;
  for (std::string_view line : split_char(text, '\n')) {
    if (line.empty()) continue;
    auto tok = split_char(line, ' ');
    if (tok.size() < 9) continue;
    std::vector<std::string> slots;
    for (std::size_t i = 8; i < tok.size(); ++i) {
      if (tok[i].empty() || tok[i][0] == '[') continue;
      slots.emplace_back(tok[i]);
    }
    if (slots.empty()) continue;
    std::sort(slots.begin(), slots.end(), [](const std::string& a, const std::string& b) {
      return std::strcmp(a.c_str(), b.c_str()) < 0;
    });
    std::string cfg(tok[0]);
    cfg += ':';
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (i > 0) cfg += ',';
      cfg += slots[i];
    }
    configs.push_back(std::move(cfg));
  }
  std::sort(configs.begin(), configs.end(), [](const std::string& a, const std::string& b) {
    return std::strcmp(a.c_str(), b.c_str()) < 0;
  });
  std::string sig;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    if (i > 0) sig += '|';
    sig += configs[i];
  }
  return sig;
}

std::map<std::string, std::string> parse_info(std::string_view text) {
  std::map<std::string, std::string> out;
  for (std::string_view line : split_char(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

const NodeLine* NodeObservation::myself() const {
  for (const auto& n : nodes)
    if (n.myself()) return &n;
  return nullptr;
}

std::vector<NodeObservation> observe(ClientPool& pool, const std::vector<Endpoint>& endpoints, Millis timeout_ms,
                                     bool with_replication) {
  std::vector<NodeObservation> out;
  out.reserve(endpoints.size());
  for (const Endpoint& e : endpoints) {
    NodeObservation o;
    o.endpoint = e;
    std::vector<Argv> cmds{{"CLUSTER", "NODES"}, {"CLUSTER", "INFO"}};
    if (with_replication) cmds.push_back({"INFO", "replication"});
    auto replies = pool.get(e).pipeline(cmds, timeout_ms);
    if (!replies) {
      o.error = replies.error().message;
      out.push_back(std::move(o));
      continue;
    }
    auto& r = *replies;
    if (r[0].is_error() || r[1].is_error()) {
      o.error = r[0].is_error() ? r[0].str : r[1].str;
      out.push_back(std::move(o));
      continue;
    }
    o.reachable = true;
    o.nodes_text = r[0].str;
    if (auto parsed = parse_cluster_nodes(o.nodes_text)) {
      o.nodes = std::move(*parsed);
    } else {
      o.error = parsed.error().message;
    }
    o.cluster_info = parse_info(r[1].str);
    if (with_replication && !r[2].is_error()) o.replication = parse_info(r[2].str);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace slotlab::harness
