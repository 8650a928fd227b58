// The HTML run report: everything is computed here from the RunResult (the nodes' timeline, the
// steps, the client operations) and drawn as inline SVG, so the file opens anywhere, offline.
#include "harness/report_html.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

namespace slotlab::harness {

namespace {

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}


// Node names in the order n1, n2, ..., n10 (not lexicographic).
bool node_less(const std::string& a, const std::string& b) {
  auto num = [](const std::string& s) {
    long v = 0;
    for (std::size_t i = 1; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  if (a.size() > 1 && b.size() > 1 && a[0] == 'n' && b[0] == 'n') return num(a) != num(b) ? num(a) < num(b) : a < b;
  return a < b;
}

// ---- the model of the lanes ------------------------------------------------------------------

enum class Role { primary, replica, down, out };

struct RoleSeg {
  Millis t0, t1;
  Role role;
  std::string of;  // replica: its primary
};
struct FlagSeg {
  Millis t0, t1;
  int pfail = 0, fail = 0;
  std::string who;  // the observers
};
struct Point {
  Millis t;
  std::int64_t v;
};
struct NodeLane {
  std::string name;
  std::vector<RoleSeg> roles;
  std::vector<FlagSeg> flags;
  std::vector<Point> slots;   // slots owned, at each change
  std::vector<Point> epochs;  // configEpoch, at each change
};

struct Bucket {
  std::size_t ok = 0, failed = 0, unknown = 0;
};

struct Model {
  Millis t_end = 0;
  std::vector<NodeLane> lanes;
  Millis bucket_ms = 1000;
  std::vector<Bucket> buckets;
};

Model build_model(const RunResult& r) {
  Model m;
  m.t_end = std::max<Millis>(r.world_time_ms, 1);
  std::set<std::string, decltype(&node_less)> names(&node_less);
  for (const auto& e : r.timeline) names.insert(e.node);
  for (const auto& s : r.steps)
    if (!s.node.empty()) names.insert(s.node);

  // Membership from the steps (create: the nodes it used; del-node / add-node).
  struct Mem {
    Millis t;
    std::string node;
    bool in;
  };
  std::vector<Mem> mem;
  std::set<std::string> created;
  for (const auto& s : r.steps) {
    if (!s.ok) continue;
    Millis t = s.start_ms + s.duration_ms;
    if (s.action == "del-node") mem.push_back({t, s.node, false});
    if (s.action == "add-node") mem.push_back({t, s.node, true});
  }
  // Nodes never in any create/add are "out" (spares) until added: a spare starts out. We know the
  // created nodes from the liveness analysis' convention: every node that was not add-node'ed
  // before it appeared in a role change is treated as created.
  std::map<std::string, bool> first_mem_is_add;
  for (const auto& x : mem)
    if (!first_mem_is_add.count(x.node)) first_mem_is_add[x.node] = x.in;

  for (const auto& name : names) {
    NodeLane lane;
    lane.name = name;
    Role role = Role::down;
    std::string of;
    Role before_crash = Role::primary;
    std::string before_crash_of;
    bool member = !(first_mem_is_add.count(name) && first_mem_is_add[name]);  // spares start out
    Millis seg_start = 0;
    auto shown = [&]() { return role == Role::down ? Role::down : (member ? role : Role::out); };
    Role cur_shown = shown();
    std::string cur_of = of;
    auto change = [&](Millis t) {
      Role s = shown();
      if (s == cur_shown && of == cur_of) return;
      if (t > seg_start) lane.roles.push_back({seg_start, t, cur_shown, cur_of});
      seg_start = t;
      cur_shown = s;
      cur_of = of;
    };
    std::size_t mi = 0;
    std::vector<Mem> mine;
    for (const auto& x : mem)
      if (x.node == name) mine.push_back(x);
    std::map<std::string, std::pair<bool, bool>> views;  // observer -> (pfail, fail) about this node
    Millis flag_start = 0;
    int cur_p = 0, cur_f = 0;
    std::string cur_who;
    auto flag_change = [&](Millis t) {
      int p = 0, f = 0;
      std::string who;
      for (const auto& [obs, v] : views) {
        if (v.second) {
          ++f;
          who += (who.empty() ? "" : ", ") + obs + " FAIL";
        } else if (v.first) {
          ++p;
          who += (who.empty() ? "" : ", ") + obs + " PFAIL";
        }
      }
      if (p == cur_p && f == cur_f && who == cur_who) return;
      if ((cur_p > 0 || cur_f > 0) && t > flag_start) lane.flags.push_back({flag_start, t, cur_p, cur_f, cur_who});
      flag_start = t;
      cur_p = p;
      cur_f = f;
      cur_who = who;
    };
    for (const auto& e : r.timeline) {
      for (; mi < mine.size() && mine[mi].t <= e.t_ms; ++mi) {
        member = mine[mi].in;
        change(mine[mi].t);
      }
      if (e.node == name) {
        switch (e.kind) {
          case TraceKind::node_started:
            if (role == Role::down && !lane.roles.empty()) {
              role = before_crash;
              of = before_crash_of;
            } else if (role == Role::down) {
              role = Role::primary;
              of.clear();
            }
            break;
          case TraceKind::crashed:
            before_crash = role;
            before_crash_of = of;
            role = Role::down;
            break;
          case TraceKind::role_changed:
            if (e.about.empty()) {
              role = Role::primary;
              of.clear();
            } else {
              role = Role::replica;
              of = e.about;
            }
            break;
          case TraceKind::promoted:
            role = Role::primary;
            of.clear();
            break;
          case TraceKind::slots_changed:
            if (lane.slots.empty() || lane.slots.back().v != e.value) {
              if (!lane.slots.empty() && lane.slots.back().t == e.t_ms) lane.slots.back().v = e.value;
              else lane.slots.push_back({e.t_ms, e.value});
            }
            break;
          case TraceKind::config_epoch_changed:
            lane.epochs.push_back({e.t_ms, static_cast<std::int64_t>(e.epoch)});
            break;
          default:
            break;
        }
        change(e.t_ms);
      }
      // Views of the other nodes about this one.
      bool about_me = e.about == name && e.node != name;
      if (about_me) {
        auto& v = views[e.node];
        if (e.kind == TraceKind::pfail_marked) v.first = true;
        if (e.kind == TraceKind::pfail_cleared) v.first = false;
        if (e.kind == TraceKind::fail_marked) v = {false, true};
        if (e.kind == TraceKind::fail_cleared) v = {false, false};
        if (e.kind == TraceKind::node_removed) v = {false, false};
        flag_change(e.t_ms);
      }
      if (e.node != name && (e.kind == TraceKind::crashed || e.kind == TraceKind::node_started)) {
        auto it = views.find(e.node);  // a restarted observer has forgotten its flags
        if (it != views.end()) {
          it->second = {false, false};
          flag_change(e.t_ms);
        }
      }
    }
    for (; mi < mine.size(); ++mi) {
      member = mine[mi].in;
      change(mine[mi].t);
    }
    if (m.t_end > seg_start) lane.roles.push_back({seg_start, m.t_end, cur_shown, cur_of});
    if ((cur_p > 0 || cur_f > 0) && m.t_end > flag_start) lane.flags.push_back({flag_start, m.t_end, cur_p, cur_f, cur_who});
    m.lanes.push_back(std::move(lane));
  }

  // Client operations per bucket (by the time they ended).
  static const Millis sizes[] = {100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 30000, 60000, 120000, 300000};
  m.bucket_ms = sizes[std::size(sizes) - 1];
  for (Millis s : sizes)
    if (m.t_end / s <= 160) {
      m.bucket_ms = s;
      break;
    }
  m.buckets.assign(static_cast<std::size_t>(m.t_end / m.bucket_ms + 1), Bucket{});
  for (const auto& op : r.client_ops) {
    auto b = static_cast<std::size_t>(std::clamp<Millis>(op.end_ms, 0, m.t_end) / m.bucket_ms);
    if (b >= m.buckets.size()) continue;
    if (op.outcome == 0) ++m.buckets[b].ok;
    else if (op.outcome == 1) ++m.buckets[b].failed;
    else ++m.buckets[b].unknown;
  }
  return m;
}

// ---- SVG drawing -----------------------------------------------------------------------------

constexpr double kLeft = 118;    // lane labels
constexpr double kWidth = 1500;  // whole SVG
constexpr double kRight = 16;

struct Axis {
  Millis t0, t1;
  double x(Millis t) const {
    double f = static_cast<double>(std::clamp(t, t0, t1) - t0) / static_cast<double>(std::max<Millis>(t1 - t0, 1));
    return kLeft + f * (kWidth - kLeft - kRight);
  }
  double w(Millis a, Millis b) const { return std::max(0.0, x(b) - x(a)); }
};

Millis nice_step(Millis span, int target_ticks) {
  static const Millis steps[] = {100, 200, 250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000};
  for (Millis s : steps)
    if (span / s <= target_ticks) return s;
  return 600000;
}

std::string fmt_secs(Millis t, Millis step) {
  if (step % 1000 == 0) return fmt::format("{}", t / 1000);
  if (step % 100 == 0) return fmt::format("{:.1f}", static_cast<double>(t) / 1000.0);
  return fmt::format("{:.2f}", static_cast<double>(t) / 1000.0);
}

const char* role_color(Role r) {
  switch (r) {
    case Role::primary: return "#2f6fb3";
    case Role::replica: return "#5fae5a";
    case Role::down: return "#3a3a3a";
    case Role::out: return "#d9d9d9";
  }
  return "#ccc";
}
const char* role_name(Role r) {
  switch (r) {
    case Role::primary: return "primary";
    case Role::replica: return "replica";
    case Role::down: return "down";
    case Role::out: return "not in the cluster";
  }
  return "?";
}

Millis zoom_bucket_ms(Millis span) {
  static const Millis sizes[] = {50, 100, 200, 250, 500, 1000, 2000, 5000};
  for (Millis z : sizes)
    if (span / z <= 120) return z;
  return 5000;
}

struct Marker {
  Millis t;
  std::string label;
  std::string color;
};

// Lanes (one group per node, id "lane-<node>"), the faults, the client lane and the time axis
// over [t0, t1]. `id_prefix` keeps ids unique when several timelines are on the page.
std::string timeline_svg(const RunResult& r, const Model& m, Millis t0, Millis t1, const std::string& id_prefix,
                         const std::vector<Marker>& markers) {
  Axis ax{t0, t1};
  const int marker_rows = markers.empty() ? 0 : (t0 == 0 && t1 == m.t_end ? 1 : 7);
  const double markers_top = 4, steps_top = markers_top + 13.0 * marker_rows + 6, steps_h = 20;
  const double top = steps_top + steps_h + 10, lane_h = 54, role_h = 18, flag_h = 11, slots_h = 14;
  const double lanes_h = lane_h * static_cast<double>(m.lanes.size());
  const double client_top = top + lanes_h + 10, client_h = 70;
  const double height = client_top + client_h + 42;
  std::string s = fmt::format(
      "<svg xmlns='http://www.w3.org/2000/svg' class='timeline' id='{}timeline' width='{}' height='{:.0f}' "
      "viewBox='0 0 {} {:.0f}' font-family='DejaVu Sans, Arial, sans-serif' font-size='12'>\n",
      id_prefix, kWidth, height, kWidth, height);
  s += "<defs><pattern id='" + id_prefix + "hatch' width='6' height='6' patternUnits='userSpaceOnUse' patternTransform='rotate(45)'>"
       "<rect width='6' height='6' fill='#f6c6c6' fill-opacity='0.55'/><line x1='0' y1='0' x2='0' y2='6' stroke='#d04040' "
       "stroke-width='2' stroke-opacity='0.5'/></pattern></defs>\n";
  // Time grid and axis (seconds).
  Millis step = nice_step(t1 - t0, 16);
  Millis first = (t0 + step - 1) / step * step;
  for (Millis t = first; t <= t1; t += step) {
    double x = ax.x(t);
    s += fmt::format("<line x1='{:.1f}' y1='{:.1f}' x2='{:.1f}' y2='{:.0f}' stroke='#e4e4e4'/>", x, steps_top, x, client_top + client_h);
    s += fmt::format("<text x='{:.1f}' y='{:.0f}' text-anchor='middle' fill='#333'>{}</text>\n", x, client_top + client_h + 16,
                     fmt_secs(t, step));
  }
  s += fmt::format("<text x='{:.0f}' y='{:.0f}' text-anchor='middle' fill='#333' font-weight='bold'>simulated time (s)</text>\n",
                   (kLeft + kWidth) / 2, client_top + client_h + 34);
  if (r.world != "sim") s += "";  // the axis is world time either way

  // The steps, alternately shaded, with their action where it fits.
  s += fmt::format("<g id='{}steps'><text x='8' y='{:.1f}' font-weight='bold' font-size='13'>steps</text>", id_prefix, steps_top + 14);
  for (const StepOutcome& st : r.steps) {
    Millis a = st.start_ms, b = st.start_ms + st.duration_ms;
    if (b < t0 || a > t1) continue;
    double x = ax.x(a), w = std::max(ax.w(a, b), 1.0);
    std::string name = st.action + (st.node.empty() ? "" : " " + st.node);
    s += fmt::format("<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{}' fill='{}' stroke='#fff' stroke-width='0.5'><title>step {}: "
                     "{}{} — {} ms to {} ms{}</title></rect>",
                     x, steps_top, w, steps_h, !st.ok ? "#f3b0b0" : (st.index % 2 == 0 ? "#dde3ea" : "#eef1f5"), st.index, esc(name),
                     st.label.empty() ? "" : " (" + esc(st.label) + ")", a, b, st.detail.empty() ? "" : ": " + esc(st.detail));
    if (w > 6.2 * static_cast<double>(name.size()) + 4)
      s += fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='10' fill='#223'>{}</text>", x + 2, steps_top + 14, esc(name));
    else if (w > 6.2 * static_cast<double>(st.action.size()) + 4)
      s += fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='10' fill='#223'>{}</text>", x + 2, steps_top + 14, esc(st.action));
  }
  s += "</g>\n";

  // Faults: shaded over the lanes of the nodes they hit (a partition: its minority side), with a label.
  for (const FaultSpan& f : r.faults) {
    Millis a = f.start_ms, b = f.end_ms ? *f.end_ms : m.t_end;
    if (b < t0 || a > t1) continue;
    for (std::size_t i = 0; i < m.lanes.size(); ++i) {
      bool all = std::find(f.nodes.begin(), f.nodes.end(), "*") != f.nodes.end();
      if (!all && std::find(f.nodes.begin(), f.nodes.end(), m.lanes[i].name) == f.nodes.end()) continue;
      double y = top + lane_h * static_cast<double>(i);
      s += fmt::format("<rect class='fault' x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='url(#{}hatch)' "
                       "stroke='#c03030' stroke-width='1'><title>{} from {} ms to {}</title></rect>",
                       ax.x(a), y, std::max(ax.w(a, b), 2.0), lane_h - 4, id_prefix, esc(f.label), f.start_ms,
                       f.end_ms ? fmt::format("{} ms", *f.end_ms) : std::string("the end"));
      s += fmt::format("<text x='{:.1f}' y='{:.1f}' fill='#a01010' font-weight='bold' font-size='11'>{}</text>\n", ax.x(a) + 3,
                       y + lane_h - 8, esc(f.kind));
    }
  }

  for (std::size_t i = 0; i < m.lanes.size(); ++i) {
    const NodeLane& L = m.lanes[i];
    double y = top + lane_h * static_cast<double>(i);
    s += fmt::format("<g class='lane' id='{}lane-{}'>\n", id_prefix, esc(L.name));
    if (i % 2 == 1)
      s += fmt::format("<rect x='0' y='{:.1f}' width='{}' height='{}' fill='#f7f7fa' fill-opacity='0.6'/>", y - 2, kLeft - 4, lane_h);
    s += fmt::format("<text x='8' y='{:.1f}' font-weight='bold' font-size='15'>{}</text>", y + 15, esc(L.name));
    s += fmt::format("<text x='8' y='{:.1f}' fill='#555' font-size='10'>role · epoch</text>", y + 28);
    s += fmt::format("<text x='8' y='{:.1f}' fill='#555' font-size='10'>flagged by others</text>", y + 39);
    s += fmt::format("<text x='8' y='{:.1f}' fill='#555' font-size='10'>slots owned</text>", y + 50);
    // Role bar.
    for (const RoleSeg& g : L.roles) {
      if (g.t1 < t0 || g.t0 > t1) continue;
      double x = ax.x(g.t0), w = ax.w(g.t0, g.t1);
      std::string title = fmt::format("{}: {}{} from {} ms to {} ms", L.name, role_name(g.role),
                                      g.role == Role::replica && !g.of.empty() ? " of " + g.of : "", g.t0, g.t1);
      s += fmt::format("<rect class='role role-{}' x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{}' fill='{}'><title>{}</title></rect>",
                       g.role == Role::out ? "out" : role_name(g.role), x, y, std::max(w, 0.8), role_h, role_color(g.role),
                       esc(title));
      std::string text = g.role == Role::replica && !g.of.empty() ? "replica of " + g.of : role_name(g.role);
      if (w > 7.0 * static_cast<double>(text.size()))
        s += fmt::format("<text x='{:.1f}' y='{:.1f}' fill='{}' font-size='11'>{}</text>", x + 4, y + 13,
                         g.role == Role::out ? "#444" : "#fff", esc(text));
      else if (w > 60 && g.role == Role::replica)
        s += fmt::format("<text x='{:.1f}' y='{:.1f}' fill='#fff' font-size='11'>→{}</text>", x + 3, y + 13, esc(g.of));
    }
    // configEpoch changes: diamonds on the role bar.
    double last_label_x = -100;
    for (const Point& p : L.epochs) {
      if (p.t < t0 || p.t > t1) continue;
      double x = ax.x(p.t);
      s += fmt::format("<path class='epoch' d='M{:.1f} {:.1f} l5 5 l-5 5 l-5 -5 z' fill='#f5b700' stroke='#7a5b00'>"
                       "<title>{}: configEpoch {} at {} ms</title></path>",
                       x, y + role_h / 2 - 5, esc(L.name), p.v, p.t);
      if (x - last_label_x > 34) {
        s += fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='10' fill='#7a5b00' text-anchor='middle'>e{}</text>", x,
                         y + role_h + 9, p.v);
        last_label_x = x;
      }
    }
    // PFAIL / FAIL as flagged by the other nodes.
    double fy = y + role_h + 11;
    s += fmt::format("<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{}' fill='#fafafa' stroke='#eee'/>", kLeft, fy,
                     kWidth - kLeft - kRight, flag_h);
    for (const FlagSeg& g : L.flags) {
      if (g.t1 < t0 || g.t0 > t1) continue;
      double x = ax.x(g.t0), w = std::max(ax.w(g.t0, g.t1), 1.5);
      const char* color = g.fail > 0 ? "#d62728" : "#ff9f1a";
      std::string text = g.fail > 0 ? fmt::format("FAIL×{}{}", g.fail, g.pfail ? fmt::format(" PFAIL×{}", g.pfail) : "")
                                    : fmt::format("PFAIL×{}", g.pfail);
      s += fmt::format("<rect class='flag' x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{}' fill='{}'><title>{} flagged "
                       "from {} ms to {} ms by: {}</title></rect>",
                       x, fy, w, flag_h, color, esc(L.name), g.t0, g.t1, esc(g.who));
      if (w > 7.0 * static_cast<double>(text.size()))
        s += fmt::format("<text x='{:.1f}' y='{:.1f}' fill='#fff' font-size='9'>{}</text>", x + 2, fy + 9, text);
    }
    // Slots owned: a step chart scaled to 16384, with the count written where it changes.
    double sy = fy + flag_h + 1;
    if (!L.slots.empty()) {
      std::string path;
      double px = -1;
      std::int64_t pv = 0;
      bool started = false;
      double last_text_x = -100;
      std::string texts;
      auto yv = [&](std::int64_t v) { return sy + slots_h - static_cast<double>(v) / 16384.0 * slots_h; };
      for (std::size_t k = 0; k < L.slots.size(); ++k) {
        const Point& p = L.slots[k];
        Millis tnext = k + 1 < L.slots.size() ? L.slots[k + 1].t : m.t_end;
        if (tnext < t0 || p.t > t1) continue;
        double x = ax.x(p.t);
        if (!started) {
          path += fmt::format("M{:.1f} {:.1f}", x, yv(p.v));
          started = true;
        } else if (x - px >= 0.5 || k + 1 == L.slots.size()) {
          path += fmt::format(" H{:.1f} V{:.1f}", x, yv(p.v));
        } else {
          continue;  // several changes within half a pixel: keep the first, the next visible one redraws
        }
        px = x;
        pv = p.v;
        // The count, where the chart is flat for long enough to read it.
        double xn = ax.x(tnext);
        if (xn - x > 40 && x - last_text_x > 40) {
          texts += fmt::format("<text x='{:.1f}' y='{:.1f}' font-size='10' fill='#333'>{}</text>", x + 2, sy + slots_h - 2, p.v);
          last_text_x = x;
        }
      }
      if (started) {
        path += fmt::format(" H{:.1f}", ax.x(std::min(t1, m.t_end)));
        s += fmt::format("<path class='slots' d='{}' fill='none' stroke='#6b4fa0' stroke-width='1.5'><title>{}: slots owned "
                         "(last {})</title></path>",
                         path, esc(L.name), pv);
        s += texts;
      }
    }
    s += "</g>\n";
  }

  // Client operations per bucket: ok (grey) and failed/unknown (red/orange), by the time they ended.
  s += fmt::format("<g id='{}client-errors'>", id_prefix);
  s += fmt::format("<text x='8' y='{:.1f}' font-weight='bold' font-size='13'>clients</text>", client_top + 16);
  s += fmt::format("<text x='8' y='{:.1f}' fill='#555' font-size='10'>ops / {} ms (log)</text>", client_top + 30,
                   t0 == 0 && t1 == m.t_end ? m.bucket_ms : zoom_bucket_ms(t1 - t0));
  s += fmt::format("<text x='8' y='{:.1f}' fill='#c0392b' font-size='10'>red: failed</text>", client_top + 42);
  s += fmt::format("<text x='8' y='{:.1f}' fill='#e67e22' font-size='10'>orange: unknown</text>", client_top + 54);
  // In a zoomed view, buckets are recomputed at a finer size.
  Millis bms = m.bucket_ms;
  std::vector<Bucket> buckets;
  if (t0 == 0 && t1 == m.t_end) {
    buckets = m.buckets;
  } else {
    bms = zoom_bucket_ms(t1 - t0);
    buckets.assign(static_cast<std::size_t>(m.t_end / bms + 1), Bucket{});
    for (const auto& op : r.client_ops) {
      auto b = static_cast<std::size_t>(std::clamp<Millis>(op.end_ms, 0, m.t_end) / bms);
      if (b >= buckets.size()) continue;
      if (op.outcome == 0) ++buckets[b].ok;
      else if (op.outcome == 1) ++buckets[b].failed;
      else ++buckets[b].unknown;
    }
  }
  std::size_t peak = 1;
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    Millis bt = static_cast<Millis>(b) * bms;
    if (bt + bms < t0 || bt > t1) continue;
    peak = std::max(peak, buckets[b].ok + buckets[b].failed + buckets[b].unknown);
  }
  s += fmt::format("<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{}' fill='#fcfcfc' stroke='#ddd'/>", kLeft, client_top,
                   kWidth - kLeft - kRight, client_h);
  for (std::size_t tick = 1; tick <= peak; tick *= 10) {
    double ty = client_top + client_h - std::log10(1.0 + static_cast<double>(tick)) / std::log10(1.0 + static_cast<double>(peak)) * (client_h - 4);
    s += fmt::format("<line x1='{:.1f}' y1='{:.1f}' x2='{:.1f}' y2='{:.1f}' stroke='#eee'/><text x='{:.1f}' y='{:.1f}' font-size='9' "
                     "fill='#777' text-anchor='end'>{}</text>",
                     kLeft, ty, kWidth - kRight, ty, kLeft - 3, ty + 3, tick);
  }
  if (r.client_ops.empty())
    s += fmt::format("<text x='{:.1f}' y='{:.1f}' fill='#777'>no client workload in this scenario</text>", kLeft + 10,
                     client_top + client_h / 2);
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    Millis bt = static_cast<Millis>(b) * bms;
    if (bt + bms < t0 || bt > t1) continue;
    const Bucket& k = buckets[b];
    std::size_t total = k.ok + k.failed + k.unknown;
    if (total == 0) continue;
    double x = ax.x(bt), w = std::max(ax.w(bt, bt + bms) - 0.6, 0.8);
    // Log scale: a bulk load and a trickle of writes (and a few errors) must all be visible.
    auto hs = [&](std::size_t n) { return std::log10(1.0 + static_cast<double>(n)) / std::log10(1.0 + static_cast<double>(peak)) * (client_h - 4); };
    auto h = [&](std::size_t n) { return n == 0 ? 0.0 : hs(k.ok + n) - hs(k.ok); };
    auto hok = hs(k.ok);
    double yb = client_top + client_h;
    std::string title = fmt::format("{}–{} ms: {} ok, {} failed, {} unknown", bt, bt + bms, k.ok, k.failed, k.unknown);
    s += fmt::format("<g><title>{}</title>", title);
    s += fmt::format("<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='#b8c2cc'/>", x, yb - hok, w, hok);
    double hf = k.failed > 0 ? std::max(h(k.failed), 3.0) : 0.0;
    if (k.failed > 0)
      s += fmt::format("<rect class='client-error' x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='#c0392b'/>", x,
                       yb - hok - hf, w, hf);
    if (k.unknown > 0)
      s += fmt::format("<rect class='client-error' x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='#e67e22'/>", x,
                       yb - hok - hf - std::max(h(k.unknown), 3.0), w, std::max(h(k.unknown), 3.0));
    s += "</g>";
  }
  s += "</g>\n";

