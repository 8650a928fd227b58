// The cluster bus wire codec: Redis 7.0's clusterMsg, byte for byte.
//
// This file owns the format of every packet two cluster nodes exchange on the bus port (data port
// + 10000): the 2256-byte header every message starts with, the per-type payloads (gossip entries
// and ping extensions for PING/PONG/MEET, the node name of FAIL, the channel and message of
// PUBLISH, the slot bitmap of UPDATE, the module payload of MODULE), the framing a reader applies
// to the first 8 bytes of a stream, and the validation Redis applies before it acts on a packet.
// It owns nothing else: what a packet *means* (failure reports, epochs, slot ownership) lives in
// gossip.cpp, failure_detection.cpp, election.cpp and slot_config.cpp.
//
// The layout is Redis 7.0.15's src/cluster.h (clusterMsg, clusterMsgDataGossip, clusterMsgPingExt).
// Redis sends its C structs as they lie in memory, converting integers with htons/htonl/htonu64, so
// the wire format is those structs' offsets with every integer big-endian. We never overlay a
// struct on the bytes: the offsets are named constants (namespace `layout` below, each one
// static_asserted against Redis's number and against the previous field's end in bus_message.cpp)
// and integers go through explicit big-endian loads and stores.
//
// Decoding is the hot path of a 1,000-node simulation (~266k packets per simulated second), so
// decode_into() lets the caller reuse one Message (and its gossip vector's capacity), the slot
// bitmap is a single memcpy, and encode() sizes its output once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/result.hpp"
#include "node/types.hpp"

