"""slotlab: drive a simulated (or real) Redis Cluster 7.0 from Python.

    import slotlab

    c = slotlab.Cluster(masters=3, replicas=1, seed=7)   # a healthy 3+3 cluster, simulated
    old = c.primaries()[0]
    c.partition([[old]])                                  # cut it off from every other node
    new = c.run_until(lambda: [n for n in c.primaries() if n.slots == old.slots and n.name != old.name],
                      timeout_ms=30_000)[0]              # its replica took over
    c.heal()

Everything runs in one deterministic simulator thread: the same seed gives the same run
(compare ``c.trace_hash``). Time is the simulator's (``c.now_ms``); every call that talks to a
node lets simulated time pass until the reply is there. ``slotlab.RealCluster`` offers the same
API over real slotlab-node or redis-server processes on loopback.

Nodes are named by their index in ``c.nodes`` (0-based), their name (``"n1"``), their node id
(or a unique prefix of at least 6 hex digits) or a :class:`Node` object.

Errors from the core are Python exceptions (all subclasses of :class:`slotlab.Error`).
"""

from __future__ import annotations

import atexit
import inspect
import json
import os
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from . import _core
from ._core import (  # noqa: F401  (re-exported)
    ArgumentError,
    CommandError,
    ConnectionError,
    Error,
    ScenarioError,
    StateError,
    TimeoutError,
    UnsupportedError,
)

__all__ = [
    "run_scenario",
    "Cluster",
    "RealCluster",
    "Client",
    "Node",
    "Error",
    "ArgumentError",
    "CommandError",
    "ConnectionError",
    "ScenarioError",
    "StateError",
    "TimeoutError",
    "UnsupportedError",
    "KNOWN_CHECKS",
]

KNOWN_CHECKS: tuple = tuple(_core.known_checks)
_MAX_MS = 10**13  # ~317 years: the longest span one call may ask for


# --------------------------------------------------------------------------------------------
# Scenarios


def _merge(base: dict, over: Mapping) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _world_arg(world: str) -> str:
    """A server for the core: "sim", "slotlab-node" (this build's daemon) or a binary's path."""
    if world in ("sim", "slotlab-node"):
        return world
    if world in ("redis", "redis-server"):
        return "/usr/bin/redis-server"
    if os.sep in world:
        return os.path.abspath(world)
    raise ArgumentError(
        f"world must be 'sim' or 'real' (with server='slotlab-node' or a server path) (got {world!r})")


