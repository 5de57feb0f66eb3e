"""Continuous batching in the kit's server, on the real course model: requests of one model are
decoded together, each keeps its own sampler and limits, and a greedy answer is the same tokens
whether it ran alone or beside others.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import ollama
import pytest

MODEL = "smollm2:135m"
GREEDY = {"temperature": 0, "num_predict": 32, "num_ctx": 512}
PROMPTS = ["The capital of France is", "Once upon a time", "def fibonacci(n):", "The three primary colours are",
           "Water boils at", "My favourite food is"]


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    import os

    from labkit.ollama.server import start_background

    saved = os.environ.get("OLLAMA_NUM_PARALLEL")
    os.environ["OLLAMA_NUM_PARALLEL"] = "4"
    background = start_background()
    try:
        yield background
    finally:
        background.stop()
        if saved is None:
            os.environ.pop("OLLAMA_NUM_PARALLEL", None)
        else:
            os.environ["OLLAMA_NUM_PARALLEL"] = saved


def _runner(server: Any) -> Any:
    (loaded,) = [m for m in server.server.config.app.state.scheduler.loaded.values() if not m.settings.embedding]
    return loaded.runners[0]


def test_greedy_answers_are_the_same_tokens_alone_and_batched(server: Any) -> None:
    client = ollama.Client(host=server.url)
    alone = {p: client.generate(model=MODEL, prompt=p, options=GREEDY, raw=True).context for p in PROMPTS}
    runner = _runner(server)
    runner.peak_together = 0
    with ThreadPoolExecutor(len(PROMPTS)) as pool:
        together = dict(zip(PROMPTS, pool.map(
            lambda p: client.generate(model=MODEL, prompt=p, options=GREEDY, raw=True).context, PROMPTS)))
    assert runner.peak_together >= 2, "the requests were not decoded together"
    for prompt in PROMPTS:
        assert together[prompt] == alone[prompt], prompt


def test_each_request_keeps_its_own_sampler_and_limits(server: Any) -> None:
    client = ollama.Client(host=server.url)
    calls = {
        "json": lambda: client.generate(model=MODEL, prompt="A JSON object with a name and an age.", format="json",
                                        options={"temperature": 0, "num_predict": 60, "num_ctx": 512}),
        "short": lambda: client.generate(model=MODEL, prompt="Tell a story.", options={**GREEDY, "num_predict": 5}),
        "stop": lambda: client.generate(model=MODEL, prompt="Count: 1, 2, 3,", raw=True,
                                        options={**GREEDY, "num_predict": 40, "stop": [" 6"]}),
        "seeded": lambda: client.generate(model=MODEL, prompt="Tell a story.",
                                          options={"temperature": 1.0, "seed": 3, "num_predict": 20, "num_ctx": 512}),
    }
    seeded_alone = calls["seeded"]().response
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        replies = {name: future.result() for name, future in futures.items()}
    json.loads(replies["json"].response)  # the grammar held, beside free text
    assert replies["short"].eval_count == 5 and replies["short"].done_reason == "length"
    assert replies["stop"].done_reason == "stop" and " 6" not in replies["stop"].response
    assert " 5" in replies["stop"].response  # it counted up to the stop string
    assert replies["seeded"].response == seeded_alone


def test_a_short_request_finishes_while_a_long_one_decodes(server: Any) -> None:
    """A new request's prompt is read between the tokens of one already answering."""
    client = ollama.Client(host=server.url)
    long_done: list[float] = []
    started = threading.Event()

    def long() -> None:
        for part in client.generate(model=MODEL, prompt="Write a long essay about the sea.", stream=True,
                                    options={"temperature": 0, "num_predict": 300, "num_ctx": 1024}):
            started.set()
            if part.done:
                long_done.append(time.perf_counter())

    thread = threading.Thread(target=long)
    thread.start()
    assert started.wait(60)
    reply = client.generate(model=MODEL, prompt="Hi", options={**GREEDY, "num_predict": 4, "num_ctx": 1024})
    short_done = time.perf_counter()
    thread.join()
    assert reply.eval_count == 4
    assert short_done < long_done[0], "the short request waited for the long answer"


def test_a_client_that_leaves_frees_its_slot_at_once(server: Any) -> None:
    body = {"model": MODEL, "prompt": "Write a long essay about the sea.", "stream": True,
            "options": {"temperature": 0, "num_predict": 2000, "num_ctx": 4096}}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        with http.stream("POST", "/api/generate", json=body) as response:
            for _ in zip(range(3), response.iter_lines()):
                pass  # three pieces, then hang up
        runner = _runner(server)
        deadline = time.monotonic() + 10
        while any(seq.work is not None for seq in runner._sequences) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(seq.work is None for seq in runner._sequences), "the slot stayed taken"
        reply = http.post("/api/generate", json={"model": MODEL, "prompt": "Hi", "stream": False,
                                                  "options": {**GREEDY, "num_predict": 3, "num_ctx": 4096}}).json()
        assert reply["eval_count"] == 3


