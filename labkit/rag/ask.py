"""``labkit ask``: a folder of your own documents, indexed on disk, answered by a local model.

The pieces, each a real LangChain object from its own module: the folder read into chunks
(:mod:`labkit.rag.folder`), all-MiniLM-L6-v2 embeddings and a ``QdrantVectorStore`` on disk
(:mod:`labkit.rag.store`), kept in step with the folder by content hash (:mod:`labkit.rag.sync`),
and the grounded LCEL chain (:mod:`labkit.rag.grounded`) on ``ChatOllama``. This module only joins
them, for the command and for notebooks/07_private_assistant alike.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from labkit.rag import folder as folders
from labkit.rag import grounded, store
from labkit.rag.sync import Synced, sync

DEFAULT_MODEL = "qwen2.5-coder:0.5b"
CHUNK_SIZE, OVERLAP = 800, 100


def index_folder() -> Path:
    """Where ``labkit ask`` keeps its Qdrant collections: ``$LABKIT_HOME/rag/ask``."""
    from labkit.models import store_root

    return store_root() / "rag" / "ask"


def collection_name(docs: Path) -> str:
    """One collection per documents folder (by its absolute path), embedding model and chunking."""
    root = Path(docs).expanduser().resolve()
    slug = re.sub(r"[^a-z0-9]+", "-", root.name.lower()).strip("-")[:24] or "docs"
    return f"{slug}-{hashlib.sha256(str(root).encode()).hexdigest()[:10]}-minilm-c{CHUNK_SIZE}-o{OVERLAP}"


def index(docs: str | Path | folders.Folder, where: Path | None = None, progress: bool = True) -> tuple[Any, Synced]:
    """``(QdrantVectorStore, what changed)`` for the folder ``docs``, embedding only new or changed files."""
    files = docs if isinstance(docs, folders.Folder) else folders.read(docs)
    vector_store = store.open_store(store.client(where or index_folder()), collection_name(files.root),
                                    store.embeddings("minilm"))
    return vector_store, sync(vector_store, files, CHUNK_SIZE, OVERLAP, progress=progress)


def connect(model: str, host: str) -> str:
    """The base URL of the Ollama API at ``host``, checked to answer and to have ``model``.

    ``labkit ask`` passes ``--host``, or the server :func:`labkit.ollama.ensure_server` found or
    started. Nothing is pulled: a model the server lacks is an error.
    """
    import httpx
    import ollama

    from labkit.engines.builders import ollama_base_url

    url = ollama_base_url(host if "://" in host else f"http://{host}")
    client = ollama.Client(host=url, timeout=30)
    try:
        client.show(model)
    except ollama.ResponseError as err:
        if err.status_code == 404:
            raise LookupError(f"unknown model {model!r} on {url} (`labkit models list` names the kit's; "
                              f"on a real Ollama, `ollama pull {model}`)") from None
        raise RuntimeError(f"the server at {url} answered {err.status_code}: {err.error}") from None
    except (httpx.HTTPError, ConnectionError, OSError):
        raise RuntimeError(f"no Ollama API answers at {url}: start one with `labkit serve` or `ollama serve`") from None
    return url


def ask(question: str, docs: str | Path | folders.Folder, host: str, model: str = DEFAULT_MODEL, k: int = 3,
        where: Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Index ``docs`` (only what changed), retrieve ``k`` chunks, answer with ``model`` and cite.

    Returns ``{"answer", "answered", "sources", "prompt_tokens", "retrieved", "index"}``.
    """
    import httpx

    if k < 1:
        raise ValueError(f"-k must be at least 1, not {k}")
    files = docs if isinstance(docs, folders.Folder) else folders.read(docs)  # fails before anything loads
    url = connect(model, host)
    vector_store, synced = index(files, where, progress)
    chain = grounded.build(vector_store, grounded.chat_model(model, base_url=url), k=k)
    try:
        reply = chain.invoke(question)
    except (httpx.HTTPError, ConnectionError) as err:
        raise RuntimeError(f"the Ollama API at {url} stopped answering: {err}") from None
    return {**reply, "index": synced}
