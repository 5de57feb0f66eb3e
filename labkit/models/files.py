"""The store's folder and its file checks: every file is verified by sha256 before use.

Hashing a large file takes a while, so each result is remembered (in the store's
``verified.json``) with the file's size and modification time; any write to the
file changes them and forces a new hash. Introduced in notebooks/00_start_here.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from labkit.system import jsonfile


def store_root() -> Path:
    """Where the kit keeps assembled, registered and derived files.

    ``$LABKIT_HOME`` if set, else ``~/.cache/labkit``. Safe to delete: everything
    in it is rebuilt on demand.
    """
    root = Path(os.environ.get("LABKIT_HOME") or Path.home() / ".cache" / "labkit")
    root.mkdir(parents=True, exist_ok=True)
    return root


def building(target: Path):
    """A lock (across processes) held while ``target`` is assembled or derived, so two never write it at once."""
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(target) + ".lock", timeout=1800)


def sha256(file: Path, progress: str | None = None) -> str:
    """sha256 of a file, read in 1 MiB blocks (with a tqdm bar when asked)."""
    digest = hashlib.sha256()
    size = file.stat().st_size
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=size, unit="B", unit_scale=True, desc=progress, leave=False)
    with file.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            if bar is not None:
                bar.update(len(block))
    if bar is not None:
        bar.close()
    return digest.hexdigest()


def file_sha256(file: Path) -> str:
    """sha256 of any file, remembered with its size and modification time (see the module docstring)."""
    stat = file.stat()
    cache_file = store_root() / "verified.json"
    stamp = jsonfile.read(cache_file).get(str(file))
    if stamp and (stamp["size"], stamp["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
        return stamp["sha256"]
    digest = sha256(file, progress=f"checking {file.name}" if stat.st_size > 1 << 30 else None)
    with jsonfile.update(cache_file) as cache:  # other processes may be adding their own entries
        cache[str(file)] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    return digest


def is_verified(file: Path, expected_sha256: str, size: int) -> bool:
    """True when ``file`` has the expected size and sha256 (the size is checked first: it is free)."""
    try:
        if file.stat().st_size != size:
            return False
    except FileNotFoundError:
        return False
    return file_sha256(file) == expected_sha256
