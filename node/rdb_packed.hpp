// The packed element encodings that appear inside RDB values: listpacks (Redis 7.0's small hashes
// and the nodes of its quicklists) and ziplists (what Redis 3.2..6.2 wrote for the same, still
// loaded by 7.0). Both are a header, a run of self-describing entries and a 0xFF terminator; an
// entry is a string or an integer (we always hand elements back as strings, integers in decimal,
// as Redis's listpack/ziplist getters with an int buffer do).
//
// Listpack (listpack.c):  <total bytes u32 LE> <count u16 LE> entry* <0xFF>
//   entry = <encoding+len> <data> <backlen>, backlen = the size of encoding+data written
//   big-end-first in 7-bit groups, so the list can be walked backwards.
// Ziplist (ziplist.c):    <total bytes u32 LE> <tail offset u32 LE> <count u16 LE> entry* <0xFF>
//   entry = <prevlen: 1 byte, or 0xFE + u32 LE> <encoding> <data>.
//
// Parsing validates everything Redis's deep integrity check validates (lpValidateIntegrity /
// ziplistValidateIntegrity with deep=1): the header size and terminator, every entry inside the
// blob, the back/previous lengths, the tail offset and the element count. Bad input is an
// Errc::protocol error naming the byte offset inside the blob, never a read past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/result.hpp"

namespace slotlab::rdb {

// Redis's string2ll / lpStringToInt64: a canonical base-10 int64 (no sign but '-', no leading
// zeros, no "-0", no spaces), so that converting back gives the same bytes.
std::optional<std::int64_t> canonical_int64(std::string_view s);

// Builds a listpack exactly as Redis's lpAppend does (integer-looking elements use the integer
// encodings), so small values produce the same bytes Redis would DUMP.
class ListpackWriter {
 public:
  void append(std::string_view element);
  std::size_t count() const { return count_; }
  // The size of the listpack if it were finished now (Redis's lpBytes).
  std::size_t total_bytes() const { return kHeaderSize + entries_.size() + 1; }
  std::string finish() const;

  static constexpr std::size_t kHeaderSize = 6;

 private:
  std::string entries_;
  std::size_t count_ = 0;
};

Result<std::vector<std::string>> listpack_elements(std::string_view listpack);
Result<std::vector<std::string>> ziplist_elements(std::string_view ziplist);

}  // namespace slotlab::rdb
