// The epoll loop and the per-actor Transport (see event_loop.hpp for what it owns and why).
//
// Connection life cycle, from the loop's side:
//   connecting   socket created, non-blocking connect in progress (EPOLLOUT tells us the result)
//   open         connected or accepted; EPOLLIN always, EPOLLOUT only while output is pending
//   draining     the actor closed it but output was pending: we keep writing (no events to the
//                actor) until the buffer is empty, the peer goes away, or 10 s pass
//   dead         the connection failed or the peer closed it: the fd is gone and an on_closed
//                event is queued; the record stays until that event is delivered, so that an
//                actor's close() in between cancels the event (Transport contract)
#include "daemon/event_loop.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

namespace slotlab::daemon {

namespace {

constexpr std::uint64_t kKeyListener = 1ull << 62;
constexpr std::uint64_t kKeySignal = 2ull << 62;
constexpr std::uint64_t kKeyMask = 3ull << 62;
constexpr std::size_t kReadChunk = 64 * 1024;         // one read() (Redis reads 16 KB; bigger helps pipelines)
constexpr std::size_t kReadCapPerEvent = 256 * 1024;  // per connection per iteration
constexpr int kMaxAcceptsPerCall = 1000;              // Redis's MAX_ACCEPTS_PER_CALL
constexpr int kMaxEvents = 1024;
constexpr Millis kDrainTimeoutMs = 10'000;
constexpr std::size_t kShrinkAbove = 1024 * 1024;   // release output buffers bigger than this once empty
constexpr std::size_t kCompactAbove = 1024 * 1024;  // compact written prefixes bigger than this

std::int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string errno_text(int err) { return std::strerror(err); }

CloseReason reason_for_errno(int err) {
  switch (err) {
    case ECONNREFUSED: return CloseReason::refused;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED: return CloseReason::reset;
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN: return CloseReason::timeout;
    default: return CloseReason::local_error;
  }
}

void set_int_opt(int fd, int level, int name, int value) { (void)setsockopt(fd, level, name, &value, sizeof(value)); }

// Redis's anetKeepAlive: idle = interval, probes every interval/3, 3 probes.
void set_keepalive(int fd, std::int64_t interval_s) {
  if (interval_s <= 0) return;
  int interval = static_cast<int>(std::min<std::int64_t>(interval_s, 32767));
  set_int_opt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
  set_int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, interval);
  set_int_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL, std::max(1, interval / 3));
  set_int_opt(fd, IPPROTO_TCP, TCP_KEEPCNT, 3);
}

Endpoint endpoint_of(const sockaddr_storage& ss) {
  Endpoint e;
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    sockaddr_in sin{};
    std::memcpy(&sin, &ss, sizeof(sin));
    inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof(buf));
    e.ip = buf;
    e.port = ntohs(sin.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    sockaddr_in6 sin6{};
    std::memcpy(&sin6, &ss, sizeof(sin6));
    inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof(buf));
    e.ip = buf;
    e.port = ntohs(sin6.sin6_port);
  }
  return e;
}

// Numeric addresses first (no DNS); a name (e.g. "localhost") is resolved with getaddrinfo.
bool resolve(const Endpoint& to, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof(ss));
  std::string host = to.ip;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  sockaddr_in sin{};
  if (inet_pton(AF_INET, host.c_str(), &sin.sin_addr) == 1) {
    sin.sin_family = AF_INET;
    sin.sin_port = htons(to.port);
    std::memcpy(&ss, &sin, sizeof(sin));
    len = sizeof(sin);
    return true;
  }
  sockaddr_in6 sin6{};
  if (inet_pton(AF_INET6, host.c_str(), &sin6.sin6_addr) == 1) {
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(to.port);
    std::memcpy(&ss, &sin6, sizeof(sin6));
    len = sizeof(sin6);
    return true;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (host.empty() || getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) return false;
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  freeaddrinfo(res);
  if (ss.ss_family == AF_INET) {
    sockaddr_in* p = reinterpret_cast<sockaddr_in*>(&ss);
    p->sin_port = htons(to.port);
  } else if (ss.ss_family == AF_INET6) {
    sockaddr_in6* p = reinterpret_cast<sockaddr_in6*>(&ss);
    p->sin6_port = htons(to.port);
  } else {
    return false;
  }
  return true;
}

}  // namespace