  // Markers (failover stages in zoomed views).
  std::vector<double> row_end(static_cast<std::size_t>(marker_rows), -1e9);
  for (const Marker& mk : markers) {
    if (mk.t < t0 || mk.t > t1) continue;
    double x = ax.x(mk.t);
    double tw = 6.6 * static_cast<double>(mk.label.size()) + 8;
    bool flip = x + tw > kWidth - kRight;  // near the right edge: the label goes to the left
    double a = flip ? x - tw : x, b = flip ? x : x + tw;
    std::size_t row = 0;
    while (row + 1 < row_end.size() && row_end[row] > a) ++row;
    row_end[row] = b;
    double ly = markers_top + 12 + 13 * static_cast<double>(row);
    s += fmt::format("<line x1='{:.1f}' y1='{:.1f}' x2='{:.1f}' y2='{:.0f}' stroke='{}' stroke-dasharray='4 3' stroke-width='1.5'/>", x,
                     ly - 10, x, client_top + client_h, mk.color);
    s += fmt::format("<text x='{:.1f}' y='{:.1f}' fill='{}' font-size='11' font-weight='bold' text-anchor='{}'>{}</text>",
                     flip ? x - 3 : x + 3, ly, mk.color, flip ? "end" : "start", esc(mk.label));
  }
  s += "</svg>\n";
  return s;
}

