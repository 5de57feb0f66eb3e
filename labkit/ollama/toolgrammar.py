"""Grammars that make a small model's tool calls well-formed, as llama.cpp's server does.

A 135M-parameter model asked to call a tool often starts the call and then writes JSON that does
not parse, or arguments that do not fit the tool. A grammar removes that failure: the sampler may
only pick tokens that keep the output inside the grammar.

* **Forced** (``tool_choice: "required"`` or a named function on ``/v1/chat/completions``): the
  whole answer must be ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` with the
  arguments following the tool's JSON schema.
* **Lazy** (``/api/chat`` with ``tools``, and ``tool_choice: "auto"``): the model writes freely;
  the moment it writes ``<tool_call>`` the same grammar takes over, so a call it starts is always
  well-formed, and an answer without a call is left alone.

Going beyond Ollama: Ollama has no ``tool_choice`` and does not constrain calls.
Introduced in notebooks/06_build_with_langchain.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from labkit.ollama.templates import TOOL_CALL_OPEN


@dataclass(frozen=True)
class Constraint:
    """A grammar for the sampler; with ``triggers`` it waits until one of these patterns is written."""

    grammar: Any                      # llama_cpp.LlamaGrammar
    triggers: tuple[str, ...] = ()


def call_schema(tools: list[dict[str, Any]], only: str | None = None) -> dict[str, Any]:
    """JSON schema of one call: ``{"name": <a tool>, "arguments": <that tool's parameters>}``."""
    choices = []
    for tool in tools:
        fn = tool.get("function", tool)
        if only is not None and fn.get("name") != only:
            continue
        parameters = fn.get("parameters") or {"type": "object", "properties": {}}
        choices.append({"type": "object", "properties": {"name": {"const": fn["name"]}, "arguments": parameters},
                        "required": ["name", "arguments"]})
    if not choices:
        raise ValueError(f"no tool named {only!r}" if only else "no tools")
    return choices[0] if len(choices) == 1 else {"anyOf": choices}


def for_tools(tools: list[dict[str, Any]], forced: bool, only: str | None = None) -> Constraint:
    """The grammar for calls to ``tools``: the whole answer when ``forced``, else from ``<tool_call>`` on."""
    gbnf = _gbnf(json.dumps(call_schema(tools, only)))  # key order kept: name, then arguments
    from llama_cpp.llama_grammar import LlamaGrammar

    grammar = LlamaGrammar.from_string(gbnf, verbose=False)
    if forced:
        return Constraint(grammar)
    return Constraint(grammar, (r"[\s\S]*?(" + re.escape(TOOL_CALL_OPEN) + r")[\s\S]*",))


@lru_cache(maxsize=64)
def _gbnf(schema: str) -> str:
    """``root ::= "<tool_call>\\n" call "\\n</tool_call>"``, with ``call`` the schema's grammar."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    body = re.sub(r"^root ::=", "call ::=", json_schema_to_gbnf(schema), count=1, flags=re.MULTILINE)
    return f'root ::= "{TOOL_CALL_OPEN}" "\\n"? call "\\n"? "</tool_call>"\n{body}'
