// String commands (Redis t_string.c): GET, SET and its options, SETNX, SETEX, PSETEX, GETSET,
// GETDEL, GETEX, MGET, MSET, MSETNX, INCR/DECR[BY], INCRBYFLOAT, APPEND, STRLEN, GETRANGE,
// SETRANGE.
//
// Replies and errors read as Redis 7.0's, and so does propagation: a SET with a relative or
// absolute expiry travels as SET key value PXAT <ms> (so replicas and the AOF agree on the
// instant whatever their clocks), SET ... GET loses its GET, GETSET becomes SET, GETDEL becomes
// DEL, INCRBYFLOAT becomes SET key <result> KEEPTTL; a command that changed nothing (SET NX on an
// existing key) propagates nothing.
//
// Values are copied out of argv (the parser recycles argv's strings); overwriting a string with a
// string reuses its buffer, so a SET of an existing key allocates nothing once warm.
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "node/commands.hpp"

namespace slotlab::data {

namespace {

constexpr std::size_t kMaxLongDoubleChars = 5 * 1024;  // MAX_LONG_DOUBLE_CHARS

// parseExtendedStringArgumentsOrReply flags.
enum SetFlag : unsigned {
  kSetNx = 1u << 0,
  kSetXx = 1u << 1,
  kEx = 1u << 2,
  kPx = 1u << 3,
  kKeepTtl = 1u << 4,
  kSetGet = 1u << 5,
  kExat = 1u << 6,
  kPxat = 1u << 7,
  kPersist = 1u << 8,
};

// Parses SET's (is_set) or GETEX's options the way Redis does: each option is accepted only if it
// does not conflict with one seen before, anything else is a syntax error.
bool parse_string_options(const Argv& argv, bool is_set, unsigned& flags, const std::string*& expire,
                          resp::Writer& w) {
  for (std::size_t j = is_set ? 3 : 2; j < argv.size(); ++j) {
    const std::string& opt = argv[j];
    bool has_next = j + 1 < argv.size();
    unsigned any_expire = kEx | kPx | kExat | kPxat;
    if (equals_nocase(opt, "nx") && (flags & kSetXx) == 0 && is_set) {
      flags |= kSetNx;
    } else if (equals_nocase(opt, "xx") && (flags & kSetNx) == 0 && is_set) {
      flags |= kSetXx;
    } else if (equals_nocase(opt, "get") && is_set) {
      flags |= kSetGet;
    } else if (equals_nocase(opt, "keepttl") && (flags & (kPersist | any_expire)) == 0 && is_set) {
      flags |= kKeepTtl;
    } else if (equals_nocase(opt, "persist") && !is_set && (flags & (any_expire | kKeepTtl)) == 0) {
      flags |= kPersist;
    } else if (equals_nocase(opt, "ex") && (flags & (kKeepTtl | kPersist | kExat | kPx | kPxat)) == 0 && has_next) {
      flags |= kEx;
      expire = &argv[++j];
    } else if (equals_nocase(opt, "px") && (flags & (kKeepTtl | kPersist | kEx | kExat | kPxat)) == 0 && has_next) {
      flags |= kPx;
      expire = &argv[++j];
    } else if (equals_nocase(opt, "exat") && (flags & (kKeepTtl | kPersist | kEx | kPx | kPxat)) == 0 && has_next) {
      flags |= kExat;
      expire = &argv[++j];
    } else if (equals_nocase(opt, "pxat") && (flags & (kKeepTtl | kPersist | kEx | kExat | kPx)) == 0 && has_next) {
      flags |= kPxat;
      expire = &argv[++j];
    } else {
      w.error(kSyntaxError);
      return false;
    }
  }
  return true;
}

// getExpireMillisecondsOrReply: the absolute expiry in ms, or an error reply.
std::optional<Millis> expire_ms_or_reply(const DataContext& ctx, const Argv& argv, const std::string& arg,
                                         unsigned flags, resp::Writer& w) {
  auto v = parse_ll(arg);
  if (!v) {
    w.error(kNotInteger);
    return std::nullopt;
  }
  bool seconds = (flags & (kEx | kExat)) != 0;
  std::int64_t ms = *v;
  if (ms <= 0 || (seconds && ms > LLONG_MAX / 1000)) {
    w.error(expire_time_error(argv));
    return std::nullopt;
  }
  if (seconds) ms *= 1000;
  if ((flags & (kEx | kPx)) != 0) {
    // Redis adds and then checks for a wrapped (non-positive) result.
    if (ctx.now_ms > 0 && ms > LLONG_MAX - ctx.now_ms) {
      w.error(expire_time_error(argv));
      return std::nullopt;
    }
    ms += ctx.now_ms;
  }
  if (ms <= 0) {
    w.error(expire_time_error(argv));
    return std::nullopt;
  }
  return ms;
}

// getGenericCommand: replies the value or nil; false (and WRONGTYPE sent) for another type.
bool reply_string_value(DataContext& ctx, const std::string& key, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(key);
  if (e == nullptr) {
    w.null_bulk();
    return true;
  }
  if (e->value.type != ValueType::string) {
    w.error(kWrongType);
    return false;
  }
  w.bulk(e->value.str);
  return true;
}

// setKey: stores a string value, replacing whatever was there; the TTL goes unless kept.
KeyEntry& store_string(DataContext& ctx, const std::string& key, KeyEntry* existing, std::string_view value,
                       bool keep_ttl) {
  if (existing == nullptr) return ctx.db.set(key, Value::make_string(std::string(value)), keep_ttl);
  if (!keep_ttl) ctx.db.set_expire(*existing, -1);
  Value& v = existing->value;
  if (v.type == ValueType::string && v.str.capacity() <= value.size() * 2 + 64) {
    v.str.assign(value);  // reuse the buffer
  } else {
    v = Value::make_string(std::string(value));
  }
  return *existing;
}

enum class SetReply { ok_or_nil, one_or_zero };

// setGenericCommand.
void set_generic(DataContext& ctx, const Argv& argv, unsigned flags, const std::string& key, const std::string& value,
                 const std::string* expire, SetReply style, resp::Writer& w) {
  Millis when = 0;
  if (expire != nullptr) {
    auto ms = expire_ms_or_reply(ctx, argv, *expire, flags, w);
    if (!ms) return;
    when = *ms;
  }
  if ((flags & kSetGet) != 0 && !reply_string_value(ctx, key, w)) return;
  KeyEntry* existing = ctx.lookup_write(key);
  bool found = existing != nullptr;
  if (((flags & kSetNx) != 0 && found) || ((flags & kSetXx) != 0 && !found)) {
    if ((flags & kSetGet) == 0) {
      if (style == SetReply::one_or_zero) {
        w.integer(0);
      } else {
        w.null_bulk();
      }
    }
    return;
  }
  KeyEntry& e = store_string(ctx, key, existing, value, (flags & kKeepTtl) != 0);
  if (expire != nullptr) {
    ctx.db.set_expire(e, when);
    ctx.changed(Argv{"SET", key, value, "PXAT", std::to_string(when)});
  } else if ((flags & kSetGet) != 0) {
    Argv prop;
    prop.reserve(argv.size());
    for (std::size_t j = 0; j < argv.size(); ++j)
      if (j < 3 || !equals_nocase(argv[j], "get")) prop.push_back(argv[j]);
    ctx.changed(std::move(prop));
  } else {
    ctx.changed(argv);
  }
  if ((flags & kSetGet) == 0) {
    if (style == SetReply::one_or_zero) {
      w.integer(1);
    } else {
      w.simple("OK");
    }
  }
}

void get_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { reply_string_value(ctx, argv[1], w); }

void set_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  unsigned flags = 0;
  const std::string* expire = nullptr;
  if (!parse_string_options(argv, true, flags, expire, w)) return;
  set_generic(ctx, argv, flags, argv[1], argv[2], expire, SetReply::ok_or_nil, w);
}

void setnx_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  set_generic(ctx, argv, kSetNx, argv[1], argv[2], nullptr, SetReply::one_or_zero, w);
}

