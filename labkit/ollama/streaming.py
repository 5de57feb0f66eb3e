"""Text a stream must hold back for a moment, and embedding vectors put back to unit length.

While streaming, a piece of text that could be the start of a stop string (or of a
``<tool_call>`` marker) is held back until the next pieces show whether it is one:
:func:`held_back` says how much. Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import math


def find_first(text: str, markers: list[str]) -> int | None:
    """Index where the earliest of ``markers`` starts in ``text``, or None."""
    found = [text.find(m) for m in markers if m and m in text]
    return min(found) if found else None


def held_back(text: str, markers: list[str]) -> int:
    """Length of the longest tail of ``text`` that could be the beginning of one of ``markers``."""
    best = 0
    for marker in markers:
        for n in range(min(len(marker) - 1, len(text)), 0, -1):
            if text.endswith(marker[:n]):
                best = max(best, n)
                break
    return best


def l2_normalise(vector: list[float]) -> list[float]:
    """``vector`` scaled to length 1 (unchanged if it is all zeros), as Ollama returns embeddings."""
    norm = math.sqrt(sum(x * x for x in vector))
    return [float(x) / norm for x in vector] if norm > 0 else [float(x) for x in vector]
