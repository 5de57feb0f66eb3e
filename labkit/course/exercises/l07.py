"""Self-checks of notebooks/07_private_assistant."""

from __future__ import annotations

import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from labkit.course.check import Exercise, NotYet, run

SIZES = [120, 200, 400]
MORE_SIZES = [400, 800, 200]  # unsorted; 400 and 800 both keep every note whole: a tie, the smaller wins
NEW_NOTE = ("Clinic note note-901. Patient: Yusuf Moreno, age 44. Seen by Dr. Okafor.\n"
            "Known condition: bipolar disorder. Current medication: lithium 300 mg daily.\n"
            "Allergies: no known allergies. Plan: continue lithium; follow-up appointment on 9 June.")
NEW_QUESTION = "What dose of lithium does Yusuf Moreno take?"
NEW_DOSE = (300.0, "mg")
DOSE = re.compile(r"(?<![\d.,])(\d+(?:,\d{3})*(?:\.\d+)?)\s*(mg|mcg|g)\b", re.IGNORECASE)


@lru_cache(maxsize=None)
def _recall_at_1_of(size: int) -> float:
    """Recall@1 of the notes' index at one chunk size (the index is built once, then reopened from disk)."""
    from labkit.rag import corpus, evaluate, store

    indexed, _ = store.index(corpus.notes(), "minilm", chunk_size=size)
    return evaluate.retrieval(indexed, corpus.questions(), k=5).recall_at_1


def _recall_at_1(sizes: list[int]) -> dict[int, float]:
    """Recall@1 for each of ``sizes``."""
    return {size: _recall_at_1_of(size) for size in sizes}


def best_chunk_size(function: Any) -> tuple[bool, str]:
    """07.1: the chunk size with the highest recall@1 (smallest on a tie), for two lists of sizes.

    The second list has a tie at the top and is not sorted, so "the largest" or "the last" is not it.
    """
    tables = []
    for sizes in (SIZES, MORE_SIZES):
        got = run(function, list(sizes))
        if got not in sizes:
            raise NotYet(f"return one of the sizes you were given ({sizes}); you returned {got!r}")
        scores = _recall_at_1(sizes)
        best = max(sorted(sizes), key=lambda size: scores[size])
        tables.append(", ".join(f"{size}: {scores[size]:.2f}" for size in sorted(sizes)))
        if got != best:
            tie = sorted(size for size in sizes if scores[size] == scores[best])
            hint = (f"{' and '.join(map(str, tie))} tie, and the smallest size wins a tie" if got in tie else
                    "score each size with evaluate.retrieval(...).recall_at_1 and take the highest")
            raise NotYet(f"for sizes {sizes}, recall@1 per chunk size is {tables[-1]}: the best is {best}, you "
                         f"returned {got}. {hint[0].upper()}{hint[1:]}")
    return True, (f"recall@1 per chunk size: {tables[0]}. Small chunks split a note so that the patient's name and "
                  "the dose land in different chunks, and the question (which names the patient) finds the name's "
                  "chunk.")


def doses(text: str) -> set[tuple[float, str]]:
    """Every dose written in ``text`` as (amount, unit), numbers read whole: 30 or 3000 mg is not 300 mg."""
    return {(float(number.replace(",", "")), unit.lower()) for number, unit in DOSE.findall(text)}


def _written(dose: tuple[float, str]) -> str:
    """A dose as a note writes it: "300 mg"."""
    return f"{dose[0]:g} {dose[1]}"


def add_and_ask(function: Any) -> tuple[bool, str]:
    """07.2: add a new note to a store and answer a question about it with the note's dose."""
    from labkit.rag import corpus, store

    with tempfile.TemporaryDirectory(prefix="labkit-07-") as folder:
        indexed, _ = store.index(corpus.notes()[:10], "minilm", folder=Path(folder))
        before = indexed.client.count(indexed.collection_name).count
        try:
            reply = run(function, indexed, "note-901", NEW_NOTE, NEW_QUESTION)
            after = indexed.client.count(indexed.collection_name).count
        finally:
            store.forget(Path(folder))
    if after <= before:
        raise NotYet("the store has no more chunks than before: add the note with vector_store.add_documents("
                     "[Document(page_content=text, metadata={'note_id': note_id})])")
    if not isinstance(reply, dict) or not isinstance(reply.get("answer"), str):
        raise NotYet(f"return the assistant's reply dict (with 'answer', 'note_id', 'sources'); got {reply!r:.200}")
    if "note-901" not in reply.get("sources", []):
        raise NotYet("the new note was not among the retrieved sources: did you put note_id in its metadata?")
    answer, said = reply["answer"], doses(reply["answer"])
    if said != {NEW_DOSE}:
        what = "it gives " + ", ".join(map(_written, sorted(said))) if said else "it gives no dose"
        raise NotYet(f"the new note was retrieved, but the answer {answer!r} is wrong: {what}, and the note says "
                     f"lithium {_written(NEW_DOSE)} daily. A 135M model misreads numbers; it copies them more "
                     "reliably when the prompt shows it one worked example (a note, a question, the value copied)")
    return True, f"the new note was indexed, retrieved, and read right: {answer!r}."


def what_it_misses(answer: Any) -> tuple[bool, str]:
    """07.3: which leak a log of this process's and the server's connections cannot see."""
    choice = str(answer).strip().lower()[:1]
    if choice == "b":
        return True, ("the record covers two processes: this notebook's (every connection opened through Python's "
                      "socket module) and the server's. A backup tool is another program: its upload of the index, "
                      "which holds the notes' text, appears in neither.")
    if choice == "a":
        return False, ("a callback runs inside this notebook's process and opens its connection through Python's "
                       "socket module: the audit hook would record it and the claim would fail. Which option runs "
                       "outside both recorded processes?")
    if choice == "c":
        return False, ("the embedding library runs in this notebook's process, so its download is a connection the "
                       "audit hook records (and in CI, with no network, it would fail outright). Which option runs "
                       "outside both recorded processes?")
    return False, "answer 'a', 'b' or 'c'"


EXERCISES = {
    "07.1": Exercise("Write best_chunk_size(sizes): the chunk size with the best recall@1.", best_chunk_size),
    "07.2": Exercise("Write add_and_ask(...): add a note to the store and ask about it.", add_and_ask),
    "07.3": Exercise("Which leak would a loopback-only connection log miss?", what_it_misses),
}
