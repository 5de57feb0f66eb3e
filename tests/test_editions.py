"""Student and instructor editions: valid notebooks; the student's checks say "not yet"."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from labkit import cli
from labkit.course import editions

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_student_stub_keeps_the_names_to_fill_in() -> None:
    stub = editions.student_stub('m = models.info("x")\nanswer_2 = m.size * 8')
    assert stub.splitlines()[1:] == ["m = ...", "answer_2 = ..."]
    assert stub.startswith("# your turn")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, list[Path]]:
    out = tmp_path_factory.mktemp("editions")
    assert cli.main(["editions", "--out", str(out)]) == 0
    return {edition: sorted((out / edition).glob("*.ipynb")) for edition in ("student", "instructor")}


def test_both_editions_of_every_notebook(written) -> None:
    course = sorted(p.name for p in NOTEBOOKS.glob("[0-9]*.ipynb"))
    for edition, paths in written.items():
        assert [p.name for p in paths] == course
        for path in paths:
            notebook = nbformat.read(path, as_version=4)
            nbformat.validate(notebook)
            assert notebook.metadata["labkit"]["edition"] == edition
            outputs = [c.get("outputs") for c in notebook.cells if c.cell_type == "code"]
            if edition == "student":  # no solution's result shows before the learner runs their own
                assert not any(outputs)
            else:  # the instructor edition keeps the course run's outputs, the checks' "right" among them
                assert any(outputs)
            solutions = [c for c in notebook.cells if "solution" in c.metadata.get("tags", [])]
            stubs = [c for c in notebook.cells if "your-turn" in c.metadata.get("tags", [])]
            if edition == "instructor":
                assert len(solutions) >= 3 and not stubs
                assert all("..." not in c.source for c in solutions)
            else:
                assert len(stubs) >= 3 and not solutions
                assert all(c.source.rstrip().endswith("...") for c in stubs)


@pytest.mark.parametrize(("edition", "verdict"), [("student", "not yet"), ("instructor", "right")])
def test_edition_runs_and_checks_say(written, edition: str, verdict: str, monkeypatch) -> None:
    from nbclient import NotebookClient

    if edition == "student":  # unfilled stubs answer "not yet", as they should: that is not a failure here
        monkeypatch.setenv("LABKIT_STRICT_CLAIMS", "0")
    path = next(p for p in written[edition] if p.name.startswith("00_"))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    checks = [c for c in notebook.cells if c.cell_type == "code" and "check.answer(" in c.source]
    printed = ["".join(o.get("text", "") for o in c.outputs) for c in checks]
    assert len(printed) == 3 and all(f"] {verdict}:" in text for text in printed), printed
