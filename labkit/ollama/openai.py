"""OpenAI-compatible routes: ``/v1/chat/completions``, ``/v1/completions``,
``/v1/embeddings``, ``/v1/models``.

They translate to the same generation and embedding code as the Ollama routes,
as Ollama's own compatibility layer does (temperature and top_p default to
1.0 there, everything else keeps Ollama's defaults; ``num_ctx`` cannot be set
from these routes, only with a model parameter). Streams are Server-Sent
Events ending with ``data: [DONE]``. Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from labkit.ollama import (
    classroom,
    generation,
    grammars,
    hangup,
    options,
    store,
    templates,
    toolcalls,
    wire,
)
from labkit.ollama.errors import OllamaError
from labkit.ollama.runner import Runner
from labkit.ollama.streaming import l2_normalise

_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}


def openai_errors(handler: Any) -> Any:
    """Report errors in OpenAI's shape: ``{"error": {"message", "type", ...}}``."""

    async def route(request: Request) -> Response:
        try:
            return await handler(request)
        except OllamaError as exc:
            return JSONResponse({"error": {"message": exc.message, "type": _ERROR_TYPES.get(exc.status, "api_error"),
                                           "param": None, "code": None}}, status_code=exc.status)

    route.__name__ = handler.__name__
    route.__doc__ = handler.__doc__
    return route


async def _body(request: Request) -> dict[str, Any]:
    body = await wire.capped_body(request)
    try:
        data = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise OllamaError(400, "invalid request body: not JSON") from None
    if not isinstance(data, dict):
        raise OllamaError(400, "invalid request body: expected a JSON object")
    return data


def _options(data: dict[str, Any]) -> dict[str, Any]:
    """OpenAI fields to Ollama options (Ollama's compatibility layer mapping)."""
    raw: dict[str, Any] = {"temperature": data.get("temperature", 1.0), "top_p": data.get("top_p", 1.0)}
    for theirs, ours in (("seed", "seed"), ("frequency_penalty", "frequency_penalty"),
                         ("presence_penalty", "presence_penalty")):
        if data.get(theirs) is not None:
            raw[ours] = data[theirs]
    limit = data.get("max_completion_tokens", data.get("max_tokens"))
    if limit is not None:
        raw["num_predict"] = limit
    stop = data.get("stop")
    if stop is not None:
        raw["stop"] = [stop] if isinstance(stop, str) else stop
    try:
        return options.check(raw)
    except OllamaError as exc:
        raise OllamaError(400, exc.message) from None


def _format(data: dict[str, Any]) -> Any:
    fmt = data.get("response_format") or {}
    if fmt.get("type") == "json_object":
        return "json"
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema") or "json"
    return None


