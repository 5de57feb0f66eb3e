"""Capability, measured: short tasks with checkable answers, run on any LangChain model.

``data/eval/tasks.jsonl`` holds 40 tasks in six categories (arithmetic,
facts, format, json, extraction, instructions). :func:`evaluate` sends each
prompt to a chat model or LLM, checks the answer mechanically and returns
per-category accuracy. :func:`run` also times each answer and counts its
tokens, and :func:`side_by_side` puts several models' runs in one table, so a
bigger model's cost in speed and its gain in capability are both measured. It
is how the local-vs-cloud lesson compares capability with numbers rather than
impressions (notebooks/05_local_vs_cloud).

A cloud model can be scored the same way — pass any LangChain chat model —
but only when a learner opts in with their own API key; nothing here calls a
cloud service by itself, and the tests never do.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit import DATA_DIR

TASKS_FILE = DATA_DIR / "eval" / "tasks.jsonl"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
CATEGORIES = ("arithmetic", "facts", "format", "json", "extraction", "instructions")


@dataclass(frozen=True)
class Task:
    """One prompt and how to check its answer."""

    id: str
    category: str
    prompt: str
    check: str  # number | contains | contains_any | exact | regex | json | json_keys
    answer: Any


@dataclass(frozen=True)
class Result:
    """One task's outcome, and what it cost.

    ``seconds`` is the wall time of the call (reading the prompt and writing the answer);
    ``tokens`` the answer's length in tokens, as the model reports it or, for LangChain's llama.cpp
    classes, which report none, counted with the model's own tokenizer (None when neither is
    possible); ``cut`` says the answer stopped at the model's ``max_tokens`` rather than ending.
    """

    task: Task
    output: str
    correct: bool
    seconds: float = 0.0
    tokens: int | None = None
    cut: bool = False


def load_tasks(path: str | Path | None = None) -> list[Task]:
    """The task list from ``data/eval/tasks.jsonl`` (one JSON object per line)."""
    lines = Path(path or TASKS_FILE).read_text(encoding="utf-8").splitlines()
    return [Task(**json.loads(line)) for line in lines if line.strip()]


def _first_json(text: str) -> Any:
    """The first JSON value in ``text`` (models often wrap it in prose or code fences)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text[match.start():])
            return value
        except json.JSONDecodeError:
            continue
    raise ValueError("no JSON value in the output")


def _normalise(value: Any) -> Any:
    """Compare JSON leniently on case and surrounding spaces of strings."""
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {str(k).strip().lower(): _normalise(v) for k, v in value.items()}
    return value


def is_correct(task: Task, output: str) -> bool:
    """Check ``output`` against the task's answer, mechanically."""
    text = output.strip()
    if task.check == "number":
        # The first number the model *adds* must be the answer; numbers it merely repeats from
        # the prompt ("7 + 5 = 12") are skipped.
        given = {float(n) for n in _NUMBER.findall(task.prompt)}
        for found in (float(n) for n in _NUMBER.findall(text.replace(",", ""))):
            if found == float(task.answer):
                return True
            if found not in given:
                return False
        return False
    if task.check == "contains":
        return str(task.answer).lower() in text.lower()
    if task.check == "contains_any":
        return any(str(a).lower() in text.lower() for a in task.answer)
    if task.check == "exact":
        return text.strip(" .!\"'`") == task.answer
    if task.check == "regex":
        return re.search(task.answer, text) is not None
    if task.check in ("json", "json_keys"):
        try:
            value = _first_json(text)
        except ValueError:
            return False
        if task.check == "json_keys":
            return isinstance(value, dict) and all(key in value for key in task.answer)
        return _normalise(value) == _normalise(task.answer)
    raise ValueError(f"unknown check {task.check!r} in task {task.id}")


def _text(reply: Any) -> str:
    """A chat model returns a message, an LLM returns a string."""
    return reply if isinstance(reply, str) else str(getattr(reply, "content", reply))


def _answer_tokens(llm: Any, reply: Any, text: str) -> int | None:
    """Tokens of an answer: the model's own usage report, else its tokenizer's count, else None."""
    usage = getattr(reply, "usage_metadata", None)
    if usage and usage.get("output_tokens") is not None:
        return int(usage["output_tokens"])
    client = getattr(llm, "client", None)  # ChatLlamaCpp / LlamaCpp: a llama_cpp.Llama
    if hasattr(client, "tokenize"):
        return len(client.tokenize(text.encode(), add_bos=False, special=True))
    return None


