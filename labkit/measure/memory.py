"""Will it fit? Estimate the memory a model needs, part by part, and check it against a real run.

Memory for running a model has four parts:

- **weights**: the tensors, about the size of the GGUF file (``parameters × bits per weight / 8``);
- **KV cache**: the keys and values of every token in the context, ``2 × layers × n_ctx ×
  kv_heads × head_dim × bytes per element``. llama.cpp allocates it for the whole ``n_ctx`` up
  front, so a long context costs memory even when the prompt is short;
- **compute buffer**: scratch space for one forward pass, sized for the biggest batch;
- **overhead**: the runtime itself (vocabulary tables, output buffer, allocator slack).

Two totals, because they answer different questions:

- **reserved** is what llama.cpp asks for. On a GPU that is what must fit in VRAM, because the
  buffers are allocated (and backed) in full. We use Ollama's formula for the compute buffer
  (``GraphSize``), which is what Ollama uses to decide whether a model fits.
- **resident** is what the process actually holds in RAM on a CPU, what ``psutil`` reports as
  RSS. The weights are memory-mapped from the file and read in full while loading, so they count
  (a re-laid-out copy of some 4-bit matrices, llama.cpp's ``CPU_REPACK`` buffer, counts twice); the
  KV cache is cleared at creation, so it counts in full; but the compute buffer is only touched as
  far as the current batch needs, so a short prompt uses a small part of it. ``resident`` is the
  number to compare with your free RAM.

Measured with llama-cpp-python 0.3.36 on a 2-core x86_64 machine, SmolLM2-135M at n_ctx 8192:
weights 92 MiB + KV 180 MiB + Ollama's compute formula 164 MiB = 437 MiB reserved, yet RSS grew by
298 MiB after loading and one short prompt. ``measure()`` repeats such a run on your machine.

Introduced in notebooks/01_running_local_llms.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from labkit.measure.memory_check import Measurement, measure  # noqa: F401 - part of this module's API
from labkit.measure.shapes import (  # noqa: F401 - part of this module's API
    REPACKED_TYPES,
    SWA_PATTERN_DEFAULTS,
    ModelShape,
    load_common_models,
    shape,
    shape_from_gguf,
    shape_from_table,
)

MIB = 1024 * 1024

KV_BYTES_PER_ELEMENT: dict[str, float] = {
    "f32": 4.0,
    "f16": 2.0,
    "bf16": 2.0,
    "q8_0": 34 / 32,   # blocks of 32 int8 + one f16 scale (Ollama's estimator rounds this to 1)
    "q5_1": 24 / 32,
    "q5_0": 22 / 32,
    "q4_1": 20 / 32,
    "q4_0": 18 / 32,   # blocks of 32 nibbles + one f16 scale (Ollama rounds to 0.5)
}
"""Bytes per stored key/value number for each llama.cpp KV cache type (``type_k``/``type_v``)."""

FILE_BITS_PER_WEIGHT: dict[str, float] = {
    "F32": 32.0, "F16": 16.0, "BF16": 16.0, "Q8_0": 8.5, "Q6_K": 6.56, "Q5_K_M": 5.68, "Q5_K_S": 5.52,
    "Q5_1": 6.0, "Q5_0": 5.5, "Q4_K_M": 4.84, "Q4_K_S": 4.58, "Q4_1": 5.0, "Q4_0": 4.5, "IQ4_XS": 4.46,
    "Q3_K_L": 4.27, "Q3_K_M": 3.91, "Q3_K_S": 3.50, "Q2_K": 3.35,
}
"""Average bits per weight of whole GGUF files by quantization mix (Llama-2-7B, llama.cpp quantize README)."""

CTX_PAD = 256
"""llama.cpp rounds ``n_ctx`` up to a multiple of 256 cells."""

# Fitted on the two course models (vocabularies of 49k and 262k entries) at n_ctx 512, 2048 and
# 8192 with llama-cpp-python 0.3.36 on 2 x86_64 cores, by measure(). tests/test_memory.py checks
# them at other context sizes and on a file outside the fit (SmolLM2's F16 export).
RUNTIME_BASE_BYTES = 17 * MIB
"""Loaded once per process: the CPU backend library, thread pool, llama-cpp-python objects."""
RUNTIME_BYTES_PER_VOCAB_ENTRY = 116
"""Vocabulary tables llama.cpp builds at load: token text, scores, types, lookup maps, piece cache."""
SAMPLING_BYTES_PER_VOCAB_ENTRY = 28
"""Touched per vocabulary entry while producing a token: one row of logits and the sampler's candidates."""
FIRST_DECODE_BYTES = int(1.2 * MIB)
"""Touched on the first forward pass besides the graph itself (thread stacks, allocator bookkeeping)."""
PROMPT_TOKENS = 16
"""A short prompt, as in a quick question: the batch size the resident compute estimate assumes."""


