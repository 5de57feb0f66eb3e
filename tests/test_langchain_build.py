"""engines.chat_model: the three chat models set up alike, and llama.cpp's structured output and tool
calls held to their schema by llama-cpp-python's grammar (the Ollama path is in test_ollama_tools.py)."""

from __future__ import annotations

import pytest
from langchain_core.tools import tool
from pydantic import BaseModel

from labkit import engines


class Person(BaseModel):
    name: str
    age: int


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return "sunny"


def test_the_three_chat_models_are_set_up_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    ollama = engines.chat_model("ollama", max_tokens=20, context=1024)
    assert type(ollama).__name__ == "ChatOllama"
    assert (ollama.temperature, ollama.num_predict, ollama.num_ctx) == (0.0, 20, 1024)
    llama = engines.chat_model("llama.cpp", max_tokens=20, context=1024)
    assert type(llama).__name__ == "ChatLlamaCpp"
    assert (llama.temperature, llama.max_tokens, llama.n_ctx) == (0.0, 20, 1024)
    with pytest.raises(ValueError, match="choose one of ollama, llama.cpp, transformers"):
        engines.chat_model("vllm")


def test_chat_llamacpp_structured_output_and_a_forced_tool_call() -> None:
    llm = engines.chat_model("llama.cpp", max_tokens=64, context=1024)
    person = llm.with_structured_output(Person).invoke("Alice is 31 years old.")
    assert isinstance(person, Person)
    forced = llm.bind_tools([get_weather], tool_choice={"type": "function", "function": {"name": "get_weather"}})
    (call,) = forced.invoke("What is the weather in Paris?").tool_calls
    assert call["name"] == "get_weather" and isinstance(call["args"]["city"], str)
