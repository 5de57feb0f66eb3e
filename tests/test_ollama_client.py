"""The official ``ollama`` Python client against the kit's server: every call a lesson uses."""

from __future__ import annotations

import asyncio
import hashlib
import time

import httpx
import ollama
import pytest

pytest_plugins = ["ollama_fixtures"]  # the shared server fixtures
FAST = {"temperature": 0, "seed": 1, "num_predict": 8}  # greedy, short, reproducible
MODEL = "smollm2:135m"


def test_chat_generate_and_streaming(client: ollama.Client) -> None:
    reply = client.chat(model=MODEL, messages=[{"role": "user", "content": "Say hello."}], options=FAST)
    assert reply.message.role == "assistant" and reply.message.content
    assert reply.done and reply.eval_count == 8 and reply.prompt_eval_count > 0
    parts = list(client.generate(model=MODEL, prompt="Say hello.", options=FAST, stream=True))
    assert parts[-1].done and parts[-1].eval_count == 8
    assert "".join(p.response for p in parts) == client.generate(model=MODEL, prompt="Say hello.", options=FAST).response


def test_list_show_ps(client: ollama.Client) -> None:
    assert MODEL in [m.model for m in client.list().models]
    shown = client.show(MODEL)
    assert shown.details.family == "llama" and "completion" in shown.capabilities
    assert shown.modelinfo["llama.block_count"] == 30
    client.generate(model=MODEL, prompt="", keep_alive="2m")
    (running,) = [m for m in client.ps().models if m.model == MODEL]
    assert running.size > 98_000_000 and running.context_length == 1024 and running.expires_at


def test_pull_progress_and_unknown_model(client: ollama.Client) -> None:
    updates = list(client.pull(MODEL, stream=True))
    statuses = [u.status for u in updates]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    assert "verifying sha256 digest" in statuses and "writing manifest" in statuses
    layer = [u for u in updates if u.digest]
    assert layer[-1].completed == layer[-1].total == 98_362_432
    assert client.pull(MODEL).status == "success"
    with pytest.raises(ollama.ResponseError) as err:
        client.pull("no-such-model:1b")
    assert "pull model manifest: file does not exist" in str(err.value)
    with pytest.raises(ollama.ResponseError, match="file does not exist"):
        list(client.pull("no-such-model:1b", stream=True))


def test_create_copy_delete(client: ollama.Client) -> None:
    progress = list(client.create(model="pirate", from_=MODEL, system="You talk like a pirate.",
                                  parameters={"temperature": 0, "num_predict": 6, "stop": ["\n\n"]}, stream=True))
    assert progress[-1].status == "success"
    shown = client.show("pirate")
    assert 'SYSTEM """You talk like a pirate."""' in shown.modelfile and "num_predict" in shown.parameters
    assert 'PARAMETER stop "\\n\\n"' in shown.modelfile
    assert shown.details.parent_model == MODEL
    assert client.generate(model="pirate", prompt="Hello").eval_count <= 6
    client.copy("pirate", "captain/pirate:v2")
    assert "captain/pirate:v2" in [m.model for m in client.list().models]
    assert client.chat(model="captain/pirate:v2", messages=[{"role": "user", "content": "Hi"}]).done
    client.delete("captain/pirate:v2")
    client.delete("pirate")
    names = [m.model for m in client.list().models]
    assert "pirate:latest" not in names and "captain/pirate:v2" not in names
    with pytest.raises(ollama.ResponseError) as err:
        client.delete("pirate")
    assert err.value.status_code == 404 and "model 'pirate:latest' not found" in err.value.error
    with pytest.raises(ollama.ResponseError) as err:
        client.copy("nothing-here", "x")
    assert err.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as err:
        client.copy(MODEL, "bad/na/me/x:y")
    assert err.value.status_code == 400 and 'destination "bad/na/me/x:y" is invalid' in err.value.error


