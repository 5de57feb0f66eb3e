"""Is the kit's server as fast as llama.cpp's own ``llama-server``? Both measured in one run.

``llama-server`` is built from the llama.cpp source inside the installed llama-cpp-python's
sdist (so both servers run the same llama.cpp), once, and cached under
``~/.cache/labkit/llama-server/<llama-cpp-python version>/`` with the build's duration. The
sdist is looked for in ``--sdist``, ``$LABKIT_SDIST``, pip's cache and the kit's cache; on a
machine with an index to install from, put it there with

    pip download --no-deps --no-binary :all: llama-cpp-python==<version> -d ~/.cache/labkit/llama-server/<version>

Offline and without it, the peer is skipped and only the kit is measured.

Then the same streaming load runs against both, one server at a time, taking turns round by
round, through
``/v1/chat/completions`` (same model file, same slots, same threads, greedy):

* aggregate decode tokens/s at 1 and at 8 streams (tokens after each stream's first, over the
  time from the first token to the last);
* time to first token of a short question sent while 8 long answers stream.

Each is repeated ``--repeats`` times and the median printed, with the ratio kit / llama-server.
Targets: decode ratio >= 0.95 at 1 and 8 streams; the short question's TTFT <= 0.5 s.

    python bench/peer_server.py [--repeats 3] [--tokens 128] [--threads 2] [--slots 8]
    python bench/peer_server.py --no-build       # the kit alone unless llama-server is cached
    python bench/peer_server.py --profile        # then where the kit's decode thread spends its time
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODEL = "smollm2:135m"
NUM_CTX = 4096  # cells per slot, on both servers
LONG = "Write a long essay about the history of computing."
SHORT = "What is 2 + 2?"


@dataclass
class Stream:
    """One streamed answer, timed (perf_counter seconds)."""

    start: float
    first: float
    end: float
    tokens: int


def llama_cpp_version() -> str:
    from importlib.metadata import version

    return version("llama_cpp_python")


def cache_dir(version: str) -> Path:
    return Path.home() / ".cache" / "labkit" / "llama-server" / version


def find_sdist(version: str, given: Path | None = None) -> Path | None:
    """The sdist ``llama_cpp_python-<version>.tar.gz`` on this machine, or None."""
    name = f"llama_cpp_python-{version}.tar.gz"
    candidates = [given, Path(os.environ["LABKIT_SDIST"]) if os.environ.get("LABKIT_SDIST") else None]
    candidates = [c for c in candidates if c]
    for root in (cache_dir(version), Path.home() / ".cache" / "pip", Path.home() / ".cache" / "labkit"):
        if root.is_dir():
            candidates += sorted(root.rglob(name))
    return next((c for c in candidates if c.is_file()), None)


def cached_binary(version: str) -> Path | None:
    binary = cache_dir(version) / "build" / "bin" / "llama-server"
    return binary if binary.is_file() else None


def build(sdist: Path, version: str, jobs: int = 2) -> tuple[Path, float]:
    """Build ``llama-server`` from the sdist's vendored llama.cpp (nice'd): (binary, seconds)."""
    root = cache_dir(version)
    source = root / "src"
    if not source.is_dir():
        with tarfile.open(sdist) as tar:
            tar.extractall(source, filter="data")
    llama = next(source.glob("*/vendor/llama.cpp"))
    build_dir = root / "build"
    started = time.perf_counter()
    nice = ["nice", "-n", "19"]
    subprocess.run(nice + ["cmake", "-S", str(llama), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                           "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
                           "-DLLAMA_BUILD_TOOLS=ON", "-DLLAMA_BUILD_SERVER=ON", "-DBUILD_SHARED_LIBS=OFF"], check=True)
    subprocess.run(nice + ["cmake", "--build", str(build_dir), "--target", "llama-server", f"-j{jobs}"], check=True)
    seconds = time.perf_counter() - started
    (root / "build-seconds.txt").write_text(f"{seconds:.0f}\n")
    return build_dir / "bin" / "llama-server", seconds


async def stream(client, url: str, question: str, tokens: int) -> Stream:
    """One streamed chat completion; tokens from the usage chunk, else the content chunks."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": question}], "stream": True,
            "temperature": 0, "max_tokens": tokens, "stream_options": {"include_usage": True}}
    start = time.perf_counter()
    first, pieces, usage = None, 0, None
    async with client.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=600) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"].get("completion_tokens")
            for choice in chunk.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    pieces += 1
                    first = first or time.perf_counter()
    end = time.perf_counter()
    return Stream(start, first or end, end, usage if usage is not None else pieces)


