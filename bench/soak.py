"""A room-sized soak of the classroom server: many learners, a realistic mix, for minutes.

Starts ``labkit serve`` in its own process and lets ``--learners`` simulated learners (each its
own ``X-Labkit-Client``) send requests one after another for ``--seconds``, each picking from a
mix: short questions, long streamed answers, JSON mode, embeddings, and a client that hangs up
mid-stream. Checks, and prints:

* nothing lost: every accepted request ends with ``done`` and the right token count (exactly
  ``num_predict`` when it stopped for length, fewer only when the model ended it), JSON mode
  answers parse, embeddings come back; a 503 is allowed only beyond ``OLLAMA_MAX_QUEUE``;
* the server's memory, its threads and open files. Memory is judged with every model unloaded
  (keep_alive 0, no model file mapped): after the first quarter of the run (a warm-up with the same
  mix: the first grammars, templates and tool calls allocate what they keep) and again at the end:
  flat when the second RSS is within 10 % + 32 MB of the first (judged in runs of a minute or more).
  RSS before any request, during the load, the copies of the model mapped and the heap outside
  them are printed too.

``--hostile`` adds odd and hostile requests to the mix (those of bench/hostile.py: bad context
ids, absurd options, a schema that is not one, a looping template, other load settings, an
unload, hang-ups): each must be answered within a minute without a server error, and the
ordinary requests beside them must lose nothing.

    python bench/soak.py [--learners 20] [--seconds 120] [--hostile]

``tests/test_soak.py`` runs a short form of it in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

MODEL = "smollm2:135m"
NUM_CTX = 1024


@dataclass
class Report:
    """What a soak saw."""

    counts: Counter = field(default_factory=Counter)   # kind -> requests completed correctly
    problems: list[str] = field(default_factory=list)  # anything lost or wrong
    busy: int = 0                                      # 503 answers (only allowed beyond the queue limit)
    odd: Counter = field(default_factory=Counter)      # odd request -> answered in time without a server error
    idle_mb: list[float] = field(default_factory=list)  # RSS with every model unloaded: cold, after warm-up, at the end
    mapped: list[int] = field(default_factory=list)     # model files still mapped at each of those
    rest_from: float = 0.0                               # seconds into the run when the load went on after warm-up
    # (t, rss MB, threads, fds, copies of model files mapped, RSS outside model files MB)
    samples: list[tuple[float, float, int, int, int, float]] = field(default_factory=list)

    def resources(self, warm_up: float) -> dict[str, float]:
        """RSS, threads and open files at the end of warm-up and at the end (after the load)."""
        after = [s for s in self.samples if s[0] >= warm_up] or self.samples
        first, last = after[0], self.samples[-1]
        return {"rss_warm_mb": first[1], "rss_end_mb": last[1], "rss_max_mb": max(s[1] for s in after),
                "threads_warm": first[2], "threads_end": last[2], "fds_warm": first[3], "fds_end": last[3],
                "copies_warm": first[4], "copies_end": last[4], "copies_max": max(s[4] for s in after),
                "heap_warm_mb": first[5], "heap_end_mb": last[5], "heap_max_mb": max(s[5] for s in after)}


async def _stream(client, path: str, body: dict, name: str) -> tuple[dict, int]:
    """POST a streaming request; (final chunk, pieces received)."""
    pieces, final = 0, {}
    async with client.stream("POST", path, json=body, headers={"X-Labkit-Client": name}, timeout=600) as response:
        if response.status_code != 200:
            await response.aread()
            raise _Refused(response.status_code, response.text)
        async for line in response.aiter_lines():
            if line:
                chunk = json.loads(line)
                if "error" in chunk:
                    raise _Refused(500, chunk["error"])
                pieces += 1
                final = chunk
    return final, pieces


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"{status}: {text[:200]}")
        self.status = status


def _check_length(kind: str, final: dict, wanted: int, report: Report) -> None:
    count, reason = final.get("eval_count", -1), final.get("done_reason")
    if not final.get("done"):
        report.problems.append(f"{kind}: no final chunk")
    elif reason == "length" and count != wanted:
        report.problems.append(f"{kind}: stopped for length after {count} tokens, asked for {wanted}")
    elif reason == "stop" and not 0 <= count <= wanted:
        report.problems.append(f"{kind}: {count} tokens, asked for at most {wanted}")
    else:
        report.counts[kind] += 1


async def odd(client, pick: random.Random, report: Report) -> None:
    """One odd or hostile request of bench/hostile.py, picked at random: answered in time, no 5xx."""
    import hostile

    sub = hostile.Report()
    name, send = pick.choice(sorted(hostile.odd_requests(client).items()))
    await hostile.timed(name, send, 60.0, sub)
    report.problems += [f"odd: {p}" for p in sub.problems]
    if not sub.problems:
        report.odd[name] += 1


async def learner(client, index: int, deadline: float, report: Report, hostile: bool = False) -> None:
    """One learner: requests of the mix one after another until ``deadline``."""
    pick = random.Random(index)
    name = f"learner-{index}"
    options = {"temperature": 0, "num_ctx": NUM_CTX}
    kinds = ["short", "short", "long", "json", "embed", "hang up"] + (["odd", "odd"] if hostile else [])
    while time.monotonic() < deadline:
        kind = pick.choice(kinds)
        try:
            if kind == "odd":
                await odd(client, pick, report)
            elif kind == "short":
                body = {"model": MODEL, "messages": [{"role": "user", "content": f"What is {index} + {pick.randint(1, 9)}?"}],
                        "options": {**options, "num_predict": 16}}
                final, _ = await _stream(client, "/api/chat", body, name)
                _check_length(kind, final, 16, report)
            elif kind == "long":
                body = {"model": MODEL, "prompt": "Write a long essay about the history of computing.",
                        "options": {**options, "num_predict": 128}}
                final, _ = await _stream(client, "/api/generate", body, name)
                _check_length(kind, final, 128, report)
            elif kind == "json":
                body = {"model": MODEL, "format": "json", "stream": False, "options": {**options, "num_predict": 200},
                        "messages": [{"role": "user", "content": "A JSON object with a city and its country."}]}
                response = await client.post("/api/chat", json=body, headers={"X-Labkit-Client": name}, timeout=600)
                if response.status_code != 200:
                    raise _Refused(response.status_code, response.text)
                reply = response.json()
                if reply.get("done_reason") == "stop":
                    json.loads(reply["message"]["content"])  # a JSON mode answer that ended must parse
                _check_length(kind, reply, 200, report)
            elif kind == "embed":
                body = {"model": MODEL, "input": [f"learner {index}", "a second text"]}
                response = await client.post("/api/embed", json=body, headers={"X-Labkit-Client": name}, timeout=600)
                if response.status_code != 200:
                    raise _Refused(response.status_code, response.text)
                vectors = response.json()["embeddings"]
                if len(vectors) == 2 and len(vectors[0]) == 576:
                    report.counts[kind] += 1
                else:
                    report.problems.append(f"embed: {len(vectors)} vectors")
            else:  # a client that hangs up after a few pieces
                body = {"model": MODEL, "prompt": "Tell a very long story.", "options": {**options, "num_predict": 400}}
                async with client.stream("POST", "/api/generate", json=body, headers={"X-Labkit-Client": name},
                                         timeout=600) as response:
                    async for _ in response.aiter_lines():
                        break
                report.counts[kind] += 1
        except _Refused as refused:
            if refused.status == 503:
                report.busy += 1
            else:
                report.problems.append(f"{kind}: {refused}")
        except Exception as exc:  # a broken connection, bad JSON: lost
            report.problems.append(f"{kind}: {type(exc).__name__}: {exc}")


async def _watch(pid: int, started: float, done: asyncio.Event, report: Report, tail: float = 5.0) -> None:
    """Sample the server's RSS, threads, open files and the copies of a model it holds, until ``tail``
    seconds after the load ends. Copies are counted from the operating system's view: each loaded
    copy maps its ``.gguf`` file once (/api/ps shows a model once, however many copies serve it);
    RSS outside those mappings is the heap: KV caches, buffers, Python."""
    import psutil

    process = psutil.Process(pid)
    end = None
    while end is None or time.monotonic() < end:
        maps = _model_maps(process)
        rss = process.memory_info().rss / 2**20
        report.samples.append((time.monotonic() - started, rss, process.num_threads(), process.num_fds(),
                               len(maps), rss - sum(m.rss for m in maps) / 2**20))
        if end is None and done.is_set():
            end = time.monotonic() + tail
        await asyncio.sleep(1.0)


async def idle_rss(client, pid: int, settle: float = 10.0) -> tuple[float, int]:
    """The server's RSS (MB) once every model is unloaded (keep_alive 0) and no model file is mapped.

    The same state before and after a soak, so what grew in between is memory the server kept.
    Returns the RSS and how many model files were still mapped (none, unless a copy leaked).
    """
    import psutil

    process = psutil.Process(pid)
    await client.post("/api/generate", json={"model": MODEL, "keep_alive": 0}, timeout=60)
    end = time.monotonic() + settle
    while time.monotonic() < end and _model_maps(process):
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)
    return process.memory_info().rss / 2**20, len(_model_maps(process))


def _model_maps(process) -> list:
    """The server's mappings of model files: one per loaded copy."""
    return [m for m in process.memory_maps(grouped=False) if m.path.endswith(".gguf")]


