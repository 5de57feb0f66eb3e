"""Can a model decide *when* to call a tool? Each prompt format, measured.

A grammar makes a call well-formed once the model writes one (labkit/ollama/toolgrammar.py); this
script measures the other half: how often the model calls the tool for prompts that need it, and
how often for prompts that need none (a false call). Every format runs against ``labkit serve``
in its own process, greedy, on the weather prompts and the prompts needing no tool that lesson 06 uses (``NEED``, ``NO_NEED``), for the model ``--model``
names (default ``smollm2:135m``, the course model; ``qwen2.5-coder:0.5b`` is the kit's model for tools):

* **Hermes + lazy grammar: <tool_call>, ```json, bare JSON**: ``ChatOllama.bind_tools``, the kit's
  ``/api/chat`` path: the tools in the system message as the model's chat template puts them
  (Hermes-style ``<tool_call>`` for both models), a lazy grammar from the opening of a call, and
  the calls the server returns, read in every form it reads (labkit/ollama/toolcalls.py): ``<tool_call>``
  blocks, ```` ```json ```` fences and bare JSON naming the tool at the start of the answer.
* **Hermes + lazy grammar: <tool_call> only (same answers)**: the same answers (no new call to the
  model: their raw text comes back as the tokens of ``logprobs``), read here with a regular
  expression that knows only ``<tool_call>`` tags, as a server reading only the tags (Ollama's
  Hermes-style templates, the kit before) would see them. The two rows apart show the calls that
  only the fenced and bare JSON forms find (``qwen2.5-coder:0.5b`` writes those, not the tags). The
  lazy grammar here also starts at the other openings; greedy decoding writes the same text up to
  an opening either way, so only an answer that would have gone on to a ``<tool_call>`` after an
  unheld fenced or bare call could differ.
* **SmolLM2 model-card prompt, free**: the function-calling prompt of SmolLM2's own model card
  (tools in ``<tools>``, calls as a list in ``<tool_call>``, ``[]`` when none is needed), unconstrained,
  read in every form. It is SmolLM2's format; another model gets it as it is (a system prompt it
  was not trained on), for comparison, and the header says so.
* **SmolLM2 model-card prompt, JSON list**: the same prompt with the answer held to a JSON list of
  at most one call (``format``), so the model only chooses between ``[]`` and a call.
* **generic JSON**: llama.cpp's format for templates without a tool format: the answer is
  ``{"tool_call": ...}`` or ``{"response": ...}``, held to that by a grammar.
* **yes/no first**: ask the model whether the tool is needed (``yes``/``no`` by grammar), and
  force the call if yes.
* **forced** (``/v1``, ``tool_choice="required"``): the baseline that always calls.

Balanced accuracy is the mean of the call rate and the rate of correct non-calls: 1.00 decides
perfectly, 0.50 decides no better than a coin (always calling scores 0.50).

    python bench/tool_formats.py
    python bench/tool_formats.py --model qwen2.5-coder:0.5b
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_MODEL = "smollm2:135m"
LESSON = Path(__file__).resolve().parents[1] / "notebooks" / "06_build_with_langchain.py"


def lesson_prompts() -> tuple[list[str], list[str]]:
    """``NEED`` and ``NO_NEED`` as lesson 06 defines them: its cell is the one source of the prompts."""
    tree = ast.parse(LESSON.read_text(encoding="utf-8"))
    wanted = [node for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
              and node.targets[0].id in {"CITIES", "NEED", "NO_NEED"}]
    scope: dict[str, Any] = {}
    exec(compile(ast.Module(wanted, type_ignores=[]), str(LESSON), "exec"), scope)
    return scope["NEED"], scope["NO_NEED"]


TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "the city"}},
                   "required": ["city"]}}}
OPTIONS = {"temperature": 0, "seed": 0, "num_predict": 64, "num_ctx": 2048}

# SmolLM2's function-calling prompt, from its model card.
NATIVE = """You are an expert in composing functions. You are given a question and a set of possible functions.
Based on the question, you will need to make one or more function/tool calls to achieve the purpose.
If none of the functions can be used, point it out and refuse to answer.
If the given question lacks the parameters required by the function, also point it out.

You have access to the following tools:
<tools>{tools}</tools>

The output MUST strictly adhere to the following format, and NO other text MUST be included.
The example format is as follows. Please make sure the parameter type is correct. If no function call is needed, please make the tool calls an empty list '[]'.
<tool_call>[
{{"name": "func_name1", "arguments": {{"argument1": "value1", "argument2": "value2"}}}},
... (more tool calls as required)
]</tool_call>"""
GENERIC = ("You can call these tools:\n{tools}\nRespond in JSON format, either with `tool_call` (a request "
           "to call a tool) or with `response` (a reply to the user's request).")
ASK = "Tool: {name}: {description}\nMessage: {prompt}\nDoes answering this message need the tool {name}? Answer yes or no."


# A server that reads only the tags: the JSON in each <tool_call> block (the closing tag may be cut off).
TAGGED = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)


def tagged_calls(text: str) -> list[dict[str, Any]]:
    """The get_weather calls in ``text``'s ``<tool_call>`` blocks, and only there (one call or a list each)."""
    calls: list[dict[str, Any]] = []
    for body in TAGGED.findall(text):
        try:
            value = json.loads(body)
        except json.JSONDecodeError:
            continue  # not a call: content, as a server leaves it
        calls += [{"name": item["name"], "arguments": item.get("arguments", item.get("parameters"))}
                  for item in (value if isinstance(value, list) else [value])
                  if isinstance(item, dict) and item.get("name") == TOOL["function"]["name"]]
    return calls


