// Keyspace commands (Redis db.c and expire.c): DEL, UNLINK, EXISTS, TOUCH, TYPE, EXPIRE, PEXPIRE,
// EXPIREAT, PEXPIREAT (with NX/XX/GT/LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST, KEYS, SCAN,
// RANDOMKEY, FLUSHDB, FLUSHALL.
//
// Expiry is on the node's clock (DataContext::now_ms). Relative expiries propagate as PEXPIREAT
// with the absolute time, so a replica applies the same instant; an expiry already in the past
// deletes the key on a primary and propagates DEL (a replica, or the primary's stream, keeps the
// key with its past expiry and waits for the primary's DEL).
//
// KEYS and SCAN walk the keyspace slot by slot in insertion order (Keyspace::for_each), never a
// hash map. SCAN's cursor is the next slot to visit: each call returns whole slots until COUNT
// keys were examined, so a key that exists for the whole scan is returned exactly once and the
// cursor is meaningful on every node of a cluster.
#include <algorithm>

#include "node/commands.hpp"

namespace slotlab::data {

namespace {

void del_generic(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  std::int64_t deleted = 0;
  for (std::size_t j = 1; j < argv.size(); ++j) {
    // expireIfNeeded first: an expired key goes as an expiry (its own DEL), not as our deletion.
    ctx.lookup(argv[j]);
    if (ctx.db.erase(argv[j])) ++deleted;
  }
  if (deleted > 0) ctx.changed(argv, deleted);
  w.integer(deleted);
}

void del_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { del_generic(ctx, argv, w); }

void exists_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  std::int64_t n = 0;
  for (std::size_t j = 1; j < argv.size(); ++j)
    if (ctx.lookup(argv[j]) != nullptr) ++n;
  w.integer(n);
}

const char* type_name(const KeyEntry* e) {
  if (e == nullptr) return "none";
  switch (e->value.type) {
    case ValueType::string: return "string";
    case ValueType::list: return "list";
    case ValueType::hash: return "hash";
  }
  return "unknown";
}

void type_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { w.simple(type_name(ctx.lookup(argv[1]))); }

enum ExpireFlag : unsigned { kNx = 1, kXx = 2, kGt = 4, kLt = 8 };

// expireGenericCommand. `base_ms` is now for EXPIRE/PEXPIRE and 0 for the *AT forms.
void expire_generic(DataContext& ctx, const Argv& argv, Millis base_ms, bool seconds, resp::Writer& w) {
  unsigned flags = 0;
  for (std::size_t j = 3; j < argv.size(); ++j) {
    const std::string& opt = argv[j];
    if (equals_nocase(opt, "nx")) {
      flags |= kNx;
    } else if (equals_nocase(opt, "xx")) {
      flags |= kXx;
    } else if (equals_nocase(opt, "gt")) {
      flags |= kGt;
    } else if (equals_nocase(opt, "lt")) {
      flags |= kLt;
    } else {
      w.error("ERR Unsupported option " + opt);
      return;
    }
  }
  if ((flags & kNx) != 0 && (flags & (kXx | kGt | kLt)) != 0) {
    w.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if ((flags & kGt) != 0 && (flags & kLt) != 0) {
    w.error("ERR GT and LT options at the same time are not compatible");
    return;
  }
  auto parsed = parse_ll(argv[2]);
  if (!parsed) {
    w.error(kNotInteger);
    return;
  }
  std::int64_t when = *parsed;
  if (seconds) {
    if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) {
      w.error(expire_time_error(argv));
      return;
    }
    when *= 1000;
  }
  if (when > INT64_MAX - base_ms) {
    w.error(expire_time_error(argv));
    return;
  }
  when += base_ms;
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (e == nullptr) {
    w.integer(0);
    return;
  }
  if (flags != 0) {
    Millis current = e->expire_ms;
    if ((flags & kNx) != 0 && current != -1) {
      w.integer(0);
      return;
    }
    if ((flags & kXx) != 0 && current == -1) {
      w.integer(0);
      return;
    }
    // No TTL counts as an infinite one: GT never beats it, LT always does.
    if ((flags & kGt) != 0 && (when <= current || current == -1)) {
      w.integer(0);
      return;
    }
    if ((flags & kLt) != 0 && current != -1 && when >= current) {
      w.integer(0);
      return;
    }
  }
  // checkAlreadyExpired: a time in the past deletes the key, except on a replica (its primary's
  // DEL will follow) and while loading.
  if (when <= ctx.now_ms && !ctx.is_replica && !ctx.from_primary) {
    ctx.db.erase(argv[1]);
    ctx.changed(Argv{"DEL", argv[1]});
    w.integer(1);
    return;
  }
  ctx.db.set_expire(*e, when);
  w.integer(1);
  if (equals_nocase(argv[0], "pexpireat")) {
    ctx.changed(argv);
  } else {
    Argv prop = argv;
    prop[0] = "PEXPIREAT";
    prop[2] = std::to_string(when);
    ctx.changed(std::move(prop));
  }
}

void expire_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { expire_generic(ctx, argv, ctx.now_ms, true, w); }
void pexpire_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { expire_generic(ctx, argv, ctx.now_ms, false, w); }
void expireat_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { expire_generic(ctx, argv, 0, true, w); }
void pexpireat_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { expire_generic(ctx, argv, 0, false, w); }

// ttlGenericCommand.
void ttl_generic(DataContext& ctx, const Argv& argv, bool ms, bool absolute, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.integer(-2);
    return;
  }
  if (e->expire_ms == -1) {
    w.integer(-1);
    return;
  }
  std::int64_t ttl = absolute ? e->expire_ms : e->expire_ms - ctx.now_ms;
  if (ttl < 0) ttl = 0;
  w.integer(ms ? ttl : (ttl + 500) / 1000);
}

