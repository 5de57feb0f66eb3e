"""Exercise self-checks: a right answer says right, each typical mistake gets its own explanation.

The course notebooks run every exercise's solution under nbval, where a solution that fails its
check raises (``LABKIT_STRICT_CLAIMS``), so the right answers of the costly exercises are tested
there; here each exercise meets a wrong answer (and the cheap ones a right one as well).
"""

from __future__ import annotations

import math

import pytest

from labkit import models
from labkit.course import check


def _bpw(name: str) -> float:
    return models.info(name).size * 8 / models.info(name).parameters


def _kv(layers, n_ctx, kv_heads, head_dim, bytes_per_element=2):
    return 2 * layers * n_ctx * kv_heads * head_dim * bytes_per_element


def _largest(model, memory_gb):
    from labkit.measure import memory

    best = 0
    for n_ctx in range(1024, memory.shape(model).context + 1, 1024):
        if not memory.fits(memory.estimate(model, n_ctx, bits_per_weight=memory.FILE_BITS_PER_WEIGHT["Q4_K_M"]),
                           memory_gb):
            break
        best = n_ctx
    return best


def _q8_0(values):
    import numpy as np

    x = np.asarray(values, dtype=np.float32)
    d = np.float32(np.abs(x).max() / 127)
    scaled = x / d if d else np.zeros_like(x)
    return np.float16(d).tobytes() + (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)).astype(np.int8).tobytes()


def _break_even(setup, price_in, price_out, prefill, decode):
    fixed = sum(setup.cost_per_day(0).values())
    slope = sum(setup.cost_per_day(1).values()) - fixed
    margin = (0.75 * price_in + 0.25 * price_out) / 1e6 - (0.75 / prefill + 0.25 / decode) / 3600 * slope
    return math.inf if margin <= 0 else fixed / margin


def _machines(users, per_hour, tokens_in, tokens_out, prefill, decode):
    return max(1, math.ceil(users * per_hour / 3600 * (tokens_in / prefill + tokens_out / decode)))


def _monthly_break_even(setup, price_in, price_out, prefill, decode):
    return _break_even(setup, price_in, price_out, prefill, decode) * setup.days_per_month


def _floored_machines(users, per_hour, tokens_in, tokens_out, prefill, decode):
    return math.floor(users * per_hour / 3600 * (tokens_in / prefill + tokens_out / decode))


def _chat_without_num_ctx(document):
    from langchain_ollama import ChatOllama

    return ChatOllama(model="smollm2:135m", temperature=0)


# exercise -> (a right answer or None when nbval runs it, a wrong answer, words the explanation must hold)
CASES = {
    "00.1": (_bpw, lambda name: _bpw(name) / 8, "bytes per weight"),
    "00.2": (None, lambda question: 42, "return the answer's text"),
    "00.3": ("llama3.2:3b", "Llama 3.2 (3B)", "lower case"),
    "01.1": (_kv, lambda *args, **kw: _kv(*args, **kw) / 2, "keys AND values"),
    "01.2": (_largest, lambda model, gb: _largest(model, gb) + 1024, "one step too far"),
    "01.3": ("b", "a", "below its ceiling"),
    "02.1": (None, _chat_without_num_ctx, "set num_ctx yourself"),
    "02.2": (None, lambda sentence: "Alice, 34", "not JSON"),
    "02.3": ("b", "a", "which side keeps the timer"),
    "03.1": (None, lambda prompt, k: [("Paris", 12.5)] * k, "raw logits"),
    "03.2": (_q8_0, lambda values: bytes(36), "float32 scale"),
    "03.3": ("a", "b", "3.4 bits"),
    "04.1": (None, lambda text: len(text.split()), "llama.cpp counts"),
    "04.2": (None, lambda: "a pipeline", "return a HuggingFacePipeline"),
    "04.3": ("a", "b", "the weights are the limit"),
    "05.1": (_break_even, _monthly_break_even, "days in a month"),
    "05.2": (_machines, _floored_machines, "round up"),
    "05.3": ("c", "a", "two different models"),
    "06.1": (None, lambda llm: "a chain", "return the chain"),
    "06.2": (None, lambda llm, prompts: len(prompts), "between 0 and 1"),
    "06.3": ("b", "a", "what was it offered"),
    "07.1": (None, lambda sizes: 999, "return one of the sizes"),
    "07.2": (None, lambda vector_store, path, text: 0, "the store holds no chunk with note_id"),
    "07.3": ("b", "a", "outside both recorded processes"),
}


@pytest.fixture(autouse=True)
def _learner_mode(monkeypatch):
    """Checks as a learner meets them: a wrong answer is reported, not raised."""
    monkeypatch.delenv("LABKIT_STRICT_CLAIMS", raising=False)


def test_every_exercise_has_cases() -> None:
    assert set(CASES) == set(check.exercises())


@pytest.mark.parametrize("exercise", sorted(CASES))
def test_wrong_answer_is_explained(exercise, capsys) -> None:
    _, wrong, words = CASES[exercise]
    assert check.answer(exercise, wrong) is False
    out = capsys.readouterr().out
    assert f"[{exercise}] not yet:" in out
    assert words.lower() in out.lower(), out


@pytest.mark.parametrize("exercise", sorted(e for e, case in CASES.items() if case[0] is not None))
def test_right_answer_is_right(exercise, capsys) -> None:
    assert check.answer(exercise, CASES[exercise][0]) is True
    assert f"[{exercise}] right:" in capsys.readouterr().out


def test_unanswered_exercise_says_not_yet(capsys) -> None:
    assert check.answer("00.1", ...) is False
    assert "replace ..." in capsys.readouterr().out


def test_a_failing_solution_fails_the_test_run(monkeypatch) -> None:
    monkeypatch.setenv("LABKIT_STRICT_CLAIMS", "1")
    with pytest.raises(check.claims.ClaimError, match="05.3"):
        check.answer("05.3", "a")


def test_unknown_exercise_is_an_error() -> None:
    with pytest.raises(KeyError, match="known"):
        check.answer("99.9", 1)
