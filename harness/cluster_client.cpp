// Implementation of the asynchronous cluster client (see cluster_client.hpp).
#include "harness/cluster_client.hpp"

#include <fmt/format.h>

#include "node/crc.hpp"
#include "node/strings.hpp"

namespace slotlab::harness {

// ---- AsyncConnection ----

AsyncConnection::AsyncConnection(Driver& driver, Endpoint to) : driver_(driver), to_(std::move(to)) {}

AsyncConnection::~AsyncConnection() {
  if (!closed_ && conn_ != kNoConn) {
    driver_.mux().detach(conn_);
    driver_.mux().transport().close(conn_);
  }
  // Pending callbacks are dropped: their owner is going away with us.
}

void AsyncConnection::open() {
  parser_ = resp::ReplyParser{};
  closed_ = false;
  connected_ = false;
  conn_ = driver_.mux().transport().connect(to_);
  driver_.mux().attach(conn_, this);
}

void AsyncConnection::send(const std::vector<Argv>& cmds, std::vector<Callback> callbacks) {
  if (closed_) open();
  std::string bytes;
  for (const auto& c : cmds) bytes += resp::encode_command(c);
  Millis now = driver_.now_ms();
  for (auto& cb : callbacks) pending_.push_back({std::move(cb), now});
  if (connected_) {
    driver_.mux().transport().send(conn_, std::move(bytes));
  } else {
    out_ += bytes;
  }
}

void AsyncConnection::on_connected() {
  connected_ = true;
  if (!out_.empty()) {
    driver_.mux().transport().send(conn_, std::move(out_));
    out_.clear();
  }
}

void AsyncConnection::on_bytes(std::string_view bytes) {
  parser_.feed(bytes);
  while (!pending_.empty()) {
    resp::Value v;
    std::string err;
    auto st = parser_.next(v, err);
    if (st == resp::ReplyParser::Status::need_more) return;
    if (st == resp::ReplyParser::Status::error) {
      driver_.mux().detach(conn_);
      driver_.mux().transport().close(conn_);
      closed_ = true;
      fail_all("protocol error from " + to_.str() + ": " + err);
      return;
    }
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    p.cb(&v, "");
  }
}

void AsyncConnection::on_closed(CloseReason reason) {
  bool was_connected = connected_;
  closed_ = true;
  connected_ = false;
  conn_ = kNoConn;
  out_.clear();
  std::string why;
  switch (reason) {
    case CloseReason::refused: why = "connection refused"; break;
    case CloseReason::timeout: why = "connection timed out"; break;
    case CloseReason::reset: why = "connection reset"; break;
    case CloseReason::peer_closed: why = "connection closed by the server"; break;
    case CloseReason::local_error: why = "local error"; break;
  }
  // Before the connection was up nothing was sent: say so, callers may safely retry.
  fail_all(was_connected ? why : "not sent: " + why);
}

void AsyncConnection::fail_all(const std::string& why) {
  std::deque<Pending> dead;
  dead.swap(pending_);
  for (auto& p : dead) p.cb(nullptr, why);
}

void AsyncConnection::expire(Millis now_ms, Millis timeout_ms) {
  if (pending_.empty() || now_ms - pending_.front().sent_ms <= timeout_ms) return;
  // The stream's state is unknown now (a late reply would be matched to the wrong command):
  // drop the connection and fail everything pending on it.
  if (!closed_ && conn_ != kNoConn) {
    driver_.mux().detach(conn_);
    driver_.mux().transport().close(conn_);
  }
  closed_ = true;
  connected_ = false;
  conn_ = kNoConn;
  out_.clear();
  fail_all(fmt::format("no reply from {} within {} ms", to_.str(), timeout_ms));
}

// ---- ClusterClient ----

struct ClusterClient::Attempt {
  Argv argv;
  std::function<void(const CommandOutcome&)> done;
  std::uint16_t slot = 0;
  bool asking = false;
  Endpoint ask_target;
  bool maybe_applied = false;  // a send got no answer: the command may have run
  CommandOutcome outcome;

