// The multi-part append-only file: manifest, writer and loader (see aof.hpp).
#include "node/aof.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "node/rdb.hpp"
#include "node/rdb_packed.hpp"
#include "node/strings.hpp"

namespace slotlab::aof {

namespace {

constexpr std::size_t kManifestMaxLine = 1024;  // MANIFEST_MAX_LINE
constexpr std::size_t kRewriteItemsPerCmd = 64;  // AOF_REWRITE_ITEMS_PER_CMD

Error manifest_error(int line, const std::string& what) {
  return make_error(Errc::protocol, fmt::format("AOF manifest: {} (line {})", what, line));
}

// sdsneedsrepr / sdscatrepr, for file names in the manifest.
bool needs_repr(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\' || c == '"' || u <= 0x20 || u >= 0x7f) return true;
  }
  return false;
}

std::string repr(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      default: {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {  // isprint
          out.push_back(c);
        } else {
          out += fmt::format("\\x{:02x}", u);
        }
      }
    }
  }
  out.push_back('"');
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// sdssplitargs: space-separated words, "double quoted" with C escapes (\xHH too) or 'single
// quoted' (only \' escaped); a closing quote must be followed by a space or the end.
std::optional<std::vector<std::string>> split_args(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (true) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i >= line.size()) return out;
    std::string cur;
    if (line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return std::nullopt;  // unterminated
        char c = line[i];
        if (c == '"') {
          ++i;
          if (i < line.size() && !is_space(line[i])) return std::nullopt;
          break;
        }
        if (c == '\\' && i + 1 < line.size()) {
          char e = line[i + 1];
          if (e == 'x' && i + 3 < line.size() && hex_digit(line[i + 2]) >= 0 && hex_digit(line[i + 3]) >= 0) {
            cur.push_back(static_cast<char>(hex_digit(line[i + 2]) * 16 + hex_digit(line[i + 3])));
            i += 4;
            continue;
          }
          switch (e) {
            case 'n': cur.push_back('\n'); break;
            case 'r': cur.push_back('\r'); break;
            case 't': cur.push_back('\t'); break;
            case 'b': cur.push_back('\b'); break;
            case 'a': cur.push_back('\a'); break;
            default: cur.push_back(e); break;
          }
          i += 2;
          continue;
        }
        cur.push_back(c);
        ++i;
      }
    } else if (line[i] == '\'') {
      ++i;
      while (true) {
        if (i >= line.size()) return std::nullopt;
        char c = line[i];
        if (c == '\'') {
          ++i;
          if (i < line.size() && !is_space(line[i])) return std::nullopt;
          break;
        }
        if (c == '\\' && i + 1 < line.size() && line[i + 1] == '\'') {
          cur.push_back('\'');
          i += 2;
          continue;
        }
        cur.push_back(c);
        ++i;
      }
    } else {
      while (i < line.size() && !is_space(line[i])) cur.push_back(line[i++]);
    }
    out.push_back(std::move(cur));
  }
}

// atoll: leading digits, 0 if none.
std::int64_t leading_int(std::string_view s) {
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  std::int64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (v > (INT64_MAX - 9) / 10) break;
    v = v * 10 + (s[i] - '0');
  }
  return negative ? -v : v;
}

void append_format_line(std::string& out, const ManifestEntry& e) {
  out += fmt::format("file {} seq {} type {}\n", needs_repr(e.file) ? repr(e.file) : e.file, e.seq, e.type);
}

// --- RESP command stream parsing ---

enum class Step : std::uint8_t { ok, truncated, error };

struct Number {
  Step step = Step::ok;
  std::int64_t value = 0;
  std::size_t next = 0;   // just past "\r\n"
  std::size_t bad_at = 0;
  std::string what;
};

// Reads "<digits>\r\n" at `at` (the byte after '*' or '$').
Number read_number(std::string_view d, std::size_t at) {
  Number n;
  std::size_t i = at;
  while (i < d.size() && d[i] >= '0' && d[i] <= '9') {
    if (i - at >= 18) return {Step::error, 0, 0, i, "number too long"};
    n.value = n.value * 10 + (d[i] - '0');
    ++i;
  }
  if (i >= d.size()) return {Step::truncated, 0, 0, i, {}};
  if (i == at) return {Step::error, 0, 0, i, fmt::format("expected a number, found byte 0x{:02x}", static_cast<unsigned char>(d[i]))};
  if (d[i] != '\r') return {Step::error, 0, 0, i, fmt::format("expected CR after the number, found byte 0x{:02x}", static_cast<unsigned char>(d[i]))};
  if (i + 1 >= d.size()) return {Step::truncated, 0, 0, i, {}};
  if (d[i + 1] != '\n') return {Step::error, 0, 0, i + 1, "expected LF after CR"};
  n.next = i + 2;
  return n;
}

}  // namespace

