"""Tool calls in every form real servers read: ``<tool_call>`` blocks, fenced ```json blocks and bare
JSON naming a tool, one call or several, on ``/api/chat`` and ``/v1/chat/completions``, streamed or not.

The parser and the stream splitter are checked on fixed text (some of it what qwen2.5-coder:0.5b
wrote); the rest runs that model through the kit's server: it writes its calls as bare or fenced
JSON, not in ``<tool_call>`` tags.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from labkit.ollama import toolcalls, toolgrammar

pytest_plugins = ["ollama_fixtures"]  # the shared server fixtures
MODEL = "qwen2.5-coder:0.5b"
NAMES = ["get_weather", "convert_currency"]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
CURRENCY = {"type": "function", "function": {
    "name": "convert_currency", "description": "Convert an amount of money from one currency to another",
    "parameters": {"type": "object", "properties": {
        "amount": {"type": "number"}, "from_currency": {"type": "string"}, "to_currency": {"type": "string"}},
        "required": ["amount", "from_currency", "to_currency"]}}}
GREEDY = {"temperature": 0, "num_predict": 64}
PARIS = {"name": "get_weather", "arguments": {"city": "Paris"}}
OSLO = {"name": "get_weather", "arguments": {"city": "Oslo"}}
# What qwen2.5-coder:0.5b wrote, greedy, asked for the weather in Paris and in Oslo with a system
# message asking for a JSON list when several calls are needed.
QWEN_PARALLEL = ('```json\n[\n  {"name": "get_weather", "arguments": {"city": "Paris"}},\n'
                 '  {"name": "get_weather", "arguments": {"city": "Oslo"}}\n]\n```')


def _calls(text: str) -> tuple[str, list[dict]]:
    content, calls = toolcalls.split_calls(text, NAMES)
    assert [c["function"]["index"] for c in calls] == list(range(len(calls)))
    return content, [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]} for c in calls]


def _streamed(text: str, step: int) -> tuple[str, str, list[dict]]:
    """Feed ``text`` in pieces of ``step`` characters: what went out as it came, the rest, the calls."""
    splitter = toolcalls.CallSplitter(NAMES)
    out = "".join(splitter.feed(text[i:i + step]) for i in range(0, len(text), step))
    rest, calls = splitter.finish()
    return out, rest, [c["function"] for c in calls]


# ---- the parser, on fixed text ---------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    '<tool_call>[{"name": "get_weather", "arguments": {"city": "Paris"}}]</tool_call>',
    '```json\n{\n  "name": "get_weather",\n  "arguments": {\n    "city": "Paris"\n  }\n}\n```',  # qwen's fenced form
    '```\n{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}\n```',  # arguments as a JSON string
    '{"name": "get_weather", "arguments": {"city": "Paris"}}',                     # qwen's bare form
    ' \n[{"name": "get_weather", "arguments": {"city": "Paris"}}]',
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}',        # cut off before the closing tag
])
def test_each_form_is_one_call(text: str) -> None:
    assert _calls(text) == ("", [PARIS])


def test_text_around_a_call_stays_content() -> None:
    assert _calls('Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>') \
        == ("Let me check.", [PARIS])
    assert _calls('I will look it up.\n```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```') \
        == ("I will look it up.", [PARIS])


@pytest.mark.parametrize("text", [
    QWEN_PARALLEL,
    '{"name": "get_weather", "arguments": {"city": "Paris"}}\n{"name": "get_weather", "arguments": {"city": "Oslo"}}',
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>',
    '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```\n'
    '```json\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n```',
])
def test_several_calls_in_one_answer_are_several_tool_calls(text: str) -> None:
    assert _calls(text) == ("", [PARIS, OSLO])


@pytest.mark.parametrize("text", [
    "The get_weather function returns the current weather in a city.",        # mentions a tool
    'Call it like this: {"name": "get_weather", "arguments": {"city": "Paris"}}',  # bare JSON, not at the start
    '{"name": "send_email", "arguments": {"to": "me"}}',                     # not one of the request's tools
    '{"name": "get_weather", "description": "Get the weather", "parameters": {"type": "object"}}',  # a schema
    '{"city": "Paris", "temperature": 18}',                                   # an answer in JSON
    "```python\ndef get_weather(city):\n    return '<sunny>'\n```",           # code
    '```json\n{"name": "get_weather"',                                        # a call cut off: not well-formed
    "Sure <tool_call>not json</tool_call>",
])
def test_text_that_is_not_a_call_stays_content(text: str) -> None:
    assert _calls(text) == (text, [])
    for step in (1, 4):
        out, rest, calls = _streamed(text, step)
        assert out + rest == text and calls == []  # nothing held back is lost


def test_a_stream_holds_back_only_from_where_a_call_may_start() -> None:
    words = ["The", " weather", " is", " mild", " today", "."]
    splitter = toolcalls.CallSplitter(NAMES)
    assert [splitter.feed(w) for w in words] == words and splitter.finish() == ("", [])
    out, rest, calls = _streamed('Checking.\n```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```', 1)
    assert (out, rest, calls) == ("Checking.", "", [{"index": 0, **PARIS}])
    out, rest, _ = _streamed('{"city": "Paris"} is the JSON you asked for.', 3)
    assert out.startswith('{"city": "Paris"} is the') and out + rest == '{"city": "Paris"} is the JSON you asked for.'
    for text in [QWEN_PARALLEL, '{"name": "get_weather", "arguments": {"city": "Paris"}}']:
        for step in (1, 2, 5):
            out, rest, calls = _streamed(text, step)
            assert out == "" and rest == "" and [{"name": c["name"], "arguments": c["arguments"]} for c in calls] \
                == _calls(text)[1]


def test_the_grammar_starts_at_each_opening_and_nowhere_else() -> None:
    patterns = [re.compile(p) for p in toolgrammar.triggers(NAMES)]

    def start(text: str) -> int | None:
        found = [m.start(1) for p in patterns if (m := p.search(text))]
        return min(found) if found else None

    assert start("Sure.\n<tool_call>") == 6
    assert start('Here:\n```json\n{\n  "name": "get_weather"') == 6
    assert start('```\n[{"name": "convert_currency"') == 0
    assert start(' {"name": "get_weather"') == 1
    assert start('{"name": "get_wea') is None                      # not yet a known name
    assert start('{"name": "send_email"') is None
    assert start('Use it as {"name": "get_weather"') is None       # bare JSON counts at the start only
    assert start("The get_weather tool and ```python\nprint(1)") is None


def test_a_token_that_goes_past_the_opening_is_drawn_again_within_the_grammar() -> None:
    """``{"name": "get_weather"}`` is the opening of a call followed by ``}``, which the grammar refuses:
    the sampler keeps the opening and draws that token again (llama.cpp's lazy sampler would throw,
    ending the process)."""
    import llama_cpp
    import numpy as np

    from labkit import models
    from labkit.ollama import options, sampling

    llm = llama_cpp.Llama(str(models.path("smollm2:135m")), vocab_only=True, verbose=False)
    constraint = toolgrammar.for_tools([WEATHER, CURRENCY], forced=False)
    sampler = sampling.sampler_chain(llm._model, llm.n_vocab(), 512, options.merge(GREEDY, {}), constraint)
    waiting = sampler.waiting
    tokens = llm.tokenize(b'{"name": "get_weather', add_bos=False, special=False)
    closing, comma = (llm.tokenize(s, add_bos=False, special=False) for s in (b'"}', b'",'))
    assert len(closing) == len(comma) == 1

    def pick(token: int) -> int:
        logits = np.zeros(llm.n_vocab(), dtype=np.float32)
        logits[token], logits[comma[0]] = 10.0, 5.0  # the model's choice first, an allowed one second
        return sampler._watch(waiting, token, logits) if sampler.waiting else token

    assert [pick(t) for t in tokens] == tokens and sampler.grammar is None
    assert pick(closing[0]) == comma[0]
    assert sampler.grammar is not None and sampler.redraws == 1


# ---- the real model through the kit's server -------------------------------------------------------

def test_bare_and_fenced_calls_through_chatollama_bind_tools(url: str) -> None:
    from langchain_ollama import ChatOllama

    model = ChatOllama(model=MODEL, **GREEDY).bind_tools([WEATHER, CURRENCY])
    reply = model.invoke("How much is 100 US dollars in euros?")  # written bare: {"name": ...}
    (call,) = reply.tool_calls
    assert call["name"] == "convert_currency" and reply.content == ""
    assert call["args"] == {"amount": 100, "from_currency": "USD", "to_currency": "EUR"}
    reply = model.invoke("What's the weather in Montreal?")  # written in a ```json fence
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("get_weather", {"city": "Montreal"})]
    reply = model.invoke("What does the get_weather function do? One sentence.")
    assert "get_weather" in reply.content and not reply.tool_calls


def test_parallel_calls_from_the_model(client) -> None:  # type: ignore[no-untyped-def]
    messages = [{"role": "system", "content": "When a question needs several calls, answer with a JSON list of all the calls."},
                {"role": "user", "content": "What is the weather in Paris and in Oslo?"}]
    reply = client.chat(model=MODEL, messages=messages, tools=[WEATHER, CURRENCY], options={**GREEDY, "num_predict": 80})
    assert [(c.function.name, c.function.arguments) for c in reply.message.tool_calls] \
        == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"})]


def test_a_tool_message_round_trip(url: str) -> None:
    """Call, the tool's result, then the answer in words. This model calls the tool again right after
    a result (it does so without any grammar too), so the answer comes on the user's next turn."""
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_ollama import ChatOllama

    model = ChatOllama(model=MODEL, **GREEDY).bind_tools([WEATHER])
    messages = [HumanMessage("What's the weather in Montreal?")]
    first = model.invoke(messages)
    (call,) = first.tool_calls
    assert call["name"] == "get_weather" and call["args"] == {"city": "Montreal"}
    messages += [first, ToolMessage("-5 degrees C and snowing", tool_call_id=call["id"]),
                 HumanMessage("So, what is it like there? Answer in words.")]
    final = model.invoke(messages)
    assert not final.tool_calls and "snow" in final.content.lower()