void setex_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  set_generic(ctx, argv, kEx, argv[1], argv[3], &argv[2], SetReply::ok_or_nil, w);
}

void psetex_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  set_generic(ctx, argv, kPx, argv[1], argv[3], &argv[2], SetReply::ok_or_nil, w);
}

void getset_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  if (!reply_string_value(ctx, argv[1], w)) return;
  store_string(ctx, argv[1], ctx.lookup_write(argv[1]), argv[2], false);
  ctx.changed(Argv{"SET", argv[1], argv[2]});
}

void getdel_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  if (!reply_string_value(ctx, argv[1], w)) return;
  if (ctx.db.erase(argv[1])) ctx.changed(Argv{"DEL", argv[1]});
}

void getex_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  unsigned flags = 0;
  const std::string* expire = nullptr;
  if (!parse_string_options(argv, false, flags, expire, w)) return;
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.null_bulk();
    return;
  }
  if (e->value.type != ValueType::string) {
    w.error(kWrongType);
    return;
  }
  Millis when = 0;
  if (expire != nullptr) {
    auto ms = expire_ms_or_reply(ctx, argv, *expire, flags, w);
    if (!ms) return;
    when = *ms;
  }
  w.bulk(e->value.str);
  // checkAlreadyExpired: an absolute time in the past deletes the key (not on a replica).
  if ((flags & (kPxat | kExat)) != 0 && when <= ctx.now_ms && !ctx.is_replica) {
    ctx.db.erase(argv[1]);
    ctx.changed(Argv{"DEL", argv[1]});
  } else if (expire != nullptr) {
    ctx.db.set_expire(*e, when);
    ctx.changed(Argv{"PEXPIREAT", argv[1], std::to_string(when)});
  } else if ((flags & kPersist) != 0 && e->expire_ms >= 0) {
    ctx.db.set_expire(*e, -1);
    ctx.changed(Argv{"PERSIST", argv[1]});
  }
}

