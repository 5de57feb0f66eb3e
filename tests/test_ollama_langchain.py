"""LangChain's ChatOllama, OllamaLLM and OllamaEmbeddings against the kit's server, unchanged."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from pydantic import BaseModel

SETTINGS = {"temperature": 0, "seed": 1, "num_predict": 8}

pytest_plugins = ["ollama_fixtures"]  # the shared server fixtures
MODEL = "smollm2:135m"


@pytest.fixture()
def chat(url: str):  # type: ignore[no-untyped-def]
    from langchain_ollama import ChatOllama

    return ChatOllama(model=MODEL, **SETTINGS)  # finds the server through OLLAMA_HOST, like a notebook


def test_invoke_with_usage_metadata(chat) -> None:  # type: ignore[no-untyped-def]
    reply = chat.invoke([SystemMessage("Answer in one word."), HumanMessage("What colour is the sky?")])
    assert reply.content
    assert reply.usage_metadata["output_tokens"] == 8
    assert reply.usage_metadata["input_tokens"] > 5
    assert reply.response_metadata["model_name"] == MODEL
    assert reply.response_metadata["done_reason"] == "length"
    assert reply.response_metadata["load_duration"] >= 0


def test_stream_batch_and_async(chat) -> None:  # type: ignore[no-untyped-def]
    chunks = list(chat.stream("Name a fruit."))
    assert len(chunks) >= 3 and all(isinstance(c, AIMessageChunk) for c in chunks)
    whole = chunks[0]
    for c in chunks[1:]:
        whole += c
    assert whole.content == chat.invoke("Name a fruit.").content
    assert whole.usage_metadata["output_tokens"] == 8
    answers = chat.batch(["Say one.", "Say two.", "Say three."])
    assert len(answers) == 3 and all(a.usage_metadata["output_tokens"] == 8 for a in answers)

    async def both() -> tuple[str, str]:
        first = await chat.ainvoke("Name a fruit.")
        parts = [c.content async for c in chat.astream("Name a fruit.")]
        return str(first.content), "".join(str(p) for p in parts)

    first, streamed = asyncio.run(both())
    assert first == streamed == whole.content


def test_json_mode(url: str) -> None:
    from langchain_ollama import ChatOllama

    model = ChatOllama(model=MODEL, format="json", temperature=0, num_predict=48)
    text = model.invoke("Give a JSON object describing a dog with keys name and age.").content
    assert isinstance(json.loads(text), dict)


class Person(BaseModel):
    name: str
    age: int


def test_structured_output_with_pydantic(url: str) -> None:
    from langchain_ollama import ChatOllama

    model = ChatOllama(model=MODEL, temperature=0, num_predict=48)
    person = model.with_structured_output(Person).invoke("Invent a person with a name and an age.")
    assert isinstance(person, Person) and isinstance(person.age, int)


def test_keep_alive_and_validate_on_init(url: str) -> None:
    import ollama
    from langchain_ollama import ChatOllama

    client = ollama.Client(host=url)
    client.generate(model=MODEL, keep_alive=0)  # unload everything first
    model = ChatOllama(model=MODEL, keep_alive="90s", validate_model_on_init=True, **SETTINGS)
    model.invoke("Hi")
    (entry,) = [m for m in client.ps().models if m.model == MODEL]
    left = (entry.expires_at - datetime.now(timezone.utc)).total_seconds()
    assert 60 < left <= 90
    with pytest.raises(ValueError):
        ChatOllama(model="not-pulled-model", validate_model_on_init=True)


def test_ollama_llm(url: str) -> None:
    from langchain_ollama import OllamaLLM

    llm = OllamaLLM(model=MODEL, **SETTINGS)
    text = llm.invoke("The capital of France is")
    assert isinstance(text, str) and text
    assert "".join(llm.stream("The capital of France is")) == text


def test_ollama_embeddings(url: str) -> None:
    from langchain_ollama import OllamaEmbeddings

    emb = OllamaEmbeddings(model=MODEL)
    docs = emb.embed_documents(["cats purr", "dogs bark"])
    assert len(docs) == 2 and len(docs[0]) == 576
    query = emb.embed_query("cats purr")
    assert query == pytest.approx(docs[0], abs=1e-5)
