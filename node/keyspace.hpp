// The keyspace: database 0 of a cluster node (and databases 0..N-1 of a standalone one), the
// values it holds (strings, lists, hashes), expiry on the node's clock, and the per-slot key index
// Redis keeps for CLUSTER GETKEYSINSLOT / COUNTKEYSINSLOT and for deleting the keys of a slot the
// node lost.
//
// Determinism: lookups use a hash map, but nothing ever iterates it. Every ordered walk (KEYS,
// SCAN, GETKEYSINSLOT, RDB snapshots, AOF rewrites) goes slot by slot, and within a slot in the
// order the keys were added (Redis's slot_to_keys lists). Active expiry walks keys by expiry time,
// not by sampling random keys as Redis does: an expired key can live at most until the next cron
// run instead of "probably soon"; reads never return expired keys either way.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "node/types.hpp"

namespace slotlab {

// Hashing for string-keyed lookup tables that accept a std::string_view without building a
// std::string (heterogeneous lookup): a GET must not allocate to find its key. Deliberately not
// noexcept: libstdc++ then caches each node's hash, so a bucket walk compares cached hashes
// instead of rehashing every key it passes (as it does for std::hash<std::string>).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

enum class ValueType : std::uint8_t { string, list, hash };

// A std::deque<std::string> that allocates nothing until it holds an element. libstdc++'s deque
// allocates about 600 bytes as soon as it is constructed, and every Value (strings included) has a
// list member: without this, each key would cost that much memory, and lookups would pay for the
// scattered working set in cache and TLB misses. The interface is the subset of std::deque the
// node uses; iterators are std::deque's (value-initialized ones while nothing is allocated).
class LazyList {
 public:
  using Deque = std::deque<std::string>;
  using value_type = std::string;
  using size_type = std::size_t;
  using iterator = Deque::iterator;
  using const_iterator = Deque::const_iterator;

  LazyList() = default;
  LazyList(std::initializer_list<std::string> init) {
    if (init.size() != 0) d_ = std::make_unique<Deque>(init);
  }
  LazyList(const LazyList& o) : d_(o.d_ && !o.d_->empty() ? std::make_unique<Deque>(*o.d_) : nullptr) {}
  LazyList& operator=(const LazyList& o) {
    if (this != &o) d_ = o.d_ && !o.d_->empty() ? std::make_unique<Deque>(*o.d_) : nullptr;
    return *this;
  }
  LazyList(LazyList&&) noexcept = default;
  LazyList& operator=(LazyList&&) noexcept = default;
  LazyList& operator=(std::initializer_list<std::string> init) {
    d_ = init.size() != 0 ? std::make_unique<Deque>(init) : nullptr;
    return *this;
  }

