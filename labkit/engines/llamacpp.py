"""Loading a llama.cpp model the same way everywhere: quiet, and safe on every CPU.

Every place the kit loads a llama.cpp model (the LangChain builders, bench,
tokens, the quantization ladder, the memory check, the Ollama-compatible
server) goes through :func:`load`, or calls :func:`prepare` first when
LangChain builds the ``Llama`` object itself. Two things happen there.

**Logs.** llama.cpp's messages go through the kit's log callback
(:mod:`labkit.system.logs`): silent unless you ask for them.

**CPUs that advertise more than they can run.** pip compiles llama-cpp-python
for the machine it is installed on (``-march=native``). On a CPU that advertises
Intel AMX (matrix tiles, in recent Xeons) the build then contains AMX kernels,
and llama.cpp uses them for matrix products. Some virtual machines advertise
AMX but cannot run it: the first token dies with ``SIGILL`` (illegal
instruction). So, when the build contains AMX code, the kit checks once per
machine and build, in a child process that is allowed to crash, whether that
code runs here (:func:`extra_buffers_allowed`). Where it does not, every model
this process loads skips llama.cpp's *extra buffer types* (the AMX layout, and
weight repacking with it): ``llama_model_params.use_extra_bufts = False``,
llama.cpp's ``--no-repack``. On every other machine nothing changes.

``LABKIT_LLAMA_EXTRA_BUFFERS=on`` or ``off`` overrides the check. Introduced
in notebooks/00_start_here and 03_llamacpp.
"""

from __future__ import annotations

import os
import platform
import threading
from pathlib import Path
from typing import Any

SETTING = "LABKIT_LLAMA_EXTRA_BUFFERS"  # auto (default), on, off

_lock = threading.Lock()
_decision: tuple[bool, str] | None = None


def build_features() -> dict[str, str]:
    """CPU features this llama.cpp build was compiled with, e.g. ``{"AVX2": "1", "AMX_INT8": "1"}``."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    features = {}
    for part in info.replace(":", "|").split("|"):
        name, sep, value = part.partition("=")
        if sep:
            features[name.strip()] = value.strip()
    return features


def _library_stamp() -> str:
    """Which build and machine a verdict belongs to: library size and time, CPU, kernel."""
    import llama_cpp

    from labkit.system.hardware import cpu_model

    lib = Path(llama_cpp.__file__).parent / "lib"
    files = sorted(lib.glob("*ggml-cpu*")) or sorted(lib.glob("*"))
    stamps = [f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files if f.is_file()]
    return "|".join([*stamps, cpu_model(), platform.release()])


def extra_buffers_allowed() -> tuple[bool, str]:
    """May llama.cpp use its extra buffer types (AMX, repacking) here? ``(allowed, why)``.

    Decided once per process: the override in ``LABKIT_LLAMA_EXTRA_BUFFERS``,
    else "yes" for a build without AMX code, else the remembered result of a
    test generation in a child process (run once per machine and build).
    """
    global _decision
    with _lock:
        if _decision is None:
            _decision = _decide()
        return _decision


def _decide() -> tuple[bool, str]:
    choice = os.environ.get(SETTING, "auto").strip().lower()
    if choice in ("on", "1", "true", "yes"):
        return True, f"{SETTING}={choice}"
    if choice in ("off", "0", "false", "no"):
        return False, f"{SETTING}={choice}"
    if build_features().get("AMX_INT8") != "1":
        return True, "this build has no AMX code"
    from labkit import models
    from labkit.system import jsonfile

    record = models.store_root() / "llama-cpu-check.json"
    stamp = _library_stamp()
    known = jsonfile.read(record).get(stamp)
    if known is None:
        known = _probe_amx()
        with jsonfile.update(record) as data:
            data[stamp] = known
    if known["runs"]:
        return True, "this build's AMX code runs on this CPU"
    return False, ("this CPU advertises AMX but a test generation with the build's AMX code died with "
                   f"{known['signal']}; llama.cpp's extra buffer types (AMX, repacking) are off")


def _probe_amx() -> dict[str, Any]:
    """Generate a few tokens with default settings in a child process that may crash."""
    from labkit.system import child

    try:
        child.run("labkit.engines.llamacpp:probe_generation", timeout=300, env={SETTING: "on"},
                  label="the AMX check (a test generation)")
    except child.ChildError as err:
        if err.signal:
            return {"runs": False, "signal": err.signal}
        raise
    return {"runs": True, "signal": None}


def probe_generation(model: str = "smollm2:135m", tokens: int = 16) -> float:
    """Load ``model`` as the kit does and generate ``tokens`` greedily; returns decode tokens/s.

    Runs in a child process for the AMX check and for ``labkit doctor``.
    """
    import time

    from labkit import models
    from labkit.system.hardware import default_threads

    # The kit's thread count, as every engine uses it (llama-cpp-python alone would take half the CPUs).
    llm = load(models.path(model), n_ctx=256, n_batch=64, seed=0, n_threads=default_threads())
    prompt = llm.tokenize(b"The capital of France is", add_bos=True)
    stamps = []
    for _ in llm.generate(prompt, temp=0.0):
        stamps.append(time.perf_counter())
        if len(stamps) > tokens:
            break
    llm.close()
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def _turn_off_extra_buffers() -> None:
    """Make every ``Llama`` this process creates from now on skip the extra buffer types.

    ``Llama(...)`` has no argument for ``use_extra_bufts``: it starts from
    ``llama_model_default_params()``. So the kit replaces that function with one
    that returns the same defaults with the switch off.
    """
    import llama_cpp
    import llama_cpp.llama_cpp as bindings

    original = bindings.llama_model_default_params
    if getattr(original, "_labkit_no_extra_buffers", False):
        return

    def llama_model_default_params():  # noqa: ANN202 - same signature as the binding
        params = original()
        params.use_extra_bufts = False
        return params

    llama_model_default_params._labkit_no_extra_buffers = True  # type: ignore[attr-defined]
    bindings.llama_model_default_params = llama_model_default_params
    llama_cpp.llama_model_default_params = llama_model_default_params


def prepare() -> None:
    """Get this process ready to load llama.cpp models (cheap after the first call)."""
    from labkit.system import logs

    logs.install()
    allowed, _ = extra_buffers_allowed()
    if not allowed:
        _turn_off_extra_buffers()


def load(model_path: str | os.PathLike[str], *, show_logs: bool | None = None, **settings: Any):
    """``llama_cpp.Llama(model_path, **settings)``, loaded quietly and safely for this CPU.

    ``show_logs=True`` shows llama.cpp's report of the load. ``verbose`` is not
    needed (and is ignored): see :mod:`labkit.system.logs` for why the kit loads with
    ``verbose=True`` and silences through the log callback instead.
    """
    import llama_cpp

    from labkit.system.logs import loading

    prepare()
    settings.pop("verbose", None)
    with loading(show=show_logs):
        llm = llama_cpp.Llama(model_path=str(model_path), verbose=True, **settings)
    quiet_after_load(llm)
    return llm


def quiet_after_load(llm: Any) -> None:
    """Stop llama-cpp-python's own per-call prints (``verbose``) once a model is loaded.

    Loading with ``verbose=False`` would swap the process's stderr for /dev/null
    during the load; loading with ``verbose=True`` and switching it off here
    keeps the output streams alone and the calls quiet.
    """
    llm.verbose = False


def ftype(level: str) -> int:
    """llama.cpp's file-type number for a quantization level name such as ``"Q4_K_M"``."""
    import llama_cpp

    value = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{level.upper()}", None)
    if value is None:
        raise ValueError(f"llama.cpp has no file type {level!r} (try Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q4_0, "
                         "Q3_K_M or Q2_K).")
    return int(value)


