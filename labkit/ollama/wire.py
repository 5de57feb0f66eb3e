"""Reading request bodies and writing replies in Ollama's wire format.

Bodies are JSON objects; errors in them are reported with the messages Go's
JSON decoder gives (what Ollama returns). Streams are NDJSON: one compact JSON
object per line, never a blank line (the Python client parses every line).
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from labkit.ollama.errors import OllamaError, go_json_error, go_type_name

NDJSON = "application/x-ndjson"

# The largest JSON body the server reads: a chat with a few base64 images fits; a bigger body is
# refused with 413 before it fills the server's memory (model files go to /api/blobs, not here).
MAX_JSON_BYTES = 64 * 2**20

# Go types of request fields, for "cannot unmarshal" messages.
_EXPECTED = {str: "string", bool: "bool", list: "[]", dict: "map", int: "int", float: "float64"}


async def capped_body(request: Request, limit: int = MAX_JSON_BYTES) -> bytes:
    """The whole body, or 413 as soon as it is known to exceed ``limit`` bytes."""
    too_large = OllamaError(413, f"request body too large: the limit is {limit // 2**20} MiB")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    request._body = bytes(body)  # Starlette's cache: request.body() still works after this
    return request._body


async def read_json(request: Request, struct: str) -> dict[str, Any]:
    """The request body as a dict; 400 with Ollama's message when it is missing or malformed."""
    body = await capped_body(request)
    if not body.strip():
        raise OllamaError(400, "missing request body")
    try:
        text = body.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise OllamaError(400, "invalid character in request body (not UTF-8)") from None
    except json.JSONDecodeError as exc:
        raise OllamaError(400, go_json_error(exc, text)) from None
    if not isinstance(data, dict):
        raise OllamaError(400, f"json: cannot unmarshal {go_type_name(data)} into Go value of type api.{struct}")
    return data


def get(data: dict[str, Any], key: str, kind: type | tuple[type, ...], struct: str, default: Any = None) -> Any:
    """A field of the body, type-checked like Go's decoder (null counts as absent)."""
    value = data.get(key)
    if value is None:
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        expected = _EXPECTED.get(kinds[0], kinds[0].__name__)
        raise OllamaError(
            400, f"json: cannot unmarshal {go_type_name(value)} into Go struct field {struct}.{key} of type {expected}"
        )
    return value


def model_name(request: Request, data: dict[str, Any], struct: str, *, required: bool = True,
               missing: tuple[int, str] = (400, "model is required")) -> str:
    """The request's model name (``model``, or the older ``name``), remembered for the access log.

    An empty name is answered with ``missing`` (Ollama says 404 "model '' not found" for
    ``/api/generate`` and 400 "model is required" elsewhere) unless ``required`` is False.
    """
    name = (get(data, "model", str, struct, "") or get(data, "name", str, struct, "")).strip()
    if required and not name:
        raise OllamaError(*missing)
    request.state.model = name
    return name


def chunk(model: str, body: dict[str, Any], *, done: bool, logprobs: Any = None) -> dict[str, Any]:
    """One reply object of ``/api/generate`` or ``/api/chat``: model, time, the body, ``done``."""
    out: dict[str, Any] = {"model": model, "created_at": now(), **body, "done": done}
    if logprobs:
        out["logprobs"] = logprobs
    return out


def now() -> str:
    """RFC 3339 UTC timestamp with a Z, as Ollama writes ``created_at``."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def line(obj: dict[str, Any]) -> bytes:
    """One NDJSON line."""
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def reply(obj: Any, status: int = 200) -> Response:
    return JSONResponse(obj, status_code=status, media_type="application/json; charset=utf-8")


def error_reply(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def stream(lines: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(lines, media_type=NDJSON)
