"""Every llama.cpp load in the kit goes through one helper that is quiet and safe on this CPU.

The AMX case (a CPU that advertises AMX inside a virtual machine that cannot run it) cannot be
reproduced on every machine, so these tests check the mechanism: the switch reaches every load
path when it is on, a probe that dies by a signal turns it on, and without AMX code nothing
changes.
"""

from __future__ import annotations

import ast
import os
import signal
from pathlib import Path

import pytest

from labkit.engines import llamacpp
from labkit.system import child

ROOT = Path(__file__).resolve().parent.parent
TESTS = str(Path(__file__).resolve().parent)


def test_no_kit_module_builds_a_llama_object_itself() -> None:
    """One way to load weights: `labkit.engines.llamacpp.load` (or `prepare` + LangChain's classes in
    engines); one way to open a file without them: `labkit.models.gguf.open_vocab`."""
    allowed = {ROOT / "labkit" / "engines" / "llamacpp.py", ROOT / "labkit" / "models" / "gguf.py"}
    offenders = []
    for file in (ROOT / "labkit").rglob("*.py"):
        if file in allowed:
            continue
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name == "Llama":
                    offenders.append(f"{file.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, "load llama.cpp models with labkit.engines.llamacpp.load:\n" + "\n".join(offenders)


def extra_buffer_flags() -> dict[str, bool]:
    """(Runs in a child.) `use_extra_bufts` as each kit load path left it."""
    from labkit import engines, models
    from labkit.engines import tokens
    from labkit.engines.llamacpp import load
    from labkit.ollama.runner import LoadSettings, Runner

    path = str(models.path("smollm2:135m"))
    runner = Runner(LoadSettings(path, num_ctx=128, num_batch=64, num_thread=1))
    flags = {
        "load": load(path, n_ctx=128).model_params.use_extra_bufts,
        "LlamaCpp": engines.llamacpp_llm(n_ctx=128).client.model_params.use_extra_bufts,
        "ChatLlamaCpp": engines.llamacpp_chat(n_ctx=128).client.model_params.use_extra_bufts,
        "tokens": tokens._llama("smollm2:135m").model_params.use_extra_bufts,
        "server runner": runner.llm.model_params.use_extra_bufts,
    }
    return {name: bool(value) for name, value in flags.items()}


def test_the_switch_reaches_every_load_path_when_set() -> None:
    flags = child.run("test_llamacpp:extra_buffer_flags", env={"PYTHONPATH": TESTS, llamacpp.SETTING: "off"})
    assert flags and not any(flags.values()), flags


def test_without_amx_code_the_defaults_stay() -> None:
    if llamacpp.build_features().get("AMX_INT8") == "1":
        pytest.skip("this build contains AMX code; the verdict here comes from the probe")
    allowed, why = llamacpp.extra_buffers_allowed()
    assert allowed and "no AMX code" in why
    flags = child.run("test_llamacpp:extra_buffer_flags", env={"PYTHONPATH": TESTS, llamacpp.SETTING: "auto"})
    assert all(flags.values()), flags


def die_by_sigill() -> None:
    """(Runs in a child.) What the AMX kernels do on a machine that cannot run them."""
    os.kill(os.getpid(), signal.SIGILL)


def verdict_after_a_crashing_probe(home: str) -> dict[str, object]:
    """(Runs in a child.) Pretend the build has AMX code and the probe generation dies by SIGILL."""
    os.environ["LABKIT_HOME"] = home
    from labkit import models
    from labkit.engines import llamacpp as lc

    lc.build_features = lambda: {"AMX_INT8": "1"}  # type: ignore[assignment]
    real_run = child.run
    child.run = lambda target, **kw: real_run("test_llamacpp:die_by_sigill", **kw)  # type: ignore[assignment]
    allowed, why = lc.extra_buffers_allowed()
    llm = lc.load(models.path("smollm2:135m"), n_ctx=128)
    text = llm.create_completion("The capital of France is", max_tokens=4, temperature=0)["choices"][0]["text"]
    return {"allowed": allowed, "why": why, "flag": bool(llm.model_params.use_extra_bufts), "text": text,
            "record": (Path(home) / "llama-cpu-check.json").read_text()}


def test_a_probe_that_dies_by_a_signal_turns_the_extra_buffers_off(tmp_path) -> None:
    result = child.run("test_llamacpp:verdict_after_a_crashing_probe", env={"PYTHONPATH": TESTS},
                       home=str(tmp_path))
    assert result["allowed"] is False and "SIGILL" in result["why"]
    assert result["flag"] is False  # loads after the verdict skip the extra buffer types
    assert result["text"].strip()   # and still generate
    assert '"runs": false' in result["record"]  # remembered for this machine and build


def test_child_reports_a_signal_in_words() -> None:
    with pytest.raises(child.ChildError) as caught:
        child.run("test_llamacpp:die_by_sigill", env={"PYTHONPATH": TESTS}, label="llama.cpp")
    assert caught.value.signal == "SIGILL"
    assert "llama.cpp died with SIGILL: this build uses CPU instructions this machine cannot run" in str(caught.value)


def sleep_long(seconds: float) -> None:
    """(Runs in a child.) A hang."""
    import time

    time.sleep(seconds)


def test_child_stops_a_hang_and_says_so() -> None:
    with pytest.raises(child.ChildError) as caught:
        child.run("test_llamacpp:sleep_long", timeout=2, env={"PYTHONPATH": TESTS}, seconds=30)
    assert caught.value.timed_out and "did not finish within 2 s" in str(caught.value)


def test_child_passes_an_error_back_in_words() -> None:
    with pytest.raises(child.ChildError, match="ValueError"):
        child.run("labkit.engines.llamacpp:ftype", level="Q9_X")
    assert child.run("labkit.engines.llamacpp:ftype", level="Q8_0") == 7


def log_while_loading() -> dict[str, object]:
    """(Runs in a child, whose stderr the test reads.) Another thread logs while the server loads a model."""
    import logging
    import sys
    import threading
    import time

    from labkit import models
    from labkit.ollama.runner import LoadSettings, Runner

    logger = logging.getLogger("labkit.ollama")
    handler = logging.StreamHandler(sys.stderr)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    loading, done, counted = threading.Event(), threading.Event(), []

    def chatter() -> None:
        loading.wait()
        number = 0
        while not done.is_set():
            logger.info("server line %d", number)
            counted.append(number)
            number += 1
            time.sleep(0.002)

    thread = threading.Thread(target=chatter)
    thread.start()
    loading.set()
    time.sleep(0.01)
    runner = Runner(LoadSettings(str(models.path("smollm2:135m")), num_ctx=512, num_batch=64, num_thread=1))
    done.set()
    thread.join()
    runner.close()
    return {"written": len(counted)}


def test_a_server_log_line_written_during_a_model_load_still_appears() -> None:
    import json
    import subprocess
    import sys

    code = ("import json, sys; sys.path.insert(0, %r); import test_llamacpp as t; "
            "print(json.dumps(t.log_while_loading()))" % TESTS)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    written = json.loads(out.stdout.strip().splitlines()[-1])["written"]
    lines = [line for line in out.stderr.splitlines() if line.startswith("server line ")]
    assert written > 0 and len(lines) == written, out.stderr[-2000:]
    assert "llama_model_loader" not in out.stderr  # llama.cpp's own load report stays silent
