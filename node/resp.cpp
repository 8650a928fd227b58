// RESP2 codec implementation: request parsing as redis-server 7.0.15 does it (networking.c,
// sds.c's sdssplitargs, util.c's string2ll), reply writing, and client-side reply parsing.
// See resp.hpp for the contract and the Redis quirks we keep on purpose.
#include "node/resp.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

namespace slotlab::resp {

namespace {

// util.c string2ll: no sign but '-', no leading zeros, no spaces, no "-0", fewer than 21 bytes
// (LONG_STR_SIZE). Every number in a request header goes through it.
bool string_to_ll(const char* s, std::size_t len, std::int64_t& out) {
  constexpr std::size_t kLongStrSize = 21;
  if (len == 0 || len >= kLongStrSize) return false;
  if (len == 1 && s[0] == '0') {
    out = 0;
    return true;
  }
  std::size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    ++i;
    if (i == len) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  std::uint64_t v = static_cast<std::uint64_t>(s[i] - '0');
  ++i;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (; i < len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const auto digit = static_cast<std::uint64_t>(s[i] - '0');
    if (v > kMax / 10) return false;
    v *= 10;
    if (v > kMax - digit) return false;
    v += digit;
  }
  if (negative) {
    constexpr std::uint64_t kMinMagnitude = std::uint64_t{1} << 63;
    if (v > kMinMagnitude) return false;
    out = v == kMinMagnitude ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(v);
  } else {
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(v);
  }
  return true;
}

// isspace() in the C locale, which sdssplitargs uses to skip blanks and to check what follows a
// closing quote. Note the token loop itself only stops at ' ', \n, \r, \t: "\v" and "\f" separate
// tokens when they lead but are kept inside an unquoted token.
bool is_c_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Characters that end a run of plain bytes in an unquoted inline token.
bool is_unquoted_special(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '"' || c == '\'';
}

constexpr std::size_t kMaxSpareArgs = 16;       // strings kept for reuse between commands
constexpr std::size_t kMaxSpareCapacity = 1024;  // larger strings are freed, not hoarded
constexpr std::size_t kShrinkKeepBytes = 16 * 1024;  // PROTO_IOBUF_LEN

}  // namespace

// =============================================================================================
// RequestParser

RequestParser::RequestParser(Limits limits) : limits_(limits) {}

void RequestParser::feed(std::string_view bytes) {
  if (failed_ || bytes.empty()) return;
  fed_bytes_ += bytes.size();
  if (big_ && big_remaining_ > 0) {
    // A big argument is arriving: its payload goes straight into its final string (Redis reads
    // exactly the remaining bulk into a query buffer it then adopts as the argument). The two
    // bytes after the payload are dropped unchecked, as Redis skips them.
    const std::size_t take = std::min(bytes.size(), big_remaining_);
    const std::size_t payload_left = big_remaining_ > 2 ? big_remaining_ - 2 : 0;
    args_[argc_].append(bytes.data(), std::min(take, payload_left));
    big_remaining_ -= take;
    bytes.remove_prefix(take);
    if (bytes.empty()) return;
  }
  if (pos_ > 0) {
    const std::size_t unparsed = buf_.size() - pos_;
    if (unparsed == 0) {
      buf_.clear();
      pos_ = 0;
    } else if (unparsed <= pos_) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
  }
  buf_.append(bytes.data(), bytes.size());
}

std::size_t RequestParser::buffered_bytes() const {
  std::size_t n = buf_.size() - pos_;
  if (big_) n += static_cast<std::size_t>(bulk_len_) + 2 - big_remaining_;
  return n;
}

void RequestParser::shrink() {
  if (buf_.size() == pos_ && buf_.capacity() > kShrinkKeepBytes) {
    std::string().swap(buf_);
    pos_ = 0;
  }
  for (std::size_t i = argc_ + (big_ ? 1 : 0); i < args_.size(); ++i)
    if (args_[i].capacity() > kMaxSpareCapacity) std::string().swap(args_[i]);
}

RequestParser::Step RequestParser::fail(std::string text) {
  failed_ = true;
  error_ = std::move(text);
  return Step::error;
}

void RequestParser::consume_to(std::size_t new_pos) {
  pos_ = new_pos;
  scanned_ = 0;
  scan_blocked_ = false;
}

// Position of the first `term` at or after pos_, or npos. Like strchr() on Redis's NUL-terminated
// query buffer, a NUL byte before the terminator makes it invisible. The scanned prefix is
// remembered, so feeding a long line in small pieces stays linear.
std::size_t RequestParser::find_terminator(char term) {
  if (scan_blocked_) return std::string::npos;
  const char* base = buf_.data();
  const std::size_t end = buf_.size();
  std::size_t from = pos_ + scanned_;
  // Headers are a few bytes long: a plain loop beats two library calls there.
  const std::size_t short_end = std::min(end, from + 32);
  for (; from < short_end; ++from) {
    const char c = base[from];
    if (c == term) {
      scanned_ = from - pos_;  // a later call finds it again at once
      return from;
    }
    if (c == '\0') {
      scan_blocked_ = true;
      return std::string::npos;
    }
  }
  if (from >= end) {
    scanned_ = end - pos_;
    return std::string::npos;
  }
  const void* hit = std::memchr(base + from, term, end - from);
  const std::size_t limit = hit != nullptr ? static_cast<std::size_t>(static_cast<const char*>(hit) - base) : end;
  if (std::memchr(base + from, '\0', limit - from) != nullptr) {
    scan_blocked_ = true;
    return std::string::npos;
  }
  scanned_ = limit - pos_;
  return hit != nullptr ? limit : std::string::npos;
}

std::string& RequestParser::slot(std::size_t index) {
  if (index == args_.size()) args_.emplace_back();
  return args_[index];
}

// Takes back the strings of the previous command so their buffers serve the next one. Strings
// over kMaxSpareCapacity are freed: a connection must not keep a big value's memory alive.
void RequestParser::recycle(std::vector<std::string>& argv) {
  if (argv.empty()) return;
  if (args_.empty()) {
    args_.swap(argv);  // the usual case between commands: O(1), no string moves
    if (args_.size() > kMaxSpareArgs) args_.resize(kMaxSpareArgs);
    for (auto& s : args_)
      if (s.capacity() > kMaxSpareCapacity) std::string().swap(s);
    return;
  }
  std::size_t spare = args_.size() - argc_;
  for (auto& s : argv) {
    if (spare >= kMaxSpareArgs) break;
    if (s.capacity() > kMaxSpareCapacity) continue;
    args_.push_back(std::move(s));
    ++spare;
  }
  argv.clear();
}

RequestParser::Status RequestParser::next(std::vector<std::string>& argv, std::string& error) {
  recycle(argv);
  if (failed_) {
    error = error_;
    return Status::error;
  }
  for (;;) {
    if (multibulk_remaining_ == 0) {
      // Between commands: the first byte chooses the protocol (processInputBuffer's reqtype).
      if (pos_ == buf_.size()) return Status::need_more;
      const Step step = buf_[pos_] == '*' ? parse_multibulk_header() : parse_inline();
      if (step == Step::need_more) return Status::need_more;
      if (step == Step::error) {
        error = error_;
        return Status::error;
      }
      if (step == Step::skip) {
        consumed_bytes_ = fed_bytes_ - (buf_.size() - pos_);
        continue;
      }
      if (multibulk_remaining_ == 0) break;  // an inline command, complete
    }

    while (multibulk_remaining_ > 0) {
      if (big_) {
        if (big_remaining_ > 0) return Status::need_more;
        big_ = false;
      } else {
        if (bulk_len_ < 0) {
          const Step step = parse_bulk_header();
          if (step == Step::need_more) return Status::need_more;
          if (step == Step::error) {
            error = error_;
            return Status::error;
          }
        }
        const auto len = static_cast<std::size_t>(bulk_len_);
        const std::size_t unparsed = buf_.size() - pos_;
        if (unparsed < len + 2) {
          if (len < kBigArgBytes) return Status::need_more;
          // A big argument still arriving: move what we have into its own string, sized once,
          // and let feed() append the rest to it directly.
          std::string& arg = slot(argc_);
          arg.clear();
          arg.reserve(len);
          arg.append(buf_.data() + pos_, std::min(unparsed, len));
          big_remaining_ = len + 2 - unparsed;
          big_ = true;
          consume_to(buf_.size());
          return Status::need_more;
        }
        slot(argc_).assign(buf_.data() + pos_, len);
        consume_to(pos_ + len + 2);  // the two bytes after the payload are not checked
      }
      ++argc_;
      bulk_len_ = -1;
      --multibulk_remaining_;
    }
    break;
  }

  // A complete command: hand over [0, argc_) and keep the spare strings for the next one.
  consumed_bytes_ = fed_bytes_ - (buf_.size() - pos_);
  argv.swap(args_);
  for (std::size_t i = argc_; i < argv.size(); ++i) args_.push_back(std::move(argv[i]));
  argv.resize(argc_);
  argc_ = 0;
  return Status::command;
}

// processMultibulkBuffer, first part: "*<count>\r\n".
RequestParser::Step RequestParser::parse_multibulk_header() {
  const std::size_t cr = find_terminator('\r');
  const std::size_t unparsed = buf_.size() - pos_;
  if (cr == std::string::npos) {
    if (unparsed > limits_.max_inline_len) return fail("Protocol error: too big mbulk count string");
    return Step::need_more;
  }
  if (cr + 1 >= buf_.size()) return Step::need_more;  // the byte after '\r' has not arrived
  std::int64_t count = 0;
  const bool ok = string_to_ll(buf_.data() + pos_ + 1, cr - pos_ - 1, count);
  if (!ok || (count > 0 && static_cast<std::uint64_t>(count) > limits_.max_multibulk_len))
    return fail("Protocol error: invalid multibulk length");
  if (count > 10 && auth_required_) return fail("Protocol error: unauthenticated multibulk length");
  consume_to(cr + 2);
  if (count <= 0) return Step::skip;
  multibulk_remaining_ = count;
  bulk_len_ = -1;
  argc_ = 0;
  const std::size_t expect = std::min<std::size_t>(static_cast<std::size_t>(count), 1024);
  if (args_.capacity() < expect) args_.reserve(expect);
  return Step::done;
}

// processMultibulkBuffer, bulk header: "$<len>\r\n".
RequestParser::Step RequestParser::parse_bulk_header() {
  const std::size_t cr = find_terminator('\r');
  const std::size_t unparsed = buf_.size() - pos_;
  if (cr == std::string::npos) {
    if (unparsed > limits_.max_inline_len) return fail("Protocol error: too big bulk count string");
    return Step::need_more;
  }
  if (cr + 1 >= buf_.size()) return Step::need_more;
  const char first = buf_[pos_];
  if (first != '$') {
    // addReplyErrorFormat maps CR and LF to spaces. A NUL cannot get here (it hides the '\r').
    std::string text = "Protocol error: expected '$', got '";
    text.push_back(first == '\r' || first == '\n' ? ' ' : first);
    text.push_back('\'');
    return fail(std::move(text));
  }
  std::int64_t len = 0;
  const bool ok = string_to_ll(buf_.data() + pos_ + 1, cr - pos_ - 1, len);
  if (!ok || len < 0 || static_cast<std::uint64_t>(len) > limits_.max_bulk_len)
    return fail("Protocol error: invalid bulk length");
  if (len > 16384 && auth_required_) return fail("Protocol error: unauthenticated bulk length");
  consume_to(cr + 2);
  bulk_len_ = len;
  return Step::done;
}

// processInlineBuffer: one line ending in "\n" (a "\r" before it is dropped), split like
// sdssplitargs.
RequestParser::Step RequestParser::parse_inline() {
  const std::size_t nl = find_terminator('\n');
  if (nl == std::string::npos) {
    if (buf_.size() - pos_ > limits_.max_inline_len) return fail("Protocol error: too big inline request");
    return Step::need_more;
  }
  std::size_t line_end = nl;
  if (nl != pos_ && buf_[nl - 1] == '\r') --line_end;
  argc_ = 0;
  if (!split_inline(buf_.data() + pos_, line_end - pos_)) {
    argc_ = 0;
    return fail("Protocol error: unbalanced quotes in request");
  }
  consume_to(nl + 1);
  return argc_ == 0 ? Step::skip : Step::done;
}

// sdssplitargs over [line, line + len), which holds no NUL (find_terminator saw to that); past
// the end reads as the NUL that terminates Redis's copy of the line. Arguments go to
// args_[0, argc_). Returns false on unbalanced quotes or a closing quote followed by a non-space.
bool RequestParser::split_inline(const char* line, std::size_t len) {
  const auto at = [line, len](std::size_t k) -> char { return k < len ? line[k] : '\0'; };
  std::size_t i = 0;
  for (;;) {
    while (i < len && is_c_space(line[i])) ++i;
    if (i >= len) return true;
    std::string& cur = slot(argc_);
    cur.clear();
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      const char c = at(i);
      if (in_double) {
        if (c == '\\' && at(i + 1) == 'x' && is_hex_digit(at(i + 2)) && is_hex_digit(at(i + 3))) {
          cur.push_back(static_cast<char>(hex_digit_value(at(i + 2)) * 16 + hex_digit_value(at(i + 3))));
          i += 3;
        } else if (c == '\\' && at(i + 1) != '\0') {
          ++i;
          char e = at(i);
          switch (e) {
            case 'n': e = '\n'; break;
            case 'r': e = '\r'; break;
            case 't': e = '\t'; break;
            case 'b': e = '\b'; break;
            case 'a': e = '\a'; break;
            default: break;
          }
          cur.push_back(e);
        } else if (c == '"') {
          if (at(i + 1) != '\0' && !is_c_space(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          cur.push_back(c);
        }
      } else if (in_single) {
        if (c == '\\' && at(i + 1) == '\'') {
          ++i;
          cur.push_back('\'');
        } else if (c == '\'') {
          if (at(i + 1) != '\0' && !is_c_space(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          cur.push_back(c);
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default: {
            // A run of plain bytes in one append instead of one at a time.
            std::size_t run_end = i + 1;
            while (run_end < len && !is_unquoted_special(line[run_end])) ++run_end;
            cur.append(line + i, run_end - i);
            i = run_end - 1;
            break;
          }
        }
      }
      if (at(i) != '\0') ++i;
    }
    ++argc_;
  }
}

// =============================================================================================
// Writer

void Writer::header(char prefix, std::int64_t n) {
  char buf[24];
  buf[0] = prefix;
  const auto res = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  char* p = res.ptr;
  *p++ = '\r';
  *p++ = '\n';
  out_.append(buf, static_cast<std::size_t>(p - buf));
}

// prefix, s with CR/LF as spaces, CRLF.
void Writer::line(char prefix, std::string_view s) {
  out_.push_back(prefix);
  std::size_t start = 0;
  for (;;) {
    const std::size_t k = s.find_first_of("\r\n", start);
    if (k == std::string_view::npos) break;
    out_.append(s.data() + start, k - start);
    out_.push_back(' ');
    start = k + 1;
  }
  out_.append(s.data() + start, s.size() - start);
  out_.append("\r\n", 2);
}

void Writer::simple(std::string_view s) { line('+', s); }
void Writer::error(std::string_view s) { line('-', s); }
void Writer::integer(std::int64_t v) { header(':', v); }

void Writer::bulk(std::string_view s) {
  header('$', static_cast<std::int64_t>(s.size()));
  out_.append(s.data(), s.size());
  out_.append("\r\n", 2);
}

void Writer::null_bulk() { out_.append("$-1\r\n", 5); }
void Writer::array(std::size_t n) { header('*', static_cast<std::int64_t>(n)); }
void Writer::null_array() { out_.append("*-1\r\n", 5); }

void Writer::bulk_array(std::span<const std::string> items) {
  std::size_t total = 16;
  for (const auto& s : items) total += s.size() + 16;
  out_.reserve(out_.size() + total);
  array(items.size());
  for (const auto& s : items) bulk(s);
}

// =============================================================================================
// Commands as a client encodes them

namespace {

template <class Range>
std::string encode_range(const Range& argv, std::size_t n) {
  std::size_t total = 16;
  for (const auto& a : argv) total += a.size() + 24;
  std::string out;
  out.reserve(total);
  Writer w(out);
  w.array(n);
  for (const auto& a : argv) w.bulk(a);
  return out;
}

}  // namespace

std::string encode_command(std::span<const std::string> argv) { return encode_range(argv, argv.size()); }

std::string encode_command(std::initializer_list<std::string_view> argv) {
  return encode_range(argv, argv.size());
}

// =============================================================================================
// Value::describe, as redis-cli's cliFormatReplyTTY

namespace {

// sdscatrepr
void append_repr(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char c : s) {
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '"': out.append("\\\""); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\a': out.append("\\a"); break;
      case '\b': out.append("\\b"); break;
      default: {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
          out.push_back(c);
        } else {
          out.append("\\x");
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xf]);
        }
      }
    }
  }
  out.push_back('"');
}

