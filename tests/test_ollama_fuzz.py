"""Fuzzing the HTTP API with Hypothesis against the real course model.

Bodies for each generation route are drawn from valid requests with any field replaced by any JSON
(options, format, tools, messages, context, template ...). Every answer must be a valid reply or a
clean JSON error, never an internal error, and an ordinary greedy stream running beside the whole
run must give, each time, the tokens it gives alone. Answers are kept short (num_predict at most 8)
and the load settings are drawn among two, so the run takes well under a minute.

"The tokens it gives alone", judged so that it holds on every CPU: the runner keeps a sequence's
numbers independent of the others (see labkit.ollama.sequences: before it did, a hostile chat whose
long prompt began like this one left cells that this prompt reused, and its answer changed), and on
the AMD EPYC here they are bit-identical; but a CPU whose matrix kernels change with the number of
tokens decoded together may move them in the last bits, and the reference answer has near-ties (two
best tokens 0.03 nats apart). So each run must be greedy (every token its own best), match the
reference's log-probabilities within ``TIE`` nats, and may leave the reference only where its two
best tokens are that close. A request that harmed it (another's sampler, grammar or KV cells) fails.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

pytest_plugins = ["ollama_fixtures"]  # the shared server fixtures
MODEL = "smollm2:135m"
ORDINARY = {"model": MODEL, "prompt": "Write a long essay about the sea.", "logprobs": True, "top_logprobs": 2,
            "options": {"temperature": 0, "num_predict": 48, "num_ctx": 1024}}
TIE = 0.1  # nats: rounding in a batch moves log-probabilities by far less; a harmed stream, by far more

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
# Values of the right JSON type, often absurd: what a confused or hostile client sends.
numbers = st.none() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
options = st.fixed_dictionaries({"num_predict": st.integers(0, 8)}, optional={
    "temperature": numbers, "top_k": numbers, "top_p": numbers, "min_p": numbers, "typical_p": numbers,
    "repeat_last_n": numbers, "repeat_penalty": numbers, "presence_penalty": numbers, "frequency_penalty": numbers,
    "seed": numbers, "num_keep": numbers, "num_thread": numbers, "stop": st.lists(st.text(max_size=6), max_size=3),
    "num_ctx": st.sampled_from([1024, 512]), "mirostat": numbers, "unknown": json_values})
schemas = st.sampled_from([
    "json", {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}, {"anyOf": []},
    {"enum": []}, {"type": "nonsense"}, {"$ref": "#/x"}, {"type": "string", "pattern": "^a+$"}, {"properties": 5},
    {"type": "object", "properties": {'a"b': {}}}, {"type": "array", "items": {"type": "boolean"}, "maxItems": 2}])
tool = st.fixed_dictionaries({"type": st.just("function"), "function": st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=8)}, optional={"parameters": schemas, "description": st.text(max_size=10)})})
message = st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant", "tool", "nobody"]),
                                 "content": st.text(max_size=30)})
messages = st.lists(message, min_size=1, max_size=3)
templates = st.sampled_from(["{{ messages[0]['content'] }}", "{% for m in messages %}{{ m['content'] }}{% endfor %}",
                             "{% for %}", "{{ raise_exception('x') }}", "{{ .Prompt }}"]) | st.text(max_size=20)
text = st.text(max_size=20)


def _body(required: dict[str, Any], fields: dict[str, Any]) -> Any:
    """A body with ``required`` fields and some of ``fields``, each of its own JSON type, except that
    one field (or the whole body, or none) may be any JSON value at all."""
    names = sorted({*required, *fields})

    def build(broken: str | None) -> Any:
        if broken == "<body>":
            return json_values
        valid = {k: json_values if k == broken else v for k, v in required.items()}
        optional = {k: json_values if k == broken else v for k, v in fields.items() if k not in required}
        return st.fixed_dictionaries(valid, optional=optional)

    return st.sampled_from([None, None, None, "<body>", *names]).flatmap(build)


BODIES = {
    "/api/generate": _body(
        {"model": st.just(MODEL), "prompt": text, "stream": st.booleans(), "options": options},
        {"format": schemas, "context": st.lists(st.integers(-5, 60_000), max_size=5), "template": templates,
         "system": text, "raw": st.booleans(), "suffix": st.text(max_size=5), "logprobs": st.booleans(),
         "top_logprobs": st.integers(-2, 25), "think": json_values, "truncate": st.booleans(), "images": json_values}),
    "/api/chat": _body(
        {"model": st.just(MODEL), "messages": messages, "stream": st.booleans(), "options": options},
        {"format": schemas, "tools": st.lists(tool, max_size=2), "logprobs": st.booleans(), "think": json_values}),
    "/v1/chat/completions": _body(
        {"model": st.just(MODEL), "messages": messages, "max_tokens": st.integers(0, 8)},
        {"tools": st.lists(tool, max_size=2), "stream": st.booleans(), "temperature": numbers, "seed": numbers,
         "tool_choice": st.sampled_from(["auto", "required", "none", "sometimes"]), "stop": json_values,
         "response_format": st.fixed_dictionaries({"type": st.sampled_from(["json_object", "json_schema", "text"]),
                                                   "json_schema": st.fixed_dictionaries({"schema": schemas})})}),
    "/v1/completions": _body(
        {"model": st.just(MODEL), "prompt": text, "max_tokens": st.integers(0, 8)},
        {"stream": st.booleans(), "top_p": numbers, "frequency_penalty": numbers, "seed": numbers}),
}


def _check(path: str, reply: httpx.Response) -> None:
    """A valid reply, or a clean JSON error: never an internal error, never a broken stream."""
    text = reply.text
    if reply.status_code != 200:
        assert 400 <= reply.status_code < 600, (reply.status_code, text)
        body = reply.json()
        message = body["error"]["message"] if path.startswith("/v1") else body["error"]
        assert isinstance(message, str) and message and "internal error" not in message, (path, text)
        return
    if reply.headers["content-type"].startswith("text/event-stream"):
        events = [line[6:] for line in text.split("\n") if line.startswith("data: ")]  # (not splitlines: \u2028)
        assert events and events[-1] == "[DONE]", text
        for event in map(json.loads, events[:-1]):
            assert "choices" in event or "error" in event, event
            assert "internal error" not in json.dumps(event)
        return
    lines = [json.loads(line) for line in text.split("\n") if line.strip()]
    assert lines, text
    last = lines[-1]
    if "error" in last:
        assert isinstance(last["error"], str) and "internal error" not in last["error"], last
    elif path.startswith("/v1"):
        assert last["choices"] and "usage" in last, last
    else:
        assert last["done"] is True and last["done_reason"] in ("stop", "length", "load", "unload"), last


def _harm(run: dict[str, Any], reference: dict[str, Any]) -> str | None:
    """Why ``run`` (an ordinary stream's last line and its tokens' log-probabilities) is not the
    reference's greedy answer, up to rounding at a near-tie; None when it is."""
    if run.get("done_reason") != "length" or len(run["logprobs"]) != len(reference["logprobs"]):
        return f"it ended with {({k: v for k, v in run.items() if k != 'logprobs'})}"
    for at, (mine, ref) in enumerate(zip(run["logprobs"], reference["logprobs"])):
        if mine["logprob"] < mine["top_logprobs"][0]["logprob"]:
            return f"token {at} {mine['token']!r} was not its own best {mine['top_logprobs'][0]}: not greedy"
        if mine["token"] != ref["token"]:  # after the first difference the answers go their own ways
            best = {e["token"]: e["logprob"] for e in ref["top_logprobs"]}
            if mine["token"] in best and best[ref["token"]] - best[mine["token"]] < TIE:
                return None
            return f"token {at} is {mine['token']!r} where alone it is {ref['token']!r}, best alone {ref['top_logprobs']}"
        if abs(mine["logprob"] - ref["logprob"]) >= TIE:
            return f"token {at} {mine['token']!r} has log-probability {mine['logprob']:.4f}, alone {ref['logprob']:.4f}"
    return None


