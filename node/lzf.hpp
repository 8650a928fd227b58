// LZF, the small LZ77 compression format of liblzf that Redis uses for RDB_ENC_LZF strings (long
// string values, listpack blobs of lists and hashes, AUX fields) in RDB files and DUMP payloads.
//
// The byte format, as lzf_d.c reads it: a control byte `c` starts every item.
//  - c < 32: a literal run of c + 1 bytes follows (1..32 bytes).
//  - otherwise a back reference: len = c >> 5 (1..7); if len == 7 one more byte is added to it;
//    then one byte `lo`; the match starts ((c & 0x1f) << 8 | lo) + 1 bytes back (1..8192) and is
//    len + 2 bytes long (3..264). Source and destination may overlap (a run of one byte).
//
// The compressor is our own greedy matcher over a hash of 3-byte prefixes. Its output is valid
// LZF, readable by Redis's lzf_decompress, but not byte-identical to liblzf's (which only matters
// to tests that compare whole DUMP payloads: they turn compression off).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "node/result.hpp"

namespace slotlab::rdb {

// Compresses `in`. Returns nullopt when the result would be longer than `max_out` bytes (Redis
// stores a string compressed only when that saves at least 4 bytes) or `in` is empty.
std::optional<std::string> lzf_compress(std::string_view in, std::size_t max_out);

// Decompresses exactly `out_len` bytes. Any inconsistency (a run or reference past either end, a
// length mismatch, an impossible expansion ratio) is an Errc::protocol error, never a crash.
Result<std::string> lzf_decompress(std::string_view in, std::size_t out_len);

}  // namespace slotlab::rdb
