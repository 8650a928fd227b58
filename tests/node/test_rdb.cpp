// RDB values, whole files, DUMP payloads, LZF and the packed encodings: round trips, every
// encoding Redis 7.0 loads, corrupt input, a fuzz run, and the real Redis 7.0.15 tools as the
// reference (redis-check-rdb, redis-server loading our files and SAVing its own, DUMP/RESTORE).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>

#include "node/crc.hpp"
#include "node/keyspace.hpp"
#include "node/lzf.hpp"
#include "node/rdb.hpp"
#include "node/rdb_packed.hpp"
#include "tests/node/real_redis.hpp"

using namespace slotlab;
namespace real = slotlab::testing::real;

namespace {

// Deterministic randomness for tests (xorshift64; no <random>).
struct Xorshift {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  std::string bytes(std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>(next() & 0xff));
    return out;
  }
};

std::string unhex(std::string_view h) {
  std::string out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(nib(h[i]) * 16 + nib(h[i + 1])));
  return out;
}

Value make_list(std::vector<std::string> elems) {
  Value v;
  v.type = ValueType::list;
  for (auto& e : elems) v.list.push_back(std::move(e));
  return v;
}

Value make_hash(const std::vector<std::pair<std::string, std::string>>& pairs) {
  Value v;
  v.type = ValueType::hash;
  for (const auto& [f, val] : pairs) v.hset(f, val);
  return v;
}

// Compares values; hashes as field -> value maps (Redis's dict order is its own).
void require_same(const Value& a, const Value& b) {
  REQUIRE(static_cast<int>(a.type) == static_cast<int>(b.type));
  switch (a.type) {
    case ValueType::string:
      REQUIRE(a.str == b.str);
      break;
    case ValueType::list:
      REQUIRE(a.list == b.list);
      break;
    case ValueType::hash: {
      std::map<std::string, std::string> ma(a.hash.begin(), a.hash.end()), mb(b.hash.begin(), b.hash.end());
      REQUIRE(ma == mb);
      REQUIRE(a.hash.size() == b.hash.size());
      break;
    }
  }
}

Value round_trip(const Value& v, bool compress) {
  std::string body;
  rdb::encode_value(body, v, compress);
  rdb::Reader r(body);
  auto back = rdb::decode_value(r, rdb::object_type(v));
  REQUIRE(back);
  REQUIRE(r.at_end());
  return std::move(*back);
}

struct Databases {
  std::vector<std::unique_ptr<Keyspace>> owned;
  std::vector<Keyspace*> ptrs;
  explicit Databases(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      owned.push_back(std::make_unique<Keyspace>());
      ptrs.push_back(owned.back().get());
    }
  }
  Keyspace& operator[](std::size_t i) { return *owned[i]; }
  std::vector<const Keyspace*> cptrs() const { return {ptrs.begin(), ptrs.end()}; }
};

// Every element encoding a listpack has, and the backlen size boundaries.
std::vector<std::string> listpack_torture_elements() {
  std::vector<std::string> e{"0", "1", "127", "128", "-1", "-4096", "4095", "4096", "-4097", "-32768", "32767",
                             "32768", "-32769", "-8388608", "8388607", "8388608", "-8388609", "2147483647",
                             "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
                             "-9223372036854775808", "9223372036854775808", "-0", "007", "+1", " 1", "1 ", "",
                             "a", std::string(63, 'x'), std::string(64, 'y'), std::string(125, 'z'),
                             std::string(126, 'z'), std::string(4095, 'q'), std::string(4096, 'r'),
                             std::string(16377, 's'), std::string(16378, 't'), std::string(16379, 'u'),
                             std::string("bin\0ary\xff", 8)};
  return e;
}

}  // namespace

TEST_CASE("rdb: strings use Redis's integer encodings; non-canonical numbers stay strings", "[rdb]") {
  auto enc = [](std::string_view s) {
    std::string out;
    rdb::put_string(out, s);
    return out;
  };
  CHECK(enc("12") == std::string("\xc0\x0c", 2));
  CHECK(enc("-1") == std::string("\xc0\xff", 2));
  CHECK(enc("1000") == std::string("\xc1\xe8\x03", 3));
  CHECK(enc("100000") == std::string("\xc2\xa0\x86\x01\x00", 5));
  CHECK(enc("2147483648") == std::string("\x0a") + "2147483648");  // does not fit 32 bits
  CHECK(enc("-0") == std::string("\x02-0", 3));                      // string2ll rejects "-0"
  CHECK(enc("007") == std::string("\x03" "007", 4));
  CHECK(enc("+5") == std::string("\x02+5", 3));
  for (std::string s : {"0", "-128", "127", "-32768", "32767", "-2147483648", "2147483647", "-0", "01", "12345678901"}) {
    std::string out;
    rdb::put_string(out, s, true);
    rdb::Reader r(out);
    auto back = r.string();
    REQUIRE(back);
    CHECK(*back == s);
  }
  // Lengths: 6, 14, 32-bit forms.
  for (std::uint64_t n : {0ull, 63ull, 64ull, 16383ull, 16384ull, 4294967295ull, 4294967296ull}) {
    std::string out;
    rdb::put_length(out, n);
    rdb::Reader r(out);
    auto back = r.length();
    REQUIRE(back);
    CHECK(*back == n);
  }
}

