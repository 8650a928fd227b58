// Hash commands (Redis t_hash.c): HSET, HMSET, HSETNX, HGET, HMGET, HDEL, HGETALL, HKEYS, HVALS,
// HLEN, HEXISTS, HSTRLEN, HINCRBY, HINCRBYFLOAT.
//
// Fields keep insertion order (Value's hash), which is what Redis's listpack encoding shows for
// small hashes; a hash left without fields is deleted. HINCRBYFLOAT propagates as HSET of the
// result, everything else as sent, and only when something changed.
#include <cmath>

#include "node/commands.hpp"

namespace slotlab::data {

namespace {

bool hash_or_error(const KeyEntry* e, resp::Writer& w) {
  if (e != nullptr && e->value.type != ValueType::hash) {
    w.error(kWrongType);
    return false;
  }
  return true;
}

// hashTypeLookupWriteOrCreate: nullptr (error sent) if the key holds another type.
KeyEntry* hash_for_write(DataContext& ctx, const std::string& key, resp::Writer& w) {
  KeyEntry* e = ctx.lookup_write(key);
  if (!hash_or_error(e, w)) return nullptr;
  if (e == nullptr) e = &ctx.db.get_or_create(key, ValueType::hash);
  return e;
}

void hset_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  if (argv.size() % 2 == 1) {
    w.error(arity_error(argv));
    return;
  }
  KeyEntry* e = hash_for_write(ctx, argv[1], w);
  if (e == nullptr) return;
  std::int64_t created = 0;
  for (std::size_t i = 2; i < argv.size(); i += 2)
    if (e->value.hset(argv[i], argv[i + 1])) ++created;
  // HSET answers how many fields are new, HMSET (deprecated) answers OK.
  if (argv[0].size() > 1 && (argv[0][1] == 's' || argv[0][1] == 'S')) {
    w.integer(created);
  } else {
    w.simple("OK");
  }
  ctx.changed(argv, static_cast<std::int64_t>((argv.size() - 2) / 2));
}

void hsetnx_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = hash_for_write(ctx, argv[1], w);
  if (e == nullptr) return;
  if (e->value.hget(argv[2]) != nullptr) {
    w.integer(0);
    return;
  }
  e->value.hset(argv[2], argv[3]);
  w.integer(1);
  ctx.changed(argv);
}

void hget_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.null_bulk();
    return;
  }
  if (!hash_or_error(e, w)) return;
  const std::string* v = e->value.hget(argv[2]);
  if (v == nullptr) {
    w.null_bulk();
  } else {
    w.bulk(*v);
  }
}

void hmget_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(argv[1]);
  if (!hash_or_error(e, w)) return;
  w.array(argv.size() - 2);
  for (std::size_t i = 2; i < argv.size(); ++i) {
    const std::string* v = e == nullptr ? nullptr : e->value.hget(argv[i]);
    if (v == nullptr) {
      w.null_bulk();
    } else {
      w.bulk(*v);
    }
  }
}

void hdel_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (e == nullptr) {
    w.integer(0);
    return;
  }
  if (!hash_or_error(e, w)) return;
  std::int64_t deleted = 0;
  for (std::size_t j = 2; j < argv.size(); ++j) {
    if (!e->value.hdel(argv[j])) continue;
    ++deleted;
    if (e->value.hash.empty()) {
      ctx.db.erase(argv[1]);
      break;
    }
  }
  if (deleted > 0) ctx.changed(argv, deleted);
  w.integer(deleted);
}

void hlen_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.integer(0);
    return;
  }
  if (!hash_or_error(e, w)) return;
  w.integer(static_cast<std::int64_t>(e->value.hash.size()));
}

void hstrlen_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.integer(0);
    return;
  }
  if (!hash_or_error(e, w)) return;
  const std::string* v = e->value.hget(argv[2]);
  w.integer(v == nullptr ? 0 : static_cast<std::int64_t>(v->size()));
}

void hexists_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.integer(0);
    return;
  }
  if (!hash_or_error(e, w)) return;
  w.integer(e->value.hget(argv[2]) != nullptr ? 1 : 0);
}

enum HashPart : unsigned { kFields = 1, kValues = 2 };

