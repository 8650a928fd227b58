// Unit tests for the cluster bus wire codec (node/bus_message.*), tagged [codec].
//
// The golden test writes a PING byte by byte at Redis 7.0.15's offsets with its own big-endian
// helpers (not the codec's), so a layout mistake in the codec cannot hide behind a symmetric
// mistake in encode and decode. The rest round-trips every message type, checks what Redis's
// clusterProcessPacket would drop, and throws 10,000 mutated packets at the decoder.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "node/bus_message.hpp"

using namespace slotlab;
using namespace slotlab::bus;

namespace {

NodeId id_of(char c) {
  NodeId id;
  REQUIRE(NodeId::parse(std::string(kNodeIdLen, c), id));
  return id;
}

// Test-local big-endian accessors, independent of the codec's.
void put8(std::string& b, std::size_t off, std::uint8_t v) { b.at(off) = static_cast<char>(v); }
void put16(std::string& b, std::size_t off, std::uint16_t v) {
  put8(b, off, static_cast<std::uint8_t>(v >> 8));
  put8(b, off + 1, static_cast<std::uint8_t>(v & 0xff));
}
void put32(std::string& b, std::size_t off, std::uint32_t v) {
  put16(b, off, static_cast<std::uint16_t>(v >> 16));
  put16(b, off + 2, static_cast<std::uint16_t>(v & 0xffff));
}
void put64(std::string& b, std::size_t off, std::uint64_t v) {
  put32(b, off, static_cast<std::uint32_t>(v >> 32));
  put32(b, off + 4, static_cast<std::uint32_t>(v & 0xffffffff));
}
void put_bytes(std::string& b, std::size_t off, std::string_view s) {
  REQUIRE(off + s.size() <= b.size());
  std::memcpy(b.data() + off, s.data(), s.size());
}
std::uint8_t get8(const std::string& b, std::size_t off) { return static_cast<std::uint8_t>(b.at(off)); }
std::uint16_t get16(const std::string& b, std::size_t off) {
  return static_cast<std::uint16_t>((get8(b, off) << 8) | get8(b, off + 1));
}
std::uint32_t get32(const std::string& b, std::size_t off) {
  return (static_cast<std::uint32_t>(get16(b, off)) << 16) | get16(b, off + 2);
}

Header sample_header(MsgType type) {
  Header h;
  h.port = 7001;
  h.type = type;
  h.current_epoch = 0x0102030405060708ull;
  h.config_epoch = 42;
  h.offset = 0x1122334455667788ull;
  h.sender = id_of('a');
  h.myslots.set(0);
  h.myslots.set(5000);
  h.myslots.set(16383);
  h.myip = IpString::from("192.168.1.10");
  h.pport = 7002;
  h.cport = 17001;
  h.flags = kFlagMaster | kFlagMyself;
  h.state = 0;
  return h;
}

GossipEntry sample_gossip(std::size_t i) {
  GossipEntry g;
  g.name = id_of(static_cast<char>('b' + i % 24));
  g.ping_sent_s = static_cast<std::uint32_t>(1700000000 + i);
  g.pong_received_s = static_cast<std::uint32_t>(1700000100 + i);
  g.ip = IpString::from("10.0.0." + std::to_string(i % 250));
  g.port = static_cast<std::uint16_t>(6379 + i);
  g.cport = static_cast<std::uint16_t>(16379 + i);
  g.flags = (i % 3 == 0) ? static_cast<std::uint16_t>(kFlagMaster | kFlagPfail) : kFlagSlave;
  g.pport = static_cast<std::uint16_t>(i);
  return g;
}

// A message of `type` with every payload field of that type set to something recognisable.
Message sample(MsgType type, std::size_t gossip_count = 3, std::optional<std::string> hostname = "node-a.example") {
  Message m;
  m.hdr = sample_header(type);
  switch (type) {
    case MsgType::ping:
    case MsgType::pong:
    case MsgType::meet:
      for (std::size_t i = 0; i < gossip_count; ++i) m.gossip.push_back(sample_gossip(i));
      m.hostname = std::move(hostname);
      // What encode() derives for these types, so the round trip compares equal.
      m.hdr.count = static_cast<std::uint16_t>(m.gossip.size());
      m.hdr.extensions = m.hostname ? 1 : 0;
      if (m.hostname) m.hdr.mflags[0] |= kMflagExtData;
      break;
    case MsgType::fail: m.fail_about = id_of('z'); break;
    case MsgType::publish:
    case MsgType::publishshard:
      m.channel = "news";
      m.payload = std::string("hello\0world", 11);
      break;
    case MsgType::update:
      m.update_config_epoch = 99;
      m.update_node = id_of('q');
      for (Slot s = 100; s < 200; ++s) m.update_slots.set(s);
      break;
    case MsgType::module:
      m.module_id = {1, 2, 3, 4, 5, 6, 7, 8};
      m.module_type = 200;
      m.payload = "module payload";
      break;
    case MsgType::failover_auth_request:
      m.hdr.mflags[0] = kMflagForceAck;
      break;
    case MsgType::failover_auth_ack:
    case MsgType::mfstart:
      break;
  }
  return m;
}

const std::vector<MsgType> kAllTypes = {MsgType::ping,    MsgType::pong,   MsgType::meet,
                                        MsgType::fail,    MsgType::publish, MsgType::failover_auth_request,
                                        MsgType::failover_auth_ack, MsgType::update, MsgType::mfstart,
                                        MsgType::module,  MsgType::publishshard};

// How decode() names a type in its errors.
const char* error_name(MsgType t) {
  switch (t) {
    case MsgType::ping: return "PING";
    case MsgType::pong: return "PONG";
    case MsgType::meet: return "MEET";
    case MsgType::fail: return "FAIL";
    case MsgType::publish: return "PUBLISH";
    case MsgType::failover_auth_request: return "FAILOVER_AUTH_REQUEST";
    case MsgType::failover_auth_ack: return "FAILOVER_AUTH_ACK";
    case MsgType::update: return "UPDATE";
    case MsgType::mfstart: return "MFSTART";
    case MsgType::module: return "MODULE";
    case MsgType::publishshard: return "PUBLISHSHARD";
  }
  return "?";
}

// The totlen Redis computes for each type (clusterProcessPacket's explen).
std::size_t redis_expected_length(const Message& m) {
  switch (m.hdr.type) {
    case MsgType::ping:
    case MsgType::pong:
    case MsgType::meet: {
      std::size_t ext = m.hostname ? 8 + (m.hostname->size() + 1 + 7) / 8 * 8 : 0;
      return 2256 + 104 * m.gossip.size() + ext;
    }
    case MsgType::fail: return 2296;
    case MsgType::publish:
    case MsgType::publishshard: return 2256 + (16 - 8) + m.channel.size() + m.payload.size();
    case MsgType::update: return 4352;
    case MsgType::module: return 2256 + (16 - 3) + m.payload.size();
    default: return 2256;
  }
}

void require_protocol_error(std::string_view packet, const std::string& needle) {
  auto r = decode(packet);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::protocol);
  CHECK_THAT(r.error().message, Catch::Contains(needle));
}