TEST_CASE("rdb: LZF round trips; incompressible data is stored raw", "[rdb][lzf]") {
  Xorshift rng{0x1234567};
  std::vector<std::string> inputs{std::string(1, 'a'), std::string(21, 'a'), std::string(100000, 'z'),
                                  "abcabcabcabcabcabcabcabcabcabcabcabcabc"};
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "key:" + std::to_string(i * 7919 % 1000) + " ";
  inputs.push_back(text);
  for (std::size_t n : {1u, 2u, 3u, 31u, 32u, 33u, 1000u, 8191u, 8192u, 8193u, 70000u}) inputs.push_back(rng.bytes(n));
  std::string mixed;  // literals, near and far (>8 KB) repetitions
  for (int i = 0; i < 50; ++i) mixed += rng.bytes(rng.below(300)) + std::string(rng.below(400), 'm') + text.substr(0, rng.below(9000));
  inputs.push_back(mixed);
  for (const auto& in : inputs) {
    const std::size_t room = in.size() + in.size() / 32 + 16;  // worst case: all literals
    auto packed = rdb::lzf_compress(in, room);
    REQUIRE(packed);
    auto back = rdb::lzf_decompress(*packed, in.size());
    REQUIRE(back);
    REQUIRE(*back == in);
  }
  // Redis only compresses when it saves 4 bytes: random data does not.
  CHECK_FALSE(rdb::lzf_compress(rng.bytes(1000), 996));
  CHECK(rdb::lzf_compress(std::string(1000, 'a'), 996));
  CHECK_FALSE(rdb::lzf_compress("", 10));
  // put_string: compressible long strings get RDB_ENC_LZF, incompressible ones stay raw.
  std::string out;
  rdb::put_string(out, std::string(100, 'a'), true);
  CHECK(static_cast<unsigned char>(out[0]) == 0xc3);
  CHECK(out.size() < 20);
  out.clear();
  const std::string noise = rng.bytes(100);
  rdb::put_string(out, noise, true);
  CHECK(out == std::string("\x40\x64", 2) + noise);
  out.clear();
  rdb::put_string(out, std::string(20, 'a'), true);  // <= 20 bytes: never compressed
  CHECK(out.size() == 21);
}

TEST_CASE("rdb: LZF decompression refuses corrupt input", "[rdb][lzf]") {
  CHECK_FALSE(rdb::lzf_decompress(std::string("\x05" "abc", 4), 6));       // literal past the input
  CHECK_FALSE(rdb::lzf_decompress(std::string("\x02" "abc", 4), 2));       // literal past the output
  CHECK_FALSE(rdb::lzf_decompress(std::string("\x00" "a\x20\x05", 4), 4));  // reference before the start
  CHECK_FALSE(rdb::lzf_decompress(std::string("\x00" "a\x20", 3), 4));      // truncated reference
  CHECK_FALSE(rdb::lzf_decompress(std::string("\x00" "a\xe0", 3), 4));      // truncated long reference
  CHECK_FALSE(rdb::lzf_decompress(std::string("\x00" "a", 2), 2));          // too short
  CHECK_FALSE(rdb::lzf_decompress("ab", std::size_t{1} << 40));             // absurd length: no allocation
  auto ok = rdb::lzf_decompress(std::string("\x00" "a\x20\x00", 4), 4);     // "a" + 3 x "a" (overlapping)
  REQUIRE(ok);
  CHECK(*ok == "aaaa");
}

TEST_CASE("rdb: listpacks round trip every entry encoding", "[rdb]") {
  rdb::ListpackWriter w;
  const auto elems = listpack_torture_elements();
  for (const auto& e : elems) w.append(e);
  const std::string lp = w.finish();
  CHECK(lp.size() == w.total_bytes());
  auto back = rdb::listpack_elements(lp);
  REQUIRE(back);
  CHECK(*back == elems);
  // Exact bytes of a small one (as Redis's lpAppend writes it): "a", 5, -1, "hello".
  rdb::ListpackWriter small;
  for (std::string s : {"a", "5", "-1", "hello"}) small.append(s);
  CHECK(small.finish() == unhex("1600000004008161020501dfff028568656c6c6f06ff"));
  // An empty listpack is valid and has no elements.
  auto empty = rdb::listpack_elements(rdb::ListpackWriter{}.finish());
  REQUIRE(empty);
  CHECK(empty->empty());
  // Corruptions are errors.
  std::string bad = lp;
  bad[0] = static_cast<char>(bad[0] + 1);
  CHECK_FALSE(rdb::listpack_elements(bad));  // total bytes
  bad = lp;
  bad.back() = 0;
  CHECK_FALSE(rdb::listpack_elements(bad));  // terminator
  bad = lp;
  bad[4] = 7;
  CHECK_FALSE(rdb::listpack_elements(bad));  // count
  bad = small.finish();
  bad[8] = 3;  // backlen of "a"
  CHECK_FALSE(rdb::listpack_elements(bad));
  bad = small.finish();
  bad[6] = static_cast<char>(0xf7);  // no such encoding
  CHECK_FALSE(rdb::listpack_elements(bad));
  bad = small.finish();
  bad[14] = static_cast<char>(0x8f);  // "hello" claims 15 bytes
  CHECK_FALSE(rdb::listpack_elements(bad));
}

namespace {
// A ziplist as Redis <= 6.2 wrote them, from raw <encoding><data> entries.
std::string build_ziplist(const std::vector<std::string>& raw_entries) {
  std::string body;
  std::size_t prev = 0, tail = 10;
  for (const auto& e : raw_entries) {
    tail = 10 + body.size();
    std::string entry;
    if (prev < 254) {
      entry.push_back(static_cast<char>(prev));
    } else {
      entry.push_back(static_cast<char>(0xfe));
      for (int i = 0; i < 4; ++i) entry.push_back(static_cast<char>((prev >> (8 * i)) & 0xff));
    }
    entry += e;
    prev = entry.size();
    body += entry;
  }
  std::string out;
  const std::size_t total = 10 + body.size() + 1;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((total >> (8 * i)) & 0xff));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((tail >> (8 * i)) & 0xff));
  out.push_back(static_cast<char>(raw_entries.size() & 0xff));
  out.push_back(static_cast<char>((raw_entries.size() >> 8) & 0xff));
  out += body;
  out.push_back(static_cast<char>(0xff));
  return out;
}
std::string zl_str(const std::string& s) {
  std::string e;
  if (s.size() <= 63) {
    e.push_back(static_cast<char>(s.size()));
  } else if (s.size() <= 16383) {
    e.push_back(static_cast<char>(0x40 | (s.size() >> 8)));
    e.push_back(static_cast<char>(s.size() & 0xff));
  } else {
    e.push_back(static_cast<char>(0x80));
    for (int i = 3; i >= 0; --i) e.push_back(static_cast<char>((s.size() >> (8 * i)) & 0xff));
  }
  return e + s;
}
std::string zl_int(unsigned char enc, std::int64_t v, int bytes) {
  std::string e(1, static_cast<char>(enc));
  for (int i = 0; i < bytes; ++i) e.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
  return e;
}
std::string ziplist_of_strings(const std::vector<std::string>& elems) {
  std::vector<std::string> raw;
  for (const auto& e : elems) raw.push_back(zl_str(e));
  return build_ziplist(raw);
}
}  // namespace

