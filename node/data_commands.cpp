// The data command registry and the expiry-aware lookup every data command goes through.
// The command families live in files named after them (data_*.cpp) and are registered here.
#include "node/data_commands.hpp"

#include "node/commands.hpp"

namespace slotlab {

KeyEntry* DataContext::lookup_for(std::string_view key, bool write) {
  KeyEntry* e = db.find(key);
  if (e == nullptr || !expired(*e)) return e;
  if (from_primary) return e;  // the primary decides when its keys expire
  // A replica hides the key and waits for its primary's DEL, unless it is writable and this is
  // a write (EXPIRE_FORCE_DELETE_EXPIRED), where it must behave consistently for its own writes.
  if (is_replica && !(write && replica_writable)) return nullptr;
  if (paused) return nullptr;  // checkClientPauseTimeoutAndReturnIfPaused: keep the dataset static
  delete_expired(key);
  return nullptr;
}

void DataContext::delete_expired(std::string_view key) {
  // deleteExpiredKeyAndPropagate: no dirty++ (an expiry is not a change of the user's making),
  // but the DEL goes to replicas and the AOF before the command's own effects.
  Argv del{"DEL", std::string(key)};
  db.erase(key);
  propagate.push_back(std::move(del));
}

namespace data {

std::string arity_error(const Argv& argv) {
  return "ERR wrong number of arguments for '" + to_lower(argv[0]) + "' command";
}

std::string expire_time_error(const Argv& argv) {
  return "ERR invalid expire time in '" + to_lower(argv[0]) + "' command";
}

CommandSpec spec(std::string name, int arity, std::uint32_t flags, DataHandler h, int first_key, int last_key,
                 int key_step) {
  CommandSpec s;
  s.full_name = name;
  s.name = std::move(name);
  s.arity = arity;
  s.flags = flags;
  s.data_handler = h;
  s.first_key = first_key;
  s.last_key = last_key;
  s.key_step = key_step;
  return s;
}

}  // namespace data

void register_data_commands(std::vector<CommandSpec>& table) {
  data::register_string_commands(table);
  data::register_list_commands(table);
  data::register_hash_commands(table);
  data::register_key_commands(table);
}

}  // namespace slotlab
