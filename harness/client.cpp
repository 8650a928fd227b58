// Implementation of the world-independent RESP client (see client.hpp).
#include "harness/client.hpp"

#include <fmt/format.h>

namespace slotlab::harness {

void ClientMux::on_connected(ConnId conn) {
  if (auto it = conns_.find(conn); it != conns_.end()) it->second->on_connected();
}

void ClientMux::on_bytes(ConnId conn, std::string_view bytes) {
  if (auto it = conns_.find(conn); it != conns_.end()) it->second->on_bytes(bytes);
}

void ClientMux::on_closed(ConnId conn, CloseReason reason) {
  if (auto it = conns_.find(conn); it != conns_.end()) {
    MuxListener* c = it->second;
    conns_.erase(it);
    c->on_closed(reason);
  }
}

std::string describe(const resp::Value& v) { return v.describe(); }

RespConnection::RespConnection(Driver& driver, Endpoint to, std::string password)
    : driver_(driver), to_(std::move(to)), password_(std::move(password)) {}

RespConnection::~RespConnection() { close(); }

void RespConnection::open() {
  parser_ = resp::ReplyParser{};
  replies_.clear();
  protocol_error_.clear();
  close_reason_.clear();
  connected_ = false;
  closed_ = false;
  conn_ = driver_.mux().transport().connect(to_);
  driver_.mux().attach(conn_, this);
  if (!password_.empty()) {
    // AUTH goes first; on_bytes consumes its reply before any other.
    pending_out_ = resp::encode_command({"AUTH", password_}) + pending_out_;
    auth_pending_ = true;
  }
}

void RespConnection::close() {
  if (!closed_ && conn_ != kNoConn) {
    driver_.mux().detach(conn_);
    driver_.mux().transport().close(conn_);
  }
  closed_ = true;
  connected_ = false;
  auth_pending_ = false;
  conn_ = kNoConn;
  pending_out_.clear();
}

void RespConnection::on_connected() {
  connected_ = true;
  if (!pending_out_.empty()) {
    driver_.mux().transport().send(conn_, std::move(pending_out_));
    pending_out_.clear();
  }
}

void RespConnection::on_bytes(std::string_view bytes) {
  parser_.feed(bytes);
  while (true) {
    resp::Value v;
    std::string err;
    auto st = parser_.next(v, err);
    if (st == resp::ReplyParser::Status::need_more) break;
    if (st == resp::ReplyParser::Status::error) {
      protocol_error_ = err;
      break;
    }
    if (auth_pending_) {
      auth_pending_ = false;
      if (v.is_error()) auth_error_ = v.str;
      continue;
    }
    replies_.push_back(std::move(v));
  }
}

void RespConnection::on_closed(CloseReason reason) {
  closed_ = true;
  connected_ = false;
  conn_ = kNoConn;
  switch (reason) {
    case CloseReason::refused: close_reason_ = "Connection refused"; break;
    case CloseReason::timeout: close_reason_ = "Connection timed out"; break;
    case CloseReason::reset: close_reason_ = "Connection reset by peer"; break;
    case CloseReason::peer_closed: close_reason_ = "Server closed the connection"; break;
    case CloseReason::local_error: close_reason_ = "Local error"; break;
  }
}

Result<void> RespConnection::ensure_connected(Millis timeout_ms) {
  if (closed_) open();
  Millis deadline = driver_.now_ms() + timeout_ms;
  bool ok = driver_.run_until([&] { return (connected_ && !auth_pending_) || closed_; }, deadline);
  if (!ok || !connected_) {
    std::string why = closed_ ? close_reason_ : "timed out";
    close();
    return make_error(Errc::io, fmt::format("Could not connect to Redis at {}: {}", to_.str(), why));
  }
  if (!auth_error_.empty()) {
    std::string e = auth_error_;
    auth_error_.clear();
    close();
    return make_error(Errc::state, fmt::format("AUTH failed on {}: {}", to_.str(), e));
  }
  return {};
}

void RespConnection::send(const Argv& argv) {
  if (observer_) observer_(to_, argv);
  send_raw(resp::encode_command(argv));
}

void RespConnection::send_raw(std::string bytes) {
  if (closed_) open();
  if (!connected_) {
    pending_out_ += bytes;
    return;
  }
  driver_.mux().transport().send(conn_, std::move(bytes));
}

Result<resp::Value> RespConnection::read_reply(Millis timeout_ms) {
  Millis deadline = driver_.now_ms() + timeout_ms;
  bool ok = driver_.run_until([&] { return !replies_.empty() || closed_ || !protocol_error_.empty(); }, deadline);
  if (!replies_.empty()) {
    resp::Value v = std::move(replies_.front());
    replies_.pop_front();
    return v;
  }
  if (!protocol_error_.empty()) {
    std::string e = protocol_error_;
    close();
    return make_error(Errc::protocol, fmt::format("Protocol error from {}: {}", to_.str(), e));
  }
  if (closed_) return make_error(Errc::io, fmt::format("{}: {}", to_.str(), close_reason_.empty() ? "closed" : close_reason_));
  (void)ok;
  // A reply that never came: the connection's state is unknown now, so drop it.
  close();
  return make_error(Errc::timeout, fmt::format("{}: no reply within {} ms", to_.str(), timeout_ms));
}

Result<resp::Value> RespConnection::call(const Argv& argv, Millis timeout_ms) {
  if (closed_) {
    if (auto r = ensure_connected(timeout_ms); !r) return r.error();
  }
  send(argv);
  return read_reply(timeout_ms);
}

Result<std::vector<resp::Value>> RespConnection::pipeline(const std::vector<Argv>& cmds, Millis timeout_ms) {
  if (closed_) {
    if (auto r = ensure_connected(timeout_ms); !r) return r.error();
  }
  std::string out;
  for (const auto& c : cmds) {
    if (observer_) observer_(to_, c);
    out += resp::encode_command(c);
  }
  send_raw(std::move(out));
  std::vector<resp::Value> replies;
  replies.reserve(cmds.size());
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    auto r = read_reply(timeout_ms);
    if (!r) return r.error();
    replies.push_back(std::move(*r));
  }
  return replies;
}

RespConnection& ClientPool::get(const Endpoint& e) {
  auto& slot = conns_[e.str()];
  if (!slot) {
    slot = std::make_unique<RespConnection>(driver_, e, password_);
    slot->set_observer(observer_);
  }
  return *slot;
}

void ClientPool::set_observer(CommandObserver observer) {
  observer_ = std::move(observer);
  for (auto& [addr, conn] : conns_) conn->set_observer(observer_);
}

}  // namespace slotlab::harness