# ---------------------------------------------------------------------------------------------
# The parts
# ---------------------------------------------------------------------------------------------

def padded_context(n_ctx: int) -> int:
    """The number of KV cells llama.cpp allocates for ``n_ctx`` (rounded up to 256).

    Introduced in notebooks/01_running_local_llms.
    """
    if n_ctx < 1:
        raise ValueError("n_ctx must be a positive number of tokens (e.g. 4096); llama.cpp's 0 means 'the training "
                         "context', which is exactly what blows up memory - give the number.")
    return math.ceil(n_ctx / CTX_PAD) * CTX_PAD


def weight_bytes(model: ModelShape, bits_per_weight: float | None = None) -> float:
    """Bytes of the weights: the GGUF tensors when known, else parameters × bits per weight / 8.

    Introduced in notebooks/01_running_local_llms.
    """
    if bits_per_weight is None and model.weight_bytes is not None:
        return float(model.weight_bytes)
    if bits_per_weight is None:
        bits_per_weight = FILE_BITS_PER_WEIGHT.get(model.quantization or "Q4_K_M", 4.84)
    return model.parameters * bits_per_weight / 8


def kv_cache_bytes(model: ModelShape, n_ctx: int, *, kv_type: str = "f16", n_parallel: int = 1,
                   swa_full: bool = True, n_ubatch: int = 512) -> float:
    """KV cache bytes as llama.cpp allocates them: 2 × layers × cells × kv_heads × head_dim × bytes.

    Layers with a sliding window (Gemma 3: 5 of every 6) need only the window plus one batch of
    cells, ``min(n_ctx, window × n_parallel + n_ubatch)`` rounded up to 256, when the cache is
    built that way (``swa_full=False``). llama.cpp's library default, which llama-cpp-python keeps,
    is ``swa_full=True``: every layer gets the full context. ``n_parallel`` sequences multiply the
    cells (Ollama's ``OLLAMA_NUM_PARALLEL``).

    Introduced in notebooks/01_running_local_llms.
    """
    if kv_type not in KV_BYTES_PER_ELEMENT:
        raise ValueError(f"kv_type {kv_type!r} unknown; choose one of {sorted(KV_BYTES_PER_ELEMENT)}")
    cells = padded_context(n_ctx * n_parallel)
    swa_cells = cells
    if model.swa_layers and not swa_full:
        swa_cells = min(cells, math.ceil((model.sliding_window * n_parallel + n_ubatch) / CTX_PAD) * CTX_PAD)
    per_cell_per_layer = model.kv_heads * (model.head_dim + (model.value_dim or model.head_dim)) * KV_BYTES_PER_ELEMENT[kv_type]
    full_layers = model.layers - model.swa_layers
    return per_cell_per_layer * (full_layers * cells + model.swa_layers * swa_cells)


def compute_buffer_reserved(model: ModelShape, n_ctx: int, n_batch: int = 512) -> float:
    """Ollama's estimate of the compute (graph) buffer for llama-family models, in bytes.

    ``max(4·b·(1 + 4·d_model + n_ctx·(1 + heads)), 4·b·(d_model + vocab))`` with b = ``n_batch``
    (``GraphSize`` in Ollama's fs/ggml/ggml.go). The first term is dominated by the attention
    scores (n_ctx × heads per batch token), the second by the logits. It is reserved up front.

    Introduced in notebooks/01_running_local_llms.
    """
    attention = 4 * n_batch * (1 + 4 * model.d_model + n_ctx * (1 + model.heads))
    logits = 4 * n_batch * (model.d_model + model.vocab)
    return float(max(attention, logits))


def compute_buffer_resident(model: ModelShape, prompt_tokens: int = PROMPT_TOKENS) -> float:
    """The part of the compute buffer one short prompt actually touches on a CPU, in bytes.

    A batch of ``prompt_tokens`` attends only to the cells in use (llama.cpp rounds them up to
    256), not to the whole ``n_ctx``, so the graph is Ollama's formula with b = ``prompt_tokens``
    and n_ctx = those cells; only the last token's logits are kept, and the sampler walks them once.
    Pages of the reservation beyond that are never written, so they never count in RSS.

    Introduced in notebooks/01_running_local_llms.
    """
    if prompt_tokens < 1:
        raise ValueError("prompt_tokens must be at least 1.")
    cells_in_use = padded_context(prompt_tokens)
    graph = 4 * prompt_tokens * (1 + 4 * model.d_model + cells_in_use * (1 + model.heads))
    return float(graph + SAMPLING_BYTES_PER_VOCAB_ENTRY * model.vocab + FIRST_DECODE_BYTES)


