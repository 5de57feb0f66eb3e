"""Tool calls in generated text: found the way llama.cpp's server finds them, and split off a stream.

A model asked to call a tool writes the call in one of a few forms, and real servers accept all
of them (llama.cpp's Hermes 2 Pro handler, which also serves Qwen 2.5):

* ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, anywhere in the answer (Hermes,
  and what the kit's own tools prompt asks for);
* a fenced block: a line with ```json (or a bare ```), the call, then the closing ```;
* bare JSON at the start of the answer: ``{"name": "get_weather", "arguments": {"city": "Montreal"}}``
  (qwen2.5-coder writes this or the fenced form, not the tags its template asks for).

Each form may hold one call or a JSON list of calls, and several blocks may follow one another:
every call becomes one entry of ``tool_calls`` (parallel calls), numbered from 0. Only the names of
the request's tools count: JSON naming another function, or prose that mentions ``get_weather``,
stays content. :func:`find_calls` is the one parser, shared by ``/api/chat`` and
``/v1/chat/completions``; :class:`CallSplitter` uses it on a stream, holding back text only from
where a call could start until it is known whether it is one (an answer that starts with ``{`` or
``[`` waits until its JSON is complete). Once the model starts a call in any of these forms,
:mod:`labkit.ollama.toolgrammar` holds it to the tools' schemas. Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from typing import Any

from labkit.ollama.generation import Event
from labkit.ollama.streaming import held_back

OPEN, CLOSE, FENCE = "<tool_call>", "</tool_call>", "```"
_FENCE_INFO = ("", "json")              # a fence that may hold a call: ``` or ```json
_CALL_KEYS = {"name", "arguments", "parameters", "id", "type"}  # more keys: not a call (a tool's schema, say)
_decoder = json.JSONDecoder()


@dataclass
class Found:
    """Calls written between ``start`` and ``end`` of the text: ``{"name", "arguments"}`` each."""

    start: int
    end: int
    calls: list[dict[str, Any]] = field(default_factory=list)


def tool_names(tools: list[dict[str, Any]]) -> list[str]:
    """The function names of a request's ``tools``."""
    return [str((t.get("function", t) or {}).get("name")) for t in tools if isinstance(t, dict)]


def find_calls(text: str, names: Collection[str] | None, final: bool = True) -> tuple[list[Found], int]:
    """The calls in ``text``, in order, and how much of ``text`` is settled.

    ``names``: the request's tool names (None: any name). With ``final`` the text is the whole
    answer and everything is decided. Without it (a stream, more text to come) the scan stops at
    the first call, or where more text is needed to decide; the second value is then the length of
    the beginning of ``text`` that is content whatever comes next.
    """
    found: list[Found] = []
    n, pos, bare = len(text), 0, True      # bare JSON counts at the start and right after a call
    while pos < n:
        if bare:
            start = _skip_space(text, pos)
            if start == n:
                break
            if text[start] in "{[":
                kind, end, calls = _json_calls(text, start, names, final)
                if kind == "wait":
                    return found, pos
                if kind == "calls":
                    found.append(Found(start, end, calls))
                    if not final:
                        return found, start
                    pos = end
                    continue
                pos = end                  # JSON that is not a call: content
            bare = False
        at = _next_opening(text, pos)
        if at is None:
            if not final:
                return found, max(pos, n - held_back(text[pos:], [OPEN, FENCE]))
            break
        if text.startswith(OPEN, at):
            kind, end, calls = _tagged(text, at, names, final)
        else:
            kind, end, calls = _fenced(text, at, names, final)
        if kind == "wait":
            return found, at
        if kind == "calls":
            found.append(Found(at, end, calls))
            if not final:
                return found, at
            bare = True
        pos = end
    return found, n


def split_calls(text: str, names: Collection[str] | None) -> tuple[str, list[dict[str, Any]]]:
    """The content left once the calls are taken out, and the calls in Ollama's shape.

    Ollama's shape: ``{"id", "function": {"index", "name", "arguments": {...}}}``. Without any
    call the text comes back unchanged.
    """
    found, _ = find_calls(text, names)
    return _content(text, found), _shaped(found)


def _content(text: str, found: list[Found]) -> str:
    """``text`` without the calls' spans: the pieces around them, trimmed, one per line."""
    if not found:
        return text
    parts, pos = [], 0
    for item in found:
        parts.append(text[pos:item.start])
        pos = item.end
    parts.append(text[pos:])
    return "\n".join(p.strip() for p in parts if p.strip())


def _shaped(found: list[Found]) -> list[dict[str, Any]]:
    calls = [call for item in found for call in item.calls]
    return [{"id": f"call_{uuid.uuid4().hex[:8]}",
             "function": {"index": i, "name": c["name"], "arguments": c["arguments"]}}
            for i, c in enumerate(calls)]


# ---- the forms -------------------------------------------------------------------------------

def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _next_opening(text: str, pos: int) -> int | None:
    hits = [i for i in (text.find(OPEN, pos), text.find(FENCE, pos)) if i >= 0]
    return min(hits) if hits else None


def _json_calls(text: str, start: int, names: Collection[str] | None,
                final: bool) -> tuple[str, int, list[dict[str, Any]]]:
    """JSON values at ``start``, one after another (blank between them): ("calls", end, calls) if
    they are calls, else ("text", end, []); ("wait", start, []) if more text may still decide."""
    calls: list[dict[str, Any]] = []
    pos = end = start
    while pos < len(text) and text[pos] in "{[":
        try:
            value, after = _decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            if not final and _incomplete(exc, text):
                return "wait", start, []
            break
        more = _as_calls(value, names)
        if not more:
            if not calls:
                return "text", after, []
            break
        calls += more
        end = after
        pos = _skip_space(text, after)
    if calls:
        return "calls", end, calls
    return "text", start + 1, []


