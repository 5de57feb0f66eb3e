"""Test-wide rules: offline by construction, and a private model store.

Any attempt to open a connection to (or resolve) a non-loopback address is
recorded and fails the test that made it, even if the code under test
caught the error.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from pathlib import Path

import pytest

from labkit.system.ports import free_port

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# A lesson's claim about its own measurements that this machine contradicts fails the run
# (labkit.course.claims); notebook kernels started by nbval inherit this.
os.environ["LABKIT_STRICT_CLAIMS"] = "1"


# Tests and notebooks never use a learner's real Ollama: OLLAMA_HOST points at a free port, where
# nothing answers until a test or a notebook (through ensure_server) starts the kit's own server.
os.environ["OLLAMA_HOST"] = f"127.0.0.1:{free_port()}"

_violations: list[str] = []
_LOCAL_NAMES = {None, "", "localhost", "localhost.localdomain", "0.0.0.0", "::", "ip6-localhost"}


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(str(host).strip("[]").split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guard(sock: socket.socket, address: object) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        if not _is_loopback(address[0]):
            _violations.append(f"connect to {address!r}")
            raise OSError(f"tests are offline: refused connection to {address!r}")


def _connect(self: socket.socket, address: object) -> None:
    _guard(self, address)
    return _real_connect(self, address)


def _connect_ex(self: socket.socket, address: object) -> int:
    _guard(self, address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if not _is_loopback(host):
        _violations.append(f"resolve {host!r}")
        raise socket.gaierror(f"tests are offline: refused to resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _connect  # type: ignore[method-assign]
socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _getaddrinfo


@pytest.fixture(autouse=True)
def _offline_guard():
    """Fail any test during which code tried to reach beyond loopback."""
    start = len(_violations)
    yield
    new = _violations[start:]
    if new:
        pytest.fail("network access attempted in an offline test: " + "; ".join(new))


def pytest_configure(config: pytest.Config) -> None:
    """Give the run its own model store, so a learner's ~/.cache/labkit is never touched.

    The tests' store is kept between runs (``~/.cache/labkit-tests``), so the files the
    kit derives once (Gemma and Qwen assembled from their pieces, the F16 and Hugging Face exports, the
    quantization ladder's files) are built on the first run only; each is checked by its
    sha256 before use and rebuilt when missing or damaged. ``LABKIT_STORE_FOR_TESTS`` names
    another folder, or ``fresh`` for a new, empty one.
    """
    wanted = os.environ.get("LABKIT_STORE_FOR_TESTS", "")
    if wanted == "fresh":
        root = Path(tempfile.mkdtemp(prefix="labkit-test-home-"))
    else:
        root = Path(wanted) if wanted else Path.home() / ".cache" / "labkit-tests"
    root.mkdir(parents=True, exist_ok=True)
    os.environ["LABKIT_HOME"] = str(root)
