"""A template that a request brings (``/api/generate``'s ``template``), rendered with a budget.

A chat template is a small program: Jinja2's sandbox keeps it from touching files or Python's
internals, but not from looping. Two nested loops over ``range(100000)`` write for hours and can
fill the machine's memory (measured: 22.7 GB in three minutes), and Python cannot interrupt a
thread that is stuck in them, so the server could not even stop. Such a template is therefore
rendered in a child process of its own, with a time budget (:data:`RENDER_SECONDS`; a real chat
template needs microseconds), a memory ceiling (:data:`CHILD_MEMORY`) and an output budget
(:data:`MAX_OUTPUT_CHARS`); a child past its time is killed and a fresh one started. Templates the
server trusts (the model file's own, or one a model was created with) are rendered in-process.

In classroom mode (a server listening beyond loopback) a per-request template is refused instead
(:func:`labkit.ollama.chat.generate`): one learner's template would still take a core of the shared
machine for the whole budget, again and again, and a room has no need of it: the instructor
creates a model with the template (``/api/create``) and everyone uses that.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from typing import Any

from labkit.ollama.errors import OllamaError

log = logging.getLogger("labkit.ollama")

RENDER_SECONDS = 2.0             # a chat template renders in well under a millisecond
MAX_OUTPUT_CHARS = 4 * 2**20     # more than any num_ctx the kit allows can hold
CHILD_MEMORY = 2 * 2**30         # address space of the rendering process (Python, Jinja2 and llama_cpp fit)

_pool: Any = None
_lock = threading.Lock()  # one render at a time: each has the whole budget, and rarely needs any of it


def render(template: str, messages: list[dict[str, Any]], bos: str, eos: str) -> str:
    """The prompt text, as :func:`labkit.ollama.templates.render_chat` gives it; 400 past the budget."""
    global _pool
    with _lock:
        pool = _started()
        pending = pool.apply_async(_render_in_child, (template, messages, bos, eos))
        try:
            ok, text = pending.get(RENDER_SECONDS)
        except multiprocessing.TimeoutError:
            log.warning("a request's template did not render within %.0f s; its process was stopped", RENDER_SECONDS)
            pool.terminate()
            _pool = None
            raise OllamaError(400, f"the template did not render within {RENDER_SECONDS:.0f} s: check its loops, "
                                   "or leave template out to use the model's own") from None
    if not ok:
        raise OllamaError(400, f"the template cannot be rendered: {text}")
    return text


def _started() -> Any:
    global _pool
    if _pool is None:
        # spawn, not fork: the server has llama.cpp and event-loop threads a forked child would copy half-way
        _pool = multiprocessing.get_context("spawn").Pool(1, initializer=_limit_memory)
        _pool.apply(_render_in_child, ("{{ bos_token }}", [], "", ""))  # imports done before any budget counts
    return _pool


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def _render_in_child(template: str, messages: list[dict[str, Any]], bos: str, eos: str) -> tuple[bool, str]:
    from labkit.ollama import templates

    try:
        text = templates.render_chat(template, messages, None, bos, eos)
    except MemoryError:
        return False, "its output grew beyond the server's memory budget for templates"
    except Exception as exc:  # the template's own error (raise_exception, a syntax error, ...)
        return False, f"{type(exc).__name__}: {exc}"
    if len(text) > MAX_OUTPUT_CHARS:
        return False, f"it wrote {len(text)} characters, more than the {MAX_OUTPUT_CHARS} allowed"
    return True, text