// --- manifest ---

std::string Manifest::format() const {
  std::string out;
  if (base) append_format_line(out, *base);
  for (const auto& h : history) append_format_line(out, h);
  for (const auto& i : incr) append_format_line(out, i);
  return out;
}

Result<Manifest> Manifest::parse(std::string_view text) {
  Manifest m;
  if (text.empty()) return manifest_error(0, "Found an empty AOF manifest");
  int linenum = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    ++linenum;
    const std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view raw = text.substr(pos, end - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!raw.empty() && raw[0] == '#') continue;  // comment (fgets: may be long, it is skipped)
    if (nl == std::string_view::npos || raw.size() + 1 > kManifestMaxLine)
      return manifest_error(linenum, "The AOF manifest file contains too long line");
    // sdstrim(" \t\r\n")
    std::size_t b = 0, e = raw.size();
    while (b < e && (raw[b] == ' ' || raw[b] == '\t' || raw[b] == '\r')) ++b;
    while (e > b && (raw[e - 1] == ' ' || raw[e - 1] == '\t' || raw[e - 1] == '\r')) --e;
    std::string_view line = raw.substr(b, e - b);
    if (line.empty()) return manifest_error(linenum, "Invalid AOF manifest file format");
    auto argv = split_args(line);
    if (!argv || argv->size() < 6 || argv->size() % 2 != 0) return manifest_error(linenum, "Invalid AOF manifest file format");
    ManifestEntry entry;
    entry.type = '\0';
    bool have_file = false;
    for (std::size_t i = 0; i < argv->size(); i += 2) {
      const std::string& k = (*argv)[i];
      const std::string& v = (*argv)[i + 1];
      if (equals_nocase(k, "file")) {
        if (v.find('/') != std::string::npos || v.find('\\') != std::string::npos)
          return manifest_error(linenum, "File can't be a path, just a filename");
        entry.file = v;
        have_file = !v.empty();
      } else if (equals_nocase(k, "seq")) {
        entry.seq = leading_int(v);
      } else if (equals_nocase(k, "type")) {
        entry.type = v.empty() ? '\0' : v[0];
      }
    }
    if (!have_file || entry.seq == 0 || entry.type == '\0') return manifest_error(linenum, "Invalid AOF manifest file format");
    switch (entry.type) {
      case 'b':
        if (m.base) return manifest_error(linenum, "Found duplicate base file information");
        m.base = std::move(entry);
        break;
      case 'h':
        m.history.push_back(std::move(entry));
        break;
      case 'i':
        if (entry.seq <= m.incr_seq()) return manifest_error(linenum, "Found a non-monotonic sequence number");
        m.incr.push_back(std::move(entry));
        break;
      default:
        return manifest_error(linenum, "Unknown AOF file type");
    }
  }
  return m;
}

// --- encoding ---

void append_command(std::string& out, const std::vector<std::string>& argv) {
  out += fmt::format("*{}\r\n", argv.size());
  for (const auto& a : argv) {
    out += fmt::format("${}\r\n", a.size());
    out += a;
    out += "\r\n";
  }
}

std::string rewrite_commands(const std::vector<const Keyspace*>& dbs) {
  std::string out;
  for (std::size_t i = 0; i < dbs.size(); ++i) {
    const Keyspace* ks = dbs[i];
    if (ks == nullptr || ks->size() == 0) continue;
    append_command(out, {"SELECT", std::to_string(i)});
    ks->for_each([&](const std::string& key, const KeyEntry& e) {
      const Value& v = e.value;
      switch (v.type) {
        case ValueType::string:
          append_command(out, {"SET", key, v.str});
          break;
        case ValueType::list:
          for (std::size_t at = 0; at < v.list.size(); at += kRewriteItemsPerCmd) {
            std::vector<std::string> cmd{"RPUSH", key};
            for (std::size_t j = at; j < std::min(v.list.size(), at + kRewriteItemsPerCmd); ++j) cmd.push_back(v.list[j]);
            append_command(out, cmd);
          }
          break;
        case ValueType::hash:
          for (std::size_t at = 0; at < v.hash.size(); at += kRewriteItemsPerCmd) {
            std::vector<std::string> cmd{"HMSET", key};
            for (std::size_t j = at; j < std::min(v.hash.size(), at + kRewriteItemsPerCmd); ++j) {
              cmd.push_back(v.hash[j].first);
              cmd.push_back(v.hash[j].second);
            }
            append_command(out, cmd);
          }
          break;
      }
      if (e.expire_ms >= 0 && !(v.type == ValueType::list && v.list.empty()) && !(v.type == ValueType::hash && v.hash.empty()))
        append_command(out, {"PEXPIREAT", key, std::to_string(e.expire_ms)});
      return true;
    });
  }
  return out;
}

