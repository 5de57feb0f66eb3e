"""Per-client limits on a classroom server: how many requests one learner has at once.

The line of each model is served round-robin by client (:mod:`labkit.ollama.scheduler`), but one
client could still fill the whole queue (``OLLAMA_MAX_QUEUE``) and hold every slot, or hammer the
server with requests it then abandons. So on a server listening beyond loopback each client (its
address, :func:`labkit.ollama.classroom.client_of`) may have at most ``LABKIT_CLIENT_REQUESTS``
generation or embedding requests at once, waiting or running (default 8: a notebook's small
``abatch`` fits); one more is a 429 that says to wait for the answers. The instructor (admin token)
has no limit. A loopback server has one user and no limit.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

from collections import Counter

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from labkit.ollama import options

LIMITED_PATHS = frozenset({"/api/generate", "/api/chat", "/api/embed", "/api/embeddings",
                           "/v1/chat/completions", "/v1/completions", "/v1/embeddings"})


def client_limit() -> int:
    """``LABKIT_CLIENT_REQUESTS``: requests one client may have at once on a classroom server (default 8)."""
    return max(1, options.env_int("LABKIT_CLIENT_REQUESTS", 8))


class ClientLimit:
    """Answer 429 to a classroom client that already has :func:`client_limit` requests under way."""

    def __init__(self, app: ASGIApp, remote: bool = False) -> None:
        self.app = app
        self.remote = remote
        self.limit = client_limit()
        self.under_way: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (not self.remote or scope["type"] != "http" or scope["path"] not in LIMITED_PATHS
                or scope.get("state", {}).get("instructor")):
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else ""
        if self.under_way[client] >= self.limit:
            reply = JSONResponse({"error": f"too many requests at once: you already have {self.limit} waiting or "
                                           "running on this classroom server; wait for their answers, then ask again"},
                                 status_code=429)
            await reply(scope, receive, send)
            return
        self.under_way[client] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.under_way[client] -= 1
            if self.under_way[client] <= 0:
                del self.under_way[client]
