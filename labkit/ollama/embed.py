"""``/api/embed`` and the older ``/api/embeddings``.

A chat GGUF has no pooling layer, so its runner is loaded in embedding mode
with mean pooling: the vector of a text is the average of its token vectors.
``/api/embed`` returns L2-normalised vectors (as Ollama does, so a dot product
is a cosine similarity); ``/api/embeddings`` returns them unnormalised.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkit.ollama import classroom, generation, options, wire
from labkit.ollama.errors import OllamaError, model_not_found


async def run_embedding(request: Request, name: str, texts: list[str], raw_options: Any, keep_alive_raw: Any,
                        normalize: bool, truncate: bool = True) -> tuple[list[list[float]], int, int]:
    """Vectors, token count and load_duration (ns) for ``texts`` with model ``name``."""
    request.state.model = name
    model = generation.find_model(name, model_not_found)
    info = await generation.model_facts(model)
    opts = options.merge(raw_options, model.parameters)
    keep_alive = options.keep_alive(keep_alive_raw)
    settings = generation.load_settings(info, opts, embedding=True)
    scheduler = request.app.state.scheduler
    lease = await scheduler.acquire(model, settings, keep_alive, classroom.client_of(request))
    try:
        if not texts:
            return [], 0, lease.load_duration
        loop = asyncio.get_running_loop()
        vectors, count = await loop.run_in_executor(
            generation.executor, lease.runner.embed, texts, normalize, truncate)
    finally:
        scheduler.release(lease, keep_alive)
    return vectors, count, lease.load_duration


async def embed(request: Request) -> Response:
    """POST /api/embed: normalised vectors for one text or a list of texts."""
    started = time.perf_counter()
    s = "EmbedRequest"
    data = await wire.read_json(request, s)
    name = wire.get(data, "model", str, s, "")
    if not name.strip():
        raise OllamaError(400, "model is required")
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
    vectors, count, load_ns = await run_embedding(request, name, texts, data.get("options"),
                                                  data.get("keep_alive"), True, truncate)
    if dimensions:
        vectors = [renormalise(v[:dimensions]) for v in vectors]
    if not texts:
        return wire.reply({"model": name, "embeddings": []})
    return wire.reply({"model": name, "embeddings": vectors,
                       "total_duration": int((time.perf_counter() - started) * 1e9),
                       "load_duration": load_ns, "prompt_eval_count": count})


async def embeddings(request: Request) -> Response:
    """POST /api/embeddings (older API): one unnormalised vector for ``prompt``."""
    s = "EmbeddingRequest"
    data = await wire.read_json(request, s)
    name = wire.get(data, "model", str, s, "")
    if not name.strip():
        raise OllamaError(400, "model is required")
    prompt = wire.get(data, "prompt", str, s, "")
    vectors, _, _ = await run_embedding(request, name, [prompt] if prompt else [], data.get("options"),
                                        data.get("keep_alive"), False)
    return wire.reply({"embedding": vectors[0] if vectors else []})


def renormalise(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm > 0 else vector
