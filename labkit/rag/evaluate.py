"""Scoring retrieval and answers on the labelled questions: recall@k, MRR, answer accuracy.

recall@k: the share of questions whose note is among the first k notes retrieved. MRR (mean
reciprocal rank): the average of 1/rank of that note (0 when it is not retrieved), so it rewards
putting the right note first. Answer accuracy: the share of answers that contain the expected
fact, as whole tokens (:func:`answer_correct`). Introduced in notebooks/07_private_assistant.
"""

from __future__ import annotations

import re
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


MAX_WORDS = 30  # an answer longer than this is a pasted note, not an answer


def words(text: str) -> list[str]:
    """Lower-case whole tokens, numbers kept whole (``2.5`` and ``25`` are different tokens)."""
    return re.findall(r"[a-z]+|\d+(?:[.,]\d+)*", text.lower())


def answer_correct(answer: str, expected: str, avoid: str = "", max_words: int = MAX_WORDS) -> bool:
    """Does the answer state ``expected``, as whole tokens in any order, numbers exact?

    "5 mg" is not found in "25 mg"; an answer of more than ``max_words`` tokens (a pasted note)
    counts as wrong, and so does one that also states ``avoid`` (an earlier visit's dose, say).
    """
    said = words(answer)
    if len(said) > max_words:
        return False
    if avoid and set(words(avoid)) <= set(said):
        return False
    return set(words(expected)) <= set(said)


def graded(question: Question, reply: dict[str, Any], ranked: list[str]) -> dict[str, Any]:
    """One reply of the grounded chain (:mod:`labkit.rag.grounded`) scored against its question.

    ``ranked``: the note ids the retriever returned, best first. For an answerable question:
    was it answered, is the fact in the answer (:func:`answer_correct`), is the right note the
    one cited; for an unanswerable one, did the reply refuse.
    """
    answerable = bool(question.note_id)
    rank = ranked.index(question.note_id) + 1 if question.note_id in ranked else 0
    right = answerable and reply["answered"] and answer_correct(reply["answer"], question.answer, question.avoid)
    cited = answerable and question.note_id in reply["sources"]
    return {"kind": question.kind, "answerable": answerable, "retrieved": rank > 0,
            "reciprocal rank": 1 / rank if rank else 0.0, "answered": bool(reply["answered"]),
            "answer right": right, "cited right": cited,
            "all right": (right and cited) if answerable else not reply["answered"]}


def by_kind(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per question kind (and all together): recall@k, MRR, answered, answer, citation and refusal accuracy.

    Retrieval, answer and citation figures are over answerable questions, refusal accuracy over
    unanswerable ones (the share not answered); "all right" is the share of questions fully right
    (answered with the fact and the right note, or refused when unanswerable).
    """
    def summary(kind: str, group: list[dict[str, Any]]) -> dict[str, Any]:
        yes = [r for r in group if r["answerable"]]
        no = [r for r in group if not r["answerable"]]
        mean = lambda items, key: sum(r[key] for r in items) / len(items) if items else None  # noqa: E731
        return {"kind": kind, "questions": len(group), "recall@k": mean(yes, "retrieved"),
                "MRR": mean(yes, "reciprocal rank"), "answered": mean(group, "answered"),
                "answer acc": mean(yes, "answer right"), "citation acc": mean(yes, "cited right"),
                "refusal acc": (1 - mean(no, "answered")) if no else None, "all right": mean(group, "all right")}

    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    return [summary(kind, [r for r in rows if r["kind"] == kind]) for kind in kinds] + [summary("all", rows)]
