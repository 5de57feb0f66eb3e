"""Making models: ``/api/create`` and ``/api/blobs``.

``create`` makes a new model from an existing one or from a GGUF file (a path on
the server's machine, or a blob a client uploaded), optionally quantized with
llama.cpp's own quantizer, with its own template, system prompt and parameters.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkit.ollama import classroom, names, options, store, templates, wire
from labkit.ollama.errors import OllamaError
from labkit.ollama.progress import (
    Report,
    hash_with_progress,
    run_with_progress,
)

# ---- /api/create --------------------------------------------------------------------------------

_QUANT_TYPES = {
    "q4_0": "Q4_0", "q4_1": "Q4_1", "q5_0": "Q5_0", "q5_1": "Q5_1", "q8_0": "Q8_0",
    "q2_k": "Q2_K", "q3_k_s": "Q3_K_S", "q3_k_m": "Q3_K_M", "q3_k_l": "Q3_K_L",
    "q4_k_s": "Q4_K_S", "q4_k_m": "Q4_K_M", "q5_k_s": "Q5_K_S", "q5_k_m": "Q5_K_M", "q6_k": "Q6_K",
}
_FULL_PRECISION = {"F16", "F32", "BF16", "ALL_F32"}


# The largest blob a client may upload; LABKIT_MAX_UPLOAD_GB changes it. An upload is also refused
# when it would leave less than 1 GiB free on the store's disk.
MAX_UPLOAD_BYTES = int(float(os.environ.get("LABKIT_MAX_UPLOAD_GB", "32")) * 2**30)
KEEP_FREE_BYTES = 2**30


def _looks_like_path(text: str, look_on_disk: bool = True) -> bool:
    """``from`` names a file (not a model such as ``me/pirate:v2``).

    ``look_on_disk=False`` decides from the text alone (a classroom server must not tell a
    client whether some path exists on its disk).
    """
    if text.startswith(("/", "./", "../", "~")) or text.lower().endswith(".gguf"):
        return True
    return look_on_disk and Path(text).is_file()


def _gguf_facts(file: Path) -> dict[str, Any]:
    from labkit import models

    try:
        return models.read_gguf_facts(file)
    except ValueError as exc:
        raise OllamaError(400, str(exc)) from None


def _quantize(source: Path, kind: str, report: Report) -> Path:
    """Quantize an F16/F32 GGUF with llama.cpp into a new blob; returns the blob path."""
    from labkit.engines.llamacpp import quantize

    partial = store.blobs_dir() / f"quantize-{os.getpid()}-{id(report)}.partial"
    report({"status": f"quantizing F16 model to {_QUANT_TYPES[kind]}", "total": source.stat().st_size, "completed": 0})
    try:
        quantize(source, partial, _QUANT_TYPES[kind])
    except RuntimeError:
        raise OllamaError(500, f"llama.cpp could not quantize {source.name} to {_QUANT_TYPES[kind]}") from None
    report({"status": f"quantizing F16 model to {_QUANT_TYPES[kind]}", "total": source.stat().st_size,
            "completed": source.stat().st_size})
    return _store_blob(partial, report)


def _store_blob(file: Path, report: Report, copy_from: Path | None = None) -> Path:
    """Move (or copy from ``copy_from``) a file into the blob store under its sha256."""
    if copy_from is not None:
        digest = hash_with_progress(copy_from, "copying file", report, copy_to=file)
    else:
        digest = hash_with_progress(file, "hashing layer", lambda status: None)
    target = store.blobs_dir() / f"sha256-{digest}"
    if target.exists():
        file.unlink(missing_ok=True)
        report({"status": f"using existing layer sha256:{digest}"})
    else:
        file.replace(target)
        report({"status": f"writing layer sha256:{digest}"})
    return target


async def create(request: Request) -> Response:
    """POST /api/create: a new model from ``from`` (model or GGUF path) or uploaded ``files``."""
    s = "CreateRequest"
    data = await wire.read_json(request, s)
    name = wire.model_name(request, data, s)
    try:
        target = names.parse(name)
    except names.InvalidName:
        raise OllamaError(400, "invalid model name") from None
    source = wire.get(data, "from", str, s, "")
    files = wire.get(data, "files", dict, s, {})
    if not source and not files:
        raise OllamaError(400, "neither 'from' or 'files' was specified")
    template = wire.get(data, "template", str, s)
    if template and templates.is_go_template(template):
        raise OllamaError(400, "this server renders Jinja2 chat templates (like a GGUF's tokenizer.chat_template), "
                               "not Ollama's Go templates")
    system = wire.get(data, "system", str, s)
    license_ = data.get("license")
    if isinstance(license_, list):
        license_ = "\n".join(str(x) for x in license_)
    parameters = wire.get(data, "parameters", dict, s, {})
    try:
        checked = options.check(parameters)
    except OllamaError as exc:
        raise OllamaError(400, exc.message) from None
    messages = wire.get(data, "messages", list, s, [])
    quantize = (wire.get(data, "quantize", str, s, "") or "").lower()
    if quantize and quantize not in _QUANT_TYPES:
        raise OllamaError(400, f"unsupported quantization type {data['quantize']}; use one of "
                               + ", ".join(_QUANT_TYPES.values()))
    streaming = wire.get(data, "stream", bool, s, True)

    base: store.Model | None = None
    source_file: Path | None = None
    remote = classroom.is_remote(request)
    if source and remote and _looks_like_path(source, look_on_disk=False):
        raise OllamaError(403, "this server listens beyond loopback, so it creates models only from uploaded "
                               "files: upload the GGUF with POST /api/blobs/sha256:<digest> (the ollama client's "
                               "create(files=...) does), then create with files. Paths on the server's disk are "
                               "refused whether or not they exist.")
    if source and not _looks_like_path(source, look_on_disk=not remote):
        base = store.find(source) if names.is_valid(source) else None
        if base is None:
            raise OllamaError(404, f'model "{source}" not found')
    elif source:
        source_file = Path(source).expanduser()
        if not source_file.is_file():
            raise OllamaError(400, f"no GGUF file at {source_file}")
    else:
        gguf_digest = next((d for f, d in files.items() if str(f).lower().endswith(".gguf")), None)
        if not isinstance(gguf_digest, str):
            raise OllamaError(400, "files must name a .gguf file and its blob digest (sha256:...)")
        try:
            source_file = store.blob_path(gguf_digest)
        except ValueError:
            raise OllamaError(400, f"invalid digest {gguf_digest!r}") from None
        if not source_file.exists():
            raise OllamaError(400, f"blob {gguf_digest} not found: upload it first with POST /api/blobs/{gguf_digest}")

    def work(report: Report) -> None:
        from labkit import models

        report({"status": "reading model metadata"})
        catalog = base.catalog if base else None
        file: str | None = base.file if base else None
        parent = base.name.short if base else ""
        if source_file is not None:
            report({"status": "parsing GGUF"})
            _gguf_facts(source_file)  # refuses non-GGUF and damaged files with a clear message
            if source_file.parent == store.blobs_dir():
                file = str(source_file)
            else:
                partial = store.blobs_dir() / f"copy-{os.getpid()}-{id(report)}.partial"
                file = str(_store_blob(partial, report, copy_from=source_file))
            catalog = None
        if quantize:
            current = _gguf_facts(Path(file) if file else models.path(catalog)).get("quantization", "")  # type: ignore[arg-type]
            if current.upper() in _FULL_PRECISION:
                f16 = Path(file) if file else models.path(catalog)  # type: ignore[arg-type]
            elif catalog:
                report({"status": f"converting {catalog} to F16 (labkit.models.f16_path)"})
                f16 = models.f16_path(catalog)
            else:
                raise OllamaError(400, "quantization is only supported for F16 and F32 models")
            file = str(_quantize(f16, quantize, report))
            catalog = None
        weights = Path(file) if file else models.path(catalog)  # type: ignore[arg-type]
        facts = _gguf_facts(weights)
        if base is not None and not source_file and not quantize:
            report({"status": f"using existing layer sha256:{base.digest}"})
        merged = dict(base.parameters) if base else {}
        merged.update(checked)
        model = store.Model(
            name=target, catalog=catalog, file=file,
            details=store.details_for(facts["architecture"], facts["parameters"], facts["quantization"], parent),
            size=weights.stat().st_size, digest="", modified_at=store.now_iso(), parameters=merged,
            system=system if system is not None else (base.system if base else None),
            template=template or (base.template if base else None),
            license=license_ or (base.license if base else None),
            messages=messages or (base.messages if base else []),
            context_length=facts["context_length"], parameter_count=facts["parameters"],
        )
        report({"status": "writing manifest"})
        store.save(model)

    return await run_with_progress(request, work, streaming)


async def blob(request: Request) -> Response:
    """HEAD/POST /api/blobs/sha256:<hex>: check for, or upload, a file by its digest."""
    digest = request.path_params["digest"]
    try:
        path = store.blob_path(digest)
    except ValueError:
        raise OllamaError(400, f"invalid digest format: {digest!r}") from None
    if request.method == "HEAD":
        return Response(status_code=200 if path.exists() else 404)
    if path.exists():
        return Response(status_code=200)
    limit = min(MAX_UPLOAD_BYTES, shutil.disk_usage(path.parent).free - KEEP_FREE_BYTES)
    too_large = OllamaError(413, f"upload too large: this server takes files up to {max(limit, 0) / 2**30:.1f} GiB "
                                 "(LABKIT_MAX_UPLOAD_GB, and 1 GiB of its disk kept free)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    # A file of its own for each upload: two clients sending the same blob never write into one
    # file, and a failed or abandoned upload (an error, a client gone) leaves nothing behind.
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f"upload-{path.name[7:19]}-", suffix=".partial")
    partial = Path(name)
    try:
        sha, size = hashlib.sha256(), 0
        with os.fdopen(handle, "wb") as out:
            async for block in request.stream():
                size += len(block)
                if size > limit:
                    raise too_large
                sha.update(block)
                await asyncio.to_thread(out.write, block)
        if f"sha256:{sha.hexdigest()}" != digest.replace("sha256-", "sha256:").lower():
            raise OllamaError(400, "digest mismatch")
        partial.replace(path)  # atomic: a reader sees the whole blob or none
    finally:
        partial.unlink(missing_ok=True)
    uploads = store.root() / "uploads"
    uploads.mkdir(exist_ok=True)
    (uploads / path.name).touch()
    return Response(status_code=201)
