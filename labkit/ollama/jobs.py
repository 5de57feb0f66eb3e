"""What the server's runners take and give back: load settings, a generation job, its outcome.

A request becomes a :class:`Job` (prompt tokens, options, sampler settings); the runner
(:mod:`labkit.ollama.runner`) keeps how far it got in :class:`Progress`, so a job paused for
another learner's turn goes on where it stopped, and returns an :class:`Outcome` with Ollama's
counts and timings. Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import codecs
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# A generation keeps its slot for at least this many tokens before it lets a waiting request in.
SLICE_TOKENS = 16

Emit = Callable[[str, "list[dict[str, Any]] | None"], None]


@dataclass(frozen=True)
class LoadSettings:
    """What a model is loaded with; a request asking for other values causes a reload."""

    path: str
    num_ctx: int          # KV cells per sequence: the longest prompt + answer of one request
    num_batch: int
    num_thread: int
    embedding: bool = False
    slots: int = 1        # sequences decoded together (OLLAMA_NUM_PARALLEL)


@dataclass
class Job:
    """One generation request, already turned into tokens."""

    prompt_tokens: list[int]
    options: dict[str, Any]
    grammar: Any = None
    stop: list[str] = field(default_factory=list)
    logprobs: bool = False
    top_logprobs: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    # Asked every token after SLICE_TOKENS: "is someone waiting for a slot of this model that no other
    # pause makes room for?" (the scheduler's Line.claim). If yes, the job pauses so that they get a
    # turn (see labkit.ollama.scheduler). None: never pause.
    others_waiting: Callable[[], bool] | None = None
    progress: Progress = field(default_factory=lambda: Progress())


@dataclass
class Progress:
    """How far a generation got, kept in the job so that a paused one goes on where it stopped."""

    generated: list[int] = field(default_factory=list)
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace"))
    held: str = ""                  # text held back because it may be the start of a stop string
    sampler: Any = None             # this request's own llama.cpp sampler chain (keeps its state)
    started: float | None = None    # perf_counter when the job was admitted
    first_at: float | None = None   # ... when its first token came
    waited: float = 0.0             # seconds spent paused in line (not generation time)
    paused_at: float = 0.0
    state: Any = None               # the sequence's KV cells, saved at a pause


@dataclass
class Outcome:
    """Counts and timings of a finished generation (durations in nanoseconds)."""

    done_reason: str
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int
    tokens: list[int]
