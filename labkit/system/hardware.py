"""What this machine offers a local model: CPU, memory, GPU, bandwidth.

Local inference is bounded by hardware in two ways the course measures:
memory capacity (does the model fit?) and memory bandwidth (how fast can
decode go?). This module probes both. It is the engine behind
``labkit doctor`` and is introduced in notebooks/01_running_local_llms.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

SIMD_FLAGS = ("avx", "avx2", "avx512f", "fma", "f16c", "neon", "asimd", "sve", "amx_tile")


@dataclass
class GPUInfo:
    """One accelerator as torch sees it."""

    kind: str  # "cuda" or "mps"
    name: str
    memory_bytes: int | None


@dataclass
class Hardware:
    """A snapshot of the machine, for the doctor report and the memory lessons."""

    system: str
    machine: str
    cpu_model: str
    physical_cores: int | None
    logical_cores: int
    simd: list[str]
    ram_total: int
    ram_available: int
    gpus: list[GPUInfo] = field(default_factory=list)


def cpu_model() -> str:
    """The CPU's marketing name, read from the OS."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    if platform.system() == "Darwin":
        import subprocess

        out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return platform.processor() or platform.machine()


def simd_flags() -> list[str]:
    """Vector instruction sets the CPU has (llama.cpp's speed depends on them)."""
    cpuinfo = Path("/proc/cpuinfo")
    found: set[str] = set()
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("flags", "features")):
                found.update(line.split(":", 1)[1].split())
    elif platform.machine() in ("arm64", "aarch64"):
        found.add("neon")  # every 64-bit ARM CPU has NEON
    return [flag for flag in SIMD_FLAGS if flag in found]


def gpus() -> list[GPUInfo]:
    """CUDA or Apple-MPS devices that torch can use (empty list without torch)."""
    try:
        import torch
    except ImportError:
        return []
    found: list[GPUInfo] = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            found.append(GPUInfo("cuda", props.name, int(props.total_memory)))
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append(GPUInfo("mps", "Apple GPU (Metal)", None))
    return found


def probe(with_gpu: bool = True) -> Hardware:
    """Everything above in one object. ``with_gpu=False`` skips importing torch."""
    import psutil

    memory = psutil.virtual_memory()
    return Hardware(
        system=f"{platform.system()} {platform.release()}",
        machine=platform.machine(),
        cpu_model=cpu_model(),
        physical_cores=psutil.cpu_count(logical=False),
        logical_cores=os.cpu_count() or 1,
        simd=simd_flags(),
        ram_total=int(memory.total),
        ram_available=int(memory.available),
        gpus=gpus() if with_gpu else [],
    )


def default_threads() -> int:
    """How many threads llama.cpp gets when nobody says: the physical cores this process may use.

    Decode is bound by memory bandwidth and hyper-threads rarely help llama.cpp,
    so physical cores, not logical ones. ``LABKIT_THREADS`` wins if set, for
    every engine and the server alike (use 1 on a machine busy with other work:
    llama.cpp's threads wait for each other, so two threads sharing a crowded
    CPU can be far slower than one). Introduced in notebooks/01_running_local_llms.
    """
    import psutil

    wanted = os.environ.get("LABKIT_THREADS", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    cores = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return max(1, min(cores, usable))


def llama_gpu_offload() -> bool | None:
    """Can this llama-cpp-python build put layers on a GPU? None if it is not installed.

    A CPU-only build accepts ``n_gpu_layers`` and silently ignores it; this
    is how to find out before trusting it.
    """
    try:
        import llama_cpp
    except ImportError:
        return None
    return bool(llama_cpp.llama_supports_gpu_offload())


def memory_bandwidth(size_mb: int = 256, repeats: int = 5) -> float:
    """Measured memory bandwidth in bytes/s, from copying a large numpy array.

    A copy reads and writes every byte once, so bytes moved = 2 x size. The
    best of a few runs approximates what decode can stream from RAM: decode
    speed cannot exceed ``bandwidth / bytes read per token``.
    """
    import numpy as np

    source = np.ones(size_mb * (1 << 20) // 8, dtype=np.float64)
    target = np.empty_like(source)
    np.copyto(target, source)  # touch the pages once before timing
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - start)
    return 2 * source.nbytes / best
