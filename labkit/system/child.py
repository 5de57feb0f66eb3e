"""Run one function in a fresh Python process, with a time limit and a clear error.

Why a separate process, for the kit:

* a native crash in an engine (llama.cpp dying with SIGILL on a CPU feature the
  build cannot use, a segmentation fault) kills the child, not your notebook or
  the doctor, which can then say what happened and what to do;
* a hang is cut off by the time limit instead of freezing the caller;
* memory figures (peak RSS) are the child's own, not inflated by whatever the
  parent loaded before.

The function is named as ``"module:function"``; its keyword arguments and its
return value travel as pickles through two temporary files, so its own prints
go to the captured output and never get mixed with the result. Used by
``labkit doctor`` (:mod:`labkit.course.doctor`), :mod:`labkit.measure.bench`,
:mod:`labkit.quant.ladder` and :mod:`labkit.measure.memory`; introduced in notebooks/00_start_here.
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# What a signal most likely means when it ends an engine's process.
_SIGNAL_CAUSES = {
    "SIGILL": "this build uses CPU instructions this machine cannot run",
    "SIGSEGV": "it crashed (segmentation fault)",
    "SIGBUS": "it crashed (bus error: a damaged or truncated memory-mapped file?)",
    "SIGKILL": "it was killed, often by the system running out of memory",
    "SIGABRT": "it aborted (a failed check inside the native code)",
    "SIGFPE": "it crashed (arithmetic error)",
}


class ChildError(RuntimeError):
    """The child died by a signal, ran past its time limit, or raised an error.

    ``signal`` is the signal's name (``"SIGILL"``) or None, ``timed_out`` says
    whether the time limit ended it, ``output`` is the tail of what it printed.
    """

    def __init__(self, what: str, *, signal: str | None = None, timed_out: bool = False,
                 returncode: int | None = None, output: str = "") -> None:
        super().__init__(what)
        self.signal = signal
        self.timed_out = timed_out
        self.returncode = returncode
        self.output = output


def describe_signal(name: str) -> str:
    """A reader's explanation of a signal that ended an engine (``SIGILL`` -> "this build uses ...")."""
    return _SIGNAL_CAUSES.get(name, "it was stopped by a signal")


def run(target: str, /, *, timeout: float = 600, env: dict[str, str] | None = None, label: str = "",
        **kwargs: Any) -> Any:
    """Call ``target`` (``"package.module:function"``) with ``kwargs`` in a new interpreter.

    Returns what the function returned. Raises :class:`ChildError` saying how the
    child ended otherwise. ``env`` adds or overrides environment variables for the
    child only; ``label`` names the work in error messages (default: ``target``).
    """
    label = label or target
    with tempfile.TemporaryDirectory(prefix="labkit-child-") as tmp:
        request, reply = Path(tmp) / "request.pickle", Path(tmp) / "reply.pickle"
        request.write_bytes(pickle.dumps((target, kwargs)))
        # The package's own folder goes first on the path, so a source checkout works uninstalled.
        root = str(Path(__file__).resolve().parents[2])
        child_env = {**os.environ, **(env or {})}
        child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, child_env.get("PYTHONPATH")]))
        try:
            done = subprocess.run([sys.executable, "-m", "labkit.system.child", str(request), str(reply)],
                                  capture_output=True, text=True, timeout=timeout, env=child_env)
        except subprocess.TimeoutExpired as err:
            output = _text(err.stdout) + _text(err.stderr)
            raise ChildError(f"{label} did not finish within {timeout:.0f} s and was stopped",
                             timed_out=True, output=output[-4000:]) from None
        output = (done.stdout + done.stderr)[-4000:]
        if done.returncode < 0:
            name = _signal_name(-done.returncode)
            raise ChildError(f"{label} died with {name}: {describe_signal(name)}", signal=name,
                             returncode=done.returncode, output=output)
        if not reply.exists():
            raise ChildError(f"{label} exited with code {done.returncode} before returning:\n{output}",
                             returncode=done.returncode, output=output)
        ok, value = pickle.loads(reply.read_bytes())
    if not ok:
        raise ChildError(f"{label} failed: {value}", returncode=done.returncode, output=output)
    return value


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def _main(request: str, reply: str) -> None:
    """The child's side: import the function, call it, write ``(ok, value or error text)``."""
    target, kwargs = pickle.loads(Path(request).read_bytes())
    module_name, _, function_name = target.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
        result: tuple[bool, Any] = (True, function(**kwargs))
    except Exception as err:  # noqa: BLE001 - reported to the parent in words
        result = (False, f"{type(err).__name__}: {err}")
    Path(reply).write_bytes(pickle.dumps(result))


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