def smollm2(model: str) -> bool:
    """Is ``model`` of the SmolLM2 family (whose model card gives the native prompt)?"""
    return model.split("/")[-1].lower().startswith("smollm2")


def right_call(calls: list[dict[str, Any]]) -> bool:
    """A well-formed get_weather call with a string city."""
    return any(c.get("name") == "get_weather" and isinstance((c.get("arguments") or {}).get("city"), str)
               for c in calls)


def formats(client: Any, base_url: str, model: str = DEFAULT_MODEL) -> dict[str, Callable[[str], list[dict[str, Any]]]]:
    """Format name -> a function from prompt to the calls ``model`` made (name, arguments).

    The two Hermes rows share their answers: the first asks the model, the second reads the same
    answer again (tags only).
    """
    from langchain_openai import ChatOpenAI

    from labkit import engines
    from labkit.ollama import templates, toolgrammar

    tools_json = json.dumps([TOOL["function"]])
    call = toolgrammar.call_schema([TOOL])

    def chat(system: str, prompt: str, schema: dict[str, Any] | None) -> str:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        return client.chat(model=model, messages=messages, format=schema, options=OPTIONS).message.content

    # logprobs: each token of the answer, so its raw text, calls included, comes back too
    hermes = engines.chat_model("ollama", model, max_tokens=64, logprobs=True).bind_tools([TOOL])
    forced = ChatOpenAI(base_url=f"{base_url}/v1", api_key="local", model=model, temperature=0,
                        max_tokens=64).bind_tools([TOOL], tool_choice="required")

    def lc_calls(message: Any) -> list[dict[str, Any]]:
        return [{"name": c["name"], "arguments": c["args"]} for c in message.tool_calls]

    answers: dict[str, Any] = {}

    def kit(prompt: str) -> Any:
        if prompt not in answers:
            answers[prompt] = hermes.invoke(prompt)
        return answers[prompt]

    def raw_text(message: Any) -> str:
        return "".join(item["token"] for item in message.response_metadata.get("logprobs") or [])

    def native_free(prompt: str) -> list[dict[str, Any]]:
        _, calls = templates.split_tool_calls(chat(NATIVE.format(tools=tools_json), prompt, None))
        return [c["function"] for c in calls]

    def native_list(prompt: str) -> list[dict[str, Any]]:
        return json.loads(chat(NATIVE.format(tools=tools_json), prompt, {"type": "array", "items": call, "maxItems": 1}))

    def generic(prompt: str) -> list[dict[str, Any]]:
        schema = {"anyOf": [{"type": "object", "properties": {"tool_call": call}, "required": ["tool_call"]},
                            {"type": "object", "properties": {"response": {"type": "string"}}, "required": ["response"]}]}
        text = chat(GENERIC.format(tools=tools_json), prompt, schema)
        if not text.lstrip().startswith('{"tool_call"'):
            return []  # a reply (a long one may stop at the token limit)
        try:
            return [json.loads(text)["tool_call"]]
        except json.JSONDecodeError:
            return [{"name": None}]  # a call cut off at the token limit: made, not well-formed

    def yes_no_first(prompt: str) -> list[dict[str, Any]]:
        question = ASK.format(prompt=prompt, **TOOL["function"])
        reply = client.chat(model=model, messages=[{"role": "user", "content": question}],
                            format={"type": "string", "enum": ["yes", "no"]}, options=OPTIONS).message.content
        return lc_calls(forced.invoke(prompt)) if json.loads(reply) == "yes" else []

    return {
        "Hermes + lazy grammar: <tool_call>, ```json, bare JSON": lambda p: lc_calls(kit(p)),
        "Hermes + lazy grammar: <tool_call> only (same answers)": lambda p: tagged_calls(raw_text(kit(p))),
        "SmolLM2 model-card prompt, free": native_free,
        "SmolLM2 model-card prompt, JSON list": native_list,
        "generic JSON (llama.cpp)": generic,
        "yes/no first, then forced": yes_no_first,
        'forced (/v1, tool_choice="required")': lambda p: lc_calls(forced.invoke(p)),
    }


def main() -> None:
    import ollama

    from labkit.ollama.server import start_process
    from labkit.system.hardware import cpu_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"the model to measure (default {DEFAULT_MODEL})")
    model = parser.parse_args().model

    server = start_process()
    os.environ["OLLAMA_HOST"] = server.url
    try:
        need, no_need = lesson_prompts()
        client = ollama.Client(host=server.url)
        client.chat(model=model, messages=[{"role": "user", "content": "hi"}], options=OPTIONS)  # load
        print(f"{cpu_model()}, {os.cpu_count()} cores; {model}, greedy; lesson 06's {len(need)} prompts that "
              f"need get_weather and {len(no_need)} that need no tool; labkit serve in its own process")
        if not smollm2(model):
            print(f"The SmolLM2 model-card rows give {model} SmolLM2's own function-calling prompt, not its "
                  "family's format: for comparison.")
        rows = formats(client, server.url, model)
        width = max(len(name) for name in rows)
        print(f"\n{'format':<{width}} {'calls (need)':>13} {'false calls':>12} {'balanced acc.':>14} {'s':>6}")
        for name, calls_for in rows.items():
            start = time.perf_counter()
            hits = sum(right_call(calls_for(p)) for p in need)
            false = sum(bool(calls_for(p)) for p in no_need)
            balanced = (hits / len(need) + 1 - false / len(no_need)) / 2
            print(f"{name:<{width}} {f'{hits}/{len(need)}':>13} {f'{false}/{len(no_need)}':>12} {balanced:>14.2f} "
                  f"{time.perf_counter() - start:>6.1f}", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
