// slotlab._core: the compiled core of the Python package `slotlab` (bindings/python/slotlab). The
// package's Python layer gives it its public shape (Node objects, node selectors, run_until with a
// Python predicate, context managers); this file only converts values and errors.
//
// The edge rules (STYLE.md "Errors and assertions"):
//  - Every Result error becomes a Python exception of the slotlab hierarchy, with the core's
//    message: Errc::timeout -> slotlab.TimeoutError, invalid_argument / not_found ->
//    slotlab.ArgumentError (a ValueError), io -> slotlab.ConnectionError, the rest ->
//    slotlab.StateError; bad scenarios -> slotlab.ScenarioError; error replies ->
//    slotlab.CommandError; what a world cannot do -> slotlab.UnsupportedError.
//  - The GIL is released whenever the world runs; every chunk of world time (1 s simulated, or a
//    poll of the real world) re-takes it for PyErr_CheckSignals, so Ctrl-C (or any signal handler
//    that raises) interrupts a long run with the handler's exception.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include "bindings/cluster_core.hpp"

namespace py = pybind11;
using namespace slotlab;
using namespace slotlab::bindings;

namespace {

struct Exceptions {
  PyObject* error = nullptr;
  PyObject* scenario = nullptr;
  PyObject* timeout = nullptr;
  PyObject* command = nullptr;
  PyObject* connection = nullptr;
  PyObject* argument = nullptr;
  PyObject* state = nullptr;
  PyObject* unsupported = nullptr;
};
Exceptions g_exc;

PyObject* new_exception(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  std::string qualified = std::string("slotlab.") + name;
  PyObject* e = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (e == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(e));
  return e;
}

// Thrown inside the core's loops when a Python signal handler raised: the Python error is already
// set; the binding re-raises it once the GIL is held again.
struct Interrupted {};

[[noreturn]] void raise(PyObject* type, const std::string& message) {
  PyErr_SetString(type, message.c_str());
  throw py::error_already_set();
}

[[noreturn]] void raise_error(const Error& e) {
  switch (e.code) {
    case Errc::timeout: raise(g_exc.timeout, e.message);
    case Errc::invalid_argument:
    case Errc::not_found: raise(g_exc.argument, e.message);
    case Errc::io: raise(g_exc.connection, e.message);
    case Errc::protocol:
    case Errc::state: break;
  }
  raise(g_exc.state, e.message);
}

template <class T>
T unwrap(Result<T>&& r) {
  if (!r) raise_error(r.error());
  return std::move(*r);
}
inline void unwrap(Result<void>&& r) {
  if (!r) raise_error(r.error());
}

// Checks for a pending signal; called with the GIL released.
bool check_signals() {
  py::gil_scoped_acquire gil;
  return PyErr_CheckSignals() == 0;
}

std::string arg_bytes(const py::handle& h) {
  if (py::isinstance<py::bytes>(h)) return h.cast<std::string>();
  if (py::isinstance<py::str>(h)) return h.cast<std::string>();
  if (py::isinstance<py::bool_>(h)) raise(g_exc.argument, "command arguments must be str, bytes, int or float (got bool)");
  if (py::isinstance<py::int_>(h) || py::isinstance<py::float_>(h)) return py::str(h).cast<std::string>();
  raise(g_exc.argument, fmt::format("command arguments must be str, bytes, int or float (got {})",
                                    py::str(py::type::of(h).attr("__name__")).cast<std::string>()));
}

Argv to_argv(const py::sequence& args) {
  Argv out;
  for (const auto& a : args) out.push_back(arg_bytes(a));
  return out;
}

py::object error_object(const std::string& message) {
  return py::reinterpret_steal<py::object>(PyObject_CallFunction(g_exc.command, "s", message.c_str()));
}

// A reply as Python values: status -> str, bulk -> str (UTF-8, undecodable bytes kept as
// surrogates) or bytes when raw, integer -> int, nil -> None, array -> list. An error nested in an
// array (EXEC) becomes a CommandError instance in the list.
py::object to_python(const resp::Value& v, bool raw) {
  switch (v.type) {
    case resp::Type::simple: return py::str(v.str);
    case resp::Type::error: return error_object(v.str);
    case resp::Type::integer: return py::int_(v.integer);
    case resp::Type::bulk:
      if (raw) return py::bytes(v.str);
      return py::reinterpret_steal<py::object>(
          PyUnicode_DecodeUTF8(v.str.data(), static_cast<Py_ssize_t>(v.str.size()), "surrogateescape"));
    case resp::Type::nil:
    case resp::Type::nil_array: return py::none();
    case resp::Type::array: {
      py::list l;
      for (const auto& e : v.elements) l.append(to_python(e, raw));
      return l;
    }
  }
  return py::none();
}

py::dict node_dict(const NodeInfo& n) {
  py::dict d;
  d["index"] = n.index;
  d["name"] = n.name;
  d["address"] = n.address;
  d["running"] = n.running;
  d["paused"] = n.paused;
  d["member"] = n.member;
  d["id"] = n.id;
  d["role"] = n.role.empty() ? py::object(py::none()) : py::object(py::str(n.role));
  d["primary"] = n.primary.empty() ? py::object(py::none()) : py::object(py::str(n.primary));
  py::list slots;
  for (auto [a, b] : n.slots) slots.append(py::make_tuple(a, b));
  d["slots"] = slots;
  d["epoch"] = n.epoch;
  d["current_epoch"] = n.current_epoch;
  d["flags"] = n.flags;
  d["cluster_state"] = n.cluster_state.empty() ? py::object(py::none()) : py::object(py::str(n.cluster_state));
  d["error"] = n.error.empty() ? py::object(py::none()) : py::object(py::str(n.error));
  return d;
}

std::string json_text(Result<nlohmann::json>&& r) { return unwrap(std::move(r)).dump(); }

class PyClient;

// The core object as Python holds it.
class PyCluster {
 public:
  explicit PyCluster(ClusterOptions o) {
    bool interrupted = false;
    Result<std::unique_ptr<ClusterCore>> r = make_error(Errc::state, "");
    {
      py::gil_scoped_release nogil;
      r = ClusterCore::create(o, [&] {
        if (check_signals()) return true;
        interrupted = true;
        return false;
      });
    }
    if (interrupted) throw py::error_already_set();
    core_ = std::move(unwrap(std::move(r)));
  }
  ClusterCore& core() {
    if (!core_) raise(g_exc.state, "the cluster is closed");
    // The world is single-threaded: while one Python thread lets it run (GIL released), others
    // get an error instead of a data race.
    if (busy_) raise(g_exc.state, "the cluster is in use by another thread (or by the signal handler's caller)");
    return *core_;
  }
  // Runs f(core) with the GIL released and the cluster marked busy.
  template <class F>
  auto released(F&& f) {
    ClusterCore& c = core();
    busy_ = true;
    struct Clear {
      bool& b;
      ~Clear() { b = false; }  // runs after the GIL is re-taken (declared before nogil)
    } clear{busy_};
    py::gil_scoped_release nogil;
    return f(c);
  }
  void close();
  void attach(PyClient* c) { clients_.push_back(c); }
  void detach(PyClient* c) { clients_.erase(std::remove(clients_.begin(), clients_.end(), c), clients_.end()); }
  bool closed() const { return !core_; }