// A SHARDID extension as Redis 7.2 sends it: 8-byte header + 40-byte shard id = 48 bytes.
std::string shard_id_extension() {
  std::string x(48, '\0');
  put32(x, 0, 48);
  put16(x, 4, kExtShardId);
  put_bytes(x, 8, std::string(40, 's'));
  return x;
}

// Inserts `ext` at byte `at` of an encoded PING/PONG/MEET and fixes totlen, extensions, EXT_DATA.
void splice_extension(std::string& packet, std::size_t at, const std::string& ext) {
  packet.insert(at, ext);
  put32(packet, 4, static_cast<std::uint32_t>(packet.size()));
  put16(packet, 2214, static_cast<std::uint16_t>(get16(packet, 2214) + 1));
  put8(packet, 2253, static_cast<std::uint8_t>(get8(packet, 2253) | kMflagExtData));
}

}  // namespace

TEST_CASE("bus layout constants are Redis 7.0's", "[codec]") {
  CHECK(kHeaderSize == 2256);
  CHECK(kGossipEntrySize == 104);
  CHECK(kFullMessageSize == 4352);
  CHECK(kIpLen == 46);
  CHECK(layout::kMyslots == 80);
  CHECK(layout::kData == 2256);
  for (MsgType t : kAllTypes) {
    Message m = sample(t);
    INFO("type " << type_name(t));
    CHECK(encoded_size(m) == redis_expected_length(m));
    CHECK(encode(m).size() == redis_expected_length(m));
  }
  CHECK(encoded_size(sample(MsgType::fail)) == 2296);
  CHECK(encoded_size(sample(MsgType::update)) == 4352);
  CHECK(type_name(MsgType::failover_auth_request) == "auth-req");
  CHECK(type_name(static_cast<MsgType>(77)) == "unknown");
}

