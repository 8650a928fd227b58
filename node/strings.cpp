// Implementation of the shared string helpers (see strings.hpp).
#include "node/strings.hpp"

namespace slotlab {

namespace {
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
}  // namespace

bool equals_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (i < line.size()) {
    while (i < line.size() && space(line[i])) ++i;
    std::size_t start = i;
    while (i < line.size() && !space(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::optional<std::int64_t> parse_ll(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return std::nullopt;
  }
  if (s[i] == '0' && s.size() > i + 1) return std::nullopt;
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    std::uint64_t d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > static_cast<std::uint64_t>(INT64_MAX) + 1) return std::nullopt;
    if (v == static_cast<std::uint64_t>(INT64_MAX) + 1) return INT64_MIN;
    return -static_cast<std::int64_t>(v);
  }
  if (v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(v);
}

static bool glob_match_impl(std::string_view p, std::string_view s, bool nocase, int depth) {
  if (depth > 1000) return false;  // pathological patterns (Redis also bounds nesting)
  std::size_t pi = 0, si = 0;
  while (pi < p.size()) {
    char pc = p[pi];
    if (pc == '*') {
      while (pi + 1 < p.size() && p[pi + 1] == '*') ++pi;
      if (pi + 1 == p.size()) return true;
      for (std::size_t k = si; k <= s.size(); ++k)
        if (glob_match_impl(p.substr(pi + 1), s.substr(k), nocase, depth + 1)) return true;
      return false;
    }
    if (si >= s.size()) return false;
    if (pc == '?') {
      ++pi;
      ++si;
      continue;
    }
    if (pc == '[') {
      ++pi;
      bool negate = pi < p.size() && p[pi] == '^';
      if (negate) ++pi;
      bool match = false;
      while (pi < p.size() && p[pi] != ']') {
        if (p[pi] == '\\' && pi + 1 < p.size()) {
          ++pi;
          if (p[pi] == s[si]) match = true;
        } else if (pi + 2 < p.size() && p[pi + 1] == '-') {
          char a = p[pi], b = p[pi + 2];
          if (a > b) std::swap(a, b);
          char c = s[si];
          if (nocase) {
            a = lower(a);
            b = lower(b);
            c = lower(c);
          }
          if (c >= a && c <= b) match = true;
          pi += 2;
        } else if (nocase ? lower(p[pi]) == lower(s[si]) : p[pi] == s[si]) {
          match = true;
        }
        ++pi;
      }
      if (pi < p.size()) ++pi;  // skip ']'
      if (negate) match = !match;
      if (!match) return false;
      ++si;
      continue;
    }
    if (pc == '\\' && pi + 1 < p.size()) {
      ++pi;
      pc = p[pi];
    }
    if (nocase ? lower(pc) != lower(s[si]) : pc != s[si]) return false;
    ++pi;
    ++si;
  }
  return si == s.size();
}

bool glob_match(std::string_view pattern, std::string_view text, bool nocase) {
  return glob_match_impl(pattern, text, nocase, 0);
}

}  // namespace slotlab
