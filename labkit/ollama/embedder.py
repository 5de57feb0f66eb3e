"""A model loaded for ``/api/embed``: one vector per text.

Embeddings need no sampling and no batching across requests: the whole text goes through the
model in one batch and the token vectors are pooled (averaged for a chat model). Introduced in
notebooks/02_ollama; used by ``OllamaEmbeddings`` in notebooks/07.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from labkit.ollama.jobs import LoadSettings
from labkit.ollama.loaded import LoadedFile
from labkit.ollama.streaming import l2_normalise


class EmbeddingRunner(LoadedFile):
    """A model loaded for ``/api/embed``: one text at a time, the whole text in one batch."""

    def __init__(self, settings: LoadSettings) -> None:
        import llama_cpp

        from labkit.engines.llamacpp import load

        self.settings = settings
        started = time.perf_counter()
        kwargs: dict[str, Any] = {}
        if not _has_pooling(settings.path):
            # A chat model has no pooling of its own: average the token vectors.
            kwargs["pooling_type"] = llama_cpp.LLAMA_POOLING_TYPE_MEAN
        self.llm = load(settings.path, n_ctx=settings.num_ctx, n_batch=settings.num_batch, n_ubatch=settings.num_batch,
                        n_threads=settings.num_thread, n_threads_batch=settings.num_thread, n_gpu_layers=0,
                        embedding=True, **kwargs)
        self.load_seconds = time.perf_counter() - started
        self.n_ctx = self.llm.n_ctx()
        self._facts()

    def embed(self, texts: list[str], normalize: bool, truncate: bool) -> tuple[list[list[float]], int]:
        """One vector per text (mean of token vectors for chat models) and the token count.

        Texts longer than the context are cut to fit (Ollama's ``truncate: true``);
        with ``truncate: false`` they are refused, as Ollama does.
        """
        limit = self.llm.n_batch  # an embedding runner is loaded with n_batch == n_ctx
        counts = [len(self.llm.tokenize(t.encode("utf-8"))) for t in texts]
        if not truncate and any(c > limit for c in counts):
            from labkit.ollama.errors import OllamaError

            raise OllamaError(400, "the input length exceeds the context length")
        vectors = [self.llm.embed(t, normalize=False, truncate=True) for t in texts]
        out = [l2_normalise(v) if normalize else [float(x) for x in v] for v in vectors]
        return out, sum(min(c, limit) for c in counts)

    def close(self) -> None:
        self.llm.close()


def _has_pooling(path: str) -> bool:
    """True if the GGUF declares a pooling type (a real embedding model)."""
    from labkit.ollama.metadata import gguf_metadata

    return any(key.endswith(".pooling_type") for key in gguf_metadata(Path(path)))
