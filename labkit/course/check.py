"""Self-checks for the exercises at the end of each notebook.

Most exercises ask you to *write code*: a function, a chain, a configuration. The check cell
``check.answer("01.1", kv_cache_bytes)`` then runs what you wrote against the real model or a
real measurement, prints *right* or *not yet* with the reason, and returns True or False. A
wrong answer never raises (your error is reported, not thrown), so a notebook run keeps going.
The checks themselves live in :mod:`labkit.course.exercises`, one module per lesson. Under the
test suite (``LABKIT_STRICT_CLAIMS=1``) a wrong answer other than ``...`` raises instead, so a
course notebook whose own solution fails its check fails CI.
Introduced in notebooks/00_start_here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkit.course import claims

LESSONS = ("l00", "l01", "l02", "l03", "l04", "l05", "l06", "l07")


@dataclass(frozen=True)
class Exercise:
    """One exercise: what it asks, and a check that returns ``(is_right, explanation)``."""

    prompt: str
    check: Callable[[Any], tuple[bool, str]]


class NotYet(Exception):
    """Raised inside a check to answer "not yet" with this message (e.g. the learner's code failed)."""


def close(actual: float, expected: float, rel: float) -> bool:
    """Is ``actual`` within ``rel`` (a share) of ``expected``?"""
    return abs(actual - expected) <= rel * abs(expected)


def run(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the learner's ``function``; an exception becomes a "not yet" that quotes it."""
    if not callable(function):
        raise NotYet(f"this exercise wants a function; you gave {type(function).__name__} {function!r}")
    try:
        result = function(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 - the learner's error, reported in words
        raise NotYet(f"your function raised {type(err).__name__}: {err}") from None
    if result is None:
        raise NotYet("your function returned None: write its body (and return the result)")
    return result


def number(value: Any, what: str) -> float:
    """``value`` as a float, or "not yet" saying what kind of number was expected."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise NotYet(f"give a number ({what}); you gave {value!r}") from None


def exercises() -> dict[str, Exercise]:
    """Every lesson's exercises by id ("00.1" ...)."""
    found: dict[str, Exercise] = {}
    for lesson in LESSONS:
        try:
            module = importlib.import_module(f"labkit.course.exercises.{lesson}")
        except ModuleNotFoundError:
            continue
        found.update(module.EXERCISES)
    return found


def answer(exercise_id: str, value: Any) -> bool:
    """Check a learner's answer (a value or a function), print right/not yet with the reason."""
    if value is ...:
        print(f"[{exercise_id}] not yet: replace ... with your answer.")
        return False
    exercise = exercises().get(exercise_id)
    if exercise is None:
        raise KeyError(f"no exercise {exercise_id!r}; known: {', '.join(sorted(exercises()))}")
    try:
        right, why = exercise.check(value)
    except NotYet as reason:
        right, why = False, str(reason)
    print(f"[{exercise_id}] {'right' if right else 'not yet'}: {why}")
    if not right and claims.strict():
        raise claims.ClaimError(f"[{exercise_id}] a course solution failed its own check: {why}")
    return right
