"""The quantization ladder: one model, F16 down to Q2_K, measured rather than told.

From the F16 GGUF of a course model, llama.cpp's own quantizer (`llama_model_quantize`)
writes Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q4_0, Q3_K_M and Q2_K. Each level is then measured in
a fresh process (so memory figures are not polluted by the previous level): file size,
bits per weight, load time, decode speed, peak RSS, perplexity on a held-out text, and
how far its next-token distributions drift from F16 (mean KL divergence, top-1
agreement). The tensor types are read back from each output file, because llama.cpp
does not always use the type a level is named after.

The quality figures (perplexity, KL, top-1) depend only on the two files and the text, so
they are computed once on this machine and remembered in the store (``quant/quality.json``,
keyed by the files' hashes and the tokens); speed, load time and memory are measured again
on every run, since they depend on what the machine is doing.

Introduced in notebooks/03_llamacpp.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit import DATA_DIR
from labkit.system import jsonfile
from labkit.system.rss import peak_rss_mb

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    pass

__all__ = ["LEVELS", "LadderRow", "heldout_text", "heldout_tokens", "quantize_file", "quantize_ladder", "measure",
           "ladder"]

# The ladder, from the baseline down. Names are llama.cpp's file types (`llama-quantize --help`).
LEVELS = ("F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K")

HELDOUT_FILE = DATA_DIR / "heldout" / "ruth_kjv.txt"


# --------------------------------------------------------------------------------------
# The held-out text
# --------------------------------------------------------------------------------------


def heldout_text(path: str | os.PathLike[str] | None = None) -> str:
    """The public-domain text perplexity is measured on (data/heldout/, see its README).

    Introduced in notebooks/03_llamacpp.
    """
    file = Path(path) if path is not None else HELDOUT_FILE
    if not file.is_file():
        raise FileNotFoundError(
            f"Held-out text not found at {file}. Run from a checkout of the course repository "
            "(it lives in data/heldout/), or pass the path of any plain-text file."
        )
    return file.read_text(encoding="utf-8")


def heldout_tokens(model_path: str | os.PathLike[str], n_tokens: int = 1024, text: str | None = None) -> list[int]:
    """The first `n_tokens` tokens of the held-out text, with the model's own tokenizer (BOS first).

    Introduced in notebooks/03_llamacpp.
    """
    from labkit.engines.tokens import tokenizer

    tokens = tokenizer(model_path).tokenize((text if text is not None else heldout_text()).encode("utf-8"), add_bos=True)
    if len(tokens) < n_tokens:
        raise ValueError(f"The text has only {len(tokens)} tokens; ask for at most that many (n_tokens).")
    return list(tokens[:n_tokens])


# --------------------------------------------------------------------------------------
# Producing the files
# --------------------------------------------------------------------------------------


def quantize_file(source: str | os.PathLike[str], level: str, n_threads: int | None = None) -> Path:
    """Quantize a GGUF file to `level` with llama.cpp's own quantizer; cached by the source's hash.

    The result lives in `labkit.models.store_root() / "quant" / <first 16 hex of sha256>/`,
    so a second call (or a second notebook run) costs nothing.
    Introduced in notebooks/03_llamacpp.
    """
    from labkit import models
    from labkit.engines.llamacpp import ftype, quantize

    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"No GGUF file at {source}; start from labkit.models.f16_path(name).")
    level = level.upper()
    if level == "F16":
        return source
    ftype(level)  # a misspelt level fails here, before any work
    folder = models.store_root() / "quant" / models.file_sha256(source)[:16]
    folder.mkdir(parents=True, exist_ok=True)
    stem = source.name.removesuffix(".gguf").removesuffix(".F16")
    target = folder / f"{stem}.{level}.gguf"
    if target.is_file() and target.stat().st_size > 0:
        return target
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")  # two notebooks at once stay apart
    quantize(source, partial, level, n_threads)
    partial.replace(target)
    return target


def quantize_ladder(
    name: str = "smollm2:135m", levels: tuple[str, ...] = LEVELS, n_threads: int | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """{level: path} for every level of the ladder, starting from the model's F16 GGUF.

    Introduced in notebooks/03_llamacpp.
    """
    from tqdm.auto import tqdm

    from labkit import models

    source = models.f16_path(name)
    out: dict[str, Path] = {}
    for level in tqdm(levels, desc=f"quantizing {name}", unit="level", disable=not progress):
        out[level] = quantize_file(source, level, n_threads=n_threads)
    return out


# --------------------------------------------------------------------------------------
# Measuring one file (runs in its own process when isolated)
# --------------------------------------------------------------------------------------


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-probabilities, shifted by the row maximum so exp() cannot overflow."""
    x = np.array(logits, dtype=np.float32)
    x -= x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def measure(
    path: str | os.PathLike[str],
    tokens: list[int],
    n_threads: int = 2,
    n_decode: int = 32,
    reference: str | os.PathLike[str] | None = None,
    save_reference: str | os.PathLike[str] | None = None,
    chunk: int = 128,
    score: bool = True,
) -> dict[str, Any]:
    """Measure one GGUF file: load time, decode speed, peak RSS, perplexity, and drift from a reference.

    `reference` is a .npy of next-token log-probabilities saved by an earlier call with
    `save_reference` (the F16 run); with it, the mean KL(F16 || this) and the share of
    positions where both pick the same top-1 token are computed over the same tokens.
    ``score=False`` measures serving only (load, decode, memory), for quality figures already known.
    Introduced in notebooks/03_llamacpp.
    """
    from labkit.engines.llamacpp import load

    path = str(path)
    n = len(tokens)
    if n < 2:
        raise ValueError("Perplexity needs at least 2 tokens.")

    # 1. serving: load, then greedy decoding, as a chat would use it (no logits kept)
    t0 = time.perf_counter()
    llm = load(path, n_ctx=256, n_batch=256, n_threads=n_threads, n_threads_batch=n_threads)
    load_s = time.perf_counter() - t0
    stamps = []
    for _ in llm.generate(tokens[:32], temp=0.0, reset=True):
        stamps.append(time.perf_counter())
        if len(stamps) > n_decode:
            break
    serving_peak_mb = peak_rss_mb()  # before scoring, which holds every position's logits
    llm.close()
    decode_tok_s = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
    serving = {"load_s": load_s, "decode_tok_s": decode_tok_s, "peak_rss_mb": serving_peak_mb}
    if not score:
        return serving

    # 2. scoring: every position's logits over the held-out tokens
    llm = load(path, n_ctx=n, n_batch=min(n, 512), n_ubatch=min(n, 512), n_threads=n_threads,
               n_threads_batch=n_threads, logits_all=True)
    llm.eval(tokens)
    logits = llm.scores[: n - 1]  # row i predicts token i + 1
    targets = np.asarray(tokens[1:])
    ref = np.load(reference, mmap_mode="r") if reference is not None else None
    out = None
    if save_reference is not None:
        out = np.lib.format.open_memmap(save_reference, mode="w+", dtype=np.float32, shape=logits.shape)
    nll = np.empty(n - 1)
    kl = np.empty(n - 1)
    agree = np.empty(n - 1, dtype=bool)
    for start in range(0, n - 1, chunk):
        rows = slice(start, min(start + chunk, n - 1))
        lp = _log_softmax(logits[rows])
        nll[rows] = -lp[np.arange(lp.shape[0]), targets[rows]]
        if out is not None:
            out[rows] = lp
        if ref is not None:
            lp_ref = np.asarray(ref[rows], dtype=np.float32)
            kl[rows] = np.sum(np.exp(lp_ref) * (lp_ref - lp), axis=-1, dtype=np.float64)
            agree[rows] = lp_ref.argmax(axis=-1) == lp.argmax(axis=-1)
    if out is not None:
        out.flush()
    del llm
    return {
        **serving,
        "perplexity": float(np.exp(nll.mean())),
        "kl_divergence": float(max(kl.mean(), 0.0)) if ref is not None else float("nan"),
        "top1_agreement": float(agree.mean()) if ref is not None else float("nan"),
        "n_tokens": n,
    }


