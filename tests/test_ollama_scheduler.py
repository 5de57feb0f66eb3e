"""The scheduler's faults, each shown on the real course model: an unload that would close a model a
request had just taken, a shutdown that would free a model while a prompt is being read, and a
seeded sampled answer that changed when another request made it pause.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import ollama

from labkit.ollama import options, store
from labkit.ollama.runner import Job, LoadSettings
from labkit.ollama.scheduler import Scheduler

pytest_plugins = ["ollama_fixtures"]  # the shared server fixtures
MODEL = "smollm2:135m"


def _settings(num_ctx: int = 256) -> tuple[store.Model, LoadSettings]:
    model = store.find(MODEL)
    assert model is not None
    return model, LoadSettings(path=str(model.gguf_path()), num_ctx=num_ctx, num_batch=512, num_thread=2)


def test_an_unload_leaves_a_model_that_a_request_took_meanwhile() -> None:
    """keep_alive 0 schedules an unload; a request that takes the model before it runs keeps it."""

    async def scenario() -> str:
        scheduler = Scheduler()
        model, settings = _settings()
        first = await scheduler.acquire(model, settings, keep_alive=0)
        scheduler.release(first, keep_alive=0)  # idle, keep_alive 0: an unload is on its way
        second = await scheduler.acquire(model, settings, keep_alive=300)  # taken before it ran
        await asyncio.sleep(0.2)  # the unload task runs now
        try:
            assert scheduler.loaded.get(settings) is second.loaded, "the model was unloaded while in use"
            assert second.runner in second.loaded.runners, "the runner in use was closed"
            job = Job(prompt_tokens=second.runner.tokenize("The capital of France is"),
                      options=options.merge({"temperature": 0, "num_predict": 4}, None))
            outcome = second.runner.generate(job, lambda text, probs: None)
            return outcome.done_reason
        finally:
            scheduler.release(second, keep_alive=300)
            await scheduler.stop()

    assert asyncio.run(scenario()) in ("length", "stop")


# Run in a process of its own: on the old code, freeing the model under the prompt being read crashed
# the whole process (the test then fails on its exit status instead of taking pytest with it).
_STOP_WHILE_READING = textwrap.dedent("""
    import asyncio, time
    from labkit.ollama import generation, options, store
    from labkit.ollama.runner import Job, LoadSettings
    from labkit.ollama.scheduler import Scheduler

    async def main():
        scheduler = Scheduler()
        scheduler.start()
        model = store.find("smollm2:135m")
        settings = LoadSettings(path=str(model.gguf_path()), num_ctx=4096, num_batch=512, num_thread=2)
        lease = await scheduler.acquire(model, settings, 300)
        job = Job(prompt_tokens=lease.runner.tokenize("word " * 1000),
                  options=options.merge({"temperature": 0, "num_predict": 64}, None))
        running = getattr(scheduler, "running_jobs", set())  # (the old scheduler had no such list)
        running.add(job.cancel)
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(generation.executor, lease.runner.generate, job, lambda text, probs: None)

        async def finish():
            outcome = await work
            running.discard(job.cancel)
            scheduler.release(lease, 300)
            return outcome

        done = asyncio.ensure_future(finish())
        await asyncio.sleep(0.3)  # the 1000-token prompt is being read now
        started = time.perf_counter()
        await scheduler.stop()
        print("stop waited", round(time.perf_counter() - started, 2), "s; work done:", work.done())
        print("reason:", (await done).done_reason, "; loaded after stop:", len(scheduler.loaded))

    asyncio.run(main())