TEST_CASE("slot bitmap: slot s is bit 1<<(s&7) of byte s/8", "[codec]") {
  SlotBitmap b;
  CHECK(b.count() == 0);
  b.set(0);
  CHECK(b.bytes[0] == 0x01);
  b.set(7);
  CHECK(b.bytes[0] == 0x81);
  b.set(8);
  CHECK(b.bytes[1] == 0x01);
  b.set(16383);
  CHECK(b.bytes[2047] == 0x80);
  CHECK(b.count() == 4);
  CHECK(b.test(7));
  CHECK_FALSE(b.test(6));
  b.clear(7);
  CHECK(b.bytes[0] == 0x01);
  CHECK_FALSE(b.test(7));
  CHECK(b.count() == 3);
  SlotBitmap c;
  CHECK_FALSE(b == c);
  c.set(0);
  c.set(8);
  c.set(16383);
  CHECK(b == c);
  SlotBitmap all;
  for (int s = 0; s < kSlotCount; ++s) all.set(static_cast<Slot>(s));
  CHECK(all.count() == 16384);
}

TEST_CASE("IpString is NUL-padded and keeps at most 45 characters", "[codec]") {
  IpString ip = IpString::from("10.0.0.1");
  CHECK(ip.view() == "10.0.0.1");
  for (std::size_t i = 8; i < kIpLen; ++i) CHECK(ip.bytes[i] == '\0');
  CHECK(IpString::from("").view().empty());
  std::string v6 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";  // 45 characters, the maximum
  REQUIRE(v6.size() == 45);
  CHECK(IpString::from(v6).view() == v6);
  CHECK(IpString::from(v6 + "extra").view() == v6);
  CHECK(IpString::from(v6 + "extra").bytes[45] == '\0');
  // A received field without a NUL: the view stops at 45 bytes, as Redis forces buf[45] = 0.
  IpString raw;
  raw.bytes.fill('x');
  CHECK(raw.view().size() == 45);
}