  void finish_not_ok(std::string why) {
    outcome.kind = maybe_applied ? CommandOutcome::Kind::unknown : CommandOutcome::Kind::failed;
    outcome.error = std::move(why);
  }
};

ClusterClient::ClusterClient(Driver& driver, std::vector<Endpoint> seeds, ClusterClientOptions options)
    : driver_(driver), seeds_(std::move(seeds)), options_(options) {}

ClusterClient::~ClusterClient() { *alive_ = false; }

AsyncConnection& ClusterClient::conn(const Endpoint& e) {
  auto& slot = conns_[e.str()];
  if (!slot) slot = std::make_unique<AsyncConnection>(driver_, e);
  return *slot;
}

Endpoint ClusterClient::owner_of(std::uint16_t slot) const { return slots_[slot]; }

void ClusterClient::refresh_slots(std::function<void()> then) {
  if (then) after_refresh_.push_back(std::move(then));
  if (refreshing_) return;
  refreshing_ = true;
  const Endpoint seed = seeds_[next_seed_ % seeds_.size()];
  conn(seed).send({{"CLUSTER", "SLOTS"}}, {[this, seed](const resp::Value* r, const std::string&) {
                    refreshing_ = false;
                    bool ok = r != nullptr && r->type == resp::Type::array;
                    if (ok) {
                      slots_.fill(Endpoint{});
                      for (const resp::Value& range : r->elements) {
                        if (range.elements.size() < 3) continue;
                        auto a = range.elements[0].integer;
                        auto b = range.elements[1].integer;
                        const resp::Value& owner = range.elements[2];
                        if (owner.elements.size() < 2) continue;
                        Endpoint e{owner.elements[0].str, static_cast<std::uint16_t>(owner.elements[1].integer)};
                        if (e.ip.empty()) e.ip = seed.ip;
                        for (auto s = a; s <= b && s < 16384; ++s)
                          if (s >= 0) slots_[static_cast<std::size_t>(s)] = e;
                      }
                      have_map_ = true;
                    } else {
                      ++next_seed_;  // try another seed next time
                    }
                    std::vector<std::function<void()>> waiting;
                    waiting.swap(after_refresh_);
                    for (auto& fn : waiting) fn();
                  }});
}

void ClusterClient::execute(Argv argv, std::function<void(const CommandOutcome&)> done, std::size_t key_index) {
  auto a = std::make_shared<Attempt>();
  a->slot = argv.size() > key_index ? key_hash_slot(argv[key_index]) : 0;
  a->argv = std::move(argv);
  a->done = std::move(done);
  ++in_flight_;
  if (!have_map_) {
    refresh_slots([this, a] { send_attempt(a); });
    return;
  }
  send_attempt(a);
}

void ClusterClient::send_attempt(std::shared_ptr<Attempt> a) {
  if (++a->outcome.attempts > options_.max_attempts) {
    a->finish_not_ok(a->outcome.error.empty() ? "too many attempts" : a->outcome.error);
    --in_flight_;
    a->done(a->outcome);
    return;
  }
  Endpoint target = a->asking ? a->ask_target : owner_of(a->slot);
  if (target.ip.empty()) {
    refresh_slots([this, a] {
      if (owner_of(a->slot).ip.empty()) {
        a->outcome.error = fmt::format("no node serves slot {}", a->slot);
        retry_later(a);
      } else {
        send_attempt(a);
      }
    });
    return;
  }
  a->outcome.served_by = target;
  std::vector<Argv> cmds;
  std::vector<AsyncConnection::Callback> cbs;
  if (a->asking) {
    cmds.push_back({"ASKING"});
    cbs.push_back([](const resp::Value*, const std::string&) {});
    a->asking = false;  // one shot
  }
  cmds.push_back(a->argv);
  cbs.push_back([this, a](const resp::Value* r, const std::string& err) { on_reply(a, r, err); });
  conn(target).send(cmds, std::move(cbs));
}

void ClusterClient::on_reply(std::shared_ptr<Attempt> a, const resp::Value* reply, const std::string& error) {
  if (reply == nullptr) {
    // Not sent at all: safe to retry anywhere. Sent but no answer: its fate is unknown; we retry
    // (the workloads' writes are idempotent) and keep "unknown" if no later attempt succeeds.
    if (error.rfind("not sent", 0) != 0) a->maybe_applied = true;
    a->outcome.error = error;
    have_map_ = false;  // the owner may be gone: refresh the slot map before retrying
    retry_later(a);
    return;
  }
  if (reply->is_error()) {
    const std::string& e = reply->str;
    auto parts = split_spaces(e);
    if ((e.rfind("MOVED ", 0) == 0 || e.rfind("ASK ", 0) == 0) && parts.size() >= 3) {
      std::string_view addr = parts[2];
      auto colon = addr.rfind(':');
      Endpoint to{std::string(addr.substr(0, colon)),
                  static_cast<std::uint16_t>(parse_ll(addr.substr(colon + 1)).value_or(0))};
      ++a->outcome.redirects;
      if (e[0] == 'M') {
        slots_[a->slot] = to;
      } else {
        a->asking = true;
        a->ask_target = to;
      }
      send_attempt(a);
      return;
    }
    if (e.rfind("TRYAGAIN", 0) == 0 || e.rfind("CLUSTERDOWN", 0) == 0 || e.rfind("LOADING", 0) == 0) {
      // Not executed here: retried; a definite failure unless a later attempt succeeds.
      a->outcome.reply = *reply;
      a->outcome.error = e;
      if (e.rfind("CLUSTERDOWN", 0) == 0) have_map_ = false;
      retry_later(a);
      return;
    }
    // Any other error is final and means this attempt was not executed.
    a->outcome.reply = *reply;
    a->finish_not_ok(e);
    --in_flight_;
    a->done(a->outcome);
    return;
  }
  a->outcome.kind = CommandOutcome::Kind::ok;
  a->outcome.reply = *reply;
  a->outcome.error.clear();
  --in_flight_;
  a->done(a->outcome);
}

void ClusterClient::retry_later(std::shared_ptr<Attempt> a) {
  driver_.schedule(driver_.now_ms() + options_.retry_delay_ms, [this, a, alive = alive_] {
    if (!*alive) return;
    if (!have_map_) {
      refresh_slots([this, a] { send_attempt(a); });
    } else {
      send_attempt(a);
    }
  });
}

void ClusterClient::tick() {
  Millis now = driver_.now_ms();
  for (auto& [name, c] : conns_) c->expire(now, options_.command_timeout_ms);
}

}  // namespace slotlab::harness
