// The cluster bus wire codec (see bus_message.hpp): Redis 7.0's clusterMsg encoded and decoded
// field by field at fixed offsets with explicit big-endian loads and stores.
//
// Why no packed struct: Redis itself casts its receive buffer to clusterMsg*, which relies on the
// compiler laying the struct out with no padding and on unaligned access being fine. We get the same
// bytes without either assumption, and every read is bounds-checked against the packet first, so a
// hostile or corrupted packet can at worst be rejected.
//
// The validation follows clusterProcessPacket (src/cluster.c, 7.0.15): it computes the length the
// type implies ("explen") and drops the packet when totlen differs. The places where we are stricter
// than Redis are all cases where Redis would read past the packet, and are noted where they happen.

#include "node/bus_message.hpp"
#include "node/buffer_pool.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace slotlab::bus {

// ---------------------------------------------------------------------------------------------
// Layout. Each offset equals Redis's static_assert'ed number and the previous field's end, which
// together prove the fields are contiguous with no padding, exactly as clusterMsg lies in memory.
namespace L = layout;

static_assert(L::kSig == 0);
static_assert(L::kTotlen == 4 && L::kTotlen == L::kSig + 4);
static_assert(L::kVer == 8 && L::kVer == L::kTotlen + 4);
static_assert(L::kPort == 10 && L::kPort == L::kVer + 2);
static_assert(L::kType == 12 && L::kType == L::kPort + 2);
static_assert(L::kCount == 14 && L::kCount == L::kType + 2);
static_assert(L::kCurrentEpoch == 16 && L::kCurrentEpoch == L::kCount + 2);
static_assert(L::kConfigEpoch == 24 && L::kConfigEpoch == L::kCurrentEpoch + 8);
static_assert(L::kOffset == 32 && L::kOffset == L::kConfigEpoch + 8);
static_assert(L::kSender == 40 && L::kSender == L::kOffset + 8);
static_assert(L::kMyslots == 80 && L::kMyslots == L::kSender + kNodeIdLen);
static_assert(L::kSlaveof == 2128 && L::kSlaveof == L::kMyslots + kSlotBitmapSize);
static_assert(L::kMyip == 2168 && L::kMyip == L::kSlaveof + kNodeIdLen);
static_assert(L::kExtensions == 2214 && L::kExtensions == L::kMyip + kIpLen);
static_assert(L::kNotused1 == 2216 && L::kNotused1 == L::kExtensions + 2);
static_assert(L::kPport == 2246 && L::kPport == L::kNotused1 + L::kNotused1Size);
static_assert(L::kCport == 2248 && L::kCport == L::kPport + 2);
static_assert(L::kFlags == 2250 && L::kFlags == L::kCport + 2);
static_assert(L::kState == 2252 && L::kState == L::kFlags + 2);
static_assert(L::kMflags == 2253 && L::kMflags == L::kState + 1);
static_assert(L::kData == 2256 && L::kData == L::kMflags + 3);
static_assert(kHeaderSize == L::kData);

static_assert(L::gossip::kName == 0);
static_assert(L::gossip::kPingSent == 40 && L::gossip::kPingSent == L::gossip::kName + kNodeIdLen);
static_assert(L::gossip::kPongReceived == 44 && L::gossip::kPongReceived == L::gossip::kPingSent + 4);
static_assert(L::gossip::kIp == 48 && L::gossip::kIp == L::gossip::kPongReceived + 4);
static_assert(L::gossip::kPort == 94 && L::gossip::kPort == L::gossip::kIp + kIpLen);
static_assert(L::gossip::kCport == 96 && L::gossip::kCport == L::gossip::kPort + 2);
static_assert(L::gossip::kFlags == 98 && L::gossip::kFlags == L::gossip::kCport + 2);
static_assert(L::gossip::kPport == 100 && L::gossip::kPport == L::gossip::kFlags + 2);
static_assert(L::gossip::kNotused1 == 102 && L::gossip::kNotused1 == L::gossip::kPport + 2);
static_assert(kGossipEntrySize == 104 && kGossipEntrySize == L::gossip::kNotused1 + 2);

static_assert(L::ext::kType == L::ext::kLength + 4 && L::ext::kUnused == L::ext::kType + 2);
static_assert(kPingExtHeaderSize == 8 && L::ext::kData == kPingExtHeaderSize);

