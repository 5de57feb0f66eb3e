"""Running one server for a whole room: who may connect, the shared token, who is who.

An instructor runs ``labkit serve --host 0.0.0.0 --allow-remote --token SECRET``
on one machine; learners set ``OLLAMA_HOST=http://<that machine>:11434`` and
``OLLAMA_API_KEY=SECRET`` and every lesson works against it.

* Listening on anything but loopback needs ``--allow-remote`` (or
  ``LABKIT_ALLOW_REMOTE=1``): anyone who can reach the port could otherwise
  run prompts and pull, create or delete models, and the traffic is plain HTTP.
* ``--token`` (or ``LABKIT_TOKEN``) makes every request except ``GET /`` carry
  ``Authorization: Bearer SECRET``. The ``ollama`` Python client sends exactly
  that when ``OLLAMA_API_KEY`` is set (see ``ollama/_client.py``), and so does
  ``ChatOllama``, which uses that client; OpenAI clients send their ``api_key``
  that way, so ``ChatOpenAI(base_url=".../v1", api_key=SECRET)`` works too.
* Requests are told apart by client (:func:`client_of`) so that the scheduler
  can take turns fairly (see :mod:`labkit.ollama.scheduler`).

Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("labkit.ollama")

CLIENT_HEADER = "X-Labkit-Client"  # optional: names a learner when several share one address


class RemoteNotAllowed(ValueError):
    """Binding to a non-loopback address without ``--allow-remote``."""


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.x, ::1, localhost)."""
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allow_remote_from_env() -> bool:
    """``LABKIT_ALLOW_REMOTE=1`` (or true/yes) is the environment's ``--allow-remote``."""
    return os.environ.get("LABKIT_ALLOW_REMOTE", "").strip().lower() in ("1", "true", "yes", "on")