namespace slotlab::bus {

inline constexpr std::size_t kHeaderSize = 2256;       // CLUSTERMSG_MIN_LEN == offsetof(clusterMsg, data)
inline constexpr std::size_t kGossipEntrySize = 104;   // sizeof(clusterMsgDataGossip)
inline constexpr std::size_t kFullMessageSize = 4352;  // sizeof(clusterMsg): header + the largest payload (UPDATE)
inline constexpr std::size_t kIpLen = 46;              // NET_IP_STR_LEN (INET6_ADDRSTRLEN), NUL included
inline constexpr std::size_t kSlotBitmapSize = kSlotCount / 8;  // 2048
inline constexpr std::size_t kPingExtHeaderSize = 8;   // clusterMsgPingExt: u32 length, u16 type, u16 unused
inline constexpr std::uint16_t kProtocolVersion = 1;   // CLUSTER_PROTO_VER

// Fixed lengths (totlen) of the message types whose length does not depend on their content, and
// the minimum lengths of the variable ones (everything before their bulk data).
inline constexpr std::size_t kFailMessageSize = kHeaderSize + kNodeIdLen;              // 2296
inline constexpr std::size_t kUpdateMessageSize = kHeaderSize + 8 + kNodeIdLen + kSlotBitmapSize;  // 4352
inline constexpr std::size_t kPublishMinSize = kHeaderSize + 8;   // u32 channel_len, u32 message_len: 2264
inline constexpr std::size_t kModuleMinSize = kHeaderSize + 13;   // u64 module_id, u32 len, u8 type: 2269

// CLUSTERMSG_TYPE_*. A received packet may carry any 16-bit value here: Redis assumes a type it
// does not know is well formed and still processes its header, and so does decode() (the value is
// kept as is; see is_known()).
enum class MsgType : std::uint16_t {
  ping = 0,
  pong = 1,
  meet = 2,
  fail = 3,
  publish = 4,
  failover_auth_request = 5,
  failover_auth_ack = 6,
  update = 7,
  mfstart = 8,
  module = 9,
  publishshard = 10,
};
inline constexpr std::uint16_t kMsgTypeCount = 11;  // CLUSTERMSG_TYPE_COUNT

inline constexpr bool is_known(MsgType t) { return static_cast<std::uint16_t>(t) < kMsgTypeCount; }
// PING, PONG and MEET carry the gossip section and the ping extensions.
inline constexpr bool carries_gossip(MsgType t) {
  return t == MsgType::ping || t == MsgType::pong || t == MsgType::meet;
}
// Redis's own name for a type (clusterGetMessageTypeString): "ping", "auth-req", ..., "unknown".
// CLUSTER INFO's cluster_stats_messages_<name>_sent/received use these.
std::string_view type_name(MsgType t);

// Node flags as they travel on the wire (header `flags`, gossip `flags`): CLUSTER_NODE_*.
inline constexpr std::uint16_t kFlagMaster = 1;
inline constexpr std::uint16_t kFlagSlave = 2;
inline constexpr std::uint16_t kFlagPfail = 4;
inline constexpr std::uint16_t kFlagFail = 8;
inline constexpr std::uint16_t kFlagMyself = 16;
inline constexpr std::uint16_t kFlagHandshake = 32;
inline constexpr std::uint16_t kFlagNoaddr = 64;
inline constexpr std::uint16_t kFlagMeet = 128;
inline constexpr std::uint16_t kFlagMigrateTo = 256;
inline constexpr std::uint16_t kFlagNofailover = 512;

// Message flags, mflags[0] (CLUSTERMSG_FLAG0_*). mflags[1] and mflags[2] are unused in 7.0.
inline constexpr std::uint8_t kMflagPaused = 1;    // primary paused for a manual failover
inline constexpr std::uint8_t kMflagForceAck = 2;  // AUTH_REQUEST: vote even if the primary is up
inline constexpr std::uint8_t kMflagExtData = 4;   // PING/PONG/MEET: ping extensions follow the gossip

// Ping extension types (clusterMsgPingtypes). 7.0 knows only HOSTNAME; 7.2 added the other three
// and always sends SHARDID, so a 7.0 node in a mixed cluster sees them as unknown and skips them.
inline constexpr std::uint16_t kExtHostname = 0;
inline constexpr std::uint16_t kExtHumanNodename = 1;  // 7.2
inline constexpr std::uint16_t kExtForgottenNode = 2;  // 7.2
inline constexpr std::uint16_t kExtShardId = 3;        // 7.2

// Byte offsets of every field, as static_asserted in Redis's cluster.h. Header fields are relative
// to the start of the packet, gossip fields to the start of their 104-byte entry, payload fields to
// kHeaderSize (the `data` union).
namespace layout {
inline constexpr std::size_t kSig = 0;             // char[4] "RCmb"
inline constexpr std::size_t kTotlen = 4;          // u32
inline constexpr std::size_t kVer = 8;             // u16
inline constexpr std::size_t kPort = 10;           // u16
inline constexpr std::size_t kType = 12;           // u16
inline constexpr std::size_t kCount = 14;          // u16
inline constexpr std::size_t kCurrentEpoch = 16;   // u64
inline constexpr std::size_t kConfigEpoch = 24;    // u64
inline constexpr std::size_t kOffset = 32;         // u64
inline constexpr std::size_t kSender = 40;         // char[40]
inline constexpr std::size_t kMyslots = 80;        // u8[2048]
inline constexpr std::size_t kSlaveof = 2128;      // char[40]
inline constexpr std::size_t kMyip = 2168;         // char[46]
inline constexpr std::size_t kExtensions = 2214;   // u16
inline constexpr std::size_t kNotused1 = 2216;     // char[30]
inline constexpr std::size_t kNotused1Size = 30;
inline constexpr std::size_t kPport = 2246;        // u16
inline constexpr std::size_t kCport = 2248;        // u16
inline constexpr std::size_t kFlags = 2250;        // u16
inline constexpr std::size_t kState = 2252;        // u8
inline constexpr std::size_t kMflags = 2253;       // u8[3]
inline constexpr std::size_t kData = 2256;

namespace gossip {
inline constexpr std::size_t kName = 0;            // char[40]
inline constexpr std::size_t kPingSent = 40;       // u32, seconds
inline constexpr std::size_t kPongReceived = 44;   // u32, seconds
inline constexpr std::size_t kIp = 48;             // char[46]
inline constexpr std::size_t kPort = 94;           // u16
inline constexpr std::size_t kCport = 96;          // u16
inline constexpr std::size_t kFlags = 98;          // u16
inline constexpr std::size_t kPport = 100;         // u16
inline constexpr std::size_t kNotused1 = 102;      // u16, zero
}  // namespace gossip

namespace ext {  // clusterMsgPingExt, relative to the extension's start
inline constexpr std::size_t kLength = 0;          // u32, header included, a multiple of 8
inline constexpr std::size_t kType = 4;            // u16
inline constexpr std::size_t kUnused = 6;          // u16
inline constexpr std::size_t kData = 8;
}  // namespace ext

namespace fail {  // clusterMsgDataFail
inline constexpr std::size_t kName = 0;            // char[40]
}  // namespace fail

namespace publish {  // clusterMsgDataPublish
inline constexpr std::size_t kChannelLen = 0;      // u32
inline constexpr std::size_t kMessageLen = 4;      // u32
inline constexpr std::size_t kBulkData = 8;        // channel bytes, then message bytes
}  // namespace publish

namespace update {  // clusterMsgDataUpdate
inline constexpr std::size_t kConfigEpoch = 0;     // u64
inline constexpr std::size_t kName = 8;            // char[40]
inline constexpr std::size_t kSlots = 48;          // u8[2048]
}  // namespace update

namespace module_msg {  // clusterMsgModule
inline constexpr std::size_t kModuleId = 0;        // u64, copied raw (not byte-swapped)
inline constexpr std::size_t kLen = 8;             // u32
inline constexpr std::size_t kType = 12;           // u8
inline constexpr std::size_t kBulkData = 13;       // payload, unaligned
}  // namespace module_msg
}  // namespace layout

// 16384 slots, one bit each: slot s is bit (1 << (s & 7)) of byte s / 8, least significant bit
// first, the in-memory layout of clusterNode.slots that Redis copies to the wire unchanged.
struct SlotBitmap {
  std::array<std::uint8_t, kSlotBitmapSize> bytes{};

