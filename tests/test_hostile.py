"""Odd and hostile requests beside ordinary streams (bench/hostile.py runs the full check): with the
server's address space capped at 8 GB, every ordinary stream ends normally, every odd request is
answered within a minute, and the server answers afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import hostile  # noqa: E402  (bench/hostile.py)


def test_odd_requests_leave_ordinary_streams_and_the_server_unharmed() -> None:
    report = hostile.run(streams=2, tokens=48, cap_gb=8)
    assert not report.problems, report.problems
    assert report.ordinary and set(report.ordinary) <= {"stop", "length"}, report.ordinary
    assert len(report.odd) == len(hostile.odd_requests(None)), report.odd
    assert all(0 <= status and seconds < 60 for _, status, seconds, _ in report.odd), report.odd
    assert report.after == 200