async def decode_rate(url: str, streams: int, tokens: int) -> float:
    """Aggregate decode tokens/s of ``streams`` answers at once."""
    import httpx

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as client:
        done = await asyncio.gather(*(stream(client, url, LONG, tokens) for _ in range(streams)))
    span = max(s.end for s in done) - min(s.first for s in done)
    return sum(max(0, s.tokens - 1) for s in done) / span


async def short_ttft(url: str, long_streams: int, asks: int = 3) -> float:
    """The longest time to first token of a short question asked while ``long_streams`` answers stream."""
    import httpx

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as client:
        stop = asyncio.Event()

        async def long_answer() -> None:
            while not stop.is_set():
                await stream(client, url, LONG, 512)

        background = [asyncio.create_task(long_answer()) for _ in range(long_streams)]
        await asyncio.sleep(2.0)  # every slot busy now
        waits = []
        for _ in range(asks):
            s = await stream(client, url, SHORT, 8)
            waits.append(s.first - s.start)
            await asyncio.sleep(0.3)
        stop.set()
        for task in background:
            task.cancel()  # hang up: the server frees the slots
        await asyncio.gather(*background, return_exceptions=True)
    return max(waits)


def one_round(url: str, levels: list[int], tokens: int, long_streams: int) -> dict[str, float]:
    """One round of figures against the server at ``url``."""
    figures = {f"decode@{n}": asyncio.run(decode_rate(url, n, tokens)) for n in levels}
    if long_streams:
        figures["ttft"] = asyncio.run(short_ttft(url, long_streams))
    return figures


def measure(urls: dict[str, str], levels: list[int], tokens: int, repeats: int,
            long_streams: int) -> dict[str, dict[str, float]]:
    """Median figures of ``repeats`` rounds for each server, the servers taking turns round by round
    (a machine that gets busier or quieter during the run then weighs on both alike)."""
    for url in urls.values():
        asyncio.run(decode_rate(url, 1, 8))  # warm: model loaded, threads up
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
    for round_number in range(1, repeats + 1):
        for name, url in urls.items():
            rounds[name].append(one_round(url, levels, tokens, long_streams))
            print(f"round {round_number}, {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in rounds[name][-1].items()),
                  flush=True)
    return {name: {key: statistics.median(r[key] for r in done) for key in done[0]} for name, done in rounds.items()}


def kit_server(slots: int, threads: int):
    """``labkit serve`` in its own process with ``slots`` slots and ``threads`` threads."""
    from labkit.ollama.server import start_process

    os.environ["OLLAMA_NUM_PARALLEL"] = str(slots)
    os.environ["LABKIT_THREADS"] = str(threads)
    return start_process()


def peer_server(binary: Path, slots: int, threads: int) -> tuple[str, subprocess.Popen]:
    """``llama-server`` on a free loopback port, same model file, slots and threads, flash attention."""
    from labkit import models
    from labkit.system.ports import free_port, wait_for_http

    port = free_port("127.0.0.1")
    command = [str(binary), "-m", str(models.path(MODEL)), "--host", "127.0.0.1", "--port", str(port),
               "-np", str(slots), "-c", str(slots * NUM_CTX), "-t", str(threads), "-tb", str(threads),
               "-fa", "on", "--alias", MODEL]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/health", process=process, timeout=120)
    return url, process


