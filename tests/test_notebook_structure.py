"""Every notebook follows the series' conventions (checked without running them; nbval runs them).

Over whatever `notebooks/NN_*.ipynb` exist: numbered once each; cell 0 is the title and cell 1 the setup
cell (tagged, and rendered as tools/nb.py renders them); some cell proves the hand-built idea equals
`helpers` (a drift check); the notebook ends with a Recap and an exercise with its collapsed solution;
no test scaffolding in front of the learner; stored clean; no figures typed into prose.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT / "tools"))

import nb as tool  # noqa: E402  (tools/nb.py)

DRIFT_MARK = "# drift check: matches helpers"
NAMES = [path.name for path in tool.notebook_paths(ROOT)]


def load(name: str):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    return notebook


def code_sources(notebook) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def tagged(notebook, tag: str) -> list:
    return [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]


def test_the_series_is_numbered_once_each():
    assert NAMES, f"no notebooks in {NOTEBOOKS}"
    numbers = [name[:2] for name in NAMES]
    assert len(set(numbers)) == len(numbers), f"two notebooks share a number: {sorted(numbers)}"
    assert all(tool.NOTEBOOK_NAME.match(name) for name in NAMES), NAMES
    assert NAMES[0] == "00_setup_and_data.ipynb"


@pytest.mark.parametrize("name", NAMES)
def test_opens_with_title_and_setup_cell(name):
    notebook = load(name)
    repo = tool.configured_repo(ROOT)
    title, setup = notebook.cells[0], notebook.cells[1]
    fix = "Fix: python tools/nb.py"
    assert title.cell_type == "markdown" and tool.TITLE_TAG in title.metadata.get("tags", []), f"cell 0: {fix}"
    assert title.source.split("\n")[0] == tool.badge_markdown(repo, name), f"cell 0 must start with the badge. {fix}"
    assert re.search(rf"^# {name[:2]} · \S", title.source, re.M), f"cell 0 needs '# {name[:2]} · Title'. {fix}"
    assert setup.cell_type == "code" and tool.SETUP_TAG in setup.metadata.get("tags", []), f"cell 1: {fix}"
    assert setup.source == tool.setup_source(repo), f"cell 1 must be the setup cell. {fix}"
    assert notebook.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_has_a_drift_check_that_asserts(name):
    drift_cells = [src for src in code_sources(load(name)) if DRIFT_MARK in src]
    assert drift_cells, f"no code cell contains {DRIFT_MARK!r}"
    for src in drift_cells:
        assert re.search(r"\bassert\b|assert_close|assert_equal", src), f"a drift-check cell asserts nothing:\n{src}"


@pytest.mark.parametrize("name", NAMES)
def test_ends_with_recap_and_an_exercise_with_its_solution(name):
    notebook = load(name)
    assert any(
        cell.cell_type == "markdown" and re.search(r"^#+ Recap", cell.source, re.M) for cell in notebook.cells
    ), "no '## Recap' cell"
    module = f"helpers.exercises.nb{name[:2]}"
    assert (ROOT / "helpers" / "exercises" / f"nb{name[:2]}.py").is_file(), f"no exercise module {module}"
    sources = "\n".join(code_sources(notebook))
    calls = re.findall(rf"^from {re.escape(module)} import (check_\w+)", sources, re.M)
    assert calls, f"no exercise cell imports a checker from {module}"
    assert all(re.search(rf"^{check}\(", sources, re.M) for check in calls), "an imported checker is never called"
    assert tagged(notebook, tool.SOLUTION_TAG), "no collapsed solution (a generated:solution cell)"


@pytest.mark.parametrize("name", NAMES)
def test_no_test_scaffolding_in_front_of_the_learner(name):
    """Proof that a checker accepts its solution is a test (tests/test_exercises.py), not teaching."""
    sources = "\n".join(code_sources(load(name)))
    assert not re.search(r"^assert (not )?check_\w+\(", sources, re.M), "a cell asserts a checker: move it to tests/"
    assert "import solution_" not in sources, "a cell imports a solution: the learner sees it in the solution cell"


@pytest.mark.parametrize("name", NAMES)
def test_is_stored_clean(name):
    notebook = load(name)
    assert notebook.metadata == tool.NOTEBOOK_METADATA
    assert (notebook.nbformat, notebook.nbformat_minor) == (4, 4)
    for cell in notebook.cells:
        start = f"in a cell starting {cell.source[:60]!r}. Fix: python tools/nb.py"
        assert "id" not in cell, f"a cell id {start}"
        assert set(cell.metadata) <= set(tool.CELL_METADATA_KEPT), f"metadata {dict(cell.metadata)} {start}"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"stored outputs {start}"


@pytest.mark.parametrize("name", NAMES)
def test_prose_types_no_figures_the_code_knows(name):
    """Parameter counts, times and sizes drift when typed into prose: a code cell prints them instead."""
    assert tool.typed_figures(load(name)) == []


def test_everything_generated_is_in_step():
    """What `python tools/nb.py --check` says: clean, formatted, generated cells and README tables in step."""
    problems = tool.run(ROOT, check=True)
    assert problems == [], "\n".join(problems)
