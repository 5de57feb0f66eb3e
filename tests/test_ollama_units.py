"""Pure functions of the server: names, options, keep_alive, OLLAMA_HOST, tool calls. No model needed."""

from __future__ import annotations

import math

import pytest

from labkit.engines.ollama_host import base_url, parse_host
from labkit.ollama import names, options, templates
from labkit.ollama.errors import OllamaError
from labkit.ollama.store import human_number


def test_names() -> None:
    n = names.parse("SmolLM2:135M")
    assert n.short == "SmolLM2:135M" and n.key == "registry.ollama.ai/library/smollm2:135m"
    assert names.parse("smollm2").tag == "latest" and not names.parse("smollm2").explicit_tag
    assert names.parse("me/pirate:v2").short == "me/pirate:v2"
    assert names.parse("localhost:5000/me/pirate:v2").host == "localhost:5000"
    for bad in ["", "../x", "a/../b", "..", "x:../y", "a/b/c/d", "bad name", "x:", ".hidden", "a\\b", "/abs"]:
        assert not names.is_valid(bad), bad
    assert all(".." not in part for part in names.parse("a.b/c.d:e.f").path_parts())


def test_options_merge_and_types() -> None:
    merged = options.merge({"temperature": 0, "top_k": None, "mirostat": 2}, {"temperature": 0.5, "num_ctx": 512})
    assert merged["temperature"] == 0.0 and merged["num_ctx"] == 512 and merged["top_k"] == 40
    assert options.merge({"num_predict": 7.9}, None)["num_predict"] == 7
    with pytest.raises(OllamaError, match='option "top_k" must be of type integer'):
        options.check({"top_k": True})
    with pytest.raises(OllamaError, match="array of strings"):
        options.check({"stop": [1]})


def test_keep_alive() -> None:
    assert options.keep_alive(None) == 300
    assert options.keep_alive(10) == 10 and options.keep_alive(0) == 0
    assert options.keep_alive(-1) == math.inf and options.keep_alive("-1m") == math.inf
    assert options.keep_alive("1h30m") == 5400 and options.keep_alive("1.5s") == 1.5
    assert options.keep_alive("0") == 0
    with pytest.raises(OllamaError, match='time: invalid duration "soon"'):
        options.keep_alive("soon")


def test_keep_alive_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_KEEP_ALIVE", "1h")
    assert options.keep_alive(None) == 3600
    monkeypatch.setenv("OLLAMA_KEEP_ALIVE", "120")
    assert options.default_keep_alive() == 120
    monkeypatch.setenv("OLLAMA_KEEP_ALIVE", "-1")
    assert options.default_keep_alive() == math.inf


def test_ollama_host() -> None:
    assert parse_host(None) == ("http", "127.0.0.1", 11434)
    assert parse_host("0.0.0.0") == ("http", "0.0.0.0", 11434)
    assert parse_host(":8080") == ("http", "127.0.0.1", 8080)
    assert parse_host("http://example.com") == ("http", "example.com", 80)
    assert parse_host("https://example.com:9000/") == ("https", "example.com", 9000)
    assert parse_host("[::1]:7000") == ("http", "::1", 7000)
    assert parse_host(' "localhost:1234" ') == ("http", "localhost", 1234)
    assert base_url("0.0.0.0", 11434) == "http://127.0.0.1:11434"


def test_parameter_size_like_ollama() -> None:
    assert human_number(134_515_008) == "134.52M"
    assert human_number(268_098_176) == "268.10M"
    assert human_number(7_000_000_000) == "7B" and human_number(1_240_000_000) == "1.2B"


def test_tool_calls_are_parsed_from_text() -> None:
    content, calls = templates.split_tool_calls(
        'Sure.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>')
    assert content == "Sure."
    assert calls[0]["function"] == {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}
    assert calls[0]["id"].startswith("call_")
    text = "no call here <tool_call>not json</tool_call>"
    assert templates.split_tool_calls(text) == (text, [])


def test_tools_prompt_for_a_chatml_template() -> None:
    template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    history = [{"role": "user", "content": "hi"},
               {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]},
               {"role": "tool", "content": "ok"}]
    prompt = templates.render_chat(template, history, [tool], "", "<|im_end|>")
    assert prompt.startswith("<|im_start|>system\n") and "<tools>" in prompt
    assert '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>' in prompt
    assert prompt.endswith("<|im_start|>tool\nok<|im_end|>\n<|im_start|>assistant\n")
    assert templates.can_call_tools(template) and not templates.can_call_tools("{{ messages }}")
    assert templates.is_go_template("{{ .System }} {{ .Prompt }}")


def test_absurd_options_are_clamped_and_impossible_ones_refused() -> None:
    """One client's extreme option never reaches llama.cpp as it is (options.RANGES)."""
    from labkit.system.hardware import default_threads

    merged = options.merge({"num_thread": 100_000, "repeat_last_n": 10**9, "top_p": 7, "top_k": -5,
                            "temperature": -1, "num_batch": 0, "num_ctx": 10**12, "seed": 2**40 + 3}, None)
    assert merged["num_thread"] == default_threads() and merged["repeat_last_n"] == 1 << 20
    assert (merged["top_p"], merged["top_k"], merged["temperature"], merged["num_batch"]) == (1.0, 0, 0.0, 1)
    assert merged["num_ctx"] == 1 << 20 and merged["seed"] == 3
    assert options.merge({"seed": -7}, None)["seed"] == -1
    for bad in ({"temperature": math.nan}, {"top_p": math.inf}):
        with pytest.raises(OllamaError) as err:
            options.merge(bad, None)
        assert err.value.status == 400 and "finite" in err.value.message
    with pytest.raises(OllamaError, match="stop takes at most"):
        options.merge({"stop": ["x"] * 1000}, None)
