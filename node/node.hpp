// Node: one Redis Cluster 7.0 node as a sans-IO state machine (DESIGN.md "The seam").
//
// The host drives it through the Actor interface: connections accepted and made, bytes, closes and
// a tick every 100 ms. Everything the node does to the world goes through Env. The class is large
// because a Redis node is; its member functions are split into files named after what they own:
//
//   node.cpp               event entry points, connection routing, before-sleep work
//   clients.cpp            client connections: RESP in, replies out, command dispatch
//   commands.cpp           the command table; PING, ECHO, INFO, ROLE, CONFIG, DEBUG, ...
//   cluster_command.cpp    CLUSTER <subcommand>
//   cluster_links.cpp      bus links: connect, read/frame, send, free
//   gossip.cpp             PING/PONG/MEET building and processing, handshakes
//   failure_detection.cpp  PFAIL, failure reports, FAIL, clearing FAIL, cluster_state
//   election.cpp           replica failover, ranks, votes (both sides)
//   manual_failover.cpp    CLUSTER FAILOVER [FORCE|TAKEOVER], MFSTART
//   slot_config.cpp        slot ownership, configEpoch rules, UPDATE, collisions, replica migration
//   nodes_conf.cpp         CLUSTER NODES text, nodes.conf save/load
//   replication.cpp        primary/replica replication (PSYNC, backlog, offsets)
//   routing.cpp            cluster redirections of client commands (MOVED, ASK, CROSSSLOT, ...)
//   multi.cpp              MULTI/EXEC/DISCARD, rejected commands, call() and propagation
//   expire.cpp             active expiry
//   data_*.cpp             the data commands (free functions over a DataContext, data_commands.hpp)
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "node/bus_message.hpp"
#include "node/cluster_state.hpp"
#include "node/config.hpp"
#include "node/env.hpp"
#include "node/keyspace.hpp"
#include "node/resp.hpp"
#include "node/result.hpp"

namespace slotlab {

namespace aof {
class AofWriter;
}

using Argv = std::vector<std::string>;
struct CommandSpec;

// A client connection on the data port (including replicas once they PSYNC).
struct Client {
  std::uint64_t id = 0;
  ConnId conn = kNoConn;
  Endpoint peer;
  Millis ctime_ms = 0;
  Millis last_interaction_ms = 0;
  resp::RequestParser parser;
  std::vector<std::string> argv;   // reused between commands (the parser recycles its strings)
  std::string reply;               // replies produced while handling the current bytes
  bool close_after_reply = false;
  bool authenticated = false;
  bool asking = false;
  bool readonly = false;
  int db = 0;
  std::string name;

  // Replication, primary side: this client is one of our replicas.
  enum class ReplState : std::uint8_t { none, wait_bgsave_start, sending_rdb, online };
  ReplState repl_state = ReplState::none;
  bool is_replica() const { return repl_state != ReplState::none; }
  std::uint16_t replica_listening_port = 0;
  std::string replica_announced_ip;
  bool replica_capa_eof = false;
  bool replica_capa_psync2 = false;
  std::int64_t repl_ack_offset = 0;
  Millis repl_ack_time_ms = 0;
  Millis repl_sync_requested_ms = 0;  // when the full sync was requested (diskless delay)
  std::int64_t psync_initial_offset = 0;

  // Blocked clients: nothing more is read from this client until it is unblocked; `pending` is a
  // command to run first when it is (a write held back by a manual-failover pause).
  enum class BlockedOn : std::uint8_t { none, wait, pause, migrate };
  BlockedOn blocked = BlockedOn::none;
  Millis block_deadline_ms = 0;      // 0: no timeout
  std::int64_t wait_offset = 0;      // WAIT: replication offset to reach
  std::int64_t wait_replicas = 0;    // WAIT: how many replicas must reach it
  Argv pending;

  // MULTI/EXEC.
  bool in_multi = false;
  bool multi_dirty = false;          // an error while queueing: EXEC aborts (EXECABORT)
  std::vector<Argv> multi_queue;