// --- writer ---

AofWriter::AofWriter(Storage& storage, Options opts) : storage_(storage), opts_(std::move(opts)) {}

std::string AofWriter::path(std::string_view file) const { return opts_.dirname + "/" + std::string(file); }

std::string AofWriter::manifest_path() const { return path(opts_.filename + ".manifest"); }

Result<void> AofWriter::write_manifest(const Manifest& m) {
  // writeAofManifestFile: a temp file, fsynced, renamed over the manifest (rename is durable).
  const std::string tmp = path("temp-" + opts_.filename + ".manifest");
  if (auto r = storage_.write(tmp, m.format()); !r) return r;
  if (auto r = storage_.fsync(tmp); !r) return r;
  return storage_.rename(tmp, manifest_path());
}

Result<void> AofWriter::open() {
  if (!storage_.exists(manifest_path()))
    return make_error(Errc::not_found, fmt::format("no AOF manifest {}", manifest_path()));
  auto text = storage_.read(manifest_path());
  if (!text) return text.error();
  auto parsed = Manifest::parse(*text);
  if (!parsed) return parsed.error();
  Manifest m = std::move(*parsed);
  if (auto r = storage_.make_dir(opts_.dirname); !r) return r;
  bool changed = false;
  if (!m.history.empty()) {
    for (const auto& h : m.history) (void)storage_.remove(path(h.file));
    m.history.clear();
    changed = true;
  }
  if (m.incr.empty()) {
    ManifestEntry e{fmt::format("{}.{}.incr.aof", opts_.filename, 1), 1, 'i'};
    if (auto r = storage_.write(path(e.file), ""); !r) return r;
    if (auto r = storage_.fsync(path(e.file)); !r) return r;
    m.incr.push_back(std::move(e));
    changed = true;
  }
  if (changed) {
    if (auto r = write_manifest(m); !r) return r;
  }
  manifest_ = std::move(m);
  incr_name_ = path(manifest_.incr.back().file);
  buf_.clear();
  selected_db_ = -1;
  unsynced_ = false;
  last_write_ok_ = true;
  incr_size_ = 0;
  return {};
}

Result<void> AofWriter::rewrite(std::string_view base) {
  Manifest old = manifest_;
  if (!is_open() && storage_.exists(manifest_path())) {
    if (auto text = storage_.read(manifest_path()); text) {
      if (auto parsed = Manifest::parse(*text); parsed) old = std::move(*parsed);
    }
  }
  if (auto r = storage_.make_dir(opts_.dirname); !r) return r;
  // 1. The new BASE, complete and durable under a temporary name before it gets its real one.
  const std::int64_t base_seq = old.base_seq() + 1;
  ManifestEntry new_base{fmt::format("{}.{}.base.{}", opts_.filename, base_seq, opts_.use_rdb_preamble ? "rdb" : "aof"), base_seq, 'b'};
  const std::string tmp = path("temp-rewriteaof-bg.aof");
  if (auto r = storage_.write(tmp, base); !r) return r;
  if (auto r = storage_.fsync(tmp); !r) return r;
  if (auto r = storage_.rename(tmp, path(new_base.file)); !r) return r;
  // 2. A new, empty INCR, fsynced so its name survives a crash (the manifest will list it).
  const std::int64_t incr_seq = old.incr_seq() + 1;
  ManifestEntry new_incr{fmt::format("{}.{}.incr.aof", opts_.filename, incr_seq), incr_seq, 'i'};
  if (auto r = storage_.write(path(new_incr.file), ""); !r) return r;
  if (auto r = storage_.fsync(path(new_incr.file)); !r) return r;
  // 3. Switch: from here on a crash loads the new generation.
  Manifest m;
  m.base = new_base;
  m.incr.push_back(new_incr);
  if (auto r = write_manifest(m); !r) return r;
  // 4. The old generation is history; remove it (best effort, like aofDelHistoryFiles).
  std::vector<std::string> stale;
  if (old.base) stale.push_back(old.base->file);
  for (const auto& h : old.history) stale.push_back(h.file);
  for (const auto& i : old.incr) stale.push_back(i.file);
  for (const auto& f : stale)
    if (f != new_base.file && f != new_incr.file) (void)storage_.remove(path(f));
  manifest_ = std::move(m);
  incr_name_ = path(new_incr.file);
  buf_.clear();
  selected_db_ = -1;
  unsynced_ = false;
  last_write_ok_ = true;
  incr_size_ = 0;
  return {};
}

