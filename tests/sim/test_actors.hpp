// Small actors for the simulator's tests: a recorder that logs every callback (optionally echoing
// bytes back), driven from the test at top level between runs. They depend on node/env.hpp only,
// as any Actor the simulator hosts may.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "node/env.hpp"
#include "sim/simulator.hpp"

namespace slotlab::sim::testing {

inline constexpr std::int64_t kEpochUs = SimConfig{}.clock_epoch_us;

enum class Cb { accept, connected, bytes, closed, tick };

struct Record {
  std::int64_t t_us = 0;  // virtual time (host clock minus the epoch; tests use no offset)
  Cb kind = Cb::tick;
  ConnId conn = kNoConn;
  CloseReason reason = CloseReason::peer_closed;
  ListenerKind listener = ListenerKind::data;
  Endpoint peer;
  std::string bytes;
};

class Recorder : public Actor {
 public:
  explicit Recorder(Env& env, bool echo = false) : env_(env), echo_(echo) {}

  Env& env() { return env_; }
  std::int64_t now() const { return env_.clock.now_us() - kEpochUs; }

  ConnId connect(const Endpoint& to) { return env_.transport.connect(to); }
  void send(ConnId conn, std::string bytes) { env_.transport.send(conn, std::move(bytes)); }
  void close(ConnId conn) { env_.transport.close(conn); }

  void on_accept(ListenerKind kind, ConnId conn, const Endpoint& peer) override {
    Record r = rec(Cb::accept, conn);
    r.listener = kind;
    r.peer = peer;
    records.push_back(std::move(r));
    if (on_accept_fn) on_accept_fn(*this, conn);
  }
  void on_connected(ConnId conn) override {
    records.push_back(rec(Cb::connected, conn));
    if (on_connected_fn) on_connected_fn(*this, conn);
  }
  void on_bytes(ConnId conn, std::string_view bytes) override {
    Record r = rec(Cb::bytes, conn);
    r.bytes = std::string(bytes);
    records.push_back(std::move(r));
    received[conn].append(bytes);
    if (echo_) env_.transport.send(conn, std::string(bytes));
    if (on_bytes_fn) on_bytes_fn(*this, conn, bytes);
  }
  void on_closed(ConnId conn, CloseReason reason) override {
    Record r = rec(Cb::closed, conn);
    r.reason = reason;
    records.push_back(std::move(r));
  }
  void on_tick() override {
    ++ticks;
    if (record_ticks) records.push_back(rec(Cb::tick, kNoConn));
    if (on_tick_fn) on_tick_fn(*this);
  }

  std::vector<Record> of(Cb kind) const {
    std::vector<Record> out;
    for (const auto& r : records)
      if (r.kind == kind) out.push_back(r);
    return out;
  }
  std::vector<Record> of(Cb kind, ConnId conn) const {
    std::vector<Record> out;
    for (const auto& r : records)
      if (r.kind == kind && r.conn == conn) out.push_back(r);
    return out;
  }

  std::vector<Record> records;
  std::map<ConnId, std::string> received;
  int ticks = 0;
  bool record_ticks = false;
  std::function<void(Recorder&, ConnId)> on_accept_fn;
  std::function<void(Recorder&, ConnId)> on_connected_fn;
  std::function<void(Recorder&, ConnId, std::string_view)> on_bytes_fn;
  std::function<void(Recorder&)> on_tick_fn;

 private:
  Record rec(Cb kind, ConnId conn) const {
    Record r;
    r.t_us = now();
    r.kind = kind;
    r.conn = conn;
    return r;
  }
  Env& env_;
  bool echo_;
};

// The running actor of a host, as type T (throws if there is none: a test bug).
template <class T = Recorder>
T& actor_of(Simulator& sim, HostId host) {
  T* p = sim.actor_as<T>(host);
  if (p == nullptr) throw std::logic_error("host has no running actor of the requested type");
  return *p;
}

inline ActorFactory recorder(bool echo = false) {
  return [echo](Env& env) { return std::make_unique<Recorder>(env, echo); };
}

inline HostConfig host_cfg(std::string name, std::string ip, std::uint16_t port = 7000) {
  HostConfig c;
  c.name = std::move(name);
  c.ip = std::move(ip);
  c.listeners = {{port, ListenerKind::data}, {static_cast<std::uint16_t>(port + 10000), ListenerKind::bus}};
  return c;
}

}  // namespace slotlab::sim::testing
