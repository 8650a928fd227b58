// RDB v10 primitives, values, whole files and DUMP payloads (see rdb.hpp).
#include "node/rdb.hpp"

#include <fmt/format.h>

#include "node/crc.hpp"
#include "node/rdb_packed.hpp"
#include "node/strings.hpp"

namespace slotlab::rdb {

namespace {
constexpr std::uint8_t kLen6 = 0;
constexpr std::uint8_t kLen14 = 1;
constexpr std::uint8_t kLen32 = 0x80;
constexpr std::uint8_t kLen64 = 0x81;
constexpr std::uint8_t kEncVal = 3;
constexpr std::uint8_t kEncInt8 = 0, kEncInt16 = 1, kEncInt32 = 2, kEncLzf = 3;
constexpr std::uint64_t kQuicklistPlain = 1, kQuicklistPacked = 2;  // QUICKLIST_NODE_CONTAINER_*
constexpr std::size_t kListpackEntryOverhead = 8;                    // SIZE_ESTIMATE_OVERHEAD

Error bad(std::size_t pos, const std::string& what) {
  return make_error(Errc::protocol, fmt::format("RDB: {} at byte {}", what, pos));
}

// An error from a packed blob (listpack/ziplist/LZF), placed at the blob's offset in the stream.
Error bad_blob(std::size_t pos, const Error& inner) {
  return make_error(Errc::protocol, fmt::format("RDB: {} (in the value blob at byte {})", inner.message, pos));
}

void put_le(std::string& out, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_crc(std::string& out, std::uint64_t crc) { put_le(out, crc, 8); }

std::uint64_t get_le(std::string_view s) {
  std::uint64_t v = 0;
  for (std::size_t i = s.size(); i-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

bool equals_aux(std::string_view a, std::string_view b) { return equals_nocase(a, b); }

// strtoll(v, NULL, 10) as rdbLoad reads numeric AUX fields: leading sign and digits, 0 if none.
std::int64_t parse_aux_int(std::string_view v) {
  std::size_t i = 0;
  while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
  bool negative = false;
  if (i < v.size() && (v[i] == '-' || v[i] == '+')) negative = v[i++] == '-';
  std::int64_t x = 0;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
    const int d = v[i] - '0';
    if (x > (INT64_MAX - d) / 10) return negative ? INT64_MIN : INT64_MAX;
    x = x * 10 + d;
  }
  return negative ? -x : x;
}

bool is_supported_type(std::uint8_t type) {
  switch (type) {
    case kTypeString:
    case kTypeList:
    case kTypeHash:
    case kTypeListZiplist:
    case kTypeHashZiplist:
    case kTypeListQuicklist:
    case kTypeHashListpack:
    case kTypeListQuicklist2:
      return true;
    default:
      return false;
  }
}

bool is_empty_container(const Value& v) {
  return (v.type == ValueType::list && v.list.empty()) || (v.type == ValueType::hash && v.hash.empty());
}

bool hash_fits_listpack(const Value& v) {
  if (v.hash.size() > kHashMaxListpackEntries) return false;
  for (const auto& [f, val] : v.hash)
    if (f.size() > kHashMaxListpackValue || val.size() > kHashMaxListpackValue) return false;
  return true;
}

// Reads a packed blob (a string) and returns its elements, decoded by `parse`.
template <class Parse>
Result<std::vector<std::string>> read_packed(Reader& r, Parse parse) {
  const std::size_t at = r.pos();
  auto blob = r.string();
  if (!blob) return blob.error();
  auto elems = parse(*blob);
  if (!elems) return bad_blob(at, elems.error());
  return elems;
}

Result<Value> hash_from_pairs(std::vector<std::string>&& elems, std::size_t at) {
  if (elems.size() % 2 != 0) return bad(at, fmt::format("hash blob has an odd number of elements ({})", elems.size()));
  Value v;
  v.type = ValueType::hash;
  for (std::size_t i = 0; i < elems.size(); i += 2)
    if (!v.hset(std::move(elems[i]), std::move(elems[i + 1]))) return bad(at, "hash with duplicate fields");
  return v;
}
}  // namespace

bool is_object_type(std::uint8_t type) { return type <= 7 || (type >= 9 && type <= 19); }

const char* object_type_name(std::uint8_t type) {
  switch (type) {
    case kTypeString: return "string";
    case kTypeList: return "list";
    case kTypeSet: return "set";
    case kTypeZset: return "zset";
    case kTypeHash: return "hash";
    case kTypeZset2: return "zset-2";
    case kTypeModule: return "module";
    case kTypeModule2: return "module-2";
    case kTypeHashZipmap: return "hash-zipmap";
    case kTypeListZiplist: return "list-ziplist";
    case kTypeSetIntset: return "set-intset";
    case kTypeZsetZiplist: return "zset-ziplist";
    case kTypeHashZiplist: return "hash-ziplist";
    case kTypeListQuicklist: return "list-quicklist";
    case kTypeStreamListpacks: return "stream";
    case kTypeHashListpack: return "hash-listpack";
    case kTypeZsetListpack: return "zset-listpack";
    case kTypeListQuicklist2: return "list-quicklist-2";
    case kTypeStreamListpacks2: return "stream-2";
    default: return "unknown";
  }
}

// --- primitives ---

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

void put_string(std::string& out, std::string_view s, bool compress) {
  // rdbTryIntegerEncoding: canonical integers of up to 11 chars that fit 32 bits.
  if (s.size() <= 11) {
    if (auto v = canonical_int64(s); v && *v >= INT32_MIN && *v <= INT32_MAX) {
      const std::int64_t x = *v;
      if (x >= INT8_MIN && x <= INT8_MAX) {
        out.push_back(static_cast<char>((kEncVal << 6) | kEncInt8));
        put_le(out, static_cast<std::uint64_t>(x), 1);
      } else if (x >= INT16_MIN && x <= INT16_MAX) {
        out.push_back(static_cast<char>((kEncVal << 6) | kEncInt16));
        put_le(out, static_cast<std::uint64_t>(x), 2);
      } else {
        out.push_back(static_cast<char>((kEncVal << 6) | kEncInt32));
        put_le(out, static_cast<std::uint64_t>(x), 4);
      }
      return;
    }
  }
  // rdbSaveLzfStringObject: under 21 bytes LZF cannot win; it must save at least 4 bytes.
  if (compress && s.size() > 20) {
    if (auto packed = lzf_compress(s, s.size() - 4)) {
      out.push_back(static_cast<char>((kEncVal << 6) | kEncLzf));
      put_length(out, packed->size());
      put_length(out, s.size());
      out += *packed;
      return;
    }
  }
  put_length(out, s.size());
  out.append(s);
}

void put_millis(std::string& out, std::int64_t ms) { put_le(out, static_cast<std::uint64_t>(ms), 8); }

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
  const auto type = static_cast<std::uint8_t>((*b & 0xc0) >> 6);
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
    auto raw = bytes(*b == kLen32 ? 4 : 8);
    if (!raw) return raw.error();
    std::uint64_t v = 0;
    for (char c : *raw) v = (v << 8) | static_cast<unsigned char>(c);  // big endian
    return v;
  }
  return bad(pos_ - 1, fmt::format("unknown length encoding 0x{:02x}", *b));
}

Result<std::string> Reader::string() {
  const std::size_t start = pos_;
  bool encoded = false;
  auto len = length(&encoded);
  if (!len) return len.error();
  if (!encoded) {
    auto raw = bytes(*len);
    if (!raw) return raw.error();
    return std::string(*raw);
  }
  switch (*len) {
    case kEncInt8:
    case kEncInt16:
    case kEncInt32: {
      const std::size_t n = *len == kEncInt8 ? 1 : *len == kEncInt16 ? 2 : 4;
      auto b = bytes(n);
      if (!b) return b.error();
      const std::uint64_t u = get_le(*b);
      const std::int64_t v = n == 1   ? static_cast<std::int8_t>(u)
                             : n == 2 ? static_cast<std::int16_t>(u)
                                      : static_cast<std::int32_t>(u);
      return std::to_string(v);
    }
    case kEncLzf: {
      auto clen = length();
      if (!clen) return clen.error();
      auto ulen = length();
      if (!ulen) return ulen.error();
      auto comp = bytes(*clen);
      if (!comp) return comp.error();
      auto out = lzf_decompress(*comp, *ulen);
      if (!out) return bad(start, out.error().message);
      return out;
    }
    default:
      return bad(start, fmt::format("unknown string encoding {}", *len));
  }
}

Result<std::int64_t> Reader::millis() {
  auto b = bytes(8);
  if (!b) return b.error();
  return static_cast<std::int64_t>(get_le(*b));
}

Result<std::int64_t> Reader::seconds() {
  auto b = bytes(4);
  if (!b) return b.error();
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(get_le(*b)));
}

