"""Test harness of zre_rs: network isolation and interop bookkeeping.

Network safety: at import (before any thread exists) the test process moves
into a network namespace of its own (``unshare(CLONE_NEWNET)``), with ``lo``
and a veth ``d0`` (10.200.0.1/24, its peer ``d1``) up. Every in-process node
lives there: its beacons never leave it, and the namespace disappears with
the process, also when a test fails or the run is killed. Tests that need
several hosts on a LAN use the :func:`lab` fixture: named namespaces
``zrelab-<pid>-py<n>-<tag>-*`` (the Rust harness's scheme, so its stale
clean-up knows them), veths to a bridge in a namespace of its own, all
deleted afterwards whatever happens.

Without root (or without iproute2) these tests skip, or fail when CI is set.
Live interop tests are named by family: ``pyre_`` (pyre 0.3.4) and
``zyre_c_`` (Zyre 2.0.1, built by scripts/setup-refpeers). When the
reference is missing they fail with an install hint, or skip under
``ZRE_SKIP_INTEROP=1``; they log to ``$ZRE_INTEROP_LOG`` for scripts/test's
summary.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

import pytest

CLONE_NEWNET = 0x40000000
PYRE_HINT = "pyre is not installed: pip install zeromq-pyre==0.3.4 pyzmq==27.3.0"
HERE = os.path.dirname(os.path.abspath(__file__))
_SEQ = itertools.count()


def in_ci() -> bool:
    value = os.environ.get("CI", "")
    return value not in ("", "0") and value.lower() != "false"


def _run(*args: str) -> str:
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), out.stderr.strip()))
    return out.stdout


def _isolate() -> Optional[str]:
    """Moves this process into a private network namespace; why not, or None."""
    if os.geteuid() != 0:
        return "not root: network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 is missing"
    if len(os.listdir("/proc/self/task")) != 1:
        return "the test process already has threads; cannot unshare its network namespace"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return "unshare(CLONE_NEWNET): %s" % os.strerror(ctypes.get_errno())
    try:
        _run("ip", "link", "set", "lo", "up")
        # A veth pair: d0 has the address, d1 just gives it a carrier.
        _run("ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1")
        _run("ip", "addr", "add", "10.200.0.1/24", "brd", "+", "dev", "d0")
        _run("ip", "link", "set", "d1", "up")
        _run("ip", "link", "set", "d0", "up")
    except RuntimeError as err:
        return str(err)
    return None


NO_NETNS = _isolate()


def pytest_report_header(config: pytest.Config) -> str:
    if NO_NETNS:
        return "zre_rs: no private network namespace (%s): networked tests skip" % NO_NETNS
    return "zre_rs: tests run in a private network namespace (lo, veth d0 10.200.0.1/24)"


@pytest.fixture
def isolated() -> None:
    """Skips (fails in CI) a networked test when there is no private namespace."""
    if NO_NETNS:
        if in_ci():
            pytest.fail("no network namespace (%s); CI is set, so this is a failure" % NO_NETNS)
        pytest.skip("no network namespace: %s" % NO_NETNS)


def _log_interop(line: str) -> None:
    path = os.environ.get("ZRE_INTEROP_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def zyre_prefix() -> str:
    cache = os.environ.get("ZRE_REFPEERS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache/zre-refpeers")
    return os.path.join(cache, "zyre")


def _zyre_missing() -> Optional[str]:
    prefix = zyre_prefix()
    if os.path.exists(os.path.join(prefix, "lib/libzyre.so")):
        return None
    return "Zyre 2.0.1 is not built in %s: run `scripts/setup-refpeers`" % prefix


def _require(request: pytest.FixtureRequest, family: str, why: Optional[str]) -> None:
    test = request.node.originalname
    if why is None:
        _log_interop("ran\t%s\t%s" % (family, test))
        return
    _log_interop("missing\t%s\t%s\t%s" % (family, test, why))
    if os.environ.get("ZRE_SKIP_INTEROP") == "1":
        pytest.skip("%s (ZRE_SKIP_INTEROP=1)" % why)
    pytest.fail("%s: %s (set ZRE_SKIP_INTEROP=1 to skip)" % (test, why))


@pytest.fixture(scope="session")
def zyre_peer_driver(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/interop/zyre_peer.c built against Zyre 2.0.1 (as the Rust
    tests build it, tests/support/cdrivers.rs)."""
    prefix = zyre_prefix()
    src = os.path.join(HERE, "..", "..", "tests", "interop", "zyre_peer.c")
    out = str(tmp_path_factory.mktemp("drivers") / "zyre_peer")
    lib = os.path.join(prefix, "lib")
    cmd = [os.environ.get("CC", "cc"), "-std=gnu11", "-O2", "-o", out, src, "-DZYRE_BUILD_DRAFT_API",
           "-I" + os.path.join(prefix, "include"), "-L" + lib, "-Wl,-rpath," + lib,
           "-lzyre", "-lczmq", "-lzmq", "-lpthread"]
    built = subprocess.run(cmd, capture_output=True, text=True)
    if built.returncode != 0:
        pytest.fail("%s failed:\n%s" % (" ".join(cmd), built.stderr))
    return out