def check_bind(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless the instructor said ``--allow-remote``.

    Introduced in notebooks/02_ollama.
    """
    if is_loopback(host) or allow_remote:
        return
    raise RemoteNotAllowed(
        f"refusing to listen on {host}: other machines could reach this server. For a classroom server, "
        f"add --allow-remote (or set LABKIT_ALLOW_REMOTE=1), preferably with --token SECRET; "
        f"for this machine only, use --host 127.0.0.1."
    )


def remote_warning(host: str, port: int, token: str | None) -> str:
    """What listening on ``host`` exposes, printed when the server starts."""
    lines = [
        f"WARNING: listening on {host}:{port}, reachable from other machines.",
        "  Anyone who can reach this port can run prompts and pull, create or delete models.",
        "  Prompts and answers travel unencrypted (plain HTTP) over the network.",
    ]
    if token:
        lines.append("  A token is required: learners set OLLAMA_API_KEY to it (header 'Authorization: Bearer ...').")
    else:
        lines.append("  Recommended: add --token SECRET (or LABKIT_TOKEN) so that only your room can use it.")
    return "\n".join(lines)


def unauthorized_message(has_header: bool) -> str:
    what = "wrong token" if has_header else "this server needs a token"
    return (f"unauthorized: {what}. Send the header 'Authorization: Bearer <token>' with the token your "
            "instructor gave you: set OLLAMA_API_KEY=<token> (the ollama Python client and ChatOllama send it "
            "as that header), or pass headers={'Authorization': 'Bearer <token>'} to ollama.Client, "
            "or client_kwargs={'headers': {'Authorization': 'Bearer <token>'}} to ChatOllama.")


class TokenCheck:
    """Answer 401 to requests without ``Authorization: Bearer <token>`` (``GET /`` stays open).

    ``GET /`` answers "Ollama is running" so that learners can check they reach
    the server before they set the token. The instructor's ``admin_token`` is accepted
    too, and marks the request as the instructor's (:func:`is_instructor`).
    """

    def __init__(self, app: ASGIApp, token: str | None = None, admin_token: str | None = None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.admin = f"Bearer {admin_token}".encode() if admin_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(b"authorization")
        if self.admin is not None and sent is not None and hmac.compare_digest(sent.strip(), self.admin):
            scope.setdefault("state", {})["instructor"] = True
            await self.app(scope, receive, send)
            return
        if self.expected is None or (scope["path"] == "/" and scope["method"] in ("GET", "HEAD")):
            await self.app(scope, receive, send)
            return
        if sent is not None and hmac.compare_digest(sent.strip(), self.expected):
            await self.app(scope, receive, send)
            return
        reply = JSONResponse({"error": unauthorized_message(sent is not None)}, status_code=401,
                             headers={"WWW-Authenticate": "Bearer"})
        await reply(scope, receive, send)


def is_instructor(request: Request) -> bool:
    """May ``request`` change what the whole room shares (models, what is loaded)?

    On a loopback server, always (one user). On a classroom server: a request with the admin
    token (``--admin-token``), or, when no admin token is set, one from the server's own machine.
    """
    if not is_remote(request):
        return True
    if getattr(request.state, "instructor", False):
        return True
    if getattr(request.app.state, "admin_token", None):
        return False
    return is_loopback(request.client.host) if request.client else False


def held_keep_alive(request: Request, keep_alive: float) -> float:
    """A learner's ``keep_alive`` on a classroom server is the server's default: 0 would unload the
    shared model after each answer (the next learner waits for a reload), forever would pin it."""
    if is_instructor(request):
        return keep_alive
    from labkit.ollama import options

    return options.default_keep_alive()


def instructor_only(what: str, handler: Any, methods: tuple[str, ...] = ("POST", "DELETE")) -> Any:
    """``handler`` for the instructor only on a classroom server (for ``methods``; others stay open to
    every token holder): a learner gets a 403 that says why."""
    from labkit.ollama.errors import OllamaError

    async def route(request: Request) -> Any:
        if request.method in methods and not is_instructor(request):
            raise OllamaError(403, f"only the instructor can {what} on this classroom server: the room shares its "
                                   "models (the instructor sends the admin token, or works on the server's machine)")
        return await handler(request)

    route.__name__ = handler.__name__
    route.__doc__ = handler.__doc__
    return route


def client_of(request: Request) -> str:
    """Who sent ``request``, for fair turns: the IP address.

    On a loopback-only server the ``X-Labkit-Client`` header may name a client instead (several
    simulated learners on one machine, as in bench/classroom.py). A classroom server listening
    beyond loopback ignores it: a learner could claim many turns by sending many names.
    Introduced in notebooks/02_ollama.
    """
    if not is_remote(request):
        named = request.headers.get(CLIENT_HEADER, "").strip()[:64]
        if named:
            return "name:" + named
    return "ip:" + (request.client.host if request.client else "")


def is_remote(request: Request) -> bool:
    """Does the server that got ``request`` listen beyond loopback (a classroom server)?"""
    return bool(getattr(request.app.state, "remote", False))


LOAD_OPTIONS = ("num_ctx", "num_batch", "num_thread")  # options that decide how a model is loaded


def held_load_options(request: Request, opts: dict[str, Any], model_parameters: dict[str, Any]) -> dict[str, Any]:
    """On a classroom server the instructor's load settings hold: a learner's ``num_ctx``,
    ``num_batch`` or ``num_thread`` would reload the shared model for everyone (and one learner
    could make the room thrash between settings). So they are replaced by the server's own (the
    model's parameters, ``OLLAMA_CONTEXT_LENGTH``); the request is served in the slot's context,
    its prompt cut to fit as Ollama cuts one (or a 400 with ``truncate: false``). Real Ollama
    reloads the model for every different ``num_ctx``, making the whole queue wait for it.
    On a loopback server the request's own settings are used.
    """
    if not is_remote(request):
        return opts
    from labkit.ollama import options

    own = options.merge(None, model_parameters)
    asked = {key: opts[key] for key in LOAD_OPTIONS if opts[key] != own[key]}
    if asked:
        log.info("classroom server: load settings %s of a request ignored (the server's hold)", asked)
    return {**opts, **{key: own[key] for key in LOAD_OPTIONS}}
