"""Colab, proven: each notebook run alone as Colab runs it, and a disconnect in the middle of training.

The stand-in runtime (a fresh empty /content, the notebook file alone, `google.colab`, github.com served from
this checkout, Colab's package versions when $WORKSHOP_COLAB_PYTHON names its venv) is tests/colab_runtime.py.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from colab_runtime import COLAB_PYTHON_ENV, COLAB_PYTHON_VERSION, REPO, ColabMachine, colab_pins, outputs_text
from nbclient.exceptions import DeadKernelError

from helpers import PRESETS, load_checkpoint, smoke_mode
from helpers.checkpoint import LAST
from helpers.settings import project_setting

REPO_NAME = project_setting("github", REPO / "pyproject.toml")
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
USES_TRAINED_MODEL = [nb for nb in NOTEBOOKS if "trained_model(" in nb.read_text(encoding="utf-8")]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not smoke_mode(), reason="the Colab stand-in runs notebooks in smoke mode only"),
]


@pytest.fixture(scope="module")
def machine(tmp_path_factory, corpus_path) -> ColabMachine:
    return ColabMachine(tmp_path_factory.mktemp("colab"), corpus=corpus_path)


TRAINING = REPO / "notebooks" / "05_training.ipynb"  # run alone, whole, by the disconnect test (its second run)


@pytest.mark.parametrize("notebook", [nb for nb in NOTEBOOKS if nb != TRAINING], ids=lambda path: path.name)
def test_notebook_runs_alone_as_in_colab(machine, notebook):
    runtime = machine.runtime()
    nb = runtime.open(notebook)
    report = runtime.run(nb)

    assert report["colab"], "the kernel did not have google.colab imported, as Colab's has"
    helpers_from = Path(report["helpers"]).resolve()
    assert helpers_from.is_relative_to(runtime.clone.resolve()), f"helpers came from {helpers_from}, not the clone"
    assert (runtime.clone / ".git").is_dir() and sorted(p.name for p in runtime.content.iterdir()) == [
        "gpt-from-scratch"
    ], "the setup cell should clone the workshop into /content/gpt-from-scratch and nothing else there"
    if notebook in USES_TRAINED_MODEL:  # a fresh runtime has no run of notebook 05: a quick model, said so
        text = outputs_text(nb)
        assert "No trained model from notebook 05" in text and "Using a quick model, not notebook 05's" in text


def test_the_kernel_has_colabs_packages(machine):
    """Colab's Python and versions (tests/colab/) in the kernel when $WORKSHOP_COLAB_PYTHON names the pinned venv (CI)."""
    if not os.environ.get(COLAB_PYTHON_ENV):
        pytest.skip(f"${COLAB_PYTHON_ENV} is unset: the kernel uses this venv's packages (.ci/run sets it)")
    assert Path(machine.python).is_file(), f"${COLAB_PYTHON_ENV}={machine.python} does not exist"
    runtime = machine.runtime()
    report = runtime.run(runtime.open(REPO / "notebooks" / "00_setup_and_data.ipynb"))
    pins = colab_pins()
    assert {"ipython", "ipywidgets", "matplotlib"} <= set(pins)
    assert {name: report["versions"][name] for name in pins} == pins
    assert report["python"].startswith(COLAB_PYTHON_VERSION + "."), f"Colab runs Python {COLAB_PYTHON_VERSION}"


def test_in_real_colab_the_setup_cell_clones_into_slash_content(monkeypatch, capsys):
    """$WORKSHOP_COLAB_CONTENT is the stand-in's: unset, as in Colab, the setup cell uses /content as before."""
    import subprocess
    import types

    setup_cell = nbformat.read(NOTEBOOKS[0], as_version=4).cells[1].source
    clones = []
    monkeypatch.delenv("WORKSHOP_COLAB_CONTENT", raising=False)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda args, **kwargs: clones.append(args))
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(setup_cell, {})
    assert clones == [
        ["git", "clone", "-q", "--depth=1", f"https://github.com/{REPO_NAME}", "/content/gpt-from-scratch"]
    ]
    assert sys.path[0] == "/content/gpt-from-scratch"


def use_drive(nb: nbformat.NotebookNode) -> None:
    """What an attendee does in notebook 05 to keep the run on Google Drive."""
    cells = [cell for cell in nb.cells if "USE_DRIVE = False" in cell.source]
    assert len(cells) == 1, "notebook 05 should have one `USE_DRIVE = False` line for attendees to change"
    cells[0].source = cells[0].source.replace("USE_DRIVE = False", "USE_DRIVE = True")


def test_a_disconnect_mid_training_resumes_from_drive_without_gaps(tmp_path, corpus_path):
    machine = ColabMachine(tmp_path, corpus=corpus_path)
    notebook = TRAINING
    train = PRESETS["smoke"].train
    every, last_step = train["eval_interval"], train["max_iters"]
    cut_at = 2 * every  # the kernel dies as this step's checkpoint is being put in place
    run = machine.drive / "gpt-from-scratch" / "runs" / "notebook-smoke"

    first = machine.runtime()
    nb = first.open(notebook)
    use_drive(nb)
    first.disconnect_at_checkpoint(cut_at // every + 1)  # checkpoints at steps 0, every, 2 * every, ...
    with pytest.raises(DeadKernelError):
        first.run(nb)
    assert "Mounted at" in outputs_text(nb)
    assert load_checkpoint(run / LAST).training["step"] == cut_at - every  # the one before the cut
    assert list(run.glob(".*.tmp")), "the cut should leave the half-placed checkpoint's temporary file"

    second = machine.runtime()  # a new runtime: /content is empty again, Drive is as the first one left it
    nb = second.open(notebook)
    use_drive(nb)
    report = second.run(nb)  # notebook 05 run alone, whole: the other notebooks' test leaves it to this one
    assert report["colab"] and Path(report["helpers"]).resolve().is_relative_to(second.clone.resolve())
    assert f"Resuming from {second.content / 'drive' / 'MyDrive'}" in outputs_text(nb)
    assert f"at step {cut_at - every} of {last_step}" in outputs_text(nb)
    expected = list(range(0, last_step + 1, every))
    logged = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert logged == expected, "metrics.jsonl has a gap or a duplicate step"
    assert [r["step"] for r in load_checkpoint(run / LAST).training["history"]] == expected
    assert not list(run.glob(".*.tmp")), "resuming should clear the temporary file of the cut write"