  // Inline: these run 16384 times per slot-table scan.
  bool test(Slot s) const {
    SLOTLAB_ASSERT(s < kSlotCount);
    return (bytes[s >> 3] & (1u << (s & 7))) != 0;
  }
  void set(Slot s) {
    SLOTLAB_ASSERT(s < kSlotCount);
    bytes[s >> 3] = static_cast<std::uint8_t>(bytes[s >> 3] | (1u << (s & 7)));
  }
  void clear(Slot s) {
    SLOTLAB_ASSERT(s < kSlotCount);
    bytes[s >> 3] = static_cast<std::uint8_t>(bytes[s >> 3] & ~(1u << (s & 7)));
  }
  std::size_t count() const;  // number of slots set
  bool operator==(const SlotBitmap&) const = default;
};

// A NUL-padded IP address field (NET_IP_STR_LEN = 46 bytes), stored inline. from() keeps at most
// 45 characters so the field always ends with a NUL, as Redis's strncpy(..., NET_IP_STR_LEN-1)
// does; view() stops at the first NUL and never looks at byte 45, the way Redis forces
// buf[NET_IP_STR_LEN-1] = '\0' before trusting a received address. decode() keeps all 46 raw
// bytes, so encode(decode(x)) reproduces them.
struct IpString {
  std::array<char, kIpLen> bytes{};

  std::string_view view() const;
  static IpString from(std::string_view ip);
  bool operator==(const IpString&) const = default;
};

// Every field of clusterMsg before `data`, in host order. `sig` and `totlen` are not here: encode()
// writes them and decode() checks them. `notused1` (30 reserved bytes) is written as zeros.
struct Header {
  std::uint16_t version = kProtocolVersion;
  std::uint16_t port = 0;     // client port (the TLS port when tls-cluster is on)
  MsgType type = MsgType::ping;
  std::uint16_t count = 0;    // gossip entries; encode() sets it for PING/PONG/MEET
  std::uint64_t current_epoch = 0;
  std::uint64_t config_epoch = 0;  // a replica sends its primary's
  std::uint64_t offset = 0;        // replication offset
  NodeId sender;
  SlotBitmap myslots;              // a replica sends its primary's
  NodeId slaveof;                  // all zero: the sender is a primary
  IpString myip;                   // announced IP, or all zero: use the socket's peer address
  std::uint16_t extensions = 0;    // ping extensions; encode() sets it for PING/PONG/MEET
  std::uint16_t pport = 0;         // plaintext port when `port` is TLS
  std::uint16_t cport = 0;         // cluster bus port
  std::uint16_t flags = 0;         // kFlag*
  std::uint8_t state = 0;          // 0 ok, 1 fail, from the sender's point of view
  std::array<std::uint8_t, 3> mflags{};  // kMflag* in mflags[0]

