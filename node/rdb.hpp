// RDB version 10 (Redis 7.0): the snapshot format of RDB files (SAVE, BGSAVE, SHUTDOWN, the AOF
// base file), full-resynchronisation payloads, and (its object part) DUMP/RESTORE payloads.
//
// This file owns:
//  - the primitive encodings: lengths (6/14/32/64-bit), strings (raw, integer-encoded like
//    rdbTryIntegerEncoding, LZF-compressed like rdbSaveLzfStringObject), millisecond times;
//  - values: strings, lists and hashes, written the way Redis 7.0 writes them (lists as
//    RDB_TYPE_LIST_QUICKLIST_2 with listpack nodes split at 8 KB as list-max-listpack-size -2 does;
//    hashes as RDB_TYPE_HASH_LISTPACK while they have <= 512 fields of <= 64 bytes, RDB_TYPE_HASH
//    otherwise), and read in every encoding 7.0 loads for those types (plain, ziplist, listpack,
//    quicklist v1/v2, PLAIN and PACKED quicklist nodes). Sets, sorted sets, streams and module
//    values are refused with an error naming the type and byte offset;
//  - whole files: magic, AUX fields, SELECTDB/RESIZEDB, EXPIRETIME(_MS), EOF, CRC64 trailer;
//  - DUMP payloads: object + RDB version (2 bytes LE) + CRC64 (8 bytes LE).
// The packed encodings live in rdb_packed.hpp, LZF in lzf.hpp. Everything read from outside is
// bounds-checked: corrupt input is an Error naming the byte offset, never a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/keyspace.hpp"
#include "node/lzf.hpp"
#include "node/result.hpp"
#include "node/types.hpp"