TEST_CASE("rdb: ziplists of every entry encoding parse", "[rdb]") {
  // The example from ziplist.c: "2" and "5" as immediate integers.
  auto ex = rdb::ziplist_elements(unhex("0f0000000c0000000200" "00f3" "02f6" "ff"));
  REQUIRE(ex);
  CHECK(*ex == std::vector<std::string>{"2", "5"});
  const std::string zl = build_ziplist({zl_str("hello"), zl_str(std::string(300, 'a')), zl_str(std::string(17000, 'b')),
                                         zl_int(0xfe, -5, 1), zl_int(0xc0, -30000, 2), zl_int(0xf0, -8000000, 3),
                                         zl_int(0xd0, 2000000000, 4), zl_int(0xe0, INT64_MIN, 8),
                                         std::string(1, static_cast<char>(0xf1)), std::string(1, static_cast<char>(0xfd)),
                                         zl_str("")});
  auto got = rdb::ziplist_elements(zl);
  REQUIRE(got);
  CHECK(*got == std::vector<std::string>{"hello", std::string(300, 'a'), std::string(17000, 'b'), "-5", "-30000",
                                         "-8000000", "2000000000", "-9223372036854775808", "0", "12", ""});
  std::string bad = zl;
  bad[4] = 11;  // tail offset no longer points at the last entry
  CHECK_FALSE(rdb::ziplist_elements(bad));
  bad = zl;
  bad[17] = 9;  // prevlen of the second entry
  CHECK_FALSE(rdb::ziplist_elements(bad));
  bad = ziplist_of_strings({"a", "b"});
  bad[11] = static_cast<char>(0xf0 - 0x20);  // 0xd0 with data running past the end
  CHECK_FALSE(rdb::ziplist_elements(bad.substr(0, bad.size())));
  bad = ziplist_of_strings({"a", "b"});
  bad[11] = static_cast<char>(0xff);  // an invalid encoding byte in an entry
  CHECK_FALSE(rdb::ziplist_elements(bad));
  CHECK_FALSE(rdb::ziplist_elements(std::string(5, '\0')));
}

TEST_CASE("rdb: values round trip in every encoding we write", "[rdb]") {
  Xorshift rng{42};
  std::vector<Value> values{Value::make_string(""), Value::make_string("hello"), Value::make_string("12345"),
                            Value::make_string("-0"), Value::make_string(std::string(5000, 'c')),
                            Value::make_string(rng.bytes(3000))};
  values.push_back(make_list({"a"}));
  values.push_back(make_list(listpack_torture_elements()));
  std::vector<std::string> many;
  for (int i = 0; i < 5000; ++i) many.push_back(i % 3 == 0 ? std::to_string(static_cast<long long>(i) * 1000003) : "element-" + std::to_string(i));
  values.push_back(make_list(many));
  std::vector<std::string> big;
  for (int i = 0; i < 10; ++i) big.push_back(rng.bytes(9000));  // each alone over a node's 8 KB
  values.push_back(make_list(big));
  values.push_back(make_hash({{"f", "v"}, {"n", "42"}, {"", ""}}));
  std::vector<std::pair<std::string, std::string>> fields;
  for (int i = 0; i < 600; ++i) fields.emplace_back("field:" + std::to_string(i), std::to_string(i * i));
  values.push_back(make_hash(fields));
  values.push_back(make_hash({{"small", "1"}, {"long", std::string(65, 'v')}}));
  for (const auto& v : values) {
    for (bool compress : {false, true}) {
      Value back = round_trip(v, compress);
      require_same(v, back);
      if (v.type == ValueType::hash) CHECK(back.hash == v.hash);  // field order kept too
    }
  }
  CHECK(rdb::object_type(values[0]) == rdb::kTypeString);
  CHECK(rdb::object_type(values[6]) == rdb::kTypeListQuicklist2);
  CHECK(rdb::object_type(make_hash({{"a", "b"}})) == rdb::kTypeHashListpack);
  CHECK(rdb::object_type(make_hash(fields)) == rdb::kTypeHash);                                   // > 512 fields
  CHECK(rdb::object_type(make_hash({{"a", std::string(65, 'x')}})) == rdb::kTypeHash);           // value > 64 bytes
  CHECK(rdb::object_type(make_hash({{"a", std::string(64, 'x')}})) == rdb::kTypeHashListpack);
}

TEST_CASE("rdb: lists are cut into quicklist nodes of at most 8 KB", "[rdb]") {
  std::vector<std::string> elems;
  for (int i = 0; i < 1000; ++i) elems.push_back(std::string(100, static_cast<char>('a' + i % 26)));
  std::string body;
  rdb::encode_value(body, make_list(elems), false);
  rdb::Reader r(body);
  auto nodes = r.length();
  REQUIRE(nodes);
  std::size_t total = 0;
  for (std::uint64_t i = 0; i < *nodes; ++i) {
    auto container = r.length();
    REQUIRE(container);
    CHECK(*container == 2);  // PACKED
    auto lp = r.string();
    REQUIRE(lp);
    CHECK(lp->size() <= 8192);
    auto e = rdb::listpack_elements(*lp);
    REQUIRE(e);
    total += e->size();
  }
  CHECK(total == 1000);
  CHECK(*nodes == 1000 / 78 + 1);  // 7 + 78 * 102 + 8 + 102 > 8192: 78 elements per node
}