""")


def test_stopping_waits_for_the_prompt_being_read_then_frees_the_model() -> None:
    run = subprocess.run([sys.executable, "-c", _STOP_WHILE_READING], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"exit status {run.returncode}:\n{run.stdout}\n{run.stderr[-2000:]}"
    assert "work done: True" in run.stdout, run.stdout
    assert "reason: cancel ; loaded after stop: 0" in run.stdout, run.stdout


def test_a_seeded_sampled_answer_is_the_same_when_it_pauses_for_others(url: str, ollama_server) -> None:  # type: ignore[no-untyped-def]
    """Alone, and paused for requests waiting for a slot (every slot taken): the same text."""
    client = ollama.Client(host=url)
    seeded = {"temperature": 1.0, "seed": 7, "num_predict": 64, "num_ctx": 512}
    prompt = "Write a short story about a robot."
    alone = client.generate(model=MODEL, prompt=prompt, options=seeded).response
    scheduler = ollama_server.server.config.app.state.scheduler
    (loaded,) = [m for m in scheduler.loaded.values() if m.settings.num_ctx == 512]
    runner = loaded.runners[0]
    pauses_before = runner.pauses
    parts: list[str] = []
    begun = threading.Event()

    def main() -> None:
        for n, part in enumerate(client.generate(model=MODEL, prompt=prompt, options=seeded, stream=True)):
            parts.append(part.response)
            if n == 20:  # past its slice: the first generation a waiter can pause
                begun.set()

    with ThreadPoolExecutor(scheduler.num_parallel + 2) as pool:
        first = pool.submit(main)
        assert begun.wait(60)
        others = [pool.submit(client.generate, model=MODEL, prompt=f"Count to {n}.",
                              options={"temperature": 0, "num_predict": 24, "num_ctx": 512})
                  for n in range(scheduler.num_parallel + 1)]  # more than the free slots: some wait
        first.result()
        for other in others:
            other.result()
    assert runner.pauses > pauses_before, "no generation paused: the test did not test a pause"
    assert "".join(parts) == alone


def test_other_load_settings_never_wait_for_a_busy_model(url: str) -> None:
    """Streams keep the model busy with num_ctx 1024; a request with num_ctx 768 is answered meanwhile
    (the old code waited for an idle model that never came, holding the scheduler's lock), and so
    is one with the current settings."""
    stop, errors, ends = threading.Event(), [], []
    client = ollama.Client(host=url)

    def streams() -> None:
        try:
            while not stop.is_set():
                for part in client.generate(model=MODEL, prompt="Write a long essay about the sea.", stream=True,
                                            options={"temperature": 0, "num_predict": 40, "num_ctx": 1024}):
                    if part.done:
                        ends.append(part.done_reason)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=streams) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        with ThreadPoolExecutor(2) as pool:
            other = pool.submit(client.generate, model=MODEL, prompt="Hi",
                                options={"temperature": 0, "num_predict": 4, "num_ctx": 768})
            same = pool.submit(client.generate, model=MODEL, prompt="Hi",
                               options={"temperature": 0, "num_predict": 4, "num_ctx": 1024})
            assert other.result(timeout=60).eval_count == 4
            assert same.result(timeout=60).eval_count == 4
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not errors and ends and set(ends) == {"length"}



def test_a_copy_with_older_settings_goes_once_its_work_ends() -> None:
    """Other settings load beside a busy copy; that copy is unloaded when its last request ends (it used to
    stay for its whole keep_alive, so requests trying settings filled the memory with copies)."""

    async def scenario() -> tuple[set, set]:
        scheduler = Scheduler()
        model, old = _settings(256)
        _, new = _settings(384)
        busy = await scheduler.acquire(model, old, keep_alive=300)
        other = await scheduler.acquire(model, new, keep_alive=300)  # loads beside the busy copy
        try:
            both = set(scheduler.loaded)
            scheduler.release(other, keep_alive=300)
            scheduler.release(busy, keep_alive=300)  # the old copy's last request ends
            await asyncio.sleep(0.5)
            return both, set(scheduler.loaded)
        finally:
            await scheduler.stop()

    both, left = asyncio.run(scenario())
    assert both == {_settings(256)[1], _settings(384)[1]}, "the new settings did not load beside the busy copy"
    assert left == {_settings(384)[1]}, "the copy with the older settings stayed after its work ended"


def test_a_turn_cancelled_before_it_starts_ends_its_request() -> None:
    """A paused request whose client leaves at once (its turn cancelled before the task's first step)
    ends: the model becomes idle and keep_alive 0 unloads it (it used to stay busy for ever, so a
    room's hang-ups left copies of the model in memory that nothing could unload)."""

    async def scenario() -> tuple[bool, bool]:
        scheduler = Scheduler()
        model, settings = _settings()
        lease = await scheduler.acquire(model, settings, keep_alive=300)
        try:
            turn = scheduler.take_turn(lease, "learner")
            turn.cancel()  # before the loop ran it
            await asyncio.gather(turn, return_exceptions=True)
            idle = lease.loaded.idle
            await scheduler.unload_model(model)
            return idle, settings in scheduler.loaded
        finally:
            await scheduler.stop()

    idle, still_loaded = asyncio.run(scenario())
    assert idle, "the cancelled turn left its request counted as running"
    assert not still_loaded, "keep_alive 0 could not unload the model"


def _copies_mapped(path: str) -> int:
    """How many times this process maps the model file: once per loaded copy."""
    import psutil

    return sum(m.path == path for m in psutil.Process().memory_maps(grouped=False))


def test_a_client_that_leaves_while_its_model_loads_leaves_no_copy_behind() -> None:
    """The load goes on in its worker thread when the request is cancelled; the copy it makes is kept
    by the scheduler and freed like any other (it used to be dropped still loaded: a room's hang-ups
    during loads left copies, each with its model file mapped and its decode thread, that nothing
    could free)."""

    async def scenario() -> tuple[bool, float | None, int]:
        scheduler = Scheduler()
        model, settings = _settings(320)
        before = _copies_mapped(settings.path)
        request = asyncio.create_task(scheduler.acquire(model, settings, keep_alive=60))
        await asyncio.sleep(0.05)  # the load is under way in its worker thread
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
        try:
            for _ in range(300):  # until the load ends (a load takes well under a second here)
                if settings in scheduler.loaded:
                    break
                await asyncio.sleep(0.1)
            kept = settings in scheduler.loaded
            expires = scheduler.loaded[settings].expires_at if kept else None
            await scheduler.unload_model(model)
            return kept, expires, _copies_mapped(settings.path) - before
        finally:
            await scheduler.stop()

    kept, expires, left = asyncio.run(scenario())
    assert kept, "the copy loaded for the request that left was dropped instead of kept"
    assert expires is not None, "the copy nobody used would stay loaded for ever"
    assert left == 0, f"{left} copies of the model file are still mapped after unloading it"