def test_grammar_checked_after_sampling_gives_what_grammar_first_gives() -> None:
    """The runner checks a grammar after the chain picks a token (redrawing only when it is refused);
    greedy, that is the same answer as masking the whole vocabulary with the grammar first."""
    from llama_cpp import _internals
    from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

    from labkit import models
    from labkit.engines import llamacpp
    from labkit.ollama import options, sampling

    llm = llamacpp.load(models.path(MODEL), n_ctx=512, n_threads=1)
    opts = options.merge({"temperature": 0}, None)
    grammar = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
    after = sampling.sampler_chain(llm._model, llm.n_vocab(), 512, opts, grammar)
    first = _internals.LlamaSampler()
    first.add_grammar(llm._model, grammar)
    first.add_greedy()

    def answer(pick: Any) -> list[int]:
        llm.reset()
        llm.eval(llm.tokenize(b"Three animals as a JSON list:"))
        tokens: list[int] = []
        while len(tokens) < 40 and (not tokens or tokens[-1] != llm.token_eos()):
            tokens.append(pick())
            llm.eval(tokens[-1:])
        return tokens

    expected = answer(lambda: first.sample(llm._ctx, -1))
    assert answer(lambda: after.sample(llm._ctx, -1)) == expected
    assert after.redraws > 0, "the grammar never refused a token: the redraw path was not tested"
    assert llm.detokenize(expected).decode().lstrip().startswith(("{", "["))


@contextmanager
def ordinary_streams(server: Any, count: int, num_predict: int) -> Iterator[list[Any]]:
    """``count`` greedy streams generating ``num_predict`` tokens in the background; their final parts once joined."""
    client = ollama.Client(host=server.url)
    finished: list[Any] = []
    started = threading.Event()

    def stream() -> None:
        for part in client.generate(model=MODEL, prompt="Write a long essay about the sea.", stream=True,
                                    options={"temperature": 0, "num_predict": num_predict, "num_ctx": 1024}):
            started.set()
            if part.done:
                finished.append(part)

    threads = [threading.Thread(target=stream) for _ in range(count)]
    for thread in threads:
        thread.start()
    assert started.wait(60)
    yield finished
    for thread in threads:
        thread.join()


def test_context_ids_outside_the_vocabulary_are_a_400_and_harm_no_other_stream(server: Any) -> None:
    """One client's bad ``context`` never reaches llama.cpp, which would refuse the whole batch."""
    with ordinary_streams(server, 3, 120) as finished:
        bad = {"model": MODEL, "prompt": "Hi", "stream": False, "options": {**GREEDY, "num_ctx": 1024}}
        for context in ([10**9], [-1], [1, 2, 49_152]):
            for stream in (False, True):  # a streamed request too gets its 400 before the reply starts
                reply = httpx.post(server.url + "/api/generate", json={**bad, "context": context, "stream": stream},
                                   timeout=60)
                assert reply.status_code == 400 and "outside this model's vocabulary" in reply.json()["error"]
        wrong_type = httpx.post(server.url + "/api/generate", json={**bad, "context": ["a"]}, timeout=60)
        assert wrong_type.status_code == 400
    assert len(finished) == 3 and all(p.done_reason == "length" and p.eval_count == 120 for p in finished)


def test_text_held_back_for_a_stop_string_is_delivered_when_the_answer_ends(server: Any) -> None:
    """An answer's last characters that could have begun a stop string still reach the client."""
    client = ollama.Client(host=server.url)
    options = {**GREEDY, "num_predict": 64}
    plain = client.generate(model=MODEL, prompt="What is the capital of France? Answer in one word.", options=options)
    assert plain.done_reason == "stop" and plain.response, "the answer ends on its own end-of-turn token"
    stop = plain.response[-1] + "\u00a7 never written"  # begins like the answer's last character
    held = client.generate(model=MODEL, prompt="What is the capital of France? Answer in one word.",
                           options={**options, "stop": [stop]})
    assert held.response == plain.response


def test_absurd_options_are_answered_beside_running_streams(server: Any) -> None:
    """num_thread 100000, repeat_last_n 10**9 and the like are clamped: answered at once, nobody reloads."""
    absurd = {"num_thread": 100_000, "repeat_last_n": 10**9, "top_k": 10**12, "top_p": 7, "num_ctx": 1024,
              "num_predict": 4, "seed": 2**40, "temperature": 0.5}
    with ordinary_streams(server, 1, 80) as finished:
        begun = time.perf_counter()
        reply = ollama.Client(host=server.url).generate(model=MODEL, prompt="Hi", options=absurd)
        assert reply.done and time.perf_counter() - begun < 30
    assert len(finished) == 1 and finished[0].eval_count == 80
