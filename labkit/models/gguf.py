"""What a GGUF file says about itself: one place that reads model files' metadata.

Two readers, each for what it is good at:

* :func:`metadata` — every scalar key (architecture, context length, chat template,
  file type ...) through llama.cpp's own loader in *vocabulary-only* mode, which parses
  the header without the weights in well under a second, even for Gemma's 262k-token
  vocabulary. A file llama.cpp cannot open is refused here, with a clear message,
  rather than later. :func:`open_vocab` hands out that vocabulary-only model itself,
  for tokenizing.
* :func:`header` — every key (arrays too) and the tensor index (name, shape, type, size),
  read by gguf-py's ``GGUFReader``. gguf-py builds a Python object for every vocabulary
  entry, which takes seconds on a large vocabulary, so the header is remembered in the
  model store (``gguf/``) until the file changes. :func:`reader` hands out the reader
  itself, for the tensor data (dequantizing, the block-quantization lesson).

Introduced in notebooks/00_start_here and 03_llamacpp.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

# Arrays longer than this (token lists, scores, merges) are kept as their length only.
SMALL_ARRAY = 4096


def _check_magic(file: Path) -> None:
    with file.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ValueError(f"{file} is not a GGUF file (it does not start with the bytes 'GGUF').")


def open_vocab(file: str | os.PathLike[str]) -> Any:
    """A vocabulary-only ``llama_cpp.Llama`` of ``file``: metadata and tokenizer, no weights.

    Raises ValueError saying so when the file is not GGUF or llama.cpp cannot read it.
    """
    import llama_cpp

    from labkit.system.logs import loading

    file = Path(file)
    _check_magic(file)
    try:
        with loading():
            llm = llama_cpp.Llama(model_path=str(file), vocab_only=True, verbose=True)
    except ValueError as err:
        raise ValueError(f"{file} looks like GGUF but cannot be read by llama.cpp ({err}); "
                         "is the file complete?") from err
    llm.verbose = False  # loaded with verbose=True to leave stderr alone; see labkit.system.logs
    return llm


@lru_cache(maxsize=32)
def _metadata(path: str, size: int, mtime_ns: int) -> dict[str, Any]:
    import llama_cpp

    llm = open_vocab(path)
    try:
        found: dict[str, Any] = dict(llm.metadata)
        found["labkit.parameters"] = int(llama_cpp.llama_model_n_params(llm.model))
        return found
    finally:
        llm.close()


def metadata(file: str | os.PathLike[str]) -> dict[str, Any]:
    """Every scalar key of ``file`` as llama.cpp reads it (values are strings), plus
    ``labkit.parameters``, the number of weights. Remembered until the file changes."""
    stat = Path(file).stat()
    return dict(_metadata(str(Path(file).resolve()), stat.st_size, stat.st_mtime_ns))


def facts(file: str | os.PathLike[str]) -> dict[str, Any]:
    """Architecture, parameter count, quantization, chat template and context length of ``file``."""
    from gguf import LlamaFileType

    meta = metadata(file)
    arch = meta.get("general.architecture", "unknown")
    try:
        quantization = LlamaFileType(int(meta.get("general.file_type", ""))).name.removeprefix("MOSTLY_")
    except (TypeError, ValueError):
        quantization = "unknown"
    return {
        "architecture": arch,
        "parameters": meta["labkit.parameters"],
        "quantization": quantization,
        "chat_template": "tokenizer.chat_template" in meta,
        "context_length": int(meta.get(f"{arch}.context_length", 0) or 0),
    }


@lru_cache(maxsize=4)
def _reader(path: str, size: int, mtime_ns: int) -> Any:
    from gguf import GGUFReader

    try:
        return GGUFReader(path)
    except Exception as err:  # gguf-py raises several kinds for damaged or non-GGUF files
        raise ValueError(f"{path} cannot be read as GGUF ({err}); is it a complete .gguf file?") from err


def reader(file: str | os.PathLike[str]) -> Any:
    """gguf-py's ``GGUFReader`` of ``file`` (tensors, array keys); kept for the last few files read."""
    file = Path(file)
    _check_magic(file)
    stat = file.stat()
    return _reader(str(file.resolve()), stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class Tensor:
    """One entry of a GGUF file's tensor index."""

    name: str
    shape: tuple[int, ...]  # as gguf-py reports it: the row length (ne0) comes first
    ggml_type: str          # "Q4_1", "Q6_K", "F32", ...
    n_weights: int
    n_bytes: int

    @property
    def bits_per_weight(self) -> float:
        return 8 * self.n_bytes / self.n_weights if self.n_weights else 0.0


@dataclass(frozen=True)
class Header:
    """What a GGUF file says before its weights: keys and values, and the tensor index.

    ``fields`` holds every key; a long array (the vocabulary) is kept as its length in
    ``array_lengths`` instead. ``header_bytes`` is where the weights begin.
    """

    file_size: int
    header_bytes: int
    fields: dict[str, Any]
    array_lengths: dict[str, int]
    tensors: list[Tensor]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


def all_fields(file: str | os.PathLike[str], longest: int | None = None) -> dict[str, Any]:
    """Every key of ``file`` and its value, arrays included (those longer than ``longest`` left out).

    Seconds for a large vocabulary (see the module docstring); :func:`header` remembers the short ones.
    """
    out: dict[str, Any] = {}
    for key, field in reader(file).fields.items():
        if key.startswith("GGUF.") or (longest is not None and len(field.data) > longest):
            continue
        try:
            value = field.contents()
        except Exception:  # an exotic type gguf-py cannot turn into Python: skip it
            continue
        out[key] = value.tolist() if hasattr(value, "tolist") else value
    return out


def _read_header(path: Path) -> Header:
    read = reader(path)
    fields = all_fields(path, longest=SMALL_ARRAY)
    lengths = {key: len(field.data) for key, field in read.fields.items()
               if not key.startswith("GGUF.") and len(field.data) > SMALL_ARRAY}
    tensors = [Tensor(t.name, tuple(int(d) for d in t.shape), t.tensor_type.name, int(t.n_elements),
                      int(t.n_bytes)) for t in read.tensors]
    return Header(path.stat().st_size, int(read.data_offset), fields, lengths, tensors)


@lru_cache(maxsize=32)
def _header(path: str, size: int, mtime_ns: int) -> Header:
    from labkit.models.files import store_root

    key = hashlib.sha256(f"{path}|{size}|{mtime_ns}".encode()).hexdigest()[:24]
    remembered = store_root() / "gguf" / f"{Path(path).stem}-{key}.json"
    try:
        data = json.loads(remembered.read_text())
        data["tensors"] = [Tensor(t[0], tuple(t[1]), *t[2:]) for t in data["tensors"]]
        return Header(**data)
    except (OSError, ValueError, TypeError, KeyError):
        pass
    found = _read_header(Path(path))
    remembered.parent.mkdir(parents=True, exist_ok=True)
    data = asdict(found)
    data["tensors"] = [[t.name, list(t.shape), t.ggml_type, t.n_weights, t.n_bytes] for t in found.tensors]
    remembered.write_text(json.dumps(data))
    return found


def header(file: str | os.PathLike[str]) -> Header:
    """Every key and the tensor index of ``file``, remembered (in memory and in the store) until it changes."""
    file = Path(file)
    if not file.is_file():
        raise FileNotFoundError(f"No GGUF file at {file}. Pass a path such as labkit.models.path('smollm2:135m').")
    _check_magic(file)
    stat = file.stat()
    return _header(str(file.resolve()), stat.st_size, stat.st_mtime_ns)
