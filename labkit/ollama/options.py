"""Request options, ``keep_alive`` and ``format``, read the way Ollama reads them.

Precedence is Ollama's: options in the request win over the model's own
``PARAMETER`` values (set with ``/api/create``), which win over the defaults
below (``api/types.go: DefaultOptions``). ``null`` values and unknown keys are
skipped: the clients still send legacy keys such as ``mirostat``.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import logging
import math
import os
import re
from typing import Any

from labkit.ollama.errors import OllamaError
from labkit.system.hardware import default_threads

log = logging.getLogger("labkit.ollama")

# Ollama's defaults. num_ctx 0 means "pick one": 4096 on a CPU, capped at the
# model's trained context (see :func:`default_num_ctx`).
DEFAULTS: dict[str, Any] = {
    "num_keep": 4,
    "seed": -1,
    "num_predict": -1,
    "top_k": 40,
    "top_p": 0.9,
    "min_p": 0.0,
    "typical_p": 1.0,
    "repeat_last_n": 64,
    "temperature": 0.8,
    "repeat_penalty": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "stop": [],
    "num_ctx": 0,
    "num_batch": 512,
    "num_gpu": -1,
    "main_gpu": 0,
    "use_mmap": True,
    "num_thread": 0,
}

_INT = {"num_keep", "seed", "num_predict", "top_k", "repeat_last_n", "num_ctx", "num_batch",
        "num_gpu", "main_gpu", "num_thread", "draft_num_predict"}
_FLOAT = {"top_p", "min_p", "typical_p", "temperature", "repeat_penalty", "presence_penalty",
          "frequency_penalty"}
_BOOL = {"use_mmap"}
_STRINGS = {"stop"}
# Keys the clients still send that current Ollama no longer uses: ignored quietly.
_LEGACY = {"mirostat", "mirostat_eta", "mirostat_tau", "tfs_z", "penalize_newline", "numa",
           "low_vram", "f16_kv", "logits_all", "vocab_only", "use_mlock", "embedding_only"}


def check(raw: Any) -> dict[str, Any]:
    """Validate one ``options`` map; return only the known, non-null keys.

    Bad types raise the error Ollama gives (``option "temperature" must be of
    type float32``, HTTP 500 as in Ollama).
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise OllamaError(400, "json: cannot unmarshal into Go struct field options of type map[string]interface {}")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if key in _INT:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise OllamaError(500, f'option "{key}" must be of type integer')
            out[key] = int(value)
        elif key in _FLOAT:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise OllamaError(500, f'option "{key}" must be of type float32')
            if not math.isfinite(value):
                raise OllamaError(400, f'option "{key}" must be a finite number')
            out[key] = float(value)
        elif key in _BOOL:
            if not isinstance(value, bool):
                raise OllamaError(500, f'option "{key}" must be of type boolean')
            out[key] = value
        elif key in _STRINGS:
            if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
                raise OllamaError(500, f'option "{key}" must be of an array of strings')
            out[key] = list(value)
        elif key not in _LEGACY:
            log.warning("invalid option provided: %s (ignored)", key)
    return out


# The range each numeric option is clamped to before it reaches llama.cpp: one client's absurd value
# (num_thread 100000, repeat_last_n 10**9, top_p 7) must not allocate, spawn or misbehave on a shared
# server. Ollama passes most values through unchecked; where llama.cpp has a limit it is this one.
#   option                        low    high           why
RANGES: dict[str, tuple[float, float]] = {
    "num_keep": (0, 1 << 20),      # and never more than half the prompt limit when a prompt is cut
    "num_predict": (-2, 1 << 20),  # -1 unlimited, -2 fill the context; the context bounds it anyway
    "top_k": (0, 1 << 20),         # 0 turns it off; llama.cpp takes an int32
    "top_p": (0.0, 1.0),
    "min_p": (0.0, 1.0),
    "typical_p": (0.0, 1.0),
    "temperature": (0.0, 100.0),
    "repeat_last_n": (-1, 1 << 20),  # -1 = num_ctx; also capped at num_ctx (llama.cpp allocates a ring of it)
    "repeat_penalty": (0.0, 100.0),
    "presence_penalty": (-100.0, 100.0),
    "frequency_penalty": (-100.0, 100.0),
    "num_ctx": (0, 1 << 20),       # 0 = automatic; capped at the model's trained context when loaded
    "num_batch": (1, 8192),
    "num_thread": (0, 1 << 10),    # 0 = the kit's default; then at most that default (the physical cores):
}                                  # more threads than cores only wait for each other
MAX_STOPS, MAX_STOP_CHARS = 64, 1024  # stop strings are matched against the answer after every token