QUALITY_FIGURES = ("perplexity", "kl_divergence", "top1_agreement", "n_tokens")


def quality_file() -> Path:
    """Where the quality figures computed on this machine are remembered."""
    from labkit import models

    return models.store_root() / "quant" / "quality.json"


def _quality_key(file: Path, f16: Path, tokens: list[int]) -> str:
    """The files' hashes and the tokens: what the quality figures of ``file`` depend on."""
    import hashlib

    from labkit import models

    text = hashlib.sha256(np.asarray(tokens, dtype=np.int64).tobytes()).hexdigest()[:16]
    return f"{models.file_sha256(file)[:16]}:{models.file_sha256(f16)[:16]}:{text}"


def _remember_quality(key: str, figures: dict[str, Any]) -> None:
    with jsonfile.update(quality_file()) as known:
        known[key] = {name: figures[name] for name in QUALITY_FIGURES}


def _measure_isolated(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Run `measure` in a brand-new Python process, so its memory figures are its own."""
    from labkit.system import child

    return child.run("labkit.quant.ladder:measure", timeout=900, label=f"measuring {Path(kwargs['path']).name}",
                     **kwargs)


# --------------------------------------------------------------------------------------
# The whole ladder
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LadderRow:
    """One rung of the ladder, every figure measured on this machine."""

    level: str
    path: Path
    size_bytes: int  # the whole file
    header_bytes: int  # of which metadata (tokenizer, chat template), the rest is tensors
    n_weights: int
    bits_per_weight: float  # tensor bytes x 8 / weights, read from the file
    load_s: float
    decode_tok_s: float
    peak_rss_mb: float  # peak resident memory (MiB) of the measuring process, loaded and decoding
    perplexity: float
    kl_divergence: float  # mean KL(F16 || level) per token, in nats
    top1_agreement: float  # share of positions where the top token equals F16's
    n_tokens: int
    tensor_types: dict[str, int] = field(default_factory=dict)  # {"Q4_K": 90, "Q5_0": 120, ...}

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def ladder(
    name: str = "smollm2:135m",
    levels: tuple[str, ...] = LEVELS,
    n_tokens: int = 1024,
    n_threads: int = 2,
    isolate: bool = True,
    progress: bool = True,
    text: str | None = None,
) -> list[LadderRow]:
    """Quantize `name` to every level and measure each one against F16 on the held-out text.

    `isolate=True` measures each level in its own process (clean peak-RSS figures, ~1 s
    extra per level). Returns one `LadderRow` per level, F16 first.
    Introduced in notebooks/03_llamacpp.
    """
    from tqdm.auto import tqdm

    from labkit import quant

    upper = [lv.upper() for lv in levels]
    levels = ("F16", *(lv for lv in upper if lv != "F16"))  # F16 first: everything is compared with it
    from labkit.engines.llamacpp import ftype

    for lv in levels[1:]:
        ftype(lv)  # fail early on a misspelt level
    files = quantize_ladder(name, levels, n_threads=n_threads, progress=progress)
    tokens = heldout_tokens(files["F16"], n_tokens, text)
    keys = {level: _quality_key(files[level], files["F16"], tokens) for level in levels}
    known = jsonfile.read(quality_file())
    need_reference = any(keys[level] not in known for level in levels[1:])
    rows: list[LadderRow] = []
    with tempfile.TemporaryDirectory(prefix="labkit-ladder-") as tmp:
        reference = Path(tmp) / "f16_logprobs.npy"
        for level in tqdm(levels, desc="measuring", unit="level", disable=not progress):
            kwargs: dict[str, Any] = {"path": str(files[level]), "tokens": tokens, "n_threads": n_threads}
            if level == "F16":
                kwargs["save_reference"] = str(reference)
                kwargs["score"] = need_reference or keys[level] not in known
            else:
                kwargs["reference"] = str(reference)
                kwargs["score"] = keys[level] not in known
            figures = _measure_isolated(kwargs) if isolate else measure(**kwargs)
            if level == "F16":
                figures["kl_divergence"], figures["top1_agreement"] = 0.0, 1.0
            if kwargs["score"]:
                _remember_quality(keys[level], figures)
            else:
                figures.update(known[keys[level]])
            report = quant.inspect(files[level])
            rows.append(
                LadderRow(
                    level=level,
                    path=files[level],
                    size_bytes=report.file_size,
                    header_bytes=report.header_bytes,
                    n_weights=report.n_weights,
                    bits_per_weight=report.bits_per_weight,
                    tensor_types=report.type_counts(),
                    **figures,
                )
            )
    return rows
