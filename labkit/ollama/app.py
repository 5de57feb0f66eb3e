"""The Starlette application: Ollama's routes, error handling, CORS and Host checks.

Each route lives in a small module (:mod:`~labkit.ollama.chat`,
:mod:`~labkit.ollama.embed`, :mod:`~labkit.ollama.manage`,
:mod:`~labkit.ollama.openai`); this module wires them together with what
every request goes through: the Host-header check Ollama uses against DNS
rebinding, CORS for ``OLLAMA_ORIGINS``, a JSON error for anything that goes
wrong (never a traceback), one log line per request, and the classroom token
check (:mod:`~labkit.ollama.classroom`).
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labkit.ollama import (
    chat,
    classroom,
    create,
    embed,
    limits,
    manage,
    openai,
    options,
    store,
    wire,
)
from labkit.ollama.errors import OllamaError
from labkit.ollama.scheduler import Scheduler

log = logging.getLogger("labkit.ollama")
access_log = logging.getLogger("labkit.ollama.access")

VERSION = "0.32.15"  # the Ollama release whose API this server imitates (checked against its source, 2026-08)


# ---- small routes -------------------------------------------------------------------------------

async def root(request: Request) -> Response:
    return PlainTextResponse("Ollama is running")


async def version(request: Request) -> Response:
    return wire.reply({"version": VERSION})


async def tags(request: Request) -> Response:
    """GET/HEAD /api/tags: the models this server can run."""
    rows = []
    for model in store.list_models():
        rows.append({"name": model.name.short, "model": model.name.short, "modified_at": model.modified_at,
                     "size": model.size, "digest": model.digest, "details": model.details})
    return wire.reply({"models": rows})


async def ps(request: Request) -> Response:
    """GET /api/ps: the models in memory and when they will be unloaded."""
    return wire.reply({"models": request.app.state.scheduler.running()})


# ---- errors -------------------------------------------------------------------------------------

def guarded(handler: Any) -> Any:
    """Turn any error of a route into Ollama's ``{"error": ...}`` reply, never a traceback."""

    async def route(request: Request) -> Response:
        try:
            return await handler(request)
        except OllamaError as exc:
            return wire.error_reply(exc.status, exc.message)
        except Exception as exc:
            log.exception("error while handling %s %s", request.method, request.url.path)
            return wire.error_reply(500, f"internal error: {type(exc).__name__}: {exc}")

    route.__name__ = handler.__name__
    route.__doc__ = handler.__doc__
    return route


