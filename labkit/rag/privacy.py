"""Proof that a pipeline talks only to this machine: every network connection, recorded.

Python raises an *audit event* ``socket.connect`` for every connection any code in the process
opens (httpx, requests, the ollama client, a library's telemetry). :func:`recording` installs
a hook that writes each destination down while a block runs; :func:`loopback` tells whether an
address stays on this machine. Processes the pipeline starts (the kit's server) are checked by
their open connections (:func:`connections_of`).

What this proves: no code in this process, and no connection the server held when asked, went
beyond loopback while the block ran. What it does not: how the model files were made and
shipped, what other software on the machine sends, or what the operating system does. Running
with no network at all (CI does) is the stronger check. Introduced in notebooks/07_private_assistant.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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
