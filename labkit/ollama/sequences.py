"""The runner's bookkeeping: the sequences of one llama.cpp context, the job in each, a batch's parts.

Why its own module: :mod:`labkit.ollama.runner` reads as the decode loop; these are the records
that loop keeps (which tokens a sequence's KV cells hold, what a job still has to read, one
sequence's share of a batch). Introduced with the runner in notebooks/02_ollama.
"""

from __future__ import annotations

import math
from concurrent.futures import Future
from dataclasses import dataclass, field

from labkit.ollama.jobs import Emit, Job, Outcome


@dataclass
class _Work:
    """A job in a sequence: what is left to read and where its tokens go."""

    job: Job
    emit: Emit
    future: Future[Outcome | None]
    to_read: list[int] = field(default_factory=list)   # prompt tokens not yet in the KV cells
    slice_end: int = 0
    limit: float = math.inf


@dataclass
class _Part:
    """One sequence's share of a batch: its last sampled token, or a chunk of its prompt."""

    seq: _Sequence
    tokens: list[int]
    start: int            # the sequence's cached length before this part
    wants_logits: bool    # an answering sequence, or the last chunk of a prompt


@dataclass
class _Sequence:
    """One of the context's sequences: the tokens its KV cells hold, and the job using it."""

    seq_id: int
    cached: list[int] = field(default_factory=list)
    work: _Work | None = None


def _common_prefix(a: list[int], b: list[int]) -> int:
    """How many tokens ``a`` and ``b`` share from the start (the prefix a sequence can reuse)."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