async def _not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("404 page not found", status_code=404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("405 method not allowed", status_code=405)


# ---- Host check and CORS (Ollama's GenerateRoutes / allowedHostsMiddleware) ------------------------

def _allowed_host(host: str) -> bool:
    host = host.lower()
    if host in ("", "localhost"):
        return True
    if host == socket.gethostname().lower():
        return True
    return any(host.endswith("." + tld) for tld in ("localhost", "local", "internal"))


def _split_host(value: str) -> str:
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


class HostCheck:
    """Refuse requests whose Host header names a remote site (DNS rebinding defence).

    Only applies when the server listens on a loopback address, as in Ollama: a
    classroom server (``bind_host`` 0.0.0.0 or a LAN address) accepts whatever
    name the learners' machines use for it.
    """

    def __init__(self, app: ASGIApp, bind_host: str | None = None) -> None:
        self.app = app
        self.remote = bind_host is not None and not classroom.is_loopback(bind_host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.remote or not _listens_on_loopback(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = _split_host(headers.get(b"host", b"").decode("latin-1"))
        try:
            addr = ipaddress.ip_address(host)
            ok = addr.is_loopback or addr.is_private or addr.is_unspecified
        except ValueError:
            ok = _allowed_host(host)
        if not ok:
            await PlainTextResponse("", status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _listens_on_loopback(scope: Scope) -> bool:
    server = scope.get("server")
    if not server:
        return True
    try:
        return ipaddress.ip_address(server[0]).is_loopback
    except ValueError:
        return True


def _origin_regex() -> str:
    """Ollama's allowed origins: local hosts on any port, app schemes, plus OLLAMA_ORIGINS."""
    patterns = []
    for host in ("localhost", "127.0.0.1", "0.0.0.0"):
        patterns.append(rf"https?://{re.escape(host)}(:[0-9]+)?")
    for scheme in ("app", "file", "tauri", "vscode-webview", "vscode-file"):
        patterns.append(rf"{scheme}://.*")
    extra = options.env_str("OLLAMA_ORIGINS")
    for origin in filter(None, (o.strip() for o in extra.split(","))):
        patterns.append(".*" if origin == "*" else ".*".join(re.escape(p) for p in origin.split("*")))
    return "|".join(f"(?:{p})" for p in patterns)


# ---- one log line per request ------------------------------------------------------------------------

class AccessLog:
    """Log method, path, model, status, duration and tokens/s when a response ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            seconds = time.perf_counter() - started
            rate = ""
            if state.get("eval_duration"):
                rate = f" {state['eval_count'] / (state['eval_duration'] / 1e9):.1f} tokens/s"
            access_log.info("%s %s %s %s %.3fs%s", scope["method"], scope["path"], state.get("model", "-"),
                            status or "-", seconds, rate)


# ---- the app -------------------------------------------------------------------------------------------

def create_app(bind_host: str | None = None, token: str | None = None, allow_remote: bool = False,
               admin_token: str | None = None) -> Starlette:
    """A fresh server application (its own scheduler, so models load on first use).

    ``bind_host`` is the address the server listens on (default 127.0.0.1). A non-loopback one
    needs ``allow_remote`` (checked here, so no caller can skip it), turns the Host check off
    as in Ollama, and puts the app in remote mode: models are created only from uploaded blobs,
    ``/api/show`` names no server path, and fair turns go by address. With ``token`` every
    request but ``GET /`` needs ``Authorization: Bearer <token>`` (see :mod:`labkit.ollama.classroom`).
    On a classroom server only the instructor (``admin_token``, or the server's own machine when there
    is none) may pull, create, copy, delete, upload or unload models, and each client has a limit on
    requests at once (:mod:`labkit.ollama.limits`).
    """
    bind_host = bind_host or "127.0.0.1"
    classroom.check_bind(bind_host, allow_remote)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.scheduler = Scheduler()
        app.state.scheduler.start()
        try:
            yield
        finally:
            await app.state.scheduler.stop()

    routes = [
        Route("/", guarded(root), methods=["GET", "HEAD"]),
        Route("/api/version", guarded(version), methods=["GET", "HEAD"]),
        Route("/api/tags", guarded(tags), methods=["GET", "HEAD"]),
        Route("/api/ps", guarded(ps), methods=["GET"]),
        Route("/api/generate", guarded(chat.generate), methods=["POST"]),
        Route("/api/chat", guarded(chat.chat), methods=["POST"]),
        Route("/api/embed", guarded(embed.embed), methods=["POST"]),
        Route("/api/embeddings", guarded(embed.embeddings), methods=["POST"]),
        Route("/api/show", guarded(manage.show), methods=["POST"]),
        Route("/api/pull", guarded(classroom.instructor_only("pull models", manage.pull)), methods=["POST"]),
        Route("/api/push", guarded(manage.push), methods=["POST"]),
        Route("/api/create", guarded(classroom.instructor_only("create models", create.create)), methods=["POST"]),
        Route("/api/copy", guarded(classroom.instructor_only("copy models", manage.copy)), methods=["POST"]),
        Route("/api/delete", guarded(classroom.instructor_only("delete models", manage.delete)), methods=["DELETE"]),
        Route("/api/blobs/{digest}", guarded(classroom.instructor_only("upload files", create.blob)), methods=["HEAD", "POST"]),
        Route("/v1/chat/completions", guarded(openai.chat_completions), methods=["POST"]),
        Route("/v1/completions", guarded(openai.completions), methods=["POST"]),
        Route("/v1/embeddings", guarded(openai.embeddings), methods=["POST"]),
        Route("/v1/models", guarded(openai.list_models), methods=["GET"]),
        Route("/v1/models/{model:path}", guarded(openai.retrieve_model), methods=["GET"]),
    ]
    middleware = [
        Middleware(AccessLog),
        Middleware(HostCheck, bind_host=bind_host),
        Middleware(CORSMiddleware, allow_origin_regex=_origin_regex(), allow_methods=["*"], allow_headers=["*"]),
        Middleware(classroom.TokenCheck, token=token, admin_token=admin_token),  # after CORS: preflights carry no token
        Middleware(limits.ClientLimit, remote=not classroom.is_loopback(bind_host)),  # after the token: knows the instructor
    ]
    handlers: dict[Any, Any] = {404: _not_found, 405: _not_allowed}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan)
    app.state.remote = not classroom.is_loopback(bind_host)
    app.state.admin_token = admin_token
    return app
