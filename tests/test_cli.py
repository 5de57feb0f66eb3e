"""The `labkit` command: models and `labkit lab`'s command line (tests/browser runs `labkit lab` itself)."""

from __future__ import annotations

import os

from labkit import cli, models


def test_models_list_and_path(capsys) -> None:
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "smollm2:135m" in out and "gemma3:270m" in out and "Apache-2.0" in out
    qwen = out[out.index("qwen2.5-coder:0.5b"):]  # its lines say where its file comes from
    assert "AWQ" in qwen and "quantized twice" in qwen and "another project" in qwen
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