namespace slotlab::rdb {

inline constexpr int kVersion = 10;

enum Opcode : std::uint8_t {
  kOpFunction2 = 245,
  kOpFunction = 246,  // 7.0 release candidates only
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

// RDB_TYPE_* (rdb.h).
enum ObjectType : std::uint8_t {
  kTypeString = 0,
  kTypeList = 1,
  kTypeSet = 2,
  kTypeZset = 3,
  kTypeHash = 4,
  kTypeZset2 = 5,
  kTypeModule = 6,
  kTypeModule2 = 7,
  kTypeHashZipmap = 9,
  kTypeListZiplist = 10,
  kTypeSetIntset = 11,
  kTypeZsetZiplist = 12,
  kTypeHashZiplist = 13,
  kTypeListQuicklist = 14,
  kTypeStreamListpacks = 15,
  kTypeHashListpack = 16,
  kTypeZsetListpack = 17,
  kTypeListQuicklist2 = 18,
  kTypeStreamListpacks2 = 19,
};

// rdbIsObjectType: 0..7 and 9..19.
bool is_object_type(std::uint8_t type);
// "string", "list-quicklist-2", "set", ... for messages; "unknown" for anything else.
const char* object_type_name(std::uint8_t type);

// Redis 7.0's compiled-in encoding thresholds (config.c; the sample redis.conf says 128 entries,
// the server's default is 512), which decide how we write lists and hashes.
inline constexpr std::size_t kHashMaxListpackEntries = 512;   // hash-max-listpack-entries
inline constexpr std::size_t kHashMaxListpackValue = 64;      // hash-max-listpack-value
inline constexpr std::size_t kListMaxListpackBytes = 8192;    // list-max-listpack-size -2
inline constexpr std::size_t kListPlainNodeBytes = 1u << 30;  // quicklist packed_threshold

// --- primitive encoders (append to out) ---
void put_length(std::string& out, std::uint64_t len);
// rdbSaveRawString: integer encoding for canonical decimal strings of <= 11 chars that fit 32
// bits; with `compress`, LZF for strings longer than 20 bytes when that saves at least 4 bytes.
void put_string(std::string& out, std::string_view s, bool compress = false);
void put_millis(std::string& out, std::int64_t ms);  // 8 bytes little endian

// A cursor over an RDB byte stream with bounds-checked primitive decoders. Error messages carry
// the byte offset in the stream.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool at_end() const { return pos_ >= data_.size(); }
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  Result<std::uint8_t> byte();
  Result<std::string_view> bytes(std::size_t n);
  // Returns the length; sets `encoded` when the length byte is a special string encoding.
  Result<std::uint64_t> length(bool* encoded = nullptr);
  Result<std::string> string();
  Result<std::int64_t> millis();   // 8 bytes little endian (RDB_OPCODE_EXPIRETIME_MS)
  Result<std::int64_t> seconds();  // 4 bytes little endian, signed (RDB_OPCODE_EXPIRETIME)

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

// --- values ---

// The RDB type encode_value writes for `v` (string 0, list 18, hash 16 or 4).
std::uint8_t object_type(const Value& v);
// rdbSaveObject: the value's body in the encoding object_type(v) names (no type byte).
void encode_value(std::string& out, const Value& v, bool compress = true);
// rdbLoadObject for strings, lists and hashes in any encoding Redis 7.0 loads. An empty list or
// hash (which Redis never writes, but old buggy versions did) decodes to an empty container; the
// callers skip it as Redis does. Other types are an error naming the type.
Result<Value> decode_value(Reader& r, std::uint8_t type);

// --- whole files ---

// The AUX fields rdbSaveInfoAuxFields writes, in its order.
struct AuxInfo {
  std::string redis_ver = "7.0.15";
  int redis_bits = 64;
  std::int64_t ctime_s = 0;   // seconds since the epoch, from the node's clock
  std::int64_t used_mem = 0;
  struct Replication {
    int stream_db = 0;
    std::string replid;        // 40 hex chars
    std::int64_t offset = 0;   // master_repl_offset
  };
  std::optional<Replication> replication;  // written when Redis has an rdbSaveInfo (always, for SAVE)
  bool aof_base = false;                   // the file is an AOF base (aof-use-rdb-preamble)
};
std::vector<std::pair<std::string, std::string>> standard_aux(const AuxInfo& info);

// A complete RDB file: magic, `aux` in order, then for every non-empty database SELECTDB,
// RESIZEDB and its keys (in the keyspace's deterministic order), each preceded by
// EXPIRETIME_MS when it has a TTL; EOF; the CRC64 (0 when `checksum` is off, as rdbchecksum no).
// Null entries in `dbs` are skipped (their index still counts).
std::string encode_dataset(const std::vector<const Keyspace*>& dbs,
                           const std::vector<std::pair<std::string, std::string>>& aux, bool compress,
                           bool checksum = true);
// An RDB with no keys.
std::string encode_empty(const std::vector<std::pair<std::string, std::string>>& aux);

struct LoadOptions {
  // Keys whose absolute expiry is earlier than this are dropped while loading, as a primary
  // loading its own RDB does (rdbLoad: iAmMaster() && expiretime < now). -1 keeps every key: what
  // replicas (the primary expires keys for them) and AOF base files do.
  Millis drop_expired_before_ms = -1;
  // rdbchecksum yes: a non-zero trailer must match. A zero trailer means "saved without checksum".
  bool verify_checksum = true;
};

struct LoadedDataset {
  int version = 0;
  std::vector<std::pair<std::string, std::string>> aux;  // every AUX field, in file order
  // Parsed from the AUX fields as rdbLoad does for PSYNC after a restart.
  std::string repl_id;             // "repl-id" if it is 40 characters, else empty
  std::int64_t repl_offset = -1;   // "repl-offset", -1 if absent
  int repl_stream_db = -1;         // "repl-stream-db", -1 if absent
  bool aof_base = false;           // "aof-base" = 1
  std::uint64_t keys_loaded = 0;
  std::uint64_t keys_expired = 0;        // dropped by drop_expired_before_ms
  std::uint64_t empty_keys_skipped = 0;  // empty lists/hashes (Redis skips them too)
  std::uint64_t functions_skipped = 0;   // FUNCTION2 libraries (slotlab has no functions)
  bool checksum_present = false;         // false: the file was saved with rdbchecksum no
  std::uint64_t size = 0;                // bytes the RDB occupies, magic to checksum (data may follow)
};

// Reads a whole RDB payload into `dbs` (database i into dbs[i]; dbs.size() is the number of
// databases and a SELECTDB beyond it is an error). Pass empty keyspaces: on error they hold what
// was loaded so far, so load into fresh ones and swap them in on success. With `dbs` empty the
// payload is only validated and counted. A duplicated key is an error (Redis panics).
Result<LoadedDataset> decode_dataset(std::string_view payload, const std::vector<Keyspace*>& dbs,
                                     const LoadOptions& opts = {});

// Validates a payload and returns its AUX fields and key count without keeping any key.
// (Callers that need the keys use decode_dataset.)
struct Decoded {
  std::vector<std::pair<std::string, std::string>> aux;
  std::uint64_t keys = 0;
  std::uint64_t size = 0;  // bytes the RDB occupies (an AOF's commands may follow its preamble)
};
Result<Decoded> decode(std::string_view payload);

// --- DUMP / RESTORE ---

// createDumpPayload: type byte, encode_value, RDB version 10 (2 bytes LE), CRC64 (8 bytes LE).
std::string dump_payload(const Value& value, bool compress = true);
// verifyDumpPayload + rdbLoadObject. Errors are RESTORE's replies: "ERR DUMP payload version or
// checksum are wrong" (footer version > 10 or CRC mismatch), "ERR Bad data format" (corrupt
// object, empty container, or a type slotlab cannot hold; the latter adds the type's name).
Result<Value> restore_payload(std::string_view payload);

}  // namespace slotlab::rdb
