// Scenario parameters: values a scenario leaves open and that are drawn from the seed, so that a
// swarm (`slotlab swarm`) runs the same scenario with different fault timings and targets per seed
// (swarm testing, as in TigerBeetle's VOPR). Declared at the top level of a scenario file:
//
//   "params": {"crash_after_ms": {"min": 0, "max": 8000},
//              "victim": {"choices": ["primary-of-slot:0", "primary-of-slot:10000"]}}
//
// and referenced anywhere below by a string that is exactly "$name":
//
//   {"do": "sleep", "duration_ms": "$crash_after_ms"}, {"do": "crash", "node": "$victim"}
//
// The reference is replaced by the drawn JSON value before the scenario is validated, so every
// field that takes an integer, a string or a selector can be a parameter, and the validated scenario
// is concrete. Values are a pure function of (seed, parameter name): they do not depend on the
// simulator's RNG, on the other parameters or on the order of the steps, so `slotlab run FILE
// --seed N` reproduces exactly what seed N of a swarm ran, and removing a step (`slotlab shrink`)
// leaves the other parameters' values unchanged.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/result.hpp"

namespace slotlab::harness {

struct ParamSpec {
  std::string name;
  // An integer range [min, max] ...
  std::int64_t min = 0, max = 0;
  // ... or one of these values (non-empty means a choice parameter).
  std::vector<nlohmann::json> choices;
  bool is_choice() const { return !choices.empty(); }
  // The "smallest" value: min, or the first choice. `shrink` moves values toward it, and a scenario
  // parsed without a seed (validation only) takes it.
  nlohmann::json nominal() const { return is_choice() ? choices.front() : nlohmann::json(min); }
};

// The "params" object of a scenario document (none: empty). Errors name the field:
// "$.params.crash_after_ms.max: expected an integer >= min (5000), got 10".
Result<std::vector<ParamSpec>> parse_params(const nlohmann::json& doc);

// The value of one parameter for a seed (see the file comment). Ranges are drawn uniformly
// (splitmix64 of the seed and an FNV-1a hash of the name, reduced modulo the range size).
nlohmann::json draw_param(const ParamSpec& spec, std::uint64_t seed);
// Every parameter's value for a seed, or every parameter's nominal value when seed is empty.
nlohmann::json draw_params(const std::vector<ParamSpec>& specs, std::optional<std::uint64_t> seed);

// The document with every "$name" string replaced by values[name] and "params" removed. A string
// of the form "$identifier" that names no parameter is an error (a typo would otherwise reach the
// validator as a strange node selector); "$$..." stands for a literal string starting with "$".
// Parameters that nothing references are allowed (a shrunk scenario may have dropped their steps).
Result<nlohmann::json> substitute_params(const nlohmann::json& doc, const nlohmann::json& values);

}  // namespace slotlab::harness
