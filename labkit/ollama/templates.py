"""Turning messages into the prompt text the model was trained on.

Ollama renders a Go template stored with the model. A GGUF file carries the
equivalent as a Jinja2 template (``tokenizer.chat_template``), which is what we
render, with llama-cpp-python's ``Jinja2ChatFormatter``. A model created with
``/api/create`` may bring its own Jinja2 template. A model without any template
(a base model such as gemma3:270m) gets the plain text, like Ollama's default
``{{ .Prompt }}``.

Tools: when the template itself handles ``tools`` they are passed to it; for a
ChatML model whose template does not (SmolLM2's), the tools are described in a
system message in the Hermes style Ollama's own smollm2 template uses, and
``<tool_call>`` blocks in the answer become ``message.tool_calls``.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

TOOLS_SYSTEM = (
    "You are a function calling AI model. You are provided with function signatures within "
    "<tools></tools> XML tags. You may call one or more functions to assist with the user query. "
    "Don't make assumptions about what values to plug into functions. Here are the available tools: "
    "<tools>{tools}</tools>\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags as follows:\n<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>'
)
TOOL_CALL_OPEN = "<tool_call>"


def is_go_template(text: str) -> bool:
    """Ollama Modelfile templates use Go syntax ({{ .Prompt }}); we render Jinja2 only."""
    return bool(re.search(r"\{\{-?\s*(\.|if \.|range \.)", text))


def template_supports_tools(template: str | None) -> bool:
    """True when the chat template renders ``tools`` itself."""
    return bool(template) and "tools" in template  # type: ignore[operator]


def can_call_tools(template: str | None) -> bool:
    """Tools capability: the template handles tools, or it is ChatML (Hermes-style fallback)."""
    return template_supports_tools(template) or (bool(template) and "<|im_start|>" in template)  # type: ignore[operator]


@lru_cache(maxsize=16)
def _formatter(template: str, eos: str, bos: str) -> Any:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True)


def render_chat(template: str | None, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
                bos: str, eos: str) -> str:
    """Prompt text for ``messages`` (system, user, assistant, tool), ready to tokenize."""
    messages = [_plain_message(m, tools_in_template=template_supports_tools(template)) for m in messages]
    if tools and not template_supports_tools(template):
        block = TOOLS_SYSTEM.format(tools=json.dumps(tools))
        if messages and messages[0]["role"] == "system":
            messages[0] = {**messages[0], "content": messages[0]["content"] + "\n\n" + block}
        else:
            messages.insert(0, {"role": "system", "content": block})
        tools = None
    if not template:
        return "\n\n".join(m["content"] for m in messages if m["content"])
    result = _formatter(template, eos, bos)(messages=messages, tools=tools or None)
    return result.prompt


def _plain_message(message: dict[str, Any], tools_in_template: bool) -> dict[str, Any]:
    """A message as chat templates expect it: role and string content always present."""
    out = {"role": message.get("role", "user"), "content": message.get("content") or ""}
    calls = message.get("tool_calls") or []
    if calls:
        if tools_in_template:
            out["tool_calls"] = [{"type": "function", "function": c.get("function", c)} for c in calls]
        else:  # write the calls back the way the model produced them
            text = "".join(
                f"{TOOL_CALL_OPEN}\n{json.dumps({'name': c.get('function', c).get('name'), 'arguments': c.get('function', c).get('arguments', {})})}\n</tool_call>"
                for c in calls
            )
            out["content"] = (out["content"] + "\n" + text).strip()
    for key in ("tool_name", "tool_call_id", "name", "thinking"):
        if message.get(key):
            out[key] = message[key]
    return out


def split_tool_calls(text: str, names: list[str] | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Separate tool calls (``<tool_call>`` blocks, fenced or bare JSON) from the answer text.

    Returns the remaining content and Ollama-shaped tool calls
    (``{"id", "function": {"index", "name", "arguments": {...}}}``); only ``names`` count when given.
    A block that is not a valid call stays in the content. See :mod:`labkit.ollama.toolcalls`.
    """
    from labkit.ollama import toolcalls

    return toolcalls.split_calls(text, names)