  ~PyCluster() {
    busy_ = false;  // destruction happens with the GIL held, never while the world runs
    close();
  }

 private:
  std::unique_ptr<ClusterCore> core_;
  bool busy_ = false;  // only touched with the GIL held
  std::vector<PyClient*> clients_;  // their cores die before ours
};

class PyClient {
 public:
  PyClient(PyCluster& cluster, Millis command_timeout_ms, int max_attempts) : cluster_(cluster) {
    harness::ClusterClientOptions o;
    o.command_timeout_ms = command_timeout_ms;
    o.max_attempts = max_attempts;
    core_ = std::make_unique<ClientCore>(cluster.core(), o);
    cluster_.attach(this);
  }
  ~PyClient() {
    cluster_.detach(this);
    core_.reset();
  }
  void drop() { core_.reset(); }
  py::tuple execute(const py::sequence& args, std::size_t key_index, Millis timeout_ms, bool raw) {
    Argv argv = to_argv(args);
    if (argv.empty()) raise(g_exc.argument, "execute needs at least the command name");
    if (key_index >= argv.size()) raise(g_exc.argument, fmt::format("key_index {} is past the arguments", key_index));
    cluster_.core();  // raises if the cluster was closed or is busy
    if (!core_) raise(g_exc.state, "the client's cluster is closed");
    ClientReply r = cluster_.released([&](ClusterCore&) { return core_->execute(argv, key_index, timeout_ms); });
    const char* kind = r.kind == ClientReply::Kind::ok ? "ok" : r.kind == ClientReply::Kind::failed ? "failed" : "unknown";
    py::object value = r.kind == ClientReply::Kind::ok ? to_python(r.reply, raw) : py::none();
    std::string error = r.kind == ClientReply::Kind::failed && r.reply.is_error() ? r.reply.str : r.error;
    return py::make_tuple(kind, value, error, r.served_by, r.redirects);
  }

