// Listpack and ziplist codecs (see rdb_packed.hpp).
#include "node/rdb_packed.hpp"

#include <fmt/format.h>

namespace slotlab::rdb {

namespace {

std::uint64_t read_le(std::string_view s, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = n; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

void put_le(std::string& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Sign-extends the low `bits` bits of `u`.
std::int64_t sign_extend(std::uint64_t u, unsigned bits) {
  if (bits >= 64) return static_cast<std::int64_t>(u);
  const std::uint64_t sign = std::uint64_t{1} << (bits - 1);
  if ((u & sign) == 0) return static_cast<std::int64_t>(u);
  return static_cast<std::int64_t>(u) - static_cast<std::int64_t>(std::uint64_t{1} << bits);
}

// --- listpack ---

constexpr unsigned char kLpEof = 0xff;

// lpEncodeBacklen: the size of an entry (encoding + data), most significant 7-bit group first,
// every byte but the first with the high bit set. Note the thresholds are Redis's (16383, not 16384).
std::string encode_backlen(std::uint64_t l) {
  std::string b;
  if (l <= 127) {
    b.push_back(static_cast<char>(l));
  } else if (l < 16383) {
    b.push_back(static_cast<char>(l >> 7));
    b.push_back(static_cast<char>((l & 127) | 128));
  } else if (l < 2097151) {
    b.push_back(static_cast<char>(l >> 14));
    b.push_back(static_cast<char>(((l >> 7) & 127) | 128));
    b.push_back(static_cast<char>((l & 127) | 128));
  } else if (l < 268435455) {
    b.push_back(static_cast<char>(l >> 21));
    b.push_back(static_cast<char>(((l >> 14) & 127) | 128));
    b.push_back(static_cast<char>(((l >> 7) & 127) | 128));
    b.push_back(static_cast<char>((l & 127) | 128));
  } else {
    b.push_back(static_cast<char>((l >> 28) & 0xff));
    b.push_back(static_cast<char>(((l >> 21) & 127) | 128));
    b.push_back(static_cast<char>(((l >> 14) & 127) | 128));
    b.push_back(static_cast<char>(((l >> 7) & 127) | 128));
    b.push_back(static_cast<char>((l & 127) | 128));
  }
  return b;
}

Error lp_bad(std::size_t at, const std::string& what) {
  return make_error(Errc::protocol, fmt::format("listpack integrity check failed: {} at byte {} of the listpack", what, at));
}

Error zl_bad(std::size_t at, const std::string& what) {
  return make_error(Errc::protocol, fmt::format("ziplist integrity check failed: {} at byte {} of the ziplist", what, at));
}

}  // namespace

std::optional<std::int64_t> canonical_int64(std::string_view s) {
  if (s.empty() || s.size() >= 21) return std::nullopt;
  if (s.size() == 1 && s[0] == '0') return 0;
  std::size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    i = 1;
    if (s.size() == 1) return std::nullopt;
  }
  if (s[i] < '1' || s[i] > '9') return std::nullopt;
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (negative) {
    if (v > static_cast<std::uint64_t>(INT64_MAX) + 1) return std::nullopt;
    return static_cast<std::int64_t>(0 - v);  // two's complement; INT64_MIN included
  }
  if (v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(v);
}

void ListpackWriter::append(std::string_view element) {
  std::string entry;
  if (auto iv = canonical_int64(element)) {
    // lpEncodeIntegerGetType: the smallest of the 7/13/16/24/32/64-bit integer encodings.
    const std::int64_t v = *iv;
    const auto u = static_cast<std::uint64_t>(v);
    if (v >= 0 && v <= 127) {
      entry.push_back(static_cast<char>(v));
    } else if (v >= -4096 && v <= 4095) {
      const std::uint64_t w = u & 0x1fff;
      entry.push_back(static_cast<char>(0xc0 | (w >> 8)));
      entry.push_back(static_cast<char>(w & 0xff));
    } else if (v >= -32768 && v <= 32767) {
      entry.push_back(static_cast<char>(0xf1));
      put_le(entry, u, 2);
    } else if (v >= -8388608 && v <= 8388607) {
      entry.push_back(static_cast<char>(0xf2));
      put_le(entry, u, 3);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      entry.push_back(static_cast<char>(0xf3));
      put_le(entry, u, 4);
    } else {
      entry.push_back(static_cast<char>(0xf4));
      put_le(entry, u, 8);
    }
  } else {
    const std::size_t len = element.size();
    if (len < 64) {
      entry.push_back(static_cast<char>(0x80 | len));
    } else if (len < 4096) {
      entry.push_back(static_cast<char>(0xe0 | (len >> 8)));
      entry.push_back(static_cast<char>(len & 0xff));
    } else {
      entry.push_back(static_cast<char>(0xf0));
      put_le(entry, len, 4);
    }
    entry.append(element);
  }
  entries_ += entry;
  entries_ += encode_backlen(entry.size());
  ++count_;
}

std::string ListpackWriter::finish() const {
  std::string out;
  out.reserve(total_bytes());
  put_le(out, total_bytes(), 4);
  put_le(out, count_ < 0xffff ? count_ : 0xffff, 2);  // 65535: "count unknown, walk the entries"
  out += entries_;
  out.push_back(static_cast<char>(kLpEof));
  return out;
}

Result<std::vector<std::string>> listpack_elements(std::string_view lp) {
  const std::size_t size = lp.size();
  if (size < ListpackWriter::kHeaderSize + 1) return lp_bad(0, fmt::format("{} bytes is shorter than a header", size));
  if (read_le(lp, 0, 4) != size) return lp_bad(0, fmt::format("header says {} bytes, blob has {}", read_le(lp, 0, 4), size));
  if (static_cast<unsigned char>(lp[size - 1]) != kLpEof) return lp_bad(size - 1, "no terminator");
  const std::uint64_t header_count = read_le(lp, 4, 2);
  const std::size_t last = size - 1;  // position of the terminator: no entry byte may reach it
  std::vector<std::string> out;
  std::size_t p = ListpackWriter::kHeaderSize;
  while (static_cast<unsigned char>(lp[p]) != kLpEof) {
    const auto b = static_cast<unsigned char>(lp[p]);
    std::size_t header = 0;       // encoding + length bytes
    std::uint64_t data_len = 0;   // string bytes, or integer bytes after the encoding byte
    bool is_string = false;
    unsigned int_bits = 0;
    if ((b & 0x80) == 0) {
      header = 1;  // 7-bit unsigned, value in the byte
    } else if ((b & 0xc0) == 0x80) {
      header = 1, is_string = true, data_len = b & 0x3f;
    } else if ((b & 0xe0) == 0xc0) {
      header = 1, data_len = 1, int_bits = 13;
    } else if ((b & 0xf0) == 0xe0) {
      if (p + 2 > last) return lp_bad(p, "12-bit string length past the end");
      header = 2, is_string = true, data_len = (static_cast<std::uint64_t>(b & 0x0f) << 8) | static_cast<unsigned char>(lp[p + 1]);
    } else if (b == 0xf0) {
      if (p + 5 > last) return lp_bad(p, "32-bit string length past the end");
      header = 5, is_string = true, data_len = read_le(lp, p + 1, 4);
    } else if (b == 0xf1) {
      header = 1, data_len = 2, int_bits = 16;
    } else if (b == 0xf2) {
      header = 1, data_len = 3, int_bits = 24;
    } else if (b == 0xf3) {
      header = 1, data_len = 4, int_bits = 32;
    } else if (b == 0xf4) {
      header = 1, data_len = 8, int_bits = 64;
    } else {
      return lp_bad(p, fmt::format("invalid entry encoding 0x{:02x}", b));
    }
    const std::uint64_t entry_len = header + data_len;
    const std::string backlen = encode_backlen(entry_len);
    if (entry_len + backlen.size() > last - p) return lp_bad(p, "entry runs past the end");
    const std::size_t data_at = p + header;
    const std::size_t next = p + static_cast<std::size_t>(entry_len) + backlen.size();
    if (lp.substr(p + static_cast<std::size_t>(entry_len), backlen.size()) != backlen)
      return lp_bad(p, "entry's back length does not match its size");
    if (is_string) {
      out.emplace_back(lp.substr(data_at, static_cast<std::size_t>(data_len)));
    } else if (int_bits == 0) {
      out.push_back(std::to_string(b & 0x7f));
    } else if (int_bits == 13) {
      const std::uint64_t u = (static_cast<std::uint64_t>(b & 0x1f) << 8) | static_cast<unsigned char>(lp[p + 1]);
      out.push_back(std::to_string(sign_extend(u, 13)));
    } else {
      out.push_back(std::to_string(sign_extend(read_le(lp, data_at, static_cast<std::size_t>(data_len)), int_bits)));
    }
    p = next;
  }
  if (p != last) return lp_bad(p, "terminator before the end");
  if (header_count != 0xffff && header_count != out.size())
    return lp_bad(4, fmt::format("header counts {} elements, found {}", header_count, out.size()));
  return out;
}

Result<std::vector<std::string>> ziplist_elements(std::string_view zl) {
  constexpr std::size_t kHeader = 10;
  const std::size_t size = zl.size();
  if (size < kHeader + 1) return zl_bad(0, fmt::format("{} bytes is shorter than a header", size));
  if (read_le(zl, 0, 4) != size) return zl_bad(0, fmt::format("header says {} bytes, blob has {}", read_le(zl, 0, 4), size));
  if (static_cast<unsigned char>(zl[size - 1]) != 0xff) return zl_bad(size - 1, "no terminator");
  const std::uint64_t tail = read_le(zl, 4, 4);
  if (tail > size - 1) return zl_bad(4, "tail offset past the end");
  const std::uint64_t header_count = read_le(zl, 8, 2);
  const std::size_t last = size - 1;  // the terminator
  std::vector<std::string> out;
  std::size_t p = kHeader;
  std::size_t prev_raw = 0;
  std::optional<std::size_t> prev_at;
  while (static_cast<unsigned char>(zl[p]) != 0xff) {
    // <prevlen>
    std::size_t prevlen_size = static_cast<unsigned char>(zl[p]) < 254 ? 1 : 5;
    if (p + prevlen_size > last) return zl_bad(p, "previous-length field past the end");
    const std::uint64_t prevlen = prevlen_size == 1 ? static_cast<unsigned char>(zl[p]) : read_le(zl, p + 1, 4);
    if (prevlen != prev_raw) return zl_bad(p, fmt::format("previous length {} but the previous entry has {} bytes", prevlen, prev_raw));
    // <encoding>
    const std::size_t e = p + prevlen_size;
    const auto b = static_cast<unsigned char>(zl[e]);
    std::size_t enc_size = 0;
    std::uint64_t data_len = 0;
    bool is_string = false;
    unsigned int_bits = 0;
    std::int64_t immediate = -1;
    if (b < 0xc0) {
      is_string = true;
      const unsigned kind = b >> 6;
      enc_size = kind == 0 ? 1 : kind == 1 ? 2 : 5;
      if (e + enc_size > last) return zl_bad(p, "string length past the end");
      if (kind == 0) {
        data_len = b & 0x3f;
      } else if (kind == 1) {
        data_len = (static_cast<std::uint64_t>(b & 0x3f) << 8) | static_cast<unsigned char>(zl[e + 1]);
      } else {
        // The low 6 bits of a 32-bit string length byte are unused (Redis ignores them too).
        for (std::size_t i = 1; i <= 4; ++i) data_len = (data_len << 8) | static_cast<unsigned char>(zl[e + i]);  // big endian
      }
    } else {
      enc_size = 1;
      switch (b) {
        case 0xc0: int_bits = 16; break;
        case 0xd0: int_bits = 32; break;
        case 0xe0: int_bits = 64; break;
        case 0xf0: int_bits = 24; break;
        case 0xfe: int_bits = 8; break;
        default:
          if (b >= 0xf1 && b <= 0xfd) {
            immediate = (b & 0x0f) - 1;
          } else {
            return zl_bad(p, fmt::format("invalid entry encoding 0x{:02x}", b));
          }
      }
      data_len = int_bits / 8;
    }
    const std::size_t head = prevlen_size + enc_size;
    if (data_len > last - p - head) return zl_bad(p, "entry runs past the end");
    const std::size_t data_at = p + head;
    if (is_string) {
      out.emplace_back(zl.substr(data_at, static_cast<std::size_t>(data_len)));
    } else if (immediate >= 0) {
      out.push_back(std::to_string(immediate));
    } else {
      out.push_back(std::to_string(sign_extend(read_le(zl, data_at, static_cast<std::size_t>(data_len)), int_bits)));
    }
    prev_raw = head + static_cast<std::size_t>(data_len);
    prev_at = p;
    p += prev_raw;
  }
  if (prev_at && *prev_at != tail) return zl_bad(4, fmt::format("tail offset {} but the last entry is at {}", tail, *prev_at));
  if (header_count != 0xffff && header_count != out.size())
    return zl_bad(8, fmt::format("header counts {} elements, found {}", header_count, out.size()));
  return out;
}

}  // namespace slotlab::rdb
