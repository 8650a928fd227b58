// The text form of the node table: CLUSTER NODES lines and nodes.conf, which is the same text plus
// a "vars currentEpoch N lastVoteEpoch M" line (Redis cluster.c: clusterGenNodeDescription,
// clusterGenNodesDescription, clusterSaveConfig, clusterLoadConfig).
//
// redis-cli parses CLUSTER NODES and compares what every node says byte for byte, so the shape is
// exact: single spaces, "\n" after every line, slot ranges computed from the slot table in
// ascending order, "[slot->-id]" / "[slot-<-id]" only on the myself line.
//
// Saving differs from Redis on purpose: Redis rewrites nodes.conf in place with one write() and
// can leave a torn file if killed mid-write; we write a temporary file and rename it over
// nodes.conf, so a crash at any moment leaves either the old or the new file (issue 4 asks for
// this). The fsync follows Redis 7.0.15 exactly: clusterSaveConfig(do_fsync) syncs only when its
// caller asks (CLUSTER_TODO_FSYNC_CONFIG: epoch changes, votes, failovers, CLUSTER RESET, SETSLOT
// that turns us into a replica; not ADDSLOTS, SETSLOT, MEET, FORGET, failure flags, gossip). With
// do_fsync the temporary file is fsynced and the rename is made durable (directory fsync); without
// it nothing is synced (Storage::rename_unsynced), so a kill -9 keeps the new file and a power
// loss may bring back the last synced one, as an unsynced Redis save may.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>

#include "node/node.hpp"
#include "node/strings.hpp"

