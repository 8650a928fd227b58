// The command table: names, arities and flags as Redis 7.0 declares them (src/commands/*.json),
// so that "wrong number of arguments for 'cluster|meet' command" and friends read the same.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "node/data_commands.hpp"
#include "node/node.hpp"
#include "node/strings.hpp"

namespace slotlab {

enum CommandFlag : std::uint32_t {
  kCmdWrite = 1u << 0,
  kCmdReadonly = 1u << 1,
  kCmdAdmin = 1u << 2,
  kCmdNoAuth = 1u << 3,     // allowed before AUTH (AUTH, HELLO, QUIT)
  kCmdStale = 1u << 4,      // allowed on a replica with a broken link
  kCmdLoading = 1u << 5,
  kCmdFast = 1u << 6,
  kCmdNoMulti = 1u << 7,
  kCmdMayReplicate = 1u << 8,
  kCmdAsking = 1u << 9,     // served in importing slots as if the client sent ASKING (RESTORE-ASKING)
  kCmdTouchesArbitraryKeys = 1u << 10,  // SCAN, RANDOMKEY: the DELs of keys they expire are not wrapped in MULTI
};

using CommandHandler = void (Node::*)(Client&, const Argv&, resp::Writer&);

struct CommandSpec {
  std::string name;       // lower case
  std::string full_name;  // "cluster|meet" for subcommands
  int arity = 0;          // >0 exact, <0 at least -arity (argv[0] included)
  std::uint32_t flags = 0;
  CommandHandler handler = nullptr;     // node-level commands (CLUSTER, INFO, ...)
  DataHandler data_handler = nullptr;   // data commands (data_commands.hpp); exactly one is set
  // Key positions, as COMMAND INFO reports them: argv[first_key], then every key_step-th up to
  // last_key (negative: counted from the end, -1 = the last argument). 0: no keys.
  int first_key = 0, last_key = 0, key_step = 0;
  // For commands whose keys cannot be described by positions (MIGRATE ... KEYS k1 k2).
  std::vector<std::size_t> (*getkeys)(const Argv& argv) = nullptr;
  std::vector<CommandSpec> subcommands;
};

// MIGRATE, DUMP, RESTORE, RESTORE-ASKING (migrate.cpp).
void register_migration_commands(std::vector<CommandSpec>& table);

// SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF (persistence.cpp).
void register_persistence_commands(std::vector<CommandSpec>& table);

// The positions in argv of the keys of a command (getKeysFromCommand).
std::vector<std::size_t> command_keys(const CommandSpec& cmd, const Argv& argv);

bool is_container_command(std::string_view name);

}  // namespace slotlab
