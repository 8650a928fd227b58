// Small string helpers shared by the command, config and nodes.conf code (ASCII only, as Redis's
// strcasecmp-based comparisons are).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slotlab {

bool equals_nocase(std::string_view a, std::string_view b);
std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
// Splits on runs of spaces, tabs and CRs.
std::vector<std::string_view> split_spaces(std::string_view line);
// Strict base-10 signed 64-bit integer, as Redis's string2ll: no spaces, no '+', no leading zeros
// except "0" itself, no overflow.
std::optional<std::int64_t> parse_ll(std::string_view s);
// Matches a glob pattern the way Redis's stringmatchlen does (*, ?, [...], \\ escapes).
bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false);

}  // namespace slotlab
