"""Small helpers for the notebook builder scripts (tools/build_nb_NN.py).

A builder lists a notebook's cells as Python strings; this writes them as a stripped `.ipynb`
whose cells 0/1 are the Colab badge + title and the setup cell (tools/notebook_cells.py).
Edit the builder, re-run it, commit the `.ipynb`:  python tools/build_nb_03.py
"""

from __future__ import annotations

import inspect
import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from notebook_cells import NOTEBOOKS, badge_markdown, configured_repo, setup_source


def md(text: str):
    return new_markdown_cell(textwrap.dedent(text).strip("\n"))


def code(text: str):
    return new_code_cell(textwrap.dedent(text).strip("\n"))


def solution_cell(fn) -> object:
    """A collapsed markdown cell showing `fn`'s source: the solution, there but not in the way.

    Rendered from the exercises module, so the shown solution is the one the tested cell checks.
    """
    source = inspect.getsource(fn).replace("solution_", "")
    return md(f"<details><summary>Solution (click to open)</summary>\n\n```python\n{source}```\n\n</details>")


def build_notebook(filename: str, title: str, cells: list):
    """The notebook as an nbformat object: badge + title, setup cell, then `cells`."""
    repo = configured_repo()
    head = new_markdown_cell(badge_markdown(repo, filename) + "\n\n" + textwrap.dedent(title).strip("\n"))
    nb = new_notebook(cells=[head, new_code_cell(setup_source(repo)), *cells])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["colab"] = {"provenance": []}
    for cell in nb.cells:  # no random ids: rebuilding an unchanged notebook gives an identical file
        cell.pop("id", None)
    nb.nbformat_minor = 4
    nbformat.validate(nb)
    return nb


def write_notebook(filename: str, title: str, cells: list) -> None:
    nb = build_notebook(filename, title, cells)
    path = NOTEBOOKS / filename
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, path)
    print(f"wrote {path.relative_to(NOTEBOOKS.parent)} ({len(nb.cells)} cells)")