def test_streamed_calls_on_api_chat(client) -> None:  # type: ignore[no-untyped-def]
    chunks = list(client.chat(model=MODEL, messages=[{"role": "user", "content": "Convert 20 euros to yen."}],
                              tools=[WEATHER, CURRENCY], options=GREEDY, stream=True))
    with_calls = [c for c in chunks if c.message.tool_calls]
    assert len(with_calls) == 1 and with_calls[0].message.tool_calls[0].function.name == "convert_currency"
    assert "".join(c.message.content for c in chunks) == "" and chunks[-1].done
    text = list(client.chat(model=MODEL, messages=[{"role": "user", "content": "Write a haiku about rain."}],
                            tools=[WEATHER, CURRENCY], options=GREEDY, stream=True))
    pieces = [c.message.content for c in text if c.message.content]
    assert len(pieces) >= 5 and not any(c.message.tool_calls for c in text)  # token by token, no call


def test_streamed_tool_call_deltas_on_v1(url: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "What's the weather in Montreal?"}],
        tools=[WEATHER, CURRENCY], temperature=0, max_tokens=64, stream=True)
    deltas, reasons, content = [], [], ""
    for chunk in stream:
        choice = chunk.choices[0]
        deltas += choice.delta.tool_calls or []
        content += choice.delta.content or ""
        reasons.append(choice.finish_reason)
    assert [(d.index, d.function.name, json.loads(d.function.arguments)) for d in deltas] \
        == [(0, "get_weather", {"city": "Montreal"})]
    assert deltas[0].id and content == "" and reasons[-1] == "tool_calls"
    reply = httpx.post(f"{url}/v1/chat/completions", timeout=120, json={
        "model": MODEL, "temperature": 0, "max_tokens": 64, "tools": [WEATHER, CURRENCY],
        "messages": [{"role": "user", "content": "How much is 100 US dollars in euros?"}]}).json()
    assert reply["choices"][0]["finish_reason"] == "tool_calls"
    assert json.loads(reply["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])["amount"] == 100


def test_the_grammar_holds_a_call_the_model_starts(url: str, client) -> None:  # type: ignore[no-untyped-def]
    """After a call without ``unit`` in the history, the model leaves ``unit`` out of its next call
    (shown on the same prompt, unconstrained); once it starts the call, the grammar adds it."""
    from labkit.ollama import metadata, store, templates

    weather = {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
                       "required": ["city", "unit"]}}}
    messages = [{"role": "user", "content": "What is the weather in Paris?"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
                {"role": "tool", "content": "18 degrees and sunny"},
                {"role": "user", "content": "And in Rome?"}]
    options = {**GREEDY, "num_predict": 24}
    prompt = templates.render_chat(metadata.chat_template(store.find(MODEL)), messages, [weather], "", "")
    free = client.generate(model=MODEL, prompt=prompt, raw=True, options=options).response
    assert free.startswith('{"name": "get_weather", "arguments": {"city": "Rome"}}')  # no unit
    reply = client.chat(model=MODEL, messages=messages, tools=[weather], options=options)
    first = reply.message.tool_calls[0].function
    assert first.name == "get_weather" and first.arguments["city"] == "Rome" and first.arguments["unit"] in ("C", "F")
