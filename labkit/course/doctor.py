"""``labkit doctor``: is this machine ready for the course?

Each check gives OK, WARN or FAIL with a one-line fix, in the spirit of an
environment checker a learner can paste into a bug report. FAIL means a lesson
will not run; WARN means something is slower or missing but optional.

Installed is not the same as working: a llama.cpp build can import fine and
still die at the first token on a CPU that lacks an instruction it was built
for. So the doctor also runs one short, real generation per engine
(llama.cpp, transformers, and a round trip through the kit's Ollama-compatible
server), each in a child process (:mod:`labkit.system.child`) that may crash or hang
without taking the doctor with it, and reports tokens/s. ``quick=True``
(``labkit doctor --quick``) skips them. Introduced in notebooks/00_start_here.
"""

from __future__ import annotations

import json
import platform
import sys
import urllib.request
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

OK, WARN, FAIL = "OK", "WARN", "FAIL"

MIN_PYTHON = (3, 11)


def required_packages() -> list[str]:
    """The packages the kit needs, as its own installed metadata lists them (extras left out)."""
    import re

    try:
        requirements = metadata.requires("labkit") or []
    except metadata.PackageNotFoundError:  # a source checkout that was never installed
        return []
    return [re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0] for r in requirements if "extra ==" not in r]



@dataclass
class Check:
    """One line of the report."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class Report:
    """The whole report, as data (``labkit.doctor()`` returns this)."""

    checks: list[Check]

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}

    def __str__(self) -> str:
        width = max(len(c.name) for c in self.checks)
        lines = []
        for c in self.checks:
            line = f"[{c.status:<4}] {c.name:<{width}}  {c.detail}"
            if c.fix and c.status != OK:
                line += f"\n       {'':<{width}}  fix: {c.fix}"
            lines.append(line)
        verdict = "ready" if self.ok else f"{len(self.failed)} problem(s) to fix first"
        lines.append(f"\nlabkit doctor: {verdict}.")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # nicer display in notebooks
        printer.text(str(self))


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _gib(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**30:.1f} GiB"


def check_python() -> Check:
    version = platform.python_version()
    if sys.version_info < MIN_PYTHON:
        return Check("python", FAIL, version, "use Python 3.11 or newer")
    return Check("python", OK, f"{version} on {platform.system()} {platform.machine()}")


def check_cpu(hw) -> Check:
    simd = ", ".join(hw.simd) or "none found"
    detail = f"{hw.cpu_model}; {hw.physical_cores or '?'} cores / {hw.logical_cores} threads; SIMD: {simd}"
    if hw.machine in ("x86_64", "AMD64") and "avx2" not in hw.simd:
        return Check("cpu", WARN, detail, "without AVX2 llama.cpp runs several times slower")
    return Check("cpu", OK, detail)


def check_ram(hw) -> Check:
    detail = f"{_gib(hw.ram_total)} total, {_gib(hw.ram_available)} available"
    if hw.ram_available < 1 * 2**30:
        return Check("ram", FAIL, detail, "close other programs: the lessons need about 1 GiB free")
    if hw.ram_total < 4 * 2**30:
        return Check("ram", WARN, detail, "fine for the course models; 7B models need 8 GiB or more")
    return Check("ram", OK, detail)


def check_gpu(hw, quick: bool = False) -> Check:
    if quick:
        return Check("gpu (torch)", OK, "not checked (--quick skips importing torch)")
    if hw.gpus:
        names = "; ".join(f"{g.kind}: {g.name} ({_gib(g.memory_bytes)})" for g in hw.gpus)
        return Check("gpu (torch)", OK, names)
    if _version("torch") is None:
        return Check("gpu (torch)", FAIL, "torch is not installed", "pip install -c constraints.txt torch")
    return Check("gpu (torch)", OK, "none: everything runs on the CPU (the course is built for that)")


def check_llama_offload() -> Check:
    from labkit.system.hardware import llama_gpu_offload

    offload = llama_gpu_offload()
    if offload is None:
        return Check("llama.cpp offload", FAIL, "llama-cpp-python is not installed",
                     "pip install llama-cpp-python (it compiles; several minutes)")
    if offload:
        return Check("llama.cpp offload", OK, "this build can offload layers to a GPU (n_gpu_layers)")
    return Check("llama.cpp offload", OK,
                 "CPU-only build: n_gpu_layers is ignored",
                 'for a GPU, rebuild: CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall '
                 "--no-cache-dir llama-cpp-python")


def check_packages() -> list[Check]:
    checks = []
    for dist in required_packages():
        version = _version(dist)
        if version is None:
            checks.append(Check(dist, FAIL, "not installed", "pip install -c constraints.txt -e ."))
        else:
            checks.append(Check(dist, OK, version))
    lab, widgets = _version("jupyterlab_widgets"), _version("ipywidgets")
    if lab and widgets and (lab.split(".")[0], widgets.split(".")[0]) != ("3", "8"):
        checks.append(Check("widgets pairing", FAIL, f"ipywidgets {widgets} with jupyterlab_widgets {lab}",
                            "install ipywidgets 8 with jupyterlab_widgets 3 in the same environment"))
    return checks


def check_models() -> list[Check]:
    from labkit import models

    checks = []
    for name in models.names():
        state = models.status(name)  # builds nothing: a chunked model is joined on first use
        entry = models.info(name)
        detail = f"{state}: {entry.file_name} ({entry.size / 1e6:.0f} MB, {entry.quantization})"
        if state == "not assembled":
            detail = f"chunks installed; assembled on first use ({entry.size / 1e6:.0f} MB, {entry.quantization})"
        if entry.provenance:
            detail += f"; {entry.provenance}"
        if state in ("ok", "not assembled"):
            checks.append(Check(f"model {name}", OK, detail))
        else:
            fix = (entry.reinstall if entry.package or entry.packages
                   else f"labkit models register PATH --name {name} --replace")
            checks.append(Check(f"model {name}", FAIL, detail, fix))
    return checks


def check_ollama(timeout: float = 0.5) -> Check:
    from labkit.engines.ollama_host import ollama_host

    url = ollama_host()
    try:
        with urllib.request.urlopen(f"{url}/api/version", timeout=timeout) as reply:
            version = json.loads(reply.read()).get("version", "?")
    except Exception:
        return Check("ollama server", OK, f"none at {url}: the kit starts its own when a lesson needs one")
    return Check("ollama server", OK, f"answering at {url} (version {version})")


# ---------------------------------------------------------------- real generations
# (name, "module:function" run in a child process, time limit in seconds). Each function
# generates a few tokens greedily and returns tokens/s.
ENGINE_CHECKS: list[tuple[str, str, float]] = [
    ("llama.cpp generation", "labkit.engines.llamacpp:probe_generation", 180),
    ("transformers generation", "labkit.course.doctor:transformers_generation", 600),
    ("ollama server round trip", "labkit.course.doctor:server_round_trip", 300),
]


def _fix_for(name: str, err: Any) -> str:
    if err.signal == "SIGILL":
        llama = _version("llama-cpp-python") or ""
        return ("rebuild llama-cpp-python on this machine: pip install --force-reinstall --no-cache-dir "
                f"llama-cpp-python=={llama} (a build copied from another CPU can use instructions this one "
                "lacks); if it still dies, try LABKIT_LLAMA_EXTRA_BUFFERS=off, then a portable build: "
                'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --force-reinstall --no-cache-dir '
                f"llama-cpp-python=={llama}")
    if err.signal == "SIGKILL":
        return "close other programs to free memory, then run labkit doctor again"
    if err.timed_out:
        return "the machine may be very busy: close other programs and run labkit doctor again"
    return "read the message above; labkit doctor --json gives the whole report"


def check_engine(name: str, target: str, timeout: float) -> Check:
    """Run one engine's short generation in a child process and turn the outcome into a line."""
    from labkit.system import child

    try:
        tokens_per_s = child.run(target, timeout=timeout, label=name.split()[0])
    except child.ChildError as err:
        return Check(name, FAIL, str(err).splitlines()[0], _fix_for(name, err))
    detail = f"{tokens_per_s:.1f} tokens/s (smollm2:135m, greedy, a few tokens)"
    if name.startswith("llama.cpp"):
        from labkit.engines.llamacpp import extra_buffers_allowed

        allowed, why = extra_buffers_allowed()
        if not allowed:
            detail += f"; {why}"
    return Check(name, OK, detail)


