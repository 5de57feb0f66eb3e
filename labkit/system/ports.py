"""Local servers: a free port to start one on, and waiting until one answers.

Used wherever the kit or its tests start a server in another process or thread
(the Ollama-compatible server, JupyterLab for the browser tests, benchmarks).
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import socket
import subprocess
import time

LOOPBACK = "127.0.0.1"


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