std::string legend_html() {
  auto sw = [](const char* color, const char* text, const char* extra = "") {
    return fmt::format("<span class='sw'><svg width='22' height='12'><rect width='22' height='12' fill='{}' {}/></svg>{}</span>",
                       color, extra, text);
  };
  std::string s = "<div class='legend'>";
  s += sw("#2f6fb3", "primary");
  s += sw("#5fae5a", "replica");
  s += sw("#3a3a3a", "down (crashed / killed)");
  s += sw("#d9d9d9", "not in the cluster (before add-node, after del-node)");
  s += "<span class='sw'><svg width='14' height='12'><path d='M7 1 l5 5 l-5 5 l-5 -5 z' fill='#f5b700' stroke='#7a5b00'/></svg>"
       "configEpoch change (eN)</span>";
  s += sw("#ff9f1a", "PFAIL by N other nodes");
  s += sw("#d62728", "FAIL by N other nodes");
  s += "<span class='sw'><svg width='22' height='12'><path d='M0 11 H8 V3 H22' fill='none' stroke='#6b4fa0' stroke-width='2'/></svg>"
       "slots owned (0–16384)</span>";
  s += sw("#f6c6c6", "fault applied (crash, kill, pause, partition)", "stroke='#c03030'");
  s += sw("#b8c2cc", "client ops ok");
  s += sw("#c0392b", "client ops failed");
  s += sw("#e67e22", "unknown outcome");
  s += "</div>\n";
  return s;
}