@pytest.fixture
def zyre_reference(request: pytest.FixtureRequest, isolated: None) -> None:
    """For ``zyre_c_`` tests: Zyre 2.0.1 must be built."""
    _require(request, "zyre_c", _zyre_missing())


def _pyre_missing() -> Optional[str]:
    ok = subprocess.run([sys.executable, "-c", "import pyre, zmq"], capture_output=True)
    return None if ok.returncode == 0 else PYRE_HINT


@pytest.fixture
def pyre_reference(request: pytest.FixtureRequest, isolated: None) -> None:
    """For ``pyre_`` tests: pyre 0.3.4 must be importable."""
    _require(request, "pyre", _pyre_missing())


class Agent:
    """A node in a child process (``tests/agent.py``) inside a namespace,
    driven by JSON lines on stdin; its events come back as JSON lines."""

    def __init__(self, label: str, argv: List[str], env: Dict[str, str], ready=None) -> None:
        self.label = label
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.lines: List[dict] = []
        self.stderr: List[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        if ready is None:
            first = self.wait(lambda m: "ready" in m, 20)
            self.uuid: str = first["ready"]
            self.name: str = first["name"]
        else:  # zyre_peer.c: {"event": "READY", "peer": HEX, "name": ...}
            first = self.wait(ready, 20)
            self.uuid = first["peer"].lower()
            self.name = first["name"]
        self.ready = first

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                msg = {"junk": line}
            with self._cond:
                self.lines.append(msg)
                self._cond.notify_all()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())

    def send(self, **cmd: object) -> None:
        self.send_line(json.dumps(cmd))

    def send_line(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait(self, pred, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for msg in self.lines[seen:]:
                    if pred(msg):
                        return msg
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and seen == len(self.lines):
                    raise AssertionError(
                        "%s: timed out; lines: %s; stderr: %s"
                        % (self.label, self.lines[-20:], self.stderr[-20:])
                    )
                self._cond.wait(min(left, 0.2))

    def event(self, kind: str, timeout: float = 15.0, **fields: object) -> dict:
        return self.wait(
            lambda m: m.get("event") == kind and all(m.get(k) == v for k, v in fields.items()),
            timeout,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)


class Lab:
    """Named namespaces on LANs, deleted (with their processes) at the end."""

    def __init__(self, tag: str) -> None:
        self.prefix = "zrelab-%d-py%d-%s" % (os.getpid(), next(_SEQ), tag)
        self.namespaces: List[str] = []
        self.hosts: Dict[str, str] = {}
        self.agents: List[Agent] = []

    def _ns(self, name: str) -> str:
        ns = "%s-%s" % (self.prefix, name)
        _run("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        _run("ip", "-n", ns, "link", "set", "lo", "up")
        return ns

    def lan(self, name: str, members: Dict[str, str], prefix_len: int = 24) -> None:
        """A bridge in a namespace of its own and a veth to each host
        (created if needed), the host's end named ``name``."""
        bridge = self._ns(name)
        _run("ip", "-n", bridge, "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", bridge, "link", "set", "br0", "up")
        for host, addr in members.items():
            if host not in self.hosts:
                self.hosts[host] = self._ns(host)
            ns = self.hosts[host]
            port = "p" + host
            _run("ip", "-n", bridge, "link", "add", port, "type", "veth", "peer", "name", name, "netns", ns)
            _run("ip", "-n", bridge, "link", "set", port, "master", "br0", "up")
            _run("ip", "-n", ns, "addr", "add", "%s/%d" % (addr, prefix_len), "brd", "+", "dev", name)
            _run("ip", "-n", ns, "link", "set", name, "up")

    def agent(self, host: str, impl: str, name: str, *args: str, env: Optional[Dict[str, str]] = None) -> Agent:
        argv = [sys.executable, os.path.join(HERE, "agent.py"), impl, name] + list(args)
        return self.spawn(host, name, argv, env)

    def spawn(self, host: str, label: str, argv: List[str], env=None, ready=None) -> Agent:
        """Runs ``argv`` in ``host``'s namespace, as an :class:`Agent`."""
        full_env = dict(os.environ)
        full_env.update(env or {})
        agent = Agent("%s@%s" % (label, host), ["ip", "netns", "exec", self.hosts[host]] + argv, full_env, ready)
        self.agents.append(agent)
        return agent

    def close(self) -> None:
        for agent in self.agents:
            try:
                agent.kill()
            except Exception:
                pass
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture
def lab(request: pytest.FixtureRequest, isolated: None):
    """A :class:`Lab` for this test, deleted after it (also on failure)."""
    tag = "".join(c for c in request.node.name.lower() if c.isalnum())[-8:]
    the_lab = Lab(tag)
    try:
        yield the_lab
    finally:
        the_lab.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Namespaces of dead runs of this harness (or the Rust one): remove.
    if NO_NETNS:
        return
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        ns = line.split()[0] if line.split() else ""
        parts = ns.split("-")
        if len(parts) > 2 and parts[0] == "zrelab" and parts[1].isdigit():
            if not os.path.exists("/proc/%s" % parts[1]):
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
