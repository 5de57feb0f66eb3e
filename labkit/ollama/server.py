"""Starting the server: in the foreground (``labkit serve``) or in the background
for a notebook (:func:`ensure_server`).

Both bind ``127.0.0.1:11434`` unless ``OLLAMA_HOST`` says otherwise, exactly
where a real Ollama would listen, so client code does not change when you
move to a real Ollama. Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.engines.ollama_host import DEFAULT_HOST, base_url, parse_host
from labkit.ollama import classroom
from labkit.ollama.options import env_str
from labkit.system.ports import bypass_proxy_for_loopback, free_port, port_is_free
from labkit.system.rss import limit_malloc_arenas

log = logging.getLogger("labkit.ollama")

COURSE_MODEL = "smollm2:135m"


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the moment of each line.

    A notebook kernel or a test runner may replace ``sys.stderr`` after the server
    started; a handler holding the old one would write into a closed file.
    """

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 - the stream logging writes to
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001 - logging sets it once; the current one is used
        pass


def _configure_logging(level: int) -> None:
    logger = logging.getLogger("labkit.ollama")
    if not any(getattr(h, "_labkit", False) for h in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        handler._labkit = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)


def serve(host: str | None = None, port: int | None = None, allow_remote: bool = False,
          token: str | None = None, admin_token: str | None = None) -> None:
    """Run the Ollama-compatible server in the foreground until Ctrl+C (``labkit serve``).

    Logs one line per request: method, path, model, status, duration, tokens/s.
    A classroom server listens on a non-loopback address such as 0.0.0.0, which
    needs ``allow_remote`` (or ``LABKIT_ALLOW_REMOTE=1``); ``token`` (or
    ``LABKIT_TOKEN``) then keeps it to the room, and ``admin_token`` (or ``LABKIT_ADMIN_TOKEN``) is
    the instructor's, who alone may change the shared models. See :mod:`labkit.ollama.classroom`.
    Introduced in notebooks/02_ollama.
    """
    import uvicorn

    from labkit.ollama.app import create_app

    scheme, env_host, env_port = parse_host(os.environ.get("OLLAMA_HOST"))
    host = host or env_host
    port = port or env_port
    allow_remote = allow_remote or classroom.allow_remote_from_env()
    token = token or os.environ.get("LABKIT_TOKEN", "").strip() or None
    admin_token = admin_token or os.environ.get("LABKIT_ADMIN_TOKEN", "").strip() or None
    classroom.check_bind(host, allow_remote)
    if os.environ.get("LABKIT_EXIT_WITH_PARENT", "").isdigit():
        exit_with_parent(int(os.environ["LABKIT_EXIT_WITH_PARENT"]))
    _configure_logging(logging.DEBUG if env_str("OLLAMA_DEBUG") not in ("", "0", "false") else logging.INFO)
    limit_malloc_arenas()  # before any worker thread exists: keeps a long-running server's memory flat
    if not classroom.is_loopback(host):
        log.warning("%s", classroom.remote_warning(host, port, token))
    log.info("labkit Ollama-compatible server (llama.cpp) listening on %s%s", base_url(host, port),
             " (token required)" if token else "")
    uvicorn.run(create_app(bind_host=host, token=token, allow_remote=allow_remote, admin_token=admin_token),
                host=host, port=port, log_level="warning",
                access_log=False, timeout_graceful_shutdown=3)


# ---- background server for notebooks and tests ------------------------------------------------

