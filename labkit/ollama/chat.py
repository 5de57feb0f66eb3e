"""``/api/generate`` and ``/api/chat``: Ollama's two text endpoints.

Both stream NDJSON by default (``"stream": false`` gives one JSON object); the
last line has ``done: true``, ``done_reason`` and the metrics in nanoseconds.
An empty prompt (or empty ``messages``) only loads the model
(``done_reason: "load"``), or unloads it with ``keep_alive: 0``.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkit.ollama import classroom, generation, grammars, hangup, options, sandbox, templates, toolcalls, wire
from labkit.ollama.errors import OllamaError
from labkit.ollama.generation import Event, Facts
from labkit.ollama.runner import Runner
from labkit.ollama.store import Model

log = logging.getLogger("labkit.ollama")


# ---- shared checks ------------------------------------------------------------------------

def _check_think(data: dict[str, Any], model_name: str, info: Facts) -> None:
    think = data.get("think")
    if think is None or think is False:
        return
    if not isinstance(think, (bool, str)) or (isinstance(think, str) and think not in ("low", "medium", "high")):
        raise OllamaError(400, f"invalid think value: {think!r}")
    if "thinking" not in info.capabilities:
        raise OllamaError(400, f'"{model_name}" does not support thinking')


def _check_logprobs(data: dict[str, Any], struct: str) -> tuple[bool, int]:
    logprobs = wire.get(data, "logprobs", bool, struct, False)
    top = wire.get(data, "top_logprobs", int, struct, 0)
    if top < 0 or top > 20:
        raise OllamaError(400, "top_logprobs must be between 0 and 20")
    return logprobs or top > 0, top


def _check_context(context: list[Any]) -> list[int]:
    """``context`` (a reply's token ids, sent back to continue): whole numbers only, or a 400."""
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in context):
        raise OllamaError(400, "json: cannot unmarshal into Go struct field GenerateRequest.context of type int "
                               "(context is a list of token ids, as a previous reply returned it)")
    return context


def _check_truncate(data: dict[str, Any], struct: str) -> bool:
    """Ollama's ``truncate`` (default true: cut a prompt that does not fit) and ``shift``.

    ``shift`` (move the context along while generating) is accepted and has no effect here:
    llama-cpp-python cannot shift, so the kit leaves room for the answer instead.
    """
    wire.get(data, "shift", bool, struct, True)
    return bool(wire.get(data, "truncate", bool, struct, True))


async def _prepare(request: Request, data: dict[str, Any], struct: str, name: str) -> tuple[Model, Facts, dict[str, Any], float]:
    request.state.model = name
    model = generation.find_model(name)
    info = await generation.model_facts(model)
    if "completion" not in info.capabilities:
        what = "generate" if struct == "GenerateRequest" else "chat"
        raise OllamaError(400, f'"{name}" does not support {what}')
    keep_alive = options.keep_alive(data.get("keep_alive"))
    opts = classroom.held_load_options(request, options.merge(data.get("options"), model.parameters),
                                       model.parameters)
    options.json_schema_of(data.get("format"))  # invalid formats fail before anything loads
    return model, info, opts, keep_alive


async def _load_or_unload(request: Request, model: Model, info: Facts, opts: dict[str, Any],
                          keep_alive: float, name: str, chat: bool) -> Response:
    scheduler = request.app.state.scheduler
    body: dict[str, Any] = {"model": name, "created_at": wire.now()}
    if chat:
        body["message"] = {"role": "assistant", "content": ""}
    else:
        body["response"] = ""
    body["done"] = True
    if keep_alive == 0:
        if not classroom.is_instructor(request):
            raise OllamaError(403, "only the instructor can unload models on this classroom server: the room "
                                   "shares them (leave keep_alive out)")
        await scheduler.unload_model(model)
        body["done_reason"] = "unload"
    else:
        keep_alive = classroom.held_keep_alive(request, keep_alive)
        settings = generation.load_settings(info, opts, slots=scheduler.num_parallel)  # as a request loads it
        body["load_duration"] = await scheduler.load_only(model, settings, keep_alive)
        body["done_reason"] = "load"
    return wire.reply(body)


# ---- /api/generate -------------------------------------------------------------------------

