"""Sentences that stay true on every machine: prose rendered from, or checked against, the run.

A lesson that says "2 threads decoded faster than 1" is only true where it was written. On a
learner's laptop the numbers differ, so the lessons never state a measured quantity in fixed
text. Two tools instead:

* :func:`say` renders a sentence from the values this run measured
  (``say("Decode ran at {tok_s:.0f} tokens/s.", tok_s=...)``), with :func:`more_or_less` and
  :func:`times` for the comparisons ("faster"/"slower", "2.6×");
* :func:`claim` states what the lesson expects, checks it against the run and shows what was
  measured. When this machine disagrees, it says so and why; under the test suite
  (``LABKIT_STRICT_CLAIMS=1``, set by tests/conftest.py) a claim that does not hold fails the
  run, so a lesson whose words drift from its numbers cannot pass CI.

Introduced in notebooks/00_start_here; every lesson uses them.
"""

from __future__ import annotations

import os
from typing import Any


class ClaimError(AssertionError):
    """A lesson's claim that this run's measurements contradict (raised under the test suite)."""


def strict() -> bool:
    """Do failed claims raise? Yes under the test suite (``LABKIT_STRICT_CLAIMS=1``)."""
    return os.environ.get("LABKIT_STRICT_CLAIMS", "") not in ("", "0", "false")


def _show(markdown: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # plain Python: print the text
        print(markdown)
        return
    if get_ipython() is None:
        print(markdown)
    else:
        display(Markdown(markdown))


def say(template: str, **values: Any) -> str:
    """Show ``template`` filled in with this run's ``values`` (``str.format`` fields) as Markdown."""
    text = template.format(**values)
    _show(text)
    return text


def more_or_less(value: float, other: float, more: str = "more", less: str = "less", same: str = "the same",
                 tolerance: float = 0.02) -> str:
    """The word for comparing two measurements: ``more``, ``less``, or ``same`` within ``tolerance``."""
    if abs(value - other) <= tolerance * max(abs(value), abs(other)):
        return same
    return more if value > other else less


def times(value: float, other: float) -> str:
    """``value`` as a multiple of ``other``, written the way a sentence needs it: "2.6×"."""
    return f"{value / other:.1f}×" if other else "∞×"


def claim(statement: str, holds: bool, measured: str, why_not: str = "") -> bool:
    """Check a sentence of the lesson against this run, and show the outcome with what was measured.

    ``statement`` is the sentence as the lesson would write it, ``holds`` whether this run agrees,
    ``measured`` the figures that decided it, ``why_not`` what usually makes a machine disagree.
    Returns ``holds``. Raises :class:`ClaimError` when it does not hold and :func:`strict` is on.
    """
    if holds:
        _show(f"✔ {statement} *(measured here: {measured})*")
        return True
    text = f"✘ Not on this machine: {statement} *(measured here: {measured})*"
    if why_not:
        text += f" {why_not}"
    if strict():
        raise ClaimError(text)
    _show(text)
    return False
