"""What an instructor does first: open notebooks in JupyterLab or Colab, change a line of prose and a line of
code, save (outputs, ids, widget state, Colab's metadata and all), run the one command, commit.

In a copy of this checkout: three notebooks are saved the way JupyterLab 4 and Colab write them (Colab once
keeping the cell tags, once dropping them), each with one markdown and one code line changed. After
`python tools/nb.py` each file must be exactly the stored notebook plus those two edits (the code line as
ruff formats it), `--check` must pass, and so must the structure and README tests, run in the copy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

# notebook: (markdown line before, after), (code line before, as typed, as ruff formats it)
EDITS = {
    "03_attention.ipynb": (
        (
            "A toy batch: `B` sequences of `T` positions,",
            "A toy batch, as in our workshop: `B` sequences of `T` positions,",
        ),
        (
            'print(x[0], xbow[0], sep="\\n")',
            'print( "one sequence:",x[0],xbow[0], sep="\\n")',
            'print("one sequence:", x[0], xbow[0], sep="\\n")',
        ),
    ),
    "06_sampling.ipynb": (
        ("The simplest choice is the top bar, every time", "The simplest choice of all is the top bar, every time"),
        ("greedy_text = my_generate(PROMPT, 200, greedy)", "greedy_text = my_generate(PROMPT, 250, greedy)", None),
    ),
    "00_setup_and_data.ipynb": (
        ("The first few hundred characters:", "The first several hundred characters:"),
        ("print(text[:600])", "print(text[:800])", None),
    ),
}


def replace_line(notebook, old: str, new: str) -> None:
    (cell,) = [cell for cell in notebook["cells"] if old in "".join(cell["source"])]
    cell["source"] = "".join(cell["source"]).replace(old, new)


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def as_saved_by_jupyterlab(notebook: dict) -> dict:
    """Notebook format 4.5: a random id per cell, outputs and execution counts, JupyterLab's metadata."""
    saved = {
        "cells": [],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {
                "codemirror_mode": {"name": "ipython", "version": 3},
                "file_extension": ".py",
                "mimetype": "text/x-python",
                "name": "python",
                "nbconvert_exporter": "python",
                "pygments_lexer": "ipython3",
                "version": "3.11.7",
            },
            "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for i, cell in enumerate(notebook["cells"]):
        out = {"cell_type": cell["cell_type"], "id": f"{i:08x}-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "metadata": {}}
        out["metadata"].update(cell["metadata"])
        out["source"] = lines(cell["source"])
        if cell["cell_type"] == "code":
            out["metadata"].update(
                scrolled=True,
                jupyter={"source_hidden": False},
                execution={
                    "iopub.execute_input": "2026-11-25T09:00:00Z",
                    "shell.execute_reply": "2026-11-25T09:00:01Z",
                },
            )
            out["execution_count"] = i
            out["outputs"] = [
                {"name": "stdout", "output_type": "stream", "text": ["a printed line\n"]},
                {
                    "data": {"image/png": "iVBORw0KGgo=", "text/plain": ["<Figure size 700x300>"]},
                    "metadata": {},
                    "output_type": "display_data",
                },
                {"data": {"text/plain": ["42"]}, "execution_count": i, "metadata": {}, "output_type": "execute_result"},
            ]
        saved["cells"].append(out)
    return saved


def as_saved_by_colab(notebook: dict, keeps_tags: bool) -> dict:
    """Format 4.0 without cell ids, Colab's own ids and execution records (with the user's name) in each cell,
    widget state, the GPU settings, and the "Open in Colab" link cell Colab adds when saving to GitHub."""
    widget = "0f3c0ffee0000000000000000000000a"
    saved = {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {
            "colab": {
                "provenance": [{"file_id": "1AbC", "timestamp": 1764061200000}],
                "gpuType": "T4",
                "include_colab_link": True,
            },
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
            "accelerator": "GPU",
            "widgets": {
                "application/vnd.jupyter.widget-state+json": {
                    widget: {"model_module": "@jupyter-widgets/controls", "model_name": "VBoxModel", "state": {}}
                }
            },
        },
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {"id": "view-in-github", "colab_type": "text"},
                "source": [
                    '<a href="https://colab.research.google.com/github/x/y" target="_parent"><img src="x"/></a>'
                ],
            }
        ],
    }
    for i, cell in enumerate(notebook["cells"]):
        metadata = {"id": f"cElL{i:04d}"}
        if keeps_tags and cell["metadata"].get("tags"):
            metadata["tags"] = cell["metadata"]["tags"]
        elif not keeps_tags:
            metadata["tags"] = None  # what nbdev saw Colab write
        out = {"cell_type": cell["cell_type"], "metadata": metadata, "source": lines(cell["source"])}
        if cell["cell_type"] == "code":
            metadata.update(
                colab={"base_uri": "https://localhost:8080/", "height": 300},
                outputId=f"out{i:04d}",
                executionInfo={
                    "status": "ok",
                    "timestamp": 1764061200000,
                    "user_tz": -60,
                    "elapsed": 812,
                    "user": {"displayName": "Ada Lovelace", "userId": "01234567890123456789"},
                },
            )
            out["execution_count"] = i
            out["outputs"] = [
                {"output_type": "stream", "name": "stdout", "text": ["a printed line\n"]},
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        "application/vnd.jupyter.widget-view+json": {
                            "model_id": widget,
                            "version_major": 2,
                            "version_minor": 0,
                        },
                        "text/plain": ["VBox(children=(...))"],
                    },
                },
            ]
        saved["cells"].append(out)
    return saved


SAVES = {
    "03_attention.ipynb": as_saved_by_jupyterlab,
    "06_sampling.ipynb": lambda nb: as_saved_by_colab(nb, keeps_tags=True),
    "00_setup_and_data.ipynb": lambda nb: as_saved_by_colab(nb, keeps_tags=False),
}


def nb_tool(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "tools/nb.py", *args], cwd=root, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_edits_saved_in_jupyterlab_and_colab_survive_the_one_command(checkout):
    expected = {}
    for name, save in SAVES.items():
        path = checkout / "notebooks" / name
        stored = json.loads(path.read_text(encoding="utf-8"))
        (md_old, md_new), (code_old, code_typed, code_formatted) = EDITS[name]
        for cell in stored["cells"]:
            cell["source"] = "".join(cell["source"])
        replace_line(stored, md_old, md_new)
        replace_line(stored, code_old, code_typed)
        path.write_text(json.dumps(save(stored), indent=2, ensure_ascii=False), encoding="utf-8")
        replace_line(stored, code_typed, code_formatted or code_typed)
        expected[name] = nbformat.writes(nbformat.from_dict(stored)) + "\n"

    before = nb_tool(checkout, "--check")
    assert before.returncode == 1
    assert all(f"notebooks/{name}: not clean" in before.stderr for name in SAVES), before.stderr

    cleaned = nb_tool(checkout)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    for name in SAVES:
        text = (checkout / "notebooks" / name).read_text(encoding="utf-8")
        assert text == expected[name], f"{name}: more changed than the two edits"
        for leaked in ("Ada Lovelace", "executionInfo", "widget-state", "image/png", "view-in-github", '"id"'):
            assert leaked not in text, f"{name} still holds {leaked}"
    assert nb_tool(checkout, "--check").returncode == 0

    structure = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_notebook_structure.py",
            "tests/test_readme.py",
        ],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert structure.returncode == 0, structure.stdout[-3000:]
    assert " passed" in structure.stdout and "skipped" not in structure.stdout