  // client-output-buffer-limit: when the soft limit was first seen reached (-1: not over it), and
  // whether the client is to be closed at the next safe point (Redis's CLIENT_CLOSE_ASAP).
  Millis obuf_soft_limit_reached_ms = -1;
  bool close_asap = false;
  // Replicas: replication-stream bytes queued since the snapshot. Redis streams the RDB outside
  // the output buffer, so only the bytes queued after it count against the replica limit.
  std::int64_t repl_stream_queued = 0;

  bool from_primary = false;         // this is our primary's replication stream (or the AOF loader)
  std::int64_t woff = 0;             // replication offset after this client's last write (WAIT)

  explicit Client(resp::Limits limits) : parser(limits) {}
};

// Replica side of replication: the link to our primary's data port (Redis's server.master,
// server.repl_state...).
struct PrimaryLink {
  enum class State : std::uint8_t {
    none,             // not a replica
    connect,          // must connect (replicationCron / replicationSetMaster)
    connecting,
    receive_ping_reply,
    receive_auth_reply,
    receive_port_reply,
    receive_capa_reply,
    receive_psync_reply,
    transfer,         // receiving the RDB payload
    connected,
  };
  State state = State::none;
  Endpoint primary;
  ConnId conn = kNoConn;
  resp::ReplyParser handshake_parser;   // replies during the handshake
  std::string inbuf;                    // raw bytes (RDB transfer / stream)
  // RDB transfer
  std::int64_t transfer_size = -1;      // -1: not known yet; -2: EOF-marked (diskless)
  std::string eof_mark;
  std::string transfer_buf;
  Millis transfer_last_io_ms = 0;
  Millis handshake_start_ms = 0;
  // Connected state
  resp::RequestParser stream_parser{resp::Limits{}};
  std::int64_t reploff = 0;             // processed offset (server.master->reploff)
  Millis last_interaction_ms = 0;       // server.master->lastinteraction
  std::string psync_replid;             // what we asked for
  std::int64_t psync_offset = -1;
  std::string initial_replid;
  std::int64_t initial_offset = -1;
  Millis down_since_ms = 0;             // server.repl_down_since (0: never connected)
  Millis last_ack_sent_ms = 0;
  int stream_db = 0;
  std::string pending_stream;           // received stream bytes not yet applied
};

// A cached connection MIGRATE uses to reach a target (migrateCachedSocket).
struct MigrateSocket {
  Endpoint to;
  ConnId conn = kNoConn;
  bool connected = false;
  bool closed = false;
  int last_dbid = -1;
  Millis last_use_ms = 0;
  std::string pending_out;
  resp::ReplyParser parser;
  std::deque<resp::Value> replies;
};

// The MIGRATE in flight (one at a time: the node holds every other client back meanwhile).
struct MigrateOp {
  ConnId client = kNoConn;
  Endpoint target;
  std::vector<std::string> keys;       // present when MIGRATE was called
  std::vector<std::string> sent_keys;  // RESTOREs in the batch on the wire
  bool copy = false;
  bool replace = false;
  bool may_retry = true;
  bool expect_auth = false;
  bool expect_select = false;
  int dbid = 0;
  int db_index = 0;
  Millis deadline_ms = 0;
  Millis timeout_ms = 0;
  std::string username, password;
};

// Every slot owner's CLUSTER NODES slot ranges (" 0-5460 5462"), computed from the slot table
// (Node::slot_ranges_text).
struct SlotRangesText {
  std::vector<const ClusterNode*> owners;                        // sorted by address (lookup only)
  std::vector<std::pair<std::uint32_t, std::uint32_t>> spans;    // owners[i]'s text: offset, length
  std::string text;
  std::string_view of(const ClusterNode* n) const;               // empty if n owns no slot
};

class Node final : public Actor {
 public:
  Node(Env env, NodeConfig config);
  ~Node() override;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Loads nodes.conf (and, later, data) through Storage. An unreadable or corrupt nodes.conf is
  // an error the host must act on (redis-server exits): the node is not usable then.
  Result<void> start();

