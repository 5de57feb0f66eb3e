"""Long model operations (pull, create, blob copies) run in a worker thread and report
Ollama's ``{"status": ..., "total": ..., "completed": ...}`` lines as they go: streamed as
NDJSON, or only the last one when the client asked for ``stream: false``.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from labkit.ollama import generation, wire
from labkit.ollama.errors import OllamaError

log = logging.getLogger("labkit.ollama")

Report = Callable[[dict[str, Any]], None]


async def run_with_progress(request: Request, work: Callable[[Report], None], streaming: bool) -> Response:
    """Run ``work`` in a thread; stream its status lines, or return only the last one."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def report(status: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, status)

    def run() -> None:
        try:
            work(report)
            report({"status": "success"})
        except OllamaError as exc:
            report({"error": exc.message, "_status": exc.status})
        except Exception as exc:
            log.exception("model operation failed")
            report({"error": str(exc), "_status": 500})
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    loop.run_in_executor(generation.executor, run)

    async def lines() -> AsyncIterator[dict[str, Any]]:
        while (item := await queue.get()) is not None:
            yield item

    if streaming:
        async def ndjson() -> AsyncIterator[bytes]:
            async for item in lines():
                item.pop("_status", None)
                yield wire.line(item)

        return wire.stream(ndjson())
    last: dict[str, Any] = {}
    async for item in lines():
        last = item
    if "error" in last:
        return wire.error_reply(last.get("_status", 500), last["error"])
    return wire.reply({"status": last.get("status", "success")})


def hash_with_progress(file: Path, status: str, report: Report, copy_to: Path | None = None) -> str:
    """sha256 of ``file`` (copying it to ``copy_to`` on the way), reporting bytes done."""
    digest = hashlib.sha256()
    total = file.stat().st_size
    done = 0
    out = copy_to.open("wb") if copy_to else None
    try:
        with file.open("rb") as handle:
            step = 0
            while block := handle.read(1 << 20):
                digest.update(block)
                if out:
                    out.write(block)
                done += len(block)
                step += 1
                if step % 8 == 0 or done == total:
                    report({"status": status, "total": total, "completed": done})
    finally:
        if out:
            out.close()
    return digest.hexdigest()
