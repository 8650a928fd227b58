// RESP2 codec: the request parser a server runs on every client byte, the reply writer, and the
// client-side reply parser our admin tools and test clients use.
//
// RequestParser follows redis-server 7.0.15's processInputBuffer / processMultibulkBuffer /
// processInlineBuffer (networking.c) and sdssplitargs (sds.c) byte for byte, including their
// quirks, because stock clients and Redis's own test suite observe them:
//  - a request starting with '*' is multibulk, anything else is an inline command line;
//  - header lines are found with strchr() on a NUL-terminated buffer, so a NUL byte before the
//    line terminator hides it: the parser waits (and eventually reports "too big ...");
//  - the byte after a header's '\r' and the two bytes after a bulk payload are skipped, never
//    checked to be "\n" / "\r\n";
//  - "*0", "*-1" (any count <= 0) and empty inline lines are consumed and produce no command;
//  - the multibulk count limit is INT_MAX (7.0 dropped the old 1024*1024 cap);
//  - the "too big" checks fire only while no terminator has been found and more than
//    max_inline_len bytes are waiting, exactly as Redis checks after each read.
// Protocol errors are sticky: the caller replies "-ERR <text>" and closes the connection, as
// Redis does with CLIENT_CLOSE_AFTER_REPLY. Nothing here allocates per byte or copies a large
// argument more than once: arguments of 32 KB or more (PROTO_MBULK_BIG_ARG) that are still
// arriving are appended by feed() straight into their final string.
//
// Writer appends RESP2 replies (the addReply* family's shapes) to a caller-owned string.
//
// ReplyParser reads replies as a client: RESP2 plus the RESP3 types mapped onto RESP2 shapes, so
// a server that speaks RESP3 does not derail it. It is incremental (a stack of open aggregates
// survives between feeds), never recurses on input, and bounds nesting at 64 levels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace slotlab::resp {

// ---------------------------------------------------------------------------------------------
// Server side: requests.

struct Limits {
  std::size_t max_bulk_len = 512ull * 1024 * 1024;  // proto-max-bulk-len
  // Redis 7.0.15 rejects a multibulk count only above INT_MAX (processMultibulkBuffer); older
  // versions capped it at 1024*1024. Lower it for a stricter node.
  std::size_t max_multibulk_len = 2147483647;
  std::size_t max_inline_len = 64 * 1024;              // PROTO_INLINE_MAX_SIZE
  std::size_t max_query_buffer = 1024ull * 1024 * 1024;  // client-query-buffer-limit
};

// Size from which a bulk argument still arriving is received straight into its own string
// (PROTO_MBULK_BIG_ARG).
inline constexpr std::size_t kBigArgBytes = 32 * 1024;

class RequestParser {
 public:
  explicit RequestParser(Limits limits = {});

  // Appends bytes from the connection. Cheap: compacts the consumed prefix only when that moves
  // no more bytes than were consumed since the last compaction. Ignored once failed().
  void feed(std::string_view bytes);

  enum class Status { need_more, command, error };

  // Extracts the next complete command into argv. argv is overwritten: on `command` it holds
  // exactly the command's arguments (argc >= 1), otherwise it is empty. Strings left in argv from
  // the previous call are recycled for later arguments, so pass the same vector every time; move
  // out the strings you want to keep (values stored in the keyspace).
  //
  // On a protocol error returns `error` and sets `error` to Redis's text without the "-ERR " and
  // CRLF it is sent with, e.g. "Protocol error: invalid bulk length". Redis sends these through
  // addReplyError, so on the wire they read "-ERR Protocol error: ...": reply with
  // Writer::error("ERR " + error). The parser stays failed; every later call repeats the error.
  Status next(std::vector<std::string>& argv, std::string& error);

  // Bytes received and not yet part of a returned command: Redis's sdslen(querybuf) once trimmed
  // (CLIENT LIST qbuf, client-query-buffer-limit). Includes a big argument being received, not
  // the smaller arguments of an unfinished command already parsed (Redis keeps those in argv).
  std::size_t buffered_bytes() const;
  // True when buffered_bytes() exceeds client-query-buffer-limit: Redis then logs "Closing client
  // that reached max query buffer length" and closes the connection without a reply. Primary
  // links are exempt in Redis; check after feed() and before next().
  bool over_query_buffer_limit() const { return buffered_bytes() > limits_.max_query_buffer; }

  // Total stream bytes taken by the commands returned so far, including skipped empty ones.
  // A replica's applied replication offset is its primary link's start offset plus this.
  std::uint64_t consumed_bytes() const { return consumed_bytes_; }

  // Redis's authRequired(c): while set, a multibulk count above 10 or a bulk length above 16384
  // is a protocol error ("unauthenticated multibulk length" / "unauthenticated bulk length").
  void set_auth_required(bool required) { auth_required_ = required; }

  // Limits may change at runtime (CONFIG SET proto-max-bulk-len, client-query-buffer-limit).
  void set_limits(const Limits& limits) { limits_ = limits; }
  const Limits& limits() const { return limits_; }

  // Releases buffer memory while the connection is idle (clientsCronResizeQueryBuffer's job).
  void shrink();

  bool failed() const { return failed_; }

 private:
  enum class Step { done, skip, need_more, error };