struct Stage {
  const char* name;
  std::optional<Millis> at;
  const char* color;
};

std::vector<Stage> stages_of(const FailoverRecord& f) {
  return {{"first PFAIL", f.first_pfail_ms, "#ff9f1a"},
          {"FAIL quorum", f.fail_ms, "#d62728"},
          {"election start", f.election_start_ms, "#9467bd"},
          {"votes in", f.votes_ms, "#8c564b"},
          {"promotion", f.promotion_ms, "#2f6fb3"},
          {"every node agrees (state ok)", f.all_ok_ms, "#17becf"},
          {"clients stop seeing errors", f.clients_saw_errors ? f.clients_ok_ms : std::nullopt, "#5fae5a"}};
}

std::string failover_section(const RunResult& r, const Model& m) {
  std::string s = "<section id='failover-stages'><h2>Failovers: stage breakdown</h2>\n";
  if (r.failovers.empty()) return s + "<p>No primary crashed, was paused or was cut off in this run.</p></section>\n";
  s += "<p>Each failover from the fault (crash / pause / partition of a primary) to the clients being served again. Times "
       "are milliseconds after the fault; <em>every node agrees</em> is when every running node reports "
       "<code>cluster_state:ok</code> again, which requires every slot to be served by a primary that node does not consider "
       "FAIL, i.e. it has accepted the new owner.</p>\n";
  int k = 0;
  for (const FailoverRecord& f : r.failovers) {
    ++k;
    s += fmt::format("<h3>{} failed at {} ms{}</h3>\n", esc(f.failed_node), f.crash_at_ms,
                     f.promoted_node.empty() ? " — no replica was promoted"
                                             : fmt::format(" → {} promoted (configEpoch {}, {} vote(s))", esc(f.promoted_node),
                                                           f.new_config_epoch, f.votes));
    auto st = stages_of(f);
    s += "<table class='stages'><tr><th>stage</th><th>at (ms after the fault)</th><th>stage took (ms)</th></tr>\n";
    s += "<tr><td>fault</td><td>0</td><td></td></tr>\n";
    Millis prev = 0;
    Millis last = 0;
    for (const Stage& g : st) {
      std::string took = g.at ? fmt::format("{}", *g.at - prev) : "";
      if (g.at) {
        prev = std::max(prev, *g.at);
        last = std::max(last, *g.at);
      }
      std::string at = g.at ? fmt::format("{}", *g.at)
                            : (std::string(g.name) == "clients stop seeing errors" && !f.clients_saw_errors ? "no client errors" : "not observed");
      s += fmt::format("<tr><td><span class='dot' style='background:{}'></span>{}</td><td>{}</td><td>{}</td></tr>\n", g.color, g.name,
                       at, took);
    }
    s += "</table>\n";
    // The bar: each stage a segment, in proportion.
    if (last > 0) {
      const double bw = 1100, bx = 10;
      s += fmt::format("<svg class='stage-bar' width='{}' height='58' font-family='DejaVu Sans, Arial, sans-serif' font-size='11'>",
                       bw + 40);
      Millis p = 0;
      int i = 0;
      std::vector<std::pair<double, std::string>> bar_labels;
      for (const Stage& g : st) {
        if (!g.at || *g.at < p) continue;
        double x0 = bx + static_cast<double>(p) / static_cast<double>(last) * bw;
        double x1 = bx + static_cast<double>(*g.at) / static_cast<double>(last) * bw;
        s += fmt::format("<rect x='{:.1f}' y='6' width='{:.1f}' height='22' fill='{}'><title>{}: {} → {} ms</title></rect>", x0,
                         std::max(x1 - x0, 1.0), g.color, g.name, p, *g.at);
        if (x1 - x0 > 50)
          s += fmt::format("<text x='{:.1f}' y='21' fill='#fff' text-anchor='middle'>{} ms</text>", (x0 + x1) / 2, *g.at - p);
        bar_labels.push_back({x1, g.name});
        ++i;
        p = *g.at;
      }
      // Labels under the bar, each at its stage's end, on the first row where it does not overlap.
      std::vector<double> row_start(8, 1e9);
      std::string labels;
      int rows_used = 1;
      for (auto it = bar_labels.rbegin(); it != bar_labels.rend(); ++it) {
        double tw = 6.4 * static_cast<double>(it->second.size()) + 6;
        std::size_t row = 0;
        while (row + 1 < row_start.size() && row_start[row] < it->first) ++row;
        row_start[row] = it->first - tw;
        rows_used = std::max(rows_used, static_cast<int>(row) + 1);
        labels += fmt::format("<line x1='{:.1f}' y1='28' x2='{:.1f}' y2='{}' stroke='#999'/><text x='{:.1f}' y='{}' fill='#333' "
                              "text-anchor='end'>{}</text>",
                              it->first, it->first, 32 + 13 * static_cast<int>(row), it->first - 2, 42 + 13 * static_cast<int>(row),
                              esc(it->second));
      }
      s += labels;
      s += "</svg>\n";
      s = s.replace(s.rfind("height='58'"), 11, fmt::format("height='{}'", 48 + 13 * rows_used));
    }
    // A zoomed timeline around it.
    Millis z0 = std::max<Millis>(0, f.crash_at_ms - 1000);
    Millis z1 = std::min(m.t_end, f.crash_at_ms + last + 1500);
    std::vector<Marker> marks{{f.crash_at_ms, "fault", "#a01010"}};
    for (const Stage& g : st)
      if (g.at) marks.push_back({f.crash_at_ms + *g.at, g.name, g.color});
    s += fmt::format("<details open><summary>Timeline from {:.1f} s to {:.1f} s</summary>\n", static_cast<double>(z0) / 1000.0,
                     static_cast<double>(z1) / 1000.0);
    s += timeline_svg(r, m, z0, z1, fmt::format("fo{}-", k), marks);
    s += "</details>\n";
  }
  return s + "</section>\n";
}

