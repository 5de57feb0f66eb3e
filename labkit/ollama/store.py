"""Which models the server offers, and where their files are.

Two sources, like Ollama's library and its local store:

* the kit's catalog (``labkit.models``): the course models ship as Python
  packages, so they count as already pulled; ``/api/pull`` verifies the file
  and records it, ``/api/delete`` hides it until the next pull;
* models made with ``/api/create`` or ``/api/copy``: one small JSON manifest
  each under ``labkit.models.store_root() / "ollama" / "manifests"``, with
  weights (when they are new files) in ``.../ollama/blobs/sha256-<hex>``.

Names are validated by :mod:`labkit.ollama.names` before they become paths.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from labkit.ollama import names
from labkit.ollama.names import Name

_lock = threading.RLock()
_DIGEST = re.compile(r"sha256[:-]([0-9a-f]{64})")


@dataclass
class Model:
    """One model the server can run."""

    name: Name
    catalog: str | None              # catalog name when the weights come from labkit.models
    file: str | None                 # weights file for models made with /api/create
    details: dict[str, Any]
    size: int
    digest: str
    modified_at: str
    parameters: dict[str, Any] = field(default_factory=dict)
    system: str | None = None
    template: str | None = None      # a Jinja2 chat template that replaces the GGUF one
    license: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    context_length: int = 0
    parameter_count: int = 0

    def gguf_path(self) -> Path:
        """The verified weights file (catalog files are sha256-checked by labkit.models)."""
        if self.catalog:
            from labkit import models

            return models.path(self.catalog)
        assert self.file is not None
        return Path(self.file)

    def manifest(self) -> dict[str, Any]:
        return {
            "name": self.name.short, "catalog": self.catalog, "file": self.file,
            "details": self.details, "size": self.size, "modified_at": self.modified_at,
            "parameters": self.parameters, "system": self.system, "template": self.template,
            "license": self.license, "messages": self.messages, "context_length": self.context_length,
            "parameter_count": self.parameter_count,
        }


# ---- layout -------------------------------------------------------------------------------

def root() -> Path:
    from labkit import models

    folder = models.store_root() / "ollama"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def blobs_dir() -> Path:
    folder = root() / "blobs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def blob_path(digest: str) -> Path:
    """File of a blob named ``sha256:<hex>``; ValueError for anything else."""
    match = _DIGEST.fullmatch(digest.lower())
    if not match:
        raise ValueError("invalid digest format")
    return blobs_dir() / f"sha256-{match.group(1)}"


def _manifest_file(name: Name) -> Path:
    host, namespace, model, tag = name.path_parts()
    return root() / "manifests" / host / namespace / model / f"{tag}.json"


def _hidden_file() -> Path:
    return root() / "hidden.json"


def _hidden() -> set[str]:
    try:
        return set(json.loads(_hidden_file().read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return set()


def _set_hidden(catalog_name: str, hidden: bool) -> None:
    with _lock:
        current = _hidden()
        (current.add if hidden else current.discard)(catalog_name)
        _hidden_file().write_text(json.dumps(sorted(current)))


def now_iso() -> str:
    """Local time with offset, as Ollama writes ``modified_at``."""
    return datetime.now().astimezone().isoformat()


# ---- catalog models -----------------------------------------------------------------------

def human_number(n: int) -> str:
    """Ollama's parameter_size format ("134.52M", "1.2B")."""
    for unit, scale, fmt in (("B", 1e9, "{:.1f}"), ("M", 1e6, "{:.2f}")):
        if n >= scale:
            value = n / scale
            return (f"{value:.0f}" if value == int(value) else fmt.format(value)) + unit
    if n >= 1000:
        return f"{n / 1000:.0f}K"
    return str(n)


def details_for(architecture: str, parameters: int, quantization: str,
                parent: str = "") -> dict[str, Any]:
    """The ``details`` object of /api/tags, /api/ps and /api/show."""
    return {
        "parent_model": parent, "format": "gguf", "family": architecture,
        "families": [architecture], "parameter_size": human_number(parameters),
        "quantization_level": quantization,
    }


def _catalog_model(catalog_name: str) -> Model:
    from labkit import models

    info = models.info(catalog_name)
    name = names.parse(catalog_name)
    return Model(
        name=name, catalog=info.name, file=None,
        details=details_for(info.architecture, info.parameters, info.quantization),
        size=info.size, digest=info.sha256, modified_at=_catalog_time(), license=info.licence,
        context_length=info.context_length, parameter_count=info.parameters,
    )


