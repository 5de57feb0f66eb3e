"""Scoring retrieval and answers on the labelled questions: recall@k, MRR, answer accuracy.

recall@k: the share of questions whose note is among the first k notes retrieved. MRR (mean
reciprocal rank): the average of 1/rank of that note (0 when it is not retrieved), so it rewards
putting the right note first. Answer accuracy: the share of answers that contain the expected
string. Introduced in notebooks/07_private_assistant.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from labkit.rag.corpus import Question


@dataclass(frozen=True)
class Retrieval:
    """Retrieval quality and speed over a question set."""

    recall_at_1: float
    recall_at_k: float
    mrr: float
    k: int
    query_seconds: list[float]


def ranked_notes(store: Any, question: str, k: int) -> list[str]:
    """Note ids of the ``k`` best chunks, best first, each note once."""
    seen: list[str] = []
    for doc in store.similarity_search(question, k=k):
        if doc.metadata["note_id"] not in seen:
            seen.append(doc.metadata["note_id"])
    return seen


def retrieval(store: Any, questions: list[Question], k: int = 5) -> Retrieval:
    """recall@1, recall@k and MRR of ``store`` over ``questions``, with each query's time."""
    hits1 = hitsk = 0
    reciprocal = 0.0
    times = []
    for q in questions:
        start = time.perf_counter()
        ranked = ranked_notes(store, q.question, k)
        times.append(time.perf_counter() - start)
        if q.note_id in ranked:
            rank = ranked.index(q.note_id) + 1
            hits1 += rank == 1
            hitsk += 1
            reciprocal += 1 / rank
    n = len(questions)
    return Retrieval(hits1 / n, hitsk / n, reciprocal / n, k, times)


def answer_correct(answer: str, expected: str) -> bool:
    """Does the answer contain the expected string (case and spacing ignored)?"""
    squash = lambda text: " ".join(text.lower().split())  # noqa: E731
    return squash(expected) in squash(answer)