void AofWriter::feed(int db, const std::vector<std::string>& argv) {
  if (!is_open()) return;
  if (db != selected_db_) {
    append_command(buf_, {"SELECT", std::to_string(db)});
    selected_db_ = db;
  }
  append_command(buf_, argv);
}

Result<void> AofWriter::fsync_now() {
  if (auto r = storage_.fsync(incr_name_); !r) return r;
  ++fsyncs_;
  unsynced_ = false;
  return {};
}

Result<void> AofWriter::flush_and_fsync() {
  if (!is_open()) return {};
  if (!buf_.empty()) {
    if (auto r = storage_.append(incr_name_, buf_); !r) {
      last_write_ok_ = false;  // keep the buffer: the next call retries
      return r;
    }
    incr_size_ += buf_.size();
    buf_.clear();
    unsynced_ = true;
    last_write_ok_ = true;
  }
  if (opts_.fsync == AppendFsync::always && unsynced_) return fsync_now();
  return {};
}

Result<void> AofWriter::cron(Millis now_ms) {
  if (!is_open()) return {};
  if (auto r = flush_and_fsync(); !r) return r;
  if (opts_.fsync != AppendFsync::everysec || !unsynced_) return {};
  if (last_fsync_ms_ && now_ms - *last_fsync_ms_ < 1000) return {};
  last_fsync_ms_ = now_ms;  // also on failure: retried a second later, as Redis does
  return fsync_now();
}

// --- loader ---

Result<ParsedCommands> parse_commands(std::string_view d, std::size_t offset, std::string_view name) {
  ParsedCommands out;
  out.valid_up_to = offset;
  int db = 0;
  bool in_multi = false;
  std::size_t multi_index = 0;
  std::uint64_t before_multi = 0;
  auto format_error = [&](std::size_t at, const std::string& what) {
    return make_error(Errc::protocol, fmt::format("AOF {}: bad file format at byte {}: {}", name, at, what));
  };
  auto truncate = [&]() -> Result<ParsedCommands> {
    out.truncated = true;
    if (in_multi) {
      out.commands.resize(multi_index);
      out.valid_up_to = before_multi;
    }
    return std::move(out);
  };
  std::size_t pos = offset;
  while (pos < d.size()) {
    if (d[pos] == '#') {  // annotation line (#TS:...)
      const std::size_t nl = d.find('\n', pos);
      pos = nl == std::string_view::npos ? d.size() : nl + 1;
      continue;
    }
    if (d[pos] != '*') return format_error(pos, fmt::format("expected '*', found byte 0x{:02x}", static_cast<unsigned char>(d[pos])));
    Number argc = read_number(d, pos + 1);
    if (argc.step == Step::truncated) return truncate();
    if (argc.step == Step::error) return format_error(argc.bad_at, argc.what);
    if (argc.value < 1) return format_error(pos, "command with no arguments");
    pos = argc.next;
    std::vector<std::string> argv;
    for (std::int64_t j = 0; j < argc.value; ++j) {
      if (pos >= d.size()) return truncate();
      if (d[pos] != '$') return format_error(pos, fmt::format("expected '$', found byte 0x{:02x}", static_cast<unsigned char>(d[pos])));
      Number len = read_number(d, pos + 1);
      if (len.step == Step::truncated) return truncate();
      if (len.step == Step::error) return format_error(len.bad_at, len.what);
      pos = len.next;
      const auto n = static_cast<std::uint64_t>(len.value);
      if (n > d.size() - pos) return truncate();
      const std::size_t end = pos + static_cast<std::size_t>(n);
      if (end < d.size() && d[end] != '\r') return format_error(end, "expected CR after the argument");
      if (end + 1 < d.size() && d[end + 1] != '\n') return format_error(end + 1, "expected LF after CR");
      if (end + 2 > d.size()) return truncate();
      argv.emplace_back(d.substr(pos, static_cast<std::size_t>(n)));
      pos = end + 2;
    }
    if (equals_nocase(argv[0], "select")) {
      const auto id = argv.size() == 2 ? rdb::canonical_int64(argv[1]) : std::nullopt;
      if (!id || *id < 0 || *id > INT32_MAX) return format_error(pos, "invalid SELECT");
      db = static_cast<int>(*id);
    } else {
      if (equals_nocase(argv[0], "multi") && !in_multi) {
        in_multi = true;
        multi_index = out.commands.size();
        before_multi = out.valid_up_to;
      } else if (equals_nocase(argv[0], "exec")) {
        in_multi = false;
      }
      out.commands.push_back(Command{db, std::move(argv)});
    }
    out.valid_up_to = pos;
  }
  if (in_multi) return truncate();  // "Revert incomplete MULTI/EXEC transaction"
  return out;
}

