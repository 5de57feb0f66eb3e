"""Exercise self-checks say right for a right answer and not yet (with a reason) otherwise."""

from __future__ import annotations

import pytest

from labkit import models
from labkit.course import check


def _bpw() -> float:
    m = models.info("smollm2:135m")
    return m.size * 8 / m.parameters


@pytest.mark.parametrize(
    ("exercise", "right", "wrong"),
    [
        ("00.1", lambda: models.path("smollm2:135m").stat().st_size, lambda: 98.4),
        ("00.2", _bpw, lambda: 5.0),
        ("00.3", lambda: "llama3.2:3b", lambda: "Llama 3.2 (3B)"),
        ("01.1", lambda: 90, lambda: 45),
        ("01.2", lambda: 10.2, lambda: 50),
        ("01.3", lambda: "prefill", lambda: "decode"),
        ("02.1", lambda: "num_ctx=8192", lambda: "num_predict=100"),
        ("02.2", lambda: 0, lambda: -1),
        ("02.3", lambda: "prompt_eval_count", lambda: "eval_count"),
        ("05.1", lambda: 9.12, lambda: 0.3),
        ("05.2", lambda: "llamacpp_edge", lambda: "ollama_workstation"),
        ("05.3", lambda: "capability", lambda: "cost"),
        ("03.1", lambda: 18, lambda: 16),
        ("03.2", lambda: "prefill", lambda: "decode"),
        ("03.3", lambda: "Q2_K", lambda: "Q4_0"),
        ("04.1", lambda: models.info("smollm2:135m").parameters * 4, lambda: models.info("smollm2:135m").size),
        ("04.2", lambda: "return_full_text=False", lambda: "return_full_text=True"),
        ("04.3", lambda: 1, lambda: 0),
    ],
)
def test_self_checks(exercise, right, wrong, capsys) -> None:
    assert check.answer(exercise, right()) is True
    assert "right" in capsys.readouterr().out
    assert check.answer(exercise, wrong()) is False
    out = capsys.readouterr().out
    assert "not yet" in out and len(out.split(":", 1)[1].strip()) > 10


def test_unanswered_exercise_says_not_yet(capsys) -> None:
    assert check.answer("00.1", ...) is False
    assert "replace ..." in capsys.readouterr().out


def test_unknown_exercise_is_an_error() -> None:
    with pytest.raises(KeyError, match="known"):
        check.answer("99.9", 1)
