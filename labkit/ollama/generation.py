"""Running one generation: from a model and options to a stream of events.

Shared by ``/api/generate``, ``/api/chat`` and the OpenAI-compatible routes.
The steps: look the model up, merge options (request > model > defaults),
wait for a runner (the scheduler loads the model if needed), then build the
prompt, tokenize, truncate if it does not fit ``num_ctx`` and generate, all in
a worker thread that hands events back to the event loop.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labkit.ollama import classroom, grammars, metadata, names, options, store, templates
from labkit.ollama.errors import OllamaError, model_not_found
from labkit.ollama.runner import Job, LoadSettings, Outcome, Runner
from labkit.ollama.scheduler import Lease, Scheduler
from labkit.system.hardware import default_threads

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from starlette.requests import Request

log = logging.getLogger("labkit.ollama")

# Threads for the work around a generation: reading files, building prompts, embeddings.
executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="labkit-llama")
_running: set[asyncio.Task[None]] = set()


def find_model(text: str, missing: Callable[[str], OllamaError] = model_not_found) -> store.Model:
    """The model called ``text``; 400 for an invalid name, 404 (``missing``) if unknown."""
    try:
        model = store.find(text)
    except names.InvalidName:
        raise OllamaError(400, "invalid model name") from None
    if model is None:
        raise missing(text)
    return model


@dataclass
class Facts:
    """What a request needs to know about a model before it runs."""

    path: str
    template: str | None
    capabilities: list[str]
    trained_ctx: int
    meta: dict[str, Any]


def facts(model: store.Model) -> Facts:
    """Read (cached) file facts; runs in a thread since the first read hashes the file."""
    path = model.gguf_path()
    meta = metadata.gguf_metadata(path)
    arch = meta.get("general.architecture", "")
    return Facts(str(path), metadata.chat_template(model), metadata.capabilities(model),
                 int(meta.get(f"{arch}.context_length", 0) or 0), meta)


async def model_facts(model: store.Model) -> Facts:
    try:
        return await asyncio.to_thread(facts, model)
    except LookupError as exc:
        raise OllamaError(404, str(exc)) from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise OllamaError(500, f"cannot read model {model.name.short}: {exc}") from None


def load_settings(info: Facts, opts: dict[str, Any], embedding: bool = False, slots: int = 1) -> LoadSettings:
    """Runner settings from the merged options (num_ctx 0 = Ollama's automatic choice).

    ``slots``: requests the model decodes together (the scheduler's ``num_parallel``); an
    embedding runner has one.
    """
    num_ctx = opts["num_ctx"] if opts["num_ctx"] > 0 else options.default_num_ctx(info.trained_ctx)
    if info.trained_ctx > 0:
        num_ctx = min(num_ctx, info.trained_ctx)
    num_ctx = max(num_ctx, 16)
    threads = opts["num_thread"] if opts["num_thread"] > 0 else default_threads()
    batch = max(1, opts["num_batch"])
    if embedding:
        batch = num_ctx  # a whole text is embedded in one batch
    return LoadSettings(info.path, num_ctx, min(batch, num_ctx), threads, embedding, 1 if embedding else slots)


# ---- the run ------------------------------------------------------------------------------------

PromptBuilder = Callable[[Runner, dict[str, Any]], list[int]]


@dataclass
class GenerationRequest:
    """A generation ready to run: model, options and how to build the prompt tokens."""

    model: store.Model
    info: Facts
    opts: dict[str, Any]
    keep_alive: float
    build: PromptBuilder
    format: Any = None
    logprobs: bool = False
    top_logprobs: int = 0
    client: str = ""  # who asks, for fair turns (labkit.ollama.classroom.client_of)
    tools: grammars.Tools | None = None  # tools whose calls a grammar holds to their schemas; unless a format is given
    started: float = field(default_factory=time.perf_counter)


@dataclass
class Event:
    kind: str                       # "text", "tools", "done" or "error"
    text: str = ""
    logprobs: list[dict[str, Any]] | None = None
    calls: list[dict[str, Any]] | None = None
    outcome: Outcome | None = None
    error: str = ""
    status: int = 500                # an error's HTTP status, where the reply has not started yet


@dataclass
class Running:
    """A generation in progress: iterate :attr:`events`; metrics come with the "done" event."""

    lease: Lease
    job: Job
    events: AsyncIterator[Event]
    request: GenerationRequest

    def metrics(self, outcome: Outcome) -> dict[str, Any]:
        """Ollama's final-chunk fields, all durations in nanoseconds."""
        return {
            "done_reason": outcome.done_reason,
            "total_duration": int((time.perf_counter() - self.request.started) * 1e9),
            "load_duration": self.lease.load_duration,
            "prompt_eval_count": outcome.prompt_eval_count,
            "prompt_eval_duration": outcome.prompt_eval_duration,
            "eval_count": outcome.eval_count,
            "eval_duration": outcome.eval_duration,
        }


async def start(scheduler: Scheduler, req: GenerationRequest) -> Running:
    """Acquire a runner (errors here still become a normal HTTP error) and start generating.

    The prompt is built in a worker thread; the generation runs in the runner's decode
    thread, batched with the model's other requests. When it pauses to let a waiting
    request in (see :mod:`labkit.ollama.scheduler`), it waits for its next turn here, on
    the event loop, without holding a thread.
    """
    # Parsed and checked here, in a worker thread, before the request waits for a slot (labkit.ollama.grammars).
    grammar = await asyncio.to_thread(grammars.prepare, req.info.path, req.format, req.tools)
    settings = load_settings(req.info, req.opts, slots=scheduler.num_parallel)
    lease = await scheduler.acquire(req.model, settings, req.keep_alive, req.client)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event] = asyncio.Queue()
    line = lease.loaded.line
    job = Job(prompt_tokens=[], options=req.opts, grammar=grammar, stop=list(req.opts.get("stop") or []),
              logprobs=req.logprobs, top_logprobs=req.top_logprobs, others_waiting=line.claim)

    def push(event: Event) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    def emit(text: str, probs: list[dict[str, Any]] | None) -> None:
        push(Event("text", text, probs))

    turn: list[asyncio.Task[Lease]] = []  # the wait for the next turn while paused (cancelled if the client goes)

    async def drive() -> None:
        current, holding = lease, True
        scheduler.running_jobs.add(job.cancel)  # so that stopping the server can cancel it
        try:
            job.prompt_tokens = await loop.run_in_executor(executor, req.build, lease.runner, req.opts)
            while True:
                outcome = await asyncio.wrap_future(current.runner.submit(job, emit))
                if outcome is not None:
                    break
                if job.cancel.is_set():  # paused, and its client left meanwhile: dropped, not resumed
                    holding = False
                    scheduler.release(current, req.keep_alive, claimed=True)
                    return
                holding = False  # paused: someone else's turn
                turn.append(scheduler.take_turn(current, req.client))
                try:
                    current = await turn[-1]
                except asyncio.CancelledError:  # the client left, or the server stops, while it waited in line
                    if asyncio.current_task().cancelling():  # type: ignore[union-attr]
                        raise
                    push(Event("error", error="the server is shutting down" if scheduler.stopping else
                               "cancelled: the client left", status=503))
                    return
                finally:
                    turn.clear()
                holding = True
            push(Event("done", outcome=outcome))
        except OllamaError as exc:
            push(Event("error", error=exc.message, status=exc.status))
        except Exception as exc:  # reported as one error line; the traceback stays in the server log
            log.exception("generation failed")
            push(Event("error", error=f"generation failed: {exc}"))
        finally:
            scheduler.running_jobs.discard(job.cancel)
            if holding:
                scheduler.release(current, req.keep_alive)

    task = loop.create_task(drive())
    _running.add(task)  # keep a reference until it ends (the loop only holds a weak one)
    task.add_done_callback(_running.discard)

    async def events() -> AsyncIterator[Event]:
        try:
            while True:
                event = await queue.get()
                yield event
                if event.kind != "text":
                    return
        finally:
            job.cancel.set()  # client gone or stream closed: stop the worker at the next token
            for waiting in turn:  # paused in line: leave it, the job is not resumed
                waiting.cancel()

    return Running(lease, job, events(), req)


def fit_to_context(tokens: list[int], opts: dict[str, Any], n_ctx: int, what: str = "prompt",
                   truncate: bool = True) -> list[int]:
    """Cut a prompt that does not fit the context the way Ollama does by default (``truncate: true``).

    Keep the first ``num_keep`` tokens, drop the oldest ones after them. Unlike
    Ollama, llama-cpp-python cannot shift the context while generating, so some
    room is left for the answer (a current Ollama cuts harder, to about half the
    window). Logged as a warning: the client only sees a smaller
    ``prompt_eval_count``. With ``truncate: false`` the request is refused with a
    400 instead, as Ollama does.
    """
    limit = prompt_limit(opts, n_ctx)
    if len(tokens) <= limit:
        return tokens
    if not truncate:
        raise OllamaError(400, f"the input length exceeds the context length: the prompt has {len(tokens)} tokens "
                               f"and num_ctx={n_ctx} holds {limit} with room for the answer; raise num_ctx or send "
                               "a shorter prompt")
    keep = min(max(opts["num_keep"], 0), limit // 2)
    new = tokens[:keep] + tokens[len(tokens) - (limit - keep):]
    log.warning("truncating input %s: limit=%d prompt=%d keep=%d new=%d (num_ctx=%d; raise num_ctx to keep it all)",
                what, limit, len(tokens), keep, len(new), n_ctx)
    return new


def prompt_limit(opts: dict[str, Any], n_ctx: int) -> int:
    """Largest prompt (tokens) that runs without truncation."""
    room = opts["num_predict"] if opts["num_predict"] > 0 else 256
    return max(1, n_ctx - min(room, n_ctx // 4) - 1)


# ---- prompts, embeddings and usage shared by the routes ----------------------------------------

def chat_tokens(runner: Runner, template: str | None, messages: list[dict[str, Any]],
                 tools: list[dict[str, Any]], opts: dict[str, Any], truncate: bool = True) -> list[int]:
    """Render and tokenize; if too long, drop the oldest messages first, as Ollama does.

    System messages and the latest message are always kept; what is still too
    long after that is cut token by token (:func:`fit_to_context`). With
    ``truncate=False`` nothing is dropped and a prompt that does not fit is a 400.
    """
    limit = prompt_limit(opts, runner.n_ctx)
    current = list(messages)

    def tokens_of(msgs: list[dict[str, Any]]) -> list[int]:
        text = templates.render_chat(template, msgs, tools or None, runner.bos_text, runner.eos_text)
        return runner.tokenize(text, add_bos=not starts_with_bos(text, runner.bos_text))

    tokens = tokens_of(current)
    dropped = 0
    while truncate and len(tokens) > limit:
        droppable = [i for i, m in enumerate(current[:-1]) if m["role"] != "system"]
        if not droppable:
            break
        del current[droppable[0]]
        dropped += 1
        tokens = tokens_of(current)
    if dropped:
        log.warning("truncating chat history: dropped %d oldest message(s) to fit num_ctx=%d", dropped, runner.n_ctx)
    return fit_to_context(tokens, opts, runner.n_ctx, truncate=truncate)


async def run_embedding(request: Request, name: str, texts: list[str], raw_options: Any, keep_alive_raw: Any,
                        normalize: bool, truncate: bool = True) -> tuple[list[list[float]], int, int]:
    """Vectors, token count and load_duration (ns) for ``texts`` with model ``name``."""
    request.state.model = name
    model = find_model(name)
    info = await model_facts(model)
    opts = classroom.held_load_options(request, options.merge(raw_options, model.parameters), model.parameters)
    keep_alive = classroom.held_keep_alive(request, options.keep_alive(keep_alive_raw))
    settings = load_settings(info, opts, embedding=True)
    scheduler = request.app.state.scheduler
    lease = await scheduler.acquire(model, settings, keep_alive, classroom.client_of(request))
    try:
        if not texts:
            return [], 0, lease.load_duration
        loop = asyncio.get_running_loop()
        vectors, count = await loop.run_in_executor(
            executor, lease.runner.embed, texts, normalize, truncate)
    finally:
        scheduler.release(lease, keep_alive)
    return vectors, count, lease.load_duration


def starts_with_bos(text: str, bos: str) -> bool:
    """Does a rendered prompt already begin with the model's BOS token text (so none is added)?"""
    return bool(bos) and text.startswith(bos)


def note_usage(request: Request, event: Event) -> None:
    """Remember token counts for the access log line."""
    assert event.outcome is not None
    request.state.eval_count = event.outcome.eval_count
    request.state.eval_duration = event.outcome.eval_duration
