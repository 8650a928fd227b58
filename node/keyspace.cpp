// Implementation of the keyspace (see keyspace.hpp).
#include "node/keyspace.hpp"

#include "node/crc.hpp"
#include "node/result.hpp"

namespace slotlab {

const std::string* Value::hget(std::string_view field) const {
  auto it = hash_index.find(field);
  return it == hash_index.end() ? nullptr : &hash[it->second].second;
}

bool Value::hset(std::string field, std::string value) {
  auto it = hash_index.find(field);
  if (it != hash_index.end()) {
    hash[it->second].second = std::move(value);
    return false;
  }
  hash_index.emplace(field, hash.size());
  hash.emplace_back(std::move(field), std::move(value));
  return true;
}

bool Value::hdel(std::string_view field) {
  auto it = hash_index.find(field);
  if (it == hash_index.end()) return false;
  std::size_t pos = it->second;
  hash_index.erase(it);
  hash.erase(hash.begin() + static_cast<std::ptrdiff_t>(pos));
  for (std::size_t i = pos; i < hash.size(); ++i) hash_index[hash[i].first] = i;
  return true;
}

std::size_t Value::approx_bytes() const {
  std::size_t n = 16;
  switch (type) {
    case ValueType::string: n += str.size(); break;
    case ValueType::list:
      for (const auto& e : list) n += e.size() + 16;
      break;
    case ValueType::hash:
      for (const auto& [f, v] : hash) n += f.size() + v.size() + 32;
      break;
  }
  return n;
}

Keyspace::Keyspace() = default;

KeyEntry* Keyspace::find(std::string_view key) {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

const KeyEntry* Keyspace::find(std::string_view key) const {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

void Keyspace::link(KeyEntry& e) {
  auto s = static_cast<std::size_t>(e.slot);
  if (!index_) index_ = std::make_unique<SlotIndex>();
  SlotIndex& ix = *index_;
  e.slot_prev = ix.tail[s];
  e.slot_next = nullptr;
  if (ix.tail[s] != nullptr) {
    ix.tail[s]->slot_next = &e;
  } else {
    ix.head[s] = &e;
  }
  ix.tail[s] = &e;
  ++ix.count[s];
}

void Keyspace::unlink(KeyEntry& e) {
  auto s = static_cast<std::size_t>(e.slot);
  SlotIndex& ix = *index_;  // a linked entry implies the index exists
  if (e.slot_prev != nullptr) {
    e.slot_prev->slot_next = e.slot_next;
  } else {
    ix.head[s] = e.slot_next;
  }
  if (e.slot_next != nullptr) {
    e.slot_next->slot_prev = e.slot_prev;
  } else {
    ix.tail[s] = e.slot_prev;
  }
  e.slot_prev = e.slot_next = nullptr;
  --ix.count[s];
}

KeyEntry& Keyspace::set(std::string_view key, Value value, bool keep_ttl) {
  // Look up first: overwriting an existing key must not build a std::string for it.
  if (auto found = map_.find(key); found != map_.end()) {
    if (!keep_ttl) set_expire(found->second, -1);
    found->second.value = std::move(value);
    return found->second;
  }
  auto [it, inserted] = map_.try_emplace(std::string(key));
  KeyEntry& e = it->second;
  if (inserted) {
    e.key = &it->first;
    e.slot = key_hash_slot(key);
    link(e);
  } else if (!keep_ttl) {
    set_expire(e, -1);
  }
  e.value = std::move(value);
  return e;
}

KeyEntry& Keyspace::get_or_create(std::string_view key, ValueType type) {
  if (KeyEntry* e = find(key)) return *e;
  Value v;
  v.type = type;
  return set(key, std::move(v));
}

bool Keyspace::erase(std::string_view key) {
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  KeyEntry& e = it->second;
  if (e.expire_ms >= 0) expires_.erase({e.expire_ms, it->first});
  unlink(e);
  map_.erase(it);
  return true;
}

void Keyspace::set_expire(KeyEntry& e, Millis expire_ms) {
  if (e.expire_ms >= 0) expires_.erase({e.expire_ms, *e.key});
  e.expire_ms = expire_ms;
  if (expire_ms >= 0) expires_.emplace(expire_ms, *e.key);
}

void Keyspace::clear() {
  map_.clear();
  index_.reset();
  expires_.clear();
}

std::vector<std::string> Keyspace::keys_in_slot(Slot slot, std::size_t max) const {
  std::vector<std::string> out;
  if (!index_) return out;
  for (const KeyEntry* e = index_->head[slot]; e != nullptr && out.size() < max; e = e->slot_next) out.push_back(*e->key);
  return out;
}

std::size_t Keyspace::erase_slot(Slot slot) {
  std::vector<std::string> keys = keys_in_slot(slot, count_in_slot(slot));
  for (const auto& k : keys) erase(k);
  return keys.size();
}

std::vector<std::string> Keyspace::expired_keys(Millis now_ms, std::size_t max) const {
  std::vector<std::string> out;
  for (const auto& [t, key] : expires_) {
    if (t > now_ms || out.size() >= max) break;
    out.push_back(key);
  }
  return out;
}

}  // namespace slotlab
