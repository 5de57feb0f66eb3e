"""Proof that a pipeline talks only to this machine: its sockets, recorded two ways.

1. Python raises an *audit event* ``socket.connect`` when Python code connects a socket (httpx,
   requests, the ollama client, a library's telemetry). :func:`recording` installs a hook that
   writes each destination down while a block runs. It does not see a UDP ``sendto`` (no
   connect), nor sockets that native code (a C library) opens without Python's socket module.
2. The operating system's view: :func:`watching` samples, in a background thread, every inet
   socket (TCP and UDP, IPv4 and IPv6) that the given processes hold, through ``psutil``,
   whoever opened it. :func:`server_pid` finds the process serving the Ollama API by the port
   it listens on, so the server is watched whether it is the kit's or a real Ollama. Sampling
   can miss a socket opened and closed between two samples; the audit hook covers those
   opened from Python.

:func:`only_loopback` is the claim, and it fails when nothing was observed at all: a watch that
saw no socket (a wrong pid, a server that was never used) proves nothing. What this does not
cover: how the model files were made and shipped, what other programs on the machine send, or
what the operating system does. Running with no network at all (CI does) is the stronger check.
Introduced in notebooks/07_private_assistant.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from typing import Any

_active: list[list[tuple[str, Any]]] = []
_installed = False


def _hook(event: str, args: tuple) -> None:
    if event == "socket.connect" and _active:
        sock, address = args
        for log in _active:
            log.append((str(getattr(sock, "family", "")), address))


def start() -> list[tuple[str, Any]]:
    """Start recording ``(address family, address)`` of every connection; returns the growing log."""
    global _installed
    if not _installed:  # an audit hook cannot be removed: install one, switch it on per log
        sys.addaudithook(_hook)
        _installed = True
    log: list[tuple[str, Any]] = []
    _active.append(log)
    return log


def stop(log: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Stop adding to ``log`` (started by :func:`start`) and return it."""
    _active[:] = [other for other in _active if other is not log]  # by identity: two empty logs are equal
    return log


@contextmanager
def recording() -> Iterator[list[tuple[str, Any]]]:
    """Record every connection opened inside the block (:func:`start` / :func:`stop` around it)."""
    log = start()
    try:
        yield log
    finally:
        stop(log)


def loopback(address: Any) -> bool:
    """True for 127.0.0.0/8, ::1, localhost and Unix sockets (a path, not a host)."""
    if isinstance(address, (str, bytes)):  # AF_UNIX: a file on this machine
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connections_of(pids: list[int]) -> list[tuple[int, str]]:
    """``(pid, "remote host:port")`` of every connected socket the processes hold now."""
    import psutil

    found = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            for conn in process.net_connections(kind="inet"):
                if conn.raddr:
                    found.append((pid, f"{conn.raddr.ip}:{conn.raddr.port}"))
        except psutil.Error:
            continue
    return found


@dataclass(frozen=True)
class Socket:
    """One inet socket a process held, as the operating system reports it."""

    pid: int
    kind: str  # "tcp" or "udp"
    local: str
    remote: str  # "" when not connected (a listening socket, a UDP socket that only sends)
    status: str

    def stays_local(self) -> bool:
        """Connected to loopback, listening, or (UDP) bound to loopback only."""
        if self.remote:
            return loopback((self.remote.rsplit(":", 1)[0], 0))
        if self.kind == "udp":  # unconnected UDP can sendto anywhere unless bound to loopback
            return loopback((self.local.rsplit(":", 1)[0], 0))
        return True


@dataclass
class Watch:
    """What :func:`watching` saw: every distinct socket, and how many samples were taken."""

    pids: list[int]
    sockets: set[Socket] = field(default_factory=set)
    samples: int = 0

    def beyond_loopback(self) -> list[Socket]:
        """The sockets that reached, or could reach, another machine."""
        return sorted((s for s in self.sockets if not s.stays_local()), key=str)


def _address(addr: Any) -> str:
    return f"{addr.ip}:{addr.port}" if addr else ""


def sockets_of(pid: int) -> list[Socket]:
    """Every inet socket (TCP and UDP, v4 and v6) process ``pid`` holds now."""
    import socket

    import psutil

    try:
        held = psutil.Process(pid).net_connections(kind="inet")
    except psutil.Error:
        return []
    return [Socket(pid, "udp" if c.type == socket.SOCK_DGRAM else "tcp", _address(c.laddr), _address(c.raddr),
                   c.status) for c in held]


def server_pid(url: str) -> int | None:
    """The process listening on ``url``'s port on this machine (the kit's server or a real Ollama)."""
    import psutil

    port = urlsplit(url if "://" in url else f"http://{url}").port or 11434
    for proc in psutil.process_iter():
        try:
            if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                   for c in proc.net_connections(kind="tcp")):
                return proc.pid
        except psutil.Error:
            continue
    return None


@contextmanager
def watching(pids: list[int], interval: float = 0.05) -> Iterator[Watch]:
    """Sample the sockets of ``pids`` every ``interval`` seconds while the block runs."""
    watch, done = Watch(list(pids)), threading.Event()

    def sample() -> None:
        for pid in watch.pids:
            watch.sockets.update(sockets_of(pid))
        watch.samples += 1

    def run() -> None:
        while not done.is_set():
            sample()
            done.wait(interval)

    thread = threading.Thread(target=run, name="labkit-socket-watch", daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        done.set()
        thread.join()
        sample()  # a last look at the end of the block


def only_loopback(watch: Watch, log: list[tuple[str, Any]] | None = None) -> bool:
    """The claim: something was observed, and every socket seen (and connection logged) stayed local."""
    observed = bool(watch.sockets) or bool(log)
    return observed and not watch.beyond_loopback() and all(loopback(address) for _, address in log or [])
