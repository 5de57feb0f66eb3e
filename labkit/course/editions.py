"""Student and instructor editions of the course notebooks.

In the course notebooks each exercise answer sits in a cell tagged
``solution`` (collapsed in JupyterLab), followed by a self-check cell. An
instructor edition keeps those cells; a student edition replaces each with a
"your turn" stub (``answer_1 = ...``), so its self-checks report "not yet"
until the learner fills them in. Both are written without outputs, ready to
run. ``labkit editions`` is the command; see docs/instructor.md.
"""

from __future__ import annotations

import re
from pathlib import Path

SOLUTION_TAG = "solution"
STUB_NOTE = "# your turn: replace ... with your answer, then run the check below"
_ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*)\s*=")


def student_stub(source: str) -> str:
    """The "your turn" version of a solution cell: every assigned name set to ``...``."""
    names = [m.group(1) for line in source.splitlines() if (m := _ASSIGNMENT.match(line))]
    if not names:
        return STUB_NOTE
    return "\n".join([STUB_NOTE, *(f"{name} = ..." for name in dict.fromkeys(names))])


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
        _clear(cell)
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []) and edition == "student":
            cell.source = student_stub(cell.source)
            cell.metadata.pop("jupyter", None)  # show the stub, not a collapsed cell
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != SOLUTION_TAG] + ["your-turn"]
    notebook.metadata.setdefault("labkit", {})["edition"] = edition
    return notebook


def write_editions(source_dir: Path, out_dir: Path) -> dict[str, list[Path]]:
    """Write ``out_dir/student`` and ``out_dir/instructor`` from every numbered notebook in ``source_dir``."""
    import nbformat

    written: dict[str, list[Path]] = {"student": [], "instructor": []}
    for notebook_path in sorted(Path(source_dir).glob("[0-9]*.ipynb")):
        for edition in written:
            target = Path(out_dir) / edition / notebook_path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            notebook = make_edition(notebook_path, edition)
            nbformat.validate(notebook)
            nbformat.write(notebook, target)
            written[edition].append(target)
    return written