std::string liveness_section(const RunResult& r) {
  const LivenessResult& l = r.liveness;
  std::string s = "<section id='liveness'><h2>Liveness</h2>\n";
  if (!l.evaluated) return s + "<p>" + esc(l.detail) + "</p></section>\n";
  s += fmt::format("<p class='{}'><b>{}</b>: {}.</p>\n", l.passed ? "ok" : "bad", l.passed ? "ok" : "FAIL", esc(l.detail));
  if (l.budget_ms > 0) {
    s += fmt::format("<p>Deadline = heal + 1.5·NT (PFAIL) + NT (FAIL reports gossiped) + 1000 + 1000·(replicas−1) (election delay, rank) "
                     "+ max(2·NT, 2000) (one election round) + clamp(NT, 500, 5000) (a returning primary's rejoin delay) + 1000 (slack) "
                     "= {} + {} = <b>{} ms</b> with NT = {} ms. cluster_state:ok everywhere at {}; a client served at {}.</p>\n",
                     l.heal_ms, l.budget_ms, l.deadline_ms, l.node_timeout_ms,
                     l.state_ok_ms ? fmt::format("{} ms", *l.state_ok_ms) : "never",
                     l.client_measured ? (l.client_served_ms ? fmt::format("{} ms", *l.client_served_ms) : "never") : "not measured (no workload)");
  }
  s += "</section>\n<section id='availability'><h2>Availability per fault</h2>\n";
  if (r.availability.empty()) return s + "<p>No fault in this run.</p></section>\n";
  s += "<p>Client operations started between the fault and the end of its window (its undo step or the failover's all-ok, "
       "whichever is later), and the span during which clients saw errors (first failing op to the last, until the next "
       "fault).</p>\n<table><tr><th>fault</th><th>window (ms)</th><th>client ops</th><th>failed</th><th>unknown</th>"
       "<th>failed fraction</th><th>errors seen (ms)</th><th>error span (ms)</th></tr>\n";
  for (const auto& w : r.availability) {
    s += fmt::format("<tr><td>{}</td><td>{}–{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1f}%</td><td>{}</td><td>{}</td></tr>\n",
                     esc(w.fault), w.start_ms, w.end_ms, w.ops, w.failed, w.unknown, 100.0 * w.failed_fraction,
                     w.first_error_ms ? fmt::format("{}–{}", *w.first_error_ms, *w.last_error_ms) : std::string("none"),
                     w.error_span_ms);
  }
  return s + "</table></section>\n";
}