  // Actor
  void on_accept(ListenerKind kind, ConnId conn, const Endpoint& peer) override;
  void on_connected(ConnId conn) override;
  void on_bytes(ConnId conn, std::string_view bytes) override;
  void on_closed(ConnId conn, CloseReason reason) override;
  void on_tick() override;

  // Read-only views for hosts, the harness and tests.
  const ClusterState& cluster() const { return cluster_; }
  const NodeConfig& config() const { return config_; }
  const NodeId& id() const { return cluster_.myself->name; }
  bool is_replica() const { return cluster_.myself->is_replica(); }
  std::string cluster_nodes_text(std::uint16_t filter = 0) const;  // CLUSTER NODES
  std::string cluster_info_text() const;                            // CLUSTER INFO
  std::string info_text(std::string_view section) const;            // INFO
  std::int64_t replication_offset() const;  // master_repl_offset, or the processed offset of a replica
  bool primary_link_up() const { return primary_link_.state == PrimaryLink::State::connected; }
  // Runs a command as if a client sent it and returns the RESP reply bytes (used by tests and by
  // hosts that expose an admin console); it never blocks.
  std::string execute_for_test(const Argv& argv);
  // Invariants (STYLE.md): one owner per slot in our view, current >= config epoch, myself known.
  void check_invariants() const;
  // A fault the harness injects (the drop-bus-messages step): received cluster bus messages whose
  // type's bit is set in `mask` (bit 0 = ping ... bit 10 = publishshard) are dropped the way
  // DEBUG DROP-CLUSTER-PACKET-FILTER drops its one type (counted as received, then ignored). It
  // is the host's setting, not the process's: the simulator world re-applies it after a restart.
  void set_dropped_bus_types(std::uint32_t mask) { dropped_bus_types_ = mask; }

 private:
  friend struct NodeTestAccess;

  // ---- node.cpp: routing and before-sleep ----
  void before_sleep();
  void log(LogLevel level, std::string_view message);
  template <class... Args>
  void logf(LogLevel level, fmt::format_string<Args...> f, Args&&... args);
  void trace(TraceKind kind, const NodeId& about = {}, std::uint64_t epoch = 0, std::int64_t value = 0,
             std::string detail = {});
  Millis now_ms() const { return env_.clock.now_ms(); }
  NodeId random_node_id();

  // ---- clients.cpp ----
  Client* create_client(ConnId conn, const Endpoint& peer);
  void free_client(Client& c, bool close_conn);
  void client_on_bytes(Client& c, std::string_view bytes);
  void process_command(Client& c, Argv& argv, resp::Writer& w);
  void flush_client(Client& c);
  void clients_cron();
  // client-output-buffer-limit (checkClientOutputBufferLimits / closeClientOnOutputBufferLimitReached):
  // marks a client over its class's limit for closing (or, from the cron, frees it) and logs it;
  // free_clients_to_close() frees the marked ones at a safe point (before_sleep).
  ClientClass client_class(const Client& c) const;
  bool check_output_limit(Client& c, bool async = true);
  void free_clients_to_close();
  std::string client_info_string(const Client& c) const;

  // ---- commands.cpp ----
  static const std::vector<CommandSpec>& command_table();
  const CommandSpec* lookup_command(const Argv& argv) const;
  // Runs a data command with its context and propagates what it changed.
  void call_data_command(Client& c, const CommandSpec& cmd, const Argv& argv, resp::Writer& w);
  // Appends a command to the replication stream (SELECT first when the db changes) and the AOF.
  void propagate(int db, const Argv& argv);
  Keyspace& db(int index) { return *dbs_[static_cast<std::size_t>(index)]; }

