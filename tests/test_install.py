"""A normal (non-editable) install of the kit works from any folder: its data travels inside it.

The kit is built as an ordinary wheel and installed into a fresh virtual environment whose other
packages come from this one (no download, no compiling). Then, from a folder outside the
checkout, that environment's kernel runs a lesson end to end and the data files are found.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "05_local_vs_cloud.ipynb"  # reads the price, hardware and task files


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


def test_a_lesson_runs_end_to_end_from_the_wheel_outside_the_checkout(installed: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    kernels = tmp_path / "jupyter" / "kernels" / "labkit-wheel"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(installed), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "labkit (wheel)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(LESSON, work / LESSON.name)
    notebook = nbformat.read(work / LESSON.name, as_version=4)
    NotebookClient(notebook, kernel_name="labkit-wheel", timeout=300,
                   resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