async def generate(request: Request) -> Response:
    """POST /api/generate: complete a prompt (templated unless ``raw``)."""
    s = "GenerateRequest"
    data = await wire.read_json(request, s)
    name = wire.model_name(request, data, s, missing=(404, "model '' not found"))
    prompt = wire.get(data, "prompt", str, s, "")
    system = wire.get(data, "system", str, s)
    raw = wire.get(data, "raw", bool, s, False)
    suffix = wire.get(data, "suffix", str, s, "")
    images = wire.get(data, "images", list, s, [])
    context = _check_context(wire.get(data, "context", list, s, []))
    streaming = wire.get(data, "stream", bool, s, True)
    template = wire.get(data, "template", str, s)
    truncate = _check_truncate(data, s)
    logprobs, top_logprobs = _check_logprobs(data, s)

    model, info, opts, keep_alive = await _prepare(request, data, s, name)
    _check_think(data, name, info)
    if images and "vision" not in info.capabilities:
        raise OllamaError(400, f"{model.name.full} does not support vision (images need a multimodal model)")
    if suffix and "insert" not in info.capabilities:
        raise OllamaError(400, f"{model.name.full} does not support insert")
    if template and templates.is_go_template(template):
        raise OllamaError(400, "this server renders Jinja2 chat templates only, not Go templates")
    if not prompt and not suffix and not context:
        return await _load_or_unload(request, model, info, opts, keep_alive, name, chat=False)
    if context:  # checked before the reply starts, so that a streamed request gets its 400 too
        n_vocab = await asyncio.to_thread(grammars.vocab_size, info.path)
        outside = [t for t in context if not 0 <= t < n_vocab]
        if outside:  # llama.cpp would refuse the whole batch (the runner then finds whose token it was)
            raise OllamaError(400, f"context holds token ids outside this model's vocabulary (0 to "
                                   f"{n_vocab - 1}): {outside[:5]}; send the context a reply of this model gave")
    keep_alive = classroom.held_keep_alive(request, keep_alive)

    chat_template = template or info.template
    system_text = system if system is not None else model.system
    rendered = None
    if template and not raw and not suffix:  # the request's own template: see labkit.ollama.sandbox
        if classroom.is_remote(request):
            raise OllamaError(400, "this classroom server does not render a template sent with a request: leave "
                                   "template out, or ask your instructor to create a model with it (/api/create)")
        messages = [{"role": "system", "content": system_text}] if system_text else []
        messages.append({"role": "user", "content": prompt})
        bos, eos = await asyncio.to_thread(grammars.bos_eos_texts, info.path)
        rendered = await asyncio.to_thread(sandbox.render, template, messages, bos, eos)

    def build(runner: Runner, opts: dict[str, Any]) -> list[int]:
        if suffix:
            meta = info.meta
            tokens = ([int(meta["tokenizer.ggml.fim_pre_token_id"])] + runner.tokenize(prompt, add_bos=False)
                      + [int(meta["tokenizer.ggml.fim_suf_token_id"])] + runner.tokenize(suffix, add_bos=False)
                      + [int(meta["tokenizer.ggml.fim_mid_token_id"])])
        elif raw or not chat_template:
            tokens = runner.tokenize(prompt, add_bos=not context)
        elif rendered is not None:
            tokens = runner.tokenize(rendered, add_bos=not context and not generation.starts_with_bos(rendered, runner.bos_text))
        else:
            messages = [{"role": "system", "content": system_text}] if system_text else []
            messages.append({"role": "user", "content": prompt})
            text = templates.render_chat(chat_template, messages, None, runner.bos_text, runner.eos_text)
            tokens = runner.tokenize(text, add_bos=not context and not generation.starts_with_bos(text, runner.bos_text))
        tokens = list(context) + tokens
        return generation.fit_to_context(tokens, opts, runner.n_ctx, truncate=truncate)

    req = generation.GenerationRequest(model, info, opts, keep_alive, build, data.get("format"), logprobs, top_logprobs,
                                       client=classroom.client_of(request))
    running = await hangup.unless_gone(request, generation.start(request.app.state.scheduler, req))

    def chunk(text: str, probs: Any) -> dict[str, Any]:
        return wire.chunk(name, {"response": text}, done=False, logprobs=probs)

    def final(event: Event) -> dict[str, Any]:
        assert event.outcome is not None
        generation.note_usage(request, event)
        out = wire.chunk(name, {"response": ""}, done=True)
        out.update(running.metrics(event.outcome))
        if not raw:
            out["context"] = event.outcome.tokens
        return out

    if streaming:
        return wire.stream(_ndjson(running.events, chunk, final))
    return await hangup.unless_gone(request, _collect(running.events, chunk, final, key="response"))


# ---- /api/chat -----------------------------------------------------------------------------

_ROLES = {"system", "user", "assistant", "tool"}


