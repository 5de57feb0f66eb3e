"""Self-checks of notebooks/07_private_assistant."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from labkit.course.check import Exercise, NotYet, run

SIZES = [120, 200, 400]
NEW_NOTE = ("Clinic note note-901. Patient: Yusuf Moreno, age 44. Seen by Dr. Okafor.\n"
            "Known condition: bipolar disorder. Current medication: lithium 300 mg daily.\n"
            "Allergies: no known allergies. Plan: continue lithium; follow-up appointment on 9 June.")
NEW_QUESTION = "What dose of lithium does Yusuf Moreno take?"


def best_chunk_size(function: Any) -> tuple[bool, str]:
    """07.1: the chunk size with the highest recall@1 (smallest on a tie)."""
    from labkit.rag import corpus, evaluate, store

    got = run(function, list(SIZES))
    if got not in SIZES:
        raise NotYet(f"return one of the sizes you were given ({SIZES}); you returned {got!r}")
    notes, questions = corpus.notes(), corpus.questions()
    scores = {size: evaluate.retrieval(store.index(notes, "minilm", chunk_size=size)[0], questions, k=5).recall_at_1
              for size in SIZES}
    best = max(SIZES, key=lambda size: (scores[size], -size))
    table = ", ".join(f"{size}: {score:.2f}" for size, score in scores.items())
    if got != best:
        return False, (f"recall@1 per chunk size here is {table}: the best is {best}, you returned {got}. Score "
                       "each size with evaluate.retrieval(...).recall_at_1 and take the highest")
    return True, (f"recall@1 per chunk size: {table}. Small chunks split a note so that the patient's name and the "
                  "dose land in different chunks, and the question (which names the patient) finds the name's chunk.")


def add_and_ask(function: Any) -> tuple[bool, str]:
    """07.2: add a new note to a store and answer a question about it."""
    from labkit.rag import corpus, store

    with tempfile.TemporaryDirectory(prefix="labkit-07-") as folder:
        indexed, _ = store.index(corpus.notes()[:10], "minilm", folder=Path(folder))
        before = indexed.client.count(indexed.collection_name).count
        reply = run(function, indexed, "note-901", NEW_NOTE, NEW_QUESTION)
        after = indexed.client.count(indexed.collection_name).count
        store.forget(Path(folder))
    if after <= before:
        raise NotYet("the store has no more chunks than before: add the note with vector_store.add_documents("
                     "[Document(page_content=text, metadata={'note_id': note_id})])")
    if not isinstance(reply, dict) or "answer" not in reply:
        raise NotYet(f"return the assistant's reply dict (with 'answer', 'note_id', 'sources'); got {reply!r}")
    if "note-901" not in reply.get("sources", []):
        raise NotYet("the new note was not among the retrieved sources: did you put note_id in its metadata?")
    right = "300 mg" in reply["answer"]
    return True, (f"the new note was indexed and retrieved; the model answered {reply['answer']!r}"
                  + (" (right)." if right else " — the retrieval worked; the value is the small model's to get right."))


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
