"""Which models are loaded, who may use them, and when they are unloaded.

This is the kit's version of Ollama's scheduler (``server/sched.go``):

* a request asks for a model with some load settings; if it is not in memory
  it is loaded in a worker thread (the event loop keeps serving);
* each loaded model serves up to ``OLLAMA_NUM_PARALLEL`` requests at once (its *slots*;
  default 4, see :func:`labkit.ollama.options.default_parallel`), decoded together in one batch per token
  (:mod:`labkit.ollama.runner`); other requests wait in line;
* more than ``OLLAMA_MAX_QUEUE`` requests waiting in line: HTTP 503;
* at most ``OLLAMA_MAX_LOADED_MODELS`` models stay loaded (default 3); the least
  recently used idle one is unloaded to make room;
* after a request the model stays for ``keep_alive`` (default 5m); 0 unloads it
  at once, a negative value keeps it forever.

Fair turns (a classroom shares one server). Ollama serves the line first come,
first served, so with every slot taken by long answers the whole room would wait. Here
the line of each model is served round-robin by *client* (the ``X-Labkit-Client``
header on a loopback server, else the IP address: see :mod:`labkit.ollama.classroom`),
and a running generation takes turns too:

1. Requests that wait for a slot are grouped by client; when a slot comes free it
   goes to the next client in rotation (oldest request of that client first), so a
   learner who sends ten requests at once does not get ten turns in a row.
2. A generation that has produced ``SLICE_TOKENS`` tokens (16, in
   :mod:`labkit.ollama.runner`) checks after each further token whether anyone is
   waiting that no other pause already makes room for (:meth:`Line.claim`: one waiter
   pauses one generation, not every one past its slice). If so it pauses: its KV cells are saved, its slot goes to the next in line,
   and it joins the back of the line. When its turn comes it goes on where it stopped,
   with its own sampler (random state, grammar) unchanged: no prompt is read twice and
   a seeded answer stays the same.

So a request waits for about one slice of a generation ahead of it rather than for a
whole long answer (a prompt is read in chunks of ``num_batch`` tokens between the others'
tokens). ``OLLAMA_NUM_PARALLEL=1`` gives one slot per model: requests then only take
turns, one at a time (the way this server worked before it batched).

Stopping the server cancels every generation and waits until none holds a model
before freeing them (a batch being decoded cannot be interrupted; freeing its model
under it would crash the server).

Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from labkit.ollama import options as opts_mod
from labkit.ollama.errors import OllamaError
from labkit.ollama.embedder import EmbeddingRunner
from labkit.ollama.line import AnyRunner, Line
from labkit.ollama.runner import LoadSettings, Runner
from labkit.ollama.store import Model
from labkit.system.rss import release_free_memory

log = logging.getLogger("labkit.ollama")

BUSY = "server busy, please try again.  maximum pending requests exceeded"



@dataclass
class Loaded:
    """A model in memory: its runner (and slots), users and expiry."""

    model: Model
    settings: LoadSettings
    runners: list[AnyRunner] = field(default_factory=list)  # one; empty once unloaded
    line: Line = field(default_factory=lambda: Line())
    active: int = 0
    expires_at: float | None = None     # wall-clock seconds; None = forever
    keep_alive: float = 300.0
    last_used: float = field(default_factory=time.monotonic)
    size: int = 0
    superseded: bool = False            # a copy with newer settings of the same file was loaded beside it

    @property
    def idle(self) -> bool:
        return self.active == 0

    def keep_for(self, keep_alive: float) -> None:
        """Stay loaded ``keep_alive`` seconds from now (for ever if infinite; 0 or less: unload now)."""
        self.keep_alive = keep_alive
        self.expires_at = None if math.isinf(keep_alive) else time.time() + keep_alive


@dataclass
class Lease:
    """A runner handed to one request; give it back with :meth:`Scheduler.release`."""

    loaded: Loaded
    runner: AnyRunner
    load_duration: int  # ns: waiting for and loading the model (Ollama's load_duration)


class Scheduler:
    """Loads, shares and unloads models for the server."""

    def __init__(self) -> None:
        self.num_parallel = opts_mod.default_parallel()
        max_loaded = opts_mod.env_int("OLLAMA_MAX_LOADED_MODELS", 0)
        self.max_loaded = max_loaded if max_loaded > 0 else 3
        self.max_queue = max(1, opts_mod.env_int("OLLAMA_MAX_QUEUE", 512))
        self.loaded: dict[LoadSettings, Loaded] = {}
        self.waiting = 0  # requests not yet given a runner (OLLAMA_MAX_QUEUE counts these)
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._reaper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # loads and unloads under way: kept, so none is lost
        self.running_jobs: set[threading.Event] = set()  # the cancel flags of generations under way
        self._turns: set[asyncio.Task[Lease]] = set()  # paused generations waiting for their next turn
        self.stopping = False

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the task that unloads models whose keep_alive ran out."""
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def stop(self, drain_seconds: float = 10.0) -> None:
        """Stop serving: cancel what runs, wait for it to leave the models, then free them.

        A generation stops at its next token when cancelled, but a prompt being read is one
        llama.cpp call that cannot be interrupted: closing its model under it would crash the
        server. So stop waits (up to ``drain_seconds``) until no request holds a model.
        """
        self.stopping = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for job_cancel in list(self.running_jobs):
            job_cancel.set()
        for turn in list(self._turns):  # paused ones are not resumed
            turn.cancel()
        deadline = time.monotonic() + drain_seconds
        while any(not loaded.idle for loaded in self.loaded.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.gather(*self._tasks, return_exceptions=True)  # loads and unloads under way
        for loaded in list(self.loaded.values()):
            if not loaded.idle:
                log.warning("%s is still busy after %.0f s; leaving it loaded", loaded.model.name.short,
                            drain_seconds)
                continue
            # Directly, not in a worker thread: at interpreter exit the thread pools are gone.
            self.loaded.pop(loaded.settings, None)
            for runner in loaded.runners:
                runner.close()
            loaded.runners = []

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            now = time.time()
            for loaded in list(self.loaded.values()):
                if loaded.idle and loaded.superseded:
                    await self._unload(loaded)
                elif loaded.idle and loaded.expires_at is not None and loaded.expires_at <= now:
                    log.info("unloading %s (keep_alive expired)", loaded.model.name.short)
                    await self._unload(loaded)

    # ---- requests ----------------------------------------------------------------------------

    async def acquire(self, model: Model, settings: LoadSettings, keep_alive: float, client: str = "") -> Lease:
        """Wait for a free context of ``model`` (loading it if needed) and hand it out.

        ``client`` names who asks (see "Fair turns" above); requests of one client queue behind each other.
        """
        if self.stopping:
            raise OllamaError(503, "the server is shutting down")
        if self.waiting >= self.max_queue:
            raise OllamaError(503, BUSY)
        self.waiting += 1
        started = time.perf_counter()
        try:
            loaded = await self._ensure_loaded(model, settings, keep_alive)  # counted as in use already
            try:
                runner = await self._take_runner(loaded, client)
            except BaseException:
                loaded.active -= 1
                raise
        finally:
            self.waiting -= 1
        loaded.last_used = time.monotonic()
        loaded.keep_alive = keep_alive
        loaded.expires_at = None  # in use: does not expire
        return Lease(loaded, runner, int((time.perf_counter() - started) * 1e9))

    def release(self, lease: Lease, keep_alive: float, claimed: bool = False) -> None:
        """Give a runner back; set the model's expiry from this request's keep_alive.

        ``claimed``: the request had paused for a waiter (:meth:`Line.claim`) and ends instead of going on.
        """
        loaded = lease.loaded
        loaded.line.give(lease.runner, claimed)
        loaded.active -= 1
        loaded.last_used = time.monotonic()
        loaded.keep_for(keep_alive)
        self._changed.set()
        if (keep_alive <= 0 or loaded.superseded) and loaded.idle:  # a superseded copy goes as soon as it can
            self._hold(asyncio.get_running_loop().create_task(self._unload(loaded)))

    def take_turn(self, lease: Lease, client: str) -> asyncio.Task[Lease]:
        """Pause: give the context to the next in line now; the task waits at the back for another turn.

        The request stays active (its model is not unloaded meanwhile). If the task is cancelled
        (its client left) the request counts as finished: do not release it again.
        """
        loaded = lease.loaded
        loaded.line.give(lease.runner, claimed=True)
        task = asyncio.get_running_loop().create_task(self._next_turn(lease, client))
        self._turns.add(task)  # stopping the server ends these waits
        task.add_done_callback(lambda done: self._turn_ended(done, loaded))
        return task

    def _turn_ended(self, task: asyncio.Task[Lease], loaded: Loaded) -> None:
        """A turn that ended without a lease (cancelled, even before it started, or failed) ends its request:
        counted in the task's callback, as a task cancelled before its first step runs none of its code."""
        self._turns.discard(task)
        if task.cancelled() or task.exception() is not None:
            loaded.active -= 1
            loaded.last_used = time.monotonic()
            if loaded.idle:
                loaded.keep_for(loaded.keep_alive)
            self._changed.set()

    async def _next_turn(self, lease: Lease, client: str) -> Lease:
        runner = await lease.loaded.line.take(client)
        lease.loaded.last_used = time.monotonic()
        return Lease(lease.loaded, runner, lease.load_duration)

    async def load_only(self, model: Model, settings: LoadSettings, keep_alive: float) -> int:
        """Load a model without running anything (empty prompt); returns load_duration in ns."""
        lease = await self.acquire(model, settings, keep_alive)
        self.release(lease, keep_alive)
        return lease.load_duration

    async def unload_model(self, model: Model) -> bool:
        """Unload every loaded copy of ``model`` (keep_alive 0 with an empty prompt)."""
        found = False
        for loaded in list(self.loaded.values()):
            if loaded.model.name.key == model.name.key or loaded.settings.path == str(model.gguf_path()):
                found = True
                loaded.keep_for(0)
                if loaded.idle:
                    await self._unload(loaded)
        return found

    # ---- loading -------------------------------------------------------------------------------

    async def _ensure_loaded(self, model: Model, settings: LoadSettings, keep_alive: float) -> Loaded:
        """The copy of ``model`` with ``settings``, loaded if need be, counted as in use (``active``) for
        this request from the moment it is found or made: nothing can unload it before the request runs."""
        loaded = self.loaded.get(settings)
        if loaded is not None:  # warm: no need to wait behind another model's load
            loaded.active += 1
            return loaded
        # The load runs in a task of its own that the request only waits for: a worker thread cannot stop
        # half-way, and a client hanging up mid-load would lose the copy (memory, decode thread) for good.
        task = self._hold(asyncio.get_running_loop().create_task(self._load(model, settings)))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(lambda done: self._left_while_loading(done, keep_alive))
            raise

    def _left_while_loading(self, task: asyncio.Task[Loaded], keep_alive: float) -> None:
        """The request that loaded a model left before using it: it no longer counts as in use, and the
        copy's keep_alive starts (a superseded copy goes at once, see :meth:`_reap`)."""
        if task.cancelled() or task.exception() is not None:
            return
        loaded = task.result()
        loaded.active -= 1
        if loaded.idle and loaded.expires_at is None:
            loaded.keep_for(keep_alive)
            self._changed.set()

    def _hold(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        """Hold a background task until it ends (the loop keeps only a weak reference); stop waits for it."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _load(self, model: Model, settings: LoadSettings) -> Loaded:
        async with self._lock:
            loaded = self.loaded.get(settings)
            if loaded is not None:
                loaded.active += 1
                return loaded
            # Same file with other settings (say a new num_ctx): Ollama waits until the model is idle and
            # reloads it, and every request queues behind the reload. Here an idle copy is unloaded, but a
            # busy one is not waited for (its requests would keep it busy, and the wait would hold
            # this lock): the new settings load beside it, and the busy copy is unloaded as soon as its
            # last request ends, so two copies are in memory only while both have work.
            for other in list(self.loaded.values()):
                if other.settings.path == settings.path and other.settings.embedding == settings.embedding:
                    other.superseded = True
                    await self._unload(other)  # at once if idle; otherwise when its last request is released
            while len(self.loaded) >= self.max_loaded:
                victims = sorted((m for m in self.loaded.values() if m.idle), key=lambda m: m.last_used)
                if victims:
                    log.info("unloading %s to make room (OLLAMA_MAX_LOADED_MODELS=%d)",
                             victims[0].model.name.short, self.max_loaded)
                    await self._unload(victims[0])
                elif self.stopping:  # (stop waits for this task; the busy models will not make room)
                    raise OllamaError(503, "the server is shutting down")
                else:
                    await self._wait_change()
            log.info("loading %s (num_ctx=%d%s)", model.name.short, settings.num_ctx,
                     ", embedding" if settings.embedding else "")
            try:
                runner = await asyncio.to_thread(EmbeddingRunner if settings.embedding else Runner, settings)
            except Exception as exc:
                log.exception("loading %s failed", model.name.short)
                raise OllamaError(500, f"llama runner process has terminated: {exc}") from None
            loaded = Loaded(model=model, settings=settings, runners=[runner])
            loaded.size = _estimate_size(model, runner, settings.slots)
            for _ in range(settings.slots):
                loaded.line.give(runner)
            loaded.active = 1  # the request it was loaded for
            self.loaded[settings] = loaded
            return loaded

    async def _take_runner(self, loaded: Loaded, client: str) -> AnyRunner:
        return await loaded.line.take(client)

    async def _wait_change(self) -> None:
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout=0.5)
        except TimeoutError:
            pass

    async def _unload(self, loaded: Loaded) -> None:
        """Free an idle model. One that a request took meanwhile stays: its runner is in use."""
        if not loaded.idle:
            return
        if self.loaded.get(loaded.settings) is loaded:
            del self.loaded[loaded.settings]
        runners, loaded.runners = loaded.runners, []
        for runner in runners:
            await asyncio.to_thread(runner.close)
        if runners:
            await asyncio.to_thread(release_free_memory)
        self._changed.set()

    # ---- /api/ps ------------------------------------------------------------------------------------

    def running(self) -> list[dict[str, Any]]:
        """Entries of /api/ps, longest remaining keep_alive first."""
        far = datetime(2318, 1, 1, tzinfo=timezone.utc)  # what Ollama shows for "forever"
        rows = []
        for loaded in self.loaded.values():
            if loaded.expires_at is not None:
                expires = datetime.fromtimestamp(loaded.expires_at, timezone.utc)
            elif math.isinf(loaded.keep_alive):
                expires = far
            else:  # busy right now: expires keep_alive after it finishes
                expires = datetime.now(timezone.utc) + timedelta(seconds=loaded.keep_alive)
            model = loaded.model
            row = {
                "name": model.name.short, "model": model.name.short, "size": loaded.size,
                "digest": model.digest, "details": model.details, "expires": expires, "size_vram": 0,
                "context_length": loaded.settings.num_ctx,
            }
            same = next((r for r in rows if r["model"] == row["model"]), None)
            if same is None:
                rows.append(row)
            else:  # the generation and the embedding runner of one model: one entry, as in Ollama
                same["size"] += row["size"]
                same["expires"] = max(same["expires"], expires)
                same["context_length"] = max(same["context_length"], row["context_length"])
        rows.sort(key=lambda r: r["expires"], reverse=True)
        for row in rows:
            row["expires_at"] = row.pop("expires").astimezone().isoformat()
        return rows


def _estimate_size(model: Model, runner: AnyRunner, slots: int = 1) -> int:
    """Weights plus the KV cache (f16 keys and values for every layer, context cell and slot)."""
    meta = runner.metadata
    arch = meta.get("general.architecture", "")
    try:
        layers = int(meta.get(f"{arch}.block_count", 0))
        embd = int(meta.get(f"{arch}.embedding_length", 0))
        heads = int(meta.get(f"{arch}.attention.head_count", 1)) or 1
        kv_heads = int(meta.get(f"{arch}.attention.head_count_kv", heads))
        kv = 2 * layers * runner.n_ctx * slots * (embd // heads) * kv_heads * 2
    except (TypeError, ValueError):
        kv = 0
    return model.size + kv