 private:
  PyCluster& cluster_;
  std::unique_ptr<ClientCore> core_;
};

void PyCluster::close() {
  if (!core_) return;
  core();  // refuses while another thread runs the world
  for (PyClient* c : clients_) c->drop();
  clients_.clear();
  py::gil_scoped_release nogil;
  core_.reset();
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "slotlab's compiled core. Use the `slotlab` package, not this module.";

  g_exc.error = new_exception(m, "Error", PyExc_Exception, "Base class of every slotlab error.");
  auto bases = [](std::initializer_list<PyObject*> types) {
    PyObject* t = PyTuple_New(static_cast<Py_ssize_t>(types.size()));
    Py_ssize_t i = 0;
    for (PyObject* b : types) {
      Py_INCREF(b);
      PyTuple_SET_ITEM(t, i++, b);
    }
    return t;
  };
  g_exc.scenario = new_exception(m, "ScenarioError", bases({g_exc.error, PyExc_ValueError}),
                                 "A scenario file or dict is invalid; the message names the offending field.");
  g_exc.timeout = new_exception(m, "TimeoutError", bases({g_exc.error, PyExc_TimeoutError}),
                                "Something did not happen within its deadline (world time).");
  g_exc.command = new_exception(m, "CommandError", g_exc.error, "A node answered a command with an error reply.");
  g_exc.connection = new_exception(m, "ConnectionError", bases({g_exc.error, PyExc_ConnectionError}),
                                   "A node could not be reached or the connection broke.");
  g_exc.argument = new_exception(m, "ArgumentError", bases({g_exc.error, PyExc_ValueError}),
                                 "A bad argument: unknown node, out-of-range value...");
  g_exc.state = new_exception(m, "StateError", bases({g_exc.error, PyExc_RuntimeError}),
                              "The operation is not possible now (node not running, not a replica, ...).");
  g_exc.unsupported = new_exception(m, "UnsupportedError", bases({g_exc.error, PyExc_NotImplementedError}),
                                    "The world (or slotlab) does not support this operation.");

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Interrupted&) {
      // The Python error set by PyErr_CheckSignals is still pending; re-raise it.
      if (PyErr_Occurred() == nullptr) PyErr_SetString(PyExc_KeyboardInterrupt, "interrupted");
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      PyErr_SetString(g_exc.error, (std::string("internal error: ") + e.what()).c_str());
    }
  });

  m.def(
      "run_scenario",
      [](const std::string& text_or_path, bool is_path, std::uint64_t seed, const std::string& world, bool timeline,
         int base_port) {
        if (base_port < 0 || base_port > 55535) raise(g_exc.argument, "base_port must be 0..55535");
        Result<nlohmann::json> r = make_error(Errc::state, "");
        bool bad_scenario = false;
        {
          py::gil_scoped_release nogil;
          r = run_scenario_json(text_or_path, is_path, seed, world, timeline, [](harness::World& w) {
            // A harness timer every second of world time checks for signals; a raising handler
            // abandons the run (the world is discarded with it).
            struct Tick {
              static void arm(harness::World& w) {
                w.schedule(w.now_ms() + 1000, [&w] {
                  if (!check_signals()) throw Interrupted{};
                  arm(w);
                });
              }
            };
            Tick::arm(w);
          }, &bad_scenario, static_cast<std::uint16_t>(base_port));
        }
        if (!r) {
          if (bad_scenario) raise(g_exc.scenario, r.error().message);
          raise_error(r.error());
        }
        return r->dump();
      },
      py::arg("text_or_path"), py::arg("is_path"), py::arg("seed"), py::arg("world"), py::arg("timeline"),
      py::arg("base_port") = 0,
      "Runs a scenario; returns what `slotlab run --json` prints (a JSON text).");

  m.def("default_node_binary", &default_node_binary, "The slotlab-node binary of this build (or $SLOTLAB_NODE).");
  m.def("find_free_ports", [](int count) { return unwrap(find_free_ports(count)); }, py::arg("count"));
  m.def(
      "raise_for_test",
      [](const std::string& kind) {
        // Lets the test suite check the error mapping without provoking each condition.
        if (kind == "timeout") raise_error(make_error(Errc::timeout, "t"));
        if (kind == "io") raise_error(make_error(Errc::io, "c"));
        if (kind == "state") raise_error(make_error(Errc::state, "s"));
        if (kind == "std") throw std::runtime_error("boom");
        raise_error(make_error(Errc::invalid_argument, "a"));
      },
      py::arg("kind"));

  py::class_<PyCluster>(m, "Cluster")
      .def(py::init([](int masters, int replicas, int spares, Millis node_timeout_ms, std::uint64_t seed,
                       std::map<std::string, std::string> config, std::string world, int base_port,
                       Millis command_timeout_ms, Millis ready_timeout_ms) {
             if (base_port < 0 || base_port > 55535) raise(g_exc.argument, "base_port must be 0..55535");
             ClusterOptions o;
             o.masters = masters;
             o.replicas = replicas;
             o.spares = spares;
             o.node_timeout_ms = node_timeout_ms;
             o.seed = seed;
             o.config = std::move(config);
             o.world = std::move(world);
             o.base_port = static_cast<std::uint16_t>(base_port);
             o.command_timeout_ms = command_timeout_ms;
             o.ready_timeout_ms = ready_timeout_ms;
             return std::make_unique<PyCluster>(o);
           }),
           py::arg("masters"), py::arg("replicas"), py::arg("spares"), py::arg("node_timeout_ms"), py::arg("seed"),
           py::arg("config"), py::arg("world"), py::arg("base_port"), py::arg("command_timeout_ms"),
           py::arg("ready_timeout_ms"))
      .def("close", &PyCluster::close)
      .def_property_readonly("closed", &PyCluster::closed)
      .def_property_readonly("simulated", [](PyCluster& c) { return c.core().simulated(); })
      .def_property_readonly("kind", [](PyCluster& c) { return c.core().world().kind(); })
      .def_property_readonly("seed", [](PyCluster& c) { return c.core().options().seed; })
      .def_property_readonly("now_ms", [](PyCluster& c) { return c.core().now_ms(); })
      .def_property_readonly("trace_hash",
                             [](PyCluster& c) -> py::object {
                               auto h = c.core().trace_hash();
                               if (!h) return py::none();
                               return py::str(fmt::format("{:016x}", *h));
                             })
      .def_property_readonly("work_dir", [](PyCluster& c) { return c.core().work_dir(); })
      .def_property_readonly("node_names", [](PyCluster& c) { return c.core().world().node_names(); })
      .def_property_readonly("members", [](PyCluster& c) { return c.core().members(); })
      .def("run_for",
           [](PyCluster& c, Millis ms) {
             if (ms < 0) raise(g_exc.argument, "run_for needs ms >= 0");
             bool ok = c.released([&](ClusterCore& core) { return core.run_for(ms, check_signals); });
             if (!ok) throw py::error_already_set();
           },
           py::arg("ms"))
      .def("wait_for_change",
           [](PyCluster& c, Millis until_ms) {
             c.released([&](ClusterCore& core) {
               core.wait_for_change(until_ms + core.world().start_time_ms());
               return 0;
             });
             if (PyErr_CheckSignals() != 0) throw py::error_already_set();
           },
           py::arg("until_ms"), "Lets time pass until a node records an event or until until_ms (world time).")
      .def("resolve", [](PyCluster& c, const std::string& s) { return unwrap(c.core().resolve(s)); })
      .def("resolve_index", [](PyCluster& c, std::int64_t i) { return unwrap(c.core().resolve_index(i)); })
      .def("nodes",
           [](PyCluster& c) {
             auto v = c.released([](ClusterCore& core) { return core.nodes(); });
             py::list l;
             for (const auto& n : v) l.append(node_dict(n));
             return l;
           })
      .def("node",
           [](PyCluster& c, const std::string& name) {
             auto r = c.released([&](ClusterCore& core) { return core.node(name); });
             return node_dict(unwrap(std::move(r)));
           })
      .def("describe", [](PyCluster& c) { return c.released([](ClusterCore& core) { return core.describe(); }); })
      .def("command",
           [](PyCluster& c, const std::string& name, const py::sequence& args, Millis timeout_ms, bool raw) {
             Argv argv = to_argv(args);
             auto r = c.released([&](ClusterCore& core) { return core.command(name, argv, timeout_ms); });
             resp::Value v = unwrap(std::move(r));
             if (v.is_error()) raise(g_exc.command, v.str);
             return to_python(v, raw);
           },
           py::arg("name"), py::arg("args"), py::arg("timeout_ms"), py::arg("raw"))
      .def("crash", [](PyCluster& c, const std::string& n) { unwrap(c.released([&](ClusterCore& k) { return k.crash(n); })); })
      .def("kill", [](PyCluster& c, const std::string& n) { unwrap(c.released([&](ClusterCore& k) { return k.kill(n); })); })
      .def("restart", [](PyCluster& c, const std::string& n) { unwrap(c.released([&](ClusterCore& k) { return k.restart(n); })); })
      .def("pause", [](PyCluster& c, const std::string& n) { unwrap(c.released([&](ClusterCore& k) { return k.pause(n); })); })
      .def("resume", [](PyCluster& c, const std::string& n) { unwrap(c.released([&](ClusterCore& k) { return k.resume(n); })); })
      .def("partition",
           [](PyCluster& c, const std::vector<std::vector<std::string>>& groups, bool one_way) {
             if (!c.core().simulated()) raise(g_exc.unsupported, "partition: only the simulator can partition nodes "
                                                                 "(real processes on loopback would need a firewall)");
             unwrap(c.core().partition(groups, one_way));
           },
           py::arg("groups"), py::arg("one_way"))
      .def("heal",
           [](PyCluster& c) {
             if (!c.core().simulated()) raise(g_exc.unsupported, "heal: only the simulator can partition nodes");
             unwrap(c.core().heal());
           })
      .def("delay",
           [](PyCluster& c, const std::string& a, const std::string& b, Millis ms) {
             if (!c.core().simulated()) raise(g_exc.unsupported, "delay: only the simulator can delay links");
             unwrap(c.core().delay(a, b, ms));
           },
           py::arg("a"), py::arg("b"), py::arg("ms"))
      .def("clock_skew",
           [](PyCluster& c, const std::string& n, Millis ms) {
             if (!c.core().simulated()) raise(g_exc.unsupported, "clock_skew: only the simulator can skew clocks");
             unwrap(c.core().clock_skew(n, ms));
           },
           py::arg("name"), py::arg("ms"))
      .def("reshard",
           [](PyCluster& c, const std::vector<std::string>& from, const std::string& to, int slots) {
             return json_text(c.released([&](ClusterCore& k) { return k.reshard(from, to, slots); }));
           })
      .def("add_node",
           [](PyCluster& c, const std::string& n, const std::string& replica_of) {
             return json_text(c.released([&](ClusterCore& k) { return k.add_node(n, replica_of); }));
           })
      .def("del_node",
           [](PyCluster& c, const std::string& n) { return json_text(c.released([&](ClusterCore& k) { return k.del_node(n); })); })
      .def("failover",
           [](PyCluster& c, const std::string& n, const std::string& option, bool wait) {
             return json_text(c.released([&](ClusterCore& k) { return k.failover(n, option, wait); }));
           })
      .def("rebalance",
           [](PyCluster& c, const std::vector<std::pair<std::string, double>>& weights, bool use_empty, double threshold,
              bool simulate) {
             return json_text(c.released([&](ClusterCore& k) { return k.rebalance(weights, use_empty, threshold, simulate); }));
           })
      .def("cluster_check", [](PyCluster& c) { return json_text(c.released([](ClusterCore& k) { return k.cluster_check(); })); })
      .def("fix", [](PyCluster& c) { return json_text(c.released([](ClusterCore& k) { return k.fix(); })); })
      .def("check",
           [](PyCluster& c, const std::vector<std::string>& names) {
             for (const auto& n : names) {
               const auto& known = harness::observation_check_names();
               if (std::find(known.begin(), known.end(), n) == known.end())
                 raise(g_exc.argument, fmt::format("unknown check '{}'", n));
             }
             auto v = c.released([&](ClusterCore& k) { return k.check(names); });
             py::list l;
             for (const auto& r : v) {
               py::dict d;
               d["name"] = r.name;
               d["passed"] = r.passed;
               d["detail"] = r.detail;
               l.append(d);
             }
             return l;
           })
      .def("healthy",
           [](PyCluster& c) {
             std::string why;
             bool ok = c.released([&](ClusterCore& k) { return k.healthy(why); });
             return py::make_tuple(ok, why);
           })
      .def("events", [](PyCluster& c) { return c.core().events().dump(); });

  m.attr("known_checks") = harness::observation_check_names();

  py::class_<PyClient>(m, "Client")
      .def(py::init<PyCluster&, Millis, int>(), py::arg("cluster"), py::arg("command_timeout_ms"), py::arg("max_attempts"),
           py::keep_alive<1, 2>())
      .def("execute", &PyClient::execute, py::arg("args"), py::arg("key_index"), py::arg("timeout_ms"), py::arg("raw"));
}
