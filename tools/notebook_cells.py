"""The badge and setup cell every notebook starts with, rendered from one GitHub owner/name.

The owner/name lives in one place: `[tool.gpt-from-scratch] github` in pyproject.toml.
A fork changes it, and every notebook's badge and setup cell, with one command:

    python tools/set_repo.py your-name/gpt-from-scratch
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def configured_repo() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^\[tool\.gpt-from-scratch\]\s*\ngithub\s*=\s*"([^"]+)"', text, re.M)
    assert match, 'pyproject.toml needs [tool.gpt-from-scratch] github = "owner/name"'
    return match.group(1)


def badge_markdown(repo: str, notebook_name: str) -> str:
    url = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{notebook_name}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


SETUP_CELL = """# Setup: run this first. In Colab it fetches the workshop once (safe to re-run); locally it finds it.
REPO = "{repo}"  # a fork changes this with: python tools/set_repo.py you/your-fork
import subprocess
import sys
from pathlib import Path

if "google.colab" in sys.modules:
    ROOT = Path("/content/gpt-from-scratch")
    if not (ROOT / "helpers").is_dir():
        subprocess.run(["git", "clone", "-q", "--depth=1", f"https://github.com/{{REPO}}", str(ROOT)], check=True)
else:
    ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "helpers").is_dir())
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # import helpers from the checkout: no pip install, no restart

from helpers.notebook import setup

device = setup()"""


def setup_source(repo: str) -> str:
    return SETUP_CELL.format(repo=repo)


README_START, README_END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"


def notebook_title(path: Path) -> str:
    """The title line (`# 03 · Attention ...`) of a notebook's first cell, without the '#'."""
    import nbformat

    first_cell = nbformat.read(path, as_version=4).cells[0].source
    return next(line.lstrip("# ").strip() for line in first_cell.splitlines() if line.startswith("# "))


def readme_table(repo: str) -> str:
    """The README's table of notebooks, one Colab badge per row, between its two markers."""
    rows = ["| notebook | open |", "|---|---|"]
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        rows.append(f"| [{notebook_title(path)}](notebooks/{path.name}) | {badge_markdown(repo, path.name)} |")
    return "\n".join([README_START, *rows, README_END])


def sync_readme(repo: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    readme.write_text(text[:start] + readme_table(repo) + text[end:])