def transformers_generation(model: str = "smollm2:135m", tokens: int = 16) -> float:
    """Greedy generation with transformers on the kit's float32 export; returns tokens/s."""
    import time

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from labkit import models
    from labkit.system.logs import quiet_transformers

    quiet_transformers()
    folder = models.hf_dir(model)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    network = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    inputs = tokenizer("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        network.generate(**inputs, max_new_tokens=1, do_sample=False)  # warm up
        start = time.perf_counter()
        out = network.generate(**inputs, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False)
        seconds = time.perf_counter() - start
    return (out.shape[1] - inputs["input_ids"].shape[1]) / seconds


def server_round_trip(model: str = "smollm2:135m", tokens: int = 16) -> float:
    """Start the kit's server on a free loopback port, generate through the ``ollama`` client; tokens/s."""
    import ollama

    from labkit.ollama.server import start_background

    server = start_background()
    try:
        reply = ollama.Client(host=server.url).generate(
            model=model, prompt="The capital of France is",
            options={"num_predict": tokens, "temperature": 0, "num_ctx": 256})
    finally:
        server.stop()
    return reply.eval_count / (reply.eval_duration / 1e9)


def run(check_network_server: bool = True, quick: bool = False) -> Report:
    """Run every check and return the report (print it to read it).

    ``quick=True`` skips the real generations and importing torch: a report in under a second.
    """
    from labkit.system.hardware import probe

    hw = probe(with_gpu=not quick)
    checks = [check_python(), check_cpu(hw), check_ram(hw), check_gpu(hw, quick), check_llama_offload()]
    checks += check_packages()
    checks += check_models()
    if check_network_server:
        checks.append(check_ollama())
    if not quick and not any(c.status == FAIL for c in checks):
        checks += [check_engine(*engine) for engine in ENGINE_CHECKS]
    return Report(checks)
