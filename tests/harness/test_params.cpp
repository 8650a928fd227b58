// Scenario parameters (harness/params.hpp): drawn from the seed alone, within their ranges,
// independent of each other, substituted before validation.
#include <catch2/catch.hpp>

#include <set>

#include "harness/params.hpp"
#include "harness/scenario.hpp"

using namespace slotlab::harness;
using json = nlohmann::json;

namespace {
json doc_with(json params, json steps) {
  return json{{"name", "p"}, {"topology", {{"primaries", 3}}}, {"params", std::move(params)}, {"steps", std::move(steps)}};
}
}  // namespace

TEST_CASE("a range parameter stays in its range and takes every value of a small range", "[params]") {
  auto specs = parse_params(doc_with({{"t", {{"min", 3}, {"max", 7}}}}, json::array()));
  REQUIRE(specs.ok());
  std::set<std::int64_t> seen;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    auto v = draw_param(specs->front(), seed).get<std::int64_t>();
    REQUIRE(v >= 3);
    REQUIRE(v <= 7);
    seen.insert(v);
  }
  REQUIRE(seen.size() == 5);
}

TEST_CASE("a parameter's value depends only on the seed and its name", "[params]") {
  auto one = parse_params(doc_with({{"b", {{"min", 0}, {"max", 1000000}}}}, json::array()));
  auto two = parse_params(doc_with({{"a", {{"choices", {"x", "y"}}}}, {"b", {{"min", 0}, {"max", 1000000}}}}, json::array()));
  REQUIRE(one.ok());
  REQUIRE(two.ok());
  std::set<std::int64_t> distinct;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    json v1 = draw_params(*one, seed), v2 = draw_params(*two, seed);
    REQUIRE(v1["b"] == v2["b"]);
    REQUIRE(v1["b"] == draw_params(*one, seed)["b"]);
    distinct.insert(v1["b"].get<std::int64_t>());
  }
  REQUIRE(distinct.size() > 40);  // different seeds, different values
  REQUIRE(draw_params(*two, std::nullopt) == json{{"a", "x"}, {"b", 0}});  // nominal: first choice, minimum
}

TEST_CASE("references are substituted before validation, and mistakes name the field", "[params]") {
  json steps = json::array({{{"do", "sleep"}, {"duration_ms", "$t"}}, {{"do", "kill"}, {"node", "$who"}},
                            {{"do", "call"}, {"args", {"ECHO", "$$t"}}}});
  json doc = doc_with({{"t", {{"min", 10}, {"max", 20}}}, {"who", {{"choices", {"n2", "n3"}}}}}, steps);
  auto sc = parse_scenario(doc, 7);
  REQUIRE(sc.ok());
  REQUIRE(sc->steps[0].duration_ms >= 10);
  REQUIRE(sc->steps[0].duration_ms <= 20);
  REQUIRE((sc->steps[1].node == "n2" || sc->steps[1].node == "n3"));
  REQUIRE(sc->steps[2].admin.args[1] == "$t");  // "$$t" is the literal "$t"
  REQUIRE(sc->params["t"] == sc->steps[0].duration_ms);

  json typo = doc;
  typo["steps"][0]["duration_ms"] = "$tt";
  auto r = parse_scenario(typo, 1);
  REQUIRE(!r.ok());
  REQUIRE(r.error().message.find("$.steps[0].duration_ms") != std::string::npos);

  json inverted = doc;
  inverted["params"]["t"] = {{"min", 20}, {"max", 10}};
  r = parse_scenario(inverted, 1);
  REQUIRE(!r.ok());
  REQUIRE(r.error().message.find("$.params.t.max") != std::string::npos);

  json both = doc;
  both["params"]["t"]["choices"] = {1, 2};
  REQUIRE(!parse_scenario(both, 1).ok());
  json wrong_type = doc;
  wrong_type["params"]["who"] = {{"choices", {5}}};  // a node selector must be a string
  r = parse_scenario(wrong_type, 1);
  REQUIRE(!r.ok());
  REQUIRE(r.error().message.find("$.steps[1].node") != std::string::npos);
}
