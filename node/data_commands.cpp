// The data command registry and the expiry-aware lookup every data command goes through.
// The command families live in files named after them (data_*.cpp) and are registered here.
#include "node/data_commands.hpp"

#include "node/commands.hpp"

namespace slotlab {

KeyEntry* DataContext::lookup(std::string_view key) {
  KeyEntry* e = db.find(key);
  if (e == nullptr || !expired(*e)) return e;
  if (from_primary) return e;   // the primary decides when its keys expire
  if (is_replica) return nullptr;  // hidden, not deleted: the primary's DEL will come
  Argv del{"DEL", std::string(key)};
  db.erase(key);
  dirty += 1;
  propagate.push_back(std::move(del));
  return nullptr;
}

void register_data_commands(std::vector<CommandSpec>& table) {
  (void)table;  // the data command families register here
}

}  // namespace slotlab