Millis RealClock::now_ms() const { return clock_ns(CLOCK_REALTIME) / 1'000'000; }
std::int64_t RealClock::now_us() const { return clock_ns(CLOCK_REALTIME) / 1'000; }
Millis monotonic_ms() { return clock_ns(CLOCK_MONOTONIC) / 1'000'000; }

struct EventLoop::Conn {
  ConnId id = kNoConn;
  int fd = -1;
  ActorHost* host = nullptr;
  bool accepted = false;
  ListenerKind kind = ListenerKind::data;
  bool connecting = false;
  bool actor_closed = false;  // draining: the actor is done with it
  bool dead = false;          // fd gone, on_closed queued
  bool counted = true;        // counted in host->live_conns_
  bool want_write = false;    // EPOLLOUT registered
  bool queued_flush = false;
  std::string out;
  std::size_t out_off = 0;
  OutputLimit limit;
  Millis soft_since_ms = 0;
  Millis drain_deadline_ms = 0;
  std::uint64_t pending() const { return out.size() - out_off; }
};

struct EventLoop::Listener {
  std::uint64_t key = 0;
  int fd = -1;
  ActorHost* host = nullptr;
  ListenerKind kind = ListenerKind::data;
};

// ---- ActorHost ----

ActorHost::ActorHost(EventLoop& loop, HostOptions options) : loop_(loop), options_(std::move(options)) {}

ActorHost::~ActorHost() = default;

void ActorHost::attach(Actor& actor) {
  actor_ = &actor;
  next_tick_ms_ = monotonic_ms() + options_.tick_period_ms;
}

Result<std::uint16_t> ActorHost::listen(ListenerKind kind, const std::vector<std::string>& addresses,
                                        std::uint16_t port) {
  std::vector<std::uint64_t> opened;
  std::uint16_t bound_port = port;
  auto rollback = [&] {
    for (std::uint64_t key : opened) {
      auto it = loop_.listeners_.find(key);
      if (it != loop_.listeners_.end()) {
        ::close(it->second->fd);
        loop_.listeners_.erase(it);
      }
    }
  };
  for (const std::string& spec : addresses) {
    bool optional = !spec.empty() && spec[0] == '-';
    std::string addr = optional ? spec.substr(1) : spec;
    bool v6 = addr.find(':') != std::string::npos;
    const char* node = nullptr;
    if (addr != "*" && addr != "::*") node = addr.c_str();
    auto fail = [&](const std::string& what) -> Result<std::uint16_t> {
      std::string msg = fmt::format("Could not create server TCP listening socket {}:{}: {}", addr, bound_port, what);
      rollback();
      return make_error(Errc::io, msg);
    };
    addrinfo hints{};
    hints.ai_family = v6 ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* res = nullptr;
    std::string port_str = std::to_string(bound_port);
    int gai = getaddrinfo(node, port_str.c_str(), &hints, &res);
    if (gai != 0 || res == nullptr) {
      if (res != nullptr) freeaddrinfo(res);
      if (optional) continue;
      return fail(gai_strerror(gai));
    }
    int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      int err = errno;
      freeaddrinfo(res);
      if (err == EAFNOSUPPORT || err == EPROTONOSUPPORT || err == ESOCKTNOSUPPORT || err == EPFNOSUPPORT) continue;
      return fail("socket: " + errno_text(err));
    }
    set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (res->ai_family == AF_INET6) set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
      int err = errno;
      freeaddrinfo(res);
      ::close(fd);
      if (err == EADDRNOTAVAIL && optional) continue;
      if (err == EAFNOSUPPORT) continue;
      return fail("bind: " + errno_text(err));
    }
    freeaddrinfo(res);
    if (::listen(fd, options_.listen_backlog) != 0) {
      int err = errno;
      ::close(fd);
      return fail("listen: " + errno_text(err));
    }
    if (bound_port == 0) {
      sockaddr_storage ss{};
      socklen_t len = sizeof(ss);
      if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) bound_port = endpoint_of(ss).port;
    }
    auto l = std::make_unique<EventLoop::Listener>();
    l->key = kKeyListener | loop_.next_listener_id_++;
    l->fd = fd;
    l->host = this;
    l->kind = kind;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = l->key;
    if (epoll_ctl(loop_.epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      int err = errno;
      ::close(fd);
      return fail("epoll_ctl: " + errno_text(err));
    }
    opened.push_back(l->key);
    listener_keys_.push_back(l->key);
    loop_.listeners_.emplace(l->key, std::move(l));
  }
  return bound_port;
}

