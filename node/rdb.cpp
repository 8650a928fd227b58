// RDB v10 frame and primitive encodings (see rdb.hpp).
#include "node/rdb.hpp"

#include <optional>

#include <fmt/format.h>

#include "node/crc.hpp"
#include "node/strings.hpp"

namespace slotlab::rdb {

namespace {
constexpr std::uint8_t kLen6 = 0;
constexpr std::uint8_t kLen14 = 1;
constexpr std::uint8_t kLen32 = 0x80;
constexpr std::uint8_t kLen64 = 0x81;
constexpr std::uint8_t kEncVal = 3;
constexpr std::uint8_t kEncInt8 = 0, kEncInt16 = 1, kEncInt32 = 2, kEncLzf = 3;

Error bad(std::size_t pos, std::string what) {
  return make_error(Errc::protocol, fmt::format("RDB: {} at byte {}", what, pos));
}
}  // namespace

void put_length(std::string& out, std::uint64_t len) {
  if (len < (1u << 6)) {
    out.push_back(static_cast<char>((kLen6 << 6) | len));
  } else if (len < (1u << 14)) {
    out.push_back(static_cast<char>((kLen14 << 6) | ((len >> 8) & 0x3f)));
    out.push_back(static_cast<char>(len & 0xff));
  } else if (len <= UINT32_MAX) {
    out.push_back(static_cast<char>(kLen32));
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  } else {
    out.push_back(static_cast<char>(kLen64));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  }
}

void put_string(std::string& out, std::string_view s) {
  // rdbTryIntegerEncoding: strings of up to 11 chars that are canonical integers fitting 32 bits.
  if (s.size() <= 11) {
    if (auto v = parse_ll(s); v && *v >= INT32_MIN && *v <= INT32_MAX) {
      std::int64_t x = *v;
      if (x >= INT8_MIN && x <= INT8_MAX) {
        out.push_back(static_cast<char>((kEncVal << 6) | kEncInt8));
        out.push_back(static_cast<char>(static_cast<std::uint8_t>(x)));
      } else if (x >= INT16_MIN && x <= INT16_MAX) {
        out.push_back(static_cast<char>((kEncVal << 6) | kEncInt16));
        auto u = static_cast<std::uint16_t>(x);
        out.push_back(static_cast<char>(u & 0xff));
        out.push_back(static_cast<char>(u >> 8));
      } else {
        out.push_back(static_cast<char>((kEncVal << 6) | kEncInt32));
        auto u = static_cast<std::uint32_t>(x);
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
      }
      return;
    }
  }
  put_length(out, s.size());
  out.append(s);
}

Result<std::uint8_t> Reader::byte() {
  if (pos_ >= data_.size()) return bad(pos_, "unexpected end of data");
  return static_cast<std::uint8_t>(data_[pos_++]);
}

Result<std::string_view> Reader::bytes(std::size_t n) {
  if (n > data_.size() - pos_) return bad(pos_, fmt::format("{} bytes expected, {} left", n, data_.size() - pos_));
  std::string_view v = data_.substr(pos_, n);
  pos_ += n;
  return v;
}

Result<std::uint64_t> Reader::length(bool* encoded) {
  if (encoded != nullptr) *encoded = false;
  auto b = byte();
  if (!b) return b.error();
  std::uint8_t type = static_cast<std::uint8_t>((*b & 0xc0) >> 6);
  if (type == kEncVal) {
    if (encoded == nullptr) return bad(pos_ - 1, "encoded value where a length was expected");
    *encoded = true;
    return static_cast<std::uint64_t>(*b & 0x3f);
  }
  if (type == kLen6) return static_cast<std::uint64_t>(*b & 0x3f);
  if (type == kLen14) {
    auto b2 = byte();
    if (!b2) return b2.error();
    return static_cast<std::uint64_t>(((*b & 0x3f) << 8) | *b2);
  }
  if (*b == kLen32 || *b == kLen64) {
    int n = *b == kLen32 ? 4 : 8;
    auto raw = bytes(static_cast<std::size_t>(n));
    if (!raw) return raw.error();
    std::uint64_t v = 0;
    for (char c : *raw) v = (v << 8) | static_cast<unsigned char>(c);
    return v;
  }
  return bad(pos_ - 1, fmt::format("unknown length encoding 0x{:02x}", *b));
}

Result<std::string> Reader::string() {
  bool encoded = false;
  auto len = length(&encoded);
  if (!len) return len.error();
  if (encoded) {
    switch (*len) {
      case kEncInt8: {
        auto b = bytes(1);
        if (!b) return b.error();
        return std::to_string(static_cast<std::int8_t>((*b)[0]));
      }
      case kEncInt16: {
        auto b = bytes(2);
        if (!b) return b.error();
        auto v = static_cast<std::int16_t>(static_cast<unsigned char>((*b)[0]) | (static_cast<unsigned char>((*b)[1]) << 8));
        return std::to_string(v);
      }
      case kEncInt32: {
        auto b = bytes(4);
        if (!b) return b.error();
        std::uint32_t u = 0;
        for (int i = 3; i >= 0; --i) u = (u << 8) | static_cast<unsigned char>((*b)[static_cast<std::size_t>(i)]);
        return std::to_string(static_cast<std::int32_t>(u));
      }
      case kEncLzf: {
        auto clen = length();
        if (!clen) return clen.error();
        auto ulen = length();
        if (!ulen) return ulen.error();
        if (*ulen > (1ull << 32)) return bad(pos_, "LZF string too long");
        auto comp = bytes(*clen);
        if (!comp) return comp.error();
        return lzf_decompress(*comp, *ulen);
      }
      default:
        return bad(pos_, fmt::format("unknown string encoding {}", *len));
    }
  }
  auto raw = bytes(*len);
  if (!raw) return raw.error();
  return std::string(*raw);
}

Result<std::string> lzf_decompress(std::string_view in, std::size_t out_len) {
  std::string out;
  out.reserve(out_len);
  std::size_t ip = 0;
  while (ip < in.size()) {
    unsigned ctrl = static_cast<unsigned char>(in[ip++]);
    if (ctrl < (1 << 5)) {
      std::size_t run = ctrl + 1;
      if (ip + run > in.size() || out.size() + run > out_len)
        return make_error(Errc::protocol, "RDB: corrupt LZF literal run");
      out.append(in.substr(ip, run));
      ip += run;
    } else {
      std::size_t len = ctrl >> 5;
      if (len == 7) {
        if (ip >= in.size()) return make_error(Errc::protocol, "RDB: corrupt LZF back reference");
        len += static_cast<unsigned char>(in[ip++]);
      }
      if (ip >= in.size()) return make_error(Errc::protocol, "RDB: corrupt LZF back reference");
      std::size_t back = ((ctrl & 0x1f) << 8) + static_cast<unsigned char>(in[ip++]) + 1;
      len += 2;
      if (back > out.size() || out.size() + len > out_len)
        return make_error(Errc::protocol, "RDB: corrupt LZF back reference");
      std::size_t from = out.size() - back;
      for (std::size_t i = 0; i < len; ++i) out.push_back(out[from + i]);
    }
  }
  if (out.size() != out_len) return make_error(Errc::protocol, "RDB: LZF length mismatch");
  return out;
}

std::string encode_empty(const std::vector<std::pair<std::string, std::string>>& aux) {
  std::string out = fmt::format("REDIS{:04d}", kVersion);
  for (const auto& [k, v] : aux) {
    out.push_back(static_cast<char>(kOpAux));
    put_string(out, k);
    put_string(out, v);
  }
  out.push_back(static_cast<char>(kOpEof));
  std::uint64_t crc = crc64_jones(0, out);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return out;
}

Result<Decoded> decode(std::string_view payload) {
  if (payload.size() < 9 || payload.substr(0, 5) != "REDIS") return bad(0, "wrong signature trying to load DB");
  std::optional<int> ver;
  {
    int v = 0;
    bool digits = true;
    for (char c : payload.substr(5, 4)) {
      if (c < '0' || c > '9') digits = false;
      v = v * 10 + (c - '0');
    }
    if (digits) ver = v;
  }
  if (!ver || *ver < 1 || *ver > kVersion) return bad(5, fmt::format("can't handle RDB format version {}", payload.substr(5, 4)));
  Reader r(payload);
  (void)r.bytes(9);
  Decoded out;
  while (true) {
    auto op = r.byte();
    if (!op) return op.error();
    if (*op == kOpEof) break;
    switch (*op) {
      case kOpAux: {
        auto k = r.string();
        if (!k) return k.error();
        auto v = r.string();
        if (!v) return v.error();
        out.aux.emplace_back(std::move(*k), std::move(*v));
        break;
      }
      case kOpSelectDb: {
        auto db = r.length();
        if (!db) return db.error();
        break;
      }
      case kOpResizeDb: {
        auto a = r.length();
        if (!a) return a.error();
        auto b = r.length();
        if (!b) return b.error();
        break;
      }
      case kOpFunction2: {
        auto f = r.string();  // a function library's code; slotlab has no functions to load
        if (!f) return f.error();
        break;
      }
      default:
        return bad(r.pos() - 1, fmt::format("value type {} is not supported by this build (no keyspace yet)", *op));
    }
  }
  std::size_t body_end = r.pos();
  if (*ver >= 5) {
    auto tail = r.bytes(8);
    if (!tail) return tail.error();
    std::uint64_t expected = 0;
    for (int i = 7; i >= 0; --i) expected = (expected << 8) | static_cast<unsigned char>((*tail)[static_cast<std::size_t>(i)]);
    std::uint64_t actual = crc64_jones(0, payload.substr(0, body_end));
    if (expected != 0 && expected != actual) return bad(body_end, "wrong RDB checksum");
  }
  return out;
}

}  // namespace slotlab::rdb