def _messages(data: dict[str, Any]) -> list[dict[str, Any]]:
    raw = wire.get(data, "messages", list, "ChatRequest", [])
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise OllamaError(400, f"json: cannot unmarshal {type(item).__name__} into Go struct field ChatRequest.messages of type api.Message")
        role = str(item.get("role") or "").lower()
        if role not in _ROLES:
            raise OllamaError(400, f"invalid role: {item.get('role')!r} (use system, user, assistant or tool)")
        content = item.get("content")
        if content is not None and not isinstance(content, str):
            raise OllamaError(400, "json: cannot unmarshal into Go struct field Message.messages.content of type string")
        out.append({**item, "role": role, "content": content or ""})
    return out


async def chat(request: Request) -> Response:
    """POST /api/chat: answer a conversation, formatted with the model's chat template."""
    s = "ChatRequest"
    data = await wire.read_json(request, s)
    name = wire.model_name(request, data, s)
    messages = _messages(data)
    tools = wire.get(data, "tools", list, s, [])
    streaming = wire.get(data, "stream", bool, s, True)
    truncate = _check_truncate(data, s)
    logprobs, top_logprobs = _check_logprobs(data, s)

    model, info, opts, keep_alive = await _prepare(request, data, s, name)
    _check_think(data, name, info)
    if tools and "tools" not in info.capabilities:
        raise OllamaError(400, f"{model.name.full} does not support tools")
    if any(m.get("images") for m in messages) and "vision" not in info.capabilities:
        raise OllamaError(400, f"{model.name.full} does not support vision (images need a multimodal model)")
    if not messages:
        return await _load_or_unload(request, model, info, opts, keep_alive, name, chat=True)
    keep_alive = classroom.held_keep_alive(request, keep_alive)

    all_messages = [dict(m) for m in model.messages] + messages
    if model.system and (not all_messages or all_messages[0]["role"] != "system"):
        all_messages.insert(0, {"role": "system", "content": model.system})

    def build(runner: Runner, opts: dict[str, Any]) -> list[int]:
        return generation.chat_tokens(runner, info.template, all_messages, tools, opts, truncate)

    # A call the model starts can only be well-formed (labkit.ollama.toolgrammar); checked before admission.
    spec = grammars.Tools(tools) if tools else None
    req = generation.GenerationRequest(model, info, opts, keep_alive, build, data.get("format"), logprobs, top_logprobs,
                                       client=classroom.client_of(request), tools=spec)
    running = await hangup.unless_gone(request, generation.start(request.app.state.scheduler, req))
    events = running.events if not tools else toolcalls.split_events(running.events, toolcalls.tool_names(tools))

    def chunk(text: str, probs: Any, calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if calls:
            message["tool_calls"] = calls
        return wire.chunk(name, {"message": message}, done=False, logprobs=probs)

    def final(event: Event) -> dict[str, Any]:
        assert event.outcome is not None
        generation.note_usage(request, event)
        out = wire.chunk(name, {"message": {"role": "assistant", "content": ""}}, done=True)
        out.update(running.metrics(event.outcome))
        return out

    if streaming:
        return wire.stream(_ndjson(events, chunk, final))
    return await hangup.unless_gone(request, _collect(events, chunk, final, key="message"))


# ---- writing the reply -----------------------------------------------------------------------

async def _ndjson(events: AsyncIterator[Event], chunk: Any, final: Any) -> AsyncIterator[bytes]:
    """NDJSON lines; an error after the stream started becomes one ``{"error"}`` line."""
    try:
        async for event in events:
            if event.kind == "text":
                yield wire.line(chunk(event.text, event.logprobs))
            elif event.kind == "tools":
                yield wire.line(chunk(event.text, event.logprobs, event.calls))
            elif event.kind == "done":
                yield wire.line(final(event))
            else:
                yield wire.line({"error": event.error})
    except Exception as exc:
        log.exception("error while streaming")
        yield wire.line({"error": f"internal error: {exc}"})


async def _collect(events: AsyncIterator[Event], chunk: Any, final: Any, key: str) -> Response:
    """``stream: false``: join the pieces and return the final object with the whole text."""
    parts: list[str] = []
    probs: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    async for event in events:
        if event.kind == "text":
            parts.append(event.text)
            probs.extend(event.logprobs or [])
        elif event.kind == "tools":
            parts.append(event.text)
            probs.extend(event.logprobs or [])
            calls.extend(event.calls or [])
        elif event.kind == "error":
            raise OllamaError(event.status, event.error)
        else:
            out = final(event)
            text = "".join(parts)
            if key == "response":
                out["response"] = text
            else:
                out["message"] = {"role": "assistant", "content": text}
                if calls:
                    out["message"]["tool_calls"] = calls
            if probs:
                out["logprobs"] = probs
            return wire.reply(out)
    raise OllamaError(500, "generation ended without a result")