def _incomplete(exc: json.JSONDecodeError, text: str) -> bool:
    """Could more text still make this JSON valid? (The error is at its very end.)"""
    return exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip()) - 4


def _tagged(text: str, at: int, names: Collection[str] | None,
            final: bool) -> tuple[str, int, list[dict[str, Any]]]:
    """``<tool_call>`` JSON ``</tool_call>``; the closing tag may be missing at the end of the answer."""
    body = _skip_space(text, at + len(OPEN))
    close = text.find(CLOSE, body)
    if close < 0 and not final:
        return "wait", at, []
    kind, end, calls = _json_calls(text, body, names, final=True)
    if kind == "calls":
        after = _skip_space(text, end)
        if after == close:
            return "calls", close + len(CLOSE), calls
        if close < 0:
            return "calls", end, calls
    return "text", at + len(OPEN), []


def _fenced(text: str, at: int, names: Collection[str] | None,
            final: bool) -> tuple[str, int, list[dict[str, Any]]]:
    """A fenced block: calls if it is ``` or ```json and holds only calls; else content to its end."""
    line_end = text.find("\n", at)
    if line_end < 0:
        return ("text", len(text), []) if final else ("wait", at, [])
    info = text[at + len(FENCE):line_end].strip().lower()
    if FENCE in info or " " in info:                # ``` inside a line of text: not a block
        return "text", at + len(FENCE), []
    body = _skip_space(text, line_end + 1)
    if info in _FENCE_INFO:
        if body == len(text) and not final:
            return "wait", at, []
        kind, end, calls = _json_calls(text, body, names, final)
        if kind == "wait" and FENCE not in text[body:]:  # still open: the JSON may go on
            return "wait", at, []
        if kind == "calls":
            after = _skip_space(text, end)
            if text.startswith(FENCE, after):
                return "calls", after + len(FENCE), calls
            if not final and FENCE.startswith(text[after:]):  # the closing fence may come next
                return "wait", at, []
            if after == len(text):                  # the answer ended before the closing fence
                return "calls", len(text), calls
    return _code_block(text, line_end + 1, final)


def _code_block(text: str, body: int, final: bool) -> tuple[str, int, list[dict[str, Any]]]:
    """A block that is not a call: content up to its closing fence (a ``<tool_call>`` inside still counts)."""
    close = _next_opening(text, body)
    if close is None:  # not closed yet: content so far, but for what may be the start of a fence
        return "text", len(text) - (0 if final else held_back(text[body:], [OPEN, FENCE])), []
    if text.startswith(OPEN, close):
        return "text", close, []
    return "text", close + len(FENCE), []


def _as_calls(value: Any, names: Collection[str] | None) -> list[dict[str, Any]]:
    """``value`` as calls (one object or a list of them), or [] if it is not that."""
    items = value if isinstance(value, list) else [value]
    calls = [_as_call(item, names) for item in items]
    if not items or any(c is None for c in calls):
        return []
    return calls  # type: ignore[return-value]


def _as_call(item: Any, names: Collection[str] | None) -> dict[str, Any] | None:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not set(item) <= _CALL_KEYS:
        return None
    if names is not None and item["name"] not in names:
        return None
    arguments = item.get("arguments", item.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            arguments = {"value": arguments}
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return None
    return {"name": item["name"], "arguments": arguments}


# ---- a stream ----------------------------------------------------------------------------------

class CallSplitter:
    """Text of a stream in, content out as soon as it cannot be part of a call; calls at the end."""

    def __init__(self, names: Collection[str] | None) -> None:
        self.names = names
        self.text = ""
        self.sent = 0          # text[:sent] went out as content

    def feed(self, piece: str) -> str:
        """The content that ``piece`` settles (maybe empty: held back)."""
        self.text += piece
        _, settled = find_calls(self.text, self.names, final=False)
        settled = len(self.text[:settled].rstrip())  # blank space waits for what follows it
        if settled <= self.sent:
            return ""
        out, self.sent = self.text[self.sent:settled], settled
        return out

    def finish(self) -> tuple[str, list[dict[str, Any]]]:
        """The content not sent yet, and the calls (Ollama's shape)."""
        found, _ = find_calls(self.text, self.names)
        rest = self.text[self.sent:]
        if not found:
            return rest, []
        shifted = [Found(f.start - self.sent, f.end - self.sent, f.calls) for f in found if f.start >= self.sent]
        return _content(rest, shifted), _shaped(found)


async def split_events(events: AsyncIterator[Event], names: Collection[str] | None = None) -> AsyncIterator[Event]:
    """Text events as content while it cannot be a call; then one "tools" event with the calls."""
    splitter = CallSplitter(names)
    probs: list[dict[str, Any]] = []
    async for event in events:
        if event.kind == "text":
            probs.extend(event.logprobs or [])
            text = splitter.feed(event.text)
            if text:
                yield Event("text", text, probs or None)
                probs = []
        else:
            if event.kind == "done":
                rest, calls = splitter.finish()
                if rest or calls or probs:
                    yield Event("tools", rest, probs or None, calls=calls)
            yield event
