"""Starting the server: ensure_server() for notebooks and serve() for `labkit serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import ollama
import pytest

from labkit.ollama import server
from labkit.system.ports import wait_for_http

pytest_plugins = ["ollama_fixtures"]  # the shared server fixtures
MODEL = "smollm2:135m"


@pytest.fixture()
def fresh_state():  # type: ignore[no-untyped-def]
    """ensure_server() remembers its server for the process: start each test from scratch."""
    server._stop_started()
    server._in_use = None
    yield
    server._stop_started()
    server._in_use = None


def test_ensure_server_uses_a_running_ollama(url: str, fresh_state, capsys) -> None:  # type: ignore[no-untyped-def]
    assert os.environ["OLLAMA_HOST"] == url
    assert server.ensure_server() == url
    assert server.ensure_server() == url  # idempotent, and says so only once
    out = capsys.readouterr().out
    assert out.count("Using the Ollama server already running at") == 1


def test_ensure_server_starts_ours_on_a_free_port(fresh_state, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:  # something that is not Ollama holds the wanted port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port}")
        monkeypatch.setenv("LABKIT_THREADS", "1")
        monkeypatch.setenv("OLLAMA_CONTEXT_LENGTH", "1024")
        started = server.ensure_server()
        assert started != f"http://127.0.0.1:{port}" and started.startswith("http://127.0.0.1:")
        assert os.environ["OLLAMA_HOST"] == started  # so ChatOllama() and ollama.Client() find it
        assert server.ensure_server() == started
        reply = ollama.Client().generate(model=MODEL, prompt="Hi", options={"num_predict": 2, "temperature": 0})
        assert reply.eval_count == 2
    out = capsys.readouterr().out
    assert "Started the labkit Ollama-compatible server (llama.cpp) at" in out and "in its own process" in out
    process = server._started.process
    assert process.pid != os.getpid() and process.poll() is None  # a process of its own
    server._stop_started()
    assert process.poll() is not None
    with pytest.raises(httpx.HTTPError):
        httpx.get(started + "/", timeout=2)


def test_a_started_server_ends_with_the_process_that_started_it(tmp_path) -> None:
    """A notebook kernel killed without its atexit hooks must not leave its server behind."""
    code = ("import os, sys; from labkit.ollama import server; s = server.start_process(); "
            "print(s.process.pid, flush=True); os._exit(0)")  # no atexit: as if the kernel were killed
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "LABKIT_THREADS": "1"})
    child = int(out.stdout.split()[-1])
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists():
        status = Path(f"/proc/{child}/status").read_text() if Path(f"/proc/{child}/status").exists() else ""
        if "State:\tZ" in status:
            break
        time.sleep(0.2)
    status = Path(f"/proc/{child}/status").read_text() if Path(f"/proc/{child}/status").exists() else ""
    assert not status or "State:\tZ" in status, "the server outlived the process that started it"


def test_serve_in_the_foreground_logs_each_request() -> None:
    port = server.free_port()
    code = "from labkit.ollama import serve; serve('127.0.0.1', %d)" % port
    environment = {**os.environ, "LABKIT_THREADS": "1", "OLLAMA_CONTEXT_LENGTH": "512", "OLLAMA_HOST": "127.0.0.1:9"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=environment, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/", process=proc, timeout=30)
        reply = ollama.Client(host=base).generate(model=MODEL, prompt="Hi", options={"num_predict": 3, "temperature": 0})
        assert reply.eval_count == 3
        assert httpx.post(base + "/api/generate", json={"model": "nope", "prompt": "x"}).status_code == 404
    finally:
        proc.terminate()
        _, log = proc.communicate(timeout=20)
    assert f"listening on http://127.0.0.1:{port}" in log
    line = next(x for x in log.splitlines() if "POST /api/generate smollm2:135m 200" in x)
    assert line.endswith("tokens/s")
    assert any("POST /api/generate nope 404" in x for x in log.splitlines())
    assert "Traceback" not in log


def test_the_kits_server_is_reached_past_a_proxy(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Behind a proxy (HTTP_PROXY set, loopback not in NO_PROXY) the clients still reach the kit's server.

    httpx would send even 127.0.0.1 requests to the proxy, which cannot reach this machine's loopback.
    """
    dead_proxy = "http://127.0.0.1:9"  # nothing listens there: a request sent to it fails at once
    for name in ("HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, dead_proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "")  # restored (or removed) after the test
    running = server.start_background()
    try:
        assert "127.0.0.1" in os.environ["NO_PROXY"].split(",")
        assert isinstance(ollama.Client(host=running.url).list().models, list)
    finally:
        running.stop()
