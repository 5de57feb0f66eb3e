"""The model store's shared files survive several processes writing at once.

A notebook kernel, the Ollama-compatible server and measurement child processes share one
store. Two processes register models and record verified hashes at the same time here; every
entry of both must be there afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from labkit import models

ROOT = Path(__file__).resolve().parent.parent

WORKER = r"""
import sys
from pathlib import Path
from labkit import models
tag, folder = sys.argv[1], Path(sys.argv[2])
for i in range(int(sys.argv[3])):
    models.register(folder / "model.gguf", name=f"{tag}-{i}:test")
    small = folder / f"{tag}-{i}.bin"
    small.write_bytes(f"{tag} {i}".encode() * 1000)
    models.file_sha256(small)
"""


def test_two_processes_register_and_verify_at_once_and_nothing_is_lost(tmp_path) -> None:
    home, folder = tmp_path / "home", tmp_path / "files"
    folder.mkdir()
    source = models.path("smollm2:135m")
    try:
        os.link(source, folder / "model.gguf")  # same bytes, no copy
    except OSError:
        shutil.copy(source, folder / "model.gguf")
    env = {**os.environ, "LABKIT_HOME": str(home)}
    count = 6
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, tag, str(folder), str(count)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
               for tag in ("a", "b")]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]

    registry = json.loads((home / "registry.json").read_text())
    assert sorted(registry) == sorted(f"{tag}-{i}:test" for tag in "ab" for i in range(count))
    verified = json.loads((home / "verified.json").read_text())
    for tag in "ab":
        for i in range(count):
            assert str(folder / f"{tag}-{i}.bin") in verified
    assert not list(home.glob("*.tmp"))  # every temporary file was renamed into place
