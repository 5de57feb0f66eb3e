"""Committed notebooks are in sync with their .py pair and were run top to bottom.

jupytext's own --sync decides direction by file timestamps, which mean
nothing after a fresh clone, so this compares cell sources instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9]*.ipynb"))


def _cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells if cell.source.strip()]


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_matches_its_py_pair(ipynb: Path) -> None:
    import jupytext

    script = ipynb.with_suffix(".py")
    assert script.exists(), f"{ipynb.name} has no paired {script.name}: run `jupytext --sync {ipynb}`"
    assert _cells(jupytext.read(ipynb)) == _cells(jupytext.read(script)), (
        f"{ipynb.name} and {script.name} differ: edit the .py, then `jupytext --to notebook "
        f"--update {script}` and re-run the notebook"
    )
    # Byte for byte too (cell metadata included): otherwise JupyterLab's jupytext refuses to open
    # the pair whenever the .ipynb happens to be the newer file, as after a fresh clone.
    canonical = jupytext.writes(jupytext.read(ipynb), fmt="py:percent")
    assert script.read_text() == canonical, f"rewrite the pair from the notebook: `jupytext --to py:percent {ipynb}`"


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_was_run_top_to_bottom_without_errors(ipynb: Path) -> None:
    import nbformat

    notebook = nbformat.read(ipynb, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"{ipynb.name} was not run top to bottom on a fresh kernel (execution counts {counts})"
    )
    errors = [o for cell in code for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{ipynb.name} holds stored errors: {[e.get('ename') for e in errors]}"