AofLoader::AofLoader(Storage& storage, Options opts) : storage_(storage), opts_(std::move(opts)) {}

Result<Loaded> AofLoader::load() {
  Loaded out;
  const std::string manifest_path = opts_.dirname + "/" + opts_.filename + ".manifest";
  std::vector<std::string> files;
  if (storage_.exists(manifest_path)) {
    auto text = storage_.read(manifest_path);
    if (!text) return text.error();
    auto m = Manifest::parse(*text);
    if (!m) return m.error();
    if (!m->base && m->incr.empty()) return make_error(Errc::not_found, fmt::format("AOF manifest {} lists no files", manifest_path));
    if (m->base) files.push_back(opts_.dirname + "/" + m->base->file);
    for (const auto& i : m->incr) files.push_back(opts_.dirname + "/" + i.file);
  } else if (storage_.exists(opts_.filename)) {
    files.push_back(opts_.filename);
    out.legacy = true;
  } else {
    return make_error(Errc::not_found, "no append-only file");
  }

  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string& name = files[i];
    const bool last = i + 1 == files.size();
    auto data = storage_.read(name);
    if (!data) {
      return make_error(Errc::io, fmt::format("can't read the append-only file {}: {}", name, data.error().message));
    }
    out.files.push_back(name);
    std::size_t offset = 0;
    if (data->size() >= 5 && std::string_view(*data).substr(0, 5) == "REDIS") {
      // An RDB: the BASE snapshot (or a legacy AOF's preamble), possibly followed by commands.
      if (i != 0) return make_error(Errc::protocol, fmt::format("AOF {}: RDB data in a file that is not the BASE", name));
      auto rdb = rdb::decode(*data);
      if (!rdb) return make_error(Errc::protocol, fmt::format("AOF {}: {}", name, rdb.error().message));
      offset = static_cast<std::size_t>(rdb->size);
      out.base_rdb = data->substr(0, offset);
    }
    auto parsed = parse_commands(*data, offset, name);
    if (!parsed) return parsed.error();
    if (parsed->truncated) {
      if (!last)
        return make_error(Errc::protocol, fmt::format("AOF {} is truncated at byte {} but is not the last file", name, parsed->valid_up_to));
      if (!opts_.load_truncated)
        return make_error(Errc::protocol,
                          fmt::format("Unexpected end of file reading the append only file {} (last complete command ends at byte {}; aof-load-truncated is off)",
                                      name, parsed->valid_up_to));
      // Cut the torn tail so that the next append follows a complete command (Redis truncate()s).
      const auto keep = static_cast<std::size_t>(parsed->valid_up_to);
      if (auto r = storage_.write(name, std::string_view(*data).substr(0, keep)); !r) return r.error();
      if (auto r = storage_.fsync(name); !r) return r.error();
      out.truncated = true;
      out.truncated_file = name;
      out.truncated_at = parsed->valid_up_to;
      out.truncated_bytes = data->size() - keep;
    }
    for (auto& c : parsed->commands) out.commands.push_back(std::move(c));
  }
  return out;
}

}  // namespace slotlab::aof
