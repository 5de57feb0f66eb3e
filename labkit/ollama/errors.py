"""Errors in Ollama's shape: ``{"error": "..."}`` with Ollama's status codes.

Handlers raise :class:`OllamaError`; the app turns it into a JSON reply (or,
once a stream has started, into one final ``{"error": ...}`` line). Anything
else is logged with its traceback on the server and reported to the client as
a plain 500 message, never as a traceback. Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import json
from typing import Any


class OllamaError(Exception):
    """An error with the HTTP status and the message Ollama would send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def model_not_found(name: str) -> OllamaError:
    """404 for generate/chat/embed: the message learners recognise from Ollama."""
    return OllamaError(404, f'model "{name}" not found, try pulling it first')


def go_json_error(exc: json.JSONDecodeError, body: str) -> str:
    """Describe a JSON syntax error the way Go's decoder does (what Ollama returns)."""
    if exc.pos >= len(body.rstrip()):
        return "unexpected EOF"
    char = body[exc.pos]
    if exc.msg.startswith("Expecting value"):
        return f"invalid character {char!r} looking for beginning of value"
    if exc.msg.startswith("Expecting property name"):
        return f"invalid character {char!r} looking for beginning of object key string"
    if exc.msg.startswith("Extra data"):
        return f"invalid character {char!r} after top-level value"
    return f"invalid character {char!r} {exc.msg.split(':')[0].lower()}"


_GO_TYPES = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}


def go_type_name(value: Any) -> str:
    """JSON type of a value as Go's decoder names it in its errors."""
    return _GO_TYPES.get(type(value), "value")
