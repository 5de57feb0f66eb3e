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
    # every answer timed and its tokens counted with the model's tokenizer (re-tokenized text: about
    # as many tokens as were written, so near the limit when cut there)
    assert all(r.seconds > 0 and r.tokens is not None and 0 < r.tokens <= 40 for r in results)
    assert all(r.tokens >= 24 for r in results if r.cut)
    table = evaluate.accuracy(results)
    assert set(table.index) == {*evaluate.CATEGORIES, "all"}
    assert table.loc["all", "tasks"] == 6
    assert 0 <= table.loc["all", "accuracy"] <= 1
    assert table.loc["facts", "accuracy"] == 1.0  # "What is the capital of France?" -> Paris

    both = evaluate.side_by_side({"a": results, "b": results[:3]}, {"a": {"memory, MiB": 100.0}})
    assert list(both.columns) == ["a", "b"]
    assert both.loc["tasks passed", "a"] == table.loc["all", "correct"]
    assert both.loc["accuracy %, all", "a"] == 100 * table.loc["all", "accuracy"]
    assert both.loc["seconds, all tasks", "a"] == sum(r.seconds for r in results)
    assert both.loc["seconds per task", "a"] * 6 == both.loc["seconds, all tasks", "a"]
    assert both.loc["answer tokens per task", "a"] == sum(r.tokens for r in results) / 6
    assert both.loc["memory, MiB", "a"] == 100.0 and both.loc["memory, MiB"].isna()["b"]
    assert both["b"].isna()["accuracy %, json"]  # b ran no JSON task: no score, not a zero


def test_side_by_side_counts_and_cuts() -> None:
    tasks = evaluate.load_tasks()
    results = [evaluate.Result(tasks[0], "12", True, 0.5, 2),
               evaluate.Result(tasks[7], "London is", False, 1.5, 40, True)]
    table = evaluate.side_by_side({"m": results})["m"]
    assert table["tasks passed"] == 1 and table["accuracy %, all"] == 50
    assert table["accuracy %, arithmetic"] == 100 and table["accuracy %, facts"] == 0
    assert table["seconds, all tasks"] == 2.0 and table["seconds per task"] == 1.0
    assert table["answer tokens per task"] == 21 and table["answers cut at max_tokens"] == 1


def test_published_reference_adds_qwen_beside_smollm2() -> None:
    import pandas as pd

    from labkit import DATA_DIR

    reference = evaluate.published_reference()
    assert list(reference.index) == ["SmolLM2-135M-Instruct", "SmolLM2-360M-Instruct", "Qwen2.5-0.5B-Instruct",
                                     "SmolLM2-1.7B-Instruct"]  # by size
    assert not reference.isna().any().any()  # every model scored on every benchmark
    rows = pd.read_csv(DATA_DIR / "capability_reference.csv")
    assert rows["source"].str.startswith("https://").all() and rows["date"].notna().all()
    # Qwen2.5-0.5B-Instruct's figures come from SmolLM2-360M-Instruct's card, where they were published
    qwen, smol = rows[rows["model"] == "Qwen2.5-0.5B-Instruct"], rows[rows["model"] == "SmolLM2-360M-Instruct"]
    assert set(qwen["source"]) == set(smol["source"]) and set(qwen["date"]) == set(smol["date"])
    assert reference.loc["Qwen2.5-0.5B-Instruct", "GSM8K (5-shot)"] == 26.8
