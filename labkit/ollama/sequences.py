"""The runner's bookkeeping: the sequences of one llama.cpp context, the job in each, a batch's parts.

Why its own module: :mod:`labkit.ollama.runner` reads as the decode loop; these are the records
that loop keeps (which tokens a sequence's KV cells hold, what a job still has to read, one
sequence's share of a batch). Introduced with the runner in notebooks/02_ollama.

Which kernel computed a cell. llama.cpp's CPU flash attention has two kernels: for a sequence
with :data:`TILE_ROWS` (64, ``GGML_FA_TILE_Q``) or more tokens in one decode it works in tiles and
sums in 32-bit floats; for fewer (answering, one token at a time; a short prompt) it sums in
16-bit floats. The numbers differ by far more than the last bit: cells that another request's
long prompt computed, reused for a short prompt that would have been read with the other kernel,
moved SmolLM2's first log-probability by 0.13 and changed its greedy answer. So a sequence
records, per cell, which kernel made it, and a prompt reuses only cells that the kernel a read
from empty cells would use made (:func:`reusable`), and is read in the same pieces as from empty
cells (:func:`fresh_piece`): a greedy answer is then the same whatever other requests did before
or beside it.
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
    tiled: list[bool] = field(default_factory=list)  # per cached token: made by the tiled kernel?
    work: _Work | None = None


def _common_prefix(a: list[int], b: list[int]) -> int:
    """How many tokens ``a`` and ``b`` share from the start (the prefix a sequence can reuse)."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


TILE_ROWS = 64  # llama.cpp's GGML_FA_TILE_Q: from this many tokens of one sequence in a decode, tiled attention


def fresh_piece(pos: int, length: int, n_batch: int) -> tuple[int, int]:
    """``[start, end)``: the piece of a ``length``-token prompt that holds position ``pos`` when the prompt
    is read from empty cells, ``n_batch`` tokens at a time."""
    start = pos - pos % n_batch
    return start, min(start + n_batch, length)


def fresh_tiled(length: int, n_batch: int) -> list[bool]:
    """Per position of a ``length``-token prompt: is it computed by the tiled kernel when read from empty cells?"""
    tiled: list[bool] = []
    for start in range(0, length, n_batch):
        size = min(n_batch, length - start)
        tiled += [size >= TILE_ROWS] * size
    return tiled


def reusable(seq: _Sequence, tokens: list[int], want: list[bool], n_batch: int) -> int:
    """How many of ``seq``'s cells a prompt ``tokens`` keeps and still gets the numbers of a read from empty
    cells (``want``: :func:`fresh_tiled` of the prompt): the common prefix (less the last token, whose
    logits are wanted), only as far as each cell was made by the kernel that read would use; and if the
    rest starts inside a tiled piece, at least :data:`TILE_ROWS` of that piece are read again, so that
    they are tiled too."""
    n = min(_common_prefix(seq.cached, tokens), len(tokens) - 1)
    n = next((i for i in range(n) if seq.tiled[i] != want[i]), n)
    if n > 0 and want[n]:
        start, end = fresh_piece(n, len(tokens), n_batch)
        n = min(n, max(start, end - TILE_ROWS))
    return max(n, 0)