async def warm(client) -> None:
    """One answer and one embedding: the libraries and the model's first allocations are made."""
    await client.post("/api/chat", json={"model": MODEL, "stream": False, "options": {"num_predict": 4, "num_ctx": NUM_CTX},
                                         "messages": [{"role": "user", "content": "Hi"}]}, timeout=600)
    await client.post("/api/embed", json={"model": MODEL, "input": ["warm"]}, timeout=600)


async def soak(url: str, pid: int, learners: int, seconds: float, hostile: bool = False) -> Report:
    """Run the mix against the server at ``url`` (process ``pid``) and report."""
    import httpx

    report = Report()

    async def unloaded(client) -> None:
        rss, mapped = await idle_rss(client, pid)
        report.idle_mb.append(rss)
        report.mapped.append(mapped)

    async with httpx.AsyncClient(base_url=url) as client:
        await warm(client)
        await unloaded(client)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=learners * 2)) as client:
        done = asyncio.Event()
        watcher = asyncio.create_task(_watch(pid, started, done, report))

        async def load(until: float) -> None:
            await asyncio.gather(*(learner(client, i, until, report, hostile) for i in range(learners)))
            await unloaded(client)

        await load(started + seconds / 4)  # the warm-up quarter
        report.rest_from = time.monotonic() - started
        await load(time.monotonic() + seconds * 3 / 4)  # the rest
        done.set()
        await watcher
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--hostile", action="store_true", help="add odd and hostile requests to the mix")
    args = parser.parse_args()

    from labkit.ollama.server import start_process
    from labkit.system.hardware import cpu_model

    server = start_process()
    try:
        report = asyncio.run(soak(server.url, server.process.pid, args.learners, args.seconds, args.hostile))
    finally:
        server.stop()
    warm_up = args.seconds / 4
    res = report.resources(report.rest_from)
    print(f"{cpu_model()}; {args.learners} learners for {args.seconds:.0f} s against labkit serve "
          f"(OLLAMA_NUM_PARALLEL default){', with odd and hostile requests' if args.hostile else ''}\n")
    print("completed correctly: " + ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
          + f"; total {sum(report.counts.values())}")
    if args.hostile:
        print("odd requests answered in time: " + ", ".join(f"{k} {v}" for k, v in sorted(report.odd.items()))
              + f"; total {sum(report.odd.values())}")
    print(f"lost or wrong: {len(report.problems)}; 503 busy: {report.busy}")
    for problem in report.problems[:20]:
        print("  ", problem)
    print(f"server RSS after {warm_up:.0f} s warm-up {res['rss_warm_mb']:.0f} MB, max after {res['rss_max_mb']:.0f} MB, "
          f"end {res['rss_end_mb']:.0f} MB; threads {res['threads_warm']} -> {res['threads_end']}; "
          f"open files {res['fds_warm']} -> {res['fds_end']}; copies of a model file mapped {res['copies_warm']} -> "
          f"{res['copies_end']} (at most {res['copies_max']})")
    print(f"RSS outside model files (heap): {res['heap_warm_mb']:.0f} MB after warm-up, max {res['heap_max_mb']:.0f} MB, "
          f"end {res['heap_end_mb']:.0f} MB")
    cold, before, after = report.idle_mb
    print(f"RSS with every model unloaded: {cold:.0f} MB before any request, {before:.0f} MB after the "
          f"{warm_up:.0f} s warm-up, {after:.0f} MB at the end; model files still mapped then: "
          + ", ".join(map(str, report.mapped)))
    flat = after <= before * 1.1 + 32 and report.mapped[-1] == 0
    print(f"memory flat (every model unloaded and no model file mapped at the end, RSS within 10 % + 32 MB "
          f"of that after the warm-up): {'yes' if flat else 'NO'}")
    # a run shorter than a minute is still touching its pages after warm-up: its RSS is shown, not judged
    ok = not report.problems and report.busy == 0 and (flat or args.seconds < 60)
    print("soak:", "PASSED" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
