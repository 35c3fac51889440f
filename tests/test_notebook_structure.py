"""Every notebook follows the series' conventions (checked without running them; nbval runs them).

Cell 0 starts with the Colab badge for the configured repo, cell 1 is the rendered setup cell,
some cell proves the hand-built idea equals `helpers` (a drift check), the notebook ends with a
Recap and an exercise whose checker is tested, and no outputs are stored (readable diffs).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
sys.path.insert(0, str(REPO / "tools"))

from notebook_cells import badge_markdown, configured_repo, setup_source  # noqa: E402

SERIES = [
    "00_setup_and_data.ipynb",
    "01_tokenizer.ipynb",
    "02_bigram.ipynb",
    "03_attention.ipynb",
    "04_transformer.ipynb",
    "05_training.ipynb",
    "06_sampling.ipynb",
    "09_scaling.ipynb",
    "11_finetuning_and_next.ipynb",
]
DRIFT_MARK = "# drift check: matches helpers"


def test_the_series_is_complete():
    present = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert present == SERIES, (
        f"missing: {sorted(set(SERIES) - set(present))}, unexpected: {sorted(set(present) - set(SERIES))}"
    )


def load(name: str):
    path = NOTEBOOKS / name
    if not path.is_file():
        pytest.skip(f"{name} is not written yet (test_the_series_is_complete fails until it is)")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return nb


def code_sources(nb) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("name", SERIES)
def test_opens_with_badge_and_setup_cell(name):
    nb = load(name)
    repo = configured_repo()
    title, setup = nb.cells[0], nb.cells[1]
    assert title.cell_type == "markdown", "cell 0 must be the title (markdown)"
    assert title.source.split("\n")[0] == badge_markdown(repo, name), (
        "cell 0 must start with the Colab badge: run tools/set_repo.py"
    )
    assert setup.cell_type == "code" and setup.source == setup_source(repo), (
        "cell 1 must be the setup cell: run tools/set_repo.py"
    )
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("name", SERIES)
def test_has_a_drift_check_that_asserts(name):
    drift_cells = [src for src in code_sources(load(name)) if DRIFT_MARK in src]
    assert drift_cells, f"no code cell contains {DRIFT_MARK!r}"
    for src in drift_cells:
        assert re.search(r"\bassert\b|assert_close|assert_equal", src), f"a drift-check cell asserts nothing:\n{src}"


@pytest.mark.parametrize("name", SERIES)
def test_ends_with_recap_and_a_checked_exercise(name):
    nb = load(name)
    assert any(cell.cell_type == "markdown" and re.search(r"^#+ Recap", cell.source, re.M) for cell in nb.cells), (
        "no '## Recap' cell"
    )
    module = f"helpers.exercises.nb{name[:2]}"
    assert (REPO / "helpers" / "exercises" / f"nb{name[:2]}.py").is_file(), f"no exercise module {module}"
    sources = "\n".join(code_sources(nb))
    assert f"from {module} import check_" in sources, f"no exercise calls a checker from {module}"
    assert re.search(r"^assert check_\w+\(", sources, re.M), "no tested cell asserts the checker accepts the solution"
    assert re.search(r"^assert not check_\w+\(", sources, re.M), (
        "no tested cell asserts the checker rejects a wrong answer"
    )


@pytest.mark.parametrize("name", SERIES)
def test_is_stored_without_outputs(name):
    for cell in load(name).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"stored outputs in a cell starting {cell.source[:60]!r}. "
                "Fix: jupyter nbconvert --clear-output --inplace notebooks/*.ipynb"
            )


def builders():
    """tools/build_nb_NN.py scripts that build a notebook from FILENAME, TITLE and CELLS."""
    return sorted(REPO.glob("tools/build_nb_[0-9][0-9].py"))


@pytest.mark.parametrize("builder", builders(), ids=lambda p: p.name)
def test_notebook_matches_its_builder(builder):
    """A notebook with a builder script must be what the script writes: edit the script, not the .ipynb."""
    spec = importlib.util.spec_from_file_location(builder.stem, builder)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not all(hasattr(module, attr) for attr in ("TITLE", "CELLS")):
        pytest.skip(f"{builder.name} does not define TITLE and CELLS")
    number = builder.stem[-2:]
    filename = getattr(module, "FILENAME", None) or next((n for n in SERIES if n.startswith(number + "_")), None)
    assert filename, f"{builder.name}: no notebook {number}_*.ipynb in the series"
    from nb_build import build_notebook

    built = build_notebook(filename, module.TITLE, module.CELLS)
    stored = load(filename)
    assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in built.cells], (
        f"notebooks/{filename} differs from what {builder.name} writes. Fix: python tools/{builder.name}"
    )