TEST_CASE("rdb: older and alternative encodings decode (plain, ziplist, quicklist v1, PLAIN nodes)", "[rdb]") {
  auto decode = [](std::uint8_t type, const std::string& body) {
    rdb::Reader r(body);
    auto v = rdb::decode_value(r, type);
    REQUIRE(v);
    CHECK(r.at_end());
    return std::move(*v);
  };
  std::string body;
  // RDB_TYPE_LIST (1) and RDB_TYPE_HASH (4).
  rdb::put_length(body, 3);
  for (const std::string& s : std::vector<std::string>{"x", "17", std::string(50, 'l')}) rdb::put_string(body, s, true);
  require_same(decode(rdb::kTypeList, body), make_list({"x", "17", std::string(50, 'l')}));
  body.clear();
  rdb::put_length(body, 2);
  for (std::string s : {"f1", "v1", "f2", "2"}) rdb::put_string(body, s);
  require_same(decode(rdb::kTypeHash, body), make_hash({{"f1", "v1"}, {"f2", "2"}}));
  // RDB_TYPE_LIST_ZIPLIST (10) and RDB_TYPE_HASH_ZIPLIST (13).
  body.clear();
  rdb::put_string(body, build_ziplist({zl_str("a"), zl_int(0xfe, 100, 1)}));
  require_same(decode(rdb::kTypeListZiplist, body), make_list({"a", "100"}));
  body.clear();
  rdb::put_string(body, ziplist_of_strings({"f", "v", "g", "w"}), true);
  require_same(decode(rdb::kTypeHashZiplist, body), make_hash({{"f", "v"}, {"g", "w"}}));
  // RDB_TYPE_LIST_QUICKLIST (14): ziplist nodes; an empty node is skipped as Redis does.
  body.clear();
  rdb::put_length(body, 3);
  rdb::put_string(body, ziplist_of_strings({"a", "b"}));
  rdb::put_string(body, build_ziplist({}));
  rdb::put_string(body, ziplist_of_strings({"c"}), true);
  require_same(decode(rdb::kTypeListQuicklist, body), make_list({"a", "b", "c"}));
  // RDB_TYPE_LIST_QUICKLIST_2 (18) with a PLAIN node between PACKED ones.
  body.clear();
  rdb::put_length(body, 3);
  rdb::ListpackWriter lp;
  lp.append("1");
  lp.append("two");
  rdb::put_length(body, 2);
  rdb::put_string(body, lp.finish());
  rdb::put_length(body, 1);
  rdb::put_string(body, std::string(300, 'P'), true);
  rdb::put_length(body, 2);
  rdb::put_string(body, lp.finish(), true);
  require_same(decode(rdb::kTypeListQuicklist2, body), make_list({"1", "two", std::string(300, 'P'), "1", "two"}));
  // Errors: a bad container, an odd hash listpack, duplicate fields, sets.
  body.clear();
  rdb::put_length(body, 1);
  rdb::put_length(body, 3);
  rdb::put_string(body, lp.finish());
  {
    rdb::Reader r(body);
    CHECK_FALSE(rdb::decode_value(r, rdb::kTypeListQuicklist2));
  }
  body.clear();
  rdb::ListpackWriter odd;
  odd.append("f");
  rdb::put_string(body, odd.finish());
  {
    rdb::Reader r(body);
    CHECK_FALSE(rdb::decode_value(r, rdb::kTypeHashListpack));
  }
  body.clear();
  rdb::put_string(body, ziplist_of_strings({"f", "1", "f", "2"}));
  {
    rdb::Reader r(body);
    CHECK_FALSE(rdb::decode_value(r, rdb::kTypeHashZiplist));
  }
  {
    rdb::Reader r(body);
    auto set = rdb::decode_value(r, rdb::kTypeSet);
    REQUIRE_FALSE(set);
    CHECK_THAT(set.error().message, Catch::Contains("set") && Catch::Contains("not supported"));
  }
}

TEST_CASE("rdb: datasets round trip with expiries, several databases and AUX fields", "[rdb]") {
  Databases dbs(16);
  dbs[0].set("s", Value::make_string("hello"));
  KeyEntry& t = dbs[0].set("ttl", Value::make_string("soon"));
  dbs[0].set_expire(t, 1'700'000'123'456);
  dbs[0].set("l", make_list({"a", "b", "c"}));
  dbs[3].set("h", make_hash({{"f", "v"}}));
  KeyEntry& t2 = dbs[3].set("old", Value::make_string("gone"));
  dbs[3].set_expire(t2, 1000);
  rdb::AuxInfo info;
  info.ctime_s = 1'700'000'000;
  info.used_mem = 123456;
  info.replication = rdb::AuxInfo::Replication{0, std::string(40, 'a'), 98765};
  const auto aux = rdb::standard_aux(info);
  REQUIRE(aux.size() == 8);
  CHECK(aux[0].first == "redis-ver");
  CHECK(aux[7].first == "aof-base");
  for (bool compress : {false, true}) {
    const std::string file = rdb::encode_dataset(dbs.cptrs(), aux, compress);
    Databases loaded(16);
    auto r = rdb::decode_dataset(file, loaded.ptrs);
    REQUIRE(r);
    CHECK(r->version == 10);
    CHECK(r->aux == aux);
    CHECK(r->repl_id == std::string(40, 'a'));
    CHECK(r->repl_offset == 98765);
    CHECK(r->repl_stream_db == 0);
    CHECK(r->keys_loaded == 5);
    CHECK(r->checksum_present);
    CHECK(r->size == file.size());
    CHECK(loaded[0].size() == 3);
    CHECK(loaded[3].size() == 2);
    CHECK(loaded[0].find("ttl")->expire_ms == 1'700'000'123'456);
    CHECK(loaded[0].find("s")->expire_ms == -1);
    require_same(loaded[3].find("h")->value, make_hash({{"f", "v"}}));
    require_same(loaded[0].find("l")->value, make_list({"a", "b", "c"}));
    // A primary loading its own file drops what expired meanwhile.
    Databases fresh(16);
    rdb::LoadOptions opts;
    opts.drop_expired_before_ms = 1'700'000'000'000;
    auto p = rdb::decode_dataset(file, fresh.ptrs, opts);
    REQUIRE(p);
    CHECK(p->keys_expired == 1);
    CHECK(fresh[3].find("old") == nullptr);
    // Validation only, through the old entry point.
    auto d = rdb::decode(file);
    REQUIRE(d);
    CHECK(d->keys == 5);
  }
  // rdbchecksum no: a zero trailer is accepted without a check.
  const std::string nocrc = rdb::encode_dataset(dbs.cptrs(), aux, true, false);
  CHECK(nocrc.substr(nocrc.size() - 8) == std::string(8, '\0'));
  Databases again(16);
  auto nc = rdb::decode_dataset(nocrc, again.ptrs);
  REQUIRE(nc);
  CHECK_FALSE(nc->checksum_present);
  // encode_empty still makes a valid keyless file.
  auto empty = rdb::decode(rdb::encode_empty(aux));
  REQUIRE(empty);
  CHECK(empty->keys == 0);
}

