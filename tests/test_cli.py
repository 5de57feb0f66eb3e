"""The `labkit` command: models, and the README's main command (`labkit lab`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from labkit import cli, models
from labkit.system.ports import free_port, wait_for_http


def test_models_list_and_path(capsys) -> None:
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "smollm2:135m" in out and "gemma3:270m" in out and "Apache-2.0" in out
    assert cli.main(["models", "path", "smollm2"]) == 0
    assert capsys.readouterr().out.strip() == str(models.path("smollm2:135m"))


def test_unknown_model_is_a_clear_error(capsys) -> None:
    assert cli.main(["models", "path", "nope:1b"]) == 2
    assert "Known models" in capsys.readouterr().err


def test_lab_as_root_adds_allow_root_with_a_warning(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    command = cli.lab_command(tmp_path, 8888, ["--no-browser"])
    assert "--allow-root" in command and command[-1] == "--no-browser"
    assert "running as root" in capsys.readouterr().out
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--allow-root" not in cli.lab_command(tmp_path, None, [])


def test_register_from_the_command_line(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    mine = tmp_path / "mine.gguf"
    mine.write_bytes(models.path("smollm2:135m").read_bytes())
    assert cli.main(["models", "register", str(mine), "--name", "mine:small"]) == 0
    assert "registered mine:small: llama" in capsys.readouterr().out
    assert "mine:small" in models.names()
    assert cli.main(["models", "unregister", "mine:small"]) == 0


def test_lab_opens_jupyterlab_with_the_ollama_server() -> None:
    """`labkit lab` starts JupyterLab on the course and an Ollama-compatible server when none runs."""
    lab_port, ollama_port = free_port(), free_port()
    env = {**os.environ, "OLLAMA_HOST": f"127.0.0.1:{ollama_port}"}
    command = [sys.executable, "-m", "labkit.cli", "lab", "--port", str(lab_port), "--no-browser",
               "--ServerApp.token=test-token"]  # as root, labkit adds --allow-root itself
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        token = {"Authorization": "token test-token"}
        wait_for_http(f"http://127.0.0.1:{lab_port}/api/status", process=process, timeout=90, headers=token)
        wait_for_http(f"http://127.0.0.1:{ollama_port}/api/version", process=process, timeout=30)
        lab = httpx.get(f"http://127.0.0.1:{lab_port}/api/contents/00_start_here.ipynb", params={"content": 1},
                        headers=token, timeout=5)
        version = httpx.get(f"http://127.0.0.1:{ollama_port}/api/version", timeout=5).json()
        assert lab.status_code == 200, "JupyterLab did not serve the course"
        assert lab.json()["name"] == "00_start_here.ipynb"
        # The learner's edition: solutions are stubs, and no output (no solution's result) is stored.
        notebook = lab.json()["content"]
        assert notebook["metadata"]["labkit"]["edition"] == "student"
        assert not any(cell.get("outputs") for cell in notebook["cells"] if cell["cell_type"] == "code")
        assert "version" in version
        # The course's defaults: no news pop-up and no update check (both would try the network).
        notification = httpx.get(f"http://127.0.0.1:{lab_port}/lab/api/settings/"
                                 "@jupyterlab/apputils-extension:notification",
                                 headers={"Authorization": "token test-token"}, timeout=5).json()
        assert notification["schema"]["properties"]["fetchNews"]["default"] == "false"
        assert notification["schema"]["properties"]["checkForUpdates"]["default"] is False
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