// --- values ---

std::uint8_t object_type(const Value& v) {
  switch (v.type) {
    case ValueType::string: return kTypeString;
    case ValueType::list: return kTypeListQuicklist2;
    case ValueType::hash: return hash_fits_listpack(v) ? kTypeHashListpack : kTypeHash;
  }
  return kTypeString;
}

void encode_value(std::string& out, const Value& v, bool compress) {
  switch (object_type(v)) {
    case kTypeString:
      put_string(out, v.str, compress);
      return;
    case kTypeListQuicklist2: {
      // quicklistPushTail with list-max-listpack-size -2: a node takes another element while its
      // listpack stays within 8 KB (counting 8 bytes of entry overhead); elements of 1 GB and
      // more get a PLAIN node of their own.
      std::vector<std::pair<std::uint64_t, std::string>> nodes;
      ListpackWriter node;
      auto flush = [&] {
        if (node.count() > 0) nodes.emplace_back(kQuicklistPacked, node.finish());
        node = ListpackWriter{};
      };
      for (const auto& e : v.list) {
        if (e.size() >= kListPlainNodeBytes) {
          flush();
          nodes.emplace_back(kQuicklistPlain, e);
          continue;
        }
        if (node.count() > 0 && node.total_bytes() + e.size() + kListpackEntryOverhead > kListMaxListpackBytes) flush();
        node.append(e);
      }
      flush();
      put_length(out, nodes.size());
      for (const auto& [container, blob] : nodes) {
        put_length(out, container);
        put_string(out, blob, compress);
      }
      return;
    }
    case kTypeHashListpack: {
      ListpackWriter lp;
      for (const auto& [f, val] : v.hash) {
        lp.append(f);
        lp.append(val);
      }
      put_string(out, lp.finish(), compress);
      return;
    }
    default: {  // kTypeHash
      put_length(out, v.hash.size());
      for (const auto& [f, val] : v.hash) {
        put_string(out, f, compress);
        put_string(out, val, compress);
      }
      return;
    }
  }
}