TEST_CASE("rdb: decode_dataset names what is wrong and where", "[rdb]") {
  Databases dbs(1);
  dbs[0].set("k", Value::make_string("v"));
  const std::string file = rdb::encode_dataset(dbs.cptrs(), {{"redis-ver", "7.0.15"}}, false);
  {
    std::string bad = file;
    bad[bad.size() - 12] ^= 1;  // inside the value: CRC mismatch
    Databases out(1);
    auto r = rdb::decode_dataset(bad, out.ptrs);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("CRC"));
    rdb::LoadOptions opts;
    opts.verify_checksum = false;
    Databases out2(1);
    CHECK(rdb::decode_dataset(bad, out2.ptrs, opts));
  }
  {
    Databases out(1);
    auto r = rdb::decode_dataset(file.substr(0, file.size() - 3), out.ptrs);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("at byte"));
  }
  {
    Databases two(4);
    two[2].set("x", Value::make_string("y"));
    Databases out(2);
    auto r = rdb::decode_dataset(rdb::encode_dataset(two.cptrs(), {}, false), out.ptrs);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("SELECTDB 2"));
  }
  {
    // The same key twice.
    std::string dup = "REDIS0010";
    for (int i = 0; i < 2; ++i) {
      dup.push_back(0);
      rdb::put_string(dup, "k");
      rdb::put_string(dup, "v");
    }
    dup.push_back(static_cast<char>(0xff));
    dup += std::string(8, '\0');
    Databases out(1);
    auto r = rdb::decode_dataset(dup, out.ptrs);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("duplicated key 'k'"));
  }
  CHECK_FALSE(rdb::decode("REDIS0011" + file.substr(9)));
  CHECK_FALSE(rdb::decode("RADIS0010" + file.substr(9)));
}

TEST_CASE("rdb: files written by older Redis versions load (Redis's own test assets)", "[rdb]") {
  // tests/assets/*.rdb from the Redis 7.0.15 source tree (BSD-3-Clause), as bytes.
  const std::string hash_ziplist = unhex(
      "524544495330303039fa0972656469732d7665720b3235352e3235352e323535fa0a72656469732d62697473c040fa056374"
      "696d65c2c85c9660fa08757365642d6d656dc290ad0c00fa0c616f662d707265616d626c65c000fe00fb01000d0468617368"
      "1b1b00000016000000040000026631040276310402663204027632ffff4f9cd1fd16699883");
  const std::string list_quicklist = unhex(
      "524544495330303038fa0972656469732d76657205342e302e39fa0a72656469732d62697473c040fa056374696d65c29f06"
      "2661fa08757365642d6d656dc280920700fa0c616f662d707265616d626c65c000fe00fb02000e046c697374010d0d000000"
      "0a000000010000f8ff000178c007ff3572f8541ac4d740");
  const std::string encodings_head = unhex("524544495330303034fe0003047a736574");  // REDIS0004, db 0, a zset "zset"
  const std::string hash_zipmap = unhex("524544495330303033fe0009046861736810020266310200763102663202007632ffff");
  {
    Databases out(16);
    auto r = rdb::decode_dataset(hash_ziplist, out.ptrs);
    REQUIRE(r);
    CHECK(r->version == 9);
    require_same(out[0].find("hash")->value, make_hash({{"f1", "v1"}, {"f2", "v2"}}));
  }
  {
    Databases out(16);
    auto r = rdb::decode_dataset(list_quicklist, out.ptrs);
    REQUIRE(r);
    CHECK(r->version == 8);
    require_same(out[0].find("list")->value, make_list({"7"}));
    require_same(out[0].find("x")->value, Value::make_string("7"));
  }
  {
    auto r = rdb::decode(encodings_head + std::string(20, '\0'));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("key 'zset' at byte 11") && Catch::Contains("type 3 (zset)"));
  }
  {
    auto r = rdb::decode(hash_zipmap);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("hash-zipmap"));
  }
}

TEST_CASE("rdb: DUMP payloads round trip and are verified like RESTORE does", "[rdb]") {
  const std::vector<Value> values{Value::make_string("v"), Value::make_string(std::string(500, 'q')),
                                  make_list({"1", "b", std::string(70, 'c')}), make_hash({{"f", "v"}})};
  for (const auto& v : values) {
    for (bool compress : {false, true}) {
      const std::string p = rdb::dump_payload(v, compress);
      CHECK(p[p.size() - 10] == 10);
      CHECK(p[p.size() - 9] == 0);
      auto back = rdb::restore_payload(p);
      REQUIRE(back);
      require_same(v, *back);
    }
  }
  // Exact bytes, as Redis 7.0's DUMP of SET k v: type 0, "v", version 10, CRC64.
  std::string expected("\x00\x01v\x0a\x00", 5);
  std::uint64_t crc = crc64_jones(0, expected);
  for (int i = 0; i < 8; ++i) expected.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  CHECK(rdb::dump_payload(Value::make_string("v")) == expected);
  // Version and checksum.
  std::string p = rdb::dump_payload(Value::make_string("hello"));
  std::string corrupt = p;
  corrupt[2] ^= 1;
  CHECK(rdb::restore_payload(corrupt).error().message == "ERR DUMP payload version or checksum are wrong");
  std::string newer = p.substr(0, p.size() - 10) + std::string("\x0b\x00", 2);
  crc = crc64_jones(0, newer);
  for (int i = 0; i < 8; ++i) newer.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  CHECK(rdb::restore_payload(newer).error().message == "ERR DUMP payload version or checksum are wrong");
  std::string older = p.substr(0, p.size() - 10) + std::string("\x09\x00", 2);  // RDB 9 payloads are accepted
  crc = crc64_jones(0, older);
  for (int i = 0; i < 8; ++i) older.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  CHECK(rdb::restore_payload(older));
  CHECK(rdb::restore_payload("short").error().message == "ERR DUMP payload version or checksum are wrong");
  // A well-formed footer around garbage.
  std::string garbage("\x00\x0f", 2);
  garbage += std::string("\x0a\x00", 2);
  crc = crc64_jones(0, garbage);
  for (int i = 0; i < 8; ++i) garbage.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  CHECK(rdb::restore_payload(garbage).error().message == "ERR Bad data format");
}