  // ---- migrate.cpp ----
  void cmd_migrate(Client& c, const Argv& argv, resp::Writer& w);
  void migrate_send();
  void migrate_close_socket(const std::string& name);
  void migrate_on_connected(MigrateSocket& s);
  void migrate_on_bytes(MigrateSocket& s, std::string_view bytes);
  void migrate_on_closed(MigrateSocket& s);
  void migrate_socket_error(MigrateSocket& s, bool reading);
  void migrate_complete(MigrateSocket& s);
  void migrate_finish(bool failed, const std::string& error);
  void migrate_cron();
  MigrateSocket* migrate_socket_for(ConnId conn);
  friend void register_migration_commands(std::vector<CommandSpec>& table);

  // ---- routing.cpp: cluster redirections (getNodeByQuery, clusterRedirectClient) ----
  enum class Redirect : std::uint8_t { none, cross_slot, unstable, down_state, down_ro_state, down_unbound, moved, ask };
  struct Route {
    const ClusterNode* node = nullptr;  // where the command belongs (myself when it may run here)
    int slot = 0;
    Redirect code = Redirect::none;
  };
  // Whether the cluster must route this command at all: it has keys, or it is EXEC.
  bool command_is_routed(const CommandSpec& cmd) const;
  // getNodeByQuery for `cmd` (for EXEC: every command queued by `c`).
  Route route_query(const Client& c, const CommandSpec& cmd, const Argv& argv) const;
  // clusterRedirectClient: the -MOVED/-ASK/-TRYAGAIN/-CROSSSLOT/-CLUSTERDOWN reply, without its '-'.
  std::string redirect_error(const Route& route) const;

  // ---- clients.cpp (data path): processCommand's checks, routing and queueing ----
  void dispatch_command(Client& c, const CommandSpec* cmd, Argv& argv, resp::Writer& w);

