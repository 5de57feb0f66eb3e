"""`labkit doctor` reports on this machine, as text and as data."""

from __future__ import annotations

import json
import subprocess
import sys

import labkit
from labkit import health


def test_doctor_has_no_fail_here() -> None:
    report = labkit.doctor()
    assert report.ok, str(report)
    names = [c.name for c in report.checks]
    for expected in ("python", "cpu", "ram", "gpu (torch)", "llama.cpp offload", "jupyterlab_widgets",
                     "model smollm2:135m", "model gemma3:270m", "ollama server"):
        assert expected in names
    assert all(c.status in (health.OK, health.WARN, health.FAIL) for c in report.checks)
    data = report.to_dict()
    assert data["ok"] is True and len(data["checks"]) == len(report.checks)
    assert "labkit doctor: ready" in str(report)


def test_doctor_fails_when_something_required_is_missing(monkeypatch) -> None:
    monkeypatch.setattr(health, "REQUIRED_PACKAGES", [*health.REQUIRED_PACKAGES, "no-such-package-xyz"])
    report = health.run(check_network_server=False)
    assert not report.ok
    failed = report.failed[0]
    assert failed.name == "no-such-package-xyz" and "pip install" in failed.fix


def test_doctor_command_exit_code_and_json() -> None:
    out = subprocess.run([sys.executable, "-m", "labkit.cli", "doctor", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["ok"] is True


def test_ollama_host_parsing(monkeypatch) -> None:
    for raw, expected in [("", "http://127.0.0.1:11434"), ("0.0.0.0", "http://127.0.0.1:11434"),
                          ("127.0.0.1:8080", "http://127.0.0.1:8080"),
                          ("http://localhost:11500/", "http://localhost:11500")]:
        monkeypatch.setenv("OLLAMA_HOST", raw)
        assert health.ollama_host() == expected
