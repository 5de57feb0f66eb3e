"""Where llama.cpp's messages go: nowhere by default, to your screen on request.

llama.cpp reports everything it does while loading (hundreds of lines per
model) through a *log callback*. The kit installs one callback per process
(:func:`install`) that drops those messages unless you ask to see them:
``LABKIT_SHOW_LOGS=1`` in the environment, :func:`show_llama_logs`, or
``verbose=True`` where a kit function offers it. Code that needs to read the
messages (the memory lesson reads llama.cpp's own KV-cache size) collects
them with :func:`capture`.

Nothing here touches the process's file descriptors. Silencing by pointing
file descriptor 2 at /dev/null (what ``Llama(verbose=False)`` does while it
loads) also swallows every other thread's output, a server's log lines and
tracebacks included.

llama-cpp-python itself also prints a few lines from Python while it loads a
model; :func:`loading` keeps those out of sight too, for the loading thread
only. Introduced in notebooks/00_start_here and 03_llamacpp.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

_lock = threading.Lock()
_installed: Any = None          # the ctypes callback (kept alive: C holds only a pointer)
_show: bool | None = None       # set by show_llama_logs(); None follows LABKIT_SHOW_LOGS
_show_depth = 0                 # > 0 while a `loading(show=True)` block runs
_captures: list[list[str]] = []


def showing() -> bool:
    """Are llama.cpp's messages shown right now?"""
    if _show_depth > 0:
        return True
    if _show is not None:
        return _show
    return os.environ.get("LABKIT_SHOW_LOGS", "") not in ("", "0", "false")


def show_llama_logs(on: bool = True) -> None:
    """Show (or hide again) llama.cpp's messages for the rest of this process."""
    global _show
    install()
    _show = on


def install() -> None:
    """Route llama.cpp's log messages through the kit's callback (once per process)."""
    global _installed
    with _lock:
        if _installed is not None:
            return
        import llama_cpp

        @llama_cpp.llama_log_callback
        def _callback(level: int, text: bytes, user_data: Any) -> None:  # pragma: no cover - called from C
            message = text.decode("utf-8", errors="replace") if text else ""
            for sink in list(_captures):
                sink.append(message)
            if showing():
                sys.stderr.write(message)

        llama_cpp.llama_log_set(_callback, None)
        _installed = _callback


@contextlib.contextmanager
def capture() -> Iterator[list[str]]:
    """Collect llama.cpp's messages inside the block (shown or not): ``with capture() as lines:``."""
    install()
    sink: list[str] = []
    _captures.append(sink)
    try:
        yield sink
    finally:
        _captures.remove(sink)


class _ThisThreadOnly(io.TextIOBase):
    """A stand-in for ``sys.stderr`` that holds back one thread's writes and passes the rest on."""

    def __init__(self, target: Any, thread: int) -> None:
        self.target, self.thread, self.held = target, thread, []

    def write(self, text: str) -> int:
        if threading.get_ident() == self.thread:
            self.held.append(text)
        else:
            self.target.write(text)
        return len(text)

    def flush(self) -> None:
        self.target.flush()


_loading_lock = threading.RLock()


@contextlib.contextmanager
def loading(show: bool | None = None) -> Iterator[None]:
    """Around a llama.cpp load: C messages through the callback, Python prints of this thread held back.

    ``show=True`` lets both through (to read llama.cpp's report of a load).
    Loads in one process take turns, so the stand-in stderr is put back in order.
    """
    global _show_depth
    install()
    with _loading_lock:
        if show or (show is None and showing()):
            _show_depth += 1
            try:
                yield
            finally:
                _show_depth -= 1
            return
        original = sys.stderr
        sys.stderr = _ThisThreadOnly(original, threading.get_ident())
        try:
            yield
        finally:
            sys.stderr = original


def quiet_transformers() -> None:
    """Hide transformers' per-load progress bars and info messages (kept: warnings worth reading).

    Loading a model prints a "Loading weights" bar every time; in a notebook
    that is noise between the results.
    """
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
