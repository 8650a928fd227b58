// The interface between the node and its data commands (strings, lists, hashes, keys ...).
//
// A data command is a free function over a DataContext: the selected database, the node's clock,
// the client, and where to put what must be propagated to replicas and the AOF. It never sees
// the cluster: routing (MOVED/ASK/...) happens before it runs, in the node's dispatch.
//
// Propagation follows Redis 7.0: a command pushes the commands that reproduce its effect
// (usually its own argv; SET ... EX n becomes SET ... PXAT abs, EXPIRE becomes PEXPIREAT, a key
// found expired on a primary becomes DEL). Nothing is pushed when nothing changed. As in Redis's
// call(), the command's own argv (changed(argv) with the argv the handler was given) goes after
// everything else it pushed, and is not copied; when a command propagates more than one command
// the node wraps them in MULTI/EXEC (propagatePendingCommands).
//
// The command families live in data_strings.cpp, data_lists.cpp, data_hashes.cpp and
// data_keys.cpp; data_commands.cpp has the expiry-aware lookups and registers them all.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "node/keyspace.hpp"
#include "node/resp.hpp"
#include "node/types.hpp"

namespace slotlab {

struct Client;
struct CommandSpec;
class Random;
using Argv = std::vector<std::string>;

struct DataContext {
  Keyspace& db;
  int db_index = 0;
  Millis now_ms = 0;
  Client& client;
  bool from_primary = false;  // applying our primary's stream or loading the AOF
  bool is_replica = false;    // we are a replica
  std::vector<Argv>& propagate;
  std::int64_t& dirty;        // changes since the last RDB save (save points)

  // Set by the dispatcher (Node::call_data_command); the defaults suit a context built by hand.
  const Argv* argv = nullptr;        // the command being run: changed(argv) propagates it without a copy
  bool propagate_argv = false;       // the command's own argv goes last (set by changed)
  bool paused = false;               // writes paused (manual failover): expired keys are hidden, not deleted
  bool replica_writable = false;     // replica-read-only no: writes on a replica delete expired keys
  std::int64_t proto_max_bulk_len = 512ll * 1024 * 1024;  // largest string a client may build
  std::vector<std::unique_ptr<Keyspace>>* all_dbs = nullptr;  // FLUSHALL
  Random* random = nullptr;          // RANDOMKEY (the node's seeded generator)

  // expireIfNeeded semantics (a key expires when now > expire time):
  //  - a primary (or a standalone server) deletes an expired key on access and pushes DEL;
  //  - a replica hides it from normal clients but does not delete it (its primary will send DEL);
  //  - the primary's own stream sees it as present;
  //  - while writes are paused it is hidden but kept (the dataset stays constant).
  KeyEntry* lookup(std::string_view key) { return lookup_for(key, false); }
  // lookupKeyWrite: as lookup, but a writable replica deletes what it finds expired.
  KeyEntry* lookup_write(std::string_view key) { return lookup_for(key, true); }
  bool expired(const KeyEntry& e) const { return e.expire_ms >= 0 && e.expire_ms < now_ms; }
  // Marks a change: dirty += changes and `argv` propagated as is (the command's own argv, passed
  // as the handler received it, is propagated last and without a copy).
  void changed(const Argv& what, std::int64_t changes = 1) {
    dirty += changes;
    if (&what == argv) {
      propagate_argv = true;
    } else {
      propagate.push_back(what);
    }
  }
  void changed(Argv&& what, std::int64_t changes = 1) {
    dirty += changes;
    propagate.push_back(std::move(what));
  }
  // Deletes a key and propagates DEL (a key that expired, a value left empty is not this: that is
  // part of the command's own effect).
  void delete_expired(std::string_view key);

 private:
  KeyEntry* lookup_for(std::string_view key, bool write);
};

using DataHandler = void (*)(DataContext& ctx, const Argv& argv, resp::Writer& w);

// Adds the data commands to the command table (implemented with the commands themselves).
void register_data_commands(std::vector<CommandSpec>& table);

// ---- shared by the data command families (data_*.cpp) ----
namespace data {

inline constexpr std::string_view kWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kSyntaxError = "ERR syntax error";
inline constexpr std::string_view kOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kNoSuchKey = "ERR no such key";
inline constexpr std::string_view kOutOfRange = "ERR index out of range";
inline constexpr std::string_view kNotPositive = "ERR value is out of range, must be positive";

// addReplyErrorArity / addReplyErrorExpireTime, naming the command as Redis's fullname does.
std::string arity_error(const Argv& argv);
std::string expire_time_error(const Argv& argv);
// string2ld / ld2string(LD_STR_HUMAN): INCRBYFLOAT and HINCRBYFLOAT parse and print this way.
bool parse_long_double(std::string_view s, long double& out);
std::string format_long_double_human(long double v);
// A CommandSpec for a data command: name (lower case), arity, flags, key positions.
CommandSpec spec(std::string name, int arity, std::uint32_t flags, DataHandler h, int first_key, int last_key,
                 int key_step);

void register_string_commands(std::vector<CommandSpec>& table);
void register_list_commands(std::vector<CommandSpec>& table);
void register_hash_commands(std::vector<CommandSpec>& table);
void register_key_commands(std::vector<CommandSpec>& table);

}  // namespace data

}  // namespace slotlab
