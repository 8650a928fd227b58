// The node table's containers written for the simulator's speed (issue 7): the open-addressing
// name index, the replica list with one slot in place, and the random stream's lookahead. Each is
// checked against the standard container or stream it replaces, over random operation sequences.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <map>
#include <memory>
#include <vector>

#include "fake_env.hpp"
#include "node/buffer_pool.hpp"
#include "node/cluster_state.hpp"

using namespace slotlab;

namespace {

NodeId name_of(std::uint64_t k) {
  NodeId id;
  NodeId::parse(fmt::format("{:040x}", k), id);
  return id;
}

struct Xorshift {
  std::uint64_t s = 88172645463325252ull;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

}  // namespace

TEST_CASE("NodeIndex finds exactly what std::map holds through inserts, erases and renames", "[nodetable]") {
  Xorshift rng;
  std::map<NodeId, std::unique_ptr<ClusterNode>> reference;
  NodeIndex index;
  // A small key space makes long probe runs and many erases inside them (backward shift).
  for (int step = 0; step < 20000; ++step) {
    const std::uint64_t k = rng.next() % 300;
    const NodeId id = name_of(k);
    const auto op = rng.next() % 3;
    auto it = reference.find(id);
    if (op == 0 && it == reference.end()) {
      auto n = std::make_unique<ClusterNode>();
      n->name = id;
      index.insert(n.get());
      reference.emplace(id, std::move(n));
    } else if (op == 1 && it != reference.end()) {
      index.erase(id, it->second.get());
      reference.erase(it);
    } else if (op == 2 && it != reference.end()) {
      // Rename, as rename_node does: erase under the old name, insert under the new one.
      const NodeId to = name_of(1000 + rng.next() % 300);
      if (reference.count(to) == 0) {
        auto n = std::move(it->second);
        reference.erase(it);
        index.erase(id, n.get());
        n->name = to;
        index.insert(n.get());
        reference.emplace(to, std::move(n));
      }
    }
    if (step % 97 == 0) {
      REQUIRE(index.size() == reference.size());
      for (std::uint64_t q = 0; q < 1300; ++q) {
        const NodeId qid = name_of(q);
        auto r = reference.find(qid);
        ClusterNode* found = index.find(qid);
        INFO("step " << step << " key " << q);
        REQUIRE(found == (r == reference.end() ? nullptr : r->second.get()));
      }
    }
  }
}

TEST_CASE("NodeIndex on an empty table and after erasing everything", "[nodetable]") {
  NodeIndex index;
  CHECK(index.find(name_of(1)) == nullptr);
  index.erase(name_of(1), nullptr);  // nothing to erase: no effect
  ClusterNode a;
  a.name = name_of(7);
  index.insert(&a);
  CHECK(index.find(name_of(7)) == &a);
  index.erase(a.name, &a);
  CHECK(index.find(name_of(7)) == nullptr);
  CHECK(index.size() == 0);
}

TEST_CASE("ReplicaList behaves as std::vector for push_back, erase, copy", "[nodetable]") {
  Xorshift rng;
  std::vector<ClusterNode> pool(16);
  std::vector<ClusterNode*> reference;
  ReplicaList list;
  for (int step = 0; step < 5000; ++step) {
    if (rng.next() % 2 == 0 && reference.size() < 12) {
      ClusterNode* n = &pool[rng.next() % pool.size()];
      reference.push_back(n);
      list.push_back(n);
    } else if (!reference.empty()) {
      const std::size_t at = rng.next() % reference.size();
      reference.erase(reference.begin() + static_cast<std::ptrdiff_t>(at));
      list.erase(list.begin() + at);
    }
    REQUIRE(list.size() == reference.size());
    REQUIRE(list.empty() == reference.empty());
    REQUIRE(std::vector<ClusterNode*>(list.begin(), list.end()) == reference);
    if (step % 50 == 0) {
      ReplicaList copy = list;
      REQUIRE(std::vector<ClusterNode*>(copy.begin(), copy.end()) == reference);
      ReplicaList assigned;
      assigned.push_back(&pool[0]);
      assigned.push_back(&pool[1]);
      assigned = list;
      REQUIRE(std::vector<ClusterNode*>(assigned.begin(), assigned.end()) == reference);
    }
  }
}

TEST_CASE("Random: peeking ahead never changes the stream", "[nodetable]") {
  slotlab::testing::FakeRandom plain;
  slotlab::testing::FakeRandom peeked;
  Xorshift rng;
  for (int step = 0; step < 2000; ++step) {
    // Peek a random distance ahead (as send_ping's prefetch does), then draw as usual.
    const int k = static_cast<int>(rng.next() % Random::kLookahead);
    const std::uint64_t n = 1 + rng.next() % 1000;
    const std::uint64_t promised = peeked.peek_below(k, n);
    std::vector<std::uint64_t> a, b;
    for (int i = 0; i <= k; ++i) {
      a.push_back(plain.below(n));
      b.push_back(peeked.below(n));
    }
    REQUIRE(a == b);
    REQUIRE(b.back() == promised);
    REQUIRE(plain.next_u64() == peeked.next_u64());
  }
}

TEST_CASE("recycled packet buffers come back empty, with their capacity", "[nodetable]") {
  std::string big(10000, 'x');
  const std::size_t cap = big.capacity();
  slotlab::recycle_buffer(std::move(big));
  CHECK(big.empty());
  std::string again = slotlab::take_buffer();
  CHECK(again.empty());
  CHECK(again.capacity() == cap);  // the pool is per thread and last-in first-out
  std::string fresh = slotlab::take_buffer();  // pool empty now
  CHECK(fresh.empty());
}

TEST_CASE("LinkTable finds exactly what std::map holds through inserts and takes", "[nodetable]") {
  Xorshift rng;
  std::map<ConnId, ClusterLink*> reference;
  LinkTable table;
  for (int step = 0; step < 20000; ++step) {
    const ConnId conn = 1 + rng.next() % 500;
    auto it = reference.find(conn);
    if (it == reference.end()) {
      auto link = std::make_unique<ClusterLink>();
      link->conn = conn;
      reference[conn] = link.get();
      table.insert(conn, std::move(link));
    } else {
      std::unique_ptr<ClusterLink> taken = table.take(conn);
      REQUIRE(taken.get() == it->second);
      reference.erase(it);
    }
    if (step % 101 == 0) {
      REQUIRE(table.size() == reference.size());
      for (ConnId q = 0; q < 520; ++q) {
        auto r = reference.find(q);
        INFO("step " << step << " conn " << q);
        REQUIRE(table.find(q) == (r == reference.end() ? nullptr : r->second));
      }
    }
  }
  CHECK(table.take(100000) == nullptr);
}