_started = now_iso()


def _catalog_time() -> str:
    return _started


def _catalog_names() -> list[str]:
    from labkit import models

    return [n for n in models.names() if names.is_valid(n)]


# ---- lookups ------------------------------------------------------------------------------

def _read_manifest(file: Path) -> Model | None:
    try:
        raw = file.read_bytes()
        data = json.loads(raw)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return Model(
        name=names.parse(data["name"]), catalog=data.get("catalog"), file=data.get("file"),
        details=data["details"], size=int(data["size"]), digest=hashlib.sha256(raw).hexdigest(),
        modified_at=data["modified_at"], parameters=data.get("parameters") or {},
        system=data.get("system"), template=data.get("template"), license=data.get("license"),
        messages=data.get("messages") or [], context_length=int(data.get("context_length") or 0),
        parameter_count=int(data.get("parameter_count") or 0),
    )


def find(text: str) -> Model | None:
    """The model called ``text`` (case-insensitive), or None. Raises InvalidName for bad names."""
    name = names.parse(text)
    found = _read_manifest(_manifest_file(name))
    if found is not None:
        return found
    if name.host == names.DEFAULT_HOST and name.namespace == names.DEFAULT_NAMESPACE:
        hidden = _hidden()
        wanted = f"{name.model}:{name.tag}".lower()
        for catalog_name in _catalog_names():
            if catalog_name.lower() == wanted and catalog_name not in hidden:
                return _catalog_model(catalog_name)
        if not name.explicit_tag:
            # "smollm2" means "smollm2:latest" to Ollama; the kit also accepts it for the
            # one catalog model with that base name (labkit.models.resolve).
            from labkit import models

            try:
                catalog_name = models.resolve(name.model)
            except LookupError:
                return None
            if catalog_name not in hidden and names.is_valid(catalog_name):
                return find(catalog_name)
    return None


def catalog_entry(text: str) -> str | None:
    """The catalog name that ``text`` pulls, hidden or not (None if not in the catalog)."""
    name = names.parse(text)
    if name.host != names.DEFAULT_HOST or name.namespace != names.DEFAULT_NAMESPACE:
        return None
    wanted = f"{name.model}:{name.tag}".lower()
    for catalog_name in _catalog_names():
        if catalog_name.lower() == wanted:
            return catalog_name
    if not name.explicit_tag:
        from labkit import models

        try:
            return models.resolve(name.model)
        except LookupError:
            return None
    return None


def list_models() -> list[Model]:
    """Everything /api/tags shows: manifests first, then visible catalog models."""
    found: dict[str, Model] = {}
    manifests = root() / "manifests"
    if manifests.exists():
        for file in sorted(manifests.rglob("*.json")):
            model = _read_manifest(file)
            if model is not None:
                found[model.name.key] = model
    hidden = _hidden()
    for catalog_name in _catalog_names():
        key = names.parse(catalog_name).key
        if catalog_name not in hidden and key not in found:
            found[key] = _catalog_model(catalog_name)
    return sorted(found.values(), key=lambda m: m.modified_at, reverse=True)


# ---- changes ------------------------------------------------------------------------------

def save(model: Model) -> Model:
    """Write a model's manifest (and un-hide a catalog name of the same spelling)."""
    file = _manifest_file(model.name)
    with _lock:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(file.name + ".tmp")
        tmp.write_text(json.dumps(model.manifest(), indent=2))
        tmp.replace(file)
    catalog_name = catalog_entry(model.name.short) if model.name.explicit_tag else None
    if catalog_name:
        _set_hidden(catalog_name, False)
    saved = _read_manifest(file)
    assert saved is not None
    return saved


def mark_pulled(catalog_name: str) -> None:
    """A pull makes a hidden (deleted) catalog model visible again."""
    _set_hidden(catalog_name, False)


def delete(model: Model) -> None:
    """Remove a manifest, or hide a catalog model; unused blobs are removed too."""
    file = _manifest_file(model.name)
    with _lock:
        if file.exists():
            file.unlink()
        else:
            assert model.catalog is not None
            _set_hidden(model.catalog, True)
        _prune_blobs()


def _prune_blobs() -> None:
    used = {m.file for m in list_models() if m.file}
    for blob in blobs_dir().glob("sha256-*"):
        if str(blob) not in used and not blob.name.endswith(".partial"):
            # Uploaded blobs that no manifest uses yet are kept (an upload comes before create).
            if (root() / "uploads" / blob.name).exists():
                continue
            blob.unlink(missing_ok=True)