namespace {
std::string with_dump_footer(std::string body) {
  body.push_back(10);
  body.push_back(0);
  const std::uint64_t crc = crc64_jones(0, body);
  for (int i = 0; i < 8; ++i) body.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return body;
}

std::string mutate(Xorshift& rng, std::string s) {
  const std::size_t n = 1 + rng.below(4);
  for (std::size_t k = 0; k < n && !s.empty(); ++k) {
    const std::size_t at = rng.below(s.size());
    switch (rng.below(7)) {
      case 0: s[at] = static_cast<char>(s[at] ^ (1 << rng.below(8))); break;
      case 1: s[at] = static_cast<char>(rng.next() & 0xff); break;
      case 2: s.insert(at, 1, static_cast<char>(rng.next() & 0xff)); break;
      case 3: s.erase(at, 1 + rng.below(4)); break;
      case 4: s.resize(at); break;
      case 5: s.insert(at, s.substr(rng.below(s.size()), rng.below(16))); break;
      default: {  // an interesting byte: length/encoding prefixes, listpack/ziplist markers
        static const unsigned char special[] = {0x00, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xc0, 0xc3, 0xe0, 0xf0, 0xf4, 0xfe, 0xff};
        s[at] = static_cast<char>(special[rng.below(sizeof(special))]);
      }
    }
  }
  return s;
}
}  // namespace

TEST_CASE("rdb: fuzz: 10,000 mutations of RDB and DUMP payloads never crash decode", "[rdb][fuzz]") {
  Xorshift rng{0x5eed5eedULL};
  Databases src(2);
  src[0].set("str", Value::make_string("hello world"));
  src[0].set("int", Value::make_string("-12345"));
  src[0].set("long", Value::make_string(std::string(200, 'x') + "tail"));
  src[0].set("list", make_list(listpack_torture_elements()));
  std::vector<std::string> many;
  for (int i = 0; i < 300; ++i) many.push_back(std::to_string(i * 37));
  src[1].set("biglist", make_list(many));
  src[1].set("hash", make_hash({{"a", "1"}, {"b", "two"}, {"c", std::string(30, 'c')}}));
  std::vector<std::pair<std::string, std::string>> fields;
  for (int i = 0; i < 600; ++i) fields.emplace_back("f" + std::to_string(i), "v" + std::to_string(i));
  src[1].set("bighash", make_hash(fields));
  KeyEntry& e = src[1].set("ttl", Value::make_string("x"));
  src[1].set_expire(e, 123456789);

  std::vector<std::string> rdbs{rdb::encode_dataset(src.cptrs(), rdb::standard_aux({}), false),
                                rdb::encode_dataset(src.cptrs(), rdb::standard_aux({}), true)};
  std::vector<std::string> bodies;  // object type byte + value
  src[0].for_each([&](const std::string&, const KeyEntry& k) {
    for (bool c : {false, true}) bodies.push_back(rdb::dump_payload(k.value, c).substr(0, rdb::dump_payload(k.value, c).size() - 10));
    return true;
  });
  src[1].for_each([&](const std::string&, const KeyEntry& k) {
    bodies.push_back(rdb::dump_payload(k.value, true).substr(0, rdb::dump_payload(k.value, true).size() - 10));
    return true;
  });
  {  // old encodings too
    std::string b(1, static_cast<char>(rdb::kTypeListQuicklist));
    rdb::put_length(b, 2);
    rdb::put_string(b, ziplist_of_strings({"a", std::string(300, 'b')}));
    rdb::put_string(b, build_ziplist({zl_int(0xc0, 1234, 2), zl_int(0xe0, -5, 8)}));
    bodies.push_back(b);
    std::string h(1, static_cast<char>(rdb::kTypeHashZiplist));
    rdb::put_string(h, ziplist_of_strings({"f", "v", "g", "w"}));
    bodies.push_back(h);
  }

  std::size_t accepted = 0;
  for (int i = 0; i < 10000; ++i) {
    switch (i % 4) {
      case 0: {  // whole files, validation only
        auto r = rdb::decode(mutate(rng, rdbs[rng.below(rdbs.size())]));
        accepted += r ? 1 : 0;
        break;
      }
      case 1: {  // whole files into keyspaces, checksums not verified so the parser sees everything
        if (i % 40 != 1) {
          rdb::LoadOptions opts;
          opts.verify_checksum = false;
          auto r = rdb::decode_dataset(mutate(rng, rdbs[rng.below(rdbs.size())]), {}, opts);
          accepted += r ? 1 : 0;
        } else {
          Databases out(2);
          rdb::LoadOptions opts;
          opts.verify_checksum = false;
          auto r = rdb::decode_dataset(mutate(rng, rdbs[rng.below(rdbs.size())]), out.ptrs, opts);
          accepted += r ? 1 : 0;
        }
        break;
      }
      case 2: {  // DUMP payloads with a valid footer, so the object parser runs
        auto r = rdb::restore_payload(with_dump_footer(mutate(rng, bodies[rng.below(bodies.size())])));
        accepted += r ? 1 : 0;
        break;
      }
      default: {  // raw DUMP payloads (mostly stopped by the CRC) and the packed decoders directly
        const std::string& b = bodies[rng.below(bodies.size())];
        auto r = rdb::restore_payload(mutate(rng, with_dump_footer(b)));
        accepted += r ? 1 : 0;
        rdb::ListpackWriter lp;
        for (const auto& s : listpack_torture_elements()) lp.append(s.substr(0, 300));
        (void)rdb::listpack_elements(mutate(rng, lp.finish()));
        (void)rdb::ziplist_elements(mutate(rng, ziplist_of_strings({"a", "bb", std::string(70, 'c')})));
        auto packed = rdb::lzf_compress(std::string(500, 'a') + "bcdbcdbcd" + std::string(100, 'e'), 1000);
        REQUIRE(packed);
        (void)rdb::lzf_decompress(mutate(rng, *packed), 609);
      }
    }
  }
  CHECK(accepted > 0);  // some mutations are harmless (inside string data)
}

// --- against the real Redis 7.0.15 binaries ---