def _cut(reply: Any) -> bool:
    """Did the answer stop at the token limit? (``finish_reason`` or Ollama's ``done_reason``.)"""
    metadata = getattr(reply, "response_metadata", None) or {}
    return (metadata.get("finish_reason") or metadata.get("done_reason")) == "length"


def run(llm: Any, tasks: list[Task] | None = None, categories: tuple[str, ...] | None = None,
        per_category: int | None = None, progress: bool = True) -> list[Result]:
    """Send every task to ``llm`` (anything with ``.invoke``) and check each answer, timing each call."""
    from tqdm.auto import tqdm

    chosen = [t for t in (tasks or load_tasks()) if categories is None or t.category in categories]
    if per_category is not None:
        counts: dict[str, int] = {}
        kept = []
        for task in chosen:
            counts[task.category] = counts.get(task.category, 0) + 1
            if counts[task.category] <= per_category:
                kept.append(task)
        chosen = kept
    results = []
    for task in tqdm(chosen, desc="evaluating", unit="task", disable=not progress):
        start = time.perf_counter()
        reply = llm.invoke(task.prompt)
        seconds = time.perf_counter() - start
        output = _text(reply)
        results.append(Result(task, output, is_correct(task, output), seconds, _answer_tokens(llm, reply, output),
                              _cut(reply)))
    return results


def accuracy(results: list[Result]):
    """Per-category accuracy (and the overall row) as a pandas DataFrame."""
    import pandas as pd

    rows = [{"category": r.task.category, "correct": r.correct} for r in results]
    table = pd.DataFrame(rows).groupby("category")["correct"].agg(["mean", "sum", "count"])
    table.loc["all"] = [table["sum"].sum() / table["count"].sum(), table["sum"].sum(), table["count"].sum()]
    return table.rename(columns={"mean": "accuracy", "sum": "correct", "count": "tasks"})


def side_by_side(runs: dict[str, list[Result]], extra: dict[str, dict[str, float]] | None = None):
    """Several models' runs of the same tasks in one table, a column per model (a pandas DataFrame).

    Rows: tasks passed, accuracy in % overall and per category, seconds for all the tasks and per
    task (wall time of each call: reading the prompt and writing the answer), answer tokens per
    task, answers cut at ``max_tokens``; then, for each model, the rows of ``extra[model]`` (row
    name -> value: what was measured apart, such as decode speed and memory).
    Introduced in notebooks/05_local_vs_cloud.
    """
    import pandas as pd

    columns = {}
    for model, results in runs.items():
        table = accuracy(results)
        seconds = sum(r.seconds for r in results)
        counted = [r.tokens for r in results if r.tokens is not None]
        column = {"tasks passed": table.loc["all", "correct"], "accuracy %, all": 100 * table.loc["all", "accuracy"]}
        column |= {f"accuracy %, {c}": 100 * table.loc[c, "accuracy"] for c in CATEGORIES if c in table.index}
        column |= {
            "seconds, all tasks": seconds,
            "seconds per task": seconds / len(results),
            "answer tokens per task": sum(counted) / len(counted) if counted else float("nan"),
            "answers cut at max_tokens": sum(r.cut for r in results),
        }
        columns[model] = column | (extra or {}).get(model, {})
    rows = list(dict.fromkeys(row for column in columns.values() for row in column))  # in order, none twice
    return pd.DataFrame(columns).reindex(rows)


def evaluate(llm: Any, **kwargs: Any):
    """Run the tasks on ``llm`` and return per-category accuracy (see :func:`run` for options)."""
    return accuracy(run(llm, **kwargs))


def published_reference(path: str | Path | None = None):
    """Published scores of the course model's family on standard benchmarks (a DataFrame: model x benchmark).

    From ``data/capability_reference.csv``, each row with its source and date: the same
    authors evaluated SmolLM2 at 135M, 360M and 1.7B parameters the same way, so the
    rows show how capability grows with size; their 360M model card adds Qwen2.5-0.5B-Instruct,
    evaluated alongside (the general model of the size and family of the kit's Qwen2.5-Coder,
    not that model). Rows are sorted by parameters. Introduced in notebooks/05_local_vs_cloud.
    """
    import pandas as pd

    table = pd.read_csv(path or DATA_DIR / "capability_reference.csv")
    return table.pivot(index="model", columns="benchmark", values="score").sort_index(
        key=lambda names: names.map({m: float(p.rstrip("MB")) * (1000 if p.endswith("B") else 1)
                                     for m, p in zip(table["model"], table["parameters"])}))
