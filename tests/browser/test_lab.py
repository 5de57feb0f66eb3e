"""The course in a real browser: `labkit lab`, a lesson run in JupyterLab, the explorers moved by hand.

nbval already runs every notebook, top to bottom, as a test. What it cannot see is the browser:
widgets that work headless can still fail there ("Error displaying widget: model not found"
when ipywidgets and jupyterlab_widgets drift apart, blank outputs, a kernel that never started).
So these tests open JupyterLab in headless Chromium the way a learner does and check only what
nbval cannot: the README's command opens the course, a notebook run with Run All Cells in
JupyterLab reaches the Ollama-compatible server that `labkit lab` started, and every explorer of
the course renders and redraws when its controls move (a small notebook, written next to the
lessons for the test and removed after it, does both). Each lesson itself runs once, under nbval.
Screenshots of each explorer go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOK_TIMEOUT_S = 600
EXPLORERS = "browser_explorers.ipynb"
# The server `labkit lab` started, reached from a JupyterLab kernel as the lessons reach it; then
# every explorer of the course, built as the lessons build them (the ladder is a short real one).
EXPLORER_CELLS = [
    "from labkit.engines import ollama_chat\n"
    'print("server says:", ollama_chat(num_ctx=512, num_predict=8).invoke("Say hello.").content)',
    "from labkit.course.widgets import CostExplorer, DecisionMatrix, FitExplorer, LatencyExplorer, QuantExplorer\n"
    "from labkit.quant import ladder",
    'FitExplorer(model="llama-3.1-8b", n_ctx=8192)',
    'rows = ladder.ladder("smollm2:135m", levels=("F16", "Q8_0"), n_tokens=32, isolate=False, progress=False)\n'
    'QuantExplorer(rows, level="Q8_0")',
    "CostExplorer(tokens_per_day=2_000_000)",
    "LatencyExplorer()",
    'DecisionMatrix(preset="hospital records")',
]
WIDGET_FAILURE = re.compile(r"Error displaying widget|model not found|Failed to (load|create) (model|view)",
                            re.IGNORECASE)

# The state of the open notebook, read from JupyterLab's own models.
_NOTEBOOK_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const code = panel.content.widgets.filter(cell => cell.model.type === 'code');
  const waiting = code.filter(cell => cell.model.sharedModel.getSource().trim() !== '' &&
                                      (cell.model.executionCount === null || cell.promptNode.textContent.includes('*')));
  const errors = [];
  for (const cell of code) {
    for (let i = 0; i < cell.model.outputs.length; i++) {
      const output = cell.model.outputs.get(i).toJSON();
      if (output.output_type === 'error') errors.push(output.ename + ': ' + output.evalue);
    }
  }
  return {kernel: kernel ? kernel.status : 'none', code: code.length, waiting: waiting.length, errors: errors};
}"""


def _open(page, lab, notebook: str) -> None:
    """Open a notebook as a learner would (its /lab/tree URL) and wait for its kernel.

    JupyterLab reports a notebook it cannot load (for example a paired .py that jupytext finds
    out of date) in a dialog: its text becomes the failure message.
    """
    page.goto(f"{lab.url}/lab/tree/{notebook}?reset&token={lab.token}")
    ready = """(name) => {
        const app = window.jupyterapp;
        const panel = app && app.shell.currentWidget;
        if (document.querySelector('.jp-Dialog')) return true;
        return panel && panel.context && panel.context.path === name && panel.context.isReady &&
               panel.sessionContext.session && panel.sessionContext.session.kernel &&
               panel.sessionContext.session.kernel.status === 'idle';
      }"""
    page.wait_for_function(ready, arg=notebook, timeout=120_000)
    # JupyterLab's question about its news feed is a toast that would cover the screenshots.
    page.add_style_tag(content=".Toastify { display: none !important; }")
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        pytest.fail(f"{notebook}: JupyterLab could not open it:\n{dialog.first.inner_text()[:2000]}")


