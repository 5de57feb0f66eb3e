"""Small JSON files that several processes share: read freely, update under a file lock.

The model store keeps two of them (the registry of your own models and the
remembered file hashes), and a notebook kernel, the Ollama-compatible server and
measurement child processes may all touch them at once. A thread lock protects
one process only, so an update here

1. takes a lock *file* next to the JSON (``filelock``: works across processes),
2. reads the current contents (another process may have just changed them),
3. writes the new contents to a temporary file in the same folder and renames it
   over the old one, so a reader never sees half a file.

Introduced with the model store (notebooks/00_start_here).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def read(file: Path) -> dict[str, Any]:
    """The file's contents, or ``{}`` if it does not exist (or is not valid JSON)."""
    try:
        return json.loads(file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _lock(file: Path):
    from filelock import FileLock

    return FileLock(str(file) + ".lock", timeout=60)


def write(file: Path, data: dict[str, Any]) -> None:
    """Replace the file's contents in one step (write a temporary file, then rename it)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=file.name + ".", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(data, out, indent=2, sort_keys=True)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def update(file: Path) -> Iterator[dict[str, Any]]:
    """Change the file's contents under its lock: ``with update(f) as data: data[k] = v``.

    Nothing is written if the block raises.
    """
    with _lock(file):
        data = read(file)
        yield data
        write(file, data)
