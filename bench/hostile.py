"""Can one learner's odd request break a shared server? Odd and hostile requests beside ordinary streams.

Starts ``labkit serve`` in its own process with its address space capped (``RLIMIT_AS``, 8 GB by
default), starts ``--streams`` ordinary streamed chats, and while they generate sends, all at
once: ``context`` ids outside the vocabulary, absurd options (``num_thread`` 100000, a huge
``repeat_last_n``, an odd and an absurd ``num_ctx``), a ``format`` that is no JSON schema, a
per-request template that loops for ever, other load settings, an unload (``keep_alive`` 0, then
``/api/ps``), a client that hangs up mid-stream and one that hangs up before its answer starts.
Checks, and prints:

* every ordinary stream finished normally (``done_reason`` stop or length, no error line);
* every odd request got a valid reply or a clean JSON error (no broken connection, no crash page)
  within ``--within`` seconds;
* the server answers afterwards (a short generation).

    python bench/hostile.py [--streams 4] [--tokens 160] [--cap-gb 8]

``tests/test_hostile.py`` runs a reduced form of it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODEL = "smollm2:135m"
LOOPING_TEMPLATE = "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}"


@dataclass
class Report:
    """What the run saw."""

    ordinary: list[str] = field(default_factory=list)                   # done_reason of each ordinary stream
    odd: list[tuple[str, int, float, str]] = field(default_factory=list)  # (what, status, seconds, error)
    problems: list[str] = field(default_factory=list)
    after: int = 0                                                      # status of the request afterwards


def cap_address_space(gigabytes: float) -> Callable[[], None]:
    """A ``preexec_fn`` capping the child's address space (virtual memory) at ``gigabytes``."""
    limit = int(gigabytes * 2**30)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return cap


