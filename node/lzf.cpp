// LZF compression and decompression (see lzf.hpp for the format).
#include "node/lzf.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace slotlab::rdb {

namespace {
constexpr std::size_t kMaxLiteral = 32;        // a literal run is 1..32 bytes
constexpr std::size_t kMaxOffset = 1u << 13;   // a reference reaches 1..8192 bytes back
constexpr std::size_t kMinMatch = 3;           // shorter matches cost as much as literals
constexpr std::size_t kMaxMatch = 7 + 255 + 2;  // 264
constexpr std::size_t kMaxExpansion = kMaxMatch / 3 + 1;  // a 3-byte reference yields 264 bytes

std::uint32_t prefix3(std::string_view s, std::size_t i) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + 2]));
}

class Compressor {
 public:
  Compressor(std::string_view in, std::size_t max_out) : in_(in), max_out_(max_out) {
    std::size_t size = 256;
    while (size < in.size() && size < (1u << 14)) size <<= 1;
    table_.assign(size, 0);
    mask_ = static_cast<std::uint32_t>(size - 1);
    out_.reserve(in.size() < max_out ? in.size() : max_out);
  }

  std::optional<std::string> run() {
    const std::size_t n = in_.size();
    std::size_t lit_start = 0;
    std::size_t ip = 0;
    while (ip + kMinMatch <= n) {
      std::size_t ref = lookup_and_insert(ip);
      std::size_t len = 0;
      if (ref != kNone && ip - ref <= kMaxOffset) len = match_length(ref, ip);
      if (len < kMinMatch) {
        ++ip;
        continue;
      }
      if (!emit_literals(lit_start, ip) || !emit_reference(ip - ref, len)) return std::nullopt;
      // Index the positions the match covers so later data can refer into it.
      for (std::size_t k = ip + 1; k < ip + len && k + kMinMatch <= n; ++k) (void)lookup_and_insert(k);
      ip += len;
      lit_start = ip;
    }
    if (!emit_literals(lit_start, n)) return std::nullopt;
    return std::move(out_);
  }

 private:
  static constexpr std::size_t kNone = SIZE_MAX;

  // Returns the previous position with the same hash (or kNone) and records `ip` in its place.
  std::size_t lookup_and_insert(std::size_t ip) {
    std::uint32_t v = prefix3(in_, ip);
    std::uint32_t h = ((v * 2654435761u) >> 10) & mask_;
    std::uint32_t prev = table_[h];
    table_[h] = static_cast<std::uint32_t>(ip + 1);
    return prev == 0 ? kNone : prev - 1;
  }

  std::size_t match_length(std::size_t ref, std::size_t ip) const {
    std::size_t len = 0;
    const std::size_t limit = std::min(kMaxMatch, in_.size() - ip);
    while (len < limit && in_[ref + len] == in_[ip + len]) ++len;
    return len;
  }

  bool emit_literals(std::size_t from, std::size_t to) {
    while (from < to) {
      std::size_t run = std::min(kMaxLiteral, to - from);
      if (out_.size() + 1 + run > max_out_) return false;
      out_.push_back(static_cast<char>(run - 1));
      out_.append(in_.substr(from, run));
      from += run;
    }
    return true;
  }

  bool emit_reference(std::size_t distance, std::size_t len) {
    const std::size_t off = distance - 1;  // 0..8191
    const std::size_t l = len - 2;         // 1..262
    if (out_.size() + (l >= 7 ? 3 : 2) > max_out_) return false;
    if (l < 7) {
      out_.push_back(static_cast<char>((l << 5) | (off >> 8)));
    } else {
      out_.push_back(static_cast<char>((7u << 5) | (off >> 8)));
      out_.push_back(static_cast<char>(l - 7));
    }
    out_.push_back(static_cast<char>(off & 0xff));
    return true;
  }

  std::string_view in_;
  std::size_t max_out_;
  std::vector<std::uint32_t> table_;
  std::uint32_t mask_ = 0;
  std::string out_;
};

Error corrupt(const char* what) { return make_error(Errc::protocol, std::string("RDB: corrupt LZF data: ") + what); }
}  // namespace

std::optional<std::string> lzf_compress(std::string_view in, std::size_t max_out) {
  if (in.empty()) return std::nullopt;
  return Compressor(in, max_out).run();
}

Result<std::string> lzf_decompress(std::string_view in, std::size_t out_len) {
  // Checked before allocating: a corrupt length must not make us reserve gigabytes.
  if (out_len / kMaxExpansion > in.size()) return corrupt("uncompressed length impossible for the input size");
  std::string out;
  out.reserve(out_len);
  std::size_t ip = 0;
  while (ip < in.size()) {
    const unsigned ctrl = static_cast<unsigned char>(in[ip++]);
    if (ctrl < kMaxLiteral) {
      const std::size_t run = ctrl + 1;
      if (run > in.size() - ip) return corrupt("literal run past the end of the input");
      if (run > out_len - out.size()) return corrupt("literal run past the uncompressed length");
      out.append(in.substr(ip, run));
      ip += run;
      continue;
    }
    std::size_t len = ctrl >> 5;
    if (ip >= in.size()) return corrupt("truncated back reference");
    if (len == 7) {
      len += static_cast<unsigned char>(in[ip++]);
      if (ip >= in.size()) return corrupt("truncated back reference");
    }
    const std::size_t distance = ((ctrl & 0x1fu) << 8) + static_cast<unsigned char>(in[ip++]) + 1;
    len += 2;
    if (distance > out.size()) return corrupt("back reference before the start of the output");
    if (len > out_len - out.size()) return corrupt("back reference past the uncompressed length");
    const std::size_t from = out.size() - distance;
    for (std::size_t i = 0; i < len; ++i) out.push_back(out[from + i]);  // may overlap: byte by byte
  }
  if (out.size() != out_len) return corrupt("uncompressed length mismatch");
  return out;
}

}  // namespace slotlab::rdb