void mget_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  w.array(argv.size() - 1);
  for (std::size_t j = 1; j < argv.size(); ++j) {
    KeyEntry* e = ctx.lookup(argv[j]);
    if (e == nullptr || e->value.type != ValueType::string) {
      w.null_bulk();
    } else {
      w.bulk(e->value.str);
    }
  }
}

void mset_generic(DataContext& ctx, const Argv& argv, bool nx, resp::Writer& w) {
  if (argv.size() % 2 == 0) {
    w.error(arity_error(argv));
    return;
  }
  if (nx) {
    for (std::size_t j = 1; j < argv.size(); j += 2) {
      if (ctx.lookup_write(argv[j]) != nullptr) {
        w.integer(0);
        return;
      }
    }
  }
  for (std::size_t j = 1; j < argv.size(); j += 2) store_string(ctx, argv[j], ctx.lookup_write(argv[j]), argv[j + 1], false);
  ctx.changed(argv, static_cast<std::int64_t>((argv.size() - 1) / 2));
  if (nx) {
    w.integer(1);
  } else {
    w.simple("OK");
  }
}

void mset_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { mset_generic(ctx, argv, false, w); }
void msetnx_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { mset_generic(ctx, argv, true, w); }

// incrDecrCommand: the value keeps its TTL.
void incr_decr(DataContext& ctx, const Argv& argv, std::int64_t incr, resp::Writer& w) {
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (e != nullptr && e->value.type != ValueType::string) {
    w.error(kWrongType);
    return;
  }
  std::int64_t value = 0;
  if (e != nullptr) {
    auto v = parse_ll(e->value.str);
    if (!v) {
      w.error(kNotInteger);
      return;
    }
    value = *v;
  }
  if ((incr < 0 && value < 0 && incr < (LLONG_MIN - value)) || (incr > 0 && value > 0 && incr > (LLONG_MAX - value))) {
    w.error(kOverflow);
    return;
  }
  value += incr;
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, value);
  std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));
  if (e != nullptr) {
    e->value.str.assign(text);
  } else {
    ctx.db.set(argv[1], Value::make_string(std::string(text)));
  }
  ctx.changed(argv);
  w.integer(value);
}

void incr_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { incr_decr(ctx, argv, 1, w); }
void decr_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { incr_decr(ctx, argv, -1, w); }

void incrby_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  auto incr = parse_ll(argv[2]);
  if (!incr) {
    w.error(kNotInteger);
    return;
  }
  incr_decr(ctx, argv, *incr, w);
}

