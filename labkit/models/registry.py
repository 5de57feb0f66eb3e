"""Model names: the catalog plus your own GGUF files, registered under Ollama-style names.

Downloaded a bigger model? ``register(path, name="llama3.2:3b")`` records its sha256 and
facts in the store's ``registry.json``; afterwards every engine, the server and the
notebooks accept that name. Introduced in notebooks/00_start_here.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, fields
from pathlib import Path

from labkit.models.catalog import CATALOG, ModelInfo, UnknownModelError
from labkit.models.files import is_verified, sha256, store_root
from labkit.system import jsonfile

# Ollama-style names: lower case, letters, digits, '.', '_', '-', one optional ':tag'.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}(:[a-z0-9][a-z0-9._-]{0,63})?")


def _registry_file() -> Path:
    return store_root() / "registry.json"


def _registered() -> dict[str, ModelInfo]:
    known = {f.name for f in fields(ModelInfo)}
    return {
        name: ModelInfo(**{k: tuple(v) if isinstance(v, list) else v for k, v in entry.items() if k in known})
        for name, entry in jsonfile.read(_registry_file()).items()
    }


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


def register(file: str | os.PathLike[str], name: str, *, replace: bool = False,
             licence: str = "unknown") -> ModelInfo:
    """Add your own GGUF file to the store under an Ollama-style ``name``.

    The file stays where it is; the store records its sha256 (so later
    changes are caught) and the facts read from its metadata. Afterwards every
    engine, the server and the notebooks accept ``name``.
    """
    from labkit.models.gguf import facts

    source = Path(file).expanduser().resolve()
    canonical = str(name).strip().lower()
    if ":" not in canonical:
        canonical += ":latest"
    if not NAME_PATTERN.fullmatch(canonical):
        raise ValueError(
            f"{name!r} is not a valid model name: use lower-case letters, digits, '.', '_' or '-', "
            "with an optional ':tag' (e.g. 'llama3.2:3b')."
        )
    if canonical in CATALOG:
        raise ValueError(f"{canonical!r} is a course model and cannot be replaced; pick another name.")
    if not source.is_file():
        raise FileNotFoundError(f"no file at {source}")
    found = facts(source)
    if canonical in jsonfile.read(_registry_file()) and not replace:
        raise ValueError(f"{canonical!r} is already registered; pass replace=True to point it at {source}.")
    size = source.stat().st_size
    digest = sha256(source, progress=f"hashing {source.name}")
    entry = ModelInfo(
        name=canonical, file_name=source.name, sha256=digest, size=size, licence=licence,
        source=str(source), description=f"registered from {source}", **found,
    )
    with jsonfile.update(_registry_file()) as registry:  # shared with other processes: see jsonfile
        if canonical in registry and not replace:
            raise ValueError(f"{canonical!r} is already registered; pass replace=True to point it at {source}.")
        registry[canonical] = asdict(entry)
    is_verified(source, digest, size)  # remember the fresh hash
    return entry


def unregister(name: str) -> None:
    """Forget a registered model (its file is left untouched)."""
    canonical = resolve(name)
    if canonical in CATALOG:
        raise ValueError(f"{canonical!r} is a course model; only registered models can be removed.")
    with jsonfile.update(_registry_file()) as registry:
        registry.pop(canonical, None)
