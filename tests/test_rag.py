"""The capstone's parts: the shipped corpus is what its generator writes, the vector store persists
across processes, the connection recorder sees loopback and beyond, and the metrics count right."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from labkit.rag import corpus, evaluate, privacy


def test_the_shipped_corpus_is_what_the_generator_writes() -> None:
    with tempfile.TemporaryDirectory() as folder:
        corpus.write(Path(folder))
        for name in ("notes.jsonl", "questions.csv", "visits.jsonl", "hard_questions.csv"):
            assert (Path(folder) / name).read_text() == (corpus.FOLDER / name).read_text(), name
    notes, questions = corpus.notes(), corpus.questions()
    assert len(notes) == 40 and len(questions) >= 40
    by_id = {n.id: n for n in notes}
    assert all(q.answer in by_id[q.note_id].text for q in questions)  # every answer is in its note
    by_id = {n.id: n for n in corpus.notes(visits=True)}
    hard = corpus.questions(hard=True)
    assert [sum(q.kind == kind for q in hard) for kind in corpus.KINDS] == [corpus.PER_KIND] * 4
    for q in hard:
        if q.kind == "unanswerable":
            assert not q.note_id and not q.answer
        else:
            assert evaluate.answer_correct(by_id[q.note_id].text.replace("\n", " "), q.answer, max_words=999), q
        if q.kind == "paraphrased":  # no field name of the notes quoted
            assert not any(f in q.question.lower() for f in ("condition", "medication", "allergies", "follow-up")), q
        if q.kind == "no name":
            assert not any(n.patient in q.question for n in corpus.notes()), q


_BUILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from labkit.rag import corpus, store
    indexed, seconds = store.index(corpus.notes()[:10], "minilm", folder=Path(sys.argv[1]))
    best = indexed.similarity_search("What dose of budesonide does Ivo Castell take?", k=1)[0]
    print(f"seconds={seconds:.3f} best={best.metadata['note_id']}")
""")


def test_the_vector_store_persists_across_processes() -> None:
    with tempfile.TemporaryDirectory() as folder:
        runs = [subprocess.run([sys.executable, "-c", _BUILD, folder], capture_output=True, text=True, timeout=300)
                for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    first, second = (run.stdout.strip().splitlines()[-1] for run in runs)
    assert not first.startswith("seconds=0.000") and first.endswith("best=note-001"), first
    assert second == "seconds=0.000 best=note-001", second  # reopened from disk, not embedded again


def test_the_recorder_sees_loopback_and_beyond() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    local = server.getsockname()
    with privacy.recording() as log:
        with socket.create_connection(local, timeout=5):
            pass
        # The event socket.connect raises before it connects beyond loopback (raised here directly: these
        # tests refuse any real attempt to leave the machine).
        with socket.socket() as outward:
            sys.audit("socket.connect", outward, ("192.0.2.1", 9))
    server.close()
    addresses = [address for _, address in log]
    assert local in addresses and ("192.0.2.1", 9) in addresses
    assert [privacy.loopback(a) for a in addresses] == [True, False]
    assert privacy.loopback("/run/some.sock") and privacy.loopback(("::1", 80, 0, 0))


class _Doc:
    def __init__(self, note_id: str) -> None:
        self.metadata = {"note_id": note_id}


class _Store:
    """Returns fixed rankings: the metric code, not a model, is under test here."""

    def __init__(self, rankings: dict[str, list[str]]) -> None:
        self.rankings = rankings

    def similarity_search(self, question: str, k: int) -> list[_Doc]:
        return [_Doc(n) for n in self.rankings[question][:k]]


def test_recall_and_mrr_count_ranks() -> None:
    questions = [corpus.Question("a", "n1", ""), corpus.Question("b", "n2", ""), corpus.Question("c", "n3", "")]
    store = _Store({"a": ["n1", "n9"], "b": ["n9", "n9", "n2"], "c": ["n8", "n7"]})  # ranks 1, 2 (deduplicated), none
    r = evaluate.retrieval(store, questions, k=5)
    assert (r.recall_at_1, r.recall_at_k) == (1 / 3, 2 / 3)
    assert abs(r.mrr - (1 + 1 / 2) / 3) < 1e-9
    assert evaluate.answer_correct("It is 50  MG daily.", "50 mg") and not evaluate.answer_correct("5 mg", "50 mg")


def test_answers_are_graded_by_whole_tokens() -> None:
    right = evaluate.answer_correct
    assert right("She takes apixaban 5 mg daily.", "5 mg") and not right("25 mg daily", "5 mg")
    assert not right("2.5 mg", "5 mg") and right("on 18 March", "18 March") and right("March 18th, no: March 18", "18 March")
    assert not right("The dose went from 50 mg to 100 mg.", "100 mg", avoid="50 mg")  # the earlier visit's dose too
    note = corpus.notes()[0].text
    assert not right(note, "400 mcg")  # a pasted note is not an answer


def _native_connect(port: int) -> int:
    """Connect a TCP socket to 127.0.0.1:``port`` from C (libc), unseen by Python's socket module."""
    import ctypes

    class SockaddrIn(ctypes.Structure):
        _fields_ = [("family", ctypes.c_ushort), ("port", ctypes.c_uint16), ("addr", ctypes.c_uint8 * 4),
                    ("zero", ctypes.c_uint8 * 8)]

    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    address = SockaddrIn(socket.AF_INET, socket.htons(port), (ctypes.c_uint8 * 4)(127, 0, 0, 1))
    assert libc.connect(fd, ctypes.byref(address), ctypes.sizeof(address)) == 0, ctypes.get_errno()
    return fd


def test_the_watch_sees_native_and_udp_sockets_and_fails_on_nothing() -> None:
    import os

    import pytest

    if not sys.platform.startswith("linux"):
        pytest.skip("the native connect is written for Linux's sockaddr_in")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    assert privacy.server_pid(f"http://127.0.0.1:{port}") == os.getpid()  # found by its listening port
    with privacy.watching([os.getpid()], interval=0.01) as watch:
        fd = _native_connect(port)
        with privacy.recording() as log:
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("0.0.0.0", 0))  # unconnected and not bound to loopback: it could send anywhere
            udp.sendto(b"ping", ("127.0.0.1", port))
            import time

            seen = watch.samples
            while watch.samples < seen + 2:  # two whole samples while both sockets are open
                time.sleep(0.01)
        udp.close()
        os.close(fd)
    server.close()
    assert log == []  # neither the native connect nor sendto raises socket.connect
    remote = {s.remote for s in watch.sockets if s.kind == "tcp"}
    assert f"127.0.0.1:{port}" in remote, watch.sockets  # the native connection, seen by the OS
    assert [s.kind for s in watch.beyond_loopback()] == ["udp"] and not privacy.only_loopback(watch)
    assert not privacy.only_loopback(privacy.Watch([12345678], set(), samples=5))  # nothing seen proves nothing
    local = privacy.Watch([1], {privacy.Socket(1, "tcp", "127.0.0.1:5", f"127.0.0.1:{port}", "ESTABLISHED")}, 1)
    assert privacy.only_loopback(local)
