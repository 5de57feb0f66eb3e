"""The classroom server: remote binding only on request, the shared token, fair turns.

One ``labkit serve --host 0.0.0.0 --allow-remote --token ...`` runs in a
subprocess for the module; tests reach it at 127.0.0.1 only (never through
another address) and use the real course model with short generations.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest

from labkit.ollama import classroom, names, server, store
from labkit.ollama.app import create_app
from labkit.ollama.scheduler import Line
from labkit.system.ports import wait_for_http

MODEL = "smollm2:135m"
TOKEN = "workshop-secret"
ADMIN = "instructor-secret"
ROOT = Path(__file__).resolve().parents[1]
# One slot per model: a request can only get ahead of a running one by taking turns (see fair turns below).
ENV = {"LABKIT_THREADS": "1", "OLLAMA_CONTEXT_LENGTH": "1024", "LABKIT_MAX_UPLOAD_GB": "0.25",
       "OLLAMA_NUM_PARALLEL": "1", "LABKIT_CLIENT_REQUESTS": "4"}


def _env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OLLAMA_API_KEY", "LABKIT_TOKEN", "LABKIT_ALLOW_REMOTE", "OLLAMA_HOST")}
    return {**clean, **ENV, **extra}


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A classroom server bound to 0.0.0.0 with a token; ``url`` reaches it through loopback."""
    port = server.free_port()
    log_path = tmp_path_factory.mktemp("room") / "serve.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "labkit.cli", "serve", "--host", "0.0.0.0", "--port", str(port),
             "--allow-remote", "--token", TOKEN, "--admin-token", ADMIN],
            env=_env(), stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(url + "/", process=proc, timeout=30)
        except RuntimeError as err:
            raise RuntimeError(f"{err}:\n{log_path.read_text()}") from None
        yield {"url": url, "log": log_path}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _auth(token: str = TOKEN, client: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if client:
        headers[classroom.CLIENT_HEADER] = client
    return headers


# ---- binding ----------------------------------------------------------------------------------------

def test_remote_bind_is_refused_without_allow_remote() -> None:
    port = str(server.free_port())
    for args, extra in (([ "--host", "0.0.0.0", "--port", port], {}),
                        (["--port", port], {"OLLAMA_HOST": f"0.0.0.0:{port}"})):
        done = subprocess.run([sys.executable, "-m", "labkit.cli", "serve", *args], env=_env(**extra),
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert done.returncode != 0
        assert "refusing to listen on 0.0.0.0" in done.stderr
        assert "--allow-remote" in done.stderr and "LABKIT_ALLOW_REMOTE=1" in done.stderr
    with pytest.raises(classroom.RemoteNotAllowed):
        server.start_background("0.0.0.0")
    with pytest.raises(classroom.RemoteNotAllowed):  # whoever builds the app: the check is inside it
        create_app(bind_host="0.0.0.0")
    classroom.check_bind("127.0.0.1", allow_remote=False)  # loopback needs no flag
    classroom.check_bind("localhost", allow_remote=False)


def test_allowed_remote_bind_warns_about_what_it_exposes(room: dict[str, Any]) -> None:
    log = room["log"].read_text()
    assert "WARNING: listening on 0.0.0.0" in log
    assert "can run prompts and pull, create or delete models" in log
    assert "unencrypted" in log
    assert "(token required)" in log


def test_a_remote_bound_server_accepts_any_host_name(room: dict[str, Any]) -> None:
    """Learners name the instructor's machine as they like (as Ollama does when not bound to loopback)."""
    reply = httpx.get(room["url"] + "/api/version", headers={**_auth(), "Host": "teacher-laptop.lan:11434"})
    assert reply.status_code == 200
    local = server.start_background()  # bound to loopback: the DNS-rebinding check stays
    try:
        assert httpx.get(local.url + "/api/version", headers={"Host": "teacher-laptop.lan"}).status_code == 403
    finally:
        local.stop()


# ---- the token --------------------------------------------------------------------------------------

def test_requests_without_the_right_token_get_401(room: dict[str, Any]) -> None:
    url = room["url"]
    assert httpx.get(url + "/").text == "Ollama is running"  # open, so learners can check they reach it
    for headers in ({}, _auth("wrong"), {"Authorization": TOKEN}):
        reply = httpx.post(url + "/api/generate", json={"model": MODEL, "prompt": "Hi"}, headers=headers)
        assert reply.status_code == 401
        message = reply.json()["error"]
        assert "OLLAMA_API_KEY" in message and "Authorization: Bearer" in message and "client_kwargs" in message
    assert httpx.get(url + "/api/tags").status_code == 401
    assert httpx.get(url + "/api/tags", headers=_auth()).status_code == 200


def test_official_client_sends_the_token_from_ollama_api_key(room: dict[str, Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    with pytest.raises(ollama.ResponseError) as refused:
        ollama.Client(host=room["url"]).generate(model=MODEL, prompt="Hi", options={"num_predict": 2})
    assert refused.value.status_code == 401 and "OLLAMA_API_KEY" in str(refused.value)
    monkeypatch.setenv("OLLAMA_API_KEY", TOKEN)
    monkeypatch.setenv("OLLAMA_HOST", room["url"])
    reply = ollama.Client().generate(model=MODEL, prompt="Hi", options={"num_predict": 3, "temperature": 0})
    assert reply.eval_count == 3


def test_chat_ollama_sends_the_token_from_client_kwargs(room: dict[str, Any],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_ollama import ChatOllama

    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    llm = ChatOllama(model=MODEL, base_url=room["url"], temperature=0, num_predict=3,
                     client_kwargs={"headers": {"Authorization": f"Bearer {TOKEN}"}})
    answer = llm.invoke("Hi")
    assert answer.content and answer.usage_metadata["output_tokens"] == 3


# ---- fair turns ----------------------------------------------------------------------------------------

def test_short_requests_do_not_wait_for_a_long_one(room: dict[str, Any]) -> None:
    """One learner streams a long answer in the model's only slot; three others ask short questions
    meanwhile and finish first, which they can only do if the long answer pauses for them."""
    url, t0 = room["url"], time.perf_counter()
    finished: dict[str, float] = {}
    long_reply: dict[str, Any] = {}
    streaming = threading.Event()
    pieces: list[str] = []

    def long_answer() -> None:
        body = {"model": MODEL, "raw": True, "prompt": "1, 2, 3, 4, 5, 6, 7, 8,",  # counting: never stops early
                "options": {"num_predict": 200, "temperature": 0}}
        with httpx.stream("POST", url + "/api/generate", json=body, headers=_auth(client="alice"),
                          timeout=120) as reply:
            for line in reply.iter_lines():
                streaming.set()
                chunk = json.loads(line)
                pieces.append(chunk["response"])
                if chunk["done"]:
                    long_reply.update(chunk)
                    finished["alice"] = time.perf_counter() - t0

    def short_question(name: str) -> None:
        body = {"model": MODEL, "prompt": "What is the capital of France?", "stream": False,
                "options": {"num_predict": 8, "temperature": 0}}
        reply = httpx.post(url + "/api/generate", json=body, headers=_auth(client=name), timeout=120)
        assert reply.json()["eval_count"] == 8
        finished[name] = time.perf_counter() - t0

    alice = threading.Thread(target=long_answer)
    alice.start()
    assert streaming.wait(60)
    others = [threading.Thread(target=short_question, args=(name,)) for name in ("bob", "carol", "dave")]
    for thread in others:
        thread.start()
    for thread in [*others, alice]:
        thread.join(120)
    assert long_reply["eval_count"] == 200 and long_reply["done_reason"] == "length"
    assert set(finished) == {"alice", "bob", "carol", "dave"}
    assert max(finished[n] for n in ("bob", "carol", "dave")) < finished["alice"], finished
    # Paused for the others, the long answer went on where it stopped: the count has no gap.
    numbers = [int(n) for n in "".join(pieces).replace(",", " ").split()[:-1]]
    assert numbers == list(range(9, 9 + len(numbers))) and len(numbers) > 40


def test_the_line_serves_clients_round_robin() -> None:
    """Three requests of one client and one each of two others: the others do not wait for all three."""

    async def scenario() -> list[str]:
        line, order = Line(), []
        line.give("context")  # type: ignore[arg-type]
        holder = await line.take("alice")

        async def wait(client: str) -> None:
            runner = await line.take(client)
            order.append(client)
            line.give(runner)

        tasks = []
        for client in ("alice", "alice", "alice", "bob", "carol"):
            tasks.append(asyncio.create_task(wait(client)))
            await asyncio.sleep(0)
        gone = asyncio.create_task(wait("mallory"))
        await asyncio.sleep(0)
        gone.cancel()  # a client that leaves the line does not block it
        await asyncio.sleep(0)
        assert line.count == 5
        line.give(holder)
        await asyncio.gather(*tasks)
        assert line.count == 0 and line.free == ["context"]
        return order

    assert asyncio.run(scenario()) == ["alice", "bob", "carol", "alice", "alice"]


# ---- remote mode: what a token holder can and cannot do -------------------------------------------

def test_create_from_a_server_path_is_refused_without_saying_whether_it_exists(room: dict[str, Any]) -> None:
    """Remote clients upload blobs; a path on the instructor's disk is refused, existing or not."""
    from labkit import models

    replies = [httpx.post(room["url"] + "/api/create", headers=_auth(ADMIN), timeout=30,
                          json={"model": "mine:x", "from": path, "stream": False})
               for path in (str(models.path(MODEL)), "/no/such/file.gguf", "/etc/passwd")]
    assert {r.status_code for r in replies} == {403}
    assert len({r.json()["error"] for r in replies}) == 1, "the answers must not differ by path"
    assert "upload" in replies[0].json()["error"]


def test_a_template_sent_with_a_request_is_refused(room: dict[str, Any]) -> None:
    """One learner's template would take a core of the shared machine: the instructor creates a model with it."""
    reply = httpx.post(room["url"] + "/api/generate", headers=_auth(), timeout=60, json={
        "model": MODEL, "prompt": "Hi", "template": "{{ messages[0]['content'] }}", "options": {"num_predict": 2}})
    assert reply.status_code == 400 and "create a model with it" in reply.json()["error"]


def test_the_instructors_load_settings_hold(room: dict[str, Any]) -> None:
    """A learner's num_ctx (or num_thread, num_batch) is served in the slot's context: no reload for the room."""
    for num_ctx in (4096, 256):
        reply = httpx.post(room["url"] + "/api/generate", headers=_auth(), timeout=60, json={
            "model": MODEL, "prompt": "Hi", "stream": False,
            "options": {"num_predict": 2, "temperature": 0, "num_ctx": num_ctx, "num_thread": 2, "num_batch": 64}})
        assert reply.status_code == 200 and reply.json()["eval_count"] == 2, reply.text
    models = httpx.get(room["url"] + "/api/ps", headers=_auth(), timeout=60).json()["models"]
    assert [m["context_length"] for m in models if m["model"] == MODEL] == [1024]


def test_only_the_instructor_changes_the_shared_models(room: dict[str, Any]) -> None:
    """Any token holder could unload or delete the room's model; now only the admin token can."""
    url = room["url"]
    digest = "sha256:" + "1" * 64
    for method, path, body in [
        ("DELETE", "/api/delete", {"model": MODEL}), ("POST", "/api/copy", {"source": MODEL, "destination": "x:y"}),
        ("POST", "/api/create", {"model": "x:y", "from": MODEL, "stream": False}),
        ("POST", "/api/pull", {"model": MODEL, "stream": False}), ("POST", f"/api/blobs/{digest}", None),
        ("POST", "/api/generate", {"model": MODEL, "keep_alive": 0}), ("POST", "/api/chat", {"model": MODEL, "keep_alive": 0}),
    ]:
        reply = httpx.request(method, url + path, headers=_auth(), json=body, timeout=60)
        assert reply.status_code == 403 and "only the instructor" in reply.json()["error"], (path, reply.text)
    assert MODEL in [m["model"] for m in httpx.get(url + "/api/tags", headers=_auth(), timeout=30).json()["models"]]
    assert httpx.head(f"{url}/api/blobs/{digest}", headers=_auth(), timeout=30).status_code == 404  # looking is fine
    admin = _auth(ADMIN)
    assert httpx.post(url + "/api/copy", headers=admin, json={"source": MODEL, "destination": "room/copy:1"},
                      timeout=60).status_code == 200
    assert httpx.request("DELETE", url + "/api/delete", headers=admin, json={"model": "room/copy:1"},
                         timeout=60).status_code == 200


def test_one_client_has_a_limited_number_of_requests_at_once(room: dict[str, Any]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = {"model": MODEL, "prompt": "Count to twenty.", "stream": False, "options": {"num_predict": 24}}

    def ask(headers: dict[str, str]) -> int:
        return httpx.post(room["url"] + "/api/generate", headers=headers, json=body, timeout=120).status_code

    with ThreadPoolExecutor(7) as pool:
        codes = list(pool.map(ask, [_auth()] * 7))
    assert codes.count(200) >= 4 and 429 in codes and set(codes) == {200, 429}, codes
    with ThreadPoolExecutor(6) as pool:  # the instructor has no limit
        assert set(pool.map(ask, [_auth(ADMIN)] * 6)) == {200}


def test_show_names_no_server_path(room: dict[str, Any]) -> None:
    shown = httpx.post(room["url"] + "/api/show", headers=_auth(), json={"model": MODEL}, timeout=30).json()
    assert "FROM SmolLM2" in shown["modelfile"] or "FROM sha256-" in shown["modelfile"]
    assert str(store.root()) not in json.dumps(shown) and "/" not in shown["modelfile"].split("\nFROM ")[1].split("\n")[0]


def test_bodies_over_the_limit_get_413_and_leave_nothing(room: dict[str, Any]) -> None:
    url = room["url"]
    huge = b'{"model": "' + b"a" * (65 * 2**20) + b'"}'
    reply = httpx.post(url + "/api/chat", headers={**_auth(), "Content-Type": "application/json"},
                       content=huge, timeout=60)
    assert reply.status_code == 413 and "too large" in reply.json()["error"]

    def zeros(total: int):  # sent in chunks, with no length announced: the server must count
        for _ in range(total // 2**20):
            yield bytes(2**20)

    digest = "sha256:" + "0" * 64
    reply = httpx.post(f"{url}/api/blobs/{digest}", headers=_auth(ADMIN), content=zeros(300 * 2**20), timeout=120)
    assert reply.status_code == 413 and "upload too large" in reply.json()["error"]
    assert not list(store.blobs_dir().glob("upload-*.partial"))


def test_uploads_of_one_blob_at_once_and_an_abandoned_one_leave_no_partial_files(room: dict[str, Any]) -> None:
    import hashlib
    import random
    import socket
    from concurrent.futures import ThreadPoolExecutor

    url = room["url"]
    data = random.Random(3).randbytes(3 * 2**20)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    target = store.blob_path(digest)
    target.unlink(missing_ok=True)
    with ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(lambda _: httpx.post(f"{url}/api/blobs/{digest}", headers=_auth(ADMIN), content=data,
                                                   timeout=60).status_code, range(2)))
    assert set(codes) <= {200, 201} and hashlib.sha256(target.read_bytes()).hexdigest() == digest[7:]
    # A client that goes away in the middle of an upload: its partial file is removed.
    other = "sha256:" + hashlib.sha256(b"never finished").hexdigest()
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall((f"POST /api/blobs/{other} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {ADMIN}\r\n"
                      f"Content-Length: {50 * 2**20}\r\n\r\n").encode() + bytes(2**20))
        time.sleep(0.5)
        assert list(store.blobs_dir().glob("upload-*.partial")), "the upload should be under way"
    deadline = time.monotonic() + 10
    while list(store.blobs_dir().glob("upload-*.partial")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list(store.blobs_dir().glob("upload-*.partial"))
    target.unlink(missing_ok=True)


def test_a_learner_cannot_claim_turns_by_naming_clients() -> None:
    """Beyond loopback, fair turns go by address; the X-Labkit-Client header counts only on loopback."""
    from starlette.requests import Request

    def request(remote: bool) -> Request:
        app = create_app(bind_host="0.0.0.0" if remote else "127.0.0.1", allow_remote=remote)
        return Request({"type": "http", "app": app, "client": ("10.0.0.7", 5000),
                        "headers": [(classroom.CLIENT_HEADER.lower().encode(), b"somebody-else")]})

    assert classroom.client_of(request(remote=True)) == "ip:10.0.0.7"
    assert classroom.client_of(request(remote=False)) == "name:somebody-else"


def test_names_and_digests_are_matched_whole() -> None:
    assert names.is_valid("smollm2:135m")
    for name in ("smollm2\n:135m", "me\n/model:v1", "me/model\n:v1"):  # a newline would become a folder name
        assert not names.is_valid(name), repr(name)
    with pytest.raises(ValueError):
        store.blob_path("sha256:" + "0" * 64 + "\n")