def run_scenario(path_or_dict: Union[str, os.PathLike, Mapping[str, Any]], seed: int = 1,
                 world: str = "sim", *, server: Optional[str] = None, base_port: int = 0, timeline: bool = False,
                 **overrides: Any) -> dict:
    """Runs a scenario and returns exactly what ``slotlab run SCENARIO --seed SEED --json`` prints
    (with ``timeline=True``, ``--json --timeline``).

    ``path_or_dict`` is a scenario file or the scenario itself as a dict. ``overrides`` replace
    top-level fields of the scenario (dicts are merged: ``topology={"primaries": 5}`` keeps the
    other topology fields). The scenario's ``params`` are drawn from ``seed`` as ``slotlab run``
    draws them (``result["params"]``). ``world`` is ``"sim"`` (default) or ``"real"``, as ``--world``: real
    processes of ``server`` (``--server``: ``"slotlab-node"``, the default, or a path such as
    ``"/usr/bin/redis-server"``) on loopback ports from ``base_port`` (0: free ports are picked).
    As a shorthand ``world`` may also name the server itself. A bad scenario raises
    :class:`ScenarioError` naming the field. A failing scenario is not an exception: look at
    ``result["passed"]`` and ``result["failure"]``.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ArgumentError(f"seed must be a non-negative integer (got {seed!r})")
    if world == "real":
        w = _world_arg(server or "slotlab-node")
    elif server is not None:
        raise ArgumentError("server needs world='real' (as --server needs --world real)")
    else:
        w = _world_arg(world)
    if isinstance(path_or_dict, Mapping):
        doc = _merge(dict(path_or_dict), overrides)
        return json.loads(_core.run_scenario(json.dumps(doc), False, seed, w, timeline, base_port))
    path = os.fspath(path_or_dict)
    if not overrides:
        return json.loads(_core.run_scenario(path, True, seed, w, timeline, base_port))
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise ScenarioError(f"{path}: {e.strerror}") from None
    except ValueError as e:
        raise ScenarioError(f"{path}: not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ScenarioError(f"{path}: the scenario must be a JSON object")
    return json.loads(_core.run_scenario(json.dumps(_merge(doc, overrides)), False, seed, w, timeline, base_port))


# --------------------------------------------------------------------------------------------
# Nodes


@dataclass(frozen=True)
class Node:
    """One node as it reports itself (its ``myself`` line of CLUSTER NODES and CLUSTER INFO),
    read at ``Cluster.nodes`` time. ``role`` is ``"primary"``, ``"replica"`` or ``None`` when the
    node is not running; ``primary`` is the id of a replica's primary; ``slots`` are inclusive
    ranges; ``epoch`` is its configEpoch; ``flags`` are its own flags (without ``myself``)."""

    index: int
    name: str
    address: str
    id: str
    role: Optional[str]
    primary: Optional[str]
    slots: tuple
    epoch: int
    current_epoch: int
    flags: tuple
    running: bool
    paused: bool
    member: bool
    cluster_state: Optional[str]
    error: Optional[str] = None

    @property
    def is_primary(self) -> bool:
        return self.role == "primary"

    @property
    def is_replica(self) -> bool:
        return self.role == "replica"

    @property
    def slot_count(self) -> int:
        return sum(b - a + 1 for a, b in self.slots)

    def owns(self, slot: int) -> bool:
        return any(a <= slot <= b for a, b in self.slots)

    @staticmethod
    def _from(d: dict) -> "Node":
        return Node(index=d["index"], name=d["name"], address=d["address"], id=d["id"], role=d["role"],
                    primary=d["primary"], slots=tuple(tuple(s) for s in d["slots"]), epoch=d["epoch"],
                    current_epoch=d["current_epoch"], flags=tuple(d["flags"]), running=d["running"],
                    paused=d["paused"], member=d["member"], cluster_state=d["cluster_state"],
                    error=d["error"])


NodeRef = Union[int, str, Node]


def _calls_with_cluster(predicate: Callable) -> bool:
    try:
        sig = inspect.signature(predicate)
    except (TypeError, ValueError):
        return False
    params = [p for p in sig.parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    return len(params) >= 1


# --------------------------------------------------------------------------------------------
# Clusters


class Cluster:
    """A Redis Cluster in the deterministic simulator, created and healthy when the constructor
    returns (``redis-cli --cluster create`` with ``--cluster-replicas``, then every node agrees
    and reports ``cluster_state:ok``).

    ``spares`` empty nodes are started too, for :meth:`add_node`. ``config`` adds redis.conf
    directives for every node. Raises :class:`ArgumentError` for bad sizes, :class:`TimeoutError`
    if the cluster does not become healthy within ``ready_timeout_ms``.
    """

    _world = "sim"

    def __init__(self, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 2000, seed: int = 1, *,
                 spares: int = 0, config: Optional[Mapping[str, str]] = None, command_timeout_ms: int = 5000,
                 ready_timeout_ms: int = 60_000, _base_port: int = 0):
        for name, v in (("masters", masters), ("replicas", replicas), ("node_timeout_ms", node_timeout_ms),
                        ("seed", seed), ("spares", spares), ("command_timeout_ms", command_timeout_ms),
                        ("ready_timeout_ms", ready_timeout_ms)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise ArgumentError(f"{name} must be an integer (got {v!r})")
        if seed < 0:
            raise ArgumentError(f"seed must be >= 0 (got {seed})")
        cfg = {str(k): str(v) for k, v in (config or {}).items()}
        self._core = _core.Cluster(masters, replicas, spares, node_timeout_ms, seed, cfg, self._world, _base_port,
                                   command_timeout_ms, ready_timeout_ms)
        self.masters = masters
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms

    # --- lifecycle ---
    def close(self) -> None:
        """Releases the world (real processes are stopped). Idempotent."""
        self._core.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        if getattr(self, "_core", None) is None or self._core.closed:
            return "<slotlab.Cluster closed>"
        return (f"<slotlab.{type(self).__name__} {self.masters}+{self.masters * self.replicas} "
                f"seed={self.seed} t={self.now_ms}ms>")

    @property
    def closed(self) -> bool:
        return self._core.closed

    @property
    def seed(self) -> int:
        return self._core.seed

    @property
    def simulated(self) -> bool:
        return self._core.simulated

    # --- time ---
    @property
    def now_ms(self) -> int:
        """World time since the world started (simulated milliseconds in the simulator)."""
        return self._core.now_ms

    def run_for(self, ms: int) -> None:
        """Lets ``ms`` milliseconds of world time pass. Releases the GIL; Ctrl-C interrupts."""
        if not isinstance(ms, int) or isinstance(ms, bool):
            raise ArgumentError(f"ms must be an integer (got {ms!r})")
        if not 0 <= ms <= _MAX_MS:
            raise ArgumentError(f"ms must be 0..{_MAX_MS} (got {ms})")
        self._core.run_for(ms)

    def run_until(self, predicate: Callable[..., Any], timeout_ms: int, *, poll_ms: int = 100) -> Any:
        """Lets time pass until ``predicate()`` (or ``predicate(cluster)``) is truthy, and returns
        its value. The predicate is evaluated now, whenever any node records an event (its view of
        the cluster changed, a link came up...) and at least every ``poll_ms``. Raises
        :class:`TimeoutError` after ``timeout_ms`` with a description of every node."""
        if not callable(predicate):
            raise ArgumentError("run_until needs a callable predicate")
        if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or not 0 <= timeout_ms <= _MAX_MS:
            raise ArgumentError(f"timeout_ms must be a non-negative integer (got {timeout_ms!r})")
        if poll_ms < 1:
            raise ArgumentError("poll_ms must be >= 1")
        call = (lambda: predicate(self)) if _calls_with_cluster(predicate) else predicate
        start = self.now_ms
        deadline = start + timeout_ms
        while True:
            v = call()
            if v:
                return v
            now = self.now_ms
            if now >= deadline:
                what = getattr(predicate, "__name__", "condition")
                raise TimeoutError(f"{what} did not hold within {timeout_ms} ms "
                                   f"(from t={start} to t={now} ms, seed {self.seed})\n{self.describe()}")
            self._core.wait_for_change(min(now + poll_ms, deadline))

    # --- nodes ---
    def _name(self, node: NodeRef) -> str:
        if isinstance(node, Node):
            return node.name
        if isinstance(node, bool):
            raise ArgumentError(f"a node is an index, a name, an id or a Node (got {node!r})")
        if isinstance(node, int):
            return self._core.resolve_index(node)
        if isinstance(node, str):
            return self._core.resolve(node)
        raise ArgumentError(f"a node is an index, a name, an id or a Node (got {type(node).__name__})")

    @property
    def nodes(self) -> list:
        """Every node, as it reports itself now (:class:`Node`). Reading this in the simulator does
        not advance time; with real processes it asks each node (CLUSTER NODES, CLUSTER INFO)."""
        return [Node._from(d) for d in self._core.nodes()]

    def node(self, node: NodeRef) -> Node:
        return Node._from(self._core.node(self._name(node)))

    def primaries(self) -> list:
        """The member nodes that say they are primaries serving slots, in index order."""
        return [n for n in self.nodes if n.member and n.role == "primary" and n.slots]

    def replicas_of(self, node: NodeRef) -> list:
        p = self.node(node)
        return [n for n in self.nodes if n.role == "replica" and n.primary == p.id]

    def describe(self) -> str:
        """One line per node: address, id, role, epoch, flags, slots, state."""
        return self._core.describe()

    # --- commands ---
    def command(self, node: NodeRef, *args: Union[str, bytes, int, float], timeout_ms: int = 0,
                raw: bool = False) -> Any:
        """Sends one command to one node and returns its reply as Python values (status -> str,
        bulk -> str, or bytes with ``raw=True``, integer -> int, nil -> None, array -> list). An
        error reply raises :class:`CommandError`; no reply raises :class:`TimeoutError` or
        :class:`ConnectionError`."""
        if not args:
            raise ArgumentError("command needs at least the command name")
        return self._core.command(self._name(node), list(args), timeout_ms, raw)

    def client(self, *, command_timeout_ms: int = 2000, max_attempts: int = 16) -> "Client":
        """A cluster-aware client (slot map from CLUSTER SLOTS, follows MOVED and ASK, retries
        TRYAGAIN / CLUSTERDOWN) whose calls block while simulated time passes."""
        return Client(self, command_timeout_ms, max_attempts)

    # --- faults ---
    def crash(self, node: NodeRef) -> None:
        """The process dies now. Simulator: like a machine crash, only fsynced data survives on its
        disk. Real world: ``DEBUG SEGFAULT``."""
        self._core.crash(self._name(node))

    def kill(self, node: NodeRef) -> None:
        """SIGKILL: the process dies, what it wrote stays in the page cache."""
        self._core.kill(self._name(node))

    def restart(self, node: NodeRef) -> None:
        """Starts a crashed or killed node again with the same directory (nodes.conf, data)."""
        self._core.restart(self._name(node))

    def pause(self, node: NodeRef) -> None:
        """SIGSTOP: alive, connections accepted by the kernel, nothing processed."""
        self._core.pause(self._name(node))

    def resume(self, node: NodeRef) -> None:
        """SIGCONT: what the kernel held is delivered in order."""
        self._core.resume(self._name(node))

    def partition(self, groups: Sequence[Sequence[NodeRef]], one_way: bool = False) -> None:
        """Nodes in different groups cannot talk to each other (connections stall as TCP does);
        nodes named in no group form one more group. Replaces any previous partition. The test's
        client still reaches every node. ``one_way=True`` (two groups): only traffic from the first
        group to the second stalls. Simulator only."""
        if isinstance(groups, (str, bytes)) or not all(
                isinstance(g, Iterable) and not isinstance(g, (str, bytes)) for g in groups):
            raise ArgumentError("partition takes a list of groups, each a list of nodes")
        self._core.partition([[self._name(n) for n in g] for g in groups], bool(one_way))

    def heal(self) -> None:
        """Ends every partition and one-way block (link delays stay)."""
        self._core.heal()

    def delay(self, node: NodeRef, ms: int, to: Optional[NodeRef] = None) -> None:
        """Adds ``ms`` of one-way latency on the links between ``node`` and ``to`` (both ways), or
        between ``node`` and every other node. ``ms=0`` removes it. Simulator only."""
        self._core.delay(self._name(node), "" if to is None else self._name(to), ms)

    def drop_rate(self, node: NodeRef, rate: float) -> None:
        """Not supported: the simulator's network is TCP-like by design (DESIGN.md: partitions stall
        or reset connections, they never drop bytes from the middle of a stream), so there is no
        packet loss to set. Use :meth:`partition`, :meth:`delay` or :meth:`pause`."""
        raise UnsupportedError("drop_rate: the simulated network has TCP semantics (ordered, reliable streams); "
                               "packet loss is not modelled. Use partition(), delay() or pause().")

    def clock_skew(self, node: NodeRef, ms: int) -> None:
        """Sets the node's wall clock ``ms`` ahead (or behind, negative) of simulated time; the
        offset survives restarts. Simulator only."""
        self._core.clock_skew(self._name(node), ms)

    # --- admin operations (redis-cli --cluster ...) ---
    def reshard(self, from_: Union[NodeRef, Sequence[NodeRef], str], to: NodeRef, slots: int) -> dict:
        """``redis-cli --cluster reshard --cluster-from ... --cluster-to ... --cluster-slots N
        --cluster-yes``. ``from_`` is a node, a list of nodes or ``"all"``. Returns ``{"moved",
        "plan": [{"slot", "source"}], "log"}``."""
        if isinstance(from_, str) and from_ == "all":
            sources = ["all"]
        elif isinstance(from_, (list, tuple)):
            sources = [self._name(n) for n in from_]
        else:
            sources = [self._name(from_)]
        return json.loads(self._core.reshard(sources, self._name(to), slots))

    def add_node(self, node: NodeRef, replica_of: Optional[NodeRef] = None, *, replica: bool = False) -> dict:
        """``redis-cli --cluster add-node``: a spare node (see ``spares=``) joins as an empty primary,
        or as a replica of ``replica_of`` (or, with ``replica=True`` alone, of the primary with the
        fewest replicas). Waits until it has joined."""
        target = "" if replica_of is None else self._name(replica_of)
        if replica and replica_of is None:
            target = "any"
        return json.loads(self._core.add_node(self._name(node), target))

    def del_node(self, node: NodeRef) -> dict:
        """``redis-cli --cluster del-node``: the node (which must hold no slots) is forgotten by
        every other node and shut down."""
        return json.loads(self._core.del_node(self._name(node)))

    def failover(self, node: NodeRef, *, force: bool = False, takeover: bool = False, wait: bool = True) -> dict:
        """``CLUSTER FAILOVER [FORCE|TAKEOVER]`` sent to a replica; with ``wait`` (default), returns
        once the replica reports itself a primary (:class:`TimeoutError` otherwise)."""
        if force and takeover:
            raise ArgumentError("failover: force and takeover exclude each other")
        option = "FORCE" if force else "TAKEOVER" if takeover else ""
        return json.loads(self._core.failover(self._name(node), option, wait))

    def rebalance(self, weights: Optional[Mapping[NodeRef, float]] = None, *, use_empty_masters: bool = False,
                  threshold: float = 2.0, simulate: bool = False) -> dict:
        """``redis-cli --cluster rebalance`` (``--cluster-weight``, ``--cluster-use-empty-masters``,
        ``--cluster-threshold``, ``--cluster-simulate``)."""
        w = [(self._name(k), float(v)) for k, v in (weights or {}).items()]
        return json.loads(self._core.rebalance(w, use_empty_masters, float(threshold), simulate))

    def cluster_check(self) -> dict:
        """``redis-cli --cluster check``: ``{"ok", "agree", "open_slots", "uncovered_slots",
        "multiple_owners", "errors", "lines"}``."""
        return json.loads(self._core.cluster_check())

    def fix(self) -> dict:
        """``redis-cli --cluster fix`` (without the questions)."""
        return json.loads(self._core.fix())

    def check(self, *names: str) -> list:
        """Runs the checkers (default: all of :data:`KNOWN_CHECKS`) over the running member nodes:
        a list of ``{"name", "passed", "detail"}``."""
        return self._core.check(list(names))

    def healthy(self) -> bool:
        """All reachable, cluster_state:ok everywhere, agreement, all slots covered."""
        return self._core.healthy()[0]

    # --- records ---
    @property
    def events(self) -> list:
        """The timeline as dicts, as ``slotlab run --json --timeline`` prints it: ``{"t_ms", "node",
        "event", "about"?, "epoch"?, "value"?, "detail"?}``."""
        return json.loads(self._core.events())

    @property
    def trace_hash(self) -> Optional[str]:
        """Hash of the simulator's whole trace (hex), equal for equal seeds and inputs; None for
        real processes."""
        return self._core.trace_hash


# Real clusters still open when the interpreter exits (a script that forgot `with`) are stopped
# then; a killed interpreter (SIGKILL) cannot do that.
_open_real_clusters: "weakref.WeakSet[RealCluster]" = weakref.WeakSet()


@atexit.register
def _stop_real_clusters() -> None:
    for c in list(_open_real_clusters):
        try:
            c.close()
        except Error:
            pass


class RealCluster(Cluster):
    """The same API over real processes on free loopback ports: ``server`` is ``"slotlab-node"``
    (this build's daemon) or a path such as ``"/usr/bin/redis-server"``. Use it as a context
    manager: the processes are stopped when the block ends, whatever happens in it (and when the
    object is collected). Network faults (partition, delay, clock_skew) raise
    :class:`UnsupportedError`; ``trace_hash`` is None; time is real time."""

    def __init__(self, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 2000, seed: int = 1, *,
                 server: str = "slotlab-node", **kwargs: Any):
        if not isinstance(server, str):
            raise ArgumentError("server must be 'slotlab-node' or the path of a server binary")
        self._world = _world_arg(server)
        if self._world == "sim":
            raise ArgumentError("RealCluster needs a server binary; use Cluster for the simulator")
        super().__init__(masters, replicas, node_timeout_ms, seed, **kwargs)
        _open_real_clusters.add(self)

    @property
    def work_dir(self) -> str:
        """Where the nodes' directories (logs, nodes.conf) are, while the cluster runs."""
        return self._core.work_dir


class Client:
    """A cluster-aware client over a :class:`Cluster` (see :meth:`Cluster.client`). Each call
    blocks while world time passes until the command's outcome is known: its reply, an error
    reply (:class:`CommandError`), or no outcome (:class:`ConnectionError`: the write may or may
    not have been applied). ``last_served_by`` and ``last_redirects`` describe the last call."""

    def __init__(self, cluster: Cluster, command_timeout_ms: int = 2000, max_attempts: int = 16):
        self._cluster = cluster
        self._core = _core.Client(cluster._core, command_timeout_ms, max_attempts)
        self.last_served_by: Optional[str] = None
        self.last_redirects = 0

    def execute(self, *args: Union[str, bytes, int, float], key_index: int = 1, timeout_ms: int = 0,
                raw: bool = False) -> Any:
        """Any command, routed by the key at ``args[key_index]``."""
        kind, value, error, served_by, redirects = self._core.execute(list(args), key_index, timeout_ms, raw)
        self.last_served_by = served_by or None
        self.last_redirects = redirects
        if kind == "ok":
            return value
        if kind == "failed":
            raise CommandError(error)
        raise ConnectionError(f"outcome unknown: {error}")

    def get(self, key: Union[str, bytes], **kw: Any) -> Any:
        return self.execute("GET", key, **kw)

    def set(self, key: Union[str, bytes], value: Union[str, bytes, int, float], **kw: Any) -> Any:
        return self.execute("SET", key, value, **kw)

    def delete(self, key: Union[str, bytes], **kw: Any) -> int:
        return self.execute("DEL", key, **kw)

    def incr(self, key: Union[str, bytes], **kw: Any) -> int:
        return self.execute("INCR", key, **kw)

    def exists(self, key: Union[str, bytes], **kw: Any) -> int:
        return self.execute("EXISTS", key, **kw)