def _run_all(page, notebook: str) -> dict:
    """Run All Cells, then wait until the kernel is idle and every code cell has an execution count."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    timeout = NOTEBOOK_TIMEOUT_S
    deadline = time.monotonic() + timeout
    settled = 0
    state: dict = {}
    while time.monotonic() < deadline:
        time.sleep(0.5)
        state = page.evaluate(_NOTEBOOK_STATE)
        idle = state["kernel"] == "idle"
        settled = settled + 1 if idle and (state["waiting"] == 0 or state["errors"]) else 0
        if settled >= 3:  # idle for three polls in a row (1.5 s): nothing is queued any more
            return state
    pytest.fail(f"{notebook}: not finished after {timeout} s ({state})")


def _assert_no_errors(page, notebook: str, state: dict) -> None:
    """Errors are read from the notebook's outputs: JupyterLab 4 renders a traceback with the same
    ``application/vnd.jupyter.stderr`` element as harmless stderr, so the page alone cannot tell them apart."""
    assert state["errors"] == [], f"{notebook}: cells raised {state['errors']}"
    failures = WIDGET_FAILURE.findall(page.locator(".jp-Notebook").inner_text())
    assert failures == [], f"{notebook}: a widget failed to display: {failures}"


def _explorer(page, label: str):
    """The ``interactive`` widget that has a control with this description."""
    return page.locator(".widget-interact").filter(
        has=page.locator(".widget-label", has_text=re.compile(f"^{re.escape(label)}$")))


def _figure(explorer) -> tuple[list[str], str]:
    """What the explorer shows: its plotted images and its printed figures."""
    out = explorer.locator(".widget-output")
    images = out.locator("img").evaluate_all("imgs => imgs.map(img => img.src)")
    return images, out.inner_text()


def _check_rendered(explorer, name: str) -> tuple[list[str], str]:
    explorer.scroll_into_view_if_needed()
    assert explorer.count() == 1, f"{name}: not found (or found twice) in the notebook"
    assert explorer.locator("select, .noUi-handle, .widget-slider").count() > 0, f"{name}: no controls rendered"
    explorer.locator(".widget-output img").first.wait_for(state="visible", timeout=30_000)
    images, text = _figure(explorer)
    assert images and all(src.startswith("data:image/png") for src in images), f"{name}: no figure shown"
    assert text.strip(), f"{name}: no printed figures"
    return images, text


def _wait_for_change(page, explorer, before: tuple[list[str], str], name: str) -> tuple[list[str], str]:
    """Wait until the figure differs from ``before`` and then stays the same for a second
    (one move can queue several redraws in the kernel)."""
    deadline = time.monotonic() + 60
    last, steady = None, 0
    while time.monotonic() < deadline:
        now = _figure(explorer)
        changed = now != before and now[0] and now[1].strip()
        steady = steady + 1 if changed and now == last else 0
        if steady >= 4:
            return now
        last = now
        page.wait_for_timeout(250)
    pytest.fail(f"{name}: moving a control did not change the figure (or it never settled)")


def _move_slider(page, explorer, label: str, presses: int = 2) -> None:
    """Focus a slider's handle and press the arrow key: a keyboard move is released at once,
    so sliders with ``continuous_update=False`` update too."""
    slider = explorer.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(f"^{re.escape(label)}$")))
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(presses):
        handle.press("ArrowRight")


def _pick(page, explorer, label: str, option_index: int | None = None) -> None:
    """Choose another entry in a dropdown (the next one, or ``option_index``)."""
    select = explorer.locator(".widget-dropdown").filter(
        has=page.locator(".widget-label", has_text=re.compile(f"^{re.escape(label)}$"))).locator("select")
    options = select.locator("option").all_inner_texts()
    current = select.evaluate("s => s.selectedIndex")
    index = option_index if option_index is not None else (current + 1) % len(options)
    select.select_option(index=index)


def _screenshot(explorer, screenshots: Path, name: str) -> None:
    path = screenshots / f"{name}.png"
    explorer.screenshot(path=str(path))
    assert path.stat().st_size > 10_000, f"{name}: screenshot looks empty"


# ---------------------------------------------------------------------------------------------

def test_labkit_lab_serves_the_learners_edition_and_starts_the_server(lab) -> None:
    """`labkit lab` serves the learner's edition of the course and starts the kit's server (no browser needed)."""
    version = httpx.get(f"{lab.ollama_url}/api/version", timeout=10).json()
    assert "version" in version
    served = lab.api("/api/contents/00_start_here.ipynb?content=1")
    assert served.status_code == 200, "JupyterLab did not serve the course"
    notebook = served.json()["content"]
    # The learner's edition: solutions are stubs, and no output (no solution's result) is stored.
    assert notebook["metadata"]["labkit"]["edition"] == "student"
    assert not any(cell.get("outputs") for cell in notebook["cells"] if cell["cell_type"] == "code")
    # The course's defaults: no news pop-up and no update check (both would try the network).
    notification = lab.api("/lab/api/settings/@jupyterlab/apputils-extension:notification").json()
    assert notification["schema"]["properties"]["fetchNews"]["default"] == "false"
    assert notification["schema"]["properties"]["checkForUpdates"]["default"] is False


def test_readme_main_command_opens_the_course_in_the_browser(lab, page) -> None:
    """In the browser, `labkit lab` shows every lesson of the course."""
    page.goto(f"{lab.url}/lab?reset&token={lab.token}")
    page.locator(".jp-DirListing-item", has_text="00_start_here.ipynb").wait_for(timeout=120_000)
    listed = page.locator(".jp-DirListing-itemName").all_inner_texts()
    assert set(NOTEBOOKS) <= {name.strip() for name in listed}, listed


def test_every_explorer_renders_and_redraws(lab, page, screenshots) -> None:
    """All five explorers in one notebook: each renders a figure and redraws when a control moves."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in EXPLORER_CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    created = lab.api(f"/api/contents/{EXPLORERS}", method="PUT",
                      json={"type": "notebook", "format": "json", "content": notebook})
    assert created.status_code in (200, 201), created.text
    try:
        _open(page, lab, EXPLORERS)
        state = _run_all(page, EXPLORERS)
        _assert_no_errors(page, EXPLORERS, state)
        assert "server says:" in page.locator(".jp-Notebook").inner_text()
        _check_fit_explorer(page, screenshots)
        _check_quant_explorer(page, screenshots)
        _check_cost_explorer(page, screenshots)
        _check_latency_explorer(page, screenshots)
        _check_decision_matrix(page, screenshots)
    finally:  # leave the page (no autosave after this), then remove the notebook and its jupytext .py pair
        page.goto("about:blank")
        for name in (EXPLORERS, EXPLORERS.replace(".ipynb", ".py")):
            lab.api(f"/api/contents/{name}", method="DELETE")