def runtime_overhead(model: ModelShape) -> float:
    """Bytes the llama.cpp runtime holds besides weights, KV cache and compute buffer.

    Mostly vocabulary tables built at load (about 116 bytes per entry) plus a fixed part for the
    backend library and thread pool; fitted on measurements of the course models (see ``measure``).

    Introduced in notebooks/01_running_local_llms.
    """
    return float(RUNTIME_BASE_BYTES + RUNTIME_BYTES_PER_VOCAB_ENTRY * model.vocab)


@dataclass(frozen=True)
class MemoryEstimate:
    """The parts of a model's memory use, in bytes; ``mib()`` gives them in MiB.

    ``weights_repacked`` is the second copy of some 4-bit matrices llama.cpp's CPU backend makes
    (its ``CPU_REPACK`` buffer); the file pages stay mapped too, so those bytes count twice.
    ``total_reserved`` = weights + repacked + KV + compute reserved + overhead: what llama.cpp asks
    for, and what must fit in VRAM on a GPU. ``total_resident`` = the same with compute resident
    instead of reserved: what a CPU process holds (its RSS) after a short prompt.

    Introduced in notebooks/01_running_local_llms.
    """

    weights: float
    weights_repacked: float
    kv_cache: float
    compute_reserved: float
    compute_resident: float
    overhead: float
    total_reserved: float
    total_resident: float

    def mib(self) -> dict[str, float]:
        """Every part in MiB, rounded to 0.1, for printing."""
        return {name: round(value / MIB, 1) for name, value in self.__dict__.items()}

    def __str__(self) -> str:
        return "\n".join(f"{name:>16}: {value:9.1f} MiB" for name, value in self.mib().items())


def estimate(model: str | os.PathLike[str] | ModelShape, n_ctx: int = 4096, *, kv_type: str = "f16",
             n_batch: int = 512, n_parallel: int = 1, swa_full: bool = True,
             bits_per_weight: float | None = None, prompt_tokens: int = PROMPT_TOKENS,
             cpu_repack: bool = True) -> MemoryEstimate:
    """Estimate the memory for running ``model`` with llama.cpp at ``n_ctx``, part by part.

    ``model`` is a course model name ("smollm2:135m"), a row of the common-models table
    ("llama-3.1-8b"), a GGUF path or a ``ModelShape``. ``bits_per_weight`` overrides the weight
    size (e.g. 4.84 for a Q4_K_M file of a table model; see ``FILE_BITS_PER_WEIGHT``).
    ``swa_full=True`` is llama-cpp-python's default (full-size cache on sliding-window layers);
    ``cpu_repack=False`` drops the repacked copy (GPU offload, or a CPU without AVX2/NEON).

    Introduced in notebooks/01_running_local_llms.
    """
    model = shape(model)
    weights = weight_bytes(model, bits_per_weight)
    repacked = float(model.repack_bytes) if (cpu_repack and bits_per_weight is None) else 0.0
    kv = kv_cache_bytes(model, n_ctx, kv_type=kv_type, n_parallel=n_parallel, swa_full=swa_full, n_ubatch=n_batch)
    cells = padded_context(n_ctx * n_parallel)
    reserved = compute_buffer_reserved(model, cells, n_batch)
    resident = min(reserved, compute_buffer_resident(model, prompt_tokens))
    overhead = runtime_overhead(model)
    base = weights + repacked + kv + overhead
    return MemoryEstimate(weights, repacked, kv, reserved, resident, overhead, base + reserved, base + resident)


FIT_HEADROOM = 0.1
"""Share of a machine's memory left for everything else (the OS, other programs) when checking a fit."""


def fits(estimate_: MemoryEstimate, memory_gb: float, *, gpu: bool = False, headroom: float = FIT_HEADROOM) -> bool:
    """Does the estimate fit in ``memory_gb`` (decimal GB), leaving ``headroom`` (share) for everything else?

    On a GPU the reserved total must fit; on a CPU the resident total must.

    Introduced in notebooks/01_running_local_llms.
    """
    need = estimate_.total_reserved if gpu else estimate_.total_resident
    return need <= memory_gb * 1e9 * (1 - headroom)


