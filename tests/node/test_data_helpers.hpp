// Helpers for the data-path tests (test_data_*.cpp): a standalone or clustered node on a FakeHost,
// a client connection that keeps its state between commands (MULTI, READONLY, ASKING), and a
// replica tap that attaches to a primary and decodes the replication stream it receives.
#pragma once

#include <fmt/format.h>

#include <string>
#include <vector>

#include "fake_env.hpp"
#include "node/crc.hpp"
#include "node/rdb.hpp"
#include "node/resp.hpp"
#include "node/strings.hpp"

namespace slotlab::testing {

using Args = std::vector<std::string>;

inline std::string id_of(char c) { return std::string(40, c); }

inline NodeConfig standalone_config() {
  NodeConfig cfg;
  cfg.port = 6379;
  cfg.enable_debug_command = "yes";
  return cfg;
}

inline NodeConfig clustered_config() {
  NodeConfig cfg = standalone_config();
  cfg.cluster_enabled = true;
  cfg.cluster_node_timeout_ms = 15000;  // nobody goes PFAIL while a test runs
  return cfg;
}

// Three primaries a (0-5460, epoch 1), b (5461-10922, epoch 2), c (10923-16383, epoch 3) and
// replicas d, e, f of them; `me` carries "myself".
inline std::string cluster_nodes_conf(char me) {
  auto flags = [&](char who, const char* role) { return who == me ? fmt::format("myself,{}", role) : std::string(role); };
  std::string s;
  s += fmt::format("{} 10.0.0.1:6379@16379 {} - 0 0 1 connected 0-5460\n", id_of('a'), flags('a', "master"));
  s += fmt::format("{} 10.0.0.2:6379@16379 {} - 0 0 2 connected 5461-10922\n", id_of('b'), flags('b', "master"));
  s += fmt::format("{} 10.0.0.3:6379@16379 {} - 0 0 3 connected 10923-16383\n", id_of('c'), flags('c', "master"));
  s += fmt::format("{} 10.0.0.4:6379@16379 {} {} 0 0 1 connected\n", id_of('d'), flags('d', "slave"), id_of('a'));
  s += fmt::format("{} 10.0.0.5:6379@16379 {} {} 0 0 2 connected\n", id_of('e'), flags('e', "slave"), id_of('b'));
  s += fmt::format("{} 10.0.0.6:6379@16379 {} {} 0 0 3 connected\n", id_of('f'), flags('f', "slave"), id_of('c'));
  s += "vars currentEpoch 3 lastVoteEpoch 0\n";
  return s;
}

// A key whose slot is in [first, last] (deterministic: "k0", "k1", ...).
inline std::string key_in(int first, int last, int skip = 0) {
  for (int i = 0;; ++i) {
    std::string k = "k" + std::to_string(i);
    int s = key_hash_slot(k);
    if (s >= first && s <= last && skip-- == 0) return k;
  }
}

// A client connection on the data port whose state lasts between commands.
struct Conn {
  FakeHost& host;
  ConnId id;
  std::size_t seen = 0;  // sends already returned

  explicit Conn(FakeHost& h, Endpoint from = Endpoint{"127.0.0.1", 50000}) : host(h), id(h.transport.add_inbound(from)) {
    host.node->on_accept(ListenerKind::data, id, from);
  }
  // Sends raw bytes and returns what the node answered since the last call.
  std::string raw(const std::string& bytes) {
    host.node->on_bytes(id, bytes);
    return take();
  }
  std::string operator()(const Args& argv) { return raw(resp::encode_command(argv)); }
  std::string take() {
    std::string out;
    auto& sent = host.transport.conns[id].sent;
    for (; seen < sent.size(); ++seen) out += sent[seen];
    return out;
  }
};

// Parses a replication stream into commands.
inline std::vector<Args> parse_stream(const std::string& bytes) {
  resp::RequestParser p;
  p.feed(bytes);
  std::vector<Args> out;
  Args argv;
  std::string err;
  while (p.next(argv, err) == resp::RequestParser::Status::command) out.push_back(argv);
  return out;
}

// A replica attached to `host`'s node by hand: REPLCONF, PSYNC, full resync (disk-based so it
// happens at once). commands() returns what the primary streamed since the sync, without PINGs.
struct ReplicaTap {
  FakeHost& host;
  ConnId id;
  std::size_t seen = 0;

  explicit ReplicaTap(FakeHost& h) : host(h), id(h.transport.add_inbound(Endpoint{"10.9.9.9", 40000})) {
    host.node->on_accept(ListenerKind::data, id, Endpoint{"10.9.9.9", 40000});
    host.node->on_bytes(id, resp::encode_command({"REPLCONF", "listening-port", "7000"}));
    host.node->on_bytes(id, resp::encode_command({"REPLCONF", "capa", "psync2"}));
    host.node->on_bytes(id, resp::encode_command({"PSYNC", "?", "-1"}));
    seen = host.transport.conns[id].sent.size();  // handshake replies and the snapshot
  }
  std::vector<Args> commands() {
    std::string bytes;
    auto& sent = host.transport.conns[id].sent;
    for (; seen < sent.size(); ++seen) bytes += sent[seen];
    std::vector<Args> out;
    for (Args& a : parse_stream(bytes))
      if (!equals_nocase(a[0], "ping")) out.push_back(std::move(a));
    return out;
  }
};

// A replica node ('d', 'e' or 'f') whose link to its primary went through the handshake and a
// full resync with an empty snapshot at offset 100; link() is the connection to the primary.
inline ConnId sync_replica_link(FakeHost& host, const std::string& primary_ip) {
  host.clock.now += 100;
  host.node->on_tick();
  ConnId repl = kNoConn;
  for (auto& [id, c] : host.transport.conns)
    if (c.outbound && c.to.port == 6379 && c.to.ip == primary_ip) repl = id;
  if (repl == kNoConn) return repl;
  host.node->on_connected(repl);
  host.node->on_bytes(repl, "+PONG\r\n");
  host.node->on_bytes(repl, "+OK\r\n+OK\r\n");
  host.node->on_bytes(repl, "+FULLRESYNC " + std::string(40, '7') + " 100\r\n");
  std::string rdb = rdb::encode_empty({{"redis-ver", "7.0.15"}});
  host.node->on_bytes(repl, fmt::format("${}\r\n", rdb.size()) + rdb);
  return repl;
}

}  // namespace slotlab::testing