  bool empty() const { return d_ == nullptr || d_->empty(); }
  size_type size() const { return d_ == nullptr ? 0 : d_->size(); }
  iterator begin() { return d_ == nullptr ? iterator{} : d_->begin(); }
  iterator end() { return d_ == nullptr ? iterator{} : d_->end(); }
  const_iterator begin() const { return d_ == nullptr ? const_iterator{} : d_->cbegin(); }
  const_iterator end() const { return d_ == nullptr ? const_iterator{} : d_->cend(); }
  std::string& front() { return d_->front(); }
  std::string& back() { return d_->back(); }
  const std::string& front() const { return d_->front(); }
  const std::string& back() const { return d_->back(); }
  std::string& operator[](size_type i) { return (*d_)[i]; }
  const std::string& operator[](size_type i) const { return (*d_)[i]; }
  void push_back(const std::string& v) { get().push_back(v); }
  void push_back(std::string&& v) { get().push_back(std::move(v)); }
  void push_front(const std::string& v) { get().push_front(v); }
  void push_front(std::string&& v) { get().push_front(std::move(v)); }
  template <class... Args>
  std::string& emplace_back(Args&&... args) {
    return get().emplace_back(std::forward<Args>(args)...);
  }
  void pop_front() { d_->pop_front(); }
  void pop_back() { d_->pop_back(); }
  iterator erase(const_iterator pos) { return d_->erase(pos); }
  iterator erase(const_iterator first, const_iterator last) {
    return d_ == nullptr ? iterator{} : d_->erase(first, last);
  }
  // `pos` must come from this list (a list with nothing allocated inserts at its only position).
  iterator insert(const_iterator pos, std::string v) {
    if (d_ == nullptr) {
      get().push_back(std::move(v));
      return d_->begin();
    }
    return d_->insert(pos, std::move(v));
  }
  void clear() { d_.reset(); }
  friend bool operator==(const LazyList& a, const LazyList& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator==(const LazyList& a, const Deque& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  Deque& get() {
    if (d_ == nullptr) d_ = std::make_unique<Deque>();
    return *d_;
  }
  std::unique_ptr<Deque> d_;
};

// A Redis object. Hash fields keep insertion order (as Redis's listpack encoding does for small
// hashes), with an index for lookups.
struct Value {
  ValueType type = ValueType::string;
  std::string str;                                   // string
  LazyList list;                                     // list
  std::vector<std::pair<std::string, std::string>> hash;  // hash, insertion order
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> hash_index;  // field -> position in `hash` (lookup only)

  static Value make_string(std::string s) {
    Value v;
    v.type = ValueType::string;
    v.str = std::move(s);
    return v;
  }
  // Hash helpers keeping `hash` and `hash_index` consistent.
  const std::string* hget(std::string_view field) const;
  bool hset(std::string field, std::string value);  // true if the field is new
  bool hdel(std::string_view field);
  std::size_t approx_bytes() const;  // for memory estimates (INFO used_memory)
};

struct KeyEntry {
  Value value;
  Millis expire_ms = -1;  // absolute (node clock), -1: no expiry
  // Per-slot doubly linked list, in insertion order (Redis slotToKey*).
  KeyEntry* slot_prev = nullptr;
  KeyEntry* slot_next = nullptr;
  const std::string* key = nullptr;  // points at the map's key (stable: node-based map)
  Slot slot = 0;
};

class Keyspace {
 public:
  Keyspace();
  Keyspace(const Keyspace&) = delete;
  Keyspace& operator=(const Keyspace&) = delete;

  // Lookup ignoring expiry (the caller decides: a primary deletes expired keys, a replica hides them).
  KeyEntry* find(std::string_view key);
  const KeyEntry* find(std::string_view key) const;
  // Inserts or replaces the value; keeps the expiry unless `keep_ttl` is false (then clears it).
  KeyEntry& set(std::string_view key, Value value, bool keep_ttl = false);
  // Adds an empty value of `type` if absent; returns the entry.
  KeyEntry& get_or_create(std::string_view key, ValueType type);
  bool erase(std::string_view key);
  void set_expire(KeyEntry& e, Millis expire_ms);  // -1 clears
  std::size_t size() const { return map_.size(); }
  std::size_t expires_count() const { return expires_.size(); }
  void clear();

  // Slot index.
  std::size_t count_in_slot(Slot slot) const { return index_ ? index_->count[slot] : 0; }
  // Up to `max` keys of the slot, in insertion order.
  std::vector<std::string> keys_in_slot(Slot slot, std::size_t max) const;
  std::size_t erase_slot(Slot slot);  // delKeysInSlot: returns how many keys went
  // Visits every key in deterministic order (slot, then insertion). Stop by returning false.
  template <class Fn>
  void for_each(Fn&& fn) const {
    if (!index_) return;
    for (int s = 0; s < kSlotCount; ++s)
      for (const KeyEntry* e = index_->head[static_cast<std::size_t>(s)]; e != nullptr; e = e->slot_next)
        if (!fn(*e->key, *e)) return;
  }
  // Keys whose expiry is <= now, in expiry order (at most `max`).
  std::vector<std::string> expired_keys(Millis now_ms, std::size_t max) const;

 private:
  void link(KeyEntry& e);
  void unlink(KeyEntry& e);

  std::unordered_map<std::string, KeyEntry, StringHash, std::equal_to<>> map_;  // lookup only, never iterated
  // The per-slot key lists (Redis's slots_to_keys), 320 KB, allocated with the first key: a node
  // has 16 databases and a 1,000-node simulation 16,000 of them, nearly all empty (memory only;
  // behaviour is the same as with the arrays always there).
  struct SlotIndex {
    std::array<KeyEntry*, kSlotCount> head{};
    std::array<KeyEntry*, kSlotCount> tail{};
    std::array<std::uint32_t, kSlotCount> count{};
  };
  std::unique_ptr<SlotIndex> index_;
  std::set<std::pair<Millis, std::string>> expires_;  // (expire_ms, key)
};

}  // namespace slotlab