void ActorHost::close_listeners() {
  for (std::uint64_t key : listener_keys_) {
    auto it = loop_.listeners_.find(key);
    if (it == loop_.listeners_.end()) continue;
    ::close(it->second->fd);
    loop_.listeners_.erase(it);
  }
  listener_keys_.clear();
}

void ActorHost::set_output_limit(ConnId conn, const OutputLimit& limit) {
  if (EventLoop::Conn* c = loop_.find_live_conn(*this, conn)) {
    c->limit = limit;
    c->soft_since_ms = 0;
  }
}

ConnId ActorHost::connect(const Endpoint& to) { return do_connect(to, true); }

ConnId ActorHost::connect_with_nagle(const Endpoint& to) { return do_connect(to, false); }

ConnId ActorHost::do_connect(const Endpoint& to, bool nodelay) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int fd = -1;
  CloseReason failure = CloseReason::local_error;  // an address we cannot resolve is our problem
  if (resolve(to, ss, len)) {
    fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) failure = reason_for_errno(errno);
  }
  if (fd < 0) {
    // Report the failure later, as an event (never inside the caller's stack).
    ConnId id = loop_.new_conn(*this, -1, false, ListenerKind::bus);
    loop_.fail_conn(*loop_.find_conn(id), failure);
    return id;
  }
  if (nodelay) set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  set_keepalive(fd, options_.tcp_keepalive_s);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  if (rc != 0 && errno != EINPROGRESS) {
    int err = errno;
    ::close(fd);
    ConnId id = loop_.new_conn(*this, -1, false, ListenerKind::bus);
    loop_.fail_conn(*loop_.find_conn(id), reason_for_errno(err));
    return id;
  }
  ConnId id = loop_.new_conn(*this, fd, false, ListenerKind::bus);
  EventLoop::Conn* c = loop_.find_conn(id);
  c->connecting = true;
  // Even an immediate success is reported through EPOLLOUT, so on_connected is never re-entrant.
  loop_.update_interest(*c, true);
  return id;
}

void ActorHost::send(ConnId conn, std::string&& bytes) {
  EventLoop::Conn* c = loop_.find_live_conn(*this, conn);
  if (c == nullptr || bytes.empty()) return;
  if (c->pending() == 0) {
    // Swap instead of copy: the caller gets our (empty) buffer and its capacity back.
    c->out.clear();
    c->out_off = 0;
    c->out.swap(bytes);
    bytes.clear();
  } else {
    c->out.append(bytes);
  }
  if (!c->connecting) loop_.mark_for_flush(*c);
  if (c->limit.enabled()) loop_.check_output_limit(*c, monotonic_ms());
}

void ActorHost::close(ConnId conn) {
  EventLoop::Conn* c = loop_.find_conn(conn);
  if (c == nullptr || c->host != this || c->actor_closed) return;
  if (c->dead || c->connecting || c->pending() == 0) {
    loop_.destroy_conn(conn);  // a queued on_closed for it is dropped with it
    return;
  }
  // Output pending (e.g. an error reply before closing): drain it first, silently.
  c->actor_closed = true;
  if (c->counted) {
    c->counted = false;
    --live_conns_;
  }
  c->drain_deadline_ms = monotonic_ms() + kDrainTimeoutMs;
  loop_.closing_.push_back(conn);
  loop_.mark_for_flush(*c);
}

void ActorHost::abort(ConnId conn) {
  EventLoop::Conn* c = loop_.find_conn(conn);
  if (c == nullptr || c->host != this) return;
  loop_.destroy_conn(conn);  // unsent output is dropped with the socket
}