def profile_decode(tokens: int, threads: int, slots: int, top: int = 12) -> None:
    """Where the decode thread's time goes at one stream: the runner in this process, its decode
    thread under cProfile (py-spy would see native frames too, but is not installed here)."""
    import cProfile
    import pstats

    from labkit import models
    from labkit.ollama import options, runner
    from labkit.ollama.jobs import Job, LoadSettings

    profiler = cProfile.Profile()
    plain = runner.Runner._loop

    def profiled(self) -> None:
        profiler.enable()
        try:
            plain(self)
        finally:
            profiler.disable()

    runner.Runner._loop = profiled  # type: ignore[method-assign]
    try:
        model = runner.Runner(LoadSettings(str(models.path(MODEL)), NUM_CTX, 512, threads, slots=slots))
        opts = {**options.DEFAULTS, "temperature": 0, "num_predict": tokens}
        prompt = model.tokenize(f"<|im_start|>user\n{LONG}<|im_end|>\n<|im_start|>assistant\n")
        started = time.perf_counter()
        outcome = model.generate(Job(prompt_tokens=prompt, options=opts), lambda text, probs: None)
        wall = time.perf_counter() - started
        model.close()
    finally:
        runner.Runner._loop = plain  # type: ignore[method-assign]
    print(f"\nprofile of the decode thread, 1 stream, {outcome.eval_count} tokens in {wall:.2f} s "
          f"({outcome.eval_count / wall:.1f} tokens/s with the profiler on):")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128, help="max_tokens of each measured answer")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8], help="streams at once")
    parser.add_argument("--long-streams", type=int, default=8, help="long answers beside the short question (0: skip)")
    parser.add_argument("--sdist", type=Path, default=None)
    parser.add_argument("--no-build", action="store_true", help="never build: measure the peer only if cached")
    parser.add_argument("--profile", action="store_true", help="then profile the kit's decode thread at 1 stream")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse(argv)
    version = llama_cpp_version()
    binary = cached_binary(version)
    if binary:
        seconds = (cache_dir(version) / "build-seconds.txt")
        print(f"llama-server {version}: cached ({seconds.read_text().strip() + ' s to build' if seconds.exists() else ''})")
    elif args.no_build:
        print(f"llama-server {version}: not cached, not built (--no-build)")
    else:
        sdist = find_sdist(version, args.sdist)
        if sdist is None:
            print(f"llama-server {version}: the sdist llama_cpp_python-{version}.tar.gz is not on this machine "
                  f"(pip cache, ~/.cache/labkit, $LABKIT_SDIST): `pip download --no-deps --no-binary :all: "
                  f"llama-cpp-python=={version} -d {cache_dir(version)}` puts it there; measuring the kit alone")
        else:
            binary, seconds = build(sdist, version)
            print(f"llama-server {version}: built from {sdist} in {seconds:.0f} s")

    server = kit_server(args.slots, args.threads)
    urls, peer = {"kit": server.url}, None
    try:
        if binary:
            urls["llama-server"], peer = peer_server(binary, args.slots, args.threads)
        results = measure(urls, args.levels, args.tokens, args.repeats, args.long_streams)
    finally:
        server.stop()
        if peer:
            peer.terminate()
            peer.wait(30)

    print(f"\n{MODEL}, {args.slots} slots, {args.threads} threads, {args.tokens} tokens per answer, "
          f"median of {args.repeats}")
    for key in results["kit"]:
        unit = "s (short question's TTFT, worst of 3)" if key == "ttft" else "tokens/s"
        kit = results["kit"][key]
        line = f"{key:>10}: kit {kit:8.2f}"
        if "llama-server" in results:
            peer = results["llama-server"][key]
            line += f" | llama-server {peer:8.2f} | kit / llama-server {kit / peer:5.2f}"
        print(line, unit)
    if args.profile:
        profile_decode(args.tokens, args.threads, args.slots)
    return results


if __name__ == "__main__":
    main()
