"""redis-cli in interactive mode: no command on its command line, a terminal on stdin (a pty), so it
runs its line editor, asks the server for COMMAND DOCS at start-up for its hints and help (slotlab-
node refuses DOCS, so redis-cli uses its built-in help table instead) and prints replies the way it
does for a person. The session's transcript, hints included, must be the same against slotlab-node
as against redis-server (the control, started in the same test)."""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import time

import pytest

from conftest import REDIS_CLI, REDIS_SERVER, Proc, cli, make_cluster, wait_until

ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def lab(server, request):
    return make_cluster(server, request)


class Session:
    """redis-cli -p PORT on a pseudo-terminal."""

    def __init__(self, port):
        self.prompt = f"127.0.0.1:{port}> "
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: redis-cli with the pty as its terminal, 200 columns wide
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
            env = dict(os.environ, TERM="xterm", HOME="/nonexistent-home")  # no ~/.rediscli_history
            os.execve(REDIS_CLI, [REDIS_CLI, "-p", str(port)], env)
        self.read_until_prompt()

    def read_until_prompt(self, timeout=10):
        """Reads until the output goes quiet with the prompt at its end."""
        out = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r, _, _ = select.select([self.fd], [], [], 0.3)
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
                continue
            text = out.decode(errors="replace")
            if ESCAPES.sub("", text).replace("\r", "").endswith(self.prompt):
                return text
        raise AssertionError(f"no prompt {self.prompt!r} within {timeout}s; got {out!r}")

    def command(self, line):
        """Types a line and Enter; returns the reply lines as printed (no echo, no prompt)."""
        os.write(self.fd, line.encode() + b"\r")
        raw = self.read_until_prompt()
        text = ESCAPES.sub("", raw).replace("\r", "")
        lines = text.split("\n")
        # lines[0]: the edited line (prompt, what was typed, hints); the last: the next prompt.
        assert line in lines[0], (line, lines)
        return lines[1:-1], lines[0]

    def close(self):
        os.write(self.fd, b"quit\r")
        deadline = time.time() + 10
        while time.time() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            try:
                os.read(self.fd, 65536)
            except OSError:
                pass
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        raise AssertionError("redis-cli did not exit after quit")


def transcript(port):
    # One node that serves every slot: a cluster of its own, cluster_state:ok.
    assert cli(port, "CLUSTER", "ADDSLOTSRANGE", 0, 16383) == "OK"
    wait_until(lambda: "cluster_state:ok" in cli(port, "CLUSTER", "INFO"), timeout=10, what="cluster_state:ok")
    s = Session(port)
    try:
        got = {}
        for line in ["set a 1", "get a", "incr a", "get nosuchkey", "rpush l x y", "lrange l 0 -1",
                     "hset h f v", "hgetall h", "foo bar", "set a", "cluster info"]:
            got[line] = s.command(line)[0]
        # A hint: typing a command name shows its arguments (from COMMAND DOCS or built-in help).
        os.write(s.fd, b"lrange ")
        time.sleep(0.5)
        hint = ESCAPES.sub("", os.read(s.fd, 65536).decode(errors="replace"))
        os.write(s.fd, b"\x15")  # Ctrl-U: clear the line
        s.read_until_prompt()
    finally:
        code = s.close()
    assert code == 0
    return got, hint


def test_interactive_session_matches_redis_server(lab, server):
    (p,) = lab.spawn(1, cluster=True)
    got, hint = transcript(p.port)
    assert got["set a 1"] == ["OK"]
    assert got["get a"] == ['"1"']
    assert got["incr a"] == ["(integer) 2"]
    assert got["get nosuchkey"] == ["(nil)"]
    assert got["lrange l 0 -1"] == ['1) "x"', '2) "y"']
    assert got["hgetall h"] == ['1) "f"', '2) "v"']
    assert got["foo bar"] == ["(error) ERR unknown command 'foo', with args beginning with: 'bar' "]
    assert got["set a"] == ["(error) ERR wrong number of arguments for 'set' command"]
    # CLUSTER INFO's bulk string is printed line by line.
    assert got["cluster info"][:2] == ["cluster_state:ok", "cluster_slots_assigned:16384"]
    assert "cluster_known_nodes:1" in got["cluster info"]
    assert "key start stop" in hint  # LRANGE's arguments
    if server["kind"] == "redis-server":
        return
    # The control: the same session against redis-server prints the same thing.
    control = Proc(REDIS_SERVER, lab.base_dir, cluster=True)
    try:
        want, want_hint = transcript(control.port)
    finally:
        control.stop()
    for line, lines in want.items():
        if line == "cluster info":  # message counters differ from run to run
            strip = lambda ls: [l for l in ls if not l.startswith("cluster_stats_messages")]
            assert strip(got[line]) == strip(lines), line
        else:
            assert got[line] == lines, line
    assert hint.replace(str(p.port), "PORT") == want_hint.replace(str(control.port), "PORT")
