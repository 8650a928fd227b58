// Tests for daemon/event_loop over real loopback sockets on ports picked at run time: echo between
// two actors, refused connects, closes in both directions (and the "no on_closed for our own
// close" rule), large transfers, sends before the connection completes, draining on close,
// output-buffer limits, accept filters, ticks, bind errors, and that nothing is ever delivered
// re-entrantly. Tagged [daemon][loop].
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "daemon/event_loop.hpp"
#include "daemon_test_util.hpp"

using namespace slotlab;
using namespace slotlab::daemon;

namespace {

// Records everything and checks that the loop never calls it from inside its own Transport calls.
class Recorder : public Actor {
 public:
  Transport* transport = nullptr;
  bool in_call = false;  // set while the test itself calls into the Transport
  bool reentered = false;
  std::vector<ConnId> accepted;
  std::vector<ListenerKind> accepted_kinds;
  std::vector<Endpoint> accepted_peers;
  std::vector<ConnId> connected;
  std::map<ConnId, std::string> received;
  std::map<ConnId, CloseReason> closed;
  int ticks = 0;
  bool echo = false;
  std::function<void(ConnId)> on_accept_hook;

  void on_accept(ListenerKind kind, ConnId conn, const Endpoint& peer) override {
    reentered |= in_call;
    accepted.push_back(conn);
    accepted_kinds.push_back(kind);
    accepted_peers.push_back(peer);
    if (on_accept_hook) on_accept_hook(conn);
  }
  void on_connected(ConnId conn) override {
    reentered |= in_call;
    connected.push_back(conn);
  }
  void on_bytes(ConnId conn, std::string_view bytes) override {
    reentered |= in_call;
    received[conn].append(bytes);
    if (echo) transport->send(conn, std::string(bytes));
  }
  void on_closed(ConnId conn, CloseReason reason) override {
    reentered |= in_call;
    closed[conn] = reason;
  }
  void on_tick() override { ++ticks; }

  ConnId connect(const Endpoint& to) {
    in_call = true;
    ConnId id = transport->connect(to);
    in_call = false;
    return id;
  }
  void send(ConnId conn, std::string bytes) {
    in_call = true;
    transport->send(conn, std::move(bytes));
    in_call = false;
  }
  void close(ConnId conn) {
    in_call = true;
    transport->close(conn);
    in_call = false;
  }
};

struct Pair {
  EventLoop loop;
  Recorder server;
  Recorder client;
  ActorHost* server_host = nullptr;
  ActorHost* client_host = nullptr;
  std::uint16_t port = 0;