TEST_CASE("golden PING: hand-written bytes at Redis's offsets", "[codec]") {
  // PING from 'a'*40, a replica of 'b'*40, one gossip entry about 'c'*40, hostname extension.
  const std::size_t totlen = 2256 + 104 + 24;
  std::string b(totlen, '\0');
  put_bytes(b, 0, "RCmb");
  put32(b, 4, static_cast<std::uint32_t>(totlen));
  put16(b, 8, 1);      // ver
  put16(b, 10, 7001);  // port
  put16(b, 12, 0);     // type PING
  put16(b, 14, 1);     // count
  put64(b, 16, 0x0102030405060708ull);  // currentEpoch
  put64(b, 24, 42);                     // configEpoch
  put64(b, 32, 0x1122334455667788ull);  // offset
  put_bytes(b, 40, std::string(40, 'a'));  // sender
  put8(b, 80 + 0, 0x03);                   // slots 0 and 1
  put8(b, 80 + 1, 0x02);                   // slot 9
  put8(b, 80 + 2047, 0x80);                // slot 16383
  put_bytes(b, 2128, std::string(40, 'b'));  // slaveof
  put_bytes(b, 2168, "192.168.1.10");        // myip
  put16(b, 2214, 1);                         // extensions
  put16(b, 2246, 7002);                      // pport
  put16(b, 2248, 17001);                     // cport
  put16(b, 2250, 2);                         // flags: SLAVE
  put8(b, 2252, 1);                          // state: fail
  put8(b, 2253, 4 | 1);                      // mflags[0]: EXT_DATA | PAUSED
  // Gossip entry 0 at 2256.
  put_bytes(b, 2256 + 0, std::string(40, 'c'));
  put32(b, 2256 + 40, 1700000000);  // ping_sent, seconds
  put32(b, 2256 + 44, 1700000001);  // pong_received, seconds
  put_bytes(b, 2256 + 48, "10.0.0.3");
  put16(b, 2256 + 94, 6379);
  put16(b, 2256 + 96, 16379);
  put16(b, 2256 + 98, 1 | 4);  // MASTER | PFAIL
  put16(b, 2256 + 100, 6380);
  // HOSTNAME extension at 2360: length 24 = 8 + align8(14 + 1), type 0, "node-a.example\0\0".
  put32(b, 2360, 24);
  put16(b, 2364, 0);
  put_bytes(b, 2368, "node-a.example");

  auto r = decode(b);
  REQUIRE(r.ok());
  const Message& m = *r;
  CHECK(m.hdr.version == 1);
  CHECK(m.hdr.port == 7001);
  CHECK(m.hdr.type == MsgType::ping);
  CHECK(m.hdr.count == 1);
  CHECK(m.hdr.current_epoch == 0x0102030405060708ull);
  CHECK(m.hdr.config_epoch == 42);
  CHECK(m.hdr.offset == 0x1122334455667788ull);
  CHECK(m.hdr.sender == id_of('a'));
  CHECK(m.hdr.myslots.test(0));
  CHECK(m.hdr.myslots.test(1));
  CHECK(m.hdr.myslots.test(9));
  CHECK(m.hdr.myslots.test(16383));
  CHECK_FALSE(m.hdr.myslots.test(8));
  CHECK(m.hdr.myslots.count() == 4);
  CHECK(m.hdr.slaveof == id_of('b'));
  CHECK(m.hdr.myip.view() == "192.168.1.10");
  CHECK(m.hdr.extensions == 1);
  CHECK(m.hdr.pport == 7002);
  CHECK(m.hdr.cport == 17001);
  CHECK(m.hdr.flags == kFlagSlave);
  CHECK(m.hdr.state == 1);
  CHECK(m.hdr.mflags == std::array<std::uint8_t, 3>{kMflagExtData | kMflagPaused, 0, 0});
  REQUIRE(m.gossip.size() == 1);
  const GossipEntry& g = m.gossip[0];
  CHECK(g.name == id_of('c'));
  CHECK(g.ping_sent_s == 1700000000u);
  CHECK(g.pong_received_s == 1700000001u);
  CHECK(g.ip.view() == "10.0.0.3");
  CHECK(g.port == 6379);
  CHECK(g.cport == 16379);
  CHECK(g.flags == (kFlagMaster | kFlagPfail));
  CHECK(g.pport == 6380);
  REQUIRE(m.hostname.has_value());
  CHECK(*m.hostname == "node-a.example");
  CHECK(m.unknown_extension_types.empty());

  // The same message built field by field encodes to exactly those bytes.
  Message built;
  built.hdr.port = 7001;
  built.hdr.type = MsgType::ping;
  built.hdr.current_epoch = 0x0102030405060708ull;
  built.hdr.config_epoch = 42;
  built.hdr.offset = 0x1122334455667788ull;
  built.hdr.sender = id_of('a');
  built.hdr.myslots.set(0);
  built.hdr.myslots.set(1);
  built.hdr.myslots.set(9);
  built.hdr.myslots.set(16383);
  built.hdr.slaveof = id_of('b');
  built.hdr.myip = IpString::from("192.168.1.10");
  built.hdr.pport = 7002;
  built.hdr.cport = 17001;
  built.hdr.flags = kFlagSlave;
  built.hdr.state = 1;
  built.hdr.mflags[0] = kMflagPaused;  // encode adds EXT_DATA because of the hostname
  GossipEntry bg;
  bg.name = id_of('c');
  bg.ping_sent_s = 1700000000;
  bg.pong_received_s = 1700000001;
  bg.ip = IpString::from("10.0.0.3");
  bg.port = 6379;
  bg.cport = 16379;
  bg.flags = kFlagMaster | kFlagPfail;
  bg.pport = 6380;
  built.gossip.push_back(bg);
  built.hostname = "node-a.example";
  const std::string encoded = encode(built);
  CHECK(encoded.size() == b.size());
  CHECK(encoded == b);
  // And encode(decode(b)) == b.
  CHECK(encode(m) == b);
}

TEST_CASE("round trip of every message type", "[codec]") {
  for (MsgType t : kAllTypes) {
    INFO("type " << type_name(t));
    const Message m = sample(t);
    const std::string bytes = encode(m);
    CHECK(get32(bytes, 4) == bytes.size());
    Frame f = check_frame(bytes);
    CHECK(f.verdict == FrameVerdict::ok);
    CHECK(f.totlen == bytes.size());
    auto r = decode(bytes);
    REQUIRE(r.ok());
    CHECK(*r == m);
    CHECK(encode(*r) == bytes);
  }
}

