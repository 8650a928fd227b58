// List commands (Redis t_list.c): LPUSH, RPUSH, LPUSHX, RPUSHX, LINSERT, LPOP, RPOP (with a
// count), LRANGE, LLEN, LINDEX, LSET, LREM, LTRIM.
//
// A list left empty is deleted, as Redis never keeps an empty list. Propagation is the command as
// sent, and only when it changed something: Redis propagates when server.dirty moved, so an LTRIM
// or LREM that removed nothing, or a pop from a missing key, reaches no replica.
#include "node/commands.hpp"

namespace slotlab::data {

namespace {

// lookupKeyWrite + checkType(OBJ_LIST). Returns false (error sent) for another type.
bool list_or_error(KeyEntry* e, resp::Writer& w) {
  if (e != nullptr && e->value.type != ValueType::list) {
    w.error(kWrongType);
    return false;
  }
  return true;
}

// Redis's quicklist index: negative counts from the tail. Returns false when out of range.
bool list_index(const LazyList& l, std::int64_t index, std::size_t& pos) {
  auto len = static_cast<std::int64_t>(l.size());
  if (index < 0) index += len;
  if (index < 0 || index >= len) return false;
  pos = static_cast<std::size_t>(index);
  return true;
}

void push_generic(DataContext& ctx, const Argv& argv, bool head, bool xx, resp::Writer& w) {
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (!list_or_error(e, w)) return;
  if (e == nullptr) {
    if (xx) {
      w.integer(0);
      return;
    }
    e = &ctx.db.get_or_create(argv[1], ValueType::list);
  }
  auto& l = e->value.list;
  for (std::size_t j = 2; j < argv.size(); ++j) {
    if (head) {
      l.push_front(argv[j]);
    } else {
      l.push_back(argv[j]);
    }
  }
  ctx.changed(argv, static_cast<std::int64_t>(argv.size() - 2));
  w.integer(static_cast<std::int64_t>(l.size()));
}

void lpush_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { push_generic(ctx, argv, true, false, w); }
void rpush_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { push_generic(ctx, argv, false, false, w); }
void lpushx_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { push_generic(ctx, argv, true, true, w); }
void rpushx_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { push_generic(ctx, argv, false, true, w); }

void linsert_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  bool after = false;
  if (equals_nocase(argv[2], "after")) {
    after = true;
  } else if (!equals_nocase(argv[2], "before")) {
    w.error(kSyntaxError);
    return;
  }
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (e == nullptr) {
    w.integer(0);
    return;
  }
  if (!list_or_error(e, w)) return;
  auto& l = e->value.list;
  for (auto it = l.begin(); it != l.end(); ++it) {
    if (*it != argv[3]) continue;
    l.insert(after ? it + 1 : it, argv[4]);
    ctx.changed(argv);
    w.integer(static_cast<std::int64_t>(l.size()));
    return;
  }
  w.integer(-1);
}

void llen_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.integer(0);
    return;
  }
  if (!list_or_error(e, w)) return;
  w.integer(static_cast<std::int64_t>(e->value.list.size()));
}

void lindex_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.null_bulk();
    return;
  }
  if (!list_or_error(e, w)) return;
  auto index = parse_ll(argv[2]);
  if (!index) {
    w.error(kNotInteger);
    return;
  }
  std::size_t pos = 0;
  if (list_index(e->value.list, *index, pos)) {
    w.bulk(e->value.list[pos]);
  } else {
    w.null_bulk();
  }
}

void lset_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (e == nullptr) {
    w.error(kNoSuchKey);
    return;
  }
  if (!list_or_error(e, w)) return;
  auto index = parse_ll(argv[2]);
  if (!index) {
    w.error(kNotInteger);
    return;
  }
  std::size_t pos = 0;
  if (!list_index(e->value.list, *index, pos)) {
    w.error(kOutOfRange);
    return;
  }
  e->value.list[pos] = argv[3];
  ctx.changed(argv);
  w.simple("OK");
}

// addListRangeReply: start/end already normalised by the caller's rules.
void reply_range(const LazyList& l, std::int64_t start, std::int64_t end, bool reverse, resp::Writer& w) {
  auto len = static_cast<std::int64_t>(l.size());
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (start > end || start >= len) {
    w.array(0);
    return;
  }
  if (end >= len) end = len - 1;
  w.array(static_cast<std::size_t>(end - start + 1));
  if (reverse) {
    for (std::int64_t i = end; i >= start; --i) w.bulk(l[static_cast<std::size_t>(i)]);
  } else {
    for (std::int64_t i = start; i <= end; ++i) w.bulk(l[static_cast<std::size_t>(i)]);
  }
}