@pytest.fixture(scope="module")
def beside(ollama_server: Any) -> Iterator[list[Any]]:
    """An ordinary greedy stream, run again and again during the fuzzing; each run's last line."""
    url = ollama_server.url
    reference = httpx.post(url + "/api/generate", json={**ORDINARY, "stream": False}, timeout=120).json()
    runs: list[dict[str, Any]] = []
    stop = threading.Event()

    def again() -> None:
        while not stop.is_set():
            with httpx.stream("POST", url + "/api/generate", json=ORDINARY, timeout=120) as reply:
                lines = [json.loads(line) for line in reply.iter_lines() if line]
            runs.append({**lines[-1], "logprobs": [p for line in lines for p in line.get("logprobs") or []]})

    thread = threading.Thread(target=again)
    thread.start()
    yield runs
    stop.set()
    thread.join(120)
    assert len(runs) > 1, "the ordinary stream did not run beside the fuzzing"
    harmed = [(n, why) for n, run in enumerate(runs) if (why := _harm(run, reference))]
    assert not harmed, f"an ordinary stream was harmed in {len(harmed)} of {len(runs)} runs, first: {harmed[0]}"


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],  # no shrinking: a failing body is printed as drawn
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(st.sampled_from(sorted(BODIES)).flatmap(lambda path: st.tuples(st.just(path), BODIES[path])))
def test_every_answer_is_a_valid_reply_or_a_clean_error(url: str, beside: list[Any],
                                                        request_body: tuple[str, Any]) -> None:
    path, body = request_body
    reply = httpx.post(url + path, json=body, timeout=60)
    _check(path, reply)


def test_the_judge_of_harm_tells_rounding_from_harm() -> None:
    """The check above: a flip at a near-tie passes; a flip at a clear choice, a sampled token or an
    error does not."""
    def step(token: str, best: list[tuple[str, float]]) -> dict[str, Any]:
        chosen = dict(best)[token]
        return {"token": token, "logprob": chosen, "top_logprobs": [{"token": t, "logprob": lp} for t, lp in best]}

    reference = {"done_reason": "length", "logprobs": [step("A", [("A", -0.1), ("B", -2.5)]),
                                                       step("C", [("C", -0.70), ("D", -0.72)])]}
    assert _harm(reference, reference) is None
    near_tie = {"done_reason": "length", "logprobs": [reference["logprobs"][0], step("D", [("D", -0.70), ("C", -0.71)])]}
    assert _harm(near_tie, reference) is None
    clear = {"done_reason": "length", "logprobs": [step("B", [("B", -0.1), ("A", -2.5)]), reference["logprobs"][1]]}
    assert "where alone it is 'A'" in str(_harm(clear, reference))
    sampled = {"done_reason": "length", "logprobs": [step("B", [("A", -0.1), ("B", -2.5)]), reference["logprobs"][1]]}
    assert "not greedy" in str(_harm(sampled, reference))
    assert "ended with" in str(_harm({"error": "boom", "logprobs": []}, reference))
