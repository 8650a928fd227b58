// A cluster-aware client that does not block the harness: commands are sent and their replies
// delivered to callbacks, so workloads keep running while scenario steps (a reshard, a crash)
// drive the world.
//
// It behaves like the usual cluster clients (redis-py's RedisCluster, Jedis): a slot map from
// CLUSTER SLOTS, refreshed on MOVED and on connection errors; -MOVED updates the slot's owner and
// retries there; -ASK sends ASKING and the command to the named node once; -TRYAGAIN and
// -CLUSTERDOWN are retried after a pause; everything bounded by a number of attempts. Each
// command ends in exactly one outcome: ok (a reply that is not an error), failed (an error reply
// that means the command was not executed) or unknown (no reply: timeout or the connection went
// away after sending, so it may or may not have been applied).
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness/client.hpp"

namespace slotlab::harness {

// One connection with FIFO callbacks: replies are matched to commands in order.
class AsyncConnection final : public MuxListener {
 public:
  using Callback = std::function<void(const resp::Value* reply, const std::string& error)>;
  AsyncConnection(Driver& driver, Endpoint to);
  ~AsyncConnection() override;
  AsyncConnection(const AsyncConnection&) = delete;
  AsyncConnection& operator=(const AsyncConnection&) = delete;

  // reply == nullptr means no reply will come: `error` says why (closed, refused, timed out).
  void send(const std::vector<Argv>& cmds, std::vector<Callback> callbacks);
  bool idle() const { return pending_.empty(); }
  const Endpoint& endpoint() const { return to_; }
  // Fails every pending callback whose command has waited longer than timeout_ms.
  void expire(Millis now_ms, Millis timeout_ms);
  bool closed() const { return closed_; }

  void on_connected() override;
  void on_bytes(std::string_view bytes) override;
  void on_closed(CloseReason reason) override;

 private:
  struct Pending {
    Callback cb;
    Millis sent_ms;
  };
  void open();
  void fail_all(const std::string& why);

  Driver& driver_;
  Endpoint to_;
  ConnId conn_ = kNoConn;
  bool connected_ = false;
  bool closed_ = true;
  std::string out_;
  resp::ReplyParser parser_;
  std::deque<Pending> pending_;
};

struct ClusterClientOptions {
  int max_attempts = 16;           // redirections and retries per command
  Millis retry_delay_ms = 100;     // before retrying TRYAGAIN / CLUSTERDOWN / a connection error
  Millis command_timeout_ms = 2000;
};

struct CommandOutcome {
  enum class Kind : std::uint8_t { ok, failed, unknown };
  Kind kind = Kind::unknown;
  resp::Value reply;               // the final reply (ok or failed)
  std::string error;               // why it failed / is unknown
  Endpoint served_by;              // the node that gave the final reply (or that we last tried)
  int attempts = 0;
  int redirects = 0;               // MOVED + ASK followed
};

class ClusterClient {
 public:
  ClusterClient(Driver& driver, std::vector<Endpoint> seeds, ClusterClientOptions options = {});
  ~ClusterClient();
  // Routes by the key in argv[key_index] (1 for GET/SET/...).
  void execute(Argv argv, std::function<void(const CommandOutcome&)> done, std::size_t key_index = 1);
  // Refreshes the slot map from the first seed that answers CLUSTER SLOTS.
  void refresh_slots(std::function<void()> then = {});
  bool has_slot_map() const { return have_map_; }
  // Called by the workload's pacing timer: expires commands that waited too long.
  void tick();
  std::size_t in_flight() const { return in_flight_; }

 private:
  struct Attempt;
  void send_attempt(std::shared_ptr<Attempt> a);
  void on_reply(std::shared_ptr<Attempt> a, const resp::Value* reply, const std::string& error);
  void retry_later(std::shared_ptr<Attempt> a);
  AsyncConnection& conn(const Endpoint& e);
  Endpoint owner_of(std::uint16_t slot) const;

  Driver& driver_;
  std::vector<Endpoint> seeds_;
  ClusterClientOptions options_;
  std::array<Endpoint, 16384> slots_{};
  bool have_map_ = false;
  bool refreshing_ = false;
  std::vector<std::function<void()>> after_refresh_;
  std::map<std::string, std::unique_ptr<AsyncConnection>> conns_;
  std::size_t in_flight_ = 0;
  std::size_t next_seed_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // timers outliving us do nothing
};

}  // namespace slotlab::harness