  // ---- multi.cpp: MULTI/EXEC/DISCARD and the shared rejection path ----
  void cmd_multi(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_exec(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_discard(Client& c, const Argv& argv, resp::Writer& w);
  void discard_transaction(Client& c);
  void flag_transaction(Client& c) {
    if (c.in_multi) c.multi_dirty = true;
  }
  // rejectCommand: flags the transaction; a rejected EXEC aborts it (-EXECABORT ... because of:).
  void reject_command(Client& c, const CommandSpec* cmd, std::string_view error, resp::Writer& w);
  // The union of the flags of the commands `c` queued (mstate.cmd_flags), and whether one of them
  // lacks `flag` (mstate.cmd_inv_flags).
  std::uint32_t queued_flags(const Client& c) const;
  bool queued_lacks(const Client& c, std::uint32_t flag) const;
  // Runs a command that passed every check (call()).
  void call_command(Client& c, const CommandSpec& cmd, const Argv& argv, resp::Writer& w);
  // Sends what a command (or a transaction) propagated, wrapped in MULTI/EXEC when there is more
  // than one command (propagatePendingCommands).
  void propagate_pending(std::vector<std::pair<int, Argv>>& ops, bool wrap);

  // ---- data path: active expiry (expire.cpp), the replica's apply loop and RDB hook (replication.cpp) ----
  void active_expire_cycle();
  Result<void> load_rdb_into_keyspaces(std::string_view payload);
  void apply_primary_command(Argv& argv);

  // ---- blocked.cpp ----
  void block_client(Client& c, Client::BlockedOn on, Millis deadline_ms);
  void unblock_client(Client& c);
  void blocked_clients_cron();
  void process_blocked_clients();
  std::int64_t count_replica_acks(std::int64_t offset) const;
  void propagate_raw(const std::string& bytes) { replication_feed_replicas(bytes); }
  void cmd_ping(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_echo(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_info(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_role(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_config(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_debug(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_auth(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_select(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_command(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_client(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_readonly(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_readwrite(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_asking(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_dbsize(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_shutdown(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_replconf(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_psync(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_wait(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_quit(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_hello(Client& c, const Argv& argv, resp::Writer& w);

  // ---- cluster_command.cpp ----
  void cmd_cluster(Client& c, const Argv& argv, resp::Writer& w);
  void cluster_reply_slots(resp::Writer& w);
  void cluster_reply_shards(resp::Writer& w);

  // ---- cluster_links.cpp ----
  ClusterLink* create_link(ClusterNode* node, ConnId conn, bool inbound);
  void free_link(ClusterLink* link);
  void set_inbound_link(ClusterNode* node, ClusterLink* link);
  void link_on_bytes(ClusterLink* link, std::string_view bytes);
  void link_on_connected(ClusterLink* link);
  void send_message(ClusterLink* link, std::string&& bytes, bus::MsgType type);
  void broadcast_message(const std::string& bytes, bus::MsgType type);
  bool handle_reconnect(ClusterNode* node, Millis handshake_timeout_ms, Millis now);

  // ---- gossip.cpp ----
  bus::Header build_header(bus::MsgType type) const;
  void send_ping(ClusterLink* link, bus::MsgType type);
  void broadcast_pong(bool local_replicas_only);
  bool process_packet(ClusterLink* link, const bus::Message& msg, std::uint32_t totlen);
  void process_gossip_section(const bus::Message& msg, ClusterLink* link);
  void process_ping_extensions(const bus::Message& msg, ClusterLink* link);
  bool node_update_address_if_needed(ClusterNode* node, ClusterLink* link, const bus::Header& hdr);
  std::string peer_ip_for(ClusterLink* link, const bus::Header& hdr) const;
  bool start_handshake(const std::string& ip, int port, int cport);
  bool handshake_in_progress(const std::string& ip, int port, int cport) const;
  void cluster_cron();

  // ---- node table (slot_config.cpp) ----
  std::unique_ptr<ClusterNode> create_node(const NodeId* name, std::uint16_t flags);
  ClusterNode* add_node(std::unique_ptr<ClusterNode> node);
  void del_node(ClusterNode* node);
  void rename_node(ClusterNode* node, const NodeId& new_name);
  void rebuild_node_order();
  bool blacklist_exists(const NodeId& id);
  void blacklist_add(const NodeId& id);
  bool node_add_replica(ClusterNode* primary, ClusterNode* replica);
  bool node_remove_replica(ClusterNode* primary, ClusterNode* replica);
  int count_non_failing_replicas(const ClusterNode* n) const;
  bool add_slot(ClusterNode* n, int slot);
  bool del_slot(int slot);
  int del_node_slots(ClusterNode* n);
  bool node_set_slot_bit(ClusterNode* n, int slot);
  bool node_clear_slot_bit(ClusterNode* n, int slot);
  bool primaries_have_replicas() const;
  void close_all_slots();
  void set_node_as_primary(ClusterNode* n);
  void set_my_primary(ClusterNode* n);
  void update_slots_config_with(ClusterNode* sender, std::uint64_t sender_config_epoch,
                                const bus::SlotBitmap& slots);
  std::uint64_t max_epoch() const;
  bool bump_config_epoch_without_consensus();
  void handle_config_epoch_collision(ClusterNode* sender);
  void send_update(ClusterLink* link, ClusterNode* node);
  void handle_replica_migration(int max_replicas);
  void do_before_sleep(std::uint32_t flags) { cluster_.todo_before_sleep |= flags; }
  void update_myself_flags();
  void cluster_reset(bool hard);
  bool is_slot_unclaimed(int slot) const;

  // ---- failure_detection.cpp ----
  bool add_failure_report(ClusterNode* failing, ClusterNode* sender);
  void cleanup_failure_reports(ClusterNode* node);
  bool del_failure_report(ClusterNode* node, ClusterNode* sender);
  int failure_reports_count(ClusterNode* node);
  void mark_node_as_failing_if_needed(ClusterNode* node);
  void clear_node_failure_if_needed(ClusterNode* node);
  void send_fail(const NodeId& about);
  void update_cluster_state();

  // ---- election.cpp ----
  int replica_rank() const;
  void request_failover_auth();
  void send_failover_auth(ClusterNode* node);
  void send_failover_auth_if_needed(ClusterNode* node, const bus::Message& request);
  void log_cant_failover(CantFailoverReason reason);
  void failover_replace_your_primary();
  void handle_replica_failover();

  // ---- manual_failover.cpp ----
  void reset_manual_failover();
  void manual_failover_check_timeout();
  void handle_manual_failover();
  void send_mfstart(ClusterNode* node);
  bool clients_paused_for_failover() const;

  // ---- persistence.cpp: RDB snapshots, the AOF, loading at start, SHUTDOWN's save ----
  Result<void> load_data_from_disk();
  void verify_cluster_config_with_data();
  std::string snapshot_payload(bool aof_base) const;
  Result<void> rdb_save(std::string_view why);
  Result<void> aof_start();
  void aof_stop();
  // Writes (and with appendfsync always, fsyncs) what the AOF buffered, before replies go out.
  // false: the node cannot go on (a write error under appendfsync always) and is exiting.
  bool aof_flush_before_reply();
  void persistence_cron();
  void persistence_config_changed(const NodeConfig& old);
  // prepareForShutdown: false if a requested save failed (the node keeps running).
  bool prepare_for_shutdown(bool save, bool nosave, bool force);
  // writeCommandsDeniedByDiskError: the -MISCONF error a write gets, or empty.
  std::string disk_error_denying_writes() const;
  void info_persistence(std::string& out) const;
  void cmd_save(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_bgsave(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_lastsave(Client& c, const Argv& argv, resp::Writer& w);
  void cmd_bgrewriteaof(Client& c, const Argv& argv, resp::Writer& w);
  friend void register_persistence_commands(std::vector<CommandSpec>& table);

  // ---- nodes_conf.cpp ----
  const SlotRangesText& slot_ranges_text() const;
  std::string node_description(const ClusterNode* node) const;
  std::string_view ranges_text_of(const ClusterNode* node) const;
  std::string_view nodes_text(std::uint16_t filter) const;  // CLUSTER NODES lines (scratch buffer)
  void by_name_insert(ClusterNode* n);
  void by_name_erase(ClusterNode* n);
  Result<bool> load_nodes_conf();  // false: no file (fresh node)
  Result<void> save_nodes_conf(bool do_fsync);
  void save_nodes_conf_or_die(bool do_fsync);

  // ---- replication.cpp ----
  void trace_replication(bool up);
  void replication_set_primary(const std::string& ip, int port);
  void replication_unset_primary();
  void replication_cron();
  void replication_connect();
  void replication_abort(bool reconnect, std::string_view why);
  void primary_link_on_connected();
  void primary_link_on_bytes(std::string_view bytes);
  void primary_link_on_closed(CloseReason reason);
  void replication_handshake_step(const resp::Value* reply);
  void replication_load_payload(std::string_view payload);
  void replication_process_stream();
  void replication_send_ack();
  void replication_feed_replicas(const std::string& bytes);
  void replication_start_full_sync(Client& c);
  bool replication_try_partial(Client& c, const std::string& replid, std::int64_t offset, resp::Writer& w);
  void replication_shift_replid();
  void replication_change_replid();
  std::int64_t replica_processed_offset() const;
  std::string replication_payload() const;  // the full-sync snapshot
  void replication_primary_cron();

  Env env_;
  NodeConfig config_;
  ClusterState cluster_;
  bool started_ = false;
  bool crashed_ = false;  // a DEBUG SEGFAULT was requested: ignore everything until the host acts
  std::uint64_t tick_count_ = 0;
  std::uint64_t pings_sent_ = 0;   // cluster_pings_sent: marks gossip entries per packet
  std::uint64_t next_client_id_ = 1;
  Millis start_time_ms_ = 0;
  std::string run_id_;
  int drop_packet_filter_ = -1;  // DEBUG DROP-CLUSTER-PACKET-FILTER
  bus::Message rx_message_;       // the cluster bus packet being processed (cluster_links.cpp)
  bus::Message tx_ping_;          // send_ping's message, reused (its gossip vector keeps its capacity)
  std::uint32_t dropped_bus_types_ = 0;  // set_dropped_bus_types
  // slot_ranges_text() cache, keyed on cluster_.slots_generation.
  mutable SlotRangesText ranges_cache_;
  mutable std::uint64_t ranges_generation_ = 0;
  mutable bool ranges_valid_ = false;
  // cluster_.nodes in its order (node id), as a vector, kept in step by add_node / del_node /
  // rename_node (the only writers of the map) and checked by check_invariants. nodes.conf is
  // written in this order on every save, and a vector of pointers costs no tree walk (a chain of
  // dependent cache misses) and lets the next nodes be prefetched (issue 7).
  std::vector<ClusterNode*> nodes_by_name_;

  // Connections. Lookup only: iteration order of these maps never influences behaviour.
  std::unordered_map<ConnId, std::unique_ptr<Client>> clients_;
  LinkTable links_;
  std::vector<Client*> replicas_;  // our replicas, in attach order (deterministic feed order)
  std::vector<ConnId> clients_to_close_;  // over an output-buffer limit, in the order they were marked
  std::vector<Client*> blocked_;   // blocked clients, in the order they blocked
  std::vector<ConnId> unblocked_;  // ready to be served again (before sleeping)
  std::map<std::string, std::unique_ptr<MigrateSocket>> migrate_sockets_;  // "ip:port" -> socket
  std::unordered_map<ConnId, std::string> migrate_conns_;                  // lookup only
  std::optional<MigrateOp> migrate_op_;
  bool get_ack_from_replicas_ = false;

  // The data: databases 0..databases-1 (cluster mode uses only 0).
  std::vector<std::unique_ptr<Keyspace>> dbs_;
  std::int64_t dirty_ = 0;         // changes since the last save
  // Persistence (persistence.cpp).
  std::unique_ptr<aof::AofWriter> aof_;  // set while appendonly is on
  bool loading_ = false;                 // replaying the AOF: nothing propagates
  bool applying_primary_stream_ = false; // our primary's commands: to the AOF only
  Millis last_save_ms_ = 0;              // server.lastsave
  Millis last_bgsave_try_ms_ = 0;
  bool last_bgsave_ok_ = true;
  std::int64_t dirty_before_save_ = 0;
  // Data path state (multi.cpp, replication.cpp, expire.cpp).
  std::vector<std::pair<int, Argv>>* exec_propagation_ = nullptr;  // set while EXEC runs: ops gathered
  std::unique_ptr<Client> primary_client_;  // runs our primary's stream (from_primary), one per link
  ConnId primary_client_link_ = kNoConn;    // the primary link primary_client_ belongs to
  std::string primary_client_reply_;        // replies to the primary's commands, discarded

  // Replication (primary side).
  std::string replid_;
  std::string replid2_;
  std::int64_t second_replid_offset_ = -1;
  std::int64_t master_repl_offset_ = 0;
  std::string backlog_;                  // the last repl_backlog_size bytes of the stream
  std::int64_t backlog_off_ = 0;          // offset of backlog_[0] is backlog_off_ (first byte = +1)
  bool backlog_exists_ = false;
  Millis last_replica_ping_ms_ = 0;
  Millis replicas_absent_since_ms_ = 0;
  Millis paused_until_ms_ = 0;           // write pause (manual failover on the primary)
  int repl_seldb_ = -1;                  // db last selected on the replication stream
  std::uint64_t replication_cron_loops_ = 0;
  PrimaryLink primary_link_;

  // Manual-failover / shutdown bookkeeping from the host's point of view.
  Millis last_cron_ms_ = 0;
};

template <class... Args>
void Node::logf(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  log(level, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace slotlab