// FAIL: clusterMsgDataFail is just the name.
static_assert(kFailMessageSize == 2296);
// PUBLISH: Redis computes sizeof(clusterMsgDataPublish) - 8 + lengths, i.e. 16 - 8 (the bulk_data
// placeholder) = the two u32 lengths, then the bytes.
static_assert(L::publish::kMessageLen == L::publish::kChannelLen + 4);
static_assert(L::publish::kBulkData == L::publish::kMessageLen + 4);
static_assert(kPublishMinSize == 2264 && kPublishMinSize == kHeaderSize + L::publish::kBulkData);
// UPDATE is the largest payload, so its totlen is sizeof(clusterMsg).
static_assert(L::update::kName == L::update::kConfigEpoch + 8);
static_assert(L::update::kSlots == L::update::kName + kNodeIdLen);
static_assert(kUpdateMessageSize == kHeaderSize + L::update::kSlots + kSlotBitmapSize);
static_assert(kUpdateMessageSize == 4352 && kFullMessageSize == kUpdateMessageSize);
// MODULE: sizeof(clusterMsgModule) is 16 (8 + 4 + 1 + a 3-byte placeholder); Redis computes
// 16 - 3 + len, so the payload starts at byte 13 of the data, unaligned.
static_assert(L::module_msg::kLen == L::module_msg::kModuleId + 8);
static_assert(L::module_msg::kType == L::module_msg::kLen + 4);
static_assert(L::module_msg::kBulkData == L::module_msg::kType + 1);
static_assert(kModuleMinSize == 2269 && kModuleMinSize == kHeaderSize + L::module_msg::kBulkData);

namespace {

// ---------------------------------------------------------------------------------------------
// Big-endian loads and stores (htons/htonl/htonu64 on the sending side). Bytes are read through
// unsigned char so that no sign extension sneaks in.
inline std::uint8_t byte_at(const char* p) { return static_cast<std::uint8_t>(*p); }

inline std::uint16_t load_u16(const char* p) {
  return static_cast<std::uint16_t>((static_cast<unsigned>(byte_at(p)) << 8) | byte_at(p + 1));
}
inline std::uint32_t load_u32(const char* p) {
  return (static_cast<std::uint32_t>(byte_at(p)) << 24) | (static_cast<std::uint32_t>(byte_at(p + 1)) << 16) |
         (static_cast<std::uint32_t>(byte_at(p + 2)) << 8) | static_cast<std::uint32_t>(byte_at(p + 3));
}
inline std::uint64_t load_u64(const char* p) {
  return (static_cast<std::uint64_t>(load_u32(p)) << 32) | load_u32(p + 4);
}
inline void store_u16(char* p, std::uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v & 0xffu);
}
inline void store_u32(char* p, std::uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>((v >> 16) & 0xffu);
  p[2] = static_cast<char>((v >> 8) & 0xffu);
  p[3] = static_cast<char>(v & 0xffu);
}
inline void store_u64(char* p, std::uint64_t v) {
  store_u32(p, static_cast<std::uint32_t>(v >> 32));
  store_u32(p + 4, static_cast<std::uint32_t>(v & 0xffffffffu));
}

constexpr char kSignature[4] = {'R', 'C', 'm', 'b'};

constexpr std::size_t align8(std::size_t n) { return (n + 7) / 8 * 8; }  // EIGHT_BYTE_ALIGN

// The HOSTNAME extension as writePingExt builds it: 8-byte header, the name, a NUL, zero padding
// to the next multiple of 8. A 7-character name takes 16 bytes, an 8-character one 24.
constexpr std::size_t hostname_ext_size(std::size_t hostname_len) {
  return kPingExtHeaderSize + align8(hostname_len + 1);
}

// Names for our error messages (Redis's own log names are type_name()).
std::string_view upper_name(MsgType t) {
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
  return "UNKNOWN";
}

template <class... Args>
Error protocol_error(fmt::format_string<Args...> format, Args&&... args) {
  return make_error(Errc::protocol, fmt::format(format, std::forward<Args>(args)...));
}

// A packet of a fixed-length type: totlen must be exactly that length.
Result<void> expect_length(MsgType t, std::uint32_t totlen, std::size_t expected) {
  if (totlen != expected) return protocol_error("{} message length {} != expected {}", upper_name(t), totlen, expected);
  return {};
}

