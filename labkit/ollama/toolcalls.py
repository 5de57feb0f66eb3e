"""Tool calls in a stream of generated text: from the first ``<tool_call>`` on, text is held
back and turned into Ollama's ``tool_calls`` when the generation ends.

Shared by ``/api/chat`` and the OpenAI-style ``/v1/chat/completions``. Introduced in
notebooks/02_ollama.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from labkit.ollama import templates
from labkit.ollama.generation import Event
from labkit.ollama.streaming import held_back


async def split_events(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """Hold back text from the first ``<tool_call>`` on; turn it into tool calls at the end."""
    held = ""
    calling = False
    async for event in events:
        if event.kind == "text" and not calling:
            held += event.text
            start = held.find(templates.TOOL_CALL_OPEN)
            if start >= 0:
                calling = True
                if held[:start]:
                    yield Event("text", held[:start])
                held = held[start:]
                continue
            keep = held_back(held, [templates.TOOL_CALL_OPEN])
            text, held = held[: len(held) - keep], held[len(held) - keep:]
            if text:
                yield Event("text", text, event.logprobs)
        elif event.kind == "text":
            held += event.text
        else:
            if event.kind == "done" and held:
                content, calls = templates.split_tool_calls(held)
                yield Event("tools", content, calls=calls)
            yield event