std::string lost_writes_section(const RunResult& r) {
  std::string s = "<section id='lost-writes'><h2>Writes: acknowledged, failed, unknown, lost</h2>\n";
  if (!r.workloads.empty()) {
    s += "<table><tr><th>workload</th><th>writes</th><th>acknowledged</th><th>failed</th><th>unknown outcome</th>"
         "<th>longest error window (ms)</th></tr>\n";
    for (const auto& w : r.workloads)
      s += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", esc(w.name), w.writes, w.ok,
                       w.failed, w.unknown, w.longest_error_window_ms);
    s += "</table>\n";
  }
  if (!r.lost_writes) return s + "<p>The acknowledged-writes check did not run in this scenario.</p></section>\n";
  const LostWritesSummary& l = *r.lost_writes;
  s += fmt::format("<p>The last acknowledged-writes check read back every write: <b>{}</b> acknowledged, {} present, "
                   "<b>{}</b> lost ({} permitted by the Redis Cluster spec, <b class='{}'>{} unexplained</b>), {} unreadable; "
                   "{} failed (never acknowledged); {} with an unknown outcome ({} present).</p>\n",
                   l.acknowledged, l.present, l.lost, l.lost_permitted, l.lost_unexplained ? "bad" : "ok", l.lost_unexplained,
                   l.unreadable, l.failed, l.unknown, l.unknown_present);
  if (!l.by_cause.empty()) {
    s += "<table><tr><th>cause</th><th>lost writes</th></tr>\n";
    for (const auto& [c, n] : l.by_cause) s += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", esc(c), n);
    s += "</table>\n";
  }
  if (!l.losses.empty()) {
    s += fmt::format("<details><summary>{} lost write(s){}</summary><table><tr><th>key</th><th>acknowledged at (ms)</th><th>by</th>"
                     "<th>found</th><th>cause</th><th>permitted</th></tr>\n",
                     l.losses.size(), l.losses.size() >= LostWritesSummary::kMaxLossesReported ? " (the first ones)" : "");
    for (const auto& w : l.losses)
      s += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", esc(w.key), w.acked_ms,
                       esc(w.acked_by_node.empty() ? w.acked_by.str() : w.acked_by_node), w.found.empty() ? "missing" : esc(w.found),
                       esc(w.cause), w.permitted ? "yes" : "<b class='bad'>no</b>");
    s += "</table></details>\n";
  }
  return s + "</section>\n";
}