void decode_header(const char* p, Header& h) {
  h.version = load_u16(p + L::kVer);
  h.port = load_u16(p + L::kPort);
  h.type = static_cast<MsgType>(load_u16(p + L::kType));
  h.count = load_u16(p + L::kCount);
  h.current_epoch = load_u64(p + L::kCurrentEpoch);
  h.config_epoch = load_u64(p + L::kConfigEpoch);
  h.offset = load_u64(p + L::kOffset);
  h.sender = NodeId::from_bytes(p + L::kSender);
  std::memcpy(h.myslots.bytes.data(), p + L::kMyslots, kSlotBitmapSize);
  h.slaveof = NodeId::from_bytes(p + L::kSlaveof);
  std::memcpy(h.myip.bytes.data(), p + L::kMyip, kIpLen);
  h.extensions = load_u16(p + L::kExtensions);
  h.pport = load_u16(p + L::kPport);
  h.cport = load_u16(p + L::kCport);
  h.flags = load_u16(p + L::kFlags);
  h.state = byte_at(p + L::kState);
  std::memcpy(h.mflags.data(), p + L::kMflags, h.mflags.size());
}

// Everything but the header and the gossip entries goes back to its default, keeping the vectors'
// capacity. The gossip vector is sized by decode_gossip_message (every field of every entry is
// overwritten, so entries left from a previous packet are reused without being re-constructed) or
// cleared by decode_into for the other types.
void reset_payload(Message& m) {
  m.hostname.reset();
  m.unknown_extension_types.clear();
  m.fail_about = NodeId();
  m.channel.clear();
  m.payload.clear();
  m.update_config_epoch = 0;
  m.update_node = NodeId();
  m.update_slots = SlotBitmap{};
  m.module_id = {};
  m.module_type = 0;
}

void decode_gossip_entry(const char* e, GossipEntry& g) {
  g.name = NodeId::from_bytes(e + L::gossip::kName);
  g.ping_sent_s = load_u32(e + L::gossip::kPingSent);
  g.pong_received_s = load_u32(e + L::gossip::kPongReceived);
  std::memcpy(g.ip.bytes.data(), e + L::gossip::kIp, kIpLen);
  g.port = load_u16(e + L::gossip::kPort);
  g.cport = load_u16(e + L::gossip::kCport);
  g.flags = load_u16(e + L::gossip::kFlags);
  g.pport = load_u16(e + L::gossip::kPport);
}

