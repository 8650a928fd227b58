// RDB version 10 (Redis 7.0): the snapshot format used for full resynchronisation payloads, RDB
// files and (object part) DUMP payloads.
//
// This first part covers the file frame: the "REDIS0010" magic, AUX fields, SELECTDB/RESIZEDB,
// EOF and the CRC64 trailer, and the primitive encodings (lengths, strings incl. integer-encoded
// and LZF-compressed ones). Value types are added with the keyspace (data path issue); until then
// decode() reports a key of any type as unsupported instead of skipping it silently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/result.hpp"

namespace slotlab::rdb {

inline constexpr int kVersion = 10;

enum Opcode : std::uint8_t {
  kOpFunction2 = 245,
  kOpModuleAux = 247,
  kOpIdle = 248,
  kOpFreq = 249,
  kOpAux = 250,
  kOpResizeDb = 251,
  kOpExpireTimeMs = 252,
  kOpExpireTime = 253,
  kOpSelectDb = 254,
  kOpEof = 255,
};

// Primitive encoders (append to out).
void put_length(std::string& out, std::uint64_t len);
void put_string(std::string& out, std::string_view s);  // integer-encodes short decimal strings like Redis

// A cursor over an RDB byte stream with bounds-checked primitive decoders.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool at_end() const { return pos_ >= data_.size(); }
  std::size_t pos() const { return pos_; }
  Result<std::uint8_t> byte();
  Result<std::string_view> bytes(std::size_t n);
  // Returns the length; sets `encoded` when the length byte is a special string encoding.
  Result<std::uint64_t> length(bool* encoded = nullptr);
  Result<std::string> string();

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

// Builds a complete RDB with no keys: magic, AUX fields, EOF, checksum.
std::string encode_empty(const std::vector<std::pair<std::string, std::string>>& aux);

struct Decoded {
  std::vector<std::pair<std::string, std::string>> aux;
  std::uint64_t keys = 0;
};
// Validates and reads a whole RDB payload. Errors name the byte offset and what was wrong.
Result<Decoded> decode(std::string_view payload);

// LZF decompression (liblzf format, as Redis's RDB_ENC_LZF strings use).
Result<std::string> lzf_decompress(std::string_view in, std::size_t out_len);

}  // namespace slotlab::rdb