Endpoint ActorHost::local_address(ConnId conn) const {
  EventLoop::Conn* c = loop_.find_live_conn(const_cast<ActorHost&>(*this), conn);
  if (c == nullptr || c->fd < 0) return {};
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(c->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return endpoint_of(ss);
}

Endpoint ActorHost::peer_address(ConnId conn) const {
  EventLoop::Conn* c = loop_.find_live_conn(const_cast<ActorHost&>(*this), conn);
  if (c == nullptr || c->fd < 0) return {};
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getpeername(c->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return endpoint_of(ss);
}

std::uint64_t ActorHost::pending_bytes(ConnId conn) const {
  EventLoop::Conn* c = loop_.find_live_conn(const_cast<ActorHost&>(*this), conn);
  return c == nullptr ? 0 : c->pending();
}

// ---- EventLoop ----

EventLoop::EventLoop() : read_buf_(kReadChunk) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) error_ = "epoll_create1: " + errno_text(errno);
}

EventLoop::~EventLoop() {
  for (auto& [id, c] : conns_)
    if (c->fd >= 0) ::close(c->fd);
  conns_.clear();
  for (auto& [key, l] : listeners_) ::close(l->fd);
  listeners_.clear();
  if (signal_fd_ >= 0) ::close(signal_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

ActorHost& EventLoop::add_host(HostOptions options) {
  hosts_.push_back(std::make_unique<ActorHost>(*this, std::move(options)));
  return *hosts_.back();
}

ActorHost& EventLoop::add_actor(Actor& actor, HostOptions options) {
  ActorHost& h = add_host(std::move(options));
  h.attach(actor);
  return h;
}

ActorHost* EventLoop::host_of(const Actor& actor) const {
  for (const auto& h : hosts_)
    if (h->actor_ == &actor) return h.get();
  return nullptr;
}

Result<std::uint16_t> EventLoop::listen(Actor& actor, ListenerKind kind, const std::vector<std::string>& addresses,
                                        std::uint16_t port) {
  ActorHost* h = host_of(actor);
  if (h == nullptr) return make_error(Errc::state, "listen: the actor is not hosted by this loop");
  return h->listen(kind, addresses, port);
}

void EventLoop::defer(std::function<void()> task) { deferred_.push_back(std::move(task)); }

bool EventLoop::on_signal(int signo, std::function<void(int)> handler) {
  if (!ok()) return false;
  sigset_t mask;
  sigemptyset(&mask);
  for (const auto& [s, h] : signal_handlers_) sigaddset(&mask, s);
  sigaddset(&mask, signo);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return false;
  int fd = signalfd(signal_fd_, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return false;
  if (signal_fd_ < 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kKeySignal;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      return false;
    }
    signal_fd_ = fd;
  }
  signal_handlers_[signo] = std::move(handler);
  return true;
}

EventLoop::Conn* EventLoop::find_conn(ConnId id) const {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

EventLoop::Conn* EventLoop::find_live_conn(ActorHost& host, ConnId id) const {
  Conn* c = find_conn(id);
  if (c == nullptr || c->host != &host || c->actor_closed || c->dead) return nullptr;
  return c;
}

ConnId EventLoop::new_conn(ActorHost& host, int fd, bool accepted, ListenerKind kind) {
  auto c = std::make_unique<Conn>();
  c->id = next_conn_id_++;
  c->fd = fd;
  c->host = &host;
  c->accepted = accepted;
  c->kind = kind;
  if (fd >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c->id;
    (void)epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  ++host.live_conns_;
  ConnId id = c->id;
  conns_.emplace(id, std::move(c));
  return id;
}

void EventLoop::update_interest(Conn& c, bool want_write) {
  if (c.fd < 0 || c.want_write == want_write) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
  ev.data.u64 = c.id;
  (void)epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.want_write = want_write;
}

void EventLoop::mark_for_flush(Conn& c) {
  if (c.queued_flush) return;
  c.queued_flush = true;
  flush_list_.push_back(c.id);
}

void EventLoop::fail_conn(Conn& c, CloseReason reason) {
  if (c.actor_closed) {
    destroy_conn(c.id);
    return;
  }
  if (c.dead) return;
  if (c.fd >= 0) {
    ::close(c.fd);  // also removes it from the epoll set
    c.fd = -1;
  }
  c.dead = true;
  c.want_write = false;
  std::string().swap(c.out);
  c.out_off = 0;
  if (c.counted) {
    c.counted = false;
    --c.host->live_conns_;
  }
  pending_.push_back(Pending{Pending::Kind::closed, c.host, c.id, reason});
}

void EventLoop::destroy_conn(ConnId id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  if (c.fd >= 0) ::close(c.fd);
  if (c.counted) --c.host->live_conns_;
  conns_.erase(it);
}

void EventLoop::logf_warning(const std::string& message) {
  if (log_ != nullptr) log_->log(LogLevel::warning, message);
}

void EventLoop::check_output_limit(Conn& c, Millis now_ms) {
  const std::uint64_t used = c.pending();
  bool hard = c.limit.hard_bytes != 0 && used >= c.limit.hard_bytes;
  bool soft = false;
  if (c.limit.soft_bytes != 0 && used >= c.limit.soft_bytes) {
    if (c.soft_since_ms == 0) {
      c.soft_since_ms = now_ms;  // first time over the soft limit: start the clock
    } else if (now_ms - c.soft_since_ms > c.limit.soft_seconds * 1000) {
      soft = true;
    }
  } else {
    c.soft_since_ms = 0;
  }
  if (!hard && !soft) return;
  Endpoint peer;
  if (c.fd >= 0) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getpeername(c.fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) peer = endpoint_of(ss);
  }
  logf_warning(
      fmt::format("Client id={} addr={}:{} omem={} scheduled to be closed ASAP for overcoming of output "
                  "buffer limits.",
                  c.id, peer.ip, peer.port, used));
  fail_conn(c, CloseReason::local_error);
}

bool EventLoop::write_out(Conn& c) {
  while (c.pending() > 0) {
    std::size_t want = c.pending();
    ssize_t n = ::send(c.fd, c.out.data() + c.out_off, want, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<std::size_t>(n);
      if (static_cast<std::size_t>(n) < want) break;  // the socket buffer is full: wait for EPOLLOUT
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    int err = n < 0 ? errno : EPIPE;
    fail_conn(c, reason_for_errno(err));
    return false;
  }
  if (c.pending() == 0) {
    c.out.clear();
    c.out_off = 0;
    if (c.out.capacity() > kShrinkAbove) std::string().swap(c.out);
    c.soft_since_ms = 0;
    if (c.actor_closed) {
      destroy_conn(c.id);
      return false;
    }
    update_interest(c, false);
  } else {
    if (c.out_off >= kCompactAbove && c.out_off * 2 >= c.out.size()) {
      c.out.erase(0, c.out_off);
      c.out_off = 0;
    }
    update_interest(c, true);
  }
  return true;
}

void EventLoop::flush() {
  if (flush_list_.empty()) return;
  std::vector<ConnId> list;
  list.swap(flush_list_);
  // Two passes: connections accepted on a data listener (client replies, a primary's replication
  // stream) first, then everything else (cluster bus links, outgoing connections). Redis writes
  // client replies in beforeSleep (handleClientsWithPendingWrites) while cluster bus output waits
  // for the link's write handler, i.e. the next event-loop iteration: a command that both replies
  // and broadcasts (CLUSTER SETSLOT NODE closing an import bumps the epoch and broadcasts a PONG)
  // reaches its client before the other nodes hear the PONG. Writing the PONG first lets it overtake
  // redis-cli's next CLUSTER SETSLOT on the other primaries, where it rebinds the slot through
  // clusterUpdateSlotsConfigWith and costs an fsynced nodes.conf save per moved slot.
  for (int pass = 0; pass < 2; ++pass) {
    for (ConnId id : list) {
      Conn* c = find_conn(id);
      if (c == nullptr || !c->queued_flush) continue;
      const bool client_output = c->accepted && c->kind == ListenerKind::data;
      if (client_output != (pass == 0)) continue;
      c->queued_flush = false;
      if (c->fd < 0 || c->connecting || c->dead) continue;
      write_out(*c);
    }
  }
  // Keep the vector's capacity for the next iteration.
  list.clear();
  if (flush_list_.empty()) flush_list_.swap(list);
}

void EventLoop::run_deferred() {
  while (!deferred_.empty()) {
    std::vector<std::function<void()>> tasks;
    tasks.swap(deferred_);
    for (auto& t : tasks) t();
  }
}

bool EventLoop::after_delivery(Pred pred) {
  delivering_ = false;
  run_deferred();
  return pred != nullptr && (*pred)();
}

bool EventLoop::deliver_pending(Pred pred, bool& delivered) {
  while (!pending_.empty()) {
    Pending p = pending_.front();
    pending_.pop_front();
    Conn* c = find_conn(p.conn);
    if (c == nullptr || c->actor_closed) continue;  // the actor closed it meanwhile
    destroy_conn(p.conn);
    if (p.host->actor_ == nullptr) continue;
    delivering_ = true;
    p.host->actor_->on_closed(p.conn, p.reason);
    delivered = true;
    if (after_delivery(pred)) return true;
  }
  return false;
}

bool EventLoop::run_ticks(Pred pred, bool& delivered) {
  Millis now = monotonic_ms();
  bool any = false;
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    ActorHost& h = *hosts_[i];
    if (h.actor_ == nullptr || h.options_.tick_period_ms <= 0 || now < h.next_tick_ms_) continue;
    h.next_tick_ms_ += h.options_.tick_period_ms;
    if (h.next_tick_ms_ <= now) h.next_tick_ms_ = now + h.options_.tick_period_ms;  // we were late: no burst
    any = true;
    delivering_ = true;
    h.actor_->on_tick();
    delivered = true;
    if (after_delivery(pred)) return true;
  }
  if (any) {
    // Housekeeping at tick rate: soft output limits, connections draining for too long.
    for (auto& [id, c] : conns_)
      if (c->limit.soft_bytes != 0 && !c->dead && !c->actor_closed && c->pending() > 0) check_output_limit(*c, now);
    std::vector<ConnId> still;
    for (ConnId id : closing_) {
      Conn* c = find_conn(id);
      if (c == nullptr) continue;
      if (now >= c->drain_deadline_ms) {
        destroy_conn(id);
      } else {
        still.push_back(id);
      }
    }
    closing_.swap(still);
  }
  return false;
}

bool EventLoop::handle_accept(Listener& l, Pred pred, bool& delivered) {
  ActorHost& host = *l.host;
  const std::uint64_t key = l.key;
  for (int i = 0; i < kMaxAcceptsPerCall; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int fd = accept4(l.fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        logf_warning(fmt::format("Accepting client connection: accept: {}", errno_text(errno)));
      return false;
    }
    ++stat_accepted_;
    set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    set_keepalive(fd, host.options_.tcp_keepalive_s);
    Endpoint peer = endpoint_of(ss);
    if (host.actor_ == nullptr) {
      ::close(fd);
      continue;
    }
    if (host.accept_filter_) {
      std::string refusal = host.accept_filter_(l.kind, peer);
      if (!refusal.empty()) {
        (void)::send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(fd);
        ++stat_rejected_;
        continue;
      }
    }
    ConnId id = new_conn(host, fd, true, l.kind);
    if (l.kind == ListenerKind::data) find_conn(id)->limit = host.options_.data_output_limit;
    delivering_ = true;
    host.actor_->on_accept(l.kind, id, peer);
    delivered = true;
    if (after_delivery(pred)) return true;
    if (listeners_.find(key) == listeners_.end()) return false;  // the handler closed the listener
  }
  return false;
}

bool EventLoop::handle_readable(Conn& conn, Pred pred, bool& delivered) {
  const ConnId id = conn.id;
  std::size_t total = 0;
  while (true) {
    Conn* c = find_conn(id);
    if (c == nullptr || c->fd < 0) return false;
    ssize_t n = ::read(c->fd, read_buf_.data(), read_buf_.size());
    if (n > 0) {
      total += static_cast<std::size_t>(n);
      if (!c->actor_closed && c->host->actor_ != nullptr) {
        Actor* actor = c->host->actor_;
        delivering_ = true;
        actor->on_bytes(id, std::string_view(read_buf_.data(), static_cast<std::size_t>(n)));
        delivered = true;
        if (after_delivery(pred)) return true;
      }
      if (static_cast<std::size_t>(n) < read_buf_.size() || total >= kReadCapPerEvent) return false;
      continue;
    }
    if (n == 0) {
      fail_conn(*c, CloseReason::peer_closed);
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    fail_conn(*c, reason_for_errno(errno));
    return false;
  }
}

void EventLoop::handle_connect_result(Conn& c) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    fail_conn(c, reason_for_errno(err));
    return;
  }
  c.connecting = false;
  update_interest(c, false);
  if (c.pending() > 0) mark_for_flush(c);  // bytes the actor sent before the connection completed
}

void EventLoop::handle_writable(Conn& c) {
  if (c.fd < 0 || c.dead) return;
  if (c.pending() > 0) write_out(c);
}

void EventLoop::handle_signals() {
  signalfd_siginfo info{};
  while (true) {
    ssize_t n = ::read(signal_fd_, &info, sizeof(info));
    if (n != static_cast<ssize_t>(sizeof(info))) return;
    int signo = static_cast<int>(info.ssi_signo);
    auto it = signal_handlers_.find(signo);
    if (it != signal_handlers_.end()) {
      auto handler = it->second;  // a copy: the handler may register other signals
      handler(signo);
      run_deferred();
    }
  }
}

bool EventLoop::handle_io(std::uint64_t key, std::uint32_t events, Pred pred, bool& delivered) {
  if ((key & kKeyMask) == kKeySignal) {
    handle_signals();
    return pred != nullptr && (*pred)();
  }
  if ((key & kKeyMask) == kKeyListener) {
    auto it = listeners_.find(key);
    if (it == listeners_.end()) return false;
    return handle_accept(*it->second, pred, delivered);
  }
  Conn* c = find_conn(key);
  if (c == nullptr || c->fd < 0) return false;
  if (c->connecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return false;
    handle_connect_result(*c);
    c = find_conn(key);
    if (c == nullptr || c->dead || c->connecting) return false;
    if (c->actor_closed || c->host->actor_ == nullptr) return false;
    delivering_ = true;
    c->host->actor_->on_connected(key);
    delivered = true;
    return after_delivery(pred);
  }
  if ((events & EPOLLOUT) != 0) {
    handle_writable(*c);
    c = find_conn(key);
    if (c == nullptr || c->fd < 0) return false;
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) return handle_readable(*c, pred, delivered);
  return false;
}

bool EventLoop::step(Millis timeout_ms, Pred pred, bool& delivered) {
  SLOTLAB_ASSERT_MSG(!delivering_, "EventLoop run from inside an actor's event handler");
  run_deferred();
  flush();
  if (deliver_pending(pred, delivered)) {
    flush();
    return true;
  }
  if (stopping_) return false;

  Millis wait = std::max<Millis>(0, timeout_ms);
  if (!pending_.empty() || !deferred_.empty()) wait = 0;
  Millis now = monotonic_ms();
  for (const auto& h : hosts_)
    if (h->actor_ != nullptr && h->options_.tick_period_ms > 0)
      wait = std::min(wait, std::max<Millis>(0, h->next_tick_ms_ - now));

  epoll_event events[kMaxEvents];
  int n = epoll_wait(epoll_fd_, events, kMaxEvents, static_cast<int>(std::min<Millis>(wait, 1'000'000)));
  bool done = false;
  for (int i = 0; i < n && !done; ++i) {
    done = handle_io(events[i].data.u64, events[i].events, pred, delivered);
    // Level-triggered: events not handled because pred() held are reported again next time.
  }
  if (!done) done = deliver_pending(pred, delivered);
  if (!done) done = run_ticks(pred, delivered);
  if (!done) done = deliver_pending(pred, delivered);
  flush();
  return done;
}

bool EventLoop::run_once(Millis timeout_ms) {
  bool delivered = false;
  step(timeout_ms, nullptr, delivered);
  return delivered;
}

bool EventLoop::run_until(const std::function<bool()>& pred, Millis deadline_ms) {
  if (pred()) return true;
  while (!stopping_) {
    Millis now = monotonic_ms();
    if (now >= deadline_ms) break;
    bool delivered = false;
    if (step(deadline_ms - now, &pred, delivered)) return true;
    if (!delivered && pred()) return true;  // a signal handler or deferred task may have made it true
  }
  return pred();
}

void EventLoop::run_forever() {
  while (!stopping_) {
    bool delivered = false;
    step(1000, nullptr, delivered);
  }
  flush();
}

}  // namespace slotlab::daemon