// PING, PONG, MEET: header, `count` gossip entries, then (when EXT_DATA is set) `extensions` ping
// extensions, each an 8-byte header and a body, its length a multiple of 8 and header included.
Result<void> decode_gossip_message(const char* p, std::uint32_t totlen, Message& out) {
  const Header& h = out.hdr;
  const MsgType t = h.type;
  const std::size_t gossip_end = kHeaderSize + kGossipEntrySize * h.count;  // <= 2256 + 104 * 65535
  if (gossip_end > totlen) {
    // Redis computes totlen - explen in u32 here, which wraps, and reads the "extensions" out of
    // bounds before its final length check drops the packet. We stop before reading anything.
    out.gossip.clear();
    return protocol_error("{} message length {} is shorter than its {} gossip entries need ({} bytes)", upper_name(t),
                          totlen, h.count, gossip_end);
  }

  // Entries already in the vector (a reused Message) are overwritten in place; new ones are
  // appended fully built. Either way no entry is default-constructed and then overwritten.
  if (out.gossip.size() > h.count) out.gossip.resize(h.count);
  const std::size_t reused = out.gossip.size();
  out.gossip.reserve(h.count);
  for (std::size_t i = 0; i < h.count; ++i) {
    const char* e = p + kHeaderSize + i * kGossipEntrySize;
    if (i < reused) {
      decode_gossip_entry(e, out.gossip[i]);
    } else {
      GossipEntry g;
      decode_gossip_entry(e, g);
      out.gossip.push_back(g);
    }
  }

  // Redis validates and walks the extensions only when EXT_DATA is set. (Its processing step,
  // clusterProcessPingExtensions, then loops over hdr.extensions whatever the flag says, reading
  // past the packet if a sender set a count without the flag; no Redis sends that, and we treat
  // such a count as zero extensions.)
  std::size_t pos = gossip_end;
  if ((h.mflags[0] & kMflagExtData) != 0) {
    for (unsigned i = 0; i < h.extensions; ++i) {
      if (totlen - pos < kPingExtHeaderSize) {
        return protocol_error("{} extension {} of {} at offset {}: the 8-byte extension header runs past totlen {}",
                              upper_name(t), i + 1, h.extensions, pos, totlen);
      }
      const char* x = p + pos;
      const std::uint32_t len = load_u32(x + L::ext::kLength);
      const std::uint16_t type = load_u16(x + L::ext::kType);
      // Redis checks only len % 8 (after truncating len to 16 bits) and that it fits; a zero
      // length passes there and makes it read the same extension again. We require the header.
      if (len < kPingExtHeaderSize) {
        return protocol_error("{} extension {} of {} at offset {}: length {} is shorter than the 8-byte extension header",
                              upper_name(t), i + 1, h.extensions, pos, len);
      }
      if (len % 8 != 0) {
        return protocol_error("{} extension {} of {} at offset {}: length {} is not a multiple of 8", upper_name(t),
                              i + 1, h.extensions, pos, len);
      }
      if (len > totlen - pos) {
        return protocol_error("{} extension {} of {} at offset {}: length {} runs past totlen {}", upper_name(t), i + 1,
                              h.extensions, pos, len, totlen);
      }
      if (type == kExtHostname) {
        // A NUL-terminated name in a zero-padded body. Redis uses the body as a C string; we stop
        // at the body's end should the NUL be missing. Several HOSTNAME extensions: the last wins,
        // as in Redis.
        const char* body = x + L::ext::kData;
        const std::size_t body_len = len - kPingExtHeaderSize;
        const void* nul = std::memchr(body, 0, body_len);
        const std::size_t name_len = nul != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nul) - body) : body_len;
        if (!out.hostname) out.hostname.emplace();
        out.hostname->assign(body, name_len);
      } else {
        // A 7.0 node logs "Received unknown extension type %d" and skips it, trusting its length.
        out.unknown_extension_types.push_back(type);
      }
      pos += len;
    }
  }

  if (pos != totlen) {
    return protocol_error("{} message length {} != expected {} (count {}, extensions {}{})", upper_name(t), totlen, pos,
                          h.count, h.extensions, (h.mflags[0] & kMflagExtData) != 0 ? "" : ", EXT_DATA not set");
  }
  return {};
}

// PUBLISH, PUBLISHSHARD: u32 channel_len, u32 message_len, the channel bytes, the message bytes.
Result<void> decode_publish(const char* p, std::uint32_t totlen, Message& out) {
  const MsgType t = out.hdr.type;
  if (totlen < kPublishMinSize) {
    return protocol_error("{} message length {} is shorter than the {} bytes that hold its channel and message lengths",
                          upper_name(t), totlen, kPublishMinSize);
  }
  const char* d = p + kHeaderSize;
  const std::uint32_t channel_len = load_u32(d + L::publish::kChannelLen);
  const std::uint32_t message_len = load_u32(d + L::publish::kMessageLen);
  // In 64 bits: Redis's u32 explen wraps for lengths near 2^32 and can then "match" totlen.
  const std::uint64_t expected = std::uint64_t{kPublishMinSize} + channel_len + message_len;
  if (expected != totlen) {
    return protocol_error("{} message length {} != expected {} (channel_len {}, message_len {})", upper_name(t), totlen,
                          expected, channel_len, message_len);
  }
  out.channel.assign(d + L::publish::kBulkData, channel_len);
  out.payload.assign(d + L::publish::kBulkData + channel_len, message_len);
  return {};
}

