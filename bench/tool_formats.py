"""Can the course model decide *when* to call a tool? Each prompt format, measured.

A grammar makes a call well-formed once the model writes one (labkit/ollama/toolgrammar.py); this
script measures the other half: how often the model calls the tool for prompts that need it, and
how often for prompts that need none (a false call). Every format runs against ``labkit serve``
in its own process, greedy, on the same 20 + 10 prompts lesson 06 uses:

* **Hermes + lazy grammar**: ``ChatOllama.bind_tools``, the kit's ``/api/chat`` path (the tools
  in a Hermes-style system message, as Ollama's smollm2 template has it).
* **SmolLM2 native, free**: the function-calling prompt of SmolLM2's own model card (tools in
  ``<tools>``, calls as a list in ``<tool_call>``, ``[]`` when none is needed), unconstrained.
* **SmolLM2 native, JSON list**: the same prompt with the answer held to a JSON list of at most
  one call (``format``), so the model only chooses between ``[]`` and a call.
* **generic JSON**: llama.cpp's format for templates without a tool format: the answer is
  ``{"tool_call": ...}`` or ``{"response": ...}``, held to that by a grammar.
* **yes/no first**: ask the model whether the tool is needed (``yes``/``no`` by grammar), and
  force the call if yes.
* **forced** (``/v1``, ``tool_choice="required"``): the baseline that always calls.

Balanced accuracy is the mean of the call rate and the rate of correct non-calls: 1.00 decides
perfectly, 0.50 decides no better than a coin (always calling scores 0.50).

    python bench/tool_formats.py
"""

from __future__ import annotations

import ast
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODEL = "smollm2:135m"
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


def right_call(calls: list[dict[str, Any]]) -> bool:
    """A well-formed get_weather call with a string city."""
    return any(c.get("name") == "get_weather" and isinstance((c.get("arguments") or {}).get("city"), str)
               for c in calls)


def formats(client: Any, base_url: str) -> dict[str, Callable[[str], list[dict[str, Any]]]]:
    """Format name -> a function from prompt to the calls the model made (name, arguments)."""
    from langchain_openai import ChatOpenAI

    from labkit import engines
    from labkit.ollama import templates, toolgrammar

    tools_json = json.dumps([TOOL["function"]])
    call = toolgrammar.call_schema([TOOL])

    def chat(system: str, prompt: str, schema: dict[str, Any] | None) -> str:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        return client.chat(model=MODEL, messages=messages, format=schema, options=OPTIONS).message.content

    hermes = engines.chat_model("ollama", MODEL, max_tokens=64).bind_tools([TOOL])
    forced = ChatOpenAI(base_url=f"{base_url}/v1", api_key="local", model=MODEL, temperature=0,
                        max_tokens=64).bind_tools([TOOL], tool_choice="required")

    def lc_calls(message: Any) -> list[dict[str, Any]]:
        return [{"name": c["name"], "arguments": c["args"]} for c in message.tool_calls]

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
        reply = client.chat(model=MODEL, messages=[{"role": "user", "content": question}],
                            format={"type": "string", "enum": ["yes", "no"]}, options=OPTIONS).message.content
        return lc_calls(forced.invoke(prompt)) if json.loads(reply) == "yes" else []

    return {
        "Hermes + lazy grammar (/api/chat)": lambda p: lc_calls(hermes.invoke(p)),
        "SmolLM2 native, free": native_free,
        "SmolLM2 native, JSON list": native_list,
        "generic JSON (llama.cpp)": generic,
        "yes/no first, then forced": yes_no_first,
        'forced (/v1, tool_choice="required")': lambda p: lc_calls(forced.invoke(p)),
    }


def main() -> None:
    import ollama

    from labkit.ollama.server import start_process
    from labkit.system.hardware import cpu_model

    server = start_process()
    os.environ["OLLAMA_HOST"] = server.url
    try:
        need, no_need = lesson_prompts()
        client = ollama.Client(host=server.url)
        client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], options=OPTIONS)  # load
        print(f"{cpu_model()}, {os.cpu_count()} cores; {MODEL}, greedy; lesson 06's {len(need)} prompts that "
              f"need get_weather and {len(no_need)} that need no tool; labkit serve in its own process\n")
        print(f"{'format':<38} {'calls (need)':>13} {'false calls':>12} {'balanced acc.':>14} {'s':>6}")
        for name, calls_for in formats(client, server.url).items():
            start = time.perf_counter()
            hits = sum(right_call(calls_for(p)) for p in need)
            false = sum(bool(calls_for(p)) for p in no_need)
            balanced = (hits / len(need) + 1 - false / len(no_need)) / 2
            print(f"{name:<38} {f'{hits}/{len(need)}':>13} {f'{false}/{len(no_need)}':>12} {balanced:>14.2f} "
                  f"{time.perf_counter() - start:>6.1f}", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