TEST_CASE("round trip of PING/PONG/MEET with 0, 1 and 100 gossip entries and a hostname", "[codec]") {
  for (MsgType t : {MsgType::ping, MsgType::pong, MsgType::meet}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{100}}) {
      for (bool with_hostname : {false, true}) {
        INFO(type_name(t) << " with " << n << " gossip entries, hostname " << with_hostname);
        Message m = sample(t, n, with_hostname ? std::optional<std::string>("redis-7.example.org") : std::nullopt);
        const std::string bytes = encode(m);
        CHECK(bytes.size() == 2256 + 104 * n + (with_hostname ? 8 + 24 : 0));
        CHECK(get16(bytes, 14) == n);
        CHECK(get16(bytes, 2214) == (with_hostname ? 1 : 0));
        CHECK(((get8(bytes, 2253) & kMflagExtData) != 0) == with_hostname);
        auto r = decode(bytes);
        REQUIRE(r.ok());
        CHECK(*r == m);
        CHECK(r->gossip.size() == n);
      }
    }
  }
}

TEST_CASE("encode computes count, extensions and EXT_DATA for gossip messages", "[codec]") {
  Message m = sample(MsgType::ping, 2, std::nullopt);
  m.hdr.count = 77;                     // ignored
  m.hdr.extensions = 5;                 // ignored
  m.hdr.mflags[0] = kMflagExtData | kMflagPaused;  // EXT_DATA cleared: no hostname
  const std::string bytes = encode(m);
  CHECK(get16(bytes, 14) == 2);
  CHECK(get16(bytes, 2214) == 0);
  CHECK(get8(bytes, 2253) == kMflagPaused);
  // encode appends.
  std::string out = "prefix";
  encode(m, out);
  CHECK(out.substr(0, 6) == "prefix");
  CHECK(out.substr(6) == bytes);
}

TEST_CASE("hostname extension is NUL-terminated and padded to 8 bytes like writePingExt", "[codec]") {
  for (std::size_t len = 1; len <= 17; ++len) {
    INFO("hostname length " << len);
    std::string host(len, 'h');
    Message m = sample(MsgType::ping, 1, host);
    const std::string bytes = encode(m);
    const std::size_t ext_at = 2256 + 104;
    const std::size_t body = (len + 1 + 7) / 8 * 8;  // EIGHT_BYTE_ALIGN(len + 1)
    CHECK(bytes.size() == ext_at + 8 + body);
    CHECK(get32(bytes, ext_at) == 8 + body);
    CHECK(get16(bytes, ext_at + 4) == kExtHostname);
    CHECK(get16(bytes, ext_at + 6) == 0);
    CHECK(bytes.substr(ext_at + 8, len) == host);
    for (std::size_t i = ext_at + 8 + len; i < bytes.size(); ++i) CHECK(bytes[i] == '\0');
    auto r = decode(bytes);
    REQUIRE(r.ok());
    CHECK(r->hostname == host);
  }
  CHECK(encode(sample(MsgType::ping, 0, "1234567")).size() == 2256 + 16);   // 7 + NUL = 8
  CHECK(encode(sample(MsgType::ping, 0, "12345678")).size() == 2256 + 24);  // 8 + NUL -> 16
}

TEST_CASE("unknown ping extension (7.2 SHARDID) is skipped and reported", "[codec]") {
  SECTION("after the hostname") {
    Message m = sample(MsgType::ping, 2, "node-a.example");
    std::string bytes = encode(m);
    splice_extension(bytes, bytes.size(), shard_id_extension());
    CHECK(bytes.size() == 2256 + 2 * 104 + 24 + 48);
    auto r = decode(bytes);
    REQUIRE(r.ok());
    CHECK(r->hostname == "node-a.example");
    CHECK(r->unknown_extension_types == std::vector<std::uint16_t>{kExtShardId});
    CHECK(r->gossip == m.gossip);
    CHECK(r->hdr.extensions == 2);
  }
  SECTION("before the hostname") {
    Message m = sample(MsgType::pong, 1, "h");
    std::string bytes = encode(m);
    splice_extension(bytes, 2256 + 104, shard_id_extension());
    auto r = decode(bytes);
    REQUIRE(r.ok());
    CHECK(r->hostname == "h");
    CHECK(r->unknown_extension_types == std::vector<std::uint16_t>{kExtShardId});
  }
  SECTION("alone: no hostname") {
    Message m = sample(MsgType::meet, 0, std::nullopt);
    std::string bytes = encode(m);
    splice_extension(bytes, bytes.size(), shard_id_extension());
    auto r = decode(bytes);
    REQUIRE(r.ok());
    CHECK_FALSE(r->hostname.has_value());
    CHECK(r->unknown_extension_types == std::vector<std::uint16_t>{kExtShardId});
    // Re-encoding drops what we do not understand, as a 7.0 node would never forward it.
    CHECK(encode(*r).size() == 2256);
  }
}

