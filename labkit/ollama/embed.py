"""``/api/embed`` and the older ``/api/embeddings``.

A chat GGUF has no pooling layer, so its runner is loaded in embedding mode
with mean pooling: the vector of a text is the average of its token vectors.
``/api/embed`` returns L2-normalised vectors (as Ollama does, so a dot product
is a cosine similarity); ``/api/embeddings`` returns them unnormalised.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from labkit.ollama import generation, wire
from labkit.ollama.errors import OllamaError
from labkit.ollama.streaming import l2_normalise


async def embed(request: Request) -> Response:
    """POST /api/embed: normalised vectors for one text or a list of texts."""
    started = time.perf_counter()
    s = "EmbedRequest"
    data = await wire.read_json(request, s)
    name = wire.model_name(request, data, s)
    raw_input = data.get("input")
    if raw_input is None or raw_input == "":
        texts: list[str] = []
    elif isinstance(raw_input, str):
        texts = [raw_input]
    elif isinstance(raw_input, list) and all(isinstance(t, str) for t in raw_input):
        texts = list(raw_input)
    else:
        raise OllamaError(400, "invalid input type")
    truncate = wire.get(data, "truncate", bool, s, True)
    dimensions = wire.get(data, "dimensions", int, s, 0)
    if dimensions < 0:
        raise OllamaError(400, "dimensions must be a positive number")
    vectors, count, load_ns = await generation.run_embedding(request, name, texts, data.get("options"),
                                                  data.get("keep_alive"), True, truncate)
    if dimensions:
        vectors = [l2_normalise(v[:dimensions]) for v in vectors]
    if not texts:
        return wire.reply({"model": name, "embeddings": []})
    return wire.reply({"model": name, "embeddings": vectors,
                       "total_duration": int((time.perf_counter() - started) * 1e9),
                       "load_duration": load_ns, "prompt_eval_count": count})


async def embeddings(request: Request) -> Response:
    """POST /api/embeddings (older API): one unnormalised vector for ``prompt``."""
    s = "EmbeddingRequest"
    data = await wire.read_json(request, s)
    name = wire.model_name(request, data, s)
    prompt = wire.get(data, "prompt", str, s, "")
    vectors, _, _ = await generation.run_embedding(request, name, [prompt] if prompt else [], data.get("options"),
                                        data.get("keep_alive"), False)
    return wire.reply({"embedding": vectors[0] if vectors else []})