Result<Value> decode_value(Reader& r, std::uint8_t type) {
  const std::size_t start = r.pos();
  switch (type) {
    case kTypeString: {
      auto s = r.string();
      if (!s) return s.error();
      return Value::make_string(std::move(*s));
    }
    case kTypeList: {
      auto n = r.length();
      if (!n) return n.error();
      Value v;
      v.type = ValueType::list;
      for (std::uint64_t i = 0; i < *n; ++i) {  // every element takes >= 1 byte: bounded by the input
        auto s = r.string();
        if (!s) return s.error();
        v.list.push_back(std::move(*s));
      }
      return v;
    }
    case kTypeHash: {
      auto n = r.length();
      if (!n) return n.error();
      Value v;
      v.type = ValueType::hash;
      for (std::uint64_t i = 0; i < *n; ++i) {
        const std::size_t at = r.pos();
        auto f = r.string();
        if (!f) return f.error();
        auto val = r.string();
        if (!val) return val.error();
        if (!v.hset(std::move(*f), std::move(*val))) return bad(at, "duplicate hash field");
      }
      return v;
    }
    case kTypeListQuicklist:
    case kTypeListQuicklist2: {
      auto n = r.length();
      if (!n) return n.error();
      Value v;
      v.type = ValueType::list;
      for (std::uint64_t i = 0; i < *n; ++i) {
        std::uint64_t container = kQuicklistPacked;
        if (type == kTypeListQuicklist2) {
          const std::size_t at = r.pos();
          auto c = r.length();
          if (!c) return c.error();
          if (*c != kQuicklistPacked && *c != kQuicklistPlain) return bad(at, fmt::format("quicklist node container {} is neither PLAIN nor PACKED", *c));
          container = *c;
        }
        const std::size_t at = r.pos();
        auto blob = r.string();
        if (!blob) return blob.error();
        if (blob->empty()) return bad(at, "empty quicklist node");
        if (container == kQuicklistPlain) {
          v.list.push_back(std::move(*blob));
          continue;
        }
        auto elems = type == kTypeListQuicklist2 ? listpack_elements(*blob) : ziplist_elements(*blob);
        if (!elems) return bad_blob(at, elems.error());
        for (auto& e : *elems) v.list.push_back(std::move(e));  // empty nodes are skipped, as Redis does
      }
      return v;
    }
    case kTypeListZiplist: {
      auto elems = read_packed(r, ziplist_elements);
      if (!elems) return elems.error();
      Value v;
      v.type = ValueType::list;
      for (auto& e : *elems) v.list.push_back(std::move(e));
      return v;
    }
    case kTypeHashZiplist:
    case kTypeHashListpack: {
      auto elems = type == kTypeHashListpack ? read_packed(r, listpack_elements) : read_packed(r, ziplist_elements);
      if (!elems) return elems.error();
      return hash_from_pairs(std::move(*elems), start);
    }
    default:
      if (is_object_type(type))
        return make_error(Errc::invalid_argument,
                          fmt::format("RDB: value type {} ({}) is not supported (slotlab holds strings, lists and hashes) at byte {}",
                                      type, object_type_name(type), start));
      return bad(start, fmt::format("unknown value type {}", type));
  }
}