namespace slotlab {

namespace {

// CLUSTER NODES flag names in Redis's order (redisNodeFlagsTable).
constexpr std::pair<std::uint16_t, std::string_view> kFlagNames[] = {
    {kNodeMyself, "myself,"},       {kNodePrimary, "master,"},     {kNodeReplica, "slave,"},
    {kNodePfail, "fail?,"},         {kNodeFail, "fail,"},          {kNodeHandshake, "handshake,"},
    {kNodeNoaddr, "noaddr,"},       {kNodeNofailover, "nofailover,"},
};
constexpr std::size_t kMaxFlagsLen = [] {
  std::size_t n = 0;
  for (const auto& f : kFlagNames) n += f.second.size();
  return n;
}();

// The writers below put text at p (the caller has made room) and return the new end. They are
// what append_description's format strings were (fmt's "{}" of an integer is its plain decimal
// form, with '-' if negative, which is what std::to_chars writes), without fmt's format-string
// parsing and per-piece buffer checks: nodes.conf is rewritten with every new peer a node learns,
// so a join of N nodes formats ~N^3 of these lines (issue 7).
char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
char* put_dec(char* p, std::uint64_t v) { return std::to_chars(p, p + 20, v).ptr; }
char* put_dec(char* p, std::int64_t v) { return std::to_chars(p, p + 20, v).ptr; }
char* put_flags(char* p, std::uint16_t flags) {
  char* const orig = p;
  for (const auto& [flag, name] : kFlagNames)
    if ((flags & flag) != 0) p = put(p, name);
  if (p == orig) p = put(p, "noflags,");
  return p - 1;  // trailing comma
}

}  // namespace

void append_node_flags(std::string& out, std::uint16_t flags) {
  const std::size_t old = out.size();
  out.resize(old + kMaxFlagsLen);
  char* end = put_flags(out.data() + old, flags);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

namespace {

// The text of CLUSTER NODES / nodes.conf is built here: a growable byte buffer written through a
// raw pointer. Room for a line's longest form is made once (without the zero fill of
// std::string::resize), the line is written in place, and the length set to where it ended.
class TextBuffer {
 public:
  void clear() { len_ = 0; }
  char* room(std::size_t n) {  // at least n writable bytes at the end
    if (cap_ - len_ < n) grow(len_ + n);
    return buf_.get() + len_;
  }
  void commit(const char* end) { len_ = static_cast<std::size_t>(end - buf_.get()); }
  void append(std::string_view s) { commit(put_at(room(s.size()), s)); }
  std::string_view view() const { return {buf_.get(), len_}; }

 private:
  static char* put_at(char* p, std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
  }
  void grow(std::size_t need) {
    const std::size_t cap = std::max({need, cap_ * 2, std::size_t{4096}});
    auto next = std::make_unique_for_overwrite<char[]>(cap);
    if (len_ > 0) std::memcpy(next.get(), buf_.get(), len_);
    buf_ = std::move(next);
    cap_ = cap;
  }
  std::unique_ptr<char[]> buf_;
  std::size_t len_ = 0;
  std::size_t cap_ = 0;
};

// One per thread (simulations may run in several threads), reused by every node's every save:
// the text is copied out (to the Storage, or to the reply) before the next one is built.
TextBuffer& scratch_text() {
  thread_local TextBuffer buf;
  return buf;
}

// clusterGenNodeDescription. `ranges` is the node's slot ranges as CLUSTER NODES writes them
// (" 0-5460 5462", see slot_ranges_text), empty if it owns no slot.
void append_description(TextBuffer& ci, const ClusterNode* node, const ClusterState& cs, std::string_view ranges) {
  // Everything but the open slots, in its longest form: two node ids, three 20-digit numbers, two
  // 5-digit ports, nine one-character separators (' ' ':' '@' ',' ' ' ' ' ' ' ' ' ' '),
  // " disconnected", and the ranges.
  const std::size_t bound = 2 * kNodeIdLen + node->ip.size() + node->hostname.size() + kMaxFlagsLen +
                            3 * 20 + 2 * 5 + 9 + sizeof(" disconnected") + ranges.size();
  char* p = ci.room(bound);
  p = put(p, node->name.view());
  *p++ = ' ';
  p = put(p, node->ip);
  *p++ = ':';
  p = put_dec(p, std::uint64_t{node->port});
  *p++ = '@';
  p = put_dec(p, std::uint64_t{node->cport});
  if (!node->hostname.empty()) {
    *p++ = ',';
    p = put(p, node->hostname);
  }
  *p++ = ' ';
  p = put_flags(p, node->flags);
  *p++ = ' ';
  if (node->primary != nullptr) {
    p = put(p, node->primary->name.view());
  } else {
    *p++ = '-';
  }
  std::uint64_t epoch = node->config_epoch.v;
  if (node->is_replica() && node->primary != nullptr) epoch = node->primary->config_epoch.v;
  *p++ = ' ';
  p = put_dec(p, std::int64_t{node->ping_sent_ms});
  *p++ = ' ';
  p = put_dec(p, std::int64_t{node->pong_received_ms});
  *p++ = ' ';
  p = put_dec(p, epoch);
  p = put(p, (node->link != nullptr || node->is_myself()) ? std::string_view(" connected") : std::string_view(" disconnected"));
  p = put(p, ranges);
  ci.commit(p);
  if (node->is_myself() && cs.open_slots.any()) {
    std::string open;
    for (int j = 0; j < kSlotCount; ++j) {
      if (const ClusterNode* to = cs.open_slots.migrating(j)) {
        fmt::format_to(std::back_inserter(open), " [{}->-{}]", j, to->name.view());
      } else if (const ClusterNode* from = cs.open_slots.importing(j)) {
        fmt::format_to(std::back_inserter(open), " [{}-<-{}]", j, from->name.view());
      }
    }
    ci.append(open);
  }
}

bool valid_node_id(std::string_view s) {
  if (s.size() != static_cast<std::size_t>(kNodeIdLen)) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

// atoi-like: leading digits, stops at the first non-digit; false if none.
bool leading_int(std::string_view s, long long& out) {
  bool neg = false;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  long long v = 0;
  std::size_t start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && v < 1'000'000'000'000LL) v = v * 10 + (s[i++] - '0');
  if (i == start) return false;
  out = neg ? -v : v;
  return true;
}

}  // namespace

// Slot ranges per node, from the slot table (clusterGenNodesSlotsInfo), as the text CLUSTER NODES
// puts after a node's link state (" 0-5460 5462"), cached until the slot table changes: CLUSTER
// NODES is polled often, nodes.conf is rewritten often, and slots rarely move. The cache is flat
// (the owners sorted by address, each with its span of one text buffer), so that the lookup for
// every line of a save stays in a few cache lines; the order of the owners only serves the lookup,
// the text of each is its runs in slot order.
const SlotRangesText& Node::slot_ranges_text() const {
  SlotRangesText& rc = ranges_cache_;
  if (ranges_generation_ == cluster_.slots_generation && ranges_valid_) return rc;
  struct Run {
    const ClusterNode* owner;
    int first, last;
  };
  std::vector<Run> runs;
  const auto& slots = cluster_.slots;
  int i = 0;
  while (i < kSlotCount) {
    const ClusterNode* owner = slots[static_cast<std::size_t>(i)];
    int j = i + 1;
    // The run of `owner`: eight entries at a time while a whole block is its, then one by one.
    const auto o = reinterpret_cast<std::uintptr_t>(owner);
    while (j + 8 <= kSlotCount) {
      const ClusterNode* const* b = slots.data() + j;
      auto x = [&](int k) { return reinterpret_cast<std::uintptr_t>(b[k]) ^ o; };
      if ((x(0) | x(1) | x(2) | x(3) | x(4) | x(5) | x(6) | x(7)) != 0) break;
      j += 8;
    }
    while (j < kSlotCount && slots[static_cast<std::size_t>(j)] == owner) ++j;
    if (owner != nullptr) runs.push_back({owner, i, j - 1});
    i = j;
  }
  // Group by owner; stable, so each owner's runs stay in slot order.
  std::stable_sort(runs.begin(), runs.end(),
                   [](const Run& x, const Run& y) { return std::less<const ClusterNode*>()(x.owner, y.owner); });
  rc.owners.clear();
  rc.spans.clear();
  rc.text.clear();
  char buf[24];
  for (const Run& r : runs) {
    if (rc.owners.empty() || rc.owners.back() != r.owner) {
      rc.owners.push_back(r.owner);
      rc.spans.emplace_back(static_cast<std::uint32_t>(rc.text.size()), 0);
    }
    char* p = buf;
    *p++ = ' ';
    p = put_dec(p, std::uint64_t(r.first));
    if (r.last != r.first) {
      *p++ = '-';
      p = put_dec(p, std::uint64_t(r.last));
    }
    rc.text.append(buf, p);
    rc.spans.back().second = static_cast<std::uint32_t>(rc.text.size()) - rc.spans.back().first;
  }
  ranges_generation_ = cluster_.slots_generation;
  ranges_valid_ = true;
  return rc;
}

std::string_view SlotRangesText::of(const ClusterNode* n) const {
  auto it = std::lower_bound(owners.begin(), owners.end(), n, std::less<const ClusterNode*>());
  if (it == owners.end() || *it != n) return {};
  const auto& [offset, len] = spans[static_cast<std::size_t>(it - owners.begin())];
  return std::string_view(text).substr(offset, len);
}

// A node's slot ranges text, empty if it owns no slot. Only nodes with slots are looked up: a node
// owns a slot in the table exactly when the slot's bit is set in its bitmap (add_slot / del_slot
// change both), so numslots == 0 means no entry.
std::string_view Node::ranges_text_of(const ClusterNode* node) const {
  if (node->numslots == 0) return {};
  return slot_ranges_text().of(node);
}

std::string Node::node_description(const ClusterNode* node) const {
  TextBuffer& ci = scratch_text();
  ci.clear();
  append_description(ci, node, cluster_, ranges_text_of(node));
  return std::string(ci.view());
}

// The CLUSTER NODES lines of every node not flagged in `filter`, in node-id order, into the
// thread's scratch buffer (valid until the next call).
std::string_view Node::nodes_text(std::uint16_t filter) const {
  TextBuffer& ci = scratch_text();
  ci.clear();
  // With a thousand nodes the text is bound by cache misses (each ClusterNode is 2.4 KB, the
  // fields written here are in its first four cache lines (see cluster_state.hpp), and a save
  // comes long after this view was last touched): the nodes a few places ahead are prefetched,
  // and the primary of the next one, whose id and epoch a replica's line shows.
  constexpr std::size_t kAhead = 4;
  const std::size_t n = nodes_by_name_.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      const char* ahead = reinterpret_cast<const char*>(nodes_by_name_[i + kAhead]);
      for (int line = 0; line < 4; ++line) __builtin_prefetch(ahead + line * 64);
    }
    if (i + 1 < n && nodes_by_name_[i + 1]->primary != nullptr) {
      const char* primary = reinterpret_cast<const char*>(nodes_by_name_[i + 1]->primary);
      __builtin_prefetch(primary + 64);   // its name
      __builtin_prefetch(primary + 128);  // its config epoch
    }
    const ClusterNode* node = nodes_by_name_[i];
    if ((node->flags & filter) != 0) continue;
    append_description(ci, node, cluster_, ranges_text_of(node));
    ci.append("\n");
  }
  return ci.view();
}