void ttl_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { ttl_generic(ctx, argv, false, false, w); }
void pttl_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { ttl_generic(ctx, argv, true, false, w); }
void expiretime_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { ttl_generic(ctx, argv, false, true, w); }
void pexpiretime_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { ttl_generic(ctx, argv, true, true, w); }

void persist_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (e == nullptr || e->expire_ms == -1) {
    w.integer(0);
    return;
  }
  ctx.db.set_expire(*e, -1);
  ctx.changed(argv);
  w.integer(1);
}

void touch_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { exists_command(ctx, argv, w); }

void keys_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  const std::string& pattern = argv[1];
  bool all = pattern == "*";
  std::vector<const std::string*> found;
  ctx.db.for_each([&](const std::string& key, const KeyEntry& e) {
    // keyIsExpired: expired keys are left out, and left alone, on every role.
    if ((all || glob_match(pattern, key)) && !(e.expire_ms >= 0 && e.expire_ms < ctx.now_ms)) found.push_back(&key);
    return true;
  });
  w.array(found.size());
  for (const std::string* k : found) w.bulk(*k);
}

// parseScanCursorOrReply (strtoul): an optional sign, decimal digits, no overflow. A negative
// cursor wraps around as strtoul makes it, which here means "past the last slot".
bool parse_scan_cursor(std::string_view s, std::uint64_t& out) {
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    char ch = s[i];
    if (ch < '0' || ch > '9') return false;
    auto digit = static_cast<std::uint64_t>(ch - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = negative ? (~v + 1) : v;
  return true;
}

void scan_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  std::uint64_t cursor = 0;
  if (!parse_scan_cursor(argv[1], cursor)) {
    w.error("ERR invalid cursor");
    return;
  }
  std::int64_t count = 10;
  const std::string* pattern = nullptr;
  const std::string* type = nullptr;
  for (std::size_t i = 2; i < argv.size(); i += 2) {
    bool has_value = i + 1 < argv.size();
    if (equals_nocase(argv[i], "count") && has_value) {
      auto n = parse_ll(argv[i + 1]);
      if (!n) {
        w.error(kNotInteger);
        return;
      }
      if (*n < 1) {
        w.error(kSyntaxError);
        return;
      }
      count = *n;
    } else if (equals_nocase(argv[i], "match") && has_value) {
      pattern = argv[i + 1] == "*" ? nullptr : &argv[i + 1];
    } else if (equals_nocase(argv[i], "type") && has_value) {
      type = &argv[i + 1];
    } else {
      w.error(kSyntaxError);
      return;
    }
  }
  // Collect whole slots until COUNT keys were examined.
  std::vector<std::string> keys;
  std::uint64_t slot = cursor;
  while (slot < static_cast<std::uint64_t>(kSlotCount) && static_cast<std::int64_t>(keys.size()) < count) {
    auto s = static_cast<Slot>(slot);
    std::size_t n = ctx.db.count_in_slot(s);
    if (n > 0) {
      std::vector<std::string> in_slot = ctx.db.keys_in_slot(s, n);
      std::move(in_slot.begin(), in_slot.end(), std::back_inserter(keys));
    }
    ++slot;
  }
  std::uint64_t next = slot >= static_cast<std::uint64_t>(kSlotCount) ? 0 : slot;
  // Filter: pattern, then type, then expiry (expireIfNeeded: a primary deletes what expired).
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (std::string& k : keys) {
    if (pattern != nullptr && !glob_match(*pattern, k)) continue;
    if (type != nullptr && !equals_nocase(*type, type_name(ctx.lookup(k)))) continue;
    if (ctx.lookup(k) == nullptr) continue;
    out.push_back(std::move(k));
  }
  w.array(2);
  w.bulk(std::to_string(next));
  w.array(out.size());
  for (const std::string& k : out) w.bulk(k);
}

