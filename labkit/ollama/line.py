"""The line at one model: its free slots and the requests waiting for one, served round-robin by client.

Why a line per model and a rotation by client: on a classroom server one learner sending many
requests must not push everyone else back (see the scheduler's "Fair turns"); and a generation
past its time slice pauses for a waiter only when no other pause already makes room for that
waiter (:meth:`Line.claim`). Used by :mod:`labkit.ollama.scheduler`; notebooks/02_ollama shows
the turns.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from labkit.ollama.embedder import EmbeddingRunner
from labkit.ollama.runner import Runner

AnyRunner = Runner | EmbeddingRunner


class Line:
    """The free slots of one model and the requests waiting for one, served round-robin by client.

    A slot is represented by the runner itself: a runner with four slots is in ``free`` four times.
    """

    def __init__(self) -> None:
        self.free: list[AnyRunner] = []
        self.waiting: dict[str, deque[asyncio.Future[AnyRunner]]] = {}  # client -> its requests, in rotation order
        self.count = 0    # requests waiting
        self.claimed = 0  # of those, how many a pausing generation is already making room for
        self._counts = threading.Lock()  # count and claimed are read by decode threads (claim)

    def claim(self) -> bool:
        """Should a generation past its slice pause now? Yes for one waiter no other pause serves yet.

        Called from a decode thread. Each waiter is claimed by one pausing generation, so one request
        in line pauses one generation, not every one past its slice. The claim ends when the pausing
        generation's slot is handed on (:meth:`give` with ``claimed``).
        """
        with self._counts:
            if self.count > self.claimed:
                self.claimed += 1
                return True
            return False

    def give(self, runner: AnyRunner, claimed: bool = False) -> None:
        """A context is free: hand it to the next client in rotation, or keep it.

        ``claimed``: the context of a generation that paused for a waiter (see :meth:`claim`).
        """
        if claimed:
            with self._counts:
                self.claimed = max(0, self.claimed - 1)
        while self.waiting:
            client = next(iter(self.waiting))
            requests = self.waiting.pop(client)
            turn = requests.popleft()
            if requests:
                self.waiting[client] = requests  # the client's other requests: back of the rotation
            with self._counts:
                self.count -= 1
            if not turn.done():  # (a request that gave up has already left the line)
                turn.set_result(runner)
                return
        self.free.append(runner)

    async def take(self, client: str) -> AnyRunner:
        """Wait for a context; ``client`` says whose turn this is."""
        if self.free and not self.waiting:
            return self.free.pop()
        turn: asyncio.Future[AnyRunner] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(client, deque()).append(turn)
        with self._counts:
            self.count += 1
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give(turn.result())  # it came just as we left: pass it on
            else:
                requests = self.waiting.get(client)
                if requests is not None and turn in requests:
                    requests.remove(turn)
                    with self._counts:
                        self.count -= 1
                        self.claimed = min(self.claimed, self.count)
                    if not requests:
                        del self.waiting[client]
            raise