def clamp(opts: dict[str, Any]) -> dict[str, Any]:
    """``opts`` with every number inside :data:`RANGES` (and the seed a 32-bit one); stops limited or a 400."""
    out = dict(opts)
    for key, (low, high) in RANGES.items():
        value = out[key]
        out[key] = type(value)(min(max(value, low), high))
    out["num_thread"] = min(out["num_thread"], default_threads())
    out["seed"] = -1 if out["seed"] < 0 else out["seed"] % 2**32
    stops = out["stop"]
    if len(stops) > MAX_STOPS or any(len(s) > MAX_STOP_CHARS for s in stops):
        raise OllamaError(400, f"stop takes at most {MAX_STOPS} strings of at most {MAX_STOP_CHARS} characters")
    return out


def merge(request: Any, model_parameters: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults < model parameters < request options (Ollama's precedence), clamped to :data:`RANGES`."""
    opts = dict(DEFAULTS)
    opts.update(check(model_parameters or {}))
    opts.update(check(request))
    return clamp(opts)


def default_num_ctx(trained: int) -> int:
    """Ollama's automatic context on a CPU: 4096 (or OLLAMA_CONTEXT_LENGTH), capped at training length."""
    env = env_str("OLLAMA_CONTEXT_LENGTH")
    wanted = int(env) if env.isdigit() and int(env) > 0 else 4096
    return min(wanted, trained) if trained > 0 else wanted


def env_str(name: str, default: str = "") -> str:
    """Read an environment variable the way Ollama does (spaces and quotes stripped)."""
    return os.environ.get(name, default).strip().strip("\"'").strip()


def env_int(name: str, default: int) -> int:
    """An integer setting such as OLLAMA_NUM_PARALLEL; bad values fall back to the default."""
    value = env_str(name)
    try:
        return int(value) if value else default
    except ValueError:
        log.warning("invalid %s=%r, using %d", name, value, default)
        return default


# ---- keep_alive ---------------------------------------------------------------------------

FOREVER = math.inf
_DURATION = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Parse a Go duration string ("5m", "1h30m", "-1m", "0") into seconds."""
    s = text.strip()
    sign = -1.0 if s.startswith("-") else 1.0
    body = s.lstrip("+-")
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    pos, total = 0, 0.0
    for match in _DURATION.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(body):
        if re.fullmatch(r"[0-9.]+", body):
            raise ValueError(f'time: missing unit in duration "{text}"')
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total


def keep_alive(value: Any) -> float:
    """Seconds to keep a model loaded after a request; ``math.inf`` for "forever".

    Absent or null: ``OLLAMA_KEEP_ALIVE`` (default 5m). A number means seconds,
    a string is a Go duration, negative means forever, 0 unloads right after.
    """
    if value is None:
        return default_keep_alive()
    if isinstance(value, bool):
        raise OllamaError(400, "json: cannot unmarshal bool into Go struct field .keep_alive of type api.Duration")
    if isinstance(value, (int, float)):
        return FOREVER if value < 0 else float(int(value))
    if isinstance(value, str):
        try:
            seconds = parse_go_duration(value)
        except ValueError as exc:
            raise OllamaError(400, str(exc)) from None
        return FOREVER if seconds < 0 else seconds
    raise OllamaError(400, "json: cannot unmarshal into Go struct field .keep_alive of type api.Duration")


def default_keep_alive() -> float:
    """OLLAMA_KEEP_ALIVE: a Go duration or whole seconds; default 5 minutes."""
    raw = env_str("OLLAMA_KEEP_ALIVE")
    if not raw:
        return 300.0
    try:
        seconds = parse_go_duration(raw)
    except ValueError:
        try:
            seconds = float(int(raw))
        except ValueError:
            log.warning("invalid OLLAMA_KEEP_ALIVE=%r, using 5m", raw)
            return 300.0
    return FOREVER if seconds < 0 else seconds


# ---- format -------------------------------------------------------------------------------

def json_schema_of(fmt: Any) -> dict[str, Any] | str | None:
    """Read ``format``: None/"" = free text, "json" = any JSON, a dict = a JSON Schema."""
    if fmt is None or fmt == "":
        return None
    if fmt == "json":
        return "json"
    if isinstance(fmt, dict):
        return fmt
    import json

    raw = json.dumps(fmt)
    raise OllamaError(500, f'invalid format: {raw}; expected "json" or a valid JSON Schema object')


def default_parallel() -> int:
    """Slots per model: ``OLLAMA_NUM_PARALLEL``, else 4.

    Each slot costs ``num_ctx`` KV cells (at 4096 cells about 94 MB for SmolLM2 135M, 75 MB for
    Gemma 3 270M), allocated when the model loads. Four lets a notebook's ``abatch`` and a few
    learners share a model; a classroom server sets more (docs/instructor.md gives the measured
    curve), and 1 turns batching off. At most llama.cpp's limit of sequences per context (256).
    """
    wanted = max(1, env_int("OLLAMA_NUM_PARALLEL", 4))
    if wanted > MAX_SLOTS:
        log.warning("OLLAMA_NUM_PARALLEL=%d is more than llama.cpp decodes together; using %d", wanted, MAX_SLOTS)
    return min(wanted, MAX_SLOTS)


MAX_SLOTS = 256  # llama.cpp's LLAMA_MAX_SEQ (llama_max_parallel_sequences())
