"""Where the Ollama server is: ``OLLAMA_HOST`` read exactly as Ollama and its clients read it.

One reading for everyone: the LangChain builders and the ``ollama`` client (to talk to
a server), the kit's own server (to choose where to listen) and ``labkit doctor``.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import os

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 11434


def parse_host(value: str | None) -> tuple[str, str, int]:
    """Read OLLAMA_HOST as Ollama does: ``host``, ``host:port``, ``:port``, ``[v6]:port``, scheme optional."""
    text = (value or "").strip().strip("\"'").strip()
    scheme, default_port = "http", DEFAULT_PORT
    if "://" in text:
        scheme, text = text.split("://", 1)
        default_port = 443 if scheme == "https" else 80
    text = text.split("/", 1)[0]
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        if port_text.isdigit():
            port = int(port_text)
    return scheme, host or DEFAULT_HOST, port


def base_url(host: str, port: int, scheme: str = "http") -> str:
    """URL a client uses; 0.0.0.0 (listen everywhere) is reached at 127.0.0.1."""
    if host in ("0.0.0.0", "::", ""):
        host = DEFAULT_HOST
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def ollama_host() -> str:
    """The base URL clients use now, from ``OLLAMA_HOST`` (default http://127.0.0.1:11434)."""
    scheme, host, port = parse_host(os.environ.get("OLLAMA_HOST"))
    return base_url(host, port, scheme)
