// A hand-driven Env for single-node tests: the test sets the clock, injects connections and bytes,
// and inspects what the node sent, wrote, logged and traced.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "node/bus_message.hpp"
#include "node/env.hpp"
#include "node/node.hpp"

namespace slotlab::testing {

struct FakeClock : Clock {
  Millis now = 1'700'000'000'000;  // a realistic wall clock: Redis compares against 0 in places
  Millis now_ms() const override { return now; }
  std::int64_t now_us() const override { return now * 1000; }
};

struct FakeTransport : Transport {
  struct Conn {
    Endpoint to;
    bool outbound = false;
    bool closed = false;
    std::vector<std::string> sent;
  };
  std::map<ConnId, Conn> conns;
  ConnId next = 1;
  Endpoint local{"10.0.0.1", 0};

  ConnId connect(const Endpoint& to) override {
    ConnId id = next++;
    conns[id] = Conn{to, true, false, {}};
    return id;
  }
  ConnId add_inbound(const Endpoint& from) {
    ConnId id = next++;
    conns[id] = Conn{from, false, false, {}};
    return id;
  }
  void send(ConnId conn, std::string&& bytes) override { conns[conn].sent.push_back(std::move(bytes)); }
  void close(ConnId conn) override { conns[conn].closed = true; }
  Endpoint local_address(ConnId) const override { return local; }
  Endpoint peer_address(ConnId conn) const override {
    auto it = conns.find(conn);
    return it == conns.end() ? Endpoint{} : it->second.to;
  }
  std::uint64_t pending_bytes(ConnId) const override { return 0; }

  // Every bus message the node sent on `conn`, decoded (messages may share a send()).
  std::vector<bus::Message> messages(ConnId conn) const {
    std::vector<bus::Message> out;
    auto it = conns.find(conn);
    if (it == conns.end()) return out;
    std::string all;
    for (const auto& s : it->second.sent) all += s;
    std::size_t pos = 0;
    while (pos + 8 <= all.size()) {
      auto f = bus::check_frame(std::string_view(all).substr(pos));
      if (f.verdict != bus::FrameVerdict::ok || pos + f.totlen > all.size()) break;
      auto m = bus::decode(std::string_view(all).substr(pos, f.totlen));
      if (m) out.push_back(*m);
      pos += f.totlen;
    }
    return out;
  }
  void clear_sent() {
    for (auto& [id, c] : conns) c.sent.clear();
  }
};

struct FakeStorage : Storage {
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> durable;
  int fsyncs = 0;
  bool fail_writes = false;  // a full or broken disk: write/append/fsync fail with EIO
  Result<std::string> read(std::string_view name) override {
    auto it = files.find(std::string(name));
    if (it == files.end()) return make_error(Errc::not_found, "no such file");
    return it->second;
  }
  Result<void> write(std::string_view name, std::string_view data) override {
    if (fail_writes) return make_error(Errc::io, "Input/output error");
    files[std::string(name)] = std::string(data);
    return {};
  }
  Result<void> append(std::string_view name, std::string_view data) override {
    if (fail_writes) return make_error(Errc::io, "Input/output error");
    files[std::string(name)] += std::string(data);
    return {};
  }
  Result<void> fsync(std::string_view name) override {
    if (fail_writes) return make_error(Errc::io, "Input/output error");
    ++fsyncs;
    durable[std::string(name)] = files[std::string(name)];
    return {};
  }
  Result<void> rename(std::string_view from, std::string_view to) override {
    auto it = files.find(std::string(from));
    if (it == files.end()) return make_error(Errc::not_found, "no such file");
    files[std::string(to)] = it->second;
    durable[std::string(to)] = durable[std::string(from)];
    files.erase(it);
    durable.erase(std::string(from));
    return {};
  }
  // Not durable: `to` keeps its previous durable content (what a power loss would bring back).
  int unsynced_renames = 0;
  Result<void> rename_unsynced(std::string_view from, std::string_view to) override {
    auto it = files.find(std::string(from));
    if (it == files.end()) return make_error(Errc::not_found, "no such file");
    ++unsynced_renames;
    files[std::string(to)] = it->second;
    files.erase(it);
    durable.erase(std::string(from));
    return {};
  }
  Result<void> remove(std::string_view name) override {
    files.erase(std::string(name));
    durable.erase(std::string(name));
    return {};
  }
  bool exists(std::string_view name) const override { return files.count(std::string(name)) != 0; }
};

struct FakeRandom : Random {
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  std::uint64_t generate() override {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

struct FakeLog : Log {
  std::vector<std::string> lines;
  void log(LogLevel, std::string_view m) override { lines.emplace_back(m); }
  bool contains(std::string_view needle) const {
    for (const auto& l : lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
};

struct FakeObserver : Observer {
  std::vector<TraceEvent> events;
  void on_trace(const TraceEvent& e) override { events.push_back(e); }
  int count(TraceKind k) const {
    int n = 0;
    for (const auto& e : events)
      if (e.kind == k) ++n;
    return n;
  }
  const TraceEvent* last(TraceKind k) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
      if (it->kind == k) return &*it;
    return nullptr;
  }
};

struct FakeProcess : Process {
  bool crashed = false;
  int exit_code = -1;
  void crash(std::string_view) override { crashed = true; }
  void shutdown(int code) override { exit_code = code; }
  std::int64_t pid() const override { return 4242; }
};

// A node plus its fake world.
struct FakeHost {
  FakeClock clock;
  FakeTransport transport;
  FakeStorage storage;
  FakeRandom random;
  FakeLog log;
  FakeObserver observer;
  FakeProcess process;
  std::unique_ptr<Node> node;

  Env env() { return Env{clock, transport, storage, random, log, observer, process}; }
  Node& start(NodeConfig cfg) {
    node = std::make_unique<Node>(env(), std::move(cfg));
    auto r = node->start();
    if (!r) throw std::runtime_error(r.error().message);
    return *node;
  }
  void advance(Millis ms) {
    // Ticks every 100 ms, like the hosts do.
    for (Millis t = 0; t < ms; t += 100) {
      clock.now += std::min<Millis>(100, ms - t);
      node->on_tick();
    }
  }
  // Runs a command and returns the raw RESP reply.
  std::string cmd(std::vector<std::string> argv) { return node->execute_for_test(argv); }
};

}  // namespace slotlab::testing