def _check_fit_explorer(page, screenshots: Path) -> None:
    explorer = _explorer(page, "n_ctx")
    before = _check_rendered(explorer, "FitExplorer")
    _move_slider(page, explorer, "n_ctx")
    _wait_for_change(page, explorer, before, "FitExplorer")
    _screenshot(explorer, screenshots, "01_fit_explorer")


def _check_quant_explorer(page, screenshots: Path) -> None:
    explorer = _explorer(page, "level")
    before = _check_rendered(explorer, "QuantExplorer")
    _pick(page, explorer, "level", option_index=0)
    _wait_for_change(page, explorer, before, "QuantExplorer")
    _screenshot(explorer, screenshots, "03_quant_explorer")


def _check_cost_explorer(page, screenshots: Path) -> None:
    explorer = _explorer(page, "input share")
    before = _check_rendered(explorer, "CostExplorer")
    _move_slider(page, explorer, "tokens/day", presses=5)
    _wait_for_change(page, explorer, before, "CostExplorer")
    _screenshot(explorer, screenshots, "05_cost_explorer")


def _check_latency_explorer(page, screenshots: Path) -> None:
    explorer = _explorer(page, "prompt tokens")
    before = _check_rendered(explorer, "LatencyExplorer")
    _pick(page, explorer, "cloud")
    _wait_for_change(page, explorer, before, "LatencyExplorer")
    _screenshot(explorer, screenshots, "05_latency_explorer")


def _check_decision_matrix(page, screenshots: Path) -> None:
    explorer = _explorer(page, "preset")
    before = _check_rendered(explorer, "DecisionMatrix")
    _pick(page, explorer, "preset")
    _wait_for_change(page, explorer, before, "DecisionMatrix")
    _screenshot(explorer, screenshots, "05_decision_matrix")