// MODULE: u64 module_id (raw), u32 len, u8 type, then len payload bytes.
Result<void> decode_module(const char* p, std::uint32_t totlen, Message& out) {
  if (totlen < kModuleMinSize) {
    return protocol_error("MODULE message length {} is shorter than the {} bytes that hold its module id, length and type",
                          totlen, kModuleMinSize);
  }
  const char* d = p + kHeaderSize;
  const std::uint32_t len = load_u32(d + L::module_msg::kLen);
  const std::uint64_t expected = std::uint64_t{kModuleMinSize} + len;
  if (expected != totlen) return protocol_error("MODULE message length {} != expected {} (len {})", totlen, expected, len);
  std::memcpy(out.module_id.data(), d + L::module_msg::kModuleId, out.module_id.size());
  out.module_type = byte_at(d + L::module_msg::kType);
  out.payload.assign(d + L::module_msg::kBulkData, len);
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Small types.

namespace {
// std::popcount compiles to a libgcc call per word unless the target has POPCNT (the default
// x86-64 baseline does not); the harness's invariant check counts N bitmaps per node per check,
// so on x86-64 pick the instruction at run time when the CPU has it. Same result either way.
template <class Word>
std::size_t count_bits(const std::uint8_t* p, std::size_t n) {
  std::size_t bits = 0;
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, sizeof word);
    bits += static_cast<std::size_t>(std::popcount(static_cast<Word>(word)));
  }
  return bits;
}
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt"))) std::size_t count_bits_popcnt(const std::uint8_t* p, std::size_t n) {
  std::size_t bits = 0;
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, sizeof word);
    bits += static_cast<std::size_t>(__builtin_popcountll(word));
  }
  return bits;
}
const bool kHasPopcnt = [] {
  __builtin_cpu_init();  // this initializer may run before libgcc's own constructor
  return __builtin_cpu_supports("popcnt") != 0;
}();
#endif
}  // namespace

std::size_t SlotBitmap::count() const {
#if defined(__x86_64__) && defined(__GNUC__)
  if (kHasPopcnt) return count_bits_popcnt(bytes.data(), bytes.size());
#endif
  return count_bits<std::uint64_t>(bytes.data(), bytes.size());
}

std::string_view IpString::view() const {
  const void* nul = std::memchr(bytes.data(), 0, kIpLen - 1);
  const std::size_t len = nul != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nul) - bytes.data()) : kIpLen - 1;
  return {bytes.data(), len};
}

IpString IpString::from(std::string_view ip) {
  IpString s;
  std::memcpy(s.bytes.data(), ip.data(), std::min(ip.size(), kIpLen - 1));
  return s;
}

