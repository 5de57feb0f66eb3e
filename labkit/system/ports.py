"""Local servers: a free port to start one on, and waiting until one answers.

Used wherever the kit or its tests start a server in another process or thread
(the Ollama-compatible server, JupyterLab for the browser tests, benchmarks).
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time

LOOPBACK = "127.0.0.1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """Could a server bind ``host:port`` now?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def bypass_proxy_for_loopback() -> None:
    """Where a proxy is configured (``HTTP_PROXY`` and friends), add the loopback names to ``NO_PROXY``.

    httpx (under ``ChatOllama`` and the ``ollama`` client) sends every request through the proxy,
    loopback ones included, and a proxy cannot reach your machine's 127.0.0.1: on a network with a
    proxy, the kit's own server would look dead. Called wherever the kit starts or finds a server.
    """
    if not any(os.environ.get(name) for name in PROXY_VARIABLES):
        return
    for name in ("NO_PROXY", "no_proxy"):
        present = [host.strip() for host in os.environ.get(name, "").split(",") if host.strip()]
        os.environ[name] = ",".join(present + [host for host in LOOPBACK_NAMES if host not in present])


def wait_for_http(url: str, *, process: subprocess.Popen | None = None, timeout: float = 60,
                  headers: dict[str, str] | None = None) -> None:
    """Return once ``url`` answers HTTP 200; raise RuntimeError if ``process`` exits or time runs out."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, headers=headers, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server at {url} exited with code {process.returncode} before answering")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answered at {url} within {timeout:.0f} s")
        time.sleep(0.05)
