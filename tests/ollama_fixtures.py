"""Shared fixtures for the Ollama-compatible server tests.

One real server (uvicorn in a background thread, on a free loopback port)
serves each test module that declares ``pytest_plugins = ["ollama_fixtures"]``;
it starts with the module's first test that needs it and stops after its last one,
and the server settings it puts in the environment are restored then, so no other
test (nor a notebook kernel started later) runs with them. Tests use the real course model
through llama.cpp, with short generations, a small context and one thread, so
they stay quick on a 2-core machine that is busy with other work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Server-wide settings for the test server (restored when its module's tests end).
TEST_ENV = {
    "OLLAMA_CONTEXT_LENGTH": "1024",  # a small default num_ctx: quick loads, small KV cache
    "LABKIT_THREADS": "1",            # robust speed on a shared 2-core machine
    "OLLAMA_KEEP_ALIVE": "5m",
}

@contextlib.contextmanager
def env(**values: str) -> Iterator[None]:
    """Set environment variables for a block, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@pytest.fixture(scope="module")
def ollama_server() -> Iterator[Any]:
    """The running test server (``.url`` is its base URL), stopped after the module's tests."""
    from labkit import models
    from labkit.ollama.server import start_background

    home = models.store_root()
    assert home != Path.home() / ".cache" / "labkit", "tests must run with their own LABKIT_HOME (see conftest.py)"
    shutil.rmtree(home / "ollama", ignore_errors=True)  # a clean slate for manifests and blobs
    with env(**TEST_ENV):
        server = start_background(log_level=logging.INFO)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture()
def url(ollama_server: Any) -> Iterator[str]:
    """Base URL of the test server, also exported as OLLAMA_HOST for clients created in the test."""
    with env(OLLAMA_HOST=ollama_server.url):
        yield ollama_server.url


@pytest.fixture()
def client(url: str) -> Any:
    import ollama

    return ollama.Client(host=url)


@pytest.fixture()
def server_log() -> Iterator[list[str]]:
    """Messages the server logs during the test."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Collect(level=logging.DEBUG)
    logger = logging.getLogger("labkit.ollama")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
