"""Capability scoring: mechanical checks, and a real run on the course model."""

from __future__ import annotations

import pytest

from labkit import engines
from labkit.tradeoffs import evaluate
from labkit.tradeoffs.evaluate import Task, is_correct


def test_forty_tasks_in_six_categories() -> None:
    tasks = evaluate.load_tasks()
    assert len(tasks) == 40
    assert {t.category for t in tasks} == set(evaluate.CATEGORIES)
    assert len({t.id for t in tasks}) == 40


@pytest.mark.parametrize(
    ("check", "answer", "prompt", "output", "expected"),
    [
        ("number", 12, "What is 7 + 5?", "7 + 5 = 12", True),
        ("number", 63, "What is 100 minus 37?", "100 - 37 = 167", False),
        ("number", 34, "Tom is 34. How old?", "Tom is 34 years old.", True),
        ("contains", "Paris", "", "The capital is paris.", True),
        ("contains_any", ["merci"], "", "Merci beaucoup", True),
        ("exact", "YES", "", "YES.", True),
        ("exact", "YES", "", "YES, YES", False),
        ("regex", r"^\W*cold\W*$", "", "Cold.", False),
        ("regex", r"^\W*cold\W*$", "", "cold", True),
        ("json", {"a": 1}, "", 'Here: ```json\n{"a": 1}\n```', True),
        ("json", {"a": 1}, "", "{a: 1}", False),
        ("json_keys", ["colours"], "", '{"colours": ["red", "blue"]}', True),
    ],
)
def test_checks(check, answer, prompt, output, expected) -> None:
    assert is_correct(Task("t", "x", prompt, check, answer), output) is expected


def test_evaluate_a_course_model_on_a_subset() -> None:
    llm = engines.llamacpp_chat("smollm2:135m", max_tokens=32, n_ctx=1024)
    results = evaluate.run(llm, per_category=1, progress=False)
    assert len(results) == 6 and all(r.output for r in results)
    table = evaluate.accuracy(results)
    assert set(table.index) == {*evaluate.CATEGORIES, "all"}
    assert table.loc["all", "tasks"] == 6
    assert 0 <= table.loc["all", "accuracy"] <= 1
    assert table.loc["facts", "accuracy"] == 1.0  # "What is the capital of France?" -> Paris
