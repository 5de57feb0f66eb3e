"""The ``labkit`` command: doctor, models, lab, serve, ask.

Each sub-command is a few lines that call the library, so what the command
does can be read (and done) from a notebook as well.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path


def _doctor(args: argparse.Namespace) -> int:
    from labkit.course.doctor import run

    report = run(quick=args.quick)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1


def _models(args: argparse.Namespace) -> int:
    from labkit import models

    action = args.action or "list"
    if action == "list":
        for name in models.names():
            entry = models.info(name)
            print(f"{name:<24} {entry.quantization:<8} {entry.size / 1e6:>8.0f} MB  "
                  f"{models.status(name):<14} {entry.licence}")
            for line in (entry.description, entry.provenance and f"file: {entry.provenance}"):
                if line:
                    print(f"    {line}")
    elif action == "path":
        print(models.path(_need(args.name, "NAME")))
    elif action == "register":
        entry = models.register(_need(args.file, "PATH"), name=_need(args.as_name, "--name"),
                                replace=args.replace)
        print(f"registered {entry.name}: {entry.architecture}, {entry.parameters / 1e9:.2f} B parameters, "
              f"{entry.quantization}, {entry.size / 1e9:.2f} GB")
    elif action == "unregister":
        models.unregister(_need(args.name, "NAME"))
    elif action == "export":
        name = _need(args.name, "NAME")
        print(models.f16_path(name))
        print(models.hf_dir(name))
    return 0


def _need(value: str | None, what: str) -> str:
    if not value:
        raise SystemExit(f"labkit models: this action needs {what}")
    return value


def course_dir() -> Path:
    """The course's notebooks: next to the package in a source checkout, else ``./notebooks``,
    else the current folder (an installed kit opened from the course folder of a bundle)."""
    for candidate in (Path(__file__).resolve().parent.parent / "notebooks", Path.cwd() / "notebooks"):
        if candidate.is_dir():
            return candidate
    return Path.cwd()


# The course's JupyterLab defaults (no "get Jupyter news?" pop-up, no update check: both would
# try the network): labconfig/default_setting_overrides.json in this folder, found through
# JUPYTER_CONFIG_PATH. They are defaults; a learner's own settings still win.
JUPYTER_CONFIG = Path(__file__).resolve().parent / "course" / "jupyter"


def lab_command(notebooks: Path, port: int | None, extra: list[str]) -> list[str]:
    """The ``jupyter lab`` command ``labkit lab`` runs (as root, with ``--allow-root`` and a warning)."""
    command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={notebooks}"]
    if port:
        command.append(f"--port={port}")
    start = notebooks / "00_start_here.ipynb"
    if start.exists():
        command.append(str(start.relative_to(notebooks)))
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        print("labkit: running as root (a container or a classroom VM?): starting JupyterLab with --allow-root.")
        command.append("--allow-root")
    return command + extra  # anything labkit does not know goes to jupyter lab


def _lab(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(JUPYTER_CONFIG), env.get("JUPYTER_CONFIG_PATH")]))
    if not args.no_server:
        try:
            from labkit.ollama import ensure_server

            env["OLLAMA_HOST"] = ensure_server()
        except ImportError:
            print("labkit: the Ollama-compatible server is not available in this version; "
                  "lessons that need one will say so.")
    notebooks = course_dir()
    if not args.instructor:
        notebooks = student_edition(notebooks)
    command = lab_command(notebooks, args.port, args.jupyter_args)
    return subprocess.call(command, env=env, cwd=notebooks)


def student_edition(notebooks: Path) -> Path:
    """The learner's own copies of the lessons (solutions as "your turn" stubs, no stored outputs).

    Written next to the course (``editions/student``) the first time; later runs add new lessons
    and never overwrite a notebook that is already there: it holds the learner's work.
    """
    from labkit.course.editions import write_editions

    out = notebooks.parent / "editions"
    write_editions(notebooks, out, editions=("student",), keep_existing=True)
    print(f"labkit: opening your copies of the lessons in {out / 'student'} "
          "(`labkit lab --instructor` opens the course notebooks with their solutions).")
    return out / "student"


def _serve(args: argparse.Namespace) -> int:
    from labkit.ollama import serve

    serve(host=args.host, port=args.port, allow_remote=args.allow_remote, token=args.token,
          admin_token=args.admin_token)
    return 0


def _editions(args: argparse.Namespace) -> int:
    from labkit.course.editions import write_editions

    written = write_editions(course_dir(), Path(args.out))
    for edition, paths in written.items():
        print(f"{edition:<10} {len(paths)} notebooks in {Path(args.out) / edition}")
    return 0


def _wheelhouse(args: argparse.Namespace) -> int:
    from labkit.course.wheelhouse import build

    out = build(args.dir, extras="dev" if args.with_tests else "")
    count = len(list((out / "wheels").glob("*.whl")))
    print(f"{count} wheels, the course and install scripts in {out}")
    print(f"on each laptop (same OS, CPU and Python): {out / 'install.sh'}  (Windows: install.bat)")
    return 0


def _ask(args: argparse.Namespace) -> int:
    from labkit.rag import folder
    from labkit.rag.ask import ask

    files = folder.read(args.docs)  # a missing or empty folder fails before a server starts
    host = args.host
    if not host:  # a running Ollama at OLLAMA_HOST, or the kit's server started for this command
        from labkit.ollama import ensure_server

        with contextlib.redirect_stdout(sys.stderr):
            host = ensure_server(None)
    reply = ask(" ".join(args.question), files, host, model=args.model, k=args.k,
                where=Path(args.index) if args.index else None)
    print(f"labkit: {reply['index']}", file=sys.stderr)
    if args.json:
        print(json.dumps({key: reply[key] for key in ("answer", "answered", "sources", "prompt_tokens")}))
    else:
        print(reply["answer"])
        if reply["sources"]:
            print("sources: " + ", ".join(reply["sources"]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description="The Local LLM Lab Kit.")
    sub = parser.add_subparsers(dest="command", required=True)

    doctor = sub.add_parser("doctor", help="check this machine for the course")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.add_argument("--quick", action="store_true",
                        help="skip the test generations (and importing torch): a report in under a second")
    doctor.set_defaults(func=_doctor)

    models = sub.add_parser("models", help="list, locate, register or export models")
    models.add_argument("action", nargs="?", choices=["list", "path", "register", "unregister", "export"])
    models.add_argument("name", nargs="?", help="model name (path, unregister, export)")
    models.add_argument("file", nargs="?", help="GGUF file (register)")
    models.add_argument("--name", dest="as_name", help="name for a registered model, e.g. llama3.2:3b")
    models.add_argument("--replace", action="store_true", help="re-register an existing name")
    models.set_defaults(func=_models)

    lab = sub.add_parser("lab", help="open the course in JupyterLab (starts a local Ollama-compatible server); "
                                     "other options go to jupyter lab")
    lab.add_argument("--port", type=int, help="JupyterLab port")
    lab.add_argument("--no-server", action="store_true", help="do not start the Ollama-compatible server")
    lab.add_argument("--instructor", action="store_true",
                     help="open the course notebooks themselves, solutions and outputs included")
    lab.set_defaults(func=_lab)

    editions = sub.add_parser("editions", help="write student and instructor editions of the notebooks")
    editions.add_argument("--out", default="editions", help="folder to write into (default: ./editions)")
    editions.set_defaults(func=_editions)

    wheelhouse = sub.add_parser("wheelhouse", help="build an offline install bundle (wheels + course) in DIR")
    wheelhouse.add_argument("dir", help="folder to write the bundle into")
    wheelhouse.add_argument("--with-tests", action="store_true", help="also bundle the test tools (pytest, nbval)")
    wheelhouse.set_defaults(func=_wheelhouse)

    serve = sub.add_parser("serve", help="run the Ollama-compatible server in the foreground")
    serve.add_argument("--host", help="address to bind (default from OLLAMA_HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default from OLLAMA_HOST, else 11434)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow a --host other machines can reach, e.g. 0.0.0.0 for a classroom "
                            "(env LABKIT_ALLOW_REMOTE=1)")
    serve.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on every request; learners set "
                                       "OLLAMA_API_KEY=TOKEN (env LABKIT_TOKEN)")
    serve.add_argument("--admin-token", help="the instructor's token (or LABKIT_ADMIN_TOKEN): on a classroom server "
                                             "only it may pull, create, copy, delete, upload or unload models")
    serve.set_defaults(func=_serve)

    from labkit.rag.ask import DEFAULT_MODEL

    ask = sub.add_parser("ask", help="answer a question from a folder of .md and .txt files, with a local model, "
                                     "citing the files")
    ask.add_argument("question", nargs="+", help="the question")
    ask.add_argument("--docs", required=True, help="folder of .md and .txt files (indexed on disk; only new or "
                                                   "changed files are embedded again)")
    ask.add_argument("--model", default=DEFAULT_MODEL, help=f"chat model (default {DEFAULT_MODEL})")
    ask.add_argument("-k", type=int, default=3, help="chunks retrieved (default 3)")
    ask.add_argument("--host", help="Ollama API to use, which must answer (default: OLLAMA_HOST, else the kit's "
                                    "server, started for the run)")
    ask.add_argument("--index", help="folder for the index (default $LABKIT_HOME/rag/ask)")
    ask.add_argument("--json", action="store_true", help='print {"answer", "answered", "sources", '
                                                         '"prompt_tokens"} as JSON on the last line')
    ask.set_defaults(func=_ask)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.jupyter_args = extra
    # `labkit models register FILE --name N`: the positional lands in `name`.
    if getattr(args, "action", None) == "register" and args.file is None:
        args.file, args.name = args.name, None
    try:
        return args.func(args)
    except (LookupError, ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"labkit: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