std::string_view type_name(MsgType t) {
  switch (t) {
    case MsgType::ping: return "ping";
    case MsgType::pong: return "pong";
    case MsgType::meet: return "meet";
    case MsgType::fail: return "fail";
    case MsgType::publish: return "publish";
    case MsgType::publishshard: return "publishshard";
    case MsgType::failover_auth_request: return "auth-req";
    case MsgType::failover_auth_ack: return "auth-ack";
    case MsgType::update: return "update";
    case MsgType::mfstart: return "mfstart";
    case MsgType::module: return "module";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Framing.

Frame check_frame(std::string_view first_bytes) {
  Frame f;
  if (first_bytes.size() < 8) return f;  // need_more
  const char* p = first_bytes.data();
  if (std::memcmp(p + L::kSig, kSignature, sizeof kSignature) != 0) {
    f.verdict = FrameVerdict::close_link;
    f.reason = fmt::format("bad signature {:02x} {:02x} {:02x} {:02x} (expected \"RCmb\")", byte_at(p), byte_at(p + 1),
                           byte_at(p + 2), byte_at(p + 3));
    return f;
  }
  const std::uint32_t totlen = load_u32(p + L::kTotlen);
  if (totlen < kHeaderSize) {
    f.verdict = FrameVerdict::close_link;
    f.totlen = totlen;
    f.reason = fmt::format("totlen {} is shorter than the {}-byte header", totlen, kHeaderSize);
    return f;
  }
  f.verdict = FrameVerdict::ok;
  f.totlen = totlen;
  return f;
}

// ---------------------------------------------------------------------------------------------
// Decoding.

Result<void> decode_into(std::string_view packet, Message& out) {
  const std::size_t size = packet.size();
  if (size < kHeaderSize) {
    return protocol_error("packet of {} bytes is shorter than the {}-byte header", size, kHeaderSize);
  }
  const char* p = packet.data();
  if (std::memcmp(p + L::kSig, kSignature, sizeof kSignature) != 0) {
    return protocol_error("bad signature {:02x} {:02x} {:02x} {:02x} (expected \"RCmb\")", byte_at(p), byte_at(p + 1),
                          byte_at(p + 2), byte_at(p + 3));
  }
  const std::uint32_t totlen = load_u32(p + L::kTotlen);
  if (totlen != size) return protocol_error("totlen {} != packet size {} (truncated or framed wrongly)", totlen, size);

  decode_header(p, out.hdr);
  reset_payload(out);
  if (!carries_gossip(out.hdr.type)) out.gossip.clear();
  if (out.hdr.version != kProtocolVersion) {
    return protocol_error("{} message with protocol version {} (only {} is understood)", upper_name(out.hdr.type),
                          out.hdr.version, kProtocolVersion);
  }

  const MsgType t = out.hdr.type;
  switch (t) {
    case MsgType::ping:
    case MsgType::pong:
    case MsgType::meet:
      return decode_gossip_message(p, totlen, out);
    case MsgType::fail: {
      if (auto r = expect_length(t, totlen, kFailMessageSize); !r) return r;
      out.fail_about = NodeId::from_bytes(p + kHeaderSize + L::fail::kName);
      return {};
    }
    case MsgType::publish:
    case MsgType::publishshard:
      return decode_publish(p, totlen, out);
    case MsgType::failover_auth_request:
    case MsgType::failover_auth_ack:
    case MsgType::mfstart:
      return expect_length(t, totlen, kHeaderSize);
    case MsgType::update: {
      if (auto r = expect_length(t, totlen, kUpdateMessageSize); !r) return r;
      const char* d = p + kHeaderSize;
      out.update_config_epoch = load_u64(d + L::update::kConfigEpoch);
      out.update_node = NodeId::from_bytes(d + L::update::kName);
      std::memcpy(out.update_slots.bytes.data(), d + L::update::kSlots, kSlotBitmapSize);
      return {};
    }
    case MsgType::module:
      return decode_module(p, totlen, out);
  }
  // A type we do not know: Redis assumes it is well formed (explen = totlen) and still processes
  // the header (epochs, replication offset). The caller sees the raw type and no payload.
  return {};
}

Result<Message> decode(std::string_view packet) {
  Message m;
  if (auto r = decode_into(packet, m); !r) return r.error();
  return m;
}

// ---------------------------------------------------------------------------------------------
// Encoding.

std::size_t encoded_size(const Message& msg) {
  switch (msg.hdr.type) {
    case MsgType::ping:
    case MsgType::pong:
    case MsgType::meet:
      return kHeaderSize + kGossipEntrySize * msg.gossip.size() +
             (msg.hostname ? hostname_ext_size(msg.hostname->size()) : 0);
    case MsgType::fail: return kFailMessageSize;
    case MsgType::publish:
    case MsgType::publishshard: return kPublishMinSize + msg.channel.size() + msg.payload.size();
    case MsgType::update: return kUpdateMessageSize;
    case MsgType::module: return kModuleMinSize + msg.payload.size();
    case MsgType::failover_auth_request:
    case MsgType::failover_auth_ack:
    case MsgType::mfstart: return kHeaderSize;
  }
  return kHeaderSize;
}

void encode(const Message& msg, std::string& out) {
  const Header& h = msg.hdr;
  const MsgType t = h.type;
  const bool gossip = carries_gossip(t);
  const std::size_t total = encoded_size(msg);
  // Our own limits, not the peer's: the caller built a message the wire cannot carry.
  SLOTLAB_ASSERT(total <= std::numeric_limits<std::uint32_t>::max());
  SLOTLAB_ASSERT(!gossip || msg.gossip.size() <= std::numeric_limits<std::uint16_t>::max());

  // One allocation, zero-filled: notused1, gossip padding and extension padding stay zero, as in
  // Redis's memset/zcalloc'ed buffers.
  const std::size_t start = out.size();
  out.resize(start + total);
  char* p = out.data() + start;

  std::uint16_t count = h.count;
  std::uint16_t extensions = h.extensions;
  std::array<std::uint8_t, 3> mflags = h.mflags;
  if (gossip) {
    count = static_cast<std::uint16_t>(msg.gossip.size());
    extensions = msg.hostname ? 1 : 0;
    mflags[0] = static_cast<std::uint8_t>(msg.hostname ? (mflags[0] | kMflagExtData) : (mflags[0] & ~kMflagExtData));
  }

  std::memcpy(p + L::kSig, kSignature, sizeof kSignature);
  store_u32(p + L::kTotlen, static_cast<std::uint32_t>(total));
  store_u16(p + L::kVer, h.version);
  store_u16(p + L::kPort, h.port);
  store_u16(p + L::kType, static_cast<std::uint16_t>(t));
  store_u16(p + L::kCount, count);
  store_u64(p + L::kCurrentEpoch, h.current_epoch);
  store_u64(p + L::kConfigEpoch, h.config_epoch);
  store_u64(p + L::kOffset, h.offset);
  std::memcpy(p + L::kSender, h.sender.data(), kNodeIdLen);
  std::memcpy(p + L::kMyslots, h.myslots.bytes.data(), kSlotBitmapSize);
  std::memcpy(p + L::kSlaveof, h.slaveof.data(), kNodeIdLen);
  std::memcpy(p + L::kMyip, h.myip.bytes.data(), kIpLen);
  store_u16(p + L::kExtensions, extensions);
  store_u16(p + L::kPport, h.pport);
  store_u16(p + L::kCport, h.cport);
  store_u16(p + L::kFlags, h.flags);
  p[L::kState] = static_cast<char>(h.state);
  std::memcpy(p + L::kMflags, mflags.data(), mflags.size());

  char* d = p + kHeaderSize;
  switch (t) {
    case MsgType::ping:
    case MsgType::pong:
    case MsgType::meet: {
      char* e = d;
      for (const GossipEntry& g : msg.gossip) {
        std::memcpy(e + L::gossip::kName, g.name.data(), kNodeIdLen);
        store_u32(e + L::gossip::kPingSent, g.ping_sent_s);
        store_u32(e + L::gossip::kPongReceived, g.pong_received_s);
        std::memcpy(e + L::gossip::kIp, g.ip.bytes.data(), kIpLen);
        store_u16(e + L::gossip::kPort, g.port);
        store_u16(e + L::gossip::kCport, g.cport);
        store_u16(e + L::gossip::kFlags, g.flags);
        store_u16(e + L::gossip::kPport, g.pport);
        e += kGossipEntrySize;
      }
      if (msg.hostname) {
        const std::size_t ext_len = hostname_ext_size(msg.hostname->size());
        store_u32(e + L::ext::kLength, static_cast<std::uint32_t>(ext_len));
        store_u16(e + L::ext::kType, kExtHostname);
        std::memcpy(e + L::ext::kData, msg.hostname->data(), msg.hostname->size());  // NUL + padding: zero-filled
      }
      break;
    }
    case MsgType::fail:
      std::memcpy(d + L::fail::kName, msg.fail_about.data(), kNodeIdLen);
      break;
    case MsgType::publish:
    case MsgType::publishshard:
      store_u32(d + L::publish::kChannelLen, static_cast<std::uint32_t>(msg.channel.size()));
      store_u32(d + L::publish::kMessageLen, static_cast<std::uint32_t>(msg.payload.size()));
      std::memcpy(d + L::publish::kBulkData, msg.channel.data(), msg.channel.size());
      std::memcpy(d + L::publish::kBulkData + msg.channel.size(), msg.payload.data(), msg.payload.size());
      break;
    case MsgType::update:
      store_u64(d + L::update::kConfigEpoch, msg.update_config_epoch);
      std::memcpy(d + L::update::kName, msg.update_node.data(), kNodeIdLen);
      std::memcpy(d + L::update::kSlots, msg.update_slots.bytes.data(), kSlotBitmapSize);
      break;
    case MsgType::module:
      std::memcpy(d + L::module_msg::kModuleId, msg.module_id.data(), msg.module_id.size());
      store_u32(d + L::module_msg::kLen, static_cast<std::uint32_t>(msg.payload.size()));
      d[L::module_msg::kType] = static_cast<char>(msg.module_type);
      std::memcpy(d + L::module_msg::kBulkData, msg.payload.data(), msg.payload.size());
      break;
    case MsgType::failover_auth_request:
    case MsgType::failover_auth_ack:
    case MsgType::mfstart:
      break;
  }
}

std::string encode(const Message& msg) {
  std::string out = take_buffer();  // capacity only: handed out empty
  encode(msg, out);
  return out;
}

}  // namespace slotlab::bus
