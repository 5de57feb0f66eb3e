"""Finding a model's file by name, verified, and building it first if it is made of chunks.

Three kinds of entry, told apart by the catalog, never by the model's name:

* a file inside an installed package (``module``): checked where it lies;
* pieces spread over several packages (``chunked``): joined into the store once, then checked.
  The pieces are either the ``chunk_paths()`` of one package (Gemma) or one piece per package,
  each package's ``get_part_path()`` (``parts``, Qwen); both are joined by the same code;
* a model you registered (``source``): checked where you keep it.

A file whose sha256 does not match is rebuilt (chunks) or reported with the command
that fixes it; it is never loaded. Introduced in notebooks/00_start_here.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from labkit.models.catalog import CorruptModelError, ModelInfo
from labkit.models.files import building, is_verified, store_root
from labkit.models.registry import info


def _package_dir(module: str) -> Path | None:
    """A package's folder, found without importing it (importing may be slow)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _where(entry: ModelInfo) -> Path | None:
    """Where the verified file of ``entry`` lives (or will live); None if its package is missing."""
    if entry.source:
        return Path(entry.source)
    if entry.chunked:
        return store_root() / "models" / entry.file_name
    folder = _package_dir(entry.module or "")
    return folder / entry.file_name if folder else None


def _packaged(entry: ModelInfo) -> Path:
    file = _where(entry)
    if file is None:
        raise FileNotFoundError(f"{entry.name} needs the package {entry.package}: run `{entry.reinstall}`.")
    if not is_verified(file, entry.sha256, entry.size):
        raise CorruptModelError(
            f"{file} is missing, truncated or corrupted (sha256 does not match {entry.sha256[:12]}...). "
            f"Reinstall the package that ships it: `{entry.reinstall}`."
        )
    return file


def _assembled(entry: ModelInfo) -> Path:
    target = store_root() / "models" / entry.file_name
    with building(target):
        if is_verified(target, entry.sha256, entry.size):
            return target
        if target.exists():
            print(f"{target} does not match its sha256; rebuilding it from the package chunks.")
            target.unlink()
        _join_chunks(entry, target)
        if not is_verified(target, entry.sha256, entry.size):
            target.unlink(missing_ok=True)
            raise CorruptModelError(f"the chunks of {entry.name} do not join into the expected file. "
                                    f"Reinstall them: `{entry.reinstall}`.")
    return target


def _chunk_modules(entry: ModelInfo) -> tuple[str, ...]:
    """The packages whose files make up a chunked entry: its ``parts``, or the one ``module``."""
    return entry.parts or ((entry.module,) if entry.module else ())


def _chunks_installed(entry: ModelInfo) -> bool:
    """Whether every package holding a piece of ``entry`` is installed (found without importing it)."""
    modules = _chunk_modules(entry)
    return bool(modules) and all(importlib.util.find_spec(m) is not None for m in modules)


def _chunk_files(entry: ModelInfo) -> list[Path]:
    """The pieces of a chunked entry, in the order they are joined; each one checked to exist."""
    try:
        if entry.parts:  # one piece per package
            chunks = [Path(importlib.import_module(m).get_part_path()) for m in entry.parts]
        else:            # one package that lists the pieces of its own chunk packages
            chunks = [Path(c) for c in importlib.import_module(entry.module or "").chunk_paths()]
    except ImportError as err:
        raise FileNotFoundError(f"{entry.name} needs its chunk packages ({err}). Run `{entry.reinstall}`.") from err
    missing = [str(c) for c in chunks if not c.is_file()]
    if missing:
        raise FileNotFoundError(f"{entry.name}: chunk files missing ({', '.join(missing)}). Run `{entry.reinstall}`.")
    return chunks


def _join_chunks(entry: ModelInfo, target: Path) -> None:
    """Join a chunked entry's pieces into one GGUF, with a progress bar."""
    from tqdm.auto import tqdm

    chunks = _chunk_files(entry)
    total = sum(c.stat().st_size for c in chunks)
    if total != entry.size:  # caught before writing hundreds of MB
        raise CorruptModelError(f"the chunks of {entry.name} add up to {total:,} bytes, not {entry.size:,}. "
                                f"Reinstall them: `{entry.reinstall}`.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as out, tqdm(total=total, unit="B", unit_scale=True,
                                         desc=f"assembling {target.name}") as bar:
        for chunk in chunks:
            with chunk.open("rb") as handle:
                while block := handle.read(1 << 22):
                    out.write(block)
                    bar.update(len(block))
    partial.replace(target)


def _registered_file(entry: ModelInfo) -> Path:
    file = Path(entry.source)
    if not file.exists():
        raise FileNotFoundError(
            f"{entry.name} was registered from {file}, which no longer exists. "
            f"Register it again: labkit.models.register(new_path, name={entry.name!r}, replace=True)."
        )
    if not is_verified(file, entry.sha256, entry.size):
        raise CorruptModelError(
            f"{file} changed since it was registered as {entry.name} (sha256 differs). "
            f"If the new file is what you want: labkit.models.register({str(file)!r}, "
            f"name={entry.name!r}, replace=True)."
        )
    return file


def path(name: str) -> Path:
    """A verified local GGUF file for ``name``; builds it on first use.

    Raises :class:`UnknownModelError` for a name the store does not know and
    :class:`CorruptModelError` (saying what to do) for a file that fails its
    sha256 check.
    """
    entry = info(name)
    if entry.source:
        return _registered_file(entry)
    return _assembled(entry) if entry.chunked else _packaged(entry)


def status(name: str) -> str:
    """One word about a model's file, without building anything: ok, missing, corrupt or not assembled
    (its chunk packages are installed; the file is joined on first use)."""
    entry = info(name)
    file = _where(entry)
    if file is None or not file.exists():
        return "not assembled" if entry.chunked and _chunks_installed(entry) else "missing"
    return "ok" if is_verified(file, entry.sha256, entry.size) else "corrupt"