// --- whole files ---

std::vector<std::pair<std::string, std::string>> standard_aux(const AuxInfo& info) {
  std::vector<std::pair<std::string, std::string>> aux;
  aux.emplace_back("redis-ver", info.redis_ver);
  aux.emplace_back("redis-bits", std::to_string(info.redis_bits));
  aux.emplace_back("ctime", std::to_string(info.ctime_s));
  aux.emplace_back("used-mem", std::to_string(info.used_mem));
  if (info.replication) {
    aux.emplace_back("repl-stream-db", std::to_string(info.replication->stream_db));
    aux.emplace_back("repl-id", info.replication->replid);
    aux.emplace_back("repl-offset", std::to_string(info.replication->offset));
  }
  aux.emplace_back("aof-base", info.aof_base ? "1" : "0");
  return aux;
}

std::string encode_dataset(const std::vector<const Keyspace*>& dbs,
                           const std::vector<std::pair<std::string, std::string>>& aux, bool compress, bool checksum) {
  std::string out = fmt::format("REDIS{:04d}", kVersion);
  for (const auto& [k, v] : aux) {
    out.push_back(static_cast<char>(kOpAux));
    put_string(out, k, compress);
    put_string(out, v, compress);
  }
  for (std::size_t i = 0; i < dbs.size(); ++i) {
    const Keyspace* ks = dbs[i];
    if (ks == nullptr || ks->size() == 0) continue;
    out.push_back(static_cast<char>(kOpSelectDb));
    put_length(out, i);
    out.push_back(static_cast<char>(kOpResizeDb));
    put_length(out, ks->size());
    put_length(out, ks->expires_count());
    ks->for_each([&](const std::string& key, const KeyEntry& e) {
      if (is_empty_container(e.value)) return true;  // Redis never holds one; it would skip it on load
      if (e.expire_ms >= 0) {
        out.push_back(static_cast<char>(kOpExpireTimeMs));
        put_millis(out, e.expire_ms);
      }
      out.push_back(static_cast<char>(object_type(e.value)));
      put_string(out, key, compress);
      encode_value(out, e.value, compress);
      return true;
    });
  }
  out.push_back(static_cast<char>(kOpEof));
  put_crc(out, checksum ? crc64_jones(0, out) : 0);
  return out;
}

