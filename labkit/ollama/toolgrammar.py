"""Grammars that make a small model's tool calls well-formed, as llama.cpp's server does.

A 135M-parameter model asked to call a tool often starts the call and then writes JSON that does
not parse, or arguments that do not fit the tool. A grammar removes that failure: the sampler may
only pick tokens that keep the output inside the grammar.

* **Forced** (``tool_choice: "required"`` or a named function on ``/v1/chat/completions``): the
  whole answer must be ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` with the
  arguments following the tool's JSON schema.
* **Lazy** (``/api/chat`` with ``tools``, and ``tool_choice: "auto"``): the model writes freely;
  the moment it starts a call in one of the forms :mod:`labkit.ollama.toolcalls` reads (``<tool_call>``,
  a fenced ```json block naming a tool, or ``{"name": "<a tool>"`` at the start of the answer) a
  grammar for that form takes over, so a call it starts is always well-formed, and an answer
  without a call is left alone (:func:`triggers`).

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
    """A grammar for the sampler; with ``triggers`` it waits until one of these patterns is written
    (searched in the answer so far; the grammar holds the text from the pattern's first group on)."""

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
    """The grammar for calls to ``tools``: the whole answer when ``forced``, else from an opening on."""
    from llama_cpp.llama_grammar import LlamaGrammar

    gbnf, patterns = gbnf_for(tools, forced, only)
    return Constraint(LlamaGrammar.from_string(gbnf, verbose=False), patterns)


def gbnf_for(tools: list[dict[str, Any]], forced: bool, only: str | None = None) -> tuple[str, tuple[str, ...]]:
    """The GBNF text for calls to ``tools`` and, unless ``forced``, the patterns that start it.

    The server parses it before the request is admitted (:mod:`labkit.ollama.grammars`).
    """
    schema = json.dumps(call_schema(tools, only))  # key order kept: name, then arguments
    if forced:
        return _gbnf(schema), ()
    names = [t.get("function", t)["name"] for t in tools]
    return _lazy_gbnf(schema), triggers(names)


def triggers(names: list[str]) -> tuple[str, ...]:
    """Where a lazy tool-call grammar starts: the openings of :mod:`labkit.ollama.toolcalls`' forms.

    Regular expressions searched in the answer so far; the grammar takes over from the start of the
    first group (the text before it stays free). As llama.cpp's Hermes 2 Pro handler: the word
    ``<tool_call>`` anywhere; a fence (```, ```json) followed by ``{"name": "<a tool>"``; and that
    JSON bare at the start of the answer. JSON counts only once a tool's name is written, so a fence
    of code or JSON that names no tool is never held to the grammar.
    """
    space = r'(?: |\n{1,2}[ \t]{0,20})?'  # the grammar's ``space``, between JSON tokens
    call = (r'(?:\[' + space + r')?\{' + space + r'"name"' + space + ':' + space
            + '"(?:' + "|".join(re.escape(n) for n in names) + ')"')
    return (
        "(" + re.escape(TOOL_CALL_OPEN) + ")",
        r"(```(?:json|JSON)?\n[ \t\n]{0,4}" + call + ")",
        r"^[ \t\n]*(" + call + ")",
    )


# llama.cpp's own ``space`` (common/json-schema-to-grammar.cpp): JSON as models write it, spread over
# lines; llama-cpp-python's converter allows one space only, and a call the model started in the
# pretty-printed style could not go on.
_SPACE = 'space ::= | " " | "\\n"{1,2} [ \\t]{0,20}'


@lru_cache(maxsize=64)
def _gbnf(schema: str) -> str:
    """``root ::= "<tool_call>\\n" call "\\n</tool_call>"``, with ``call`` the schema's grammar."""
    return f'root ::= "{TOOL_CALL_OPEN}" "\\n"? call "\\n"? "</tool_call>"\n{_call_rules(schema)}'


@lru_cache(maxsize=64)
def _lazy_gbnf(schema: str) -> str:
    """Calls in the form the model started: ``<tool_call>`` blocks, fenced blocks or bare JSON.

    Each form holds one call or a JSON list of calls and may repeat (parallel calls); nothing but
    blank space may follow, as llama.cpp's Hermes grammar has it.
    """
    rules = _call_rules(schema)
    if 'space ::= " "?' not in rules:  # pragma: no cover - another llama-cpp-python's converter
        raise RuntimeError("unexpected grammar from json_schema_to_gbnf: no space rule")
    rules = rules.replace('space ::= " "?', _SPACE)
    return "\n".join([
        "root ::= tc-tagged (tc-gap tc-tagged)* tc-gap | tc-fenced (tc-gap tc-fenced)* tc-gap"
        " | tc-calls (tc-gap tc-calls)* tc-gap",
        f'tc-tagged ::= "{TOOL_CALL_OPEN}" tc-gap tc-calls tc-gap "</tool_call>"',
        'tc-fenced ::= "```" ("json" | "JSON")? "\\n" tc-gap tc-calls tc-gap "```"',
        'tc-calls ::= call | "[" space call ("," space call)* "]" space',
        "tc-gap ::= [ \\t\\n]{0,4}",
        rules,
    ])


def _call_rules(schema: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return re.sub(r"^root ::=", "call ::=", json_schema_to_gbnf(schema), count=1, flags=re.MULTILINE)
