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

import csv
import json
import math
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

MIB = 1024 * 1024
DATA_DIR = Path(__file__).resolve().parent.parent / "data"

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

SWA_PATTERN_DEFAULTS = {"gemma2": 2, "gemma3": 6}
"""Every n-th layer attends to the whole context, the others to a sliding window (llama.cpp defaults)."""

CTX_PAD = 256
"""llama.cpp rounds ``n_ctx`` up to a multiple of 256 cells."""

REPACKED_TYPES = {"Q4_0", "Q4_K", "IQ4_NL"}
"""Block types whose matrices llama.cpp's CPU backend copies into an interleaved layout (x86 AVX2, ARM)."""

# Fitted on the two course models (vocabularies of 49k and 262k entries) with llama-cpp-python
# 0.3.36 on 2 x86_64 cores, by measure(); see tests/test_memory.py, which checks them.
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


@dataclass(frozen=True)
class ModelShape:
    """The numbers of a transformer that decide its memory use.

    ``swa_layers`` of the ``layers`` attend only to the last ``sliding_window`` tokens (Gemma 2/3);
    with a sliding-window cache their KV cache holds only that window. ``weight_bytes`` is the size
    of the tensors when read from a GGUF file, else ``None`` (then parameters × bits per weight).
    ``repack_bytes`` is the part of them llama.cpp's CPU backend copies into a SIMD-friendly layout
    (known only from a GGUF file).

    Introduced in notebooks/01_running_local_llms.
    """

    name: str
    architecture: str
    parameters: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    d_model: int
    vocab: int
    context: int
    sliding_window: int = 0
    swa_layers: int = 0
    weight_bytes: int | None = None
    quantization: str | None = None
    value_dim: int | None = None
    repack_bytes: int = 0

    @property
    def kv_bytes_per_token(self) -> float:
        """f16 KV cache bytes one token adds across all layers (2 = K and V)."""
        return self.layers * self.kv_heads * (self.head_dim + (self.value_dim or self.head_dim)) * 2.0


def _field(reader, key: str, default=None):
    found = reader.fields.get(key)
    return default if found is None else found.contents()


_SHAPE_CACHE: dict[str, ModelShape] = {}


def shape_from_gguf(path: str | os.PathLike[str]) -> ModelShape:
    """Read a model's shape from the metadata of any local GGUF file (with gguf-py).

    gguf-py reads every vocabulary entry, which takes seconds for a 262k vocabulary, so the
    result is remembered (in memory and in the model store, ``shapes/``) until the file changes.

    Introduced in notebooks/01_running_local_llms.
    """
    import hashlib

    from labkit import models

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: give the path of a .gguf file, or use shape_from_table(name).")
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:24]
    if key in _SHAPE_CACHE:
        return _SHAPE_CACHE[key]
    remembered = models.store_root() / "shapes" / f"{path.stem}-{key}.json"
    try:
        found = ModelShape(**json.loads(remembered.read_text()))
    except (OSError, ValueError, TypeError):
        found = _read_shape(path)
        remembered.parent.mkdir(parents=True, exist_ok=True)
        remembered.write_text(json.dumps(asdict(found)))
    _SHAPE_CACHE[key] = found
    return found