TEST_CASE("a packet of an unknown type is accepted as well formed, as Redis does", "[codec]") {
  Message m = sample(MsgType::mfstart);
  std::string bytes = encode(m);
  put16(bytes, 12, 42);
  bytes += "trailing data of a future type";
  put32(bytes, 4, static_cast<std::uint32_t>(bytes.size()));
  auto r = decode(bytes);
  REQUIRE(r.ok());
  CHECK(static_cast<std::uint16_t>(r->hdr.type) == 42);
  CHECK_FALSE(is_known(r->hdr.type));
  CHECK(r->hdr.sender == id_of('a'));
  CHECK(r->hdr.current_epoch == m.hdr.current_epoch);
}

TEST_CASE("decode_into reuses a Message and resets the previous payload", "[codec]") {
  Message m;
  REQUIRE(decode_into(encode(sample(MsgType::ping, 100, "x")), m).ok());
  CHECK(m.gossip.size() == 100);
  REQUIRE(decode_into(encode(sample(MsgType::fail)), m).ok());
  CHECK(m.gossip.empty());
  CHECK_FALSE(m.hostname.has_value());
  CHECK(m.fail_about == id_of('z'));
  CHECK(m == sample(MsgType::fail));

  // Entries reused in place: grow, shrink, grow again, with a rejected packet in between.
  const Message big = sample(MsgType::pong, 100, "x");
  const Message small = sample(MsgType::ping, 3, std::nullopt);
  REQUIRE(decode_into(encode(big), m).ok());
  CHECK(m == big);
  REQUIRE(decode_into(encode(small), m).ok());
  CHECK(m == small);
  std::string bad = encode(big);
  put16(bad, 14, 101);
  CHECK_FALSE(decode_into(bad, m).ok());
  REQUIRE(decode_into(encode(big), m).ok());
  CHECK(m == big);
  REQUIRE(decode_into(encode(sample(MsgType::meet, 0, std::nullopt)), m).ok());
  CHECK(m == sample(MsgType::meet, 0, std::nullopt));
}

TEST_CASE("check_frame: the first 8 bytes, as clusterReadHandler checks them", "[codec]") {
  const std::string good = encode(sample(MsgType::fail));
  CHECK(check_frame("").verdict == FrameVerdict::need_more);
  CHECK(check_frame(std::string_view(good).substr(0, 7)).verdict == FrameVerdict::need_more);
  Frame ok = check_frame(std::string_view(good).substr(0, 8));
  CHECK(ok.verdict == FrameVerdict::ok);
  CHECK(ok.totlen == 2296);

  std::string bad_sig = good;
  bad_sig[3] = 'c';
  Frame f = check_frame(bad_sig);
  CHECK(f.verdict == FrameVerdict::close_link);
  CHECK_THAT(f.reason, Catch::Contains("signature"));

  std::string short_len = good;
  put32(short_len, 4, 2255);
  f = check_frame(short_len);
  CHECK(f.verdict == FrameVerdict::close_link);
  CHECK_THAT(f.reason, Catch::Contains("2255"));
  put32(short_len, 4, 0);
  CHECK(check_frame(short_len).verdict == FrameVerdict::close_link);

  std::string min_len = good;
  put32(min_len, 4, 2256);
  CHECK(check_frame(min_len).verdict == FrameVerdict::ok);
  // Redis sets no upper bound: a huge totlen is waited for, not refused.
  put32(min_len, 4, 0xffffffffu);
  f = check_frame(min_len);
  CHECK(f.verdict == FrameVerdict::ok);
  CHECK(f.totlen == 0xffffffffu);
}

TEST_CASE("decode drops a wrong version, a bad signature and truncated packets", "[codec]") {
  Message v2 = sample(MsgType::fail);
  v2.hdr.version = 2;
  require_protocol_error(encode(v2), "version 2");
  v2.hdr.version = 0;
  require_protocol_error(encode(v2), "version 0");

  std::string bad_sig = encode(sample(MsgType::fail));
  bad_sig[0] = 'X';
  require_protocol_error(bad_sig, "signature");

  const std::string ping = encode(sample(MsgType::ping, 3, "h"));
  require_protocol_error(std::string_view(ping).substr(0, ping.size() - 1),
                         "totlen " + std::to_string(ping.size()) + " != packet size " + std::to_string(ping.size() - 1));
  require_protocol_error(std::string_view(ping).substr(0, 100), "shorter than the 2256-byte header");
  require_protocol_error("", "shorter than the 2256-byte header");
}