std::string encode_empty(const std::vector<std::pair<std::string, std::string>>& aux) {
  return encode_dataset({}, aux, false);
}

Result<LoadedDataset> decode_dataset(std::string_view payload, const std::vector<Keyspace*>& dbs, const LoadOptions& opts) {
  if (payload.size() < 9 || payload.substr(0, 5) != "REDIS") return bad(0, "wrong signature trying to load DB");
  int ver = 0;
  for (char c : payload.substr(5, 4)) {
    if (c < '0' || c > '9') return bad(5, fmt::format("can't handle RDB format version '{}'", payload.substr(5, 4)));
    ver = ver * 10 + (c - '0');
  }
  if (ver < 1 || ver > kVersion) return bad(5, fmt::format("can't handle RDB format version {}", ver));
  Reader r(payload);
  (void)r.bytes(9);
  LoadedDataset out;
  out.version = ver;
  std::uint64_t dbid = 0;
  Millis expire_ms = -1;  // set by an EXPIRETIME opcode for the next key only
  while (true) {
    const std::size_t op_at = r.pos();
    auto op = r.byte();
    if (!op) return op.error();
    if (*op == kOpEof) break;
    switch (*op) {
      case kOpExpireTime: {
        auto s = r.seconds();
        if (!s) return s.error();
        expire_ms = *s * 1000;
        continue;
      }
      case kOpExpireTimeMs: {
        auto ms = r.millis();
        if (!ms) return ms.error();
        expire_ms = *ms;
        continue;
      }
      case kOpFreq: {
        auto f = r.byte();  // LFU counter: slotlab has no eviction
        if (!f) return f.error();
        continue;
      }
      case kOpIdle: {
        auto idle = r.length();  // LRU idle seconds: slotlab has no eviction
        if (!idle) return idle.error();
        continue;
      }
      case kOpSelectDb: {
        auto db = r.length();
        if (!db) return db.error();
        if (!dbs.empty() && *db >= dbs.size())
          return make_error(Errc::invalid_argument,
                            fmt::format("RDB: SELECTDB {} at byte {}, but this node has {} databases", *db, op_at, dbs.size()));
        dbid = *db;
        continue;
      }
      case kOpResizeDb: {
        auto a = r.length();
        if (!a) return a.error();
        auto b = r.length();
        if (!b) return b.error();
        continue;
      }
      case kOpAux: {
        auto k = r.string();
        if (!k) return k.error();
        auto v = r.string();
        if (!v) return v.error();
        if (equals_aux(*k, "repl-id") && v->size() == 40) out.repl_id = *v;
        if (equals_aux(*k, "repl-offset")) out.repl_offset = parse_aux_int(*v);
        if (equals_aux(*k, "repl-stream-db")) out.repl_stream_db = static_cast<int>(parse_aux_int(*v));
        if (equals_aux(*k, "aof-base")) out.aof_base = parse_aux_int(*v) != 0;
        out.aux.emplace_back(std::move(*k), std::move(*v));
        continue;
      }
      case kOpFunction2: {
        auto code = r.string();  // a function library's source; slotlab has no functions to load
        if (!code) return code.error();
        ++out.functions_skipped;
        continue;
      }
      case kOpFunction:
        return make_error(Errc::invalid_argument, fmt::format("RDB: pre-release FUNCTION opcode at byte {} is not supported", op_at));
      case kOpModuleAux:
        return make_error(Errc::invalid_argument, fmt::format("RDB: module AUX data at byte {} is not supported (slotlab loads no modules)", op_at));
      default:
        break;
    }
    // A key: <type> <key> <value>.
    const std::uint8_t type = *op;
    if (!is_object_type(type)) return bad(op_at, fmt::format("unknown opcode or value type {}", type));
    auto key = r.string();
    if (!key) return key.error();
    if (!is_supported_type(type))
      return make_error(Errc::invalid_argument,
                        fmt::format("RDB: key '{}' at byte {} has value type {} ({}), which slotlab does not support (strings, lists and hashes only)",
                                    *key, op_at, type, object_type_name(type)));
    auto value = decode_value(r, type);
    if (!value) return value.error();
    const Millis expire = expire_ms;
    expire_ms = -1;
    if (is_empty_container(*value)) {
      ++out.empty_keys_skipped;
      continue;
    }
    if (opts.drop_expired_before_ms >= 0 && expire >= 0 && expire < opts.drop_expired_before_ms) {
      ++out.keys_expired;
      continue;
    }
    if (!dbs.empty()) {
      Keyspace& ks = *dbs[static_cast<std::size_t>(dbid)];
      if (ks.find(*key) != nullptr)
        return make_error(Errc::invalid_argument, fmt::format("RDB: duplicated key '{}' in DB {} at byte {}", *key, dbid, op_at));
      KeyEntry& e = ks.set(*key, std::move(*value));
      if (expire >= 0) ks.set_expire(e, expire);
    }
    ++out.keys_loaded;
  }
  const std::size_t body_end = r.pos();
  if (ver >= 5) {
    auto tail = r.bytes(8);
    if (!tail) return tail.error();
    const std::uint64_t stored = get_le(*tail);
    out.checksum_present = stored != 0;
    if (opts.verify_checksum && stored != 0) {
      const std::uint64_t actual = crc64_jones(0, payload.substr(0, body_end));
      if (stored != actual)
        return bad(body_end, fmt::format("RDB CRC error: expected {:016x}, file says {:016x}", actual, stored));
    }
  }
  out.size = r.pos();
  return out;
}

