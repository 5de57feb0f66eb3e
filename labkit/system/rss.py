"""How much memory this process holds: now (RSS) and at its peak.

Resident memory (RSS) is what a model really costs a machine: the pages a process
holds in RAM. Peaks are read from the operating system, never sampled, so a short
spike cannot be missed: on Linux ``VmHWM`` from ``/proc/self/status``, which starts
afresh in a new process (``ru_maxrss`` would carry over the peak of a large parent
that forked us, e.g. a Jupyter kernel). That is why the kit measures in fresh child
processes (:mod:`labkit.system.child`). Figures are in MiB (2**20 bytes).
Introduced in notebooks/01_running_local_llms.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

MIB = 2**20


def rss_bytes() -> int:
    """Resident memory of this process right now, in bytes."""
    import psutil

    return int(psutil.Process().memory_info().rss)


def rss_mb() -> float:
    """Resident memory of this process right now, in MiB."""
    return rss_bytes() / MIB


def peak_rss_mb() -> float:
    """The highest resident memory this process has had so far, in MiB."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    if sys.platform == "win32":
        import psutil

        return psutil.Process().memory_info().peak_wset / MIB
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB  # bytes on macOS


def limit_malloc_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas for this process (``M_ARENA_MAX``); False where that is not possible.

    glibc gives threads their own arenas; in a long-running server whose threads allocate and
    free large buffers (prompts, saved KV cells of paused requests), freed memory scattered over
    many arenas stays resident and RSS creeps up. Two arenas keep it close to what is in use.
    ``MALLOC_ARENA_MAX`` set in the environment wins. Called by ``labkit serve``; measured in
    bench/soak.py.
    """
    import os

    libc = _glibc()
    if libc is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(libc.mallopt(-8, count))  # -8 is M_ARENA_MAX in glibc's malloc.h


def release_free_memory() -> bool:
    """Hand memory that malloc holds but no longer uses back to the system (glibc's ``malloc_trim``).

    An unloaded model frees its buffers, but glibc keeps freed heap pages resident for reuse, so
    a server that loaded a second copy for other settings and then dropped it would show the
    copy's RSS long after. Called by ``labkit serve`` after each unload; measured in bench/soak.py.
    False where this is not glibc.
    """
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))


def _glibc() -> Any | None:
    """glibc, with the malloc tuning calls used above; None elsewhere (macOS, Windows, musl)."""
    import ctypes

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018  (musl has neither)
    except (OSError, AttributeError):
        return None
    return libc
