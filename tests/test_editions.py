"""Student and instructor editions: valid notebooks with stubs or solutions.

That a student edition runs top to bottom, each check saying "not yet", is shown by
tests/test_install.py, which runs one from the installed wheel.
"""

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


def test_instructor_edition_is_the_course_as_run(written) -> None:
    """The instructor edition is the course notebook (nbval runs those, solutions checked "right")."""
    for path in written["instructor"]:
        course = nbformat.read(NOTEBOOKS / path.name, as_version=4)
        edition = nbformat.read(path, as_version=4)
        assert [(c.cell_type, c.source) for c in edition.cells] == [(c.cell_type, c.source) for c in course.cells]