const char* kCss = R"(
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:18px 24px;color:#1d1d1d;font-size:14px;max-width:1560px}
h1{font-size:22px;margin:0 0 6px} h2{font-size:18px;margin:26px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0} td,th{border:1px solid #d4d4d4;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f6} .ok{color:#1e7b34} .bad{color:#b11d1d} code{background:#f3f3f3;padding:0 3px}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:6px 0 8px;font-size:12px} .sw{display:inline-flex;align-items:center;gap:5px}
.dot{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:6px}
.desc{color:#444;max-width:1200px} .meta{color:#555} details{margin:6px 0} summary{cursor:pointer;color:#234}
svg.timeline{display:block;border:1px solid #e2e2e2;background:#fff}
)";

}  // namespace

std::string report_html(const RunResult& r, const std::string& scenario_description) {
  Model m = build_model(r);
  std::string s = "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>";
  s += fmt::format("<title>{} seed {}: {}</title><style>{}</style></head><body>\n", esc(r.scenario), r.seed,
                   r.passed ? "PASSED" : "FAILED", kCss);
  s += fmt::format("<h1>{} — seed {} — {} world — <span class='{}'>{}</span></h1>\n", esc(r.scenario), r.seed, esc(r.world),
                   r.passed ? "ok" : "bad", r.passed ? "PASSED" : "FAILED");
  if (!scenario_description.empty()) s += "<p class='desc'>" + esc(scenario_description) + "</p>\n";
  s += fmt::format("<p class='meta'>World time {:.1f} s, wall-clock {} ms{}, node timeout {} ms. Reproduce: "
                   "<code>slotlab run scenarios/{}.json --seed {}{}</code></p>\n",
                   static_cast<double>(r.world_time_ms) / 1000.0, r.wall_time_ms,
                   r.trace_hash ? fmt::format(", trace hash <code>{:016x}</code>", *r.trace_hash) : "", r.node_timeout_ms,
                   esc(r.scenario), r.seed, r.world == "sim" ? "" : " --world real");
  if (!r.failure.empty()) s += "<p class='bad'><b>Failure:</b> " + esc(r.failure) + "</p>\n";

  s += "<section id='timeline-section'><h2>Timeline</h2>\n";
  s += "<p>One lane per node: its role, configEpoch changes, how many <em>other</em> nodes flag it PFAIL / FAIL, and the slots it "
       "owns; faults are shaded over the nodes they hit. Hover any mark for details. The bottom lane shows the client "
       "operations per time bucket.</p>\n";
  s += legend_html();
  std::vector<Marker> marks;
  for (const FailoverRecord& f : r.failovers)
    if (f.promotion_ms) marks.push_back({f.crash_at_ms + *f.promotion_ms, "promotion of " + f.promoted_node, "#2f6fb3"});
  s += timeline_svg(r, m, 0, m.t_end, "", marks);
  s += "</section>\n";

  s += failover_section(r, m);
  s += liveness_section(r);
  s += lost_writes_section(r);

  s += "<section id='checks'><h2>Checks</h2>\n<table><tr><th>check</th><th>outcome</th><th>detail</th></tr>\n";
  for (const auto& c : r.checks)
    s += fmt::format("<tr><td>{}</td><td class='{}'>{}</td><td>{}</td></tr>\n", esc(c.name), c.passed ? "ok" : "bad",
                     c.passed ? "ok" : "FAIL", esc(c.detail));
  if (r.checks.empty()) s += "<tr><td colspan='3'>no final checks ran</td></tr>\n";
  s += "</table></section>\n";

  s += "<section id='steps'><h2>Steps</h2>\n<table><tr><th>#</th><th>step</th><th>node</th><th>start (s)</th>"
       "<th>duration (ms)</th><th>outcome</th></tr>\n";
  for (const auto& st : r.steps) {
    s += fmt::format("<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{:.3f}</td><td>{}</td><td>{}{}</td></tr>\n", st.index, esc(st.action),
                     st.label.empty() ? "" : " — " + esc(st.label), esc(st.node), static_cast<double>(st.start_ms) / 1000.0,
                     st.duration_ms, st.ok ? "" : "<b class='bad'>FAILED</b> ", esc(st.detail));
  }
  s += "</table></section>\n";
  s += "<p class='meta'>Generated by <code>slotlab run --report</code>; the data is in <code>result.json</code> beside this "
       "file.</p>\n</body></html>\n";
  return s;
}

std::string write_run_report(const std::string& dir, const RunResult& r, const std::string& scenario_description,
                             std::string* html_path) {
  namespace fs = std::filesystem;
  std::string base = fmt::format("{}-seed{}{}", r.scenario, r.seed, r.world == "sim" ? "" : "-real");
  std::error_code ec;
  fs::path sub = fs::path(dir) / base;
  fs::create_directories(sub, ec);
  if (ec) return fmt::format("cannot create {}: {}", sub.string(), ec.message());
  auto write = [](const fs::path& p, const std::string& text) -> std::string {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    return out ? std::string() : fmt::format("cannot write {}", p.string());
  };
  if (auto e = write(fs::path(dir) / (base + ".md"), report_markdown(r, scenario_description)); !e.empty()) return e;
  if (auto e = write(sub / "result.json", to_json(r, true).dump() + "\n"); !e.empty()) return e;
  if (auto e = write(sub / "index.html", report_html(r, scenario_description)); !e.empty()) return e;
  if (html_path != nullptr) *html_path = (sub / "index.html").string();
  return {};
}

}  // namespace slotlab::harness