void decrby_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  auto incr = parse_ll(argv[2]);
  if (!incr) {
    w.error(kNotInteger);
    return;
  }
  if (*incr == LLONG_MIN) {
    w.error("ERR decrement would overflow");
    return;
  }
  incr_decr(ctx, argv, -*incr, w);
}

}  // namespace

// string2ld: strtold over the whole string, no leading space, no NaN, no overflow.
bool parse_long_double(std::string_view s, long double& out) {
  if (s.empty() || s.size() >= kMaxLongDoubleChars) return false;
  char buf[kMaxLongDoubleChars];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  errno = 0;
  char* end = nullptr;
  long double v = std::strtold(buf, &end);
  auto first = static_cast<unsigned char>(buf[0]);
  bool space = first == ' ' || (first >= '\t' && first <= '\r');
  if (space || *end != '\0' || static_cast<std::size_t>(end - buf) != s.size() ||
      (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || std::fpclassify(v) == FP_ZERO)) || errno == EINVAL ||
      std::isnan(v))
    return false;
  out = v;
  return true;
}

// ld2string(..., LD_STR_HUMAN): 17 decimals, trailing zeros (and a bare '.') removed, "-0" as "0".
std::string format_long_double_human(long double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[kMaxLongDoubleChars];
  int n = std::snprintf(buf, sizeof buf, "%.17Lf", v);
  if (n < 0 || static_cast<std::size_t>(n) + 1 > sizeof buf) return std::string();
  auto len = static_cast<std::size_t>(n);
  if (std::memchr(buf, '.', len) != nullptr) {
    while (len > 0 && buf[len - 1] == '0') --len;
    if (len > 0 && buf[len - 1] == '.') --len;
  }
  if (len == 2 && buf[0] == '-' && buf[1] == '0') return "0";
  return std::string(buf, len);
}

namespace {

void incrbyfloat_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (e != nullptr && e->value.type != ValueType::string) {
    w.error(kWrongType);
    return;
  }
  long double value = 0;
  long double incr = 0;
  if ((e != nullptr && !parse_long_double(e->value.str, value)) || !parse_long_double(argv[2], incr)) {
    w.error(kNotFloat);
    return;
  }
  value += incr;
  if (std::isnan(value) || std::isinf(value)) {
    w.error("ERR increment would produce NaN or Infinity");
    return;
  }
  std::string text = format_long_double_human(value);
  if (e != nullptr) {
    e->value.str = text;
  } else {
    ctx.db.set(argv[1], Value::make_string(text));
  }
  w.bulk(text);
  // Replicated as a SET of the result, so float formatting can never make replicas diverge.
  ctx.changed(Argv{"SET", argv[1], std::move(text), "KEEPTTL"});
}

// checkStringLength: the primary's stream is trusted (mustObeyClient).
bool check_string_length(DataContext& ctx, std::int64_t size, std::int64_t append, resp::Writer& w) {
  if (ctx.from_primary) return true;
  if (append > ctx.proto_max_bulk_len - size) {
    w.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return false;
  }
  return true;
}

void append_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup_write(argv[1]);
  std::size_t total = 0;
  if (e == nullptr) {
    total = ctx.db.set(argv[1], Value::make_string(argv[2])).value.str.size();
  } else {
    if (e->value.type != ValueType::string) {
      w.error(kWrongType);
      return;
    }
    if (!check_string_length(ctx, static_cast<std::int64_t>(e->value.str.size()),
                             static_cast<std::int64_t>(argv[2].size()), w))
      return;
    e->value.str.append(argv[2]);
    total = e->value.str.size();
  }
  ctx.changed(argv);
  w.integer(static_cast<std::int64_t>(total));
}

void strlen_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.integer(0);
    return;
  }
  if (e->value.type != ValueType::string) {
    w.error(kWrongType);
    return;
  }
  w.integer(static_cast<std::int64_t>(e->value.str.size()));
}