namespace {
// A dataset touching every encoding choice we make, in database 0 and 5.
void fill_reference_dataset(Databases& dbs, Millis now_ms) {
  Xorshift rng{777};
  Keyspace& d0 = dbs[0];
  d0.set("s:short", Value::make_string("hello"));
  d0.set("s:int", Value::make_string("12345"));
  d0.set("s:neg", Value::make_string("-7"));
  d0.set("s:bigint", Value::make_string("12345678901234"));
  d0.set("s:minus-zero", Value::make_string("-0"));
  d0.set("s:empty", Value::make_string(""));
  d0.set("s:compressible", Value::make_string(std::string(1000, 'a') + "b"));
  d0.set("s:binary", Value::make_string(rng.bytes(700)));
  d0.set("l:small", make_list({"a", "1", "-1", "hello world"}));
  d0.set("l:ints", make_list({"0", "127", "128", "-1", "-4096", "4095", "4096", "-32768", "32767", "32768", "-8388608",
                              "8388607", "2147483647", "2147483648", "-9223372036854775808", "9223372036854775807"}));
  std::vector<std::string> many;
  for (int i = 0; i < 1000; ++i) many.push_back("elem-" + std::to_string(i));
  d0.set("l:big", make_list(many));
  std::vector<std::string> wide;
  for (int i = 0; i < 12; ++i) wide.push_back(std::string(5000 + static_cast<std::size_t>(i), static_cast<char>('A' + i)));
  d0.set("l:wide", make_list(wide));
  // quicklist's node limit exactly: 8014 + 170 + 8 == 8192 still fits, 171 does not.
  d0.set("l:edge-fit", make_list({std::string(8000, 'a'), std::string(170, 'b')}));
  d0.set("l:edge-split", make_list({std::string(8000, 'a'), std::string(171, 'b')}));
  d0.set("h:small", make_hash({{"name", "slotlab"}, {"n", "42"}, {"neg", "-3"}}));
  std::vector<std::pair<std::string, std::string>> fields;
  for (int i = 0; i < 200; ++i) fields.emplace_back("field" + std::to_string(i), "value" + std::to_string(i));
  d0.set("h:mid", make_hash(fields));  // listpack in Redis (<= 512 fields)
  for (int i = 200; i < 600; ++i) fields.emplace_back("field" + std::to_string(i), std::to_string(i));
  d0.set("h:big", make_hash(fields));  // a dict in Redis
  d0.set("h:longval", make_hash({{"a", "1"}, {"b", std::string(100, 'v')}}));
  KeyEntry& t1 = d0.set("t:string", Value::make_string("expires"));
  d0.set_expire(t1, now_ms + 3'600'000);
  KeyEntry& t2 = d0.set("t:list", make_list({"x", "y"}));
  d0.set_expire(t2, now_ms + 7'200'123);
  Keyspace& d5 = dbs[5];
  d5.set("other-db", Value::make_string("five"));
  KeyEntry& t3 = d5.set("t:hash", make_hash({{"k", "v"}}));
  d5.set_expire(t3, now_ms + 86'400'000);
}

Millis wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Reads key `key` from a real server as a Value (GET / LRANGE / HGETALL by TYPE).
std::optional<Value> fetch(real::RealRedis& srv, const std::string& key) {
  const std::string type = srv.call({"TYPE", key}).str;
  if (type == "string") return Value::make_string(srv.call({"GET", key}).str);
  if (type == "list") return make_list(srv.call({"LRANGE", key, "0", "-1"}).strings());
  if (type == "hash") {
    auto flat = srv.call({"HGETALL", key}).strings();
    std::vector<std::pair<std::string, std::string>> pairs;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) pairs.emplace_back(flat[i], flat[i + 1]);
    return make_hash(pairs);
  }
  return std::nullopt;
}

// Every key of `ks` must be in the real server's current db with the same value and expiry.
void require_server_matches(real::RealRedis& srv, const Keyspace& ks) {
  REQUIRE(srv.call({"DBSIZE"}).integer == static_cast<long long>(ks.size()));
  ks.for_each([&](const std::string& key, const KeyEntry& e) {
    INFO("key " << key);
    auto v = fetch(srv, key);
    REQUIRE(v);
    require_same(e.value, *v);
    CHECK(srv.call({"PEXPIRETIME", key}).integer == (e.expire_ms >= 0 ? e.expire_ms : -1));
    return true;
  });
}

// Creates every key of `ks` in the server's current db with ordinary commands (SET, RPUSH, HSET,
// PEXPIREAT), so the server builds its own encodings.
void write_with_commands(real::RealRedis& srv, const Keyspace& ks) {
  ks.for_each([&](const std::string& key, const KeyEntry& e) {
    const Value& v = e.value;
    if (v.type == ValueType::string) REQUIRE(srv.call({"SET", key, v.str}).ok());
    if (v.type == ValueType::list) {
      std::vector<std::string> cmd{"RPUSH", key};
      cmd.insert(cmd.end(), v.list.begin(), v.list.end());
      REQUIRE(srv.call(cmd).ok());
    }
    if (v.type == ValueType::hash) {
      std::vector<std::string> cmd{"HSET", key};
      for (const auto& [f, val] : v.hash) {
        cmd.push_back(f);
        cmd.push_back(val);
      }
      REQUIRE(srv.call(cmd).ok());
    }
    if (e.expire_ms >= 0) REQUIRE(srv.call({"PEXPIREAT", key, std::to_string(e.expire_ms)}).integer == 1);
    return true;
  });
}

void require_same_keyspace(const Keyspace& want, const Keyspace& got) {
  REQUIRE(got.size() == want.size());
  want.for_each([&](const std::string& key, const KeyEntry& e) {
    INFO("key " << key);
    const KeyEntry* g = got.find(key);
    REQUIRE(g != nullptr);
    require_same(e.value, g->value);
    CHECK(g->expire_ms == e.expire_ms);
    return true;
  });
}
}  // namespace

TEST_CASE("rdb: redis-check-rdb accepts our files", "[rdb][real]") {
  if (!real::executable(real::kRedisCheckRdb)) {
    WARN("redis-check-rdb not installed: skipped");
    return;
  }
  real::TempDir dir;
  Databases dbs(16);
  fill_reference_dataset(dbs, wall_ms());
  rdb::AuxInfo info;
  info.ctime_s = wall_ms() / 1000;
  info.replication = rdb::AuxInfo::Replication{0, "0123456789abcdef0123456789abcdef01234567", 4242};
  for (bool compress : {false, true}) {
    const std::string path = dir.file(compress ? "c.rdb" : "u.rdb");
    real::write_file(path, rdb::encode_dataset(dbs.cptrs(), rdb::standard_aux(info), compress));
    auto res = real::run(std::string(real::kRedisCheckRdb) + " " + path);
    INFO(res.output);
    CHECK(res.status == 0);
    CHECK_THAT(res.output, Catch::Contains("RDB looks OK"));
    CHECK_THAT(res.output, Catch::Contains("22 keys read"));
    CHECK_THAT(res.output, Catch::Contains("3 expires"));
  }
  // And it rejects a corrupted one, like we do.
  std::string bad = rdb::encode_dataset(dbs.cptrs(), rdb::standard_aux(info), true);
  bad[bad.size() - 20] ^= 0x55;
  real::write_file(dir.file("bad.rdb"), bad);
  auto res = real::run(std::string(real::kRedisCheckRdb) + " " + dir.file("bad.rdb"));
  CHECK(res.status != 0);
  CHECK_FALSE(rdb::decode(bad));
}

