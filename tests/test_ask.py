"""``labkit ask`` on a temporary folder, with the real default model: only changed files are embedded
again, the JSON reply has its shape, the sockets of the run stay on loopback, and each bad input
gets a one-line error and a non-zero exit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from labkit import cli
from labkit.rag import privacy
from labkit.system.ports import free_port

DOCS = {
    "garden.md": "# Garden\n\nThe tomatoes were planted on 12 April in the south bed.\n",
    "car.txt": "The car's next service is due at 90000 km.\n",
    "notes/boiler.md": "# Boiler\n\nThe boiler was serviced by Ada Park in March.\n",
}


def _ask(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["ask", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _index_line(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith("labkit: index:"))


def test_ask_embeds_only_what_changed_and_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    for name, text in DOCS.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text)
    (docs / "photo.png").write_bytes(b"\x89PNG")  # not a document: left out
    question = ["--docs", str(docs), "--index", str(index), "-k", "2", "--json", "When were the tomatoes planted?"]

    code, out, err = _ask(capsys, *question)
    assert code == 0, err
    assert _index_line(err).startswith("labkit: index: 3 file(s) embedded, 0 unchanged, 0 removed"), err
    reply = json.loads(out.strip().splitlines()[-1])
    assert set(reply) == {"answer", "answered", "sources", "prompt_tokens"}
    assert isinstance(reply["answer"], str) and reply["answer"] and isinstance(reply["answered"], bool)
    assert isinstance(reply["prompt_tokens"], int) and reply["prompt_tokens"] > 20
    assert set(reply["sources"]) <= set(DOCS) and (reply["sources"] or not reply["answered"])

    (docs / "car.txt").write_text("The car's next service is due at 95000 km.\n")
    server = privacy.server_pid(os.environ["OLLAMA_HOST"])  # the server the first run started, by its port
    assert server is not None and server != os.getpid()
    with privacy.watching([os.getpid(), server], interval=0.02) as watch:
        code, out, err = _ask(capsys, *question)
    assert code == 0, err
    assert _index_line(err).startswith("labkit: index: 1 file(s) embedded, 2 unchanged, 0 removed"), err
    assert {s.pid for s in watch.sockets} == {os.getpid(), server} and privacy.only_loopback(watch), watch.sockets

    (docs / "notes" / "boiler.md").unlink()
    code, out, err = _ask(capsys, "--docs", str(docs), "--index", str(index), "-k", "1", "What is due at 95000 km?")
    assert code == 0, err
    assert _index_line(err).startswith("labkit: index: 0 file(s) embedded, 2 unchanged, 1 removed"), err
    assert out.strip(), "the answer is printed as text without --json"


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = _ask(capsys, *argv)
    assert code != 0 and "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("labkit: "), err
    return last


def test_bad_input_gets_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "no such folder" in _error(capsys, "--docs", str(tmp_path / "nowhere"), "Why?")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "scan.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "empty" / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))  # not UTF-8: unreadable
    assert "no readable .md or .txt file" in _error(capsys, "--docs", str(tmp_path / "empty"), "Why?")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("Some text.\n")
    dead = f"http://127.0.0.1:{free_port()}"
    assert "no Ollama API answers at" in _error(capsys, "--docs", str(tmp_path / "docs"), "--host", dead, "Why?")
    assert "unknown model 'no-such-model:1b'" in _error(capsys, "--docs", str(tmp_path / "docs"), "--index",
                                                        str(tmp_path / "index"), "--model", "no-such-model:1b",
                                                        "Why?")
