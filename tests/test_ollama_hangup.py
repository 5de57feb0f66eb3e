"""Hanging up frees the server, on the real course model: a non-streamed request whose client left
stops generating, a request waiting in line for a slot leaves the line, and ``labkit serve`` stops
within seconds on SIGTERM while answers stream.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from labkit.system.ports import free_port, wait_for_http

pytest_plugins = ["ollama_fixtures"]  # the shared server fixtures
MODEL = "smollm2:135m"
COUNTING = {"model": MODEL, "raw": True, "prompt": "1, 2, 3, 4, 5, 6, 7, 8,"}  # never stops early


def _scheduler(ollama_server: Any) -> Any:
    return ollama_server.server.config.app.state.scheduler


def _wait_until(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def _idle(scheduler: Any) -> bool:
    return scheduler.waiting == 0 and all(m.idle for m in scheduler.loaded.values())


def _hang_up(url: str, body: dict[str, Any], after: float) -> None:
    """Send ``body`` and close the connection after ``after`` seconds without an answer."""
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url + "/api/generate", json=body, timeout=httpx.Timeout(60, read=after))


@contextmanager
def long_streams(url: str, count: int) -> Iterator[threading.Event]:
    """``count`` long counting streams; set the event to hang them all up."""
    stop, started = threading.Event(), threading.Semaphore(0)

    def stream() -> None:
        body = {**COUNTING, "options": {"temperature": 0, "num_predict": 3000}}
        with httpx.stream("POST", url + "/api/generate", json=body, timeout=120) as reply:
            for n, _ in enumerate(reply.iter_lines()):
                if n == 20:
                    started.release()
                if stop.is_set():
                    return

    threads = [threading.Thread(target=stream) for _ in range(count)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert started.acquire(timeout=60)
    try:
        yield stop
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)


def test_a_non_streamed_request_stops_when_its_client_hangs_up(url: str, ollama_server: Any) -> None:
    scheduler = _scheduler(ollama_server)
    httpx.post(url + "/api/generate", json={"model": MODEL, "prompt": ""}, timeout=60)  # loaded
    _hang_up(url, {**COUNTING, "stream": False, "options": {"temperature": 0, "num_predict": 3000}}, after=2)
    assert _wait_until(lambda: _idle(scheduler), 5), "the abandoned generation still holds the model"


def _send_then_hang_up(url: str, body: dict[str, Any], when: Any) -> None:
    """Send ``body`` on a bare socket and close it as soon as ``when()`` holds."""
    host, port = url.removeprefix("http://").split(":")
    data = json.dumps(body).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(data), data))
        deadline = time.monotonic() + 30
        while not when() and time.monotonic() < deadline:
            time.sleep(0.001)
        assert when(), "the request never waited in line"


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_waiting_in_line_leaves_it_when_its_client_hangs_up(url: str, ollama_server: Any,
                                                                      server_log: list[str], stream: bool) -> None:
    scheduler = _scheduler(ollama_server)
    with long_streams(url, scheduler.num_parallel):  # every slot taken
        (loaded,) = [m for m in scheduler.loaded.values() if not m.settings.embedding]
        body = {**COUNTING, "stream": stream, "options": {"temperature": 0, "num_predict": 8}}
        _send_then_hang_up(url, body, lambda: loaded.line.count > 0)
        assert _wait_until(lambda: loaded.line.count == 0 and scheduler.waiting == 0, 2), \
            "the request whose client left is still waiting for a slot"
        assert _wait_until(lambda: any(" 499 " in line for line in server_log), 5), \
            f"the request was answered after its client left: {server_log[-3:]}"
        assert loaded.active == scheduler.num_parallel
    assert _wait_until(lambda: _idle(scheduler), 10)


def test_sigterm_stops_the_server_within_seconds_while_answers_stream(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "LABKIT_THREADS": "1", "OLLAMA_CONTEXT_LENGTH": "1024"}
    env.pop("OLLAMA_HOST", None)
    with open(tmp_path / "serve.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "labkit.cli", "serve", "--port", str(port)], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/", process=proc, timeout=60)
        lines: list[str] = []

        def stream() -> None:
            body = {**COUNTING, "options": {"temperature": 0, "num_predict": 3000}}
            try:
                with httpx.stream("POST", url + "/api/generate", json=body, timeout=60) as reply:
                    for line in reply.iter_lines():
                        lines.append(line)
            except httpx.HTTPError:
                pass

        threads = [threading.Thread(target=stream) for _ in range(2)]
        for thread in threads:
            thread.start()
        assert _wait_until(lambda: len(lines) > 10, 60)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        proc.wait(timeout=30)
        assert time.monotonic() - started < 10
        for thread in threads:
            thread.join(10)
        ends = [json.loads(line) for line in lines if '"done":true' in line or "error" in line]
        assert all(end.get("done_reason") == "cancel" or "error" in end for end in ends), ends
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        print((tmp_path / "serve.log").read_text()[-3000:])


def test_a_paused_generation_whose_client_left_is_dropped_not_resumed() -> None:
    """One slot: a long answer pauses for a second request, then its client leaves while it waits in
    line. It must not be taken up again (restoring its cells for nothing) when the slot frees."""
    import asyncio

    from labkit.ollama import generation, options, store
    from labkit.ollama.scheduler import Scheduler

    async def scenario() -> tuple[int, int, str]:
        scheduler = Scheduler()
        scheduler.num_parallel = 1
        model = store.find(MODEL)
        assert model is not None
        info = generation.facts(model)

        def request(prompt: str, n: int, client: str) -> generation.GenerationRequest:
            opts = options.merge({"temperature": 0, "num_predict": n, "num_ctx": 512}, None)
            return generation.GenerationRequest(model, info, opts, 300.0, lambda runner, o: runner.tokenize(prompt),
                                                client=client)

        try:
            first = await generation.start(scheduler, request("1, 2, 3, 4, 5, 6, 7, 8,", 400, "a"))
            events = first.events.__aiter__()
            for _ in range(20):  # past its slice
                await events.__anext__()
            runner = first.lease.runner
            # long enough to pass a slice: it would pause for a generation still waiting in line
            second = asyncio.ensure_future(generation.start(scheduler, request("10, 11, 12, 13, 14, 15,", 30, "b")))
            while runner.pauses == 0:
                await asyncio.sleep(0.005)
            await events.aclose()  # the first client leaves while its generation waits in line
            running = await second
            kinds = [event.kind async for event in running.events]
            return runner.pauses, runner.resumes, kinds[-1]
        finally:
            await scheduler.stop()

    pauses, resumes, last = asyncio.run(scenario())
    assert last == "done"
    assert (pauses, resumes) == (1, 0), "the generation whose client had left kept its place in line"
