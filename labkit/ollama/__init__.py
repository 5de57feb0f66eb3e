"""An Ollama-compatible HTTP server backed by llama.cpp and the kit's model store.

``ChatOllama(model="smollm2:135m")`` and the ``ollama`` Python client talk to
it unchanged, so a room without Ollama (or without internet) still runs the
Ollama lesson, and moving to a real Ollama changes only which program listens
on 127.0.0.1:11434. Introduced in notebooks/02_ollama.

    >>> from labkit.ollama import ensure_server
    >>> url = ensure_server()          # uses a running Ollama, or starts ours

``labkit serve`` runs it in the foreground (:func:`serve`). Nothing heavy is
imported until a function is called.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "ensure_server", "serve", "start_background"]


def serve(host: str | None = None, port: int | None = None, allow_remote: bool = False,
          token: str | None = None, admin_token: str | None = None) -> None:
    """Run the server in the foreground (``labkit serve``); see :func:`labkit.ollama.server.serve`.

    A classroom server: ``serve("0.0.0.0", allow_remote=True, token="SECRET", admin_token="OTHER")``
    (see :mod:`labkit.ollama.classroom`). Introduced in notebooks/02_ollama.
    """
    from labkit.ollama.server import serve as _serve

    _serve(host, port, allow_remote, token, admin_token)


def ensure_server(model: str | None = "smollm2:135m") -> str:
    """Use a running Ollama or start ours in the background; returns the base URL.

    See :func:`labkit.ollama.server.ensure_server`. Introduced in notebooks/02_ollama.
    """
    from labkit.ollama.server import ensure_server as _ensure

    return _ensure(model)


def start_background(host: str = "127.0.0.1", port: int | None = None) -> Any:
    """Start the server in a background thread of this process (tests, benchmarks)."""
    from labkit.ollama.server import start_background as _start

    return _start(host, port)


def create_app() -> Any:
    """The Starlette application (for running under any ASGI server)."""
    from labkit.ollama.app import create_app as _create

    return _create()
