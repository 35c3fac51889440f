"""Point every notebook's Colab badge and setup cell at a GitHub repo (e.g. your fork).

    python tools/set_repo.py your-name/gpt-from-scratch

Writes the name to pyproject.toml ([tool.gpt-from-scratch] github), then rewrites the first
two cells of every notebook (badge, setup) from tools/notebook_cells.py, and the README's table of
notebooks and their Colab badges.
"""

from __future__ import annotations

import re
import sys

import nbformat
from notebook_cells import NOTEBOOKS, ROOT, badge_markdown, configured_repo, setup_source, sync_readme


def sync_notebook(path, repo: str) -> None:
    nb = nbformat.read(path, as_version=4)
    badge, setup = nb.cells[0], nb.cells[1]
    assert badge.cell_type == "markdown" and setup.cell_type == "code", f"{path.name}: cells 0/1 must be badge/setup"
    lines = badge.source.split("\n")
    lines[0] = badge_markdown(repo, path.name)  # the badge is the first line of the title cell
    badge.source = "\n".join(lines)
    setup.source = setup_source(repo)
    nbformat.write(nb, path)


def main(argv: list[str]) -> int:
    if argv:
        repo = argv[0]
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
            print(f"error: {repo!r} is not owner/name, e.g. your-name/gpt-from-scratch", file=sys.stderr)
            return 2
        pyproject = ROOT / "pyproject.toml"
        text = pyproject.read_text()
        pyproject.write_text(re.sub(r'(\[tool\.gpt-from-scratch\]\s*\ngithub\s*=\s*)"[^"]+"', rf'\1"{repo}"', text))
    repo = configured_repo()
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        sync_notebook(path, repo)
        print(f"{path.name}: badge and setup cell → {repo}")
    sync_readme(repo)
    print(f"README.md: notebook table → {repo}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
