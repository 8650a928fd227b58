// The interface between the node and its data commands (strings, lists, hashes, keys ...).
//
// A data command is a free function over a DataContext: the selected database, the node's clock,
// the client, and where to put what must be propagated to replicas and the AOF. It never sees
// the cluster: routing (MOVED/ASK/...) happens before it runs, in the node's dispatch.
//
// Propagation follows Redis 7.0: a command pushes the commands that reproduce its effect
// (usually its own argv; SET ... EX n becomes SET ... PXAT abs, EXPIRE becomes PEXPIREAT, a key
// found expired on a primary becomes DEL). Nothing is pushed when nothing changed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "node/keyspace.hpp"
#include "node/resp.hpp"
#include "node/types.hpp"

namespace slotlab {

struct Client;
struct CommandSpec;
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

  // expireIfNeeded semantics:
  //  - a primary (or a standalone server) deletes an expired key on access and pushes DEL;
  //  - a replica hides it from normal clients but does not delete it (its primary will send DEL);
  //  - the primary's own stream sees it as present.
  KeyEntry* lookup(std::string_view key);
  bool expired(const KeyEntry& e) const { return e.expire_ms >= 0 && e.expire_ms <= now_ms; }
  // Marks a change: dirty++ and `argv` propagated as is.
  void changed(const Argv& argv, std::int64_t changes = 1) {
    dirty += changes;
    propagate.push_back(argv);
  }
};

using DataHandler = void (*)(DataContext& ctx, const Argv& argv, resp::Writer& w);

// Adds the data commands to the command table (implemented with the commands themselves).
void register_data_commands(std::vector<CommandSpec>& table);

}  // namespace slotlab
