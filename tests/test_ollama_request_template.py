"""A template sent with a request, on the real course model: rendered in a child process with a time,
memory and output budget (labkit.ollama.sandbox), so a looping one is a quick 400 and the server keeps
serving; a well-behaved one gives what the model's own template gives.
"""

from __future__ import annotations

import threading
import time

import httpx
import ollama

pytest_plugins = ["ollama_fixtures"]  # the shared server fixtures
MODEL = "smollm2:135m"
GREEDY = {"temperature": 0, "num_predict": 12}
LOOPING = "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}"
SILENT_LOOP = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}hi"
HUGE = "{% for a in range(100000) %}{{ 'x' * 100000 }}{% endfor %}"


def test_a_looping_template_is_a_quick_400_beside_a_running_stream(url: str, client: ollama.Client) -> None:
    finished: list[ollama.GenerateResponse] = []

    def stream() -> None:
        for part in client.generate(model=MODEL, prompt="Write a long essay about the sea.", stream=True,
                                    options={"temperature": 0, "num_predict": 100}):
            if part.done:
                finished.append(part)

    beside = threading.Thread(target=stream)
    beside.start()
    for template, said in ((LOOPING, "did not render within"), (SILENT_LOOP, "did not render within"),
                           (HUGE, "cannot be rendered"), ("{{ raise_exception('no') }}", "no"),
                           ("{% for %}", "cannot be rendered")):
        begun = time.perf_counter()
        reply = httpx.post(url + "/api/generate", timeout=60, json={
            "model": MODEL, "prompt": "Hi", "template": template, "options": GREEDY})
        assert reply.status_code == 400 and said in reply.json()["error"], (template, reply.text)
        assert time.perf_counter() - begun < 15
    beside.join(120)
    assert len(finished) == 1 and finished[0].eval_count == 100


def test_the_models_own_template_sent_with_the_request_gives_the_same_answer(client: ollama.Client) -> None:
    own = client.show(MODEL).template
    plain = client.generate(model=MODEL, prompt="What is the capital of France?", options=GREEDY)
    sent = client.generate(model=MODEL, prompt="What is the capital of France?", options=GREEDY, template=own)
    assert sent.response == plain.response and sent.prompt_eval_count == plain.prompt_eval_count