void getrange_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  auto start = parse_ll(argv[2]);
  if (!start) {
    w.error(kNotInteger);
    return;
  }
  auto end = parse_ll(argv[3]);
  if (!end) {
    w.error(kNotInteger);
    return;
  }
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.bulk("");
    return;
  }
  if (e->value.type != ValueType::string) {
    w.error(kWrongType);
    return;
  }
  const std::string& s = e->value.str;
  auto len = static_cast<std::int64_t>(s.size());
  std::int64_t a = *start, b = *end;
  if (a < 0 && b < 0 && a > b) {
    w.bulk("");
    return;
  }
  if (a < 0) a = len + a;
  if (b < 0) b = len + b;
  if (a < 0) a = 0;
  if (b < 0) b = 0;
  if (b >= len) b = len - 1;
  if (a > b || len == 0) {
    w.bulk("");
    return;
  }
  w.bulk(std::string_view(s).substr(static_cast<std::size_t>(a), static_cast<std::size_t>(b - a + 1)));
}

void setrange_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  auto offset = parse_ll(argv[2]);
  if (!offset) {
    w.error(kNotInteger);
    return;
  }
  if (*offset < 0) {
    w.error("ERR offset is out of range");
    return;
  }
  const std::string& value = argv[3];
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (e == nullptr) {
    if (value.empty()) {
      w.integer(0);
      return;
    }
    if (!check_string_length(ctx, *offset, static_cast<std::int64_t>(value.size()), w)) return;
    e = &ctx.db.set(argv[1], Value::make_string(std::string()));
  } else {
    if (e->value.type != ValueType::string) {
      w.error(kWrongType);
      return;
    }
    if (value.empty()) {
      w.integer(static_cast<std::int64_t>(e->value.str.size()));
      return;
    }
    if (!check_string_length(ctx, *offset, static_cast<std::int64_t>(value.size()), w)) return;
  }
  std::string& s = e->value.str;
  auto off = static_cast<std::size_t>(*offset);
  if (s.size() < off + value.size()) s.resize(off + value.size(), '\0');
  s.replace(off, value.size(), value);
  ctx.changed(argv);
  w.integer(static_cast<std::int64_t>(s.size()));
}

}  // namespace

void register_string_commands(std::vector<CommandSpec>& t) {
  t.push_back(spec("get", 2, kCmdReadonly | kCmdFast, &get_command, 1, 1, 1));
  t.push_back(spec("set", -3, kCmdWrite, &set_command, 1, 1, 1));
  t.push_back(spec("setnx", 3, kCmdWrite | kCmdFast, &setnx_command, 1, 1, 1));
  t.push_back(spec("setex", 4, kCmdWrite, &setex_command, 1, 1, 1));
  t.push_back(spec("psetex", 4, kCmdWrite, &psetex_command, 1, 1, 1));
  t.push_back(spec("getset", 3, kCmdWrite | kCmdFast, &getset_command, 1, 1, 1));
  t.push_back(spec("getdel", 2, kCmdWrite | kCmdFast, &getdel_command, 1, 1, 1));
  t.push_back(spec("getex", -2, kCmdWrite | kCmdFast, &getex_command, 1, 1, 1));
  t.push_back(spec("mget", -2, kCmdReadonly | kCmdFast, &mget_command, 1, -1, 1));
  t.push_back(spec("mset", -3, kCmdWrite, &mset_command, 1, -1, 2));
  t.push_back(spec("msetnx", -3, kCmdWrite, &msetnx_command, 1, -1, 2));
  t.push_back(spec("incr", 2, kCmdWrite | kCmdFast, &incr_command, 1, 1, 1));
  t.push_back(spec("decr", 2, kCmdWrite | kCmdFast, &decr_command, 1, 1, 1));
  t.push_back(spec("incrby", 3, kCmdWrite | kCmdFast, &incrby_command, 1, 1, 1));
  t.push_back(spec("decrby", 3, kCmdWrite | kCmdFast, &decrby_command, 1, 1, 1));
  t.push_back(spec("incrbyfloat", 3, kCmdWrite | kCmdFast, &incrbyfloat_command, 1, 1, 1));
  t.push_back(spec("append", 3, kCmdWrite | kCmdFast, &append_command, 1, 1, 1));
  t.push_back(spec("strlen", 2, kCmdReadonly | kCmdFast, &strlen_command, 1, 1, 1));
  t.push_back(spec("getrange", 4, kCmdReadonly, &getrange_command, 1, 1, 1));
  t.push_back(spec("substr", 4, kCmdReadonly, &getrange_command, 1, 1, 1));
  t.push_back(spec("setrange", 4, kCmdWrite, &setrange_command, 1, 1, 1));
}

}  // namespace slotlab::data