void describe_into(const Value& v, std::string& out, const std::string& prefix) {
  switch (v.type) {
    case Type::error:
      out.append("(error) ").append(v.str).push_back('\n');
      break;
    case Type::simple:
      out.append(v.str).push_back('\n');
      break;
    case Type::integer:
      out.append("(integer) ").append(std::to_string(v.integer)).push_back('\n');
      break;
    case Type::bulk:
      append_repr(out, v.str);
      out.push_back('\n');
      break;
    case Type::nil:
    case Type::nil_array:
      out.append("(nil)\n");
      break;
    case Type::array: {
      if (v.elements.empty()) {
        out.append("(empty array)\n");
        break;
      }
      const std::size_t width = std::to_string(v.elements.size()).size();
      const std::string nested = prefix + std::string(width + 2, ' ');
      for (std::size_t i = 0; i < v.elements.size(); ++i) {
        if (i != 0) out.append(prefix);
        const std::string index = std::to_string(i + 1);
        out.append(width - index.size(), ' ').append(index).append(") ");
        describe_into(v.elements[i], out, nested);
      }
      break;
    }
  }
}

}  // namespace

std::string Value::describe() const {
  std::string out;
  describe_into(*this, out, {});
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// =============================================================================================
// ReplyParser

void ReplyParser::feed(std::string_view bytes) {
  if (failed_ || bytes.empty()) return;
  if (pos_ > 0) {
    const std::size_t unparsed = buf_.size() - pos_;
    if (unparsed == 0) {
      buf_.clear();
      pos_ = 0;
    } else if (unparsed <= pos_) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
  }
  buf_.append(bytes.data(), bytes.size());
}

ReplyParser::Status ReplyParser::fail(std::string text, std::string& error) {
  failed_ = true;
  error_ = std::move(text);
  error = error_;
  stack_.clear();
  return Status::error;
}

// Reads one element at pos_. Scalars come back in v (Step::value); an aggregate header comes
// back as Step::open with its element count (maps already doubled) and v holding the empty
// aggregate. Nothing is consumed unless the whole element (header and payload) is present.
ReplyParser::Step ReplyParser::parse_element(Value& v, std::size_t& count, bool& attribute) {
  const std::size_t end = buf_.size();
  if (pos_ + 1 > end) return Step::need_more;
  // The header line: type byte, text, "\r\n".
  std::size_t cr = pos_ + 1;
  for (;;) {
    const void* hit = cr < end ? std::memchr(buf_.data() + cr, '\r', end - cr) : nullptr;
    if (hit == nullptr) return Step::need_more;
    cr = static_cast<std::size_t>(static_cast<const char*>(hit) - buf_.data());
    if (cr + 1 >= end) return Step::need_more;
    if (buf_[cr + 1] == '\n') break;
    ++cr;  // a lone '\r' inside a simple string
  }
  const char kind = buf_[pos_];
  const char* text = buf_.data() + pos_ + 1;
  const std::size_t text_len = cr - pos_ - 1;
  const std::size_t after = cr + 2;
  const std::string_view line(text, text_len);

  v = Value{};
  attribute = false;
  count = 0;
  switch (kind) {
    case '+':
    case ',':  // RESP3 double
    case '(':  // RESP3 big number
      v.type = Type::simple;
      v.str.assign(line);
      pos_ = after;
      return Step::value;
    case '-':
      v.type = Type::error;
      v.str.assign(line);
      pos_ = after;
      return Step::value;
    case ':':
      if (!string_to_ll(text, text_len, v.integer)) {
        error_ = "Protocol error: bad integer value";
        return Step::error;
      }
      v.type = Type::integer;
      pos_ = after;
      return Step::value;
    case '_':
      if (text_len != 0) {
        error_ = "Protocol error: bad null value";
        return Step::error;
      }
      v.type = Type::nil;
      pos_ = after;
      return Step::value;
    case '#':
      if (line != "t" && line != "f") {
        error_ = "Protocol error: bad boolean value";
        return Step::error;
      }
      v.type = Type::integer;
      v.integer = line == "t" ? 1 : 0;
      pos_ = after;
      return Step::value;
    case '$':
    case '=':
    case '!': {
      std::int64_t len = 0;
      if (!string_to_ll(text, text_len, len) || len < -1) {
        error_ = "Protocol error: bad bulk length";
        return Step::error;
      }
      if (len == -1) {
        v.type = kind == '!' ? Type::error : Type::nil;
        pos_ = after;
        return Step::value;
      }
      const auto n = static_cast<std::size_t>(len);
      if (end - after < n + 2) return Step::need_more;
      if (buf_[after + n] != '\r' || buf_[after + n + 1] != '\n') {
        error_ = "Protocol error: bulk payload not followed by CRLF";
        return Step::error;
      }
      std::size_t skip = 0;
      if (kind == '=') {
        // "txt:" / "mkd:": three bytes of format and a colon (hiredis insists on them).
        if (n < 4 || buf_[after + 3] != ':') {
          error_ = "Protocol error: verbatim string without its format prefix";
          return Step::error;
        }
        skip = 4;
      }
      v.type = kind == '!' ? Type::error : Type::bulk;
      v.str.assign(buf_.data() + after + skip, n - skip);
      pos_ = after + n + 2;
      return Step::value;
    }
    case '*':
    case '%':
    case '~':
    case '>':
    case '|': {
      std::int64_t n = 0;
      if (!string_to_ll(text, text_len, n) || n < -1 || n > std::int64_t{0xffffffff}) {
        error_ = "Protocol error: bad aggregate length";
        return Step::error;
      }
      pos_ = after;
      if (n == -1) {
        v.type = kind == '*' ? Type::nil_array : Type::nil;
        return Step::value;
      }
      v.type = Type::array;
      count = static_cast<std::size_t>(n) * (kind == '%' || kind == '|' ? 2 : 1);
      attribute = kind == '|';
      if (count == 0) return attribute ? Step::open : Step::value;
      if (!attribute) v.elements.reserve(std::min<std::size_t>(count, 1024));
      return Step::open;
    }
    default: {
      error_ = "Protocol error: unexpected reply type byte '";
      const auto u = static_cast<unsigned char>(kind);
      if (u >= 0x20 && u < 0x7f) {
        error_.push_back(kind);
      } else {
        static constexpr char kHex[] = "0123456789abcdef";
        error_.append("\\x");
        error_.push_back(kHex[u >> 4]);
        error_.push_back(kHex[u & 0xf]);
      }
      error_.push_back('\'');
      return Step::error;
    }
  }
}

ReplyParser::Status ReplyParser::next(Value& out, std::string& error) {
  if (failed_) {
    error = error_;
    return Status::error;
  }
  Value v;
  for (;;) {
    std::size_t count = 0;
    bool attribute = false;
    const Step step = parse_element(v, count, attribute);
    if (step == Step::need_more) return Status::need_more;
    if (step == Step::error) return fail(error_, error);
    if (step == Step::open) {
      if (stack_.size() >= kMaxReplyDepth) return fail("Protocol error: reply nested too deeply", error);
      if (count > 0) {
        stack_.push_back(Frame{std::move(v), count, attribute});
        continue;
      }
      continue;  // "|0": an empty attribute, nothing to attach
    }
    // A complete value: attach it to the innermost open aggregate, closing those it completes.
    for (;;) {
      if (stack_.empty()) {
        out = std::move(v);
        return Status::value;
      }
      Frame& top = stack_.back();
      if (!top.attribute) top.value.elements.push_back(std::move(v));
      if (--top.remaining > 0) break;
      const bool was_attribute = top.attribute;
      v = std::move(top.value);
      stack_.pop_back();
      if (was_attribute) break;  // attributes annotate the next value; they are not one
    }
  }
}

}  // namespace slotlab::resp