TEST_CASE("decode drops a totlen that does not match the type, for every type", "[codec]") {
  require_protocol_error([] {
    std::string b = encode(sample(MsgType::fail));
    b.push_back('\0');
    put32(b, 4, static_cast<std::uint32_t>(b.size()));
    return b;
  }(), "FAIL message length 2297 != expected 2296");

  for (MsgType t : kAllTypes) {
    INFO("type " << type_name(t));
    const std::string good = encode(sample(t));
    // One byte too many, totlen adjusted: every type has an exact expected length.
    std::string longer = good + '\0';
    put32(longer, 4, static_cast<std::uint32_t>(longer.size()));
    auto r = decode(longer);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::protocol);
    CHECK_THAT(r.error().message, Catch::Contains(std::string(error_name(t)) + " message length"));
    CHECK_THAT(r.error().message, Catch::Contains("expected"));
    // One byte too few (all types longer than a bare header).
    if (good.size() > kHeaderSize) {
      std::string shorter = good.substr(0, good.size() - 1);
      put32(shorter, 4, static_cast<std::uint32_t>(shorter.size()));
      CHECK_FALSE(decode(shorter).ok());
    }
  }
  // A bare header for types that need more.
  for (MsgType t : {MsgType::publish, MsgType::module, MsgType::update, MsgType::fail}) {
    std::string bare = encode(sample(MsgType::mfstart));
    put16(bare, 12, static_cast<std::uint16_t>(t));
    CHECK_FALSE(decode(bare).ok());
  }
}

TEST_CASE("decode drops PUBLISH and MODULE lengths that only match modulo 2^32", "[codec]") {
  // Redis adds channel_len + message_len in u32: 2264 + 0xffffffff + 1 wraps to 2264, which
  // "matches" a 2264-byte packet. We add in 64 bits.
  Message p = sample(MsgType::publish);
  p.channel.clear();
  p.payload.clear();
  std::string b = encode(p);
  REQUIRE(b.size() == 2264);
  put32(b, 2256, 0xffffffffu);
  put32(b, 2260, 1);
  require_protocol_error(b, "PUBLISH message length 2264 != expected 4294969560");

  Message mod = sample(MsgType::module);
  mod.payload.clear();
  std::string mb = encode(mod);
  REQUIRE(mb.size() == 2269);
  put32(mb, 2256 + 8, 0xffffffffu);
  require_protocol_error(mb, "MODULE message length 2269 != expected");

  // Lengths that are individually plausible but do not add up.
  std::string pb = encode(sample(MsgType::publishshard));
  put32(pb, 2256, 5);  // channel "news" is 4
  require_protocol_error(pb, "PUBLISHSHARD message length");
}

TEST_CASE("decode drops a gossip count inconsistent with totlen", "[codec]") {
  std::string b = encode(sample(MsgType::ping, 3, std::nullopt));
  put16(b, 14, 4);
  require_protocol_error(b, "shorter than its 4 gossip entries need (2672 bytes)");
  put16(b, 14, 2);
  require_protocol_error(b, "PING message length 2568 != expected 2464");
  put16(b, 14, 0xffff);
  require_protocol_error(b, "65535 gossip entries");
}

TEST_CASE("decode drops malformed ping extensions", "[codec]") {
  const std::string good = encode(sample(MsgType::ping, 2, "node-a.example"));  // extension at 2464, 24 bytes
  const std::size_t ext_at = 2256 + 2 * 104;
  REQUIRE(decode(good).ok());

  SECTION("length 0") {
    std::string b = good;
    put32(b, ext_at, 0);
    require_protocol_error(b, "PING extension 1 of 1 at offset 2464: length 0 is shorter than the 8-byte extension header");
  }
  SECTION("length 4, inside its own header") {
    std::string b = good;
    put32(b, ext_at, 4);
    require_protocol_error(b, "length 4 is shorter");
  }
  SECTION("length not a multiple of 8") {
    std::string b = good;
    put32(b, ext_at, 20);
    require_protocol_error(b, "length 20 is not a multiple of 8");
  }
  SECTION("length running past the end") {
    std::string b = good;
    put32(b, ext_at, 32);
    require_protocol_error(b, "length 32 runs past totlen 2488");
    put32(b, ext_at, 0xfffffff8u);
    require_protocol_error(b, "runs past totlen");
    // Redis truncates the length to 16 bits when validating: 65536 + 24 would pass there as 24.
    put32(b, ext_at, 65536 + 24);
    require_protocol_error(b, "runs past totlen");
  }
  SECTION("more extensions announced than present") {
    std::string b = good;
    put16(b, 2214, 2);
    require_protocol_error(b, "PING extension 2 of 2 at offset 2488: the 8-byte extension header runs past totlen 2488");
  }
  SECTION("fewer extensions announced than present") {
    std::string b = good;
    put16(b, 2214, 0);
    require_protocol_error(b, "PING message length 2488 != expected 2464 (count 2, extensions 0)");
  }
  SECTION("extension data without the EXT_DATA flag") {
    std::string b = good;
    put8(b, 2253, 0);
    require_protocol_error(b, "EXT_DATA not set");
  }
  SECTION("EXT_DATA clear with a nonzero extension count and no data: the count is ignored") {
    std::string b = encode(sample(MsgType::ping, 2, std::nullopt));
    put16(b, 2214, 3);
    auto r = decode(b);
    REQUIRE(r.ok());
    CHECK_FALSE(r->hostname.has_value());
  }
  SECTION("a hostname without its NUL stops at the extension's end") {
    std::string b = good;
    put_bytes(b, ext_at + 8, std::string(16, 'n'));
    auto r = decode(b);
    REQUIRE(r.ok());
    CHECK(r->hostname == std::string(16, 'n'));
  }
}