void hgetall_generic(DataContext& ctx, const Argv& argv, unsigned what, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.array(0);  // an empty map is an empty array in RESP2
    return;
  }
  if (!hash_or_error(e, w)) return;
  const auto& h = e->value.hash;
  w.array(what == (kFields | kValues) ? h.size() * 2 : h.size());
  for (const auto& [field, value] : h) {
    if ((what & kFields) != 0) w.bulk(field);
    if ((what & kValues) != 0) w.bulk(value);
  }
}

void hgetall_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { hgetall_generic(ctx, argv, kFields | kValues, w); }
void hkeys_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { hgetall_generic(ctx, argv, kFields, w); }
void hvals_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { hgetall_generic(ctx, argv, kValues, w); }

void hincrby_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  auto incr = parse_ll(argv[3]);
  if (!incr) {
    w.error(kNotInteger);
    return;
  }
  KeyEntry* e = hash_for_write(ctx, argv[1], w);
  if (e == nullptr) return;
  std::int64_t value = 0;
  if (const std::string* cur = e->value.hget(argv[2])) {
    auto v = parse_ll(*cur);
    if (!v) {
      w.error("ERR hash value is not an integer");
      return;
    }
    value = *v;
  }
  if ((*incr < 0 && value < 0 && *incr < (INT64_MIN - value)) || (*incr > 0 && value > 0 && *incr > (INT64_MAX - value))) {
    w.error(kOverflow);
    return;
  }
  value += *incr;
  e->value.hset(argv[2], std::to_string(value));
  w.integer(value);
  ctx.changed(argv);
}

void hincrbyfloat_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  long double incr = 0;
  if (!parse_long_double(argv[3], incr)) {
    w.error(kNotFloat);
    return;
  }
  if (std::isnan(incr) || std::isinf(incr)) {
    w.error("ERR value is NaN or Infinity");
    return;
  }
  KeyEntry* e = hash_for_write(ctx, argv[1], w);
  if (e == nullptr) return;
  long double value = 0;
  if (const std::string* cur = e->value.hget(argv[2])) {
    if (!parse_long_double(*cur, value)) {
      w.error("ERR hash value is not a float");
      return;
    }
  }
  value += incr;
  if (std::isnan(value) || std::isinf(value)) {
    w.error("ERR increment would produce NaN or Infinity");
    return;
  }
  std::string text = format_long_double_human(value);
  e->value.hset(argv[2], text);
  w.bulk(text);
  ctx.changed(Argv{"HSET", argv[1], argv[2], std::move(text)});
}

}  // namespace

void register_hash_commands(std::vector<CommandSpec>& t) {
  t.push_back(spec("hset", -4, kCmdWrite | kCmdFast, &hset_command, 1, 1, 1));
  t.push_back(spec("hmset", -4, kCmdWrite | kCmdFast, &hset_command, 1, 1, 1));
  t.push_back(spec("hsetnx", 4, kCmdWrite | kCmdFast, &hsetnx_command, 1, 1, 1));
  t.push_back(spec("hget", 3, kCmdReadonly | kCmdFast, &hget_command, 1, 1, 1));
  t.push_back(spec("hmget", -3, kCmdReadonly | kCmdFast, &hmget_command, 1, 1, 1));
  t.push_back(spec("hdel", -3, kCmdWrite | kCmdFast, &hdel_command, 1, 1, 1));
  t.push_back(spec("hgetall", 2, kCmdReadonly, &hgetall_command, 1, 1, 1));
  t.push_back(spec("hkeys", 2, kCmdReadonly, &hkeys_command, 1, 1, 1));
  t.push_back(spec("hvals", 2, kCmdReadonly, &hvals_command, 1, 1, 1));
  t.push_back(spec("hlen", 2, kCmdReadonly | kCmdFast, &hlen_command, 1, 1, 1));
  t.push_back(spec("hstrlen", 3, kCmdReadonly | kCmdFast, &hstrlen_command, 1, 1, 1));
  t.push_back(spec("hexists", 3, kCmdReadonly | kCmdFast, &hexists_command, 1, 1, 1));
  t.push_back(spec("hincrby", 4, kCmdWrite | kCmdFast, &hincrby_command, 1, 1, 1));
  t.push_back(spec("hincrbyfloat", 4, kCmdWrite | kCmdFast, &hincrbyfloat_command, 1, 1, 1));
}

}  // namespace slotlab::data
