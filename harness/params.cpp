// Scenario parameters drawn from the seed (see params.hpp and scenarios/README.md, "Parameters").
#include "harness/params.hpp"

#include <fmt/format.h>

namespace slotlab::harness {

namespace {
using json = nlohmann::json;

Error bad(const std::string& path, const std::string& what) {
  return make_error(Errc::invalid_argument, fmt::format("{}: {}", path, what));
}

bool is_identifier(const std::string& s, std::size_t from) {
  if (s.size() <= from) return false;
  for (std::size_t i = from; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > from && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

Result<void> substitute(json& v, const std::string& path, const json& values) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() >= 2 && s[0] == '$' && s[1] == '$') {
      v = s.substr(1);
    } else if (s.size() >= 2 && s[0] == '$' && is_identifier(s, 1)) {
      std::string name = s.substr(1);
      if (!values.is_object() || !values.contains(name)) {
        return bad(path, fmt::format("refers to parameter '{}', which $.params does not declare", name));
      }
      v = values[name];
    }
    return {};
  }
  if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (auto r = substitute(v[i], fmt::format("{}[{}]", path, i), values); !r) return r;
    }
    return {};
  }
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (auto r = substitute(it.value(), path + "." + it.key(), values); !r) return r;
    }
  }
  return {};
}
}  // namespace

Result<std::vector<ParamSpec>> parse_params(const json& doc) {
  std::vector<ParamSpec> out;
  if (!doc.is_object() || !doc.contains("params")) return out;
  const json& ps = doc["params"];
  if (!ps.is_object()) return bad("$.params", fmt::format("expected an object of name: {{\"min\", \"max\"}} or {{\"choices\"}}, got {}", ps.type_name()));
  for (auto it = ps.begin(); it != ps.end(); ++it) {  // nlohmann::json objects iterate in key order
    std::string path = "$.params." + it.key();
    if (!is_identifier(it.key(), 0)) return bad(path, "a parameter name is letters, digits and _, not starting with a digit");
    const json& p = it.value();
    if (!p.is_object()) return bad(path, fmt::format("expected {{\"min\": M, \"max\": N}} or {{\"choices\": [...]}}, got {}", p.type_name()));
    for (auto f = p.begin(); f != p.end(); ++f) {
      if (f.key() != "min" && f.key() != "max" && f.key() != "choices" && f.key() != "description")
        return bad(path + "." + f.key(), "unknown field (expected min and max, or choices; description)");
    }
    if (p.contains("description") && !p["description"].is_string()) return bad(path + ".description", "expected a string");
    ParamSpec spec;
    spec.name = it.key();
    bool range = p.contains("min") || p.contains("max");
    if (range && p.contains("choices")) return bad(path, "either min and max, or choices, not both");
    if (p.contains("choices")) {
      const json& c = p["choices"];
      if (!c.is_array() || c.empty()) return bad(path + ".choices", "expected a non-empty array of values");
      for (std::size_t i = 0; i < c.size(); ++i) {
        if (c[i].is_string() && is_identifier(c[i].get<std::string>(), 1) && c[i].get<std::string>()[0] == '$')
          return bad(fmt::format("{}.choices[{}]", path, i), "a choice cannot refer to another parameter");
        spec.choices.push_back(c[i]);
      }
    } else {
      for (const char* k : {"min", "max"}) {
        if (!p.contains(k)) return bad(path + "." + k, "missing (expected an integer)");
        if (!p[k].is_number_integer()) return bad(path + "." + k, fmt::format("expected an integer, got {}", p[k].type_name()));
      }
      spec.min = p["min"].get<std::int64_t>();
      spec.max = p["max"].get<std::int64_t>();
      if (spec.max < spec.min) return bad(path + ".max", fmt::format("expected an integer >= min ({}), got {}", spec.min, spec.max));
    }
    out.push_back(std::move(spec));
  }
  return out;
}

json draw_param(const ParamSpec& spec, std::uint64_t seed) {
  // Its own stream, separate from the simulator's (which is seeded with the seed itself): the
  // constant keeps the two from being the same sequence, the name makes each parameter independent.
  std::uint64_t h = splitmix64(splitmix64(seed ^ 0x70617261'6d730000ULL) ^ fnv1a(spec.name));
  if (spec.is_choice()) return spec.choices[h % spec.choices.size()];
  auto span = static_cast<std::uint64_t>(spec.max - spec.min) + 1;  // 0 when the range is all of int64
  std::uint64_t off = span == 0 ? h : h % span;
  return json(static_cast<std::int64_t>(static_cast<std::uint64_t>(spec.min) + off));
}

json draw_params(const std::vector<ParamSpec>& specs, std::optional<std::uint64_t> seed) {
  json out = json::object();
  for (const auto& s : specs) out[s.name] = seed ? draw_param(s, *seed) : s.nominal();
  return out;
}

Result<json> substitute_params(const json& doc, const json& values) {
  json out = doc;
  if (out.is_object()) out.erase("params");
  if (auto r = substitute(out, "$", values); !r) return r.error();
  return out;
}

}  // namespace slotlab::harness
