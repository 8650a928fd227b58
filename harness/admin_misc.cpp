// redis-cli --cluster info, call and set-timeout.
//  - info (clusterManagerCommandInfo): load, then DBSIZE on every primary: keys, slots and
//    replicas per primary, and the totals.
//  - call (clusterManagerCommandCall, redis-cli.c L7251): load, then the command on every loaded
//    node in order (only primaries / only replicas on request); each answer is printed as
//    "ip:port: <raw reply>", a node that does not answer as "ip:port: Failed!".
//  - set-timeout (clusterManagerCommandSetTimeout, L7038): refuses less than 100 ms; load, then
//    CONFIG SET cluster-node-timeout <ms> and CONFIG REWRITE on every node. A node's error is
//    printed and counted, never fatal ("N OK, M ERR").
#include <fmt/format.h>

#include "harness/admin.hpp"
#include "harness/admin_internal.hpp"

namespace slotlab::harness {

using namespace admin_detail;

namespace {

// cliFormatReplyRaw: strings as they are, integers in decimal, errors with a newline, nil as
// nothing, array elements one per line.
std::string format_raw(const resp::Value& v) {
  switch (v.type) {
    case resp::Type::nil:
    case resp::Type::nil_array:
      return {};
    case resp::Type::error:
      return v.str + "\n";
    case resp::Type::integer:
      return std::to_string(v.integer);
    case resp::Type::array: {
      std::string out;
      for (std::size_t i = 0; i < v.elements.size(); ++i) {
        if (i > 0) out += "\n";
        out += format_raw(v.elements[i]);
      }
      return out;
    }
    default:
      return v.str;
  }
}

void say_lines(AdminContext& ctx, const std::string& text) {
  std::size_t start = 0;
  while (true) {
    std::size_t nl = text.find('\n', start);
    ctx.say(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
}

}  // namespace

Result<InfoReport> cluster_info(AdminContext& ctx, const Endpoint& entry) {
  auto topo = load_cluster(ctx, entry);
  if (!topo) return topo.error();
  return show_cluster_info(ctx, *topo);
}

Result<std::vector<NodeReply>> cluster_call(AdminContext& ctx, const Endpoint& entry, const Argv& argv,
                                            const CallOptions& options) {
  if (argv.empty()) return make_error(Errc::invalid_argument, "call: no command given");
  auto topo = load_cluster(ctx, entry);
  if (!topo) return topo.error();
  ctx.say(">>> Calling " + join(argv, " "));
  std::vector<NodeReply> out;
  for (const AdminNode& n : topo->nodes) {
    if (options.only_masters && n.replica) continue;
    if (options.only_replicas && !n.replica) continue;
    NodeReply r;
    r.id = n.id;
    r.endpoint = n.endpoint;
    auto reply = ctx.pool.call(n.endpoint, argv, ctx.command_timeout_ms);
    if (!reply) {
      r.failure = reply.error().message;
      ctx.say(fmt::format("{}: Failed!", n.addr()));
    } else {
      r.answered = true;
      r.reply = std::move(*reply);
      std::string text = format_raw(r.reply);
      if (!text.empty() && text.back() == '\n') text.pop_back();
      say_lines(ctx, fmt::format("{}: {}", n.addr(), text));
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<SetTimeoutReport> set_timeout(AdminContext& ctx, const Endpoint& entry, Millis timeout_ms) {
  if (timeout_ms < 100) {
    std::string msg = "Setting a node timeout of less than 100 milliseconds is a bad idea.";
    ctx.say(msg);
    return make_error(Errc::invalid_argument, msg);
  }
  auto topo = load_cluster(ctx, entry);
  if (!topo) return topo.error();
  SetTimeoutReport report;
  ctx.say(">>> Reconfiguring node timeout in every cluster node...");
  for (const AdminNode& n : topo->nodes) {
    std::string err;
    for (const Argv& argv : {Argv{"CONFIG", "SET", "cluster-node-timeout", std::to_string(timeout_ms)}, Argv{"CONFIG", "REWRITE"}}) {
      auto r = send(ctx, n.endpoint, argv);
      if (!r) {
        err = r.error().message;
      } else if (r->is_error()) {
        err = r->str;
      }
      if (!err.empty()) break;
    }
    if (!err.empty()) {
      ctx.say(fmt::format("ERR setting node-timeout for {}: {}", n.addr(), err));
      report.errors.push_back(fmt::format("{}: {}", n.addr(), err));
      ++report.err_count;
      continue;
    }
    ctx.say(fmt::format("*** New timeout set for {}", n.addr()));
    ++report.ok_count;
  }
  ctx.say(fmt::format(">>> New node timeout set. {} OK, {} ERR.", report.ok_count, report.err_count));
  return report;
}

}  // namespace slotlab::harness