TEST_CASE("rdb: redis-server loads the RDB files we write", "[rdb][real]") {
  if (!real::RealRedis::available()) {
    WARN("redis-server not installed: skipped");
    return;
  }
  for (bool compress : {true, false}) {
    real::TempDir dir;
    Databases dbs(16);
    fill_reference_dataset(dbs, wall_ms());
    rdb::AuxInfo info;
    info.ctime_s = wall_ms() / 1000;
    real::write_file(dir.file("ours.rdb"), rdb::encode_dataset(dbs.cptrs(), rdb::standard_aux(info), compress));
    real::RealRedis srv;
    REQUIRE(srv.start(dir.path(), {"--dbfilename", "ours.rdb"}));
    require_server_matches(srv, dbs[0]);
    CHECK(srv.call({"OBJECT", "ENCODING", "h:small"}).str == "listpack");
    CHECK(srv.call({"OBJECT", "ENCODING", "h:mid"}).str == "listpack");
    CHECK(srv.call({"OBJECT", "ENCODING", "h:big"}).str == "hashtable");
    CHECK(srv.call({"OBJECT", "ENCODING", "l:big"}).str == "quicklist");
    REQUIRE(srv.call({"SELECT", "5"}).ok());
    require_server_matches(srv, dbs[5]);
  }
}

TEST_CASE("rdb: we load what redis-server SAVEs", "[rdb][real]") {
  if (!real::RealRedis::available()) {
    WARN("redis-server not installed: skipped");
    return;
  }
  real::TempDir dir;
  real::RealRedis srv;
  REQUIRE(srv.start(dir.path(), {"--enable-debug-command", "yes"}));
  // Write the reference dataset through commands.
  Databases want(16);
  fill_reference_dataset(want, wall_ms());
  for (std::size_t db : {0u, 5u}) {
    REQUIRE(srv.call({"SELECT", std::to_string(db)}).ok());
    write_with_commands(srv, want[db]);
  }
  // A list with PLAIN quicklist nodes (elements over the packed threshold, lowered for the test).
  REQUIRE(srv.call({"SELECT", "0"}).ok());
  REQUIRE(srv.call({"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"}).ok());
  REQUIRE(srv.call({"RPUSH", "l:plain", "small", std::string(200, 'P'), "small2", std::string(150, 'Q')}).ok());
  want[0].set("l:plain", make_list({"small", std::string(200, 'P'), "small2", std::string(150, 'Q')}));

  for (const char* compression : {"yes", "no"}) {
    INFO("rdbcompression " << compression);
    REQUIRE(srv.call({"CONFIG", "SET", "rdbcompression", compression}).ok());
    REQUIRE(srv.call({"SAVE"}).ok());
    const std::string file = real::read_file(dir.file("dump.rdb"));
    Databases got(16);
    auto r = rdb::decode_dataset(file, got.ptrs);
    INFO((r ? std::string("ok") : r.error().message));
    REQUIRE(r);
    CHECK(r->version == 10);
    CHECK(r->keys_loaded == 23);
    REQUIRE_FALSE(r->aux.empty());
    CHECK(r->aux[0] == std::pair<std::string, std::string>{"redis-ver", "7.0.15"});
    CHECK(r->aux.back() == std::pair<std::string, std::string>{"aof-base", "0"});
    CHECK(r->checksum_present);
    CHECK(r->size == file.size());
    require_same_keyspace(want[0], got[0]);
    require_same_keyspace(want[5], got[5]);
  }
}

TEST_CASE("rdb: DUMP payloads are exchanged with redis-server both ways", "[rdb][real]") {
  if (!real::RealRedis::available()) {
    WARN("redis-server not installed: skipped");
    return;
  }
  real::TempDir dir;
  real::RealRedis srv;
  REQUIRE(srv.start(dir.path(), {"--sanitize-dump-payload", "yes"}));  // deep-validate what we RESTORE
  Databases dbs(16);
  fill_reference_dataset(dbs, wall_ms());
  write_with_commands(srv, dbs[0]);  // db 0: built by Redis itself
  // DUMP -> ours: the same values come back, and with rdbcompression off the bytes are Redis's own
  // wherever Redis's in-memory encoding matches ours (not for hashes it holds as a dict, whose
  // field order is its own).
  for (const char* compression : {"yes", "no"}) {
    REQUIRE(srv.call({"CONFIG", "SET", "rdbcompression", compression}).ok());
    dbs[0].for_each([&](const std::string& key, const KeyEntry& e) {
      INFO("key " << key << ", rdbcompression " << compression);
      auto dumped = srv.call({"DUMP", key});
      REQUIRE(dumped.type == '$');
      auto v = rdb::restore_payload(dumped.str);
      REQUIRE(v);
      require_same(e.value, *v);
      if (std::string(compression) == "no" && key != "h:big" && key != "h:longval") CHECK(rdb::dump_payload(e.value, false) == dumped.str);
      return true;
    });
  }
  // Ours -> RESTORE (into db 1), with and without compression.
  REQUIRE(srv.call({"SELECT", "1"}).ok());
  for (bool compress : {true, false}) {
    dbs[0].for_each([&](const std::string& key, const KeyEntry& e) {
      INFO("key " << key);
      auto r = srv.call({"RESTORE", key, "0", rdb::dump_payload(e.value, compress), "REPLACE"});
      REQUIRE(r.type == '+');
      auto v = fetch(srv, key);
      REQUIRE(v);
      require_same(e.value, *v);
      return true;
    });
  }
  // A payload Redis must refuse.
  std::string bad = rdb::dump_payload(Value::make_string("x"));
  bad[1] ^= 1;
  auto r = srv.call({"RESTORE", "bad", "0", bad});
  CHECK(r.str == "ERR DUMP payload version or checksum are wrong");
  CHECK(rdb::restore_payload(bad).error().message == r.str);
}
