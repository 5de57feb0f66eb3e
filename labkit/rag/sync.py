"""Keep a Qdrant collection in step with a folder: embed only what changed.

Each chunk's metadata holds its file's path and the sha256 of the file's content
(:mod:`labkit.rag.folder`). :func:`sync` reads which ``(path, sha256)`` pairs the collection
already holds, embeds the files that are new or whose content changed (a progress bar while it
does), drops the chunks of changed and removed files, and leaves the rest alone: a second
``labkit ask`` on the same folder embeds nothing. Introduced in notebooks/07_private_assistant;
``labkit ask`` uses it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

from labkit.rag.folder import Folder, split


@dataclass(frozen=True)
class Synced:
    """What :func:`sync` did: files embedded, kept as they were, dropped; seconds spent embedding."""

    embedded: list[str]
    kept: list[str]
    removed: list[str]
    seconds: float

    def __str__(self) -> str:
        return (f"index: {len(self.embedded)} file(s) embedded, {len(self.kept)} unchanged, "
                f"{len(self.removed)} removed ({self.seconds:.1f} s)")


def indexed_files(vector_store: Any) -> dict[str, str]:
    """``{path: sha256}`` of the files a ``QdrantVectorStore``'s collection holds chunks of."""
    held: dict[str, str] = {}
    offset = None
    key = vector_store.metadata_payload_key
    while True:
        points, offset = vector_store.client.scroll(vector_store.collection_name, limit=512, offset=offset,
                                                    with_payload=[key], with_vectors=False)
        for point in points:
            meta = (point.payload or {}).get(key) or {}
            if "note_id" in meta:
                held[meta["note_id"]] = meta.get("sha256", "")
        if offset is None:
            return held


def drop(vector_store: Any, paths: list[str]) -> None:
    """Delete every chunk of ``paths`` from the collection."""
    from qdrant_client import models

    if not paths:
        return
    key = f"{vector_store.metadata_payload_key}.note_id"
    selector = models.Filter(must=[models.FieldCondition(key=key, match=models.MatchAny(any=paths))])
    vector_store.client.delete(vector_store.collection_name, points_selector=selector)


def sync(vector_store: Any, folder: Folder, chunk_size: int = 800, overlap: int = 100,
         progress: bool = True) -> Synced:
    """Make the collection hold exactly ``folder``'s files, embedding only new or changed ones."""
    from tqdm.auto import tqdm

    held = indexed_files(vector_store)
    digests = {path: folder.digest(path) for path in folder.texts}
    changed = [path for path, digest in digests.items() if held.get(path) != digest]
    removed = [path for path in held if path not in digests]
    drop(vector_store, removed + [path for path in changed if path in held])
    started = time.perf_counter()
    for path in tqdm(changed, desc="indexing", unit="file", file=sys.stderr, disable=not progress or not changed):
        pieces = split({path: folder.texts[path]}, chunk_size, overlap, extra={path: {"sha256": digests[path]}})
        vector_store.add_documents(pieces)
    kept = [path for path in digests if path not in changed]
    return Synced(changed, kept, removed, time.perf_counter() - started)
