"""Fixtures for the browser tests: the README's main command (`labkit lab`) and headless Chromium.

Only this folder uses them. Every test here carries the ``browser`` marker, so
``pytest -m "not browser"`` leaves them out; without Debian's Chromium or Playwright they skip
with a reason that says what to install.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from labkit.cli import course_dir
from labkit.system.ports import free_port, wait_for_http

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
TOKEN = "browser-test-token"
# Chromium stays on loopback: no sync, no component or field-trial downloads, no QUIC probes.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@dataclass
class Lab:
    """A running `labkit lab`: where JupyterLab and the Ollama-compatible server answer."""

    url: str
    token: str
    ollama_url: str
    log: Path

    def api(self, path: str, method: str = "GET", json: dict | None = None) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", headers={"Authorization": f"token {self.token}"},
                             json=json, timeout=30)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def shut_down_kernels(self) -> None:
        """Stop every kernel, so one notebook's kernel does not slow the next one down."""
        for kernel in self.api("/api/kernels").json():
            self.api(f"/api/kernels/{kernel['id']}", method="DELETE")


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium")
    pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright: pip install playwright "
                        "(its own browser download is not needed)")
    return CHROMIUM


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """`labkit lab` as the README runs it, on free loopback ports, token-protected (no browser needed).

    OLLAMA_HOST points at a free port where nothing answers, so the kit starts its own server.
    ``expose_app_in_browser`` lets the tests call JupyterLab's commands (Run All Cells) directly.
    """
    lab_port, ollama_port = free_port(), free_port()
    home = tmp_path_factory.mktemp("lab")
    # Own JupyterLab settings and workspaces: autosave off, so running the lessons never rewrites
    # them (or their jupytext .py pairs); no news-feed question.
    settings = home / "settings"
    _write_json(settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings", {"autosave": False})
    _write_json(settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
                {"fetchNews": "false"})
    env = {**os.environ, "OLLAMA_HOST": f"127.0.0.1:{ollama_port}", "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    course = {path: path.read_bytes() for path in course_dir().iterdir() if path.is_file()}
    command = [sys.executable, "-m", "labkit.cli", "lab", "--port", str(lab_port), "--no-browser",
               "--ip=127.0.0.1", f"--ServerApp.token={TOKEN}", "--LabApp.expose_app_in_browser=True",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = home / "labkit-lab.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    running = Lab(url=f"http://127.0.0.1:{lab_port}", token=TOKEN, ollama_url=f"http://127.0.0.1:{ollama_port}",
                  log=log)
    try:
        try:
            wait_for_http(f"{running.url}/api/status", process=process, timeout=120,
                          headers={"Authorization": f"token {TOKEN}"})
        except RuntimeError as err:
            pytest.fail(f"`labkit lab` did not come up ({err}):\n{running.log_tail()}")
        yield running
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    changed = [path.name for path, data in course.items() if not path.exists() or path.read_bytes() != data]
    added = [path.name for path in course_dir().iterdir() if path.is_file() and path not in course]
    assert changed == [] and added == [], f"the browser tests left the course changed: {changed + added}"


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[object]:
    """Headless Chromium driven by Playwright, with a fresh profile for the run.

    Module scope, not session: Playwright's sync API keeps an asyncio loop running while it is
    open, and later tests that call ``asyncio.run`` must not find one.
    """
    from playwright.sync_api import sync_playwright

    profile = Path(tempfile.mkdtemp(prefix="labkit-chromium-"))
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 2200})
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser, lab: Lab) -> Iterator[object]:
    """A fresh tab; afterwards it is closed and every kernel stopped."""
    tab = browser.new_page()
    tab.set_default_timeout(60_000)
    try:
        yield tab
    finally:
        tab.close()
        lab.shut_down_kernels()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
