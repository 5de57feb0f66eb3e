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
NEW_PATH = "note-901.md"
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


def _written(dose: tuple[float, str]) -> str:
    """A dose as a note writes it: "300 mg"."""
    return f"{dose[0]:g} {dose[1]}"


def doses(text: str) -> set[tuple[float, str]]:
    """Every dose written in ``text`` as (amount, unit), numbers read whole: 30 or 3000 mg is not 300 mg."""
    return {(float(number.replace(",", "")), unit.lower()) for number, unit in DOSE.findall(text)}


def _held(vector_store: Any) -> list[tuple[str, str, str]]:
    """``(note_id, sha256, text)`` of every chunk in the store's collection."""
    held, offset = [], None
    while True:
        points, offset = vector_store.client.scroll(vector_store.collection_name, limit=512, offset=offset,
                                                    with_payload=True, with_vectors=False)
        for point in points:
            payload = point.payload or {}
            meta = payload.get(vector_store.metadata_payload_key) or {}
            held.append((str(meta.get("note_id", "")), str(meta.get("sha256", "")),
                         str(payload.get(vector_store.content_payload_key, ""))))
        if offset is None:
            return held


def _judge_file(vector_store: Any, path: str, text: str, added: Any) -> None:
    """One call of the learner's ``index_file``: the file's chunks are its current text, hashed, and only that."""
    import hashlib

    digest = hashlib.sha256(text.encode()).hexdigest()
    held = _held(vector_store)
    mine = [(sha, chunk) for note_id, sha, chunk in held if note_id == path]
    if not mine:
        unnamed = [chunk for note_id, _, chunk in held if note_id != path and chunk and chunk in text]
        raise NotYet(f"the store holds no chunk with note_id {path!r}" + (
            f" ({len(unnamed)} chunk(s) of its text under another note_id: metadata={{'note_id': path, ...}})"
            if unnamed else ": add its chunks with vector_store.add_documents(...)"))
    old = [chunk for _, chunk in mine if chunk not in text]
    if old:
        said = ", ".join(map(_written, sorted(doses(" ".join(old))))) or "text"
        raise NotYet(f"after your function the store still holds {len(old)} chunk(s) of {path}'s earlier text "
                     f"(with {said}): the assistant can retrieve the old dose beside the new one, as the "
                     "multi-visit questions showed. Delete the file's old chunks first (sync.drop)")
    if any(sha != digest for sha, _ in mine):
        got = sorted({sha for sha, _ in mine})
        raise NotYet(f"{path}'s chunks carry sha256 {', '.join(repr(g[:12]) for g in got)}, but its text's is "
                     f"{digest[:12]!r}: sync compares these, so it would embed the file again. Put "
                     "hashlib.sha256(text.encode()).hexdigest() under 'sha256' in each chunk's metadata")
    if not all(any(line in chunk for _, chunk in mine) for line in text.splitlines() if line.strip()):
        raise NotYet(f"the chunks of {path} in the store do not hold all of its text: split the whole text")
    try:
        count = int(added)
    except (TypeError, ValueError):
        raise NotYet(f"return how many chunks you added (an int); you returned {added!r}") from None
    if count != len(mine):
        raise NotYet(f"you returned {count}, but the store holds {len(mine)} chunk(s) of {path}")


def index_file(function: Any) -> tuple[bool, str]:
    """07.2: put one file's current text into a synced index: old chunks gone, new ones hashed, sync has no work."""
    from labkit.rag import corpus, folder, store
    from labkit.rag.sync import sync

    with tempfile.TemporaryDirectory(prefix="labkit-07-") as tmp:
        root = corpus.to_folder(corpus.notes()[:6], Path(tmp) / "docs")
        index = Path(tmp) / "index"
        try:
            vector_store = store.open_store(store.client(index), "docs", store.embeddings("minilm"))
            sync(vector_store, folder.read(root), progress=False)
            changed = "note-003.md"
            before = (root / changed).read_text()
            old = re.search(r"medication: (\w+ \d+ \w+) daily", before).group(1)
            drug, amount, unit = old.split()
            new = f"{drug} {int(amount) * 2} {unit}"
            for path, text in ((NEW_PATH, NEW_NOTE + "\n"), (changed, before.replace(old, new))):
                (root / path).write_text(text)
                added = run(function, vector_store, path, text)
                _judge_file(vector_store, path, text, added)
            after = sync(vector_store, folder.read(root), progress=False)
        finally:
            store.forget(index)
    if after.embedded or after.removed:
        raise NotYet(f"a sync of the folder after your function still had work: {after}. Each chunk's metadata "
                     "needs note_id (the path) and sha256 (of the whole text), as folder.split(..., extra=...) writes")
    return True, (f"{NEW_PATH} was added, {changed} went from {old} to {new} with no chunk of the old text left, "
                  "and a sync afterwards had nothing to embed: what labkit ask does for a changed file, one file's worth.")


def what_it_misses(answer: Any) -> tuple[bool, str]:
    """07.3: which leak a log of this process's and the server's connections cannot see."""
    choice = str(answer).strip().lower()[:1]
    if choice == "b":
        return True, ("the records cover two processes: this notebook's (every connection opened through Python's "
                      "socket module, and every socket the OS lists for it) and the server's. A backup tool is "
                      "another program: its upload of the index, which holds the documents' text, appears in neither.")
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
    "07.2": Exercise("Write index_file(vector_store, path, text): one file's current text into the index.", index_file),
    "07.3": Exercise("Which leak would a loopback-only connection log miss?", what_it_misses),
}
