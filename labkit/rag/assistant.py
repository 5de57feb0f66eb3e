"""How retrieved chunks reach the model, and a way to work a citation out from an answer.

:func:`context` writes the retrieved chunks as one text, each under its file's (or note's) id,
for the prompt of :mod:`labkit.rag.grounded`; ``labkit ask`` uses it. :func:`cite` picks the
retrieved chunk that shares the most words with the answer: :mod:`labkit.rag.grounded` measured
it against citing the best-ranked file, and cites the best-ranked file. Introduced in
notebooks/07_private_assistant."""

from __future__ import annotations

import re
from typing import Any


def context(docs: list[Any]) -> str:
    """The retrieved chunks, each under its note id."""
    return "\n\n".join(f"[{doc.metadata['note_id']}]\n{doc.page_content}" for doc in docs)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 1}


def cite(answer: str, docs: list[Any]) -> str | None:
    """The retrieved note sharing the most words with ``answer`` (the best-ranked on a tie)."""
    best, best_overlap = None, 0
    said = _words(answer)
    for doc in docs:
        overlap = len(said & _words(doc.page_content))
        if overlap > best_overlap:
            best, best_overlap = doc.metadata["note_id"], overlap
    return best