def test_delete_a_catalog_model_hides_it_until_pulled(client: ollama.Client) -> None:
    client.create(model="keeper", from_=MODEL)
    client.delete("keeper")
    client.copy(MODEL, "spare:1")
    client.delete("spare:1")
    assert MODEL in [m.model for m in client.list().models]


def test_create_from_gguf_path_and_blob(client: ollama.Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from labkit import models

    source = models.path(MODEL)
    client.create(model="from-file", from_=str(source), parameters={"num_predict": 4})
    assert client.generate(model="from-file", prompt="Hi", options={"temperature": 0}).eval_count <= 4
    assert client.show("from-file").details.quantization_level == "Q4_1"
    # a non-GGUF file is refused with a clear message
    junk = tmp_path / "notes.gguf"
    junk.write_text("hello")
    with pytest.raises(ollama.ResponseError, match="is not a GGUF file"):
        client.create(model="junk", from_=str(junk))
    # upload as a blob, then create from it (what `ollama create` does with a Modelfile)
    small = tmp_path / "tiny.bin"
    small.write_bytes(b"not really a model")
    digest = client.create_blob(small)
    assert digest == "sha256:" + hashlib.sha256(small.read_bytes()).hexdigest()
    with pytest.raises(ollama.ResponseError, match="is not a GGUF file"):
        client.create(model="blob-model", files={"model.gguf": digest})
    assert httpx.head(f"{client._client.base_url}/api/blobs/{digest}").status_code == 200
    client.delete("from-file")


def test_create_quantized_q8_0(client: ollama.Client) -> None:
    statuses = [p.status for p in client.create(model="smol-q8", from_=MODEL, quantize="q8_0", stream=True)]
    assert "quantizing F16 model to Q8_0" in statuses and statuses[-1] == "success"
    shown = client.show("smol-q8")
    assert shown.details.quantization_level == "Q8_0"
    entry = next(m for m in client.list().models if m.model == "smol-q8:latest")
    assert 140_000_000 < entry.size < 150_000_000
    reply = client.generate(model="smol-q8", prompt="Say hello.", options=FAST)
    assert reply.eval_count == 8 and reply.response
    client.delete("smol-q8")


def test_embed_and_embeddings(client: ollama.Client) -> None:
    out = client.embed(model=MODEL, input=["The cat sat.", "A dog ran."])
    assert len(out.embeddings) == 2 and len(out.embeddings[0]) == 576
    assert abs(sum(x * x for x in out.embeddings[0]) - 1) < 1e-6
    assert out.prompt_eval_count > 4
    single = client.embed(model=MODEL, input="The cat sat.")
    assert single.embeddings[0] == pytest.approx(out.embeddings[0], abs=1e-5)
    legacy = client.embeddings(model=MODEL, prompt="The cat sat.")
    assert abs(sum(x * x for x in legacy.embedding) - 1) > 1e-3  # not normalised
    short = client.embed(model=MODEL, input="The cat sat.", dimensions=64)
    assert len(short.embeddings[0]) == 64
    assert client.embed(model=MODEL, input=[]).embeddings == []
    assert client.embeddings(model=MODEL, prompt="").embedding == []
    small_context = {"num_ctx": 64}
    with pytest.raises(ollama.ResponseError, match="the input length exceeds the context length"):
        client.embed(model=MODEL, input="word " * 100, truncate=False, options=small_context)
    long = client.embed(model=MODEL, input="word " * 100, options=small_context)  # cut to fit by default
    assert long.prompt_eval_count == 64


def test_sixteen_concurrent_streams_get_their_token_counts(url: str) -> None:
    async def one(i: int) -> tuple[int, int]:
        chunks = 0
        final = None
        async for part in await ollama.AsyncClient(host=url).chat(
                model=MODEL, messages=[{"role": "user", "content": f"Say the number {i}."}],
                options={**FAST, "num_predict": 6}, stream=True):
            chunks += 1
            final = part
        assert final is not None and final.done
        return chunks, final.eval_count

    async def main() -> list[tuple[int, int]]:
        return await asyncio.gather(*(one(i) for i in range(16)))

    results = asyncio.run(main())
    assert len(results) == 16
    assert all(count == 6 and chunks >= 2 for chunks, count in results)


def test_client_dropped_mid_stream_frees_the_model(url: str, client: ollama.Client, ollama_server) -> None:  # type: ignore[no-untyped-def]
    scheduler = ollama_server.server.config.app.state.scheduler
    body = {"model": MODEL, "prompt": "Write a very long story about the sea.",
            "options": {"temperature": 0, "num_predict": 2000}}
    with httpx.stream("POST", url + "/api/generate", json=body, timeout=60) as response:
        for n, _ in enumerate(response.iter_lines()):
            if n == 3:
                # Inference runs in a worker thread: the server keeps answering meanwhile.
                asked = time.perf_counter()
                assert httpx.get(url + "/api/ps").status_code == 200
                assert time.perf_counter() - asked < 1.0
                assert any(not m.idle for m in scheduler.loaded.values())
                break  # leave mid-stream: the connection closes here
    # The abandoned generation stopped: no request holds a model (2000 tokens would take far longer).
    deadline = time.monotonic() + 5
    while any(not m.idle for m in scheduler.loaded.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(m.idle for m in scheduler.loaded.values()), "the generation went on after its client left"
    reply = client.generate(model=MODEL, prompt="Hi", options=FAST)
    assert reply.eval_count == 8


def test_error_mid_stream_and_connection_errors(url: str) -> None:
    with pytest.raises(ollama.ResponseError) as err:
        ollama.Client(host=url).chat(model="nope", messages=[{"role": "user", "content": "x"}], stream=False)
    assert err.value.status_code == 404
    with pytest.raises(ConnectionError):
        ollama.Client(host="127.0.0.1:9").list()


def test_own_template_tools_capability_and_error_mid_stream(client: ollama.Client) -> None:
    template = ("{% if messages[0]['role'] != 'user' %}{{ raise_exception('start with a user message') }}{% endif %}"
                "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:")
    client.create(model="plain-template", from_=MODEL, template=template)
    shown = client.show("plain-template")
    assert shown.template == template and "tools" not in shown.capabilities
    reply = client.chat(model="plain-template", messages=[{"role": "user", "content": "Hi"}], options=FAST)
    assert reply.eval_count == 8
    with pytest.raises(ollama.ResponseError) as err:
        client.chat(model="plain-template", messages=[{"role": "user", "content": "Hi"}],
                    tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])
    assert err.value.status_code == 400 and "does not support tools" in err.value.error
    # The template fails only once generation has started: the stream ends with one {"error"} line.
    with pytest.raises(ollama.ResponseError, match="start with a user message") as err:
        list(client.chat(model="plain-template", messages=[{"role": "assistant", "content": "Hi"}], stream=True))
    assert err.value.status_code == -1
    with pytest.raises(ollama.ResponseError, match="Go templates"):
        client.create(model="go-template", from_=MODEL, template="{{ .System }} {{ .Prompt }}")
    client.delete("plain-template")


def test_create_refuses_a_truncated_gguf(client: ollama.Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from labkit import models

    broken = tmp_path / "broken.gguf"
    with models.path(MODEL).open("rb") as handle:
        broken.write_bytes(handle.read(200_000))
    with pytest.raises(ollama.ResponseError, match="cannot be read") as err:
        client.create(model="broken", from_=str(broken))
    assert err.value.status_code == 400
    assert "broken:latest" not in [m.model for m in client.list().models]


def test_create_from_a_namespaced_model(client: ollama.Client) -> None:
    client.copy(MODEL, "teacher/smol:v1")
    client.create(model="teacher/smol:v2", from_="teacher/smol:v1", parameters={"num_predict": 2})
    assert client.show("teacher/smol:v2").details.parent_model == "teacher/smol:v1"
    client.delete("teacher/smol:v2")
    client.delete("teacher/smol:v1")
