"""``labkit ask --json`` on documents and questions that nobody in this project wrote: Debian's FAQs.

Two FAQs that Debian installs on this machine, zlib's (``/usr/share/doc/zlib1g-dev/FAQ.gz``) and
XZ Utils' (``/usr/share/doc/xz-utils/faq.txt.gz``), written by those projects. Each answer becomes a
markdown file (``zlib/07.md``: a heading naming the project, then the answer; the question is left
out, so retrieval must match a question to its answer's words). Every ``--holdout``-th entry's
file is left out of the folder, which makes its question unanswerable from the documents. Each
question goes through the ``labkit ask`` command (its ``main``, in this process, so that the model
and the embeddings load once) with ``--json``.

Graded as the issue's first Done-when asks where it can be without writing labels: an answerable
question is right when ``answered`` is true and its file is among ``sources``; an unanswerable
one when ``answered`` is false. The facts themselves are not graded (no expected answer strings
were written for these questions). Needs Debian's zlib1g-dev and xz-utils documentation.

    python bench/ask_external.py [--model qwen2.5-coder:0.5b] [-k 3] [--limit N] [--verbose]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FAQS = {"zlib": Path("/usr/share/doc/zlib1g-dev/FAQ.gz"), "xz": Path("/usr/share/doc/xz-utils/faq.txt.gz")}


def entries(project: str, path: Path) -> list[tuple[str, str]]:
    """``(question, answer)`` pairs of one FAQ, in its order."""
    text = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
    if project == "zlib":  # " 7. Question?\n\n    Answer ..."
        parts = re.split(r"\n\s{0,2}(\d{1,2})\. ", text)[1:]
        pairs = []
        for number, body in zip(parts[::2], parts[1::2]):
            question, _, answer = body.partition("\n\n")
            pairs.append((" ".join(question.split()), answer.strip()))
        return pairs
    pairs = []  # "Q:  Question?\n\nA:  Answer ..."
    for block in re.split(r"\n\s*\nQ:\s+", "\n\n" + text)[1:]:
        question, _, answer = block.partition("\nA:")
        pairs.append((" ".join(question.split()), answer.strip()))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder:0.5b")
    parser.add_argument("-k", type=int, default=3)
    parser.add_argument("--holdout", type=int, default=4, help="leave out every Nth entry's file (default 4)")
    parser.add_argument("--limit", type=int, default=None, help="questions per FAQ (default: all of them)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    from labkit import cli

    with tempfile.TemporaryDirectory(prefix="labkit-ask-external-") as tmp:
        docs, questions = Path(tmp) / "docs", []
        for project, path in FAQS.items():
            for number, (question, answer) in enumerate(entries(project, path), 1):
                name = f"{project}/{number:02d}.md"
                held_out = number % args.holdout == 0
                if not held_out:
                    (docs / project).mkdir(parents=True, exist_ok=True)
                    (docs / name).write_text(f"# {project}\n\n{answer}\n")
                if args.limit is None or number <= args.limit:
                    questions.append((question, None if held_out else name))
        right = {True: [0, 0], False: [0, 0]}  # answerable? -> [right, asked]
        for question, name in questions:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(["ask", "--docs", str(docs), "--index", str(Path(tmp) / "index"), "--model",
                                 args.model, "-k", str(args.k), "--json", question])
            if code != 0:
                raise SystemExit(f"labkit ask failed: {err.getvalue().strip().splitlines()[-1]}")
            reply = json.loads(out.getvalue().strip().splitlines()[-1])
            ok = (reply["answered"] and name in reply["sources"]) if name else not reply["answered"]
            right[name is not None][0] += ok
            right[name is not None][1] += 1
            if args.verbose:
                print(f"[{'answerable' if name else 'unanswerable'}] {question} -> {reply['answer'][:90]!r} "
                      f"answered={reply['answered']} sources={reply['sources']} expected={name} right={ok}")
        total = right[True][0] + right[False][0]
        asked = right[True][1] + right[False][1]
        print(f"{args.model}, k={args.k}: {len(questions)} FAQ questions (zlib, XZ Utils); answerable "
              f"{right[True][0]}/{right[True][1]} (answered, file cited), unanswerable {right[False][0]}/{right[False][1]} "
              f"(not answered); accuracy {total / asked:.3f}")


if __name__ == "__main__":
    main()