async def ordinary(client, index: int, tokens: int, report: Report) -> None:
    """One ordinary streamed chat; it must end with done_reason stop or length and no error."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": f"Tell me about the number {index}."}],
            "options": {"temperature": 0, "num_predict": tokens}}
    final: dict = {}
    try:
        async with client.stream("POST", "/api/chat", json=body, headers={"X-Labkit-Client": f"learner-{index}"},
                                 timeout=300) as response:
            if response.status_code != 200:
                await response.aread()
                report.problems.append(f"ordinary {index}: {response.status_code} {response.text[:200]}")
                return
            async for line in response.aiter_lines():
                if line:
                    final = json.loads(line)
                    if "error" in final:
                        report.problems.append(f"ordinary {index}: error line {final['error'][:200]}")
                        return
    except Exception as exc:  # a broken stream is a lost answer
        report.problems.append(f"ordinary {index}: {type(exc).__name__}: {exc}")
        return
    reason = final.get("done_reason")
    report.ordinary.append(str(reason))
    if not final.get("done") or reason not in ("stop", "length"):
        report.problems.append(f"ordinary {index}: ended with {final}")


def generate(prompt: str = "Say hello.", **extra) -> dict:
    return {"model": MODEL, "prompt": prompt, "stream": False,
            "options": {"num_predict": 8, **extra.pop("options", {})}, **extra}


Answer = tuple[int, str]  # (HTTP status, the error message, "" when none)


def answer_of(response) -> Answer:
    """Status and error of a reply; a reply that is neither valid JSON nor a clean JSON error raises."""
    body = response.json()  # raises on a body that is no JSON (a crash page, a cut reply)
    if response.status_code != 200 and not isinstance(body.get("error"), str):
        raise ValueError(f"{response.status_code} without a JSON error: {response.text[:200]}")
    return response.status_code, body.get("error", "") if response.status_code != 200 else ""


async def hang_up_mid_stream(client) -> Answer:
    """Read the first line of a long streamed answer, then leave."""
    body = {"model": MODEL, "prompt": "Tell a very long story.", "options": {"num_predict": 400}}
    async with client.stream("POST", "/api/generate", json=body, timeout=60) as response:
        async for _ in response.aiter_lines():
            break
        return response.status_code, "we hung up after the first line"


async def hang_up_early(client) -> Answer:
    """Ask for a long non-streamed answer and leave after half a second (queued or generating)."""
    import httpx

    try:
        await client.post("/api/generate", json=generate("Tell a very long story.", options={"num_predict": 400}),
                          timeout=0.5)
    except httpx.TimeoutException:
        return 0, "we hung up after 0.5 s"  # the point is that the server is not harmed
    return 200, "answered within 0.5 s"


def odd_requests(client) -> dict[str, Callable[[], Awaitable[Answer]]]:
    """Each odd request, as a coroutine factory returning its :data:`Answer`."""

    def post(path: str, body: dict) -> Callable[[], Awaitable[Answer]]:
        async def send() -> Answer:
            return answer_of(await client.post(path, json=body, timeout=120))
        return send

    async def unload_then_ps() -> Answer:
        status, error = answer_of(await client.post("/api/generate", json={"model": MODEL, "keep_alive": 0}, timeout=120))
        ps = answer_of(await client.get("/api/ps", timeout=120))
        return (status, error) if ps[0] == 200 else ps

    return {
        "context ids outside the vocabulary": post("/api/generate", generate(context=[10**9, -5, 3])),
        "num_thread 100000": post("/api/generate", generate(options={"num_thread": 100000})),
        "repeat_last_n 10**12": post("/api/generate", generate(options={"repeat_last_n": 10**12})),
        "num_ctx 777 (other load settings)": post("/api/generate", generate(options={"num_ctx": 777})),
        "num_ctx 10**12": post("/api/generate", generate(options={"num_ctx": 10**12})),
        "num_batch 3 (other load settings)": post("/api/generate", generate(options={"num_batch": 3})),
        "format that is no schema": post("/api/generate", generate(format={"type": "banana", "properties": 7})),
        "format 42": post("/api/generate", generate(format=42)),
        "looping template": post("/api/generate", generate(template=LOOPING_TEMPLATE)),
        "unload (keep_alive 0) and /api/ps": unload_then_ps,
        "hang up mid-stream": lambda: hang_up_mid_stream(client),
        "hang up before the answer": lambda: hang_up_early(client),
    }


async def timed(name: str, send: Callable[[], Awaitable[Answer]], within: float, report: Report) -> None:
    """Send one odd request: it must get a valid reply or a clean JSON error within ``within`` s.

    A 500 is allowed where it is Ollama's own answer (an invalid ``format`` is a 500 there too).
    """
    start = time.perf_counter()
    status, error = -1, ""
    try:
        status, error = await asyncio.wait_for(send(), within)
    except asyncio.TimeoutError:
        report.problems.append(f"{name}: no answer within {within:.0f} s")
    except Exception as exc:
        report.problems.append(f"{name}: {type(exc).__name__}: {exc}")
    report.odd.append((name, status, time.perf_counter() - start, error))


async def hostile(url: str, streams: int, tokens: int, within: float = 60.0) -> Report:
    """Ordinary streams with every odd request sent beside them, then one request afterwards."""
    import httpx

    report = Report()
    async with httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=64)) as client:
        await client.post("/api/generate", json=generate(), timeout=120)  # the model loaded
        ordinaries = [asyncio.create_task(ordinary(client, i, tokens, report)) for i in range(streams)]
        await asyncio.sleep(1.0)  # the ordinary streams are generating
        await asyncio.gather(*(timed(name, send, within, report) for name, send in odd_requests(client).items()))
        await asyncio.gather(*ordinaries)
        after = await client.post("/api/generate", json=generate("What is 2 + 2?"), timeout=120)
        report.after = after.status_code
        if after.status_code != 200 or not after.json().get("done"):
            report.problems.append(f"afterwards: {after.status_code} {after.text[:200]}")
    return report


def run(streams: int, tokens: int, cap_gb: float, within: float = 60.0) -> Report:
    """Start a capped server, run :func:`hostile` against it, stop it."""
    from labkit.ollama.server import start_process

    server = start_process(preexec_fn=cap_address_space(cap_gb))
    try:
        report = asyncio.run(hostile(server.url, streams, tokens, within))
        if server.process.poll() is not None:
            report.problems.append(f"the server exited ({server.process.returncode}); log: {server.log}")
    finally:
        server.stop()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=160, help="num_predict of each ordinary stream")
    parser.add_argument("--cap-gb", type=float, default=8.0, help="the server's address space limit")
    parser.add_argument("--within", type=float, default=60.0, help="seconds each odd request may take")
    args = parser.parse_args()

    started = time.perf_counter()
    report = run(args.streams, args.tokens, args.cap_gb, args.within)
    print(f"labkit serve capped at {args.cap_gb:g} GB of address space; {args.streams} ordinary streams of "
          f"{args.tokens} tokens; run {time.perf_counter() - started:.0f} s\n")
    print("ordinary streams ended:", ", ".join(report.ordinary))
    for name, status, seconds, error in report.odd:
        print(f"  {name:<36} {status:>4} {seconds:6.2f} s  {error[:90]}")
    print(f"afterwards: {report.after}")
    for problem in report.problems:
        print("  problem:", problem)
    print("hostile:", "PASSED" if not report.problems else "FAILED")
    sys.exit(0 if not report.problems else 1)


if __name__ == "__main__":
    main()
