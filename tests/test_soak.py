"""A short soak of the classroom server (bench/soak.py runs the full one): several learners with a
realistic mix for a quarter of a minute, nothing lost, no threads or open files left behind.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import soak  # noqa: E402  (bench/soak.py)


def test_a_short_soak_loses_nothing_and_leaves_nothing_behind() -> None:
    from labkit.ollama.server import start_process

    server = start_process()
    try:
        report = asyncio.run(soak.soak(server.url, server.process.pid, learners=6, seconds=15))
    finally:
        server.stop()
    assert not report.problems, report.problems
    assert report.busy == 0
    assert {"short", "long", "json", "embed", "hang up"} <= set(report.counts), report.counts
    res = report.resources(warm_up=5)
    assert res["threads_end"] <= res["threads_warm"] + 2, res
    assert res["fds_end"] <= res["fds_warm"] + 2, res


def test_a_short_hostile_soak_loses_nothing() -> None:
    """The soak's mix with the odd and hostile requests of bench/hostile.py added to it."""
    from labkit.ollama.server import start_process

    server = start_process()
    try:
        report = asyncio.run(soak.soak(server.url, server.process.pid, learners=4, seconds=15, hostile=True))
    finally:
        server.stop()
    assert not report.problems, report.problems
    assert report.busy == 0
    assert sum(report.odd.values()) > 0 and sum(report.counts.values()) > 0, (report.odd, report.counts)
    assert report.mapped[-1] == 0, f"{report.mapped[-1]} copies of a model stayed mapped after every model was unloaded"
