"""A client that hangs up frees what it held: its place in line, its slot, its generation.

A streamed reply notices a client that left (Starlette stops the stream, and the generation ends
at its next token), but a request still waiting in line for a slot, or a non-streamed one being
generated, sends nothing until it is done, so nothing noticed the client was gone: a room's
impatient learners, each pressing "stop" and asking again, left their abandoned requests queued
and generating. :func:`unless_gone` runs such a step while listening for the client's disconnect
and cancels it when the client goes. Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import Request

from labkit.ollama.errors import OllamaError

log = logging.getLogger("labkit.ollama")

T = TypeVar("T")

GONE = 499  # nginx's "client closed request": nobody reads it, the access log shows it


async def unless_gone(request: Request, work: Awaitable[T]) -> T:
    """``await work``, cancelled if the client disconnects first (then a 499 :class:`OllamaError`).

    Call it once the request body has been read: from then on the only message the client can
    send is its disconnect.
    """
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnect(request))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        if not gone.done():
            gone.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    log.info("client hung up before the reply: %s %s cancelled", request.method, request.url.path)
    raise OllamaError(GONE, "client closed the request")


async def _disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
