"""Tool calls from the course model through the kit's server: forced calls always well-formed with
schema-valid arguments (``tool_choice`` on /v1), a ``tool`` message round trip, and plain questions
left alone when tools are bound (/api/chat).
"""

from __future__ import annotations

import json

import httpx
import ollama
import pytest

pytest_plugins = ["ollama_fixtures"]  # the shared server fixtures
MODEL = "smollm2:135m"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
                   "required": ["city", "unit"]}}}
ADD = {"type": "function", "function": {
    "name": "add", "description": "Add two integers",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                   "required": ["a", "b"]}}}
GREEDY = {"temperature": 0, "max_tokens": 80}


def _complete(url: str, body: dict) -> dict:
    reply = httpx.post(f"{url}/v1/chat/completions", json={"model": MODEL, **GREEDY, **body}, timeout=120)
    assert reply.status_code == 200, reply.text
    return reply.json()


@pytest.mark.parametrize("question", ["What is the weather in Paris?", "Is it cold in Oslo?", "Tell me a joke."])
def test_required_tool_choice_always_gives_a_schema_valid_call(url: str, question: str) -> None:
    reply = _complete(url, {"messages": [{"role": "user", "content": question}], "tools": [WEATHER, ADD],
                            "tool_choice": "required"})
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    args = json.loads(call["function"]["arguments"])
    if call["function"]["name"] == "get_weather":
        assert isinstance(args["city"], str) and args["unit"] in ("C", "F")
    else:
        assert call["function"]["name"] == "add" and isinstance(args["a"], int) and isinstance(args["b"], int)


def test_a_named_tool_choice_calls_that_tool(url: str) -> None:
    reply = _complete(url, {"messages": [{"role": "user", "content": "What is 2 plus 3?"}], "tools": [WEATHER, ADD],
                            "tool_choice": {"type": "function", "function": {"name": "add"}}})
    (call,) = reply["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "add"
    assert set(json.loads(call["function"]["arguments"])) == {"a", "b"}


def test_a_forced_call_streams_as_tool_call_deltas(url: str) -> None:
    body = {"model": MODEL, **GREEDY, "stream": True, "tools": [WEATHER], "tool_choice": "required",
            "messages": [{"role": "user", "content": "Weather in Rome?"}]}
    calls, reasons = [], []
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=120) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                choice = json.loads(line[6:])["choices"][0]
                calls += choice["delta"].get("tool_calls") or []
                reasons.append(choice.get("finish_reason"))
    assert calls and calls[0]["function"]["name"] == "get_weather"
    assert "city" in json.loads(calls[0]["function"]["arguments"])
    assert reasons[-1] == "tool_calls"


def test_the_openai_client_and_a_tool_message_round_trip(url: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER], tool_choice="required",
                                           temperature=0, max_tokens=80)
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments)["city"]
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "18 degrees and sunny"}]
    # "none": answer from the result now (with "auto" this model calls the tool again: see below)
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER], tool_choice="none",
                                            temperature=0, max_tokens=40)
    assert second.choices[0].message.content and not second.choices[0].message.tool_calls


def test_a_call_the_model_starts_on_its_own_is_well_formed(client: ollama.Client) -> None:
    """/api/chat has no tool_choice: the grammar waits for "<tool_call>", then holds the call to the schema."""
    messages = [{"role": "user", "content": "What is the weather in Paris?"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},  # no unit: the grammar adds it
                {"role": "tool", "content": "18 degrees and sunny"},
                {"role": "user", "content": "And in Rome?"}]
    reply = client.chat(model=MODEL, messages=messages, tools=[WEATHER], options={"temperature": 0, "num_predict": 80})
    (call,) = reply.message.tool_calls
    assert call.function.name == "get_weather"
    assert isinstance(call.function.arguments["city"], str) and call.function.arguments["unit"] in ("C", "F")


def _tool(parameters: object) -> dict:
    return {"type": "function", "function": {"name": "f", "parameters": parameters}}


# Parameters that are no JSON schema the grammar can follow: the converter refuses the first three;
# llama.cpp cannot parse the grammar made from the next two (a NULL sampler, which used to reach the
# decode thread); the last is too large.
BAD_PARAMETERS = [{"type": "nonsense"}, {"$ref": "#/nowhere"}, {"properties": 5}, {"anyOf": []},
                  {"type": "object", "properties": {'a"b': {"type": "string"}}},
                  {"type": "object", "properties": {f"k{i}": {"type": "string"} for i in range(5000)}}]


def test_bad_tool_choice_and_bad_schemas_are_clear_400s(url: str) -> None:
    messages = [{"role": "user", "content": "hi"}]
    for body, text in [
        ({"tool_choice": "sometimes"}, "invalid tool_choice"),
        ({"tool_choice": {"type": "function", "function": {"name": "nope"}}}, "no tool named 'nope'"),
        ({"tools": [{"type": "function", "function": {"parameters": {}}}], "tool_choice": "required"}, "invalid tools"),
        *[({"tools": [_tool(p)], "tool_choice": choice}, "schema")
          for p in BAD_PARAMETERS for choice in ("auto", "required")],
        *[({"response_format": {"type": "json_schema", "json_schema": {"schema": p}}}, "schema")
          for p in BAD_PARAMETERS],
    ]:
        reply = httpx.post(f"{url}/v1/chat/completions", timeout=60,
                           json={"model": MODEL, "messages": messages, "tools": [WEATHER], **body})
        assert reply.status_code == 400 and text in reply.json()["error"]["message"], (body, reply.text)
    for parameters in BAD_PARAMETERS:  # /api/chat's lazy grammar and /api/generate's format: the same 400s
        reply = httpx.post(f"{url}/api/chat", timeout=60, json={
            "model": MODEL, "messages": messages, "tools": [_tool(parameters)], "stream": True})
        assert reply.status_code == 400 and "schema" in reply.json()["error"], reply.text
        reply = httpx.post(f"{url}/api/generate", timeout=60, json={
            "model": MODEL, "prompt": "hi", "format": parameters, "stream": True})
        assert reply.status_code == 400 and "schema" in reply.json()["error"], reply.text


def test_bound_tools_leave_a_plain_question_alone(client: ollama.Client) -> None:
    reply = client.chat(model=MODEL, messages=[{"role": "user", "content": "What is 2 + 2?"}], tools=[WEATHER],
                        options={"temperature": 0, "num_predict": 24})
    assert reply.message.content and not reply.message.tool_calls


def test_every_format_of_bench_tool_formats_runs(url: str, client: ollama.Client) -> None:
    """bench/tool_formats.py's formats on one prompt that needs the tool: each returns the calls it
    made, the forced one a well-formed call, and the tags-only reading of the kit's answer no more
    calls than the server found in it."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import tool_formats

    need, no_need = tool_formats.lesson_prompts()  # read from lesson 06
    assert len(need) >= 4 and len(no_need) >= 4
    found = tool_formats.formats(client, url)
    assert len(found) == 7
    for name, calls_for in found.items():
        calls = calls_for(need[0])
        assert isinstance(calls, list), name
    assert tool_formats.right_call(found['forced (/v1, tool_choice="required")'](need[0]))
    every, tags_only = (calls_for(need[0]) for name, calls_for in found.items() if name.startswith("Hermes"))
    assert len(tags_only) <= len(every)
    call = '{"name": "get_weather", "arguments": {"city": "Oslo"}}'
    assert tool_formats.tagged_calls(call) == []  # bare JSON: not a tag
    assert tool_formats.tagged_calls(f"<tool_call>\n{call}\n</tool_call>") == [
        {"name": "get_weather", "arguments": {"city": "Oslo"}}]