std::string Node::cluster_nodes_text(std::uint16_t filter) const { return std::string(nodes_text(filter)); }

Result<void> Node::save_nodes_conf(bool do_fsync) {
  // Redis clears SAVE_CONFIG first, and FSYNC_CONFIG only when it syncs.
  cluster_.todo_before_sleep &= ~static_cast<std::uint32_t>(kTodoSaveConfig);
  if (do_fsync) cluster_.todo_before_sleep &= ~static_cast<std::uint32_t>(kTodoFsyncConfig);
  nodes_text(kNodeHandshake);
  TextBuffer& ci = scratch_text();
  ci.append(fmt::format("vars currentEpoch {} lastVoteEpoch {}\n", cluster_.current_epoch.v, cluster_.last_vote_epoch));
  const std::string& name = config_.cluster_config_file;
  std::string tmp = name + ".tmp";
  if (auto r = env_.storage.write(tmp, ci.view()); !r) return r.error();
  if (do_fsync) {
    if (auto r = env_.storage.fsync(tmp); !r) return r.error();
    if (auto r = env_.storage.rename(tmp, name); !r) return r.error();
  } else {
    if (auto r = env_.storage.rename_unsynced(tmp, name); !r) return r.error();
  }
  trace(TraceKind::config_saved, cluster_.myself->name, cluster_.current_epoch.v);
  return {};
}

