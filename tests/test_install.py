"""A normal (non-editable) install of the kit works from any folder: its data travels inside it.

The kit is built as an ordinary wheel and installed into a fresh virtual environment whose other
packages come from this one (no download, no compiling). Then, from a folder outside the
checkout, that environment's kernel runs a lesson end to end and the data files are found.

The lesson it runs is the learner's copy of 00_start_here, as ``labkit lab`` writes it (exercise
answers replaced by stubs): one run shows both that the wheel works away from the checkout and that a
fresh student edition runs top to bottom, each unanswered check saying "not yet" instead of failing.
nbval runs the course notebooks themselves, with their solutions, from the checkout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "00_start_here.ipynb"  # the doctor inside runs every engine from the wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh venv holding the kit as a wheel; its dependencies are this env's."""
    tmp = tmp_path_factory.mktemp("wheel-install")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp / "dist"), str(ROOT)], check=True, cwd=tmp)
    wheel = next((tmp / "dist").glob("labkit-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # This environment's packages as a plain path: its editable labkit (a .pth hook) does not come along.
    (site / "dependencies.pth").write_text("\n".join(p for p in sys.path if p.endswith("site-packages")) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, cwd=tmp)
    return python


def test_the_wheel_carries_the_data_and_runs_from_anywhere(installed: Path, tmp_path: Path) -> None:
    code = ("import json, labkit; from labkit.quant.ladder import heldout_text; from labkit.measure import memory; "
            "from labkit.tradeoffs import evaluate, load_cloud_prices; "
            "print(json.dumps({'file': labkit.__file__, 'heldout': len(heldout_text()), "
            "'models': len(memory.load_common_models()), 'prices': len(load_cloud_prices()), "
            "'tasks': len(evaluate.load_tasks())}))")
    out = subprocess.run([str(installed), "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    found = json.loads(out.stdout.splitlines()[-1])
    assert str(installed.parent.parent) in found["file"]  # the installed wheel, not the checkout
    assert found["heldout"] > 10_000 and min(found["models"], found["prices"], found["tasks"]) > 0


def test_a_learners_lesson_runs_end_to_end_from_the_wheel_outside_the_checkout(
        installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    from labkit.course.editions import make_edition

    kernels = tmp_path / "jupyter" / "kernels" / "labkit-wheel"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(installed), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "labkit (wheel)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("LABKIT_STRICT_CLAIMS", "0")  # unfilled stubs answer "not yet", as they should
    work = tmp_path / "elsewhere"
    work.mkdir()
    notebook = make_edition(LESSON, "student")
    NotebookClient(notebook, kernel_name="labkit-wheel", timeout=300,
                   resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    checks = [c for c in notebook.cells if c.cell_type == "code" and "check.answer(" in c.source]
    printed = ["".join(o.get("text", "") for o in c.outputs) for c in checks]
    assert len(printed) == 3 and all("] not yet:" in text for text in printed), printed