@dataclass
class BackgroundServer:
    """A server running in a daemon thread of this process."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to finish and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout)


def start_background(host: str = DEFAULT_HOST, port: int | None = None, log_level: int = logging.WARNING,
                     allow_remote: bool = False, token: str | None = None) -> BackgroundServer:
    """Start the server in a daemon thread and wait until it accepts connections.

    ``allow_remote`` and ``token`` as for :func:`serve`.
    """
    import uvicorn

    from labkit.ollama.app import create_app

    classroom.check_bind(host, allow_remote)
    bypass_proxy_for_loopback()
    port = port or free_port(host)
    _configure_logging(log_level)
    config = uvicorn.Config(create_app(bind_host=host, token=token, allow_remote=allow_remote), host=host, port=port, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="labkit-ollama-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the labkit server could not start on {host}:{port}")
        time.sleep(0.02)
    return BackgroundServer(base_url(host, port), server, thread)


@dataclass
class ServerProcess:
    """The server in a process of its own (``labkit serve``), started for a notebook or ``labkit lab``."""

    url: str
    process: subprocess.Popen
    log: Path

    def stop(self, timeout: float = 10.0) -> None:
        """Ask it to finish (SIGTERM: uvicorn shuts down gracefully) and wait."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def start_process(host: str = DEFAULT_HOST, port: int | None = None,
                  preexec_fn: Callable[[], None] | None = None) -> ServerProcess:
    """Start ``labkit serve`` in its own process on ``host:port`` and wait until it answers.

    Its own process, not a thread of yours: the server's llama.cpp threads then never compete
    with llama.cpp work in your own process for the same thread pool (in one process, OpenMP
    throttles its threads as soon as there are more of them than cores, and decode slows
    down), a crash in native code cannot take your notebook with it, and it is how a real
    Ollama runs. Its log goes to a file in the model store; it stops when this process exits.
    ``preexec_fn`` runs in the child before the server starts (bench/hostile.py caps its memory there).
    """
    from labkit.models import store_root
    from labkit.system.ports import wait_for_http

    bypass_proxy_for_loopback()
    port = port or free_port(host)
    log = store_root() / "logs" / f"serve-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LABKIT_EXIT_WITH_PARENT": str(os.getpid())}
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "labkit.cli", "serve", "--host", host, "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, env=env, preexec_fn=preexec_fn)
    running = ServerProcess(base_url(host, port), process, log)
    try:
        wait_for_http(running.url + "/", process=process, timeout=60)
    except RuntimeError as err:
        running.stop()
        raise RuntimeError(f"the labkit server did not start ({err}); its log: {log}") from None
    return running


def exit_with_parent(parent: int) -> None:
    """End this server (gracefully, SIGTERM) once the process that started it is gone."""
    import signal

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="labkit-parent-watch", daemon=True).start()


_started: ServerProcess | None = None
_in_use: str | None = None
_lock = threading.Lock()


def _probe(url: str) -> str | None:
    """The version of an Ollama answering at ``url``, or None."""
    import httpx

    try:
        with httpx.Client(timeout=1.0, trust_env=False) as http:  # loopback: never via a proxy
            reply = http.get(url + "/")
            if reply.status_code == 200 and "Ollama is running" in reply.text:
                return str(http.get(url + "/api/version").json().get("version", "?"))
    except (httpx.HTTPError, ValueError):
        return None
    return None


def _make_sure_pulled(url: str, model: str) -> None:
    """Pull ``model`` on an existing server if it does not have it, with a progress bar."""
    import ollama
    from tqdm.auto import tqdm

    client = ollama.Client(host=url)
    have = {m.model for m in client.list().models}
    if model in have:
        return
    bar = None
    for update in client.pull(model, stream=True):
        if update.total and bar is None:
            bar = tqdm(total=update.total, unit="B", unit_scale=True, desc=f"pulling {model}")
        if bar is not None and update.completed:
            bar.update(update.completed - bar.n)
    if bar is not None:
        bar.close()


def ensure_server(model: str | None = COURSE_MODEL) -> str:
    """Make sure an Ollama API answers, and return its base URL.

    If an Ollama (the real one or ours) answers at ``OLLAMA_HOST`` (default
    127.0.0.1:11434) it is used, and ``model`` is pulled there if missing.
    Otherwise the kit's server starts in a process of its own (:func:`start_process`),
    on 11434 or a free port if that is taken, and ``OLLAMA_HOST`` is set so that
    ``ChatOllama`` and ``ollama.Client`` find it. Safe to call from every notebook:
    later calls return the same URL. The server stops when Python exits.
    Introduced in notebooks/02_ollama.
    """
    global _started, _in_use
    bypass_proxy_for_loopback()
    with _lock:
        if _in_use is not None:
            return _in_use
        scheme, host, port = parse_host(os.environ.get("OLLAMA_HOST"))
        url = base_url(host, port, scheme)
        version = _probe(url)
        if version is not None:
            if model:
                _make_sure_pulled(url, model)
            print(f"Using the Ollama server already running at {url} (version {version}).")
            _in_use = url
            return url
        bind = DEFAULT_HOST if host in ("0.0.0.0", "::", "localhost") else host
        if not classroom.is_loopback(bind):
            raise RuntimeError(f"No Ollama answers at {url} (OLLAMA_HOST). If that is your classroom's server, "
                               "check the address and that it is running; to use a server on this machine "
                               "instead, unset OLLAMA_HOST.")
        if not port_is_free(bind, port):
            port = free_port(bind)
        _started = start_process(bind, port)
        atexit.register(_stop_started)
        os.environ["OLLAMA_HOST"] = _started.url
        print(f"Started the labkit Ollama-compatible server (llama.cpp) at {_started.url}, in its own process "
              f"(log: {_started.log}).")
        _in_use = _started.url
        return _in_use


def _stop_started() -> None:
    global _started, _in_use
    if _started is not None:
        _started.stop()
        _started = None
        _in_use = None