  bool operator==(const Header&) const = default;
};

// clusterMsgDataGossip: what the sender knows about one other node. Times are whole seconds
// (Redis divides its millisecond clocks by 1000 on the way out).
struct GossipEntry {
  NodeId name;
  std::uint32_t ping_sent_s = 0;
  std::uint32_t pong_received_s = 0;
  IpString ip;
  std::uint16_t port = 0;
  std::uint16_t cport = 0;
  std::uint16_t flags = 0;
  std::uint16_t pport = 0;

  bool operator==(const GossipEntry&) const = default;
};

// One decoded packet. Only the members that belong to hdr.type are meaningful; the others keep
// their defaults.
struct Message {
  Header hdr;
  std::vector<GossipEntry> gossip;        // PING / PONG / MEET
  std::optional<std::string> hostname;    // ping extension HOSTNAME, if present (the last one wins)
  std::vector<std::uint16_t> unknown_extension_types;  // skipped extensions, for logging
  NodeId fail_about;                      // FAIL
  std::string channel, payload;           // PUBLISH / PUBLISHSHARD (payload is also MODULE's)
  std::uint64_t update_config_epoch = 0;  // UPDATE
  NodeId update_node;                     // UPDATE
  SlotBitmap update_slots;                // UPDATE
  std::array<std::uint8_t, 8> module_id{};  // MODULE, raw bytes as the sender's memory held them
  std::uint8_t module_type = 0;             // MODULE

  bool operator==(const Message&) const = default;
};

// Framing, as clusterReadHandler does once it holds the first 8 bytes of a packet: a wrong "RCmb"
// signature or a totlen below the header size means the stream is garbage, and the only recovery
// is to close the link (the peer reconnects and starts a fresh stream). Redis sets no upper bound
// on totlen; neither do we.
enum class FrameVerdict { need_more, ok, close_link };
struct Frame {
  FrameVerdict verdict = FrameVerdict::need_more;
  std::uint32_t totlen = 0;  // valid when verdict == ok: the whole packet's length
  std::string reason;        // set when verdict == close_link
};
Frame check_frame(std::string_view first_bytes);  // looks at the first 8 bytes only

// Validates and decodes one whole packet (packet.size() must equal its totlen), with the checks of
// clusterReadHandler and clusterProcessPacket: signature, version 1, and a totlen equal to the
// length the type implies (for PING/PONG/MEET: header + count gossip entries + the extensions,
// which are walked only when EXT_DATA is set). Packets that fail are to be dropped: the Error
// (Errc::protocol) says what is wrong and where. Stricter than Redis where Redis would read out of
// bounds: an extension must be at least its 8-byte header long, and lengths are added in 64 bits
// (Redis's u32 sum of PUBLISH channel_len + message_len can wrap). Never reads outside `packet`.
Result<Message> decode(std::string_view packet);
// The same, into a caller-owned Message whose vectors' capacity is reused. On error `out` holds
// unspecified (but valid) contents.
Result<void> decode_into(std::string_view packet, Message& out);

// The totlen encode() will write for `msg`.
std::size_t encoded_size(const Message& msg);

// Encodes `msg` and appends it to `out`. encode() computes totlen; for PING/PONG/MEET it also sets
// count from msg.gossip, and extensions and the EXT_DATA flag from msg.hostname (the only extension
// we send, as 7.0 does: NUL-terminated, zero-padded to a multiple of 8, as writePingExt does).
// For the other types count, extensions and mflags are written as given in msg.hdr.
void encode(const Message& msg, std::string& out);
std::string encode(const Message& msg);

}  // namespace slotlab::bus
