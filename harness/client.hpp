// A RESP client written once over the Transport seam, used by every admin operation, checker and
// workload in every world (DESIGN.md: "Admin operations are written once").
//
// The harness drives its world from the top: a call sends the command and then lets the world run
// (the simulator processes events, the real world polls its sockets) until the reply is there or
// the deadline passes. Nothing here blocks a thread and nothing here reads a clock directly: the
// world says what time it is.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/env.hpp"
#include "node/resp.hpp"
#include "node/result.hpp"

namespace slotlab::harness {

using Argv = std::vector<std::string>;

class RespConnection;

// Sees every command a connection sends, before it goes out (tests compare the sequence with what
// redis-cli sends; reports may list it). The AUTH a connection sends on connect is not reported.
using CommandObserver = std::function<void(const Endpoint& to, const Argv& argv)>;

// Anything that owns a connection of the harness host and wants its events.
class MuxListener {
 public:
  virtual ~MuxListener() = default;
  virtual void on_connected() = 0;
  virtual void on_bytes(std::string_view bytes) = 0;
  virtual void on_closed(CloseReason reason) = 0;
};

// Routes transport events of the harness's own host to its connections. In the simulator it is
// the Actor of a client host; in the real world the epoll host delivers to it the same way.
class ClientMux final : public Actor {
 public:
  explicit ClientMux(Transport& transport) : transport_(transport) {}
  void on_accept(ListenerKind, ConnId conn, const Endpoint&) override { transport_.close(conn); }
  void on_connected(ConnId conn) override;
  void on_bytes(ConnId conn, std::string_view bytes) override;
  void on_closed(ConnId conn, CloseReason reason) override;
  void on_tick() override {}

  Transport& transport() { return transport_; }
  void attach(ConnId conn, MuxListener* c) { conns_[conn] = c; }
  void detach(ConnId conn) { conns_.erase(conn); }

 private:
  Transport& transport_;
  std::map<ConnId, MuxListener*> conns_;
};

// What a world offers the harness: its clock, a way to let time pass, and the client host.
class Driver {
 public:
  virtual ~Driver() = default;
  virtual Millis now_ms() const = 0;
  // Lets the world run until pred() holds (checked after every event) or until deadline_ms.
  // Returns whether pred() held.
  virtual bool run_until(const std::function<bool()>& pred, Millis deadline_ms) = 0;
  void sleep_ms(Millis ms) {
    Millis until = now_ms() + ms;
    run_until([] { return false; }, until);
  }
  virtual ClientMux& mux() = 0;
  // Runs fn at world time at_ms, from the top level of the world's loop (never inside another
  // callback), so workloads can pace themselves while steps run.
  virtual void schedule(Millis at_ms, std::function<void()> fn) = 0;
};

// One client connection. Replies come back in order; pipelining is sending several commands
// before reading.
class RespConnection final : public MuxListener {
 public:
  RespConnection(Driver& driver, Endpoint to, std::string password = {});
  ~RespConnection();
  RespConnection(const RespConnection&) = delete;
  RespConnection& operator=(const RespConnection&) = delete;

  const Endpoint& endpoint() const { return to_; }
  bool closed() const { return closed_; }
  const std::string& close_reason() const { return close_reason_; }

  // Waits for the connection (and AUTH if a password was given). Error says who and why.
  Result<void> ensure_connected(Millis timeout_ms);
  void send(const Argv& argv);
  void send_raw(std::string bytes);
  // Waits for the next reply.
  Result<resp::Value> read_reply(Millis timeout_ms);
  // send + read_reply. Reconnects first if the connection was closed.
  Result<resp::Value> call(const Argv& argv, Millis timeout_ms = 5000);
  // Sends all, then reads all replies (one per command, errors included as values).
  Result<std::vector<resp::Value>> pipeline(const std::vector<Argv>& cmds, Millis timeout_ms = 10000);
  void close();
  void set_observer(CommandObserver observer) { observer_ = std::move(observer); }

  // Called by ClientMux.
  void on_connected() override;
  void on_bytes(std::string_view bytes) override;
  void on_closed(CloseReason reason) override;

 private:
  void open();
  Driver& driver_;
  Endpoint to_;
  std::string password_;
  ConnId conn_ = kNoConn;
  bool connected_ = false;
  bool closed_ = true;
  std::string close_reason_;
  resp::ReplyParser parser_;
  std::deque<resp::Value> replies_;
  std::string protocol_error_;
  std::string pending_out_;
  bool auth_pending_ = false;
  std::string auth_error_;
  CommandObserver observer_;
};

// A pool of connections keyed by endpoint, so that operations reuse one connection per node.
class ClientPool {
 public:
  explicit ClientPool(Driver& driver, std::string password = {}) : driver_(driver), password_(std::move(password)) {}
  RespConnection& get(const Endpoint& e);
  Result<resp::Value> call(const Endpoint& e, const Argv& argv, Millis timeout_ms = 5000) {
    return get(e).call(argv, timeout_ms);
  }
  void drop(const Endpoint& e) { conns_.erase(e.str()); }
  // Reports every command sent through the pool's connections (existing and future); an empty
  // function turns the reporting off.
  void set_observer(CommandObserver observer);
  Driver& driver() { return driver_; }
  const std::string& password() const { return password_; }

 private:
  Driver& driver_;
  std::string password_;
  std::map<std::string, std::unique_ptr<RespConnection>> conns_;
  CommandObserver observer_;
};

// Formats a reply the way redis-cli prints it on one line (for error messages and reports).
std::string describe(const resp::Value& v);

}  // namespace slotlab::harness
