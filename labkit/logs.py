"""Silence llama.cpp's C-level logs (they flood notebooks).

llama.cpp writes straight to file descriptor 2, below Python, so
``contextlib.redirect_stderr`` cannot catch it and ``verbose=False`` alone
does not silence everything under ipykernel. :func:`quiet` points fd 2 at
``/dev/null`` for the duration of a block. Introduced in notebooks/03_llamacpp.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.RLock()
_depth = 0
_saved_fd: int | None = None
_saved_stderr = None


@contextlib.contextmanager
def quiet(show: bool = False) -> Iterator[None]:
    """Hide everything written to stderr (Python and C) inside the block.

    ``show=True`` (or the environment variable ``LABKIT_SHOW_LOGS=1``) lets
    the logs through, for when you want to read them (e.g. llama.cpp's
    ``KV self size`` line). Nested and threaded use is safe: the first caller
    in redirects, the last caller out restores.
    """
    if show or os.environ.get("LABKIT_SHOW_LOGS") == "1":
        yield
        return
    _enter()
    try:
        yield
    finally:
        _exit()


def _enter() -> None:
    global _depth, _saved_fd, _saved_stderr
    with _lock:
        if _depth == 0:
            with contextlib.suppress(AttributeError, ValueError, OSError):
                sys.stderr.flush()
            _saved_fd = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
            _saved_stderr = sys.stderr
            sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - closed in _exit
        _depth += 1


def _exit() -> None:
    global _depth, _saved_fd, _saved_stderr
    with _lock:
        _depth -= 1
        if _depth == 0 and _saved_fd is not None:
            sys.stderr.close()
            sys.stderr = _saved_stderr
            os.dup2(_saved_fd, 2)
            os.close(_saved_fd)
            _saved_fd = None


def silence_llama_logger() -> None:
    """Route llama.cpp's log callback to nowhere for the rest of the process.

    The fd redirect in :func:`quiet` covers loading; this covers messages
    llama.cpp emits later (e.g. from other threads) without touching fd 2.
    """
    import llama_cpp

    @llama_cpp.llama_log_callback
    def _drop(level: int, text: bytes, user_data: object) -> None:  # pragma: no cover - C callback
        return None

    # Keep a reference: the C side holds only a pointer to the callback.
    globals()["_callback_ref"] = _drop
    llama_cpp.llama_log_set(_drop, None)


def quiet_transformers() -> None:
    """Hide transformers' per-load progress bars and info messages (kept: warnings worth reading).

    Loading a model prints a "Loading weights" bar every time; in a notebook
    that is noise between the results.
    """
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