void pop_generic(DataContext& ctx, const Argv& argv, bool head, resp::Writer& w) {
  bool has_count = argv.size() == 3;
  std::int64_t count = 0;
  if (argv.size() > 3) {
    w.error(arity_error(argv));
    return;
  }
  if (has_count) {
    auto n = parse_ll(argv[2]);
    if (!n) {
      w.error(kNotInteger);
      return;
    }
    if (*n < 0) {
      w.error(kNotPositive);
      return;
    }
    count = *n;
  }
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (e == nullptr) {
    if (has_count) {
      w.null_array();
    } else {
      w.null_bulk();
    }
    return;
  }
  if (!list_or_error(e, w)) return;
  auto& l = e->value.list;
  if (has_count && count == 0) {
    w.array(0);
    return;
  }
  std::int64_t removed = 1;
  if (!has_count) {
    if (head) {
      w.bulk(l.front());
      l.pop_front();
    } else {
      w.bulk(l.back());
      l.pop_back();
    }
  } else {
    auto len = static_cast<std::int64_t>(l.size());
    removed = count > len ? len : count;
    if (head) {
      reply_range(l, 0, removed - 1, false, w);
      l.erase(l.begin(), l.begin() + static_cast<std::ptrdiff_t>(removed));
    } else {
      reply_range(l, -removed, -1, true, w);
      l.erase(l.end() - static_cast<std::ptrdiff_t>(removed), l.end());
    }
  }
  if (l.empty()) ctx.db.erase(argv[1]);
  ctx.changed(argv, removed);
}

void lpop_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { pop_generic(ctx, argv, true, w); }
void rpop_command(DataContext& ctx, const Argv& argv, resp::Writer& w) { pop_generic(ctx, argv, false, w); }

void lrange_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  auto start = parse_ll(argv[2]);
  auto end = start ? parse_ll(argv[3]) : std::nullopt;
  if (!start || !end) {
    w.error(kNotInteger);
    return;
  }
  KeyEntry* e = ctx.lookup(argv[1]);
  if (e == nullptr) {
    w.array(0);
    return;
  }
  if (!list_or_error(e, w)) return;
  reply_range(e->value.list, *start, *end, false, w);
}

void ltrim_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  auto start_arg = parse_ll(argv[2]);
  auto end_arg = start_arg ? parse_ll(argv[3]) : std::nullopt;
  if (!start_arg || !end_arg) {
    w.error(kNotInteger);
    return;
  }
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (e == nullptr) {
    w.simple("OK");
    return;
  }
  if (!list_or_error(e, w)) return;
  auto& l = e->value.list;
  auto len = static_cast<std::int64_t>(l.size());
  std::int64_t start = *start_arg, end = *end_arg, ltrim = 0, rtrim = 0;
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (start > end || start >= len) {
    ltrim = len;
    rtrim = 0;
  } else {
    if (end >= len) end = len - 1;
    ltrim = start;
    rtrim = len - end - 1;
  }
  l.erase(l.begin(), l.begin() + static_cast<std::ptrdiff_t>(ltrim));
  l.erase(l.end() - static_cast<std::ptrdiff_t>(rtrim), l.end());
  if (l.empty()) ctx.db.erase(argv[1]);
  if (ltrim + rtrim > 0) ctx.changed(argv, ltrim + rtrim);
  w.simple("OK");
}

void lrem_command(DataContext& ctx, const Argv& argv, resp::Writer& w) {
  auto n = parse_ll(argv[2]);
  if (!n) {
    w.error(kNotInteger);
    return;
  }
  KeyEntry* e = ctx.lookup_write(argv[1]);
  if (e == nullptr) {
    w.integer(0);
    return;
  }
  if (!list_or_error(e, w)) return;
  auto& l = e->value.list;
  const std::string& element = argv[3];
  std::int64_t toremove = *n < 0 ? -*n : *n;
  std::int64_t removed = 0;
  if (*n >= 0) {
    for (auto it = l.begin(); it != l.end();) {
      if (*it == element && (toremove == 0 || removed < toremove)) {
        it = l.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
  } else {
    for (auto i = static_cast<std::ptrdiff_t>(l.size()) - 1; i >= 0 && removed < toremove; --i) {
      if (l[static_cast<std::size_t>(i)] == element) {
        l.erase(l.begin() + i);
        ++removed;
      }
    }
  }
  if (l.empty()) ctx.db.erase(argv[1]);
  if (removed > 0) ctx.changed(argv, removed);
  w.integer(removed);
}

}  // namespace

void register_list_commands(std::vector<CommandSpec>& t) {
  t.push_back(spec("lpush", -3, kCmdWrite | kCmdFast, &lpush_command, 1, 1, 1));
  t.push_back(spec("rpush", -3, kCmdWrite | kCmdFast, &rpush_command, 1, 1, 1));
  t.push_back(spec("lpushx", -3, kCmdWrite | kCmdFast, &lpushx_command, 1, 1, 1));
  t.push_back(spec("rpushx", -3, kCmdWrite | kCmdFast, &rpushx_command, 1, 1, 1));
  t.push_back(spec("linsert", 5, kCmdWrite, &linsert_command, 1, 1, 1));
  t.push_back(spec("lpop", -2, kCmdWrite | kCmdFast, &lpop_command, 1, 1, 1));
  t.push_back(spec("rpop", -2, kCmdWrite | kCmdFast, &rpop_command, 1, 1, 1));
  t.push_back(spec("lrange", 4, kCmdReadonly, &lrange_command, 1, 1, 1));
  t.push_back(spec("llen", 2, kCmdReadonly | kCmdFast, &llen_command, 1, 1, 1));
  t.push_back(spec("lindex", 3, kCmdReadonly, &lindex_command, 1, 1, 1));
  t.push_back(spec("lset", 4, kCmdWrite, &lset_command, 1, 1, 1));
  t.push_back(spec("lrem", 4, kCmdWrite, &lrem_command, 1, 1, 1));
  t.push_back(spec("ltrim", 4, kCmdWrite, &ltrim_command, 1, 1, 1));
}

}  // namespace slotlab::data