def _read_shape(path: Path) -> ModelShape:
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFReader, LlamaFileType

    try:
        reader = GGUFReader(path)
    except Exception as err:  # gguf-py raises several kinds for damaged or non-GGUF files
        raise ValueError(f"{path} cannot be read as GGUF ({err}); is it a complete .gguf file?") from err
    arch = _field(reader, "general.architecture")
    if arch is None:
        raise ValueError(f"{path} has no general.architecture key; it is not a model GGUF.")

    def key(name: str, default=None):
        return _field(reader, f"{arch}.{name}", default)

    layers = int(key("block_count"))
    heads = key("attention.head_count")
    kv_heads = key("attention.head_count_kv", heads)
    heads = int(max(heads) if isinstance(heads, list) else heads)
    kv_heads = int(max(kv_heads) if isinstance(kv_heads, list) else kv_heads)
    d_model = int(key("embedding_length"))
    head_dim = int(key("attention.key_length", d_model // heads))
    value_dim = int(key("attention.value_length", head_dim))
    vocab = key("vocab_size")
    if vocab is None:
        tokens = reader.fields.get("tokenizer.ggml.tokens")
        vocab = len(tokens.data) if tokens is not None else 0
    window = int(key("attention.sliding_window", 0) or 0)
    swa_layers = 0
    if window:
        pattern = key("attention.sliding_window_pattern", SWA_PATTERN_DEFAULTS.get(arch, 0))
        if isinstance(pattern, list):
            swa_layers = sum(bool(p) for p in pattern[:layers])
        elif pattern:
            swa_layers = sum(1 for il in range(layers) if il % int(pattern) < int(pattern) - 1)
        else:
            swa_layers = layers
    repack = sum(int(t.n_bytes) for t in reader.tensors
                 if t.name.startswith("blk.") and len(t.shape) == 2
                 and GGMLQuantizationType(t.tensor_type).name in REPACKED_TYPES)
    file_type = _field(reader, "general.file_type")
    quantization = LlamaFileType(file_type).name.removeprefix("MOSTLY_") if file_type is not None else None
    return ModelShape(
        name=str(_field(reader, "general.name", path.stem)),
        architecture=str(arch),
        parameters=int(sum(int(np.prod(t.shape)) for t in reader.tensors)),
        layers=layers, heads=heads, kv_heads=kv_heads, head_dim=head_dim, d_model=d_model,
        vocab=int(vocab), context=int(key("context_length", 0) or 0),
        sliding_window=window, swa_layers=swa_layers,
        weight_bytes=int(sum(int(t.n_bytes) for t in reader.tensors)),
        quantization=quantization, value_dim=value_dim if value_dim != head_dim else None,
        repack_bytes=repack,
    )


def load_common_models(path: str | os.PathLike[str] | None = None) -> list[ModelShape]:
    """Read ``data/common_models.csv``: published shapes of open models from 135M to 72B.

    Introduced in notebooks/01_running_local_llms.
    """
    path = Path(path) if path else DATA_DIR / "common_models.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    shapes = []
    for row in rows:
        layers = int(row["layers"])
        every = int(row.get("full_attention_every") or 0)
        window = int(row.get("sliding_window") or 0)
        swa = layers - layers // every if (window and every) else (layers if window else 0)
        shapes.append(ModelShape(
            name=row["name"], architecture="", parameters=int(row["parameters"]), layers=layers,
            heads=int(row["heads"]), kv_heads=int(row["kv_heads"]), head_dim=int(row["head_dim"]),
            d_model=int(row["d_model"]), vocab=int(row["vocab"]), context=int(row["context"]),
            sliding_window=window, swa_layers=swa,
        ))
    return shapes


def shape_from_table(name: str, path: str | os.PathLike[str] | None = None) -> ModelShape:
    """The shape of a common open model by its name in ``data/common_models.csv`` (e.g. "llama-3.1-8b").

    Introduced in notebooks/01_running_local_llms.
    """
    shapes = load_common_models(path)
    for shape in shapes:
        if shape.name == name.lower():
            return shape
    raise KeyError(f"{name!r} is not in the common-models table; known: {', '.join(s.name for s in shapes)}")


def shape(model: str | os.PathLike[str] | ModelShape) -> ModelShape:
    """A ``ModelShape`` from a course model name, a table name or a GGUF path (whichever ``model`` is).

    Introduced in notebooks/01_running_local_llms.
    """
    if isinstance(model, ModelShape):
        return model
    text = str(model)
    if text.endswith(".gguf") or os.sep in text:
        return shape_from_gguf(text)
    from labkit import models

    try:
        return replace(shape_from_gguf(models.path(text)), name=models.resolve(text))
    except models.UnknownModelError:
        pass
    try:
        return shape_from_table(text)
    except KeyError:
        raise KeyError(f"{text!r} is neither a course model ({', '.join(models.names())}), a .gguf path, "
                       f"nor a row of data/common_models.csv") from None


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


def fits(estimate_: MemoryEstimate, memory_gb: float, *, gpu: bool = False, headroom: float = 0.1) -> bool:
    """Does the estimate fit in ``memory_gb`` (decimal GB), leaving ``headroom`` (share) for everything else?

    On a GPU the reserved total must fit; on a CPU the resident total must.

    Introduced in notebooks/01_running_local_llms.
    """
    need = estimate_.total_reserved if gpu else estimate_.total_resident
    return need <= memory_gb * 1e9 * (1 - headroom)


# ---------------------------------------------------------------------------------------------
# Checking against a real run
# ---------------------------------------------------------------------------------------------

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
    import psutil

    from labkit.llamacpp import load, prepare
    from labkit.logs import capture

    prepare()  # imports llama_cpp and installs the log callback before the "before" reading
    proc = psutil.Process()
    with capture() as log:
        before = proc.memory_info().rss
        llm = load(path, n_ctx=n_ctx, n_threads=n_threads, swa_full=swa_full, seed=0)
        after_load = proc.memory_info().rss
        tokens = llm.tokenize(prompt.encode())
        llm.create_completion(prompt, max_tokens=4, temperature=0.0)
        after = proc.memory_info().rss
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
    from labkit import child

    numbers = child.run("labkit.memory:measure_here", timeout=timeout, label=f"measuring {Path(text).name}",
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