void Node::save_nodes_conf_or_die(bool do_fsync) {
  auto r = save_nodes_conf(do_fsync);
  if (!r) {
    logf(LogLevel::warning, "Fatal: can't update cluster config file: {}", r.error().message);
    crashed_ = true;
    env_.process.shutdown(1);  // redis-server exit(1)s here
  }
}

// Loads nodes.conf. Returns false if there is none (or it is empty: Redis creates an empty one
// when it takes the lock). A corrupt file is an error naming the line and what is wrong; Redis
// exits with "Unrecoverable error: corrupted cluster config file." and so must the host.
Result<bool> Node::load_nodes_conf() {
  const std::string& fname = config_.cluster_config_file;
  if (!env_.storage.exists(fname)) return false;
  auto content = env_.storage.read(fname);
  if (!content) {
    return make_error(Errc::io, fmt::format("Loading the cluster node config from {}: {}", fname, content.error().message));
  }
  if (content->empty()) return false;

  auto fail = [&](int lineno, std::string why) -> Error {
    return make_error(Errc::invalid_argument,
                      fmt::format("Unrecoverable error: corrupted cluster config file {} line {}: {}", fname, lineno, why));
  };

  auto lookup_or_create = [&](std::string_view id) -> ClusterNode* {
    NodeId nid;
    NodeId::parse(id, nid);
    if (ClusterNode* n = cluster_.lookup(nid)) return n;
    return add_node(create_node(&nid, 0));
  };

  std::string_view text = *content;
  int lineno = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++lineno;
    if (line.empty() || line[0] == '\0') continue;
    auto argv = split_spaces(line);
    if (argv.empty()) continue;

    if (equals_nocase(argv[0], "vars")) {
      if (argv.size() % 2 == 0) return fail(lineno, "'vars' needs name/value pairs");
      for (std::size_t j = 1; j + 1 < argv.size(); j += 2) {
        long long v = 0;
        if (equals_nocase(argv[j], "currentEpoch")) {
          if (!leading_int(argv[j + 1], v) || v < 0) return fail(lineno, "invalid currentEpoch");
          cluster_.current_epoch.v = static_cast<std::uint64_t>(v);
        } else if (equals_nocase(argv[j], "lastVoteEpoch")) {
          if (!leading_int(argv[j + 1], v) || v < 0) return fail(lineno, "invalid lastVoteEpoch");
          cluster_.last_vote_epoch = static_cast<std::uint64_t>(v);
        } else {
          logf(LogLevel::warning, "Skipping unknown cluster config variable '{}'", argv[j]);
        }
      }
      continue;
    }

    if (argv.size() < 8) return fail(lineno, fmt::format("{} fields, at least 8 expected", argv.size()));
    if (!valid_node_id(argv[0])) return fail(lineno, fmt::format("invalid node id '{}'", argv[0]));
    ClusterNode* n = lookup_or_create(argv[0]);

    // ip:port[@cport][,hostname]
    std::string_view addr = argv[1];
    if (auto comma = addr.find(','); comma != std::string_view::npos) {
      n->hostname = std::string(addr.substr(comma + 1));
      addr = addr.substr(0, comma);
    } else {
      n->hostname.clear();
    }
    auto colon = addr.rfind(':');
    if (colon == std::string_view::npos) return fail(lineno, fmt::format("address '{}' has no ':'", argv[1]));
    n->ip = std::string(addr.substr(0, colon));
    std::string_view ports = addr.substr(colon + 1);
    std::string_view busp;
    if (auto at = ports.find('@'); at != std::string_view::npos) {
      busp = ports.substr(at + 1);
      ports = ports.substr(0, at);
    }
    long long port = 0, cport = 0;
    if (!leading_int(ports, port)) port = 0;
    if (!busp.empty()) {
      if (!leading_int(busp, cport)) cport = 0;
    } else {
      cport = port + kBusPortIncr;
    }
    if (port < 0 || port > 65535 || cport < 0 || cport > 65535) return fail(lineno, "port out of range");
    n->port = static_cast<std::uint16_t>(port);
    n->cport = static_cast<std::uint16_t>(cport);

    // Flags
    std::string_view flags = argv[2];
    std::size_t fpos = 0;
    while (fpos <= flags.size()) {
      std::size_t comma = flags.find(',', fpos);
      std::string_view f = flags.substr(fpos, comma == std::string_view::npos ? std::string_view::npos : comma - fpos);
      if (equals_nocase(f, "myself")) {
        if (cluster_.myself != nullptr) return fail(lineno, "a second 'myself' node");
        cluster_.myself = n;
        n->flags |= kNodeMyself;
      } else if (equals_nocase(f, "master")) {
        n->flags |= kNodePrimary;
      } else if (equals_nocase(f, "slave")) {
        n->flags |= kNodeReplica;
      } else if (equals_nocase(f, "fail?")) {
        n->flags |= kNodePfail;
      } else if (equals_nocase(f, "fail")) {
        n->flags |= kNodeFail;
        n->fail_time_ms = now_ms();
      } else if (equals_nocase(f, "handshake")) {
        n->flags |= kNodeHandshake;
      } else if (equals_nocase(f, "noaddr")) {
        n->flags |= kNodeNoaddr;
      } else if (equals_nocase(f, "nofailover")) {
        n->flags |= kNodeNofailover;
      } else if (equals_nocase(f, "noflags")) {
        // nothing
      } else {
        // Redis panics here; we refuse to start with the same meaning.
        return fail(lineno, fmt::format("Unknown flag '{}' in redis cluster config file", f));
      }
      if (comma == std::string_view::npos) break;
      fpos = comma + 1;
    }

    if (argv[3][0] != '-') {
      if (!valid_node_id(argv[3])) return fail(lineno, fmt::format("invalid primary id '{}'", argv[3]));
      ClusterNode* primary = lookup_or_create(argv[3]);
      n->primary = primary;
      node_add_replica(primary, n);
    }

    long long v = 0;
    if (leading_int(argv[4], v) && v != 0) n->ping_sent_ms = now_ms();
    if (leading_int(argv[5], v) && v != 0) n->pong_received_ms = now_ms();
    long long epoch = 0;
    if (!leading_int(argv[6], epoch) || epoch < 0) return fail(lineno, fmt::format("invalid config epoch '{}'", argv[6]));
    n->config_epoch.v = (n->is_replica() && n->primary != nullptr) ? 0 : static_cast<std::uint64_t>(epoch);

    for (std::size_t j = 8; j < argv.size(); ++j) {
      std::string_view tok = argv[j];
      if (tok[0] == '[') {
        auto dash = tok.find('-');
        if (dash == std::string_view::npos || dash + 3 > tok.size()) return fail(lineno, fmt::format("bad slot state '{}'", tok));
        char direction = tok[dash + 1];
        long long slot = 0;
        if (!leading_int(tok.substr(1, dash - 1), slot) || slot < 0 || slot >= kSlotCount)
          return fail(lineno, fmt::format("bad slot in '{}'", tok));
        std::string_view rest = tok.substr(dash + 3);
        auto close = rest.find(']');
        if (close == std::string_view::npos || !valid_node_id(rest.substr(0, close)) || (direction != '>' && direction != '<'))
          return fail(lineno, fmt::format("bad slot state '{}'", tok));
        ClusterNode* cn = lookup_or_create(rest.substr(0, close));
        if (direction == '>') {
          cluster_.open_slots.set_migrating(static_cast<int>(slot), cn);
        } else {
          cluster_.open_slots.set_importing(static_cast<int>(slot), cn);
        }
        continue;
      }
      long long start = 0, stop = 0;
      if (auto dash = tok.find('-'); dash != std::string_view::npos) {
        if (!leading_int(tok.substr(0, dash), start) || !leading_int(tok.substr(dash + 1), stop))
          return fail(lineno, fmt::format("bad slot range '{}'", tok));
      } else {
        if (!leading_int(tok, start)) return fail(lineno, fmt::format("bad slot '{}'", tok));
        stop = start;
      }
      if (start < 0 || start >= kSlotCount || stop < 0 || stop >= kSlotCount)
        return fail(lineno, fmt::format("slot out of range in '{}'", tok));
      while (start <= stop) add_slot(n, static_cast<int>(start++));
    }
  }
  if (cluster_.myself == nullptr) return fail(lineno, "no 'myself' node");
  logf(LogLevel::notice, "Node configuration loaded, I'm {}", cluster_.myself->name.view());
  if (max_epoch() > cluster_.current_epoch.v) cluster_.current_epoch.v = max_epoch();
  return true;
}

}  // namespace slotlab