  Step parse_inline();
  Step parse_multibulk_header();
  Step parse_bulk_header();
  Step fail(std::string text);
  std::size_t find_terminator(char term);
  void consume_to(std::size_t new_pos);
  std::string& slot(std::size_t index);
  bool split_inline(const char* line, std::size_t len);
  void recycle(std::vector<std::string>& argv);

  Limits limits_;
  std::string buf_;       // received bytes; [pos_, size) not yet parsed
  std::size_t pos_ = 0;
  std::size_t scanned_ = 0;    // bytes after pos_ known to hold no terminator and no NUL
  bool scan_blocked_ = false;  // a NUL hides everything after it from the terminator search

  std::int64_t multibulk_remaining_ = 0;  // arguments still expected (Redis's multibulklen)
  std::int64_t bulk_len_ = -1;            // length of the argument being read, -1 if unknown
  std::size_t big_remaining_ = 0;         // bytes (payload + CRLF) a big argument still needs
  bool big_ = false;                      // args_[argc_] is a big argument being received

  std::vector<std::string> args_;  // [0, argc_) parsed; the rest are strings kept for reuse
  std::size_t argc_ = 0;

  std::uint64_t fed_bytes_ = 0;
  std::uint64_t consumed_bytes_ = 0;
  bool auth_required_ = false;
  bool failed_ = false;
  std::string error_;
};

// ---------------------------------------------------------------------------------------------
// Server side: replies.

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void simple(std::string_view s);  // +s\r\n, CR and LF in s become spaces
  // -s\r\n. s is the full text including its code ("ERR unknown command ...", "MOVED 3999
  // 127.0.0.1:6381"); CR and LF in s become spaces, as addReplyErrorFormat does.
  void error(std::string_view s);
  void integer(std::int64_t v);  // :v\r\n
  void bulk(std::string_view s);  // $len\r\ns\r\n
  void null_bulk();               // $-1\r\n
  void array(std::size_t n);      // *n\r\n
  void null_array();              // *-1\r\n
  // CLUSTER NODES / CLUSTER INFO / INFO are verbatim strings in RESP3 and bulk strings in RESP2.
  void verbatim(std::string_view s) { bulk(s); }
  void bulk_array(std::span<const std::string> items);
  std::string& out() { return out_; }

 private:
  void header(char prefix, std::int64_t n);
  void line(char prefix, std::string_view s);
  std::string& out_;
};

// ---------------------------------------------------------------------------------------------
// Client side.

enum class Type { simple, error, integer, bulk, nil, array, nil_array };

struct Value {
  Type type = Type::nil;
  std::string str;  // simple, error, bulk (RESP3 double, big number: simple; blob error: error)
  std::int64_t integer = 0;
  std::vector<Value> elements;

  bool is_error() const { return type == Type::error; }
  bool is_nil() const { return type == Type::nil || type == Type::nil_array; }
  // As redis-cli prints it on a terminal (cliFormatReplyTTY), without the final newline:
  // OK, (error) ERR ..., (integer) 3, "quoted\n", (nil), (empty array), "1) ..." lines.
  std::string describe() const;
  bool operator==(const Value&) const = default;

  static Value make_simple(std::string s) { return Value{Type::simple, std::move(s), 0, {}}; }
  static Value make_error(std::string s) { return Value{Type::error, std::move(s), 0, {}}; }
  static Value make_integer(std::int64_t v) { return Value{Type::integer, {}, v, {}}; }
  static Value make_bulk(std::string s) { return Value{Type::bulk, std::move(s), 0, {}}; }
  static Value make_array(std::vector<Value> e) { return Value{Type::array, {}, 0, std::move(e)}; }
};

inline constexpr std::size_t kMaxReplyDepth = 64;

class ReplyParser {
 public:
  void feed(std::string_view bytes);
  enum class Status { need_more, value, error };
  // Extracts the next complete reply. RESP3 types map onto RESP2 shapes: _ null -> nil,
  // , double and ( big number -> simple, # boolean -> integer 0/1, % map -> array of key, value,
  // key, value..., ~ set and > push -> array, = verbatim -> bulk without its "txt:" prefix,
  // ! blob error -> error; | attributes are read and dropped. Malformed input is an error with a
  // description; like the request parser, the parser then stays failed (the stream is lost).
  Status next(Value& out, std::string& error);
  std::size_t buffered_bytes() const { return buf_.size() - pos_; }
  // Removes and returns the bytes fed but not yet parsed (a stream that switches protocol after
  // a reply, like a replica after +FULLRESYNC / +CONTINUE).
  std::string take_buffered() {
    std::string rest = buf_.substr(pos_);
    buf_.clear();
    pos_ = 0;
    return rest;
  }
  bool failed() const { return failed_; }

 private:
  struct Frame {
    Value value;
    std::size_t remaining = 0;
    bool attribute = false;
  };
  enum class Step { value, open, need_more, error };
  Step parse_element(Value& v, std::size_t& count, bool& attribute);
  Status fail(std::string text, std::string& error);

  std::string buf_;
  std::size_t pos_ = 0;
  std::vector<Frame> stack_;
  bool failed_ = false;
  std::string error_;
};

// A command as clients send it: *N\r\n then $len\r\narg\r\n for each argument.
std::string encode_command(std::span<const std::string> argv);
std::string encode_command(std::initializer_list<std::string_view> argv);

}  // namespace slotlab::resp