def quantize(source: str | os.PathLike[str], target: str | os.PathLike[str], level: str,
             n_threads: int | None = None) -> None:
    """Write ``source`` (an F16/F32 GGUF) to ``target`` at ``level`` with llama.cpp's own quantizer.

    The same code as the ``llama-quantize`` tool. Used by the quantization ladder
    (notebooks/03_llamacpp) and the server's ``/api/create``.
    """
    import ctypes

    import llama_cpp

    from labkit.system.hardware import default_threads
    from labkit.system.logs import install

    install()  # the quantizer reports every tensor through llama.cpp's log
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype(level)
    params.nthread = n_threads or default_threads()
    failed = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
    if failed:
        Path(target).unlink(missing_ok=True)
        raise RuntimeError(f"llama.cpp could not quantize {Path(source).name} to {level} (code {failed}). "
                           "Run again after labkit.system.logs.show_llama_logs() to read its log.")


def batch_context(llm: Any, *, sequences: int, cells_per_sequence: int, n_batch: int, threads: int) -> Any:
    """A second llama.cpp context on ``llm``'s weights that decodes ``sequences`` sequences together.

    Each sequence gets its own ``cells_per_sequence`` KV cells (not a shared pool), and flash
    attention is on: with it a sequence's numbers do not depend on what else is in the batch.
    Used by the server's runner (:mod:`labkit.ollama.runner`) and the batched-decode measurement
    (:mod:`labkit.measure.batching`).
    """
    import llama_cpp
    from llama_cpp import _internals

    from labkit.system.logs import loading

    params = llama_cpp.llama_context_default_params()
    params.n_ctx = cells_per_sequence * sequences
    params.n_seq_max = sequences
    params.n_batch = params.n_ubatch = max(n_batch, sequences)
    params.n_threads = params.n_threads_batch = threads
    params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
    params.kv_unified = False
    params.no_perf = True
    with loading():
        return _internals.LlamaContext(model=llm._model, params=params, verbose=True)
