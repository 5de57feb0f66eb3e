"""The OpenAI-compatible routes (/v1/...), with httpx and the official openai client."""

from __future__ import annotations

import json

import httpx
import pytest

SHORT = {"temperature": 0, "seed": 1, "max_tokens": 8}

pytest_plugins = ["ollama_fixtures"]  # the shared server fixtures
MODEL = "smollm2:135m"


def test_chat_completions(url: str) -> None:
    body = httpx.post(url + "/v1/chat/completions", timeout=60, json={
        "model": MODEL, "messages": [{"role": "user", "content": "Say hello."}], **SHORT}).json()
    assert body["object"] == "chat.completion" and body["model"] == MODEL
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    assert choice["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 8
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 8


def test_chat_completions_stream_sse(url: str) -> None:
    with httpx.stream("POST", url + "/v1/chat/completions", timeout=60, json={
            "model": MODEL, "messages": [{"role": "user", "content": "Say hello."}], "stream": True,
            "stream_options": {"include_usage": True}, **SHORT}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[-1]["usage"]["completion_tokens"] == 8
    assert any(c["choices"] and c["choices"][0]["finish_reason"] == "length" for c in chunks)


def test_openai_client(url: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=url + "/v1", api_key="ollama")
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], **SHORT)
    assert reply.choices[0].message.content and reply.usage.completion_tokens == 8
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True, **SHORT) if c.choices)
    assert text == reply.choices[0].message.content
    assert MODEL in [m.id for m in client.models.list().data]
    vectors = client.embeddings.create(model=MODEL, input=["a", "b"])
    assert len(vectors.data) == 2 and len(vectors.data[0].embedding) == 576
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="missing", messages=[{"role": "user", "content": "Hi"}])


def test_completions_and_json_format(url: str) -> None:
    body = httpx.post(url + "/v1/completions", timeout=60, json={"model": MODEL, "prompt": "Once upon", **SHORT}).json()
    assert body["object"] == "text_completion" and body["choices"][0]["text"]
    assert body["usage"]["completion_tokens"] == 8
    body = httpx.post(url + "/v1/chat/completions", timeout=60, json={
        "model": MODEL, "messages": [{"role": "user", "content": "A JSON object with key colour."}],
        "response_format": {"type": "json_object"}, "temperature": 0, "max_tokens": 30}).json()
    assert body["choices"][0]["message"]["content"].lstrip().startswith("{")


def test_models_and_errors(url: str) -> None:
    listing = httpx.get(url + "/v1/models").json()
    assert listing["object"] == "list" and MODEL in [m["id"] for m in listing["data"]]
    assert httpx.get(url + f"/v1/models/{MODEL}").json()["id"] == MODEL
    missing = httpx.post(url + "/v1/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "x"}]})
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    bad = httpx.post(url + "/v1/chat/completions", content=b"{oops")
    assert bad.status_code == 400 and "error" in bad.json()