// dbRandomKey: a uniformly chosen key; expired ones are deleted (on a primary) and drawn again.
void randomkey_command(DataContext& ctx, const Argv&, resp::Writer& w) {
  int tries = 100;
  while (true) {
    std::size_t total = ctx.db.size();
    if (total == 0 || ctx.random == nullptr) {
      w.null_bulk();
      return;
    }
    bool all_volatile = ctx.db.expires_count() == total;
    std::uint64_t pick = ctx.random->below(total);
    std::string key;
    for (int s = 0; s < kSlotCount; ++s) {
      std::size_t n = ctx.db.count_in_slot(static_cast<Slot>(s));
      if (pick >= n) {
        pick -= n;
        continue;
      }
      key = ctx.db.keys_in_slot(static_cast<Slot>(s), static_cast<std::size_t>(pick) + 1).back();
      break;
    }
    const KeyEntry* e = ctx.db.find(key);
    if (e != nullptr && e->expire_ms >= 0) {
      // A replica whose keys all expired would loop forever: give up after some tries.
      if (all_volatile && ctx.is_replica && --tries == 0) {
        w.bulk(key);
        return;
      }
      if (ctx.lookup(key) == nullptr) continue;
    }
    w.bulk(key);
    return;
  }
}

// getFlushCommandFlags: [ASYNC|SYNC]; both flush at once here (there is no lazy-free thread).
bool flush_args_ok(const Argv& argv, resp::Writer& w) {
  if (argv.size() == 1 || (argv.size() == 2 && (equals_nocase(argv[1], "sync") || equals_nocase(argv[1], "async"))))
    return true;
  w.error(kSyntaxError);
  return false;
}

void flushdb_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  if (!flush_args_ok(argv, w)) return;
  auto removed = static_cast<std::int64_t>(ctx.db.size());
  ctx.db.clear();
  // Propagated even when the database was already empty (forceCommandPropagation).
  ctx.changed(argv, removed);
  w.simple("OK");
}

void flushall_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  if (!flush_args_ok(argv, w)) return;
  std::int64_t removed = 0;
  if (ctx.all_dbs != nullptr) {
    for (auto& db : *ctx.all_dbs) {
      removed += static_cast<std::int64_t>(db->size());
      db->clear();
    }
  } else {
    removed = static_cast<std::int64_t>(ctx.db.size());
    ctx.db.clear();
  }
  ctx.changed(argv, removed);
  w.simple("OK");
}

}  // namespace

void register_key_commands(std::vector<CommandSpec>& t) {
  t.push_back(spec("del", -2, kCmdWrite, &del_command, 1, -1, 1));
  t.push_back(spec("unlink", -2, kCmdWrite | kCmdFast, &del_command, 1, -1, 1));
  t.push_back(spec("exists", -2, kCmdReadonly | kCmdFast, &exists_command, 1, -1, 1));
  t.push_back(spec("touch", -2, kCmdReadonly | kCmdFast, &touch_command, 1, -1, 1));
  t.push_back(spec("type", 2, kCmdReadonly | kCmdFast, &type_command, 1, 1, 1));
  t.push_back(spec("expire", -3, kCmdWrite | kCmdFast, &expire_command, 1, 1, 1));
  t.push_back(spec("pexpire", -3, kCmdWrite | kCmdFast, &pexpire_command, 1, 1, 1));
  t.push_back(spec("expireat", -3, kCmdWrite | kCmdFast, &expireat_command, 1, 1, 1));
  t.push_back(spec("pexpireat", -3, kCmdWrite | kCmdFast, &pexpireat_command, 1, 1, 1));
  t.push_back(spec("ttl", 2, kCmdReadonly | kCmdFast, &ttl_command, 1, 1, 1));
  t.push_back(spec("pttl", 2, kCmdReadonly | kCmdFast, &pttl_command, 1, 1, 1));
  t.push_back(spec("expiretime", 2, kCmdReadonly | kCmdFast, &expiretime_command, 1, 1, 1));
  t.push_back(spec("pexpiretime", 2, kCmdReadonly | kCmdFast, &pexpiretime_command, 1, 1, 1));
  t.push_back(spec("persist", 2, kCmdWrite | kCmdFast, &persist_command, 1, 1, 1));
  t.push_back(spec("keys", 2, kCmdReadonly, &keys_command, 0, 0, 0));
  t.push_back(spec("scan", -2, kCmdReadonly | kCmdTouchesArbitraryKeys, &scan_command, 0, 0, 0));
  t.push_back(spec("randomkey", 1, kCmdReadonly | kCmdTouchesArbitraryKeys, &randomkey_command, 0, 0, 0));
  t.push_back(spec("flushdb", -1, kCmdWrite, &flushdb_command, 0, 0, 0));
  t.push_back(spec("flushall", -1, kCmdWrite, &flushall_command, 0, 0, 0));
}

}  // namespace slotlab::data