def _text(content: Any) -> str:
    """Message content: a string, or a list of parts whose text parts are joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            elif isinstance(part, dict) and part.get("type") == "image_url":
                raise OllamaError(400, "images are not supported by this text-only model")
        return "\n".join(parts)
    raise OllamaError(400, "invalid message content type")


def _messages(data: dict[str, Any]) -> list[dict[str, Any]]:
    raw = data.get("messages")
    if not isinstance(raw, list) or not raw:
        raise OllamaError(400, "[] is too short - 'messages'")
    out = []
    for m in raw:
        if not isinstance(m, dict):
            raise OllamaError(400, "invalid message")
        role = "system" if m.get("role") == "developer" else str(m.get("role", "user"))
        msg: dict[str, Any] = {"role": role, "content": _text(m.get("content"))}
        if m.get("tool_calls"):
            msg["tool_calls"] = [
                {"function": {"name": c["function"]["name"],
                              "arguments": _json_args(c["function"].get("arguments", {}))}}
                for c in m["tool_calls"]
            ]
        out.append(msg)
    return out


def _json_args(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except json.JSONDecodeError:
            return {}
    return arguments


async def _start(request: Request, data: dict[str, Any], build_factory: Any,
                 tools: grammars.Tools | None = None) -> tuple[generation.Running, str]:
    name = data.get("model")
    if not isinstance(name, str) or not name:
        raise OllamaError(400, "model is required")
    request.state.model = name
    model = generation.find_model(name, lambda n: OllamaError(404, f"model \"{n}\" not found, try pulling it first"))
    info = await generation.model_facts(model)
    opts = options.merge(_options(data), model.parameters)
    keep_alive = options.default_keep_alive()
    req = generation.GenerationRequest(model, info, opts, keep_alive, build_factory(model, info), _format(data),
                                       client=classroom.client_of(request), tools=tools)
    return await hangup.unless_gone(request, generation.start(request.app.state.scheduler, req)), name


def _usage(outcome: Any) -> dict[str, int]:
    return {"prompt_tokens": outcome.prompt_eval_count, "completion_tokens": outcome.eval_count,
            "total_tokens": outcome.prompt_eval_count + outcome.eval_count}


def _sse(objects: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
    async def lines() -> AsyncIterator[bytes]:
        try:
            async for obj in objects:
                yield f"data: {json.dumps(obj, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()
        except OllamaError as exc:
            yield f"data: {json.dumps({'error': {'message': exc.message, 'type': 'api_error'}})}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(lines(), media_type="text/event-stream")


# ---- /v1/chat/completions -------------------------------------------------------------------

def _tool_choice(tools: list[dict[str, Any]], choice: Any) -> tuple[list[dict[str, Any]], grammars.Tools | None]:
    """OpenAI's ``tool_choice`` as a grammar: "none" drops the tools, "auto" (default) lets a started
    call be only well-formed, "required" or a named function makes the answer a call."""
    if choice in (None, "auto"):
        forced, only = False, None
    elif choice == "none":
        return [], None
    elif choice == "required":
        forced, only = True, None
    elif isinstance(choice, dict) and isinstance((choice.get("function") or {}).get("name"), str):
        forced, only = True, choice["function"]["name"]
    else:
        raise OllamaError(400, f"invalid tool_choice: {json.dumps(choice)}; use \"none\", \"auto\", \"required\" "
                               "or {\"type\": \"function\", \"function\": {\"name\": ...}}")
    if not isinstance(tools, list):
        raise OllamaError(400, "invalid tools: expected a list of {\"type\": \"function\", \"function\": {...}}")
    return tools, grammars.Tools(tools, forced, only)  # parsed before admission (labkit.ollama.grammars)


async def _chat_completions(request: Request) -> Response:
    data = await _body(request)
    messages = _messages(data)
    tools = data.get("tools") or []
    spec = None
    if tools:
        tools, spec = _tool_choice(tools, data.get("tool_choice"))
    streaming = bool(data.get("stream", False))
    include_usage = bool((data.get("stream_options") or {}).get("include_usage"))

    def factory(model: store.Model, info: generation.Facts) -> Any:
        if tools and "tools" not in info.capabilities:
            raise OllamaError(400, f"{model.name.full} does not support tools")
        all_messages = [dict(m) for m in model.messages] + messages
        if model.system and all_messages[0]["role"] != "system":
            all_messages.insert(0, {"role": "system", "content": model.system})

        def build(runner: Runner, opts: dict[str, Any]) -> list[int]:
            return generation.chat_tokens(runner, info.template, all_messages, tools, opts)

        return build

    running, name = await _start(request, data, factory, spec)
    events = toolcalls.split_events(running.events, toolcalls.tool_names(tools)) if tools else running.events
    ident, created = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time())
    base = {"id": ident, "created": created, "model": name, "system_fingerprint": "fp_ollama"}

    def openai_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": c["id"], "index": i, "type": "function",
                 "function": {"name": c["function"]["name"], "arguments": json.dumps(c["function"]["arguments"])}}
                for i, c in enumerate(calls)]

    if streaming:
        async def chunks() -> AsyncIterator[dict[str, Any]]:
            called = False
            async for event in events:
                if event.kind in ("text", "tools"):
                    delta: dict[str, Any] = {"role": "assistant", "content": event.text}
                    if event.calls:
                        delta["tool_calls"] = openai_calls(event.calls)
                        called = True
                    yield {**base, "object": "chat.completion.chunk",
                           "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                elif event.kind == "done":
                    assert event.outcome is not None
                    generation.note_usage(request, event)
                    reason = "tool_calls" if called else event.outcome.done_reason
                    yield {**base, "object": "chat.completion.chunk",
                           "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                        "finish_reason": reason}]}
                    if include_usage:
                        yield {**base, "object": "chat.completion.chunk", "choices": [],
                               "usage": _usage(event.outcome)}
                else:
                    raise OllamaError(500, event.error)

        return _sse(chunks())

    async def collect() -> Response:
        parts: list[str] = []
        calls: list[dict[str, Any]] = []
        async for event in events:
            if event.kind in ("text", "tools"):
                parts.append(event.text)
                calls.extend(event.calls or [])
            elif event.kind == "error":
                raise OllamaError(event.status, event.error)
            else:
                assert event.outcome is not None
                generation.note_usage(request, event)
                message: dict[str, Any] = {"role": "assistant", "content": "".join(parts)}
                if calls:
                    message["tool_calls"] = openai_calls(calls)
                reason = "tool_calls" if calls else event.outcome.done_reason
                return JSONResponse({**base, "object": "chat.completion",
                                     "choices": [{"index": 0, "message": message, "finish_reason": reason}],
                                     "usage": _usage(event.outcome)})
        raise OllamaError(500, "generation ended without a result")

    return await hangup.unless_gone(request, collect())


# ---- /v1/completions ---------------------------------------------------------------------------

async def _completions(request: Request) -> Response:
    data = await _body(request)
    prompt = data.get("prompt", "")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise OllamaError(400, "prompt must be a string")
    streaming = bool(data.get("stream", False))
    include_usage = bool((data.get("stream_options") or {}).get("include_usage"))

    def factory(model: store.Model, info: generation.Facts) -> Any:
        def build(runner: Runner, opts: dict[str, Any]) -> list[int]:
            if info.template:
                messages = [{"role": "system", "content": model.system}] if model.system else []
                messages.append({"role": "user", "content": prompt})
                text = templates.render_chat(info.template, messages, None, runner.bos_text, runner.eos_text)
                tokens = runner.tokenize(text, add_bos=not (runner.bos_text and text.startswith(runner.bos_text)))
            else:
                tokens = runner.tokenize(prompt)
            return generation.fit_to_context(tokens, opts, runner.n_ctx)

        return build

    running, name = await _start(request, data, factory)
    ident, created = f"cmpl-{uuid.uuid4().hex[:12]}", int(time.time())
    base = {"id": ident, "created": created, "model": name, "system_fingerprint": "fp_ollama",
            "object": "text_completion"}
    if streaming:
        async def chunks() -> AsyncIterator[dict[str, Any]]:
            async for event in running.events:
                if event.kind == "text":
                    yield {**base, "choices": [{"index": 0, "text": event.text, "finish_reason": None}]}
                elif event.kind == "done":
                    assert event.outcome is not None
                    generation.note_usage(request, event)
                    yield {**base, "choices": [{"index": 0, "text": "", "finish_reason": event.outcome.done_reason}]}
                    if include_usage:
                        yield {**base, "choices": [], "usage": _usage(event.outcome)}
                else:
                    raise OllamaError(500, event.error)

        return _sse(chunks())
    async def collect() -> Response:
        parts: list[str] = []
        async for event in running.events:
            if event.kind == "text":
                parts.append(event.text)
            elif event.kind == "error":
                raise OllamaError(event.status, event.error)
            else:
                assert event.outcome is not None
                generation.note_usage(request, event)
                return JSONResponse({**base, "choices": [{"index": 0, "text": "".join(parts),
                                                          "finish_reason": event.outcome.done_reason}],
                                     "usage": _usage(event.outcome)})
        raise OllamaError(500, "generation ended without a result")

    return await hangup.unless_gone(request, collect())


# ---- /v1/embeddings and /v1/models -----------------------------------------------------------------

async def _embeddings(request: Request) -> Response:
    data = await _body(request)
    name = data.get("model")
    if not isinstance(name, str) or not name:
        raise OllamaError(400, "model is required")
    raw = data.get("input")
    if isinstance(raw, str):
        texts = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(t, str) for t in raw):
        texts = list(raw)
    else:
        raise OllamaError(400, "invalid input type: give a string or a list of strings")
    vectors, count, _ = await generation.run_embedding(request, name, texts, None, None, True)
    dims = data.get("dimensions")
    if isinstance(dims, int) and dims > 0:
        vectors = [l2_normalise(v[:dims]) for v in vectors]
    return JSONResponse({"object": "list", "model": name,
                         "data": [{"object": "embedding", "embedding": v, "index": i} for i, v in enumerate(vectors)],
                         "usage": {"prompt_tokens": count, "total_tokens": count}})


def _model_entry(model: store.Model) -> dict[str, Any]:
    from datetime import datetime

    created = int(datetime.fromisoformat(model.modified_at).timestamp())
    owner = model.name.namespace
    return {"id": model.name.short, "object": "model", "created": created, "owned_by": owner}


async def _list_models(request: Request) -> Response:
    return JSONResponse({"object": "list", "data": [_model_entry(m) for m in store.list_models()]})


async def _retrieve_model(request: Request) -> Response:
    name = request.path_params["model"]
    model = generation.find_model(name, lambda n: OllamaError(404, f'model "{n}" not found'))
    return JSONResponse(_model_entry(model))


chat_completions = openai_errors(_chat_completions)
completions = openai_errors(_completions)
embeddings = openai_errors(_embeddings)
list_models = openai_errors(_list_models)
retrieve_model = openai_errors(_retrieve_model)
