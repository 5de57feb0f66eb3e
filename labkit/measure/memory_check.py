"""Checking a memory estimate against a real run: load a model in a fresh process, run one
short prompt, and read both the process's RSS and llama.cpp's own report of its buffers.

Introduced in notebooks/01_running_local_llms.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

MIB = 2**20


@dataclass(frozen=True)
class Measurement:
    """What one llama.cpp load + short prompt did to a fresh process, and what llama.cpp reported.

    ``rss_increase`` is RSS after the prompt minus RSS just before loading (llama_cpp already
    imported). The ``reported_*`` figures are parsed from llama.cpp's own log lines.

    Introduced in notebooks/01_running_local_llms.
    """

    n_ctx: int
    rss_before: int
    rss_after_load: int
    rss_after_prompt: int
    rss_increase: int
    reported_kv: float | None
    reported_compute: float | None
    reported_weights: float | None
    prompt_tokens: int


def measure_here(path: str, n_ctx: int, n_threads: int, swa_full: bool, prompt: str) -> dict[str, object]:
    """Load, run one short prompt, and report RSS at each step and llama.cpp's own log (child side).

    Run in a fresh process by :func:`measure`; ``llama_cpp`` is imported before the first reading.
    """
    from labkit.engines.llamacpp import load, prepare
    from labkit.system.logs import capture
    from labkit.system.rss import rss_bytes

    prepare()  # imports llama_cpp and installs the log callback before the "before" reading
    with capture() as log:
        before = rss_bytes()
        llm = load(path, n_ctx=n_ctx, n_threads=n_threads, swa_full=swa_full, seed=0)
        after_load = rss_bytes()
        tokens = llm.tokenize(prompt.encode())
        llm.create_completion(prompt, max_tokens=4, temperature=0.0)
        after = rss_bytes()
    return {"before": before, "after_load": after_load, "after": after, "prompt_tokens": len(tokens),
            "log": "".join(log)}


def _sum_mib(pattern: str, log: str) -> float | None:
    found = re.findall(pattern, log)
    return sum(float(x) for x in found) * MIB if found else None


def measure(model: str | os.PathLike[str], n_ctx: int, *, n_threads: int = 2, swa_full: bool = True,
            prompt: str = "The capital of France is", timeout: float = 120) -> Measurement:
    """Load ``model`` in a fresh Python process with llama.cpp, run one short prompt, report memory.

    A fresh process per measurement keeps the RSS clean (nothing else loaded, nothing cached).
    llama.cpp's log is read for the sizes it reports itself (``llama_kv_cache: size = …``,
    ``compute buffer size``, ``model buffer size``).

    Introduced in notebooks/01_running_local_llms.
    """
    text = str(model)
    if not (text.endswith(".gguf") or os.sep in text):
        from labkit import models

        text = str(models.path(text))
    from labkit.system import child

    numbers = child.run("labkit.measure.memory_check:measure_here", timeout=timeout, label=f"measuring {Path(text).name}",
                        path=text, n_ctx=n_ctx, n_threads=n_threads, swa_full=swa_full, prompt=prompt)
    log = numbers["log"]
    return Measurement(
        n_ctx=n_ctx, rss_before=numbers["before"], rss_after_load=numbers["after_load"],
        rss_after_prompt=numbers["after"], rss_increase=numbers["after"] - numbers["before"],
        reported_kv=_sum_mib(r"llama_kv_cache: size =\s*([\d.]+) MiB", log),
        reported_compute=_sum_mib(r"(?:CPU|Metal|CUDA\d*|Vulkan\d*) compute buffer size =\s*([\d.]+) MiB", log),
        reported_weights=_sum_mib(r"\w+ model buffer size =\s*([\d.]+) MiB", log),
        prompt_tokens=numbers["prompt_tokens"],
    )