TEST_CASE("10,000 mutated packets never crash the decoder", "[codec]") {
  // Fixed-seed xorshift64: the same mutations on every run and every standard library.
  std::uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  auto below = [&next](std::size_t n) { return static_cast<std::size_t>(next() % n); };

  std::vector<std::string> corpus;
  for (MsgType t : kAllTypes) corpus.push_back(encode(sample(t)));
  corpus.push_back(encode(sample(MsgType::ping, 0, std::nullopt)));
  corpus.push_back(encode(sample(MsgType::pong, 20, "a-rather-longer-hostname.example.com")));
  {
    std::string b = encode(sample(MsgType::ping, 2, "h"));
    splice_extension(b, b.size(), shard_id_extension());
    corpus.push_back(b);
  }
  // Offsets where a mutation changes how the rest is parsed.
  const std::vector<std::size_t> hot = {4, 8, 12, 14, 2214, 2253, 2256, 2260, 2264, 2256 + 104, 2256 + 208};

  int accepted = 0, rejected = 0;
  for (int iter = 0; iter < 10000; ++iter) {
    std::string b = corpus[below(corpus.size())];
    const std::size_t mode = below(5);
    if (mode == 0 || mode == 2) {  // flip a few bytes, half of the time near the payload
      const std::size_t flips = 1 + below(8);
      for (std::size_t i = 0; i < flips; ++i) {
        const std::size_t at = below(2) == 0 ? below(b.size()) : 2200 + below(b.size() - 2200);
        b[at] = static_cast<char>(b[at] ^ static_cast<char>(1 + below(255)));
      }
    } else if (mode == 1) {  // truncate
      b.resize(below(b.size() + 1));
    } else if (mode == 3) {  // a boundary value in a length or count field
      const std::size_t at = hot[below(hot.size())];
      const std::uint32_t values[] = {0, 1, 7, 8, 9, 16, 104, 0xffff, 0x10000, 0x7fffffff, 0xffffffff,
                                      static_cast<std::uint32_t>(next())};
      const std::uint32_t v = values[below(sizeof values / sizeof values[0])];
      if (at + 4 <= b.size()) {
        if (below(2) == 0) put32(b, at, v); else put16(b, at, static_cast<std::uint16_t>(v));
      }
    } else {  // append or cut bytes at the end
      if (below(2) == 0) b.append(1 + below(64), static_cast<char>(below(256)));
      else b.resize(b.size() - std::min(b.size(), 1 + below(64)));
    }
    // Half of the time make totlen agree with the buffer so validation goes deeper.
    if (b.size() >= 8 && below(2) == 0) put32(b, 4, static_cast<std::uint32_t>(b.size()));

    (void)check_frame(b);
    auto r = decode(b);
    if (r.ok()) {
      ++accepted;
      // Whatever we accepted re-encodes to something we accept again.
      auto again = decode(encode(*r));
      REQUIRE(again.ok());
      CHECK(again->hdr.sender == r->hdr.sender);
      CHECK(again->gossip == r->gossip);
    } else {
      ++rejected;
      CHECK(r.error().code == Errc::protocol);
      CHECK_FALSE(r.error().message.empty());
    }
  }
  // Both paths were exercised, or the test proves nothing.
  CHECK(accepted > 500);
  CHECK(rejected > 500);
}
