"""Student and instructor editions of the course notebooks.

In the course notebooks each exercise's solution sits in a cell tagged
``solution`` (collapsed in JupyterLab), followed by a self-check cell. The
*instructor* edition is the course notebook as it is, outputs included. The
*student* edition replaces each solution with a "your turn" stub: a function
keeps its signature and docstring with ``...`` for a body, an answer becomes
``answer_1 = ...``, imports stay; and it stores no outputs at all, so no
solution's result shows before the learner runs their own. ``labkit lab`` opens
the student edition; ``labkit editions`` writes both. See docs/instructor.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOLUTION_TAG = "solution"
STUB_NOTE = "# your turn: write your answer in place of ..., then run the check below"


def student_stub(source: str) -> str:
    """The "your turn" version of a solution cell (see the module docstring)."""
    lines = source.splitlines()
    out = [STUB_NOTE]
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append("\n".join(lines[node.lineno - 1:node.end_lineno]))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0]
            keep_doc = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                        and isinstance(first.value.value, str))
            header_end = (first.end_lineno if keep_doc else first.lineno - 1)
            indent = " " * first.col_offset
            out.append("\n" + "\n".join(lines[node.lineno - 1 - len(node.decorator_list):header_end])
                       + f"\n{indent}...")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out += [f"{t.id} = ..." for t in targets if isinstance(t, ast.Name)]
    return "\n".join(out)


def _clear(cell) -> None:
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None


def make_edition(notebook_path: Path, edition: str):
    """Read one course notebook and return its ``student`` or ``instructor`` edition."""
    import nbformat

    if edition not in ("student", "instructor"):
        raise ValueError("edition must be 'student' or 'instructor'")
    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        if edition == "instructor":
            continue
        _clear(cell)
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source = student_stub(cell.source)
            cell.metadata.pop("jupyter", None)  # show the stub, not a collapsed cell
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != SOLUTION_TAG] + ["your-turn"]
    notebook.metadata.setdefault("labkit", {})["edition"] = edition
    return notebook


def write_editions(source_dir: Path, out_dir: Path, editions: tuple[str, ...] = ("student", "instructor"),
                   keep_existing: bool = False) -> dict[str, list[Path]]:
    """Write ``out_dir/student`` and ``out_dir/instructor`` from every numbered notebook in ``source_dir``.

    ``keep_existing=True`` leaves notebooks that are already there alone (a learner's work).
    """
    import nbformat

    written: dict[str, list[Path]] = {edition: [] for edition in editions}
    for notebook_path in sorted(Path(source_dir).glob("[0-9]*.ipynb")):
        for edition in written:
            target = Path(out_dir) / edition / notebook_path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if keep_existing and target.exists():
                written[edition].append(target)
                continue
            notebook = make_edition(notebook_path, edition)
            nbformat.validate(notebook)
            nbformat.write(notebook, target)
            written[edition].append(target)
    return written