Result<Decoded> decode(std::string_view payload) {
  auto loaded = decode_dataset(payload, {});
  if (!loaded) return loaded.error();
  return Decoded{std::move(loaded->aux), loaded->keys_loaded, loaded->size};
}

// --- DUMP / RESTORE ---

std::string dump_payload(const Value& value, bool compress) {
  std::string out;
  out.push_back(static_cast<char>(object_type(value)));
  encode_value(out, value, compress);
  put_le(out, static_cast<std::uint64_t>(kVersion), 2);
  put_crc(out, crc64_jones(0, out));
  return out;
}

Result<Value> restore_payload(std::string_view payload) {
  const Error wrong = make_error(Errc::invalid_argument, "ERR DUMP payload version or checksum are wrong");
  if (payload.size() < 10) return wrong;
  const std::size_t footer = payload.size() - 10;
  const std::uint64_t version = get_le(payload.substr(footer, 2));
  if (version > static_cast<std::uint64_t>(kVersion)) return wrong;
  if (get_le(payload.substr(footer + 2, 8)) != crc64_jones(0, payload.substr(0, footer + 2))) return wrong;
  const Error bad_format = make_error(Errc::invalid_argument, "ERR Bad data format");
  Reader r(payload.substr(0, footer));
  auto type = r.byte();
  if (!type || !is_object_type(*type)) return bad_format;
  if (!is_supported_type(*type))
    return make_error(Errc::invalid_argument, fmt::format("ERR Bad data format: value type {} ({}) is not supported by slotlab", *type, object_type_name(*type)));
  auto value = decode_value(r, *type);
  if (!value || is_empty_container(*value)) return bad_format;
  return value;
}

}  // namespace slotlab::rdb