  explicit Pair(HostOptions server_options = {}) {
    REQUIRE(loop.ok());
    server_host = &loop.add_actor(server, server_options);
    client_host = &loop.add_actor(client);
    server.transport = server_host;
    client.transport = client_host;
    auto p = loop.listen(server, ListenerKind::data, {"127.0.0.1"}, 0);
    REQUIRE(p.ok());
    port = *p;
    REQUIRE(port != 0);
  }
  bool run_until(const std::function<bool()>& pred, Millis ms = 5000) {
    return loop.run_until(pred, loop.now_ms() + ms);
  }
  // Connects the client and waits until both sides know.
  ConnId connect() {
    std::size_t accepted_before = server.accepted.size();
    ConnId c = client.connect({"127.0.0.1", port});
    REQUIRE(run_until([&] {
      return client.connected.size() > 0 && client.connected.back() == c && server.accepted.size() > accepted_before;
    }));
    return c;
  }
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
  return s;
}

// A blocking client socket that is not part of the loop.
int raw_connect(std::uint16_t port, const char* source_ip = nullptr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (source_ip != nullptr) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source_ip, &src.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

TEST_CASE("two actors echo over a real loopback socket", "[daemon][loop]") {
  Pair p;
  p.server.echo = true;
  ConnId c = p.connect();
  p.client.send(c, "hello ");
  p.client.send(c, "world");
  REQUIRE(p.run_until([&] { return p.client.received[c] == "hello world"; }));
  ConnId s = p.server.accepted.back();
  CHECK(p.server.received[s] == "hello world");
  CHECK(p.server.accepted_kinds.back() == ListenerKind::data);
  // Both ends agree on the addresses.
  Endpoint client_local = p.client_host->local_address(c);
  Endpoint server_peer = p.server_host->peer_address(s);
  CHECK(client_local.ip == "127.0.0.1");
  CHECK(client_local == server_peer);
  CHECK(p.server.accepted_peers.back() == client_local);
  CHECK(p.client_host->peer_address(c) == Endpoint{"127.0.0.1", p.port});
  CHECK(p.server_host->local_address(s) == Endpoint{"127.0.0.1", p.port});
  CHECK(p.client_host->pending_bytes(c) == 0);
  CHECK_FALSE(p.client.reentered);
  CHECK_FALSE(p.server.reentered);
  CHECK(p.server_host->connection_count() == 1);
  CHECK(p.client_host->connection_count() == 1);
}

TEST_CASE("connecting to a closed port reports refused, later", "[daemon][loop]") {
  Pair p;
  std::uint16_t dead_port = test::free_port();
  REQUIRE(dead_port != 0);
  ConnId c = p.client.connect({"127.0.0.1", dead_port});
  CHECK(p.client.closed.empty());  // never inside connect()
  REQUIRE(p.run_until([&] { return p.client.closed.count(c) == 1; }));
  CHECK(p.client.closed[c] == CloseReason::refused);
  CHECK(p.client.connected.empty());
  CHECK_FALSE(p.client.reentered);
  CHECK(p.client_host->connection_count() == 0);
  // Sending to or closing a dead connection is harmless.
  p.client.send(c, "x");
  p.client.close(c);
}

TEST_CASE("an unparsable address fails as an event, not in the caller", "[daemon][loop]") {
  Pair p;
  ConnId c = p.client.connect({"no-such-host.invalid", 1});
  CHECK(p.client.closed.empty());
  REQUIRE(p.run_until([&] { return p.client.closed.count(c) == 1; }));
  CHECK_FALSE(p.client.reentered);
}

TEST_CASE("closes: the peer's arrives as peer_closed, our own is silent", "[daemon][loop]") {
  Pair p;
  ConnId c = p.connect();
  ConnId s = p.server.accepted.back();
  p.server.close(s);
  REQUIRE(p.run_until([&] { return p.client.closed.count(c) == 1; }));
  CHECK(p.client.closed[c] == CloseReason::peer_closed);
  // The server closed it itself: no on_closed for it, ever.
  p.run_until([] { return false; }, 200);
  CHECK(p.server.closed.count(s) == 0);
  CHECK(p.server_host->connection_count() == 0);
}

TEST_CASE("a close() before the queued on_closed cancels the event", "[daemon][loop]") {
  Pair p;
  std::uint16_t dead_port = test::free_port();
  ConnId c = p.client.connect({"127.0.0.1", dead_port});
  // Give the kernel time to refuse, but do not let the loop deliver yet: close right away.
  p.client.close(c);
  p.run_until([] { return false; }, 200);
  CHECK(p.client.closed.count(c) == 0);
}

TEST_CASE("bytes sent before the connection completes are delivered", "[daemon][loop]") {
  Pair p;
  ConnId c = p.client.connect({"127.0.0.1", p.port});
  p.client.send(c, "early bytes");
  REQUIRE(p.run_until(
      [&] { return !p.server.accepted.empty() && p.server.received[p.server.accepted.back()] == "early bytes"; }));
  CHECK(p.client.connected == std::vector<ConnId>{c});
}

TEST_CASE("large transfers arrive whole and in order both ways", "[daemon][loop]") {
  Pair p;
  p.server.echo = true;
  ConnId c = p.connect();
  const std::string data = pattern(8 * 1024 * 1024 + 3);
  // In pieces of varying size, as a pipelining client would.
  std::size_t off = 0;
  std::size_t piece = 1;
  while (off < data.size()) {
    std::size_t n = std::min(piece, data.size() - off);
    p.client.send(c, data.substr(off, n));
    off += n;
    piece = piece * 3 + 1;
    if (piece > 1'000'000) piece = 7;
  }
  REQUIRE(p.run_until([&] { return p.client.received[c].size() >= data.size(); }, 20000));
  CHECK(p.client.received[c] == data);
  CHECK(p.server.received[p.server.accepted.back()] == data);
}

TEST_CASE("closing with output pending drains it first", "[daemon][loop]") {
  Pair p;
  ConnId c = p.connect();
  ConnId s = p.server.accepted.back();
  const std::string data = pattern(2 * 1024 * 1024);
  p.server.send(s, data);
  p.server.close(s);                            // like a reply followed by a close (QUIT, protocol errors)
  CHECK(p.server_host->pending_bytes(s) == 0);  // gone for the actor
  REQUIRE(p.run_until([&] { return p.client.closed.count(c) == 1; }, 10000));
  CHECK(p.client.received[c] == data);
  CHECK(p.client.closed[c] == CloseReason::peer_closed);
  CHECK(p.server.closed.count(s) == 0);
}

TEST_CASE("the output-buffer hard limit closes a connection", "[daemon][loop]") {
  HostOptions opts;
  opts.data_output_limit.hard_bytes = 1024 * 1024;
  Pair p(opts);
  int fd = raw_connect(p.port);  // a client that never reads
  REQUIRE(fd >= 0);
  REQUIRE(p.run_until([&] { return !p.server.accepted.empty(); }));
  ConnId s = p.server.accepted.back();
  p.server.send(s, pattern(512 * 1024));
  CHECK(p.server.closed.empty());
  p.server.send(s, pattern(1024 * 1024));  // 1.5 MB pending at once: over the hard limit
  CHECK(p.server.closed.empty());          // reported later, as an event
  REQUIRE(p.run_until([&] { return p.server.closed.count(s) == 1; }));
  CHECK(p.server.closed[s] == CloseReason::local_error);
  CHECK_FALSE(p.server.reentered);
  ::close(fd);
}

TEST_CASE("the output-buffer soft limit closes a connection that stays over it", "[daemon][loop]") {
  HostOptions opts;
  opts.data_output_limit.soft_bytes = 64 * 1024;
  opts.data_output_limit.soft_seconds = 1;
  Pair p(opts);
  int fd = raw_connect(p.port);
  REQUIRE(fd >= 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  REQUIRE(p.run_until([&] { return !p.server.accepted.empty(); }));
  ConnId s = p.server.accepted.back();
  p.server.send(s, pattern(16 * 1024 * 1024));  // far more than the socket buffers hold
  p.run_until([] { return false; }, 500);
  CHECK(p.server.closed.count(s) == 0);  // over the soft limit, but not for long enough yet
  REQUIRE(p.run_until([&] { return p.server.closed.count(s) == 1; }, 4000));
  CHECK(p.server.closed[s] == CloseReason::local_error);
  ::close(fd);
}

TEST_CASE("an accept filter refuses before the actor hears of it", "[daemon][loop]") {
  Pair p;
  p.server_host->set_accept_filter([](ListenerKind, const Endpoint& peer) {
    return peer.ip == "127.0.0.1" ? std::string() : std::string("-DENIED go away\r\n");
  });
  // From 127.0.0.2 (still the loopback interface, but not "127.0.0.1", as Redis compares).
  int fd = raw_connect(p.port, "127.0.0.2");
  REQUIRE(fd >= 0);
  std::string got;
  p.run_until([&] { return p.loop.connections_rejected() == 1; });
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) got.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  CHECK(got == "-DENIED go away\r\n");
  CHECK(p.server.accepted.empty());
  // 127.0.0.1 is let in.
  p.connect();
  CHECK(p.server.accepted.size() == 1);
}

TEST_CASE("every actor gets a tick every 100 ms", "[daemon][loop]") {
  Pair p;
  Millis start = p.loop.now_ms();
  p.run_until([] { return false; }, 1050);
  Millis elapsed = p.loop.now_ms() - start;
  // Generous bounds: this is about the period, not about scheduling precision.
  CHECK(p.server.ticks >= 8);
  CHECK(p.server.ticks <= elapsed / 100 + 1);
  CHECK(p.client.ticks >= 8);
}

TEST_CASE("run_until returns as soon as the predicate holds", "[daemon][loop]") {
  Pair p;
  p.server.echo = true;
  ConnId c = p.connect();
  p.client.send(c, "ping");
  Millis start = p.loop.now_ms();
  REQUIRE(p.run_until([&] { return !p.client.received[c].empty(); }, 5000));
  CHECK(p.loop.now_ms() - start < 1000);
  CHECK(p.run_until([] { return true; }, 0));         // already true: no waiting
  CHECK_FALSE(p.run_until([] { return false; }, 0));  // deadline already passed
}

TEST_CASE("listening on a port in use fails with redis-server's message", "[daemon][loop]") {
  Pair p;
  EventLoop other;
  Recorder r;
  other.add_actor(r);
  auto res = other.listen(r, ListenerKind::data, {"127.0.0.1"}, p.port);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().message == "Could not create server TCP listening socket 127.0.0.1:" + std::to_string(p.port) +
                                   ": bind: Address already in use");
  // Optional addresses that are not available are skipped, as with Redis's "-::1".
  auto opt = other.listen(r, ListenerKind::bus, {"127.0.0.1", "-192.0.2.1"}, 0);
  CHECK(opt.ok());
}

TEST_CASE("IPv6 loopback works when the host has it", "[daemon][loop]") {
  EventLoop loop;
  Recorder server;
  Recorder client;
  server.transport = &loop.add_actor(server);
  client.transport = &loop.add_actor(client);
  server.echo = true;
  auto port = loop.listen(server, ListenerKind::bus, {"::1"}, 0);
  if (!port.ok()) {
    WARN("no IPv6 loopback here: " << port.error().message);
    return;
  }
  ConnId c = client.connect({"::1", *port});
  client.send(c, "six");
  REQUIRE(loop.run_until([&] { return client.received[c] == "six"; }, loop.now_ms() + 5000));
  CHECK(server.accepted_kinds.back() == ListenerKind::bus);
  CHECK(server.accepted_peers.back().ip == "::1");
  CHECK(client.transport->local_address(c).ip == "::1");
}

TEST_CASE("deferred tasks run after the event that scheduled them", "[daemon][loop]") {
  Pair p;
  std::vector<std::string> order;
  p.server.on_accept_hook = [&](ConnId) {
    order.push_back("accept begins");
    p.loop.defer([&] { order.push_back("deferred"); });
    order.push_back("accept ends");
  };
  p.connect();
  CHECK(order == std::vector<std::string>{"accept begins", "accept ends", "deferred"});
}

TEST_CASE("a reset from the peer arrives as reset", "[daemon][loop]") {
  Pair p;
  int fd = raw_connect(p.port);
  REQUIRE(fd >= 0);
  REQUIRE(p.run_until([&] { return !p.server.accepted.empty(); }));
  ConnId s = p.server.accepted.back();
  linger lg{1, 0};  // close() sends RST instead of FIN
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  ::close(fd);
  REQUIRE(p.run_until([&] { return p.server.closed.count(s) == 1; }));
  CHECK(p.server.closed[s] == CloseReason::reset);
}
